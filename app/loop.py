"""The capture loop: source -> stages -> overlay -> display, with timing, faults and the watchdog.

The loop never dies from a bad frame, a failing stage, a failing display or a lost
camera: each is logged (rate-limited), shown on screen and worked around. It stops
when its stop event is set (signals, ``quit`` in interactive runs), after
``max_frames``, or at the end of a finite source.
"""

from __future__ import annotations

import logging
import math
import signal
import statistics
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from app import views
from app.config import FaultsConfig
from app.controls.actions import ActionQueue, apply_action, key_legend
from app.display.base import Display
from app.errors import SourceError
from app.faults import Backoff, RateLimitedLog, StageFaults
from app.frame import Frame
from app.heap_trim import HeapTrimmer
from app.snapshot import save_snapshot
from app.sources.base import Source
from app.stages.base import Stage
from app.stages.results import FrameResults
from app.state import ViewState
from app.views.renderer import OverlayInfo, OverlayRenderer

log = logging.getLogger(__name__)

#: Samples in each stage's moving median (about one second at 30 fps).
MEDIAN_WINDOW = 31
#: How often the footer's figures are refreshed: steadier to read, cheaper to draw.
INFO_REFRESH_S = 0.5
#: How often the waiting screen is re-sent to the display while there is no camera.
WAIT_FRAME_S = 0.25
#: How long a transient message ("snapshot saved ...") stays on screen.
NOTICE_S = 4.0
#: How often ``STATUS=`` is refreshed for systemctl status while running.
SD_STATUS_S = 10.0


@dataclass
class LoopResult:
    """What a run did: frames processed, why it ended, counts of worked-around faults."""

    frames: int = 0
    reason: str = ""
    source_failures: int = 0
    bad_frames: int = 0
    display_failures: int = 0
    snapshots: list[Path] = field(default_factory=list)


def frame_problem(frame: object) -> str | None:
    """Why ``frame`` cannot be processed, or None when it is a well-formed Frame."""
    if not isinstance(frame, Frame):
        return f"expected a Frame, got {type(frame).__name__}"
    a, g = frame.array, frame.gray
    if not isinstance(a, np.ndarray) or a.dtype != np.uint8 or a.ndim != 3 or a.shape[2] != 3:
        got = f"{a.shape} {a.dtype}" if isinstance(a, np.ndarray) else type(a).__name__
        return f"frame.array must be (H, W, 3) uint8, got {got}"
    if a.shape[0] < 16 or a.shape[1] < 16:
        return f"frame.array {a.shape} is smaller than 16x16"
    if not isinstance(g, np.ndarray) or g.dtype != np.uint8 or g.ndim != 2 or g.size == 0:
        got = f"{g.shape} {g.dtype}" if isinstance(g, np.ndarray) else type(g).__name__
        return f"frame.gray must be (h, w) uint8, got {got}"
    return None


class _NoNotifier:
    def ready(self) -> None: ...
    def watchdog(self) -> None: ...
    def status(self, text: str) -> None: ...
    def stopping(self) -> None: ...


class CaptureLoop:
    """Runs the pipeline until stopped.

    Args:
        source_factory: returns a new, unopened Source; called at start and again to
            reconnect after the camera is lost.
        display: an opened display (the caller opens and closes it).
        stages: in pipeline order; each runs only for the views that need it (the
            views table's ``stages``) unless ``all_views``.
        state: the initial settings.
        kernel_names: the kernel cycle for ``next_kernel``.
        actions: the queue inputs push to; drained once per frame.
        notifier: ``SystemdNotifier`` (or anything with ready/watchdog/status/stopping).
        faults: thresholds for back-off and switching off stages.
        snapshot_dir: where ``snapshot`` writes.
        interactive: honour ``quit`` (a service ignores it).
        all_views: run every stage every frame (``bench``).
        runtime: the classifier description shown in the footer.
        size: (width, height) of the waiting screen before any frame arrived.
        recorder: when given, every frame's milliseconds are appended per stage and for
            ``overlay``, ``display`` and ``total`` (benchmarks).
        stop_event: set it to stop; the loop makes one when not given.
        source: an already opened source to start with (the DRM display needs the
            camera open before the loop starts); ``source_factory`` replaces it if lost.
    """

    def __init__(
        self,
        source_factory: Callable[[], Source],
        display: Display,
        stages: Sequence[Stage],
        *,
        state: ViewState | None = None,
        kernel_names: Sequence[str] = (),
        actions: ActionQueue | None = None,
        notifier: Any = None,
        faults: FaultsConfig | None = None,
        snapshot_dir: str | Path = "snapshots",
        interactive: bool = False,
        all_views: bool = False,
        runtime: str = "",
        size: tuple[int, int] = (640, 480),
        recorder: dict[str, list[float]] | None = None,
        stop_event: threading.Event | None = None,
        clock: Callable[[], float] = time.monotonic,
        source: Source | None = None,
    ) -> None:
        faults = faults or FaultsConfig()
        self.source_factory = source_factory
        self.display = display
        self.stages = list(stages)
        self.state = state or ViewState()
        self.kernel_names = list(kernel_names)
        self.actions = actions
        self.notifier = notifier or _NoNotifier()
        self.snapshot_dir = Path(snapshot_dir)
        self.interactive = interactive
        self.all_views = all_views
        self.runtime = runtime
        self.size = size
        self.recorder = recorder
        self.stop_event = stop_event or threading.Event()
        self.clock = clock
        self.stage_faults = StageFaults(
            max_consecutive=faults.stage_max_consecutive,
            max_ratio=faults.stage_max_failure_ratio,
            window=faults.stage_window,
            log_interval=faults.log_interval_s,
            clock=clock,
        )
        self.backoff = Backoff(faults.retry_initial_s, faults.retry_max_s)
        self._heap = HeapTrimmer()
        self._warn = RateLimitedLog(log, faults.log_interval_s, clock)
        self.source: Source | None = source
        self.result = LoopResult()
        self._renderer: OverlayRenderer | None = None
        self._times: dict[str, deque[float]] = {}
        self._frame_times: deque[float] = deque(maxlen=MEDIAN_WINDOW)
        self._info = OverlayInfo(runtime=runtime)
        self._info_at = -math.inf
        self._camera_message = ""
        self._notice = ""
        self._notice_until = 0.0
        self._next_retry = 0.0
        self._retry_delay = 0.0
        self._frozen_frame: Frame | None = None
        self._last_frame: Frame | None = None
        self._ready_sent = False
        self._sd_status = ""
        self._sd_status_at = -math.inf
        self._seq = 0
        self.last_results = FrameResults()
        self.last_overlay: np.ndarray | None = None

    # ---- public ---------------------------------------------------------------------

    def stop(self) -> None:
        """Ask the loop to stop after the current frame (thread- and signal-safe)."""
        self.stop_event.set()

    def run(self, max_frames: int | None = None) -> LoopResult:
        """Run until stopped, ``max_frames`` frames were processed, or the source ends."""
        try:
            while not self.stop_event.is_set():
                self.notifier.watchdog()
                if self.source is None and not self._try_open():
                    self._wait_for_camera()
                    continue
                frame = self._read()
                if frame is None:
                    continue
                try:
                    self.process(frame)
                except Exception as exc:  # last line of defence: the loop must go on
                    self._warn.log(
                        "frame",
                        logging.ERROR,
                        f"frame {frame.seq} failed: {type(exc).__name__}: {exc}",
                    )
                    continue
                self._heap.tick()
                if max_frames is not None and self.result.frames >= max_frames:
                    self.result.reason = f"{max_frames} frames"
                    break
            else:
                self.result.reason = self.result.reason or "stopped"
        finally:
            self.notifier.stopping()
            self._close_source()
        log.info("capture loop ended (%s) after %d frames", self.result.reason, self.result.frames)
        return self.result

    # ---- source handling ------------------------------------------------------------

    def _try_open(self) -> bool:
        now = self.clock()
        if now < self._next_retry:
            return False
        source = None
        try:
            source = self.source_factory()
            source.open()
        except Exception as exc:  # SourceError, or a driver bug: neither ends the service
            text = str(exc) if isinstance(exc, SourceError) else f"{type(exc).__name__}: {exc}"
            self._schedule_retry(f"no camera ({text})", exc)
            if source is not None:
                # A half-opened camera must not stay acquired until the next attempt.
                self.source = source
                self._close_source()
            return False
        self.source = source
        # The HDMI overlay display draws through the source's camera object: follow the
        # new one after a reconnect, or overlays would go to the closed camera.
        set_source = getattr(self.display, "set_source", None)
        if callable(set_source):
            set_source(source)
        if self._camera_message:
            log.info("camera back: %s", source.description or type(source).__name__)
        self._camera_message = ""
        self.backoff.reset()
        return True

    def _schedule_retry(self, why: str, exc: BaseException) -> None:
        self._retry_delay = self.backoff.next_delay()
        self._next_retry = self.clock() + self._retry_delay
        self._camera_message = why
        self._warn.log("source", logging.WARNING, f"{why}; retrying in {self._retry_delay:g} s")
        self.notifier.status(f"{why}; retrying")

    def _read(self) -> Frame | None:
        assert self.source is not None
        try:
            frame = self.source.read()
        except Exception as exc:
            self.result.source_failures += 1
            self._close_source()
            self._schedule_retry(f"camera lost ({type(exc).__name__}: {exc})", exc)
            return None
        if frame is None:
            self.result.reason = "end of stream"
            self.stop_event.set()
            return None
        problem = frame_problem(frame)
        if problem is not None:
            self.result.bad_frames += 1
            self._warn.log("bad-frame", logging.WARNING, f"skipping a bad frame: {problem}")
            return None
        return frame

    def _close_source(self) -> None:
        source, self.source = self.source, None
        if source is None:
            return
        try:
            source.close()
        except Exception as exc:  # closing a lost device often fails; it is gone anyway
            log.warning("closing the source failed: %s: %s", type(exc).__name__, exc)
        else:
            log.info("source closed: %s", source.description or type(source).__name__)

    def _wait_for_camera(self) -> None:
        """Keep the screen, status, watchdog and keys alive until the next retry is due."""
        remaining = max(0.0, self._next_retry - self.clock())
        message = f"{self._camera_message} - retrying in {math.ceil(remaining)} s"
        width, height = self._screen_size()
        renderer = self._renderer_for((width, height))
        self._apply_actions(None)
        picture = renderer.message_frame("no camera", message)
        frame = Frame(
            array=picture,
            gray=np.zeros((height, width), np.uint8),
            seq=self._seq,
            timestamp=self.clock(),
        )
        self._seq += 1
        overlay = np.zeros((height, width, 4), np.uint8)
        self._show(frame, overlay)
        self._update_status(FrameResults(), message)
        self.stop_event.wait(min(WAIT_FRAME_S, max(0.01, remaining)))

    def _screen_size(self) -> tuple[int, int]:
        if self._last_frame is not None:
            h, w = self._last_frame.array.shape[:2]
            return (w, h)
        return self.size

    # ---- per frame -----------------------------------------------------------------

    def process(self, frame: Frame) -> None:
        """Run the stages the view needs, draw the overlay, show, update the status."""
        start = self.clock()
        self._last_frame = frame
        results = FrameResults()
        snapshot = self._apply_actions(frame)
        if self.state.frozen:
            if self._frozen_frame is None:
                self._frozen_frame = frame
            frame = self._frozen_frame
        else:
            self._frozen_frame = None
        self._run_stages(frame, results)
        now = self.clock()
        self._frame_times.append(now)
        if now - self._info_at >= INFO_REFRESH_S:
            self._info = self._build_info()
            self._info_at = now
        info = self._info
        message = self._message(now)
        if message != info.message:
            info = OverlayInfo(info.fps, info.stage_ms, info.runtime, message, info.source)
        t = self.clock()
        h, w = frame.array.shape[:2]
        try:
            overlay = self._renderer_for((w, h)).render(self.state, results, info)
        except Exception as exc:
            self._warn.log(
                "overlay", logging.WARNING, f"overlay failed: {type(exc).__name__}: {exc}"
            )
            overlay = np.zeros((h, w, 4), np.uint8)
        self._time("overlay", t)
        t = self.clock()
        self._show(frame, overlay)
        self._time("display", t)
        self._time("total", start)
        self._update_status(results, message)
        self.result.frames += 1
        self.last_results = results
        self.last_overlay = overlay
        if snapshot:
            self._snapshot(frame, overlay, results)

    def _run_stages(self, frame: Frame, results: FrameResults) -> None:
        needed = views.stages_for(self.state.view)
        for stage in self.stages:
            if not (self.all_views or stage.name in needed):
                continue
            if not self.stage_faults.is_enabled(stage.name):
                continue
            t = self.clock()
            try:
                stage.process(frame, self.state, results)
            except Exception as exc:
                self.stage_faults.failure(stage.name, exc)
            else:
                self.stage_faults.success(stage.name)
            self._time(stage.name, t)

    def _time(self, name: str, since: float) -> None:
        ms = (self.clock() - since) * 1000.0
        times = self._times.get(name)
        if times is None:
            times = self._times[name] = deque(maxlen=MEDIAN_WINDOW)
        times.append(ms)
        if self.recorder is not None:
            self.recorder.setdefault(name, []).append(ms)

    def median_ms(self, name: str) -> float | None:
        """The moving median of a stage's (or overlay/display/total) milliseconds."""
        times = self._times.get(name)
        return statistics.median(times) if times else None

    def fps(self) -> float | None:
        """Frames per second over the last ``MEDIAN_WINDOW`` frames."""
        if len(self._frame_times) < 2:
            return None
        span = self._frame_times[-1] - self._frame_times[0]
        return (len(self._frame_times) - 1) / span if span > 0 else None

    def _build_info(self) -> OverlayInfo:
        needed = views.stages_for(self.state.view)
        stage_ms = []
        for stage in self.stages:
            if (self.all_views or stage.name in needed) and stage.name in self._times:
                stage_ms.append((stage.name, self.median_ms(stage.name) or 0.0))
        if "overlay" in self._times:
            stage_ms.append(("overlay", self.median_ms("overlay") or 0.0))
        source = self.source.description if self.source is not None else ""
        digit = self.last_results.digit
        runtime = (digit.runtime if digit is not None else "") or self.runtime
        return OverlayInfo(self.fps(), tuple(stage_ms), runtime, "", source)

    def _message(self, now: float) -> str:
        parts = []
        if self._camera_message:
            parts.append(self._camera_message)
        parts.extend(self.stage_faults.disabled().values())
        if self._notice and now < self._notice_until:
            parts.append(self._notice)
        return "  |  ".join(parts)

    def _notify(self, text: str) -> None:
        self._notice = text
        self._notice_until = self.clock() + NOTICE_S

    def _renderer_for(self, size: tuple[int, int]) -> OverlayRenderer:
        if self._renderer is None or self._renderer.size != size:
            self._renderer = OverlayRenderer(size, key_legend())
        return self._renderer

    def _show(self, frame: Frame, overlay: np.ndarray) -> None:
        try:
            self.display.show(frame, overlay)
        except Exception as exc:
            self.result.display_failures += 1
            self._warn.log(
                "display", logging.WARNING, f"display failed: {type(exc).__name__}: {exc}"
            )
            return
        if not self._ready_sent:
            self.notifier.ready()
            self._ready_sent = True

    def _update_status(self, results: FrameResults, message: str) -> None:
        state = self.state
        digit = results.digit
        probs = digit.probs if digit is not None else None
        fps = self.fps() if self.source is not None else None
        status = {
            "view": state.view,
            "kernel": state.kernel,
            "stride": state.stride,
            "padding": state.padding,
            "pooling": state.pool_mode,
            "pool_size": state.pool_size,
            "activation": state.activation,
            "operation": state.operation,
            "prediction": digit.prediction if digit is not None else None,
            "confidence": digit.confidence if digit is not None else None,
            "probabilities": None if probs is None else [float(p) for p in np.ravel(probs)],
            "fps": fps,
            "runtime": (digit.runtime if digit is not None else "") or self.runtime,
            "source": self.source.description if self.source is not None else "",
            "frozen": state.frozen,
            "message": message,
        }
        try:
            self.display.update_status(status)
        except Exception as exc:
            self._warn.log("status", logging.WARNING, f"display status failed: {exc}")
        now = self.clock()
        text = message or f"running: {state.view} view"
        if text != self._sd_status or now - self._sd_status_at >= SD_STATUS_S:
            fps_text = f", {fps:.1f} fps" if fps else ""
            self.notifier.status(f"{text}{fps_text}")
            self._sd_status, self._sd_status_at = text, now

    # ---- actions -------------------------------------------------------------------

    def _apply_actions(self, frame: Frame | None) -> bool:
        """Apply queued actions to the state; return True when a snapshot was asked for."""
        if self.actions is None:
            return False
        snapshot = False
        for action in self.actions.drain():
            if action == "quit":
                if self.interactive:
                    log.info("quit requested")
                    self.result.reason = "quit"
                    self.stop_event.set()
                else:
                    log.info("quit ignored: not an interactive run (stop the service instead)")
                continue
            if action == "snapshot":
                snapshot = frame is not None
                continue
            try:
                self.state = apply_action(self.state, action, kernel_names=self.kernel_names)
            except ValueError as exc:
                log.warning("%s", exc)
        return snapshot

    def _snapshot(self, frame: Frame, overlay: np.ndarray, results: FrameResults) -> None:
        try:
            folder = save_snapshot(self.snapshot_dir, frame, overlay, results.digit, self.state)
        except OSError as exc:
            log.warning("snapshot failed: %s", exc)
            self._notify(f"snapshot failed: {exc}")
            return
        log.info("snapshot saved to %s", folder)
        self.result.snapshots.append(folder)
        self._notify(f"snapshot saved: {folder}")


def install_signal_handlers(stop_event: threading.Event) -> dict[int, Any]:
    """Make SIGINT and SIGTERM set ``stop_event``; return the previous handlers.

    Call from the main thread. The loop checks the event every frame and every
    fraction of a second while waiting for a camera, so it stops promptly.
    """
    previous = {}

    def handler(signum: int, _frame: object) -> None:
        stop_event.set()

    for signum in (signal.SIGINT, signal.SIGTERM):
        previous[signum] = signal.signal(signum, handler)
    return previous


def restore_signal_handlers(previous: Mapping[int, Any]) -> None:
    """Put back the handlers ``install_signal_handlers`` replaced."""
    for signum, handler in previous.items():
        signal.signal(signum, handler)
