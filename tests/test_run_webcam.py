"""A USB webcam in ``convlens run``: ``auto`` reads it through OpenCV although picamera2
lists it too, the console image shows it full screen on the framebuffer, and one plugged
in 20 s after start replaces the demo scene within 5 s (fake time, the watch's thread)."""

from __future__ import annotations

import functools
import threading
import time

import numpy as np
import pytest

from app.display.fb import FramebufferDisplay
from app.loop import CaptureLoop
from app.run_devices import RunDevices
from app.sources import factory
from app.sources.factory import find_camera
from app.sources.opencv_source import DeviceSource
from app.stages.pipeline import Pipeline
from tests.fakes import use_fake_picamera2
from tests.machine_fakes import fake_machine
from tests.test_run_devices import config, run_until_used

#: The webcam's picture: one colour, so the screen shows whose frames it has.
WEBCAM_BGR = (40, 160, 220)


class FakeWebcam:
    """cv2.VideoCapture on a UVC webcam at about 100 frames a second."""

    def __init__(self) -> None:
        self.released = False

    def isOpened(self) -> bool:  # noqa: N802 - OpenCV's name
        return True

    def set(self, prop: int, value: float) -> bool:
        return True

    def read(self):
        time.sleep(0.01)
        return True, np.full((480, 640, 3), WEBCAM_BGR, np.uint8)

    def release(self) -> None:
        self.released = True


@pytest.fixture
def webcam(monkeypatch):
    """picamera2 lists a UVC webcam only; /dev/video0 opens it through OpenCV."""
    with use_fake_picamera2(monkeypatch) as fake:
        fake.attach("usb")
        opened = []

        def capture(device):
            opened.append(device)
            return FakeWebcam()

        monkeypatch.setattr(
            factory, "DeviceSource", functools.partial(DeviceSource, capture_factory=capture)
        )
        yield fake, opened


def test_auto_reads_the_webcam_through_opencv_and_fills_the_console_screen(webcam, tmp_path):
    fake, opened = webcam
    paths = fake_machine(tmp_path, modes=("1280x720",), console="1280,720")

    def find(size, fps):
        return find_camera(size, fps, usb_devices=["/dev/video0"])

    devices = RunDevices(config(), paths=paths, find=find, realtime=False)
    source, display = devices.start()
    try:
        assert isinstance(source, DeviceSource) and source.name == "/dev/video0"
        assert isinstance(display.current, FramebufferDisplay) and display.owns_screen
        assert "a camera other than picamera2" in display.reason
        CaptureLoop(source, display, Pipeline()).run(max_frames=5)
    finally:
        display.close()
        source.close()
    # picamera2 was never asked to open the webcam (no lores stream it lacks).
    assert fake.state.open_attempts == 0 and opened == ["/dev/video0", "/dev/video0"]
    screen = np.fromfile(paths.fb_device, np.uint8).reshape(720, 1280, 4)
    # The 4:3 picture letterboxed on the 16:9 screen: 960 columns in the middle.
    assert screen[360, 640, :3].tolist() == list(WEBCAM_BGR)
    assert screen[360, 100, :3].tolist() == [0, 0, 0]


def test_a_webcam_plugged_in_20_s_after_start_is_used_within_5_s(webcam, tmp_path):
    fake, _ = webcam
    fake.state.cameras = []  # nothing listed by picamera2 until the webcam comes
    plugged: list[str] = []
    paths = fake_machine(tmp_path)

    def plug_in() -> None:
        fake.attach("usb")
        plugged.append("/dev/video0")

    def find(size, fps):
        return find_camera(size, fps, usb_devices=list(plugged))

    screen = np.memmap(paths.fb_device, np.uint8, mode="r", shape=(1080, 1920, 4))

    def webcam_is_used(loop) -> bool:  # its picture is on the screen
        return screen[540, 960, :3].tolist() == list(WEBCAM_BGR)

    after, loop, grabs = run_until_used(fake, paths, plug_in, webcam_is_used, find=find)
    assert after is not None and after <= 5.0, after
    assert isinstance(loop.display.current, FramebufferDisplay)  # fb all along: no switch
    assert grabs == [] and "camera found: /dev/video0" in loop.board.message()
    assert not [t for t in threading.enumerate() if t.name.startswith("grab")]
