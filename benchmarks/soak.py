"""Soak test: many demo frames with injected faults; prints crashes, memory growth, watchdog gaps.

Faults injected: the source raises SourceError every ``--lose-every`` frames and then
fails to reopen once (the loop backs off and reconnects); the digit stage raises on
about 1 % of frames; a web client reads the MJPEG stream slowly. The watchdog is a
fake systemd: a datagram socket in ``NOTIFY_SOCKET`` read on a thread, with
``WATCHDOG_USEC`` set, so the gaps between ``WATCHDOG=1`` pings are measured.
Memory is read every 1/45 of the run after the baseline frame; growth is the median of
the last five readings minus the median of the first five, with the fitted slope beside.

    .venv/bin/python benchmarks/soak.py [--frames 50000] [--json]
"""

from __future__ import annotations

import argparse
import os
import random
import socket
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from app.config import Config, FaultsConfig
from app.controls.actions import ActionQueue
from app.display.web import WebViewer
from app.errors import SourceError
from app.frame import Frame
from app.loop import CaptureLoop, LoopOptions
from app.sdnotify import SystemdNotifier
from app.sources.base import Source
from app.sources.demo import DemoSource
from app.stages.base import Stage
from app.stages.pipeline import Pipeline, build_pipeline
from app.stages.results import FrameResults
from app.state import ViewState
from benchmarks.report import print_report, resident_mb


class FaultySource(Source):
    """The demo source that is "unplugged" every ``lose_every`` frames and fails one reopen.

    It also drives the run: every ``view_every`` reads it asks for the next view, and at
    read ``baseline_at`` and every ``sample_every`` reads after it, it records the
    resident memory (a series: one reading swings by several MB with the allocator).
    """

    def __init__(
        self,
        shared: dict[str, Any],
        lose_every: int,
        actions: ActionQueue,
        view_every: int = 500,
        baseline_at: int = 5000,
        sample_every: int = 1000,
    ) -> None:
        self.inner = DemoSource(size=(640, 480), realtime=False)
        self.shared = shared
        self.lose_every = lose_every
        self.actions = actions
        self.view_every = view_every
        self.baseline_at = baseline_at
        self.sample_every = sample_every
        self.description = "demo with faults"

    def open(self) -> None:
        if self.shared.get("fail_next_open"):
            self.shared["fail_next_open"] = 0
            self.shared["failed_opens"] = self.shared.get("failed_opens", 0) + 1
            raise SourceError("soak: camera still unplugged")
        self.inner.open()

    def read(self) -> Frame | None:
        reads = self.shared["reads"] = self.shared.get("reads", 0) + 1
        if reads % self.view_every == 0:
            self.actions.put("next_view")
        if reads >= self.baseline_at and (reads - self.baseline_at) % self.sample_every == 0:
            self.shared.setdefault("rss_samples", []).append((reads, resident_mb()))
        if reads % self.lose_every == 0:
            self.shared["losses"] = self.shared.get("losses", 0) + 1
            self.shared["fail_next_open"] = 1
            raise SourceError("soak: camera unplugged")
        return self.inner.read()

    def close(self) -> None:
        self.inner.close()


class FlakyStage(Stage):
    """Wraps a stage and raises on a seeded ~1 % of its frames."""

    def __init__(self, inner: Stage, rate: float, seed: int = 1) -> None:
        self.inner = inner
        self.name = inner.name
        self.rate = rate
        self.rng = random.Random(seed)
        self.raised = 0

    def process(self, frame: Frame, state: ViewState, results: FrameResults) -> None:
        if self.rng.random() < self.rate:
            self.raised += 1
            raise RuntimeError("soak: injected stage failure")
        self.inner.process(frame, state, results)


class TimedNotifier(SystemdNotifier):
    """Keeps the three longest gaps between the loop's ``watchdog`` calls, with the frame
    count before each, so a long gap can be traced to a frame.

    Only the longest gaps are kept: a list of every call would itself grow by megabytes
    over 50,000 frames and show up as the loop's memory growth.
    """

    def __init__(self, environ: dict[str, str]) -> None:
        super().__init__(environ=environ)
        self.longest: list[tuple[float, int]] = []  # (gap seconds, frames before it)
        self._last: tuple[float, int] | None = None
        self.loop: CaptureLoop | None = None

    def watchdog(self) -> None:
        now = time.monotonic()
        frames = self.loop.result.frames if self.loop is not None else -1
        if self._last is not None:
            self.longest.append((now - self._last[0], self._last[1]))
            self.longest = sorted(self.longest, reverse=True)[:3]
        self._last = (now, frames)
        super().watchdog()


class FakeSystemd:
    """A NOTIFY_SOCKET datagram socket read on a thread; records when each message came."""

    def __init__(self) -> None:
        self.dir = tempfile.mkdtemp(prefix="convlens-soak-")
        self.path = os.path.join(self.dir, "notify")
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(self.path)
        self.sock.settimeout(0.2)
        self.pings: list[float] = []
        self.messages: dict[str, int] = {}
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, name="fake-systemd")

    def _run(self) -> None:
        while not self.stop.is_set():
            try:
                data = self.sock.recv(4096)
            except TimeoutError:
                continue
            now = time.monotonic()
            for line in data.decode().splitlines():
                key = line.split("=", 1)[0]
                self.messages[key] = self.messages.get(key, 0) + 1
                if line == "WATCHDOG=1":
                    self.pings.append(now)

    def close(self) -> None:
        self.stop.set()
        self.thread.join()
        self.sock.close()
        os.unlink(self.path)
        os.rmdir(self.dir)


class SlowClient:
    """Reads /stream.mjpg 2 KB at a time, 20 times a second (a phone on bad Wi-Fi)."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.stop = threading.Event()
        self.received = 0
        self.reconnects = 0
        self.thread = threading.Thread(target=self._run, name="slow-client")

    def _run(self) -> None:
        while not self.stop.is_set():
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=5) as sock:
                    sock.sendall(b"GET /stream.mjpg HTTP/1.1\r\nHost: x\r\n\r\n")
                    while not self.stop.is_set():
                        chunk = sock.recv(2048)
                        if not chunk:
                            break
                        self.received += len(chunk)
                        self.stop.wait(0.05)
            except OSError:
                pass
            self.reconnects += 1
            self.stop.wait(0.5)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=50_000)
    parser.add_argument("--lose-every", type=int, default=5_000, help="frames between losses")
    parser.add_argument("--stage-failure-rate", type=float, default=0.01)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    systemd = FakeSystemd()
    systemd.thread.start()
    environ = {"NOTIFY_SOCKET": systemd.path, "WATCHDOG_USEC": "1000000"}
    notifier = TimedNotifier(environ)

    config = Config()
    pipeline = build_pipeline(config)
    flaky = [
        FlakyStage(s, args.stage_failure_rate) if s.name == "digit" else s for s in pipeline.stages
    ]
    shared: dict[str, Any] = {}
    actions = ActionQueue()
    display = WebViewer("127.0.0.1", 0, actions=actions)
    display.open()
    client = SlowClient(display.port)
    client.thread.start()
    baseline_at = min(5_000, args.frames // 5)
    sample_every = max(1, (args.frames - baseline_at) // 45)
    loop = CaptureLoop(
        FaultySource(
            shared, args.lose_every, actions, baseline_at=baseline_at, sample_every=sample_every
        ),
        display,
        Pipeline(tuple(flaky), pipeline.kernel_names),
        state=config.view,
        actions=actions,
        notifier=notifier,
        options=LoopOptions(faults=FaultsConfig(retry_initial_s=0.5, retry_max_s=8.0)),
    )
    notifier.loop = loop
    readings: dict[str, float] = {}
    start = time.perf_counter()
    # One run, as in service: view changes and the memory baseline come from the source.
    done = loop.run(max_frames=args.frames).frames
    samples = shared["rss_samples"]
    readings["baseline"] = samples[0][1]
    readings["end"] = resident_mb()
    # Resident memory swings by a few MB from frame to frame (freed arrays, the web
    # encoder's buffers, a reopened camera), so growth compares the median of the
    # first and of the last few readings, and a least-squares slope shows any trend.
    window = max(1, min(5, len(samples) // 4))
    first = statistics.median(mb for _, mb in samples[:window])
    last = statistics.median(mb for _, mb in samples[-window:])
    xs = [frame for frame, _ in samples]
    slope = (
        statistics.linear_regression(xs, [mb for _, mb in samples]).slope if len(xs) > 1 else 0.0
    )
    elapsed = time.perf_counter() - start
    client.stop.set()
    client.thread.join()
    display.close()
    systemd.close()

    gaps = [b - a for a, b in zip(systemd.pings, systemd.pings[1:], strict=False)]
    call_gaps = notifier.longest
    report = {
        "frames": done,
        "seconds": round(elapsed, 1),
        "fps": round(done / elapsed, 1),
        "crashed": False,
        "baseline_frame": baseline_at,
        "rss_samples": len(samples),
        "rss_mb_first_median": round(first, 1),
        "rss_mb_last_median": round(last, 1),
        "rss_growth_mb": round(last - first, 2),
        "rss_slope_mb_per_10k_frames": round(slope * 10_000, 3),
        "rss_mb_min_max": [
            round(min(mb for _, mb in samples), 1),
            round(max(mb for _, mb in samples), 1),
        ],
        "rss_point_growth_mb": round(readings["end"] - readings["baseline"], 2),
        "watchdog_pings": len(systemd.pings),
        "watchdog_max_gap_s": round(max(gaps), 3) if gaps else None,
        "longest_loop_iterations": [
            {"seconds": round(gap, 3), "after_frame": frame} for gap, frame in call_gaps
        ],
        "camera_losses": shared.get("losses", 0),
        "failed_reopens": shared.get("failed_opens", 0),
        "stage_failures_injected": sum(getattr(s, "raised", 0) for s in flaky),
        "stages_switched_off": sorted(loop.stage_faults.disabled()),
        "slow_client_bytes": client.received,
        "web_frames_encoded": display.frames_encoded,
        "sd_messages": systemd.messages,
        "targets": {"rss_growth_mb_max": 5, "watchdog_max_gap_s": 1.0},
    }
    print_report(report, args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
