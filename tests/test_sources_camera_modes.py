"""Sensor mode choice for the picamera2 source: whole field of view, enough fps; lores aspect."""

from __future__ import annotations

import pytest

from app.sources.camera_modes import (
    choose_sensor_mode,
    frame_duration_limits,
    full_view_modes,
    lores_size_for,
)
from tests.fakes import use_fake_picamera2


@pytest.fixture
def fake(monkeypatch):
    with use_fake_picamera2(monkeypatch) as control:
        yield control


def modes_of(fake, name: str) -> list[dict]:
    """``sensor_modes`` as the fake picamera2 reports them for that sensor's driver."""
    import picamera2

    fake.attach(name)
    camera = picamera2.Picamera2()
    try:
        return camera.sensor_modes
    finally:
        camera.close()


@pytest.mark.parametrize(
    ("name", "full"),
    [
        ("imx219", {(1640, 1232), (3280, 2464)}),
        ("imx477", {(2028, 1520), (4056, 3040)}),
        ("imx708", {(2304, 1296), (4608, 2592)}),
        ("ov5647", {(640, 480), (1296, 972), (2592, 1944)}),  # VGA reads 2560x1920 of 2592
    ],
)
def test_full_view_modes(fake, name, full):
    assert {tuple(m["size"]) for m in full_view_modes(modes_of(fake, name))} == full


@pytest.mark.parametrize(
    ("name", "size", "fps", "chosen"),
    [
        ("imx219", (640, 480), 30, ((1640, 1232), 10)),  # not the cropped 640x480 mode
        ("imx477", (640, 480), 30, ((2028, 1520), 12)),
        ("imx708", (640, 480), 30, ((2304, 1296), 10)),  # not the cropped 1536x864
        ("ov5647", (640, 480), 30, ((640, 480), 10)),
        ("ov5647", (1280, 720), 30, ((1296, 972), 10)),
        ("imx708", (1920, 1080), 30, ((2304, 1296), 10)),
        ("imx477", (1920, 1080), 15, ((2028, 1520), 12)),
        # No full-view mode is both fast enough and big enough: frame rate first.
        ("imx219", (1920, 1080), 30, ((1640, 1232), 10)),
        ("imx477", (4056, 3040), 30, ((2028, 1520), 12)),
        # Nothing full-view reaches 60 fps: the fastest full-view mode.
        ("imx219", (640, 480), 60, ((1640, 1232), 10)),
        ("ov5647", (1280, 720), 50, ((640, 480), 10)),
        # Any rate: the smallest covering mode.
        ("imx219", (2000, 1500), 0, ((3280, 2464), 10)),
    ],
)
def test_choose_sensor_mode(fake, name, size, fps, chosen):
    mode = choose_sensor_mode(modes_of(fake, name), size, fps)
    assert (tuple(mode["size"]), mode["bit_depth"]) == chosen


def test_a_usb_camera_has_no_mode_to_choose(fake):
    assert choose_sensor_mode(modes_of(fake, "usb"), (640, 480), 30) is None
    assert choose_sensor_mode([], (640, 480), 30) is None


@pytest.mark.parametrize(
    ("main", "box", "lores"),
    [
        ((640, 480), (320, 240), (320, 240)),
        ((1280, 720), (320, 240), (320, 180)),
        ((1920, 1080), (320, 240), (320, 180)),
        ((480, 640), (320, 240), (180, 240)),  # portrait
        ((1000, 1000), (320, 240), (240, 240)),
        ((640, 362), (320, 240), (320, 180)),  # 181 rows would be odd: even sizes only
    ],
)
def test_lores_has_the_main_aspect_in_the_box(main, box, lores):
    assert lores_size_for(main, box) == lores


def test_frame_duration_limits():
    assert frame_duration_limits(30) == (33333, 33333)
    assert frame_duration_limits(24) == (41667, 41667)
    assert frame_duration_limits(0) is None
