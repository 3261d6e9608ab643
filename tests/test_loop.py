"""The capture loop: view-dependent stages, actions, snapshots, freeze, and faults it survives."""

from __future__ import annotations

import json
import threading
from dataclasses import asdict, fields
from typing import Any

import numpy as np

from app.config import FaultsConfig
from app.controls.actions import ActionQueue
from app.errors import SourceError
from app.frame import Frame
from app.loop import CaptureLoop, LoopOptions, frame_problem
from app.stages.base import Stage
from app.stages.pipeline import Pipeline
from app.stages.results import DIGIT, DigitResult, FrameResults
from app.state import ViewState
from tests.loop_fakes import (
    CountingStage,
    FakeNotifier,
    RecordingDisplay,
    ScriptedSource,
    StepClock,
    make_frame,
)

FAST_FAULTS = FaultsConfig(retry_initial_s=0.01, retry_max_s=0.04, log_interval_s=0.0)
OPTION_NAMES = {f.name for f in fields(LoopOptions)}


def make_loop(source: ScriptedSource, stages: list[Stage], **kwargs: Any) -> CaptureLoop:
    """A loop on ``source``; LoopOptions fields and ``kernel_names`` may be given by name."""
    display = kwargs.pop("display", RecordingDisplay())
    options = {name: kwargs.pop(name) for name in list(kwargs) if name in OPTION_NAMES}
    options.setdefault("faults", FAST_FAULTS)
    pipeline = Pipeline(tuple(stages), tuple(kwargs.pop("kernel_names", ())))
    return CaptureLoop(source, display, pipeline, options=LoopOptions(**options), **kwargs)


def test_runs_only_the_stages_the_view_needs_and_shows_every_frame() -> None:
    source = ScriptedSource()
    kernel = CountingStage("kernel")
    digit = CountingStage("digit")
    display = RecordingDisplay()
    loop = make_loop(source, [kernel, digit], display=display, state=ViewState(view="camera"))
    result = loop.run(max_frames=10)
    assert result.frames == 10 and result.reason == "10 frames"
    assert kernel.calls == 0 and digit.calls == 10
    assert [seq for seq, _ in display.shown] == list(range(10))
    assert {shape for _, shape in display.shown} == {(48, 64, 4)}
    # One status per frame, for the web page as JSON: every setting under its own name.
    assert len(display.statuses) == 10
    status = asdict(display.statuses[-1])
    assert status["view"] == "camera" and status["pool_mode"] == "max" and "pooling" not in status
    for key in ("kernel", "stride", "padding", "pool_size", "activation", "operation",
                "prediction", "confidence", "probabilities", "fps", "stage_ms", "runtime",
                "source", "frozen", "message"):  # fmt: skip
        assert key in status
    json.dumps(status)
    assert source.closes == 1 and not source.is_open


def test_all_views_runs_every_stage() -> None:
    source = ScriptedSource()
    stages = [CountingStage("kernel"), CountingStage("digit")]
    loop = make_loop(source, stages, all_views=True, record=True)
    loop.run(max_frames=5)
    assert [s.calls for s in stages] == [5, 5]
    assert {k: len(v) for k, v in loop.timer.recorded.items()} == {
        "kernel": 5,
        "digit": 5,
        "overlay": 5,
        "display": 5,
        "total": 5,
    }


def test_end_of_stream_stops_the_loop() -> None:
    source = ScriptedSource(limit=3)
    result = make_loop(source, []).run()
    assert result.frames == 3 and result.reason == "end of stream"


def test_actions_apply_before_the_frame_and_quit_only_when_interactive() -> None:
    source = ScriptedSource()
    kernel = CountingStage("kernel")
    actions = ActionQueue()
    actions.put("view_kernel")
    actions.put("stride_up")
    actions.put("quit")
    loop = make_loop(source, [kernel], actions=actions, kernel_names=["a", "b"])
    loop.run(max_frames=3)
    assert kernel.calls == 3  # quit ignored, kernel view active from frame 0
    assert kernel.seen_states[0].view == "kernel" and kernel.seen_states[0].stride == 2

    source = ScriptedSource()
    actions.put("quit")
    result = make_loop(source, [], actions=actions, interactive=True).run(max_frames=100)
    assert result.frames == 1 and result.reason == "quit"


def test_freeze_keeps_processing_the_same_frame() -> None:
    source = ScriptedSource()
    stage = CountingStage("digit")
    actions = ActionQueue()
    loop = make_loop(source, [stage], actions=actions)
    loop.run(max_frames=2)
    actions.put("toggle_freeze")
    loop.run(max_frames=6)
    assert source.reads == 6  # the source keeps being read (pacing, loss detection)
    assert loop.state.frozen and stage.seen_seqs == [0, 1, 2, 2, 2, 2]


class FixedDigitStage(Stage):
    name = "digit"
    views = ("camera", "features")

    def process(self, frame: Frame, state: ViewState, results: FrameResults) -> None:
        results.digit = DigitResult(
            status=DIGIT,
            reason=None,
            prediction=3,
            confidence=0.75,
            probs=np.full(10, 0.1, np.float32),
            runtime="fixed",
            roi_px=(10, 8, 40, 38),
            tensor=np.linspace(0, 1, 784, dtype=np.float32).reshape(28, 28),
        )


def test_snapshot_writes_composite_roi_tensor_and_json(tmp_path) -> None:
    import cv2

    source = ScriptedSource(size=(64, 48))
    actions = ActionQueue()
    actions.put("snapshot")
    loop = make_loop(source, [FixedDigitStage()], actions=actions, snapshot_dir=tmp_path)
    result = loop.run(max_frames=2)
    assert len(result.snapshots) == 1
    folder = result.snapshots[0]
    assert cv2.imread(str(folder / "composite.png")).shape == (48, 64, 3)
    assert cv2.imread(str(folder / "roi.png")).shape == (30, 30, 3)
    tensor = cv2.imread(str(folder / "tensor_28x28.png"), cv2.IMREAD_GRAYSCALE)
    assert tensor.shape == (28, 28) and tensor[0, 0] == 0 and tensor[-1, -1] == 255
    record = json.loads((folder / "prediction.json").read_text())
    assert record["prediction"] == 3 and record["confidence"] == 0.75
    assert len(record["probs"]) == 10 and record["state"]["view"] == "camera"
    assert "snapshot saved" in loop.board.message()


def test_no_camera_at_start_shows_a_message_then_resumes() -> None:
    source = ScriptedSource(size=(64, 48))
    source.fail_open = 3
    display = RecordingDisplay()
    notifier = FakeNotifier()
    loop = make_loop(source, [], display=display, notifier=notifier, size=(80, 60))
    result = loop.run(max_frames=4)
    assert result.frames == 4 and source.opens == 1
    waiting = [s for s in display.statuses if s.message]
    assert waiting and "no camera" in waiting[0].message
    assert "retrying in" in waiting[0].message
    # The waiting screen has the configured size before any frame arrived.
    assert display.shown[0][1] == (60, 80, 4)
    assert display.statuses[-1].message == ""
    names = [name for name, _ in notifier.events]
    assert names.count("watchdog") > 4 and names[-1] == "stopping"
    assert names.index("ready") < names.index("watchdog", 4)
    # Back-off: 0.01, 0.02, 0.04 (capped) before the 4th attempt succeeded; then reset.
    assert loop.camera.backoff.next_delay() == 0.01


def test_camera_lost_mid_run_is_reopened_and_the_loop_goes_on() -> None:
    source = ScriptedSource()
    source.fail_read_at = {5}
    display = RecordingDisplay()
    # The loop's own clock: the first reopening (10 ms on it) is never due at the next
    # iteration, however long the machine takes to get there, so "camera lost" is shown.
    loop = make_loop(source, [], display=display, clock=StepClock())
    result = loop.run(max_frames=10)
    assert result.frames == 10 and result.source_failures == 1
    assert source.opens == 2 and source.closes == 2
    lost = [s.message for s in display.statuses if "camera lost" in s.message]
    assert lost and "SourceError" in lost[0]


def test_source_exceptions_other_than_source_error_are_survived() -> None:
    class Exploding(ScriptedSource):
        def read(self) -> Frame | None:
            if self.reads == 2:
                self.reads += 1
                raise OSError("USB reset")
            return super().read()

    source = Exploding()
    result = make_loop(source, []).run(max_frames=5)
    assert result.frames == 5 and result.source_failures == 1


def test_any_exception_from_open_is_retried_with_its_message_on_screen() -> None:
    source = ScriptedSource()
    source.open_errors = [
        PermissionError(13, "Permission denied", "/dev/dma_heap/vidbuf_cached"),
        RuntimeError("Camera __init__ sequence did not complete."),
        ValueError("numpy.dtype size changed, may indicate binary incompatibility"),
        SourceError("scripted: no camera"),
    ]
    display = RecordingDisplay()
    result = make_loop(source, [], display=display).run(max_frames=2)
    assert result.frames == 2 and source.opens == 1
    messages = [s.message for s in display.statuses if s.message]
    for needle in ("PermissionError: [Errno 13] Permission denied", "RuntimeError: Camera",
                   "ValueError: numpy.dtype size changed", "(scripted: no camera)"):  # fmt: skip
        assert any(needle in m for m in messages), needle
    assert all(m.startswith("no camera (") for m in messages)


def test_a_stage_exception_skips_only_that_stage_for_that_frame() -> None:
    source = ScriptedSource()
    flaky = CountingStage("digit")
    flaky.fail_at = {2}
    steady = CountingStage("features")
    loop = make_loop(source, [flaky, steady], state=ViewState(view="features"))
    loop.run(max_frames=3)
    assert flaky.calls == 3 and steady.calls == 3
    assert loop.stage_faults.is_enabled("digit")
    assert flaky.completed == [0, 1] and steady.completed == [0, 1, 2]


def test_a_stage_that_keeps_failing_is_switched_off_with_a_message() -> None:
    source = ScriptedSource()
    broken = CountingStage("features", fail_always=True)
    display = RecordingDisplay()
    loop = make_loop(source, [broken], display=display, state=ViewState(view="features"))
    result = loop.run(max_frames=30)
    assert result.frames == 30
    assert broken.calls == 20
    message = display.statuses[-1].message
    assert "stage features switched off" in message and "20 frames in a row" in message


def test_bad_frames_are_skipped() -> None:
    source = ScriptedSource()
    source.bad_at = {1, 2}
    result = make_loop(source, []).run(max_frames=4)
    assert result.frames == 4 and result.bad_frames == 2


def test_frame_problem_names_what_is_wrong() -> None:
    assert frame_problem(make_frame(0)) is None
    assert "expected a Frame" in frame_problem(np.zeros((4, 4, 3), np.uint8))
    bad = Frame(np.zeros((48, 64, 3), np.float32), np.zeros((48, 64), np.uint8), 0, 0.0)
    assert "(H, W, 3) uint8" in frame_problem(bad)
    bad = Frame(np.zeros((48, 64, 3), np.uint8), np.zeros((48, 64, 3), np.uint8), 0, 0.0)
    assert "frame.gray" in frame_problem(bad)


def test_a_failing_display_does_not_stop_the_loop() -> None:
    source = ScriptedSource()
    display = RecordingDisplay()
    display.fail = True
    result = make_loop(source, [], display=display).run(max_frames=5)
    assert result.frames == 5 and result.display_failures == 5


def test_stop_event_from_another_thread_ends_a_wait_for_the_camera() -> None:
    source = ScriptedSource()
    source.fail_open = 10**6
    faults = FaultsConfig(retry_initial_s=5.0, retry_max_s=5.0, log_interval_s=0.0)
    loop = make_loop(source, [], faults=faults)
    timer = threading.Timer(0.3, loop.stop)
    timer.start()
    result = loop.run()
    timer.join()
    assert result.frames == 0 and result.reason == "stopped"


def test_an_unexpected_error_in_a_frame_skips_only_that_frame(monkeypatch) -> None:
    source = ScriptedSource()
    display = RecordingDisplay()
    loop = make_loop(source, [], display=display)
    calls = []
    original = loop._current_figures

    def flaky_info():
        calls.append(1)
        if len(calls) == 1:
            raise KeyError("boom")
        return original()

    monkeypatch.setattr(loop, "_current_figures", flaky_info)
    monkeypatch.setattr("app.loop.INFO_REFRESH_S", 0.0)
    result = loop.run(max_frames=3)
    assert result.frames == 3 and source.reads == 4  # frame 0 was lost, the loop went on


def test_a_half_opened_source_is_closed_before_the_retry() -> None:
    class HalfOpen(ScriptedSource):
        def open(self) -> None:
            self.opens += 1
            if self.opens == 1:
                self.is_open = True  # acquired the device, then failed
                raise SourceError("configure failed")
            super().open()

    source = HalfOpen()
    result = make_loop(source, []).run(max_frames=2)
    assert result.frames == 2 and source.closes == 2  # the failed attempt and the end


def test_a_lost_source_is_reopened_in_place() -> None:
    source = ScriptedSource()
    source.fail_read_at = {3}
    display = RecordingDisplay()
    loop = make_loop(source, [], display=display)
    result = loop.run(max_frames=6)
    assert result.source_failures == 1 and result.frames == 6
    # The same object, closed and opened again: nothing else to follow.
    assert loop.source is source and source.opens == 2 and source.closes == 2
    assert [seq for seq, _ in display.shown if seq >= 0][-1] == 6
