"""The capture loop: source -> stages -> results -> view -> display, with the watchdog.

The loop never dies from a bad frame, a failing stage, a failing display or a lost
camera: each is logged (rate-limited), shown on screen and worked around. It stops
when its stop event is set (signals, ``quit`` in interactive runs), after
``max_frames``, or at the end of a finite source.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

import numpy as np

from app import views
from app.config import FaultsConfig
from app.controls.actions import ActionQueue, apply_action, key_legend, probe_blocked
from app.display.base import Display
from app.errors import one_line
from app.faults import Backoff, RateLimitedLog, StageFaults
from app.frame import Frame, frame_problem
from app.frame_actions import FrameActions
from app.heap_trim import HeapTrimmer
from app.i18n import Message
from app.source_keeper import SourceKeeper
from app.sources.base import Source
from app.stages.base import Stage
from app.stages.pipeline import Pipeline
from app.stages.results import FrameResults
from app.state import ViewState
from app.status import Figures, FrameStatus, frame_status
from app.status_board import Notifier, NullNotifier, StatusBoard
from app.timing import FrameTimer
from app.views.renderer import OverlayRenderer
from app.views.teach import TeachView

if TYPE_CHECKING:
    from app.learn.teacher import Teacher

log = logging.getLogger(__name__)

TEACH_VIEW = TeachView.name

#: How often the footer's figures are refreshed: steadier to read, cheaper to draw.
INFO_REFRESH_S = 0.5
#: How often the waiting screen is re-sent to the display while there is no camera.
WAIT_FRAME_S = 0.25


@dataclass
class LoopResult:
    """What a run did: frames processed, why it ended, counts of worked-around faults."""

    frames: int = 0
    reason: str = ""
    source_failures: int = 0
    bad_frames: int = 0
    display_failures: int = 0
    snapshots: list[Path] = field(default_factory=list)


class Watch(Protocol):
    """Looks for devices while the run is on a fallback (``app.device_watch.DeviceWatch``)."""

    def poll(self, camera: SourceKeeper) -> str | None: ...


@dataclass(frozen=True)
class LoopOptions:
    """How a run behaves.

    Attributes:
        faults: back-off and stage switch-off thresholds.
        snapshot_dir: where ``snapshot`` writes.
        interactive: honour ``quit`` (a service ignores it).
        all_views: run every stage every frame (``bench``).
        size: (width, height) of the waiting screen before any frame arrived.
        runtime: the classifier shown in the footer until the digit stage reports one.
        clock: monotonic seconds for timings, retries and notices (tests step it).
        record: keep every timing sample in ``CaptureLoop.timer.recorded`` (benchmarks).
        screen: (width, height) to draw the overlay at; None: the display's, or the frame's.
        watch: polled once per iteration; it may swap the source or the display, and
            returns a message to show when it did.
        teacher: the teach view's collection and fine-tunes (``app.learn.teacher``), or None.
    """

    faults: FaultsConfig = field(default_factory=FaultsConfig)
    snapshot_dir: str | Path = "snapshots"
    interactive: bool = False
    all_views: bool = False
    size: tuple[int, int] = (640, 480)
    runtime: str = ""
    clock: Callable[[], float] | None = None
    record: bool = False
    screen: tuple[int, int] | None = None
    watch: Watch | None = None
    teacher: Teacher | None = None


class CaptureLoop:
    """Runs the pipeline on one source until stopped.

    Args:
        source: opened or not; the loop opens it, and closes and reopens this same
            object when the camera is lost. It closes it at the end.
        display: an opened display (the caller opens and closes it).
        pipeline: the stages in order (each runs for the views that need it) and the
            kernel cycle for ``next_kernel``.
        state: the initial settings.
        actions: the queue inputs push to; drained once per frame.
        notifier: ``SystemdNotifier`` or anything with ready/watchdog/status/stopping.
        options: see ``LoopOptions``.
        stop_event: set it to stop; the loop makes one when not given.
    """

    def __init__(
        self,
        source: Source,
        display: Display,
        pipeline: Pipeline,
        *,
        state: ViewState | None = None,
        actions: ActionQueue | None = None,
        notifier: Notifier | None = None,
        options: LoopOptions | None = None,
        stop_event: threading.Event | None = None,
    ) -> None:
        self.options = options = options or LoopOptions()
        self.display = display
        self.pipeline = pipeline
        self.state = state or ViewState()
        self.actions = actions
        self.notifier = notifier or NullNotifier()
        self.stop_event = stop_event or threading.Event()
        self.timer = FrameTimer(options.clock or time.monotonic, record=options.record)
        self.clock = self.timer.clock
        faults = options.faults
        self._warn = RateLimitedLog(log, faults.log_interval_s, self.clock)
        self.stage_faults = StageFaults(
            max_consecutive=faults.stage_max_consecutive,
            max_ratio=faults.stage_max_failure_ratio,
            window=faults.stage_window,
            log_interval=faults.log_interval_s,
            clock=self.clock,
        )
        backoff = Backoff(faults.retry_initial_s, faults.retry_max_s)
        self.camera = SourceKeeper(source, backoff, self._warn, self.clock)
        self.board = StatusBoard(display, self.notifier, self._warn, self.clock)
        self.result = LoopResult()
        self._after = FrameActions(options.snapshot_dir, self.board, self.result.snapshots,
                                   options.teacher)  # fmt: skip
        self.last_results = FrameResults()
        self.last_overlay: np.ndarray | None = None
        self._heap = HeapTrimmer()
        self._renderer: OverlayRenderer | None = None
        self._figures = Figures(runtime=options.runtime)
        self._figures_at = -math.inf
        self._held: Frame | None = None
        self._last_frame: Frame | None = None
        self._ready_sent = False
        self._seq = 0

    # ---- public ---------------------------------------------------------------------

    @property
    def source(self) -> Source:
        """The one source this loop reads (and reopens in place)."""
        return self.camera.source

    def stop(self) -> None:
        """Ask the loop to stop after the current frame (thread- and signal-safe)."""
        self.stop_event.set()

    def run(self, max_frames: int | None = None) -> LoopResult:
        """Run until stopped, ``max_frames`` frames were processed, or the source ends."""
        try:
            while not self.stop_event.is_set():
                self.notifier.watchdog()
                self._poll_watch()
                if not self.camera.is_open and not self.camera.try_open():
                    self._wait_for_camera()
                    continue
                frame = self._read()
                if frame is None or not self._process_safely(frame):
                    continue
                self._heap.tick()
                if max_frames is not None and self.result.frames >= max_frames:
                    self.result.reason = f"{max_frames} frames"
                    break
            else:
                self.result.reason = self.result.reason or "stopped"
        finally:
            self.notifier.stopping()
            self.camera.close()
        log.info("capture loop ended (%s) after %d frames", self.result.reason, self.result.frames)
        return self.result

    def _poll_watch(self) -> None:
        if self.options.watch is None:
            return
        try:
            message = self.options.watch.poll(self.camera)
        except Exception as exc:  # a failed switch leaves the run as it was
            self._warn.log("watch", logging.WARNING, f"device switch failed: {one_line(exc)}")
            return
        if message:
            self.board.notice(message)

    # ---- per frame -----------------------------------------------------------------

    def process(self, frame: Frame) -> None:
        """Run the stages the view needs, draw the view, show it, publish the status."""
        start = self.clock()
        self._last_frame = frame
        deferred = self._apply_actions(frame)
        frame = self._hold(frame)
        results = self._run_stages(frame)
        if self.options.teacher is not None and self.state.view == TEACH_VIEW:
            results.teach = self.options.teacher.result()  # only the teach view draws it
        self.timer.frame_done(self.clock())
        status = self._status(results, frame.seq)
        overlay = self._draw(frame, status, results)
        with self.timer.part("display"):
            self._show(frame, overlay)
        self.timer.add("total", start)
        self.board.publish(status)
        self.result.frames += 1
        self.last_results, self.last_overlay = results, overlay
        pipeline = self._after.run(deferred, frame, overlay, results, self.state)
        if pipeline is not None:  # a new model from the next frame on, named in the footer
            self.pipeline, self._figures_at = pipeline, -math.inf

    def _process_safely(self, frame: Frame) -> bool:
        try:
            self.process(frame)
        except Exception as exc:  # last line of defence: the loop must go on
            self._warn.log("frame", logging.ERROR, f"frame {frame.seq} failed: {one_line(exc)}")
            return False
        return True

    def _hold(self, frame: Frame) -> Frame:
        """While frozen, the frame that was current when freezing (the source keeps running)."""
        if not self.state.frozen:
            self._held = None
            return frame
        if self._held is None:
            self._held = frame
        return self._held

    def _stages_now(self) -> list[Stage]:
        needed = views.stages_for(self.state.view, self.state.mode)
        return [s for s in self.pipeline.stages if self.options.all_views or s.name in needed]

    def _run_stages(self, frame: Frame) -> FrameResults:
        results = FrameResults()
        for stage in self._stages_now():
            if not self.stage_faults.is_enabled(stage.name):
                continue
            with self.timer.part(stage.name):
                try:
                    stage.process(frame, self.state, results)
                except Exception as exc:
                    self.stage_faults.failure(stage.name, exc)
                else:
                    self.stage_faults.success(stage.name)
        return results

    def _status(self, results: FrameResults, seq: int) -> FrameStatus:
        now = self.clock()
        if now - self._figures_at >= INFO_REFRESH_S:
            self._figures, self._figures_at = self._current_figures(), now
        message = self.board.message(self.camera.message, *self.stage_faults.disabled().values())
        return frame_status(self.state, results.digit, self._figures, message, seq, results.number)

    def _current_figures(self) -> Figures:
        names = [stage.name for stage in self._stages_now()] + ["overlay"]
        read = [r.runtime for r in (self.last_results.digit, self.last_results.number) if r]
        return Figures(
            fps=self.timer.fps(),
            stage_ms=self.timer.medians(names),
            runtime=next((r for r in read if r), self.options.runtime),
            source=self.camera.description if self.camera.is_open else "",
            display=self.display.description,
            display_reason=self.display.reason,
            model=self.options.teacher.model.name if self.options.teacher else "",
        )

    def _draw(self, frame: Frame, status: FrameStatus, results: FrameResults) -> np.ndarray:
        h, w = frame.array.shape[:2]
        size = self.options.screen or getattr(self.display, "screen_size", None) or (w, h)
        with self.timer.part("overlay"):
            try:
                return self._renderer_for(size, (w, h)).render(status, results)
            except Exception as exc:
                self._warn.log("overlay", logging.WARNING, f"overlay failed: {one_line(exc)}")
                return np.zeros((size[1], size[0], 4), np.uint8)

    def _renderer_for(self, size: tuple[int, int], frame: tuple[int, int]) -> OverlayRenderer:
        r = self._renderer
        if r is None or (r.size, r.frame_size) != (size, frame):
            r = self._renderer = OverlayRenderer(size, key_legend, frame_size=frame)
        return r

    def _show(self, frame: Frame, overlay: np.ndarray) -> None:
        try:
            self.display.show(frame, overlay)
        except Exception as exc:
            self.result.display_failures += 1
            self._warn.log("display", logging.WARNING, f"display failed: {one_line(exc)}")
            return
        if not self._ready_sent:
            self.notifier.ready()
            self._ready_sent = True

    # ---- the source ------------------------------------------------------------------

    def _read(self) -> Frame | None:
        try:
            frame = self.camera.source.read()
        except Exception as exc:
            self.result.source_failures += 1
            self.camera.lost(exc)
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

    def _wait_for_camera(self) -> None:
        """Keep the screen, status, watchdog and keys alive until the next retry is due."""
        message = self.camera.waiting_text()
        size = self.options.size
        if self._last_frame is not None:
            size = (self._last_frame.array.shape[1], self._last_frame.array.shape[0])
        size = self.options.screen or getattr(self.display, "screen_size", None) or size
        width, height = size
        self._apply_actions(None)
        picture = self._renderer_for(size, size).message_frame("no camera", message)
        frame = Frame(picture, np.zeros((height, width), np.uint8), self._seq, self.clock())
        self._seq += 1
        self._show(frame, np.zeros((height, width, 4), np.uint8))
        figures = replace(self._current_figures(), fps=None, stage_ms=())
        self.board.publish(frame_status(self.state, None, figures, message, frame.seq))
        self.stop_event.wait(min(WAIT_FRAME_S, max(0.01, self.camera.retry_in())))

    # ---- actions -------------------------------------------------------------------

    def _apply_actions(self, frame: Frame | None) -> list[str]:
        """Apply queued actions; return those for after the frame (snapshot, teach view's)."""
        if self.actions is None:
            return []
        deferred = []
        for action in self.actions.drain(self.state.view):
            if action == "quit":
                self._quit()
            elif self._after.handles(action):
                deferred += [action] if frame is not None else []
            else:
                self._apply(action)
        return deferred

    def _apply(self, action: str) -> None:
        """One action on the state; an arrow that cannot move the view's point says why
        on the status line (a key press never does nothing silently)."""
        results = self.last_results
        blocked = probe_blocked(self.state, action, results)
        if blocked is not None:
            self.board.notice(Message(blocked))
        try:
            self.state = apply_action(
                self.state, action, kernel_names=self.pipeline.kernel_names, results=results
            )
        except ValueError as exc:
            log.warning("%s", exc)

    def _quit(self) -> None:
        if not self.options.interactive:
            log.info("quit ignored: not an interactive run (stop the service instead)")
            return
        log.info("quit requested")
        self.result.reason = "quit"
        self.stop_event.set()
