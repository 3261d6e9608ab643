"""What a classroom of web viewers costs the capture loop: 0, 1, 8 and 40 viewers.

The loop side runs here: a synthetic camera-like 640x480 frame, an overlay with a
box and text, a compose, then ``WebViewer.show``, either paced at the camera's 30 fps
or as fast as it goes. The viewers run in a separate process (so their reading does
not compete for this process's GIL): each is one asyncio connection to
``/stream.mjpg`` from its own loopback address (127.0.1.N, a classroom is many
addresses) that reads as fast as it can and counts JPEG parts.

Reported, as medians over rounds (the counts interleave so load drifts hit all):
loop fps and its ratio to no viewer, per-viewer delivered fps (median and lowest),
JPEGs encoded per second (one per frame, shared by every viewer), and CPU: this
process (loop + server + encoder) and the viewers' process, in % of one core.
Prints; never passes or fails.

    python -m benchmarks.web_clients [--seconds 3] [--rounds 3]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import time

import cv2
import numpy as np

from app.controls.actions import ActionQueue
from app.display.compose import compose
from app.display.web import WebViewer
from app.frame import Frame

W, H = 640, 480
COUNTS = (0, 1, 8, 40)


# --- the viewers' process ------------------------------------------------------------


async def _viewer(port: int, source: str, counts: dict[str, int], key: str) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port, local_addr=(source, 0))
    writer.write(b"GET /stream.mjpg HTTP/1.1\r\nHost: localhost\r\n\r\n")
    marker, tail = b"--convlensframe\r\n", b""
    try:
        while chunk := await reader.read(1 << 16):
            data = tail + chunk
            counts[key] += data.count(marker)
            tail = data[-len(marker) + 1 :]
    except ConnectionError:
        return
    finally:
        writer.close()


async def _viewers(port: int, n: int) -> None:
    """N viewers; on "start" on stdin zero the counts, on "stop" print them as JSON."""
    counts = {f"127.0.1.{i + 1}": 0 for i in range(n)}
    tasks = [asyncio.create_task(_viewer(port, key, counts, key)) for key in counts]
    stdin = asyncio.StreamReader()
    loop = asyncio.get_running_loop()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(stdin), sys.stdin)
    cpu0 = time.process_time()
    while line := (await stdin.readline()).strip():
        if line == b"start":
            counts.update(dict.fromkeys(counts, 0))
            cpu0 = time.process_time()
        elif line == b"stop":
            cpu = time.process_time() - cpu0
            print(json.dumps({"counts": counts, "cpu": cpu}), flush=True)
            break
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


# --- the loop's process --------------------------------------------------------------


class Viewers:
    """The viewers' process for one measurement."""

    def __init__(self, port: int, n: int) -> None:
        self.n = n
        self.proc = None
        if n:
            command = [sys.executable, "-m", "benchmarks.web_clients", "--viewers-of", str(port)]
            self.proc = subprocess.Popen(
                [*command, "--n", str(n)], stdin=subprocess.PIPE, stdout=subprocess.PIPE
            )

    def send(self, word: str) -> None:
        if self.proc is not None:
            assert self.proc.stdin is not None
            self.proc.stdin.write(word.encode() + b"\n")
            self.proc.stdin.flush()

    def result(self) -> dict:
        if self.proc is None:
            return {"counts": {}, "cpu": 0.0}
        self.send("stop")
        assert self.proc.stdout is not None
        result = json.loads(self.proc.stdout.readline())
        self.proc.stdin.close()
        self.proc.wait(timeout=30)
        return result


def camera_frames() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    base = rng.integers(0, 256, (H, W + 64, 3), dtype=np.uint8)
    return cv2.GaussianBlur(base, (0, 0), 3), np.zeros((H, W, 4), np.uint8)  # compressible


def run_loop(viewer: WebViewer, seconds: float, n: int, pace_fps: float | None) -> dict:
    viewers = Viewers(viewer.port, n)
    deadline = time.monotonic() + 15
    while viewer.stream_clients < n and time.monotonic() < deadline:
        viewer.show(*_frame(0))  # frames flowing while they connect
        time.sleep(0.02)
    viewers.send("start")
    encoded0, cpu0 = viewer.frames_encoded, time.process_time()
    start = time.perf_counter()
    seq = 0
    while time.perf_counter() - start < seconds:
        viewer.show(*_frame(seq))
        seq += 1
        if pace_fps:
            # A camera delivers at its own rate: wait for the next frame time.
            time.sleep(max(0.0, start + seq / pace_fps - time.perf_counter()))
    elapsed = time.perf_counter() - start
    cpu = time.process_time() - cpu0
    encoded = viewer.frames_encoded - encoded0
    result = viewers.result()
    rates = sorted(c / elapsed for c in result["counts"].values()) or [0.0]
    return {
        "fps": seq / elapsed,
        "viewer_fps": statistics.median(rates),
        "viewer_min": rates[0],
        "jpeg_fps": encoded / elapsed,
        "cpu": 100 * cpu / elapsed,
        "viewer_cpu": 100 * result["cpu"] / elapsed,
    }


_BASE, _OVERLAY = camera_frames()


def _frame(seq: int) -> tuple[Frame, np.ndarray]:
    offset = seq % 64
    array = np.ascontiguousarray(_BASE[:, offset : offset + W])
    _OVERLAY[:] = 0
    cv2.rectangle(_OVERLAY, (200, 120), (440, 360), (0, 255, 0, 255), 3)
    cv2.putText(_OVERLAY, f"frame {seq}", (10, 30), cv2.FONT_HERSHEY_SIMPLEX, 1,
                (255, 255, 255, 255), 2)  # fmt: skip
    compose(array, _OVERLAY)  # what a display that composes itself would pay
    return Frame(array, array[..., 1], seq, time.monotonic()), _OVERLAY


def measure(seconds: float, rounds: int, pace: float) -> None:
    viewer = WebViewer("127.0.0.1", 0, actions=ActionQueue(), max_viewers=max(COUNTS))
    viewer.open()
    modes = {f"paced at {pace:g} fps (the camera rate)": pace, "as fast as possible": None}
    results: dict[tuple[str, int], list[dict]] = {(m, n): [] for m in modes for n in COUNTS}
    try:
        run_loop(viewer, 0.5, 0, None)  # warm-up
        for _ in range(rounds):
            for mode, fps in modes.items():
                for n in COUNTS:
                    results[mode, n].append(run_loop(viewer, seconds, n, fps))
    finally:
        viewer.close()
    print(f"web viewers: {W}x{H} camera-like frame + overlay, {rounds} rounds x {seconds:g} s, "
          f"medians over rounds; {os.cpu_count()} cores")  # fmt: skip
    for mode in modes:
        print(f"\nloop {mode}")
        print(f"{'viewers':>7} {'loop fps':>9} {'ratio':>6} {'fps/viewer':>10} {'lowest':>7} "
              f"{'jpeg/s':>7} {'CPU loop+server %':>18} {'CPU viewers %':>14}")  # fmt: skip
        base = statistics.median(r["fps"] for r in results[mode, 0])
        for n in COUNTS:
            runs = results[mode, n]
            med = {key: statistics.median(r[key] for r in runs) for key in runs[0]}
            print(f"{n:>7} {med['fps']:>9.1f} {med['fps'] / base:>6.2f} {med['viewer_fps']:>10.1f} "
                  f"{med['viewer_min']:>7.1f} {med['jpeg_fps']:>7.1f} {med['cpu']:>18.0f} "
                  f"{med['viewer_cpu']:>14.0f}")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=3.0, help="per measurement")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--pace", type=float, default=30.0, help="camera fps for the paced runs")
    parser.add_argument("--viewers-of", type=int, help=argparse.SUPPRESS)  # the child process
    parser.add_argument("--n", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.viewers_of:
        asyncio.run(_viewers(args.viewers_of, args.n))
    else:
        measure(args.seconds, args.rounds, args.pace)


if __name__ == "__main__":
    main()
