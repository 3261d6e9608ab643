"""The loop with the real picamera2 source on the fake library: a camera that stops
delivering mid-run, refuses to reopen twice, then comes back; none at start; and every
kind of error opening it at start, none of which may end the process."""

from __future__ import annotations

import os
import signal
import sys
import threading

import pytest

from app.cli import main
from app.config import FaultsConfig
from app.loop import CaptureLoop, LoopOptions
from app.sources.picamera2_source import Picamera2Source
from app.stages.pipeline import Pipeline
from tests.fakes import use_fake_picamera2
from tests.loop_fakes import FakeNotifier, RecordingDisplay, StepClock
from tests.waiting import wait_for

FAST = FaultsConfig(retry_initial_s=0.01, retry_max_s=0.05, log_interval_s=0.0)


@pytest.fixture
def fake(monkeypatch):
    with use_fake_picamera2(monkeypatch) as control:
        yield control


def camera_source() -> Picamera2Source:
    return Picamera2Source(size=(320, 240), capture_timeout=0.05)


def make_loop(display: RecordingDisplay, **kwargs) -> CaptureLoop:
    # The loop's own clock steps at each reading: a retry falls due after so many steps,
    # not after so many milliseconds of a loaded machine (the first one after a loss is
    # never due at once, so "camera lost" is always shown before "no camera").
    options = LoopOptions(faults=FAST, size=(320, 240), clock=StepClock())
    return CaptureLoop(camera_source(), display, Pipeline(), options=options, **kwargs)


def test_camera_lost_mid_run_comes_back_and_is_released_at_the_end(fake) -> None:
    fake.state.fail_after_frames = 10
    fake.state.recover_after_attempts = 2
    display = RecordingDisplay()
    notifier = FakeNotifier()
    loop = make_loop(display, notifier=notifier)
    result = loop.run(max_frames=25)
    assert result.frames == 25
    assert result.source_failures == 1
    messages = [s.message for s in display.statuses if s.message]
    assert any("camera lost" in m for m in messages)
    assert any("no camera" in m for m in messages)  # the two refused reopenings
    assert display.statuses[-1].message == ""
    assert fake.state.acquired == set()  # the camera was released
    assert sum(1 for name, _ in notifier.events if name == "watchdog") > 25


def test_no_camera_at_all_keeps_serving_the_waiting_screen(fake) -> None:
    fake.state.cameras = []
    display = RecordingDisplay()
    loop = make_loop(display)
    timer = threading.Timer(0.5, loop.stop)
    timer.start()
    result = loop.run()
    timer.join()
    assert result.frames == 0 and len(display.shown) >= 2
    assert display.last_frame.array.shape == (240, 320, 3)
    assert "no camera" in display.statuses[-1].message


def run_for(loop: CaptureLoop, seconds: float, max_frames: int | None = None):
    timer = threading.Timer(seconds, loop.stop)
    timer.start()
    try:
        return loop.run(max_frames=max_frames)
    finally:
        timer.cancel()


ABI = "numpy.dtype size changed, may indicate binary incompatibility. Expected 96 from C header"


@pytest.mark.parametrize(
    ("arrange", "shown"),
    [
        (lambda s: s.open_errors.append(OSError(5, "Input/output error")),
         "cannot open camera 0 (RuntimeError: Camera __init__ sequence did not complete.)"),
        (lambda s: setattr(s, "import_error", ValueError(ABI)), f"ValueError: {ABI}"),
        (lambda s: s.open_errors.append(RuntimeError("Failed to start media pipeline")),
         "cannot open camera 0 (RuntimeError"),
    ],
    ids=["libcamera-io-error", "numpy-abi-import", "libcamera-runtime-error"],
)  # fmt: skip
def test_an_error_opening_the_camera_is_shown_and_retried_until_it_opens(fake, arrange, shown):
    arrange(fake.state)
    display = RecordingDisplay()
    fixer = None
    if fake.state.import_error is not None:
        sys.modules.pop("picamera2", None)  # import it again, as a fresh process would

        def fix_the_import_once_shown() -> None:
            # Once the loop has shown the error, however slow the machine (a fixed delay
            # cleared it before the first attempt under qemu).
            wait_for(lambda: any(ABI in s.message for s in display.statuses), timeout=60)
            fake.state.import_error = None

        fixer = threading.Thread(target=fix_the_import_once_shown)
        fixer.start()
    result = run_for(make_loop(display), 60.0, max_frames=3)
    if fixer is not None:
        fixer.join()
    assert result.frames == 3 and result.reason == "3 frames"
    messages = [s.message for s in display.statuses if s.message]
    assert any(shown in m and m.startswith("no camera (") for m in messages), messages
    assert display.statuses[-1].message == ""
    assert fake.state.acquired == set()


def test_a_dma_heap_permission_error_keeps_the_loop_waiting_with_the_reason(fake):
    # The real picamera2 raises it at the end of Picamera2(), the camera already acquired
    # by the half-built object (held by atexit): later attempts find the camera busy.
    fake.state.open_errors.append(
        PermissionError(13, "Permission denied", "/dev/dma_heap/vidbuf_cached")
    )
    display = RecordingDisplay()
    result = run_for(make_loop(display), 0.5)
    assert result.frames == 0 and result.reason == "stopped"
    messages = [s.message for s in display.statuses if s.message]
    first = (
        "no camera (PermissionError: [Errno 13] Permission denied: '/dev/dma_heap/vidbuf_cached')"
    )
    assert messages[0].startswith(first)
    assert "Camera __init__ sequence did not complete" in messages[-1]
    assert fake.state.open_attempts >= 2 and len(display.shown) >= 2


@pytest.mark.parametrize("display", ["drm", "null"])
def test_convlens_run_survives_any_camera_error_at_start(fake, tmp_path, caplog, display):
    """The command itself, not only the loop: before, an error other than SourceError
    while opening the camera at start ended the process (and systemd restarted it, to
    fail the same way)."""
    fake.state.open_errors.append(
        PermissionError(13, "Permission denied", "/dev/dma_heap/vidbuf_cached")
    )
    config = tmp_path / "c.toml"
    config.write_text("[controls]\nterminal = false\nevdev = false\n")
    args = ["run", "--config", str(config), "--source", "picamera2", "--size", "320x240"]
    args += ["--display", display, "--port", "0", "--log-level", "info"]
    finished = threading.Event()

    def interrupt_once_retrying() -> None:
        # After the loop's first retry, when its signal handlers are in place, however
        # slow the machine: a fixed 1.5 s interrupted start-up itself under qemu (exit 130).
        wait_for(lambda: fake.state.open_attempts >= 2 or finished.is_set(), timeout=120)
        if not finished.is_set():
            os.kill(os.getpid(), signal.SIGINT)

    killer = threading.Thread(target=interrupt_once_retrying)
    killer.start()
    try:
        code = main(args)
    finally:
        finished.set()
        killer.join()
    assert code == 0
    assert "PermissionError: [Errno 13] Permission denied" in caplog.text
    assert "capture loop ended (stopped)" in caplog.text
