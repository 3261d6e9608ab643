"""The DRM overlay display against the picamera2 fake: shape, dtype, rate bound, retries."""

from __future__ import annotations

import time
from collections.abc import Iterator
from types import ModuleType, SimpleNamespace

import numpy as np
import pytest

from app.display.drm import DrmOverlayDisplay
from app.errors import DisplayError
from app.frame import Frame
from tests.fakes import use_fake_picamera2
from tests.waiting import wait_for

H, W = 48, 64


@pytest.fixture
def fake(monkeypatch) -> Iterator[ModuleType]:
    with use_fake_picamera2(monkeypatch) as control:
        yield control


def started_camera(first_frame: bool = True):
    """A Picamera2 running the DRM preview, as the picamera2 source leaves it."""
    import picamera2

    camera = picamera2.Picamera2()
    camera.configure(camera.create_preview_configuration())
    camera.start_preview(picamera2.Preview.DRM)
    camera.start()
    if first_frame:
        camera.capture_request(wait=1.0).release()  # the first frame reserves the plane
    return camera


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def frame_and_overlay(seq: int, *, changing: bool = True) -> tuple[Frame, np.ndarray]:
    array = np.zeros((H, W, 3), np.uint8)
    overlay = np.zeros((H, W, 4), np.uint8)
    overlay[5:10, 5:20] = (255, 255, 0, 200)
    if changing:
        overlay[0, 0] = (seq % 256, 0, 0, 255)
    return Frame(array, array[..., 0], seq, seq / 30), overlay


def test_overlay_reaches_set_overlay_with_shape_and_dtype(fake):
    camera = started_camera()
    display = DrmOverlayDisplay(camera, threaded=False, clock=FakeClock())
    display.open()
    frame, overlay = frame_and_overlay(0)
    display.show(frame, overlay)
    display.close()
    calls = fake.state.overlay_calls
    assert calls[0].preview == "DRM"
    assert calls[0].shape == (H, W, 4) and calls[0].dtype == "uint8"
    assert np.array_equal(calls[0].overlay, overlay)
    assert calls[-1].shape is None  # close() removed the overlay
    camera.close()


def test_100_fast_frames_give_rate_bounded_calls(fake):
    camera = started_camera()
    clock = FakeClock()
    display = DrmOverlayDisplay(camera, threaded=False, clock=clock, max_overlay_fps=10)
    display.open()
    # 100 frames at 100 fps = 1.0 s of fake time: at most one overlay per 0.1 s.
    for seq in range(100):
        display.show(*frame_and_overlay(seq))
        clock.now += 0.01
    sent = [c for c in fake.state.overlay_calls if c.shape is not None]
    assert len(sent) == display.overlays_sent
    assert 9 <= len(sent) <= 11
    display.close()
    camera.close()


def test_unchanged_overlay_is_not_sent_again(fake):
    camera = started_camera()
    clock = FakeClock()
    display = DrmOverlayDisplay(camera, threaded=False, clock=clock, max_overlay_fps=10)
    display.open()
    for seq in range(100):
        display.show(*frame_and_overlay(seq, changing=False))
        clock.now += 0.01
    assert display.overlays_sent == 1
    frame, overlay = frame_and_overlay(0, changing=False)
    overlay[20, 20] = (1, 2, 3, 255)
    display.show(frame, overlay)
    assert display.overlays_sent == 2
    display.close()
    camera.close()


def test_loop_buffer_reuse_does_not_change_what_was_sent(fake):
    camera = started_camera()
    display = DrmOverlayDisplay(camera, threaded=False, clock=FakeClock())
    display.open()
    frame, overlay = frame_and_overlay(0)
    display.show(frame, overlay)
    overlay[:] = 7  # the loop draws the next overlay into the same buffer
    assert fake.state.overlay_calls[0].overlay[0, 0, 3] == 255
    assert display._sent is not None and display._sent[1, 1, 3] == 0
    display.close()
    camera.close()


def test_threaded_mode_delivers_the_newest_overlay(fake):
    camera = started_camera()
    display = DrmOverlayDisplay(camera, max_overlay_fps=1000)
    display.open()
    for seq in range(5):
        display.show(*frame_and_overlay(seq))
        time.sleep(0.002)
    deadline = time.monotonic() + 5
    while display.overlays_sent == 0 and time.monotonic() < deadline:
        time.sleep(0.01)
    display.close()
    sent = [c for c in fake.state.overlay_calls if c.shape is not None]
    assert 1 <= len(sent) <= 5
    assert sent[-1].shape == (H, W, 4)
    assert display._thread is None
    camera.close()


@pytest.mark.parametrize(
    "error",
    [
        AttributeError("'NoneType' object has no attribute 'reserve_overlay_plane'"),
        TypeError("__init__(): incompatible constructor arguments"),
        KeyError("main"),
        RuntimeError("Overlays not supported on this device"),
    ],
)
def test_worker_survives_any_set_overlay_error_and_sends_the_next_overlay(fake, error):
    camera = started_camera()
    display = DrmOverlayDisplay(camera, max_overlay_fps=1000)
    display.open()
    fake.state.overlay_errors = [error]  # a set_overlay racing a camera close fails
    display.show(*frame_and_overlay(0))
    assert wait_for(lambda: fake.state.overlay_errors == [])
    display.show(*frame_and_overlay(1))
    assert wait_for(lambda: display.overlays_sent == 1)
    assert display._thread is not None and display._thread.is_alive()
    display.show(*frame_and_overlay(2))  # no stored error to raise: it was retried
    display.close()
    sent = [c.overlay[0, 0, 0] for c in fake.state.overlay_calls if c.shape is not None]
    assert sent[0] == 1
    camera.close()


def test_close_survives_a_preview_that_fails_to_clear_the_overlay(fake):
    camera = started_camera()
    display = DrmOverlayDisplay(camera, threaded=False, clock=FakeClock())
    display.open()
    display.show(*frame_and_overlay(0))
    fake.state.overlay_errors = [AttributeError("'NoneType' object has no attribute 'fd'")]
    display.close()
    assert fake.state.overlay_errors == []
    camera.close()


def test_source_camera_is_used_at_open(fake):
    camera = started_camera()
    source = SimpleNamespace(camera=camera)
    display = DrmOverlayDisplay(source=source, threaded=False, clock=FakeClock())
    display.open()
    display.show(*frame_and_overlay(1))
    assert display.overlays_sent == 1
    display.close()
    camera.close()


def test_no_camera_is_a_display_error():
    with pytest.raises(DisplayError, match="picamera2"):
        DrmOverlayDisplay(source=SimpleNamespace(camera=None)).open()
    with pytest.raises(DisplayError, match="picamera2"):
        DrmOverlayDisplay(source=object()).open()


def test_overlay_before_the_first_camera_frame_is_retried_then_sent(fake):
    camera = started_camera(first_frame=False)
    clock = FakeClock()
    display = DrmOverlayDisplay(camera, threaded=False, clock=clock, max_overlay_fps=10)
    display.open()
    frame, overlay = frame_and_overlay(0, changing=False)
    display.show(frame, overlay)  # "Overlays not supported on this device" until a frame
    assert display.overlays_sent == 0
    camera.capture_request(wait=1.0).release()
    clock.now += 0.2
    display.show(frame, overlay)  # same overlay: it was never shown, so it is sent now
    assert display.overlays_sent == 1
    display.close()
    camera.close()


def test_persistent_failure_becomes_a_display_error(fake):
    camera = started_camera(first_frame=False)  # the overlay plane never appears
    clock = FakeClock()
    display = DrmOverlayDisplay(camera, threaded=False, clock=clock, give_up_after=1.0)
    display.open()
    display.show(*frame_and_overlay(0))
    clock.now += 0.5
    display.show(*frame_and_overlay(1))
    clock.now += 0.6
    with pytest.raises(DisplayError, match="keeps failing"):
        display.show(*frame_and_overlay(2))
    display.close()
    camera.close()


def test_wrong_overlay_is_refused_before_picamera2_sees_it(fake):
    camera = started_camera()
    display = DrmOverlayDisplay(camera, threaded=False, clock=FakeClock())
    display.open()
    frame, _ = frame_and_overlay(0)
    with pytest.raises(DisplayError, match="overlay"):
        display.show(frame, np.zeros((H, W, 4), np.float32))
    assert fake.state.overlay_calls == []
    display.close()
    camera.close()


def test_follows_the_source_when_the_camera_is_reopened(fake):
    source = SimpleNamespace(camera=started_camera())
    clock = FakeClock()
    display = DrmOverlayDisplay(source=source, threaded=False, clock=clock)
    display.open()
    display.show(*frame_and_overlay(0))
    source.camera.close()  # the camera was lost; the source reopened it
    source.camera = started_camera()
    clock.now += 1.0
    display.show(*frame_and_overlay(1))
    assert display.overlays_sent == 2
    clock.now += 1.0
    display.show(*frame_and_overlay(1, changing=False))
    assert display.overlays_sent == 3
    # Lost again and reopened: the new camera shows no overlay yet, so the same,
    # unchanged overlay is sent to it once.
    source.camera.close()
    source.camera = started_camera()
    for _ in range(2):
        clock.now += 1.0
        display.show(*frame_and_overlay(1, changing=False))
    assert display.overlays_sent == 4
    assert fake.state.overlay_calls[-1].shape == (H, W, 4)
    display.close()
    source.camera.close()


class UnprintableError(Exception):
    """An exception whose message cannot be made (a binding's broken ``__str__``)."""

    def __str__(self) -> str:
        raise ValueError("no message")


def test_worker_survives_an_error_it_cannot_even_describe(fake, caplog):
    camera = started_camera()
    display = DrmOverlayDisplay(camera, max_overlay_fps=1000)
    display.open()
    fake.state.overlay_errors = [UnprintableError()]
    display.show(*frame_and_overlay(0))
    assert wait_for(lambda: fake.state.overlay_errors == [])
    display.show(*frame_and_overlay(1))
    assert wait_for(lambda: display.overlays_sent == 1)
    assert display._thread is not None and display._thread.is_alive()
    display.close()
    camera.close()
    assert "drm display" in caplog.text
