"""Picamera2Source against the fake picamera2 (the fake's own tests are in tests/fakes/)."""

from __future__ import annotations

import numpy as np
import pytest

from app.errors import SourceError
from app.sources.picamera2_source import Picamera2Source
from tests.fakes import use_fake_picamera2, without_picamera2


@pytest.fixture
def fake(monkeypatch):
    with use_fake_picamera2(monkeypatch) as control:
        yield control


def opened(**kwargs) -> Picamera2Source:
    source = Picamera2Source(capture_timeout=0.05, **kwargs)
    source.open()
    return source


@pytest.mark.parametrize(("platform", "stride"), [("PISP", 384), ("VC4", 320)])
def test_frame_is_main_bgr_and_gray_is_the_lores_y_plane(fake, platform, stride):
    fake.state.platform = platform
    source = opened()
    try:
        assert source.camera.stream_configuration("lores")["stride"] == stride
        frame = source.read()
        assert frame.array.shape == (480, 640, 3) and frame.array.dtype == np.uint8
        assert frame.gray.shape == (240, 320) and frame.gray.dtype == np.uint8
        assert frame.gray.flags.c_contiguous
        yuv = fake.state.last_arrays["lores"]
        assert yuv.shape == (360, stride)
        np.testing.assert_array_equal(frame.gray, yuv[:240, :320])
        np.testing.assert_array_equal(frame.array, fake.state.last_arrays["main"])
        # The Y plane is luminance: brighter where the (BGR) main picture is brighter.
        luma = frame.array.astype(float) @ [0.114, 0.587, 0.299]
        small = luma.reshape(240, 2, 320, 2).mean(axis=(1, 3))
        assert np.corrcoef(small.ravel(), frame.gray.ravel().astype(float))[0, 1] > 0.98
    finally:
        source.close()


def test_configures_rgb888_main_and_yuv420_lores(fake):
    source = opened()
    try:
        config = source.camera.camera_configuration()
        assert config["main"]["format"] == "RGB888" and config["main"]["size"] == (640, 480)
        assert config["lores"]["format"] == "YUV420" and config["lores"]["size"] == (320, 240)
        assert source.main_size == (640, 480) and source.lores_size == (320, 240)
    finally:
        source.close()


def test_frames_move_and_seq_increases(fake):
    source = opened()
    try:
        frames = [source.read() for _ in range(3)]
    finally:
        source.close()
    assert [f.seq for f in frames] == [0, 1, 2]
    assert frames[0].timestamp <= frames[1].timestamp <= frames[2].timestamp
    assert not np.array_equal(frames[0].array, frames[1].array)


def test_every_request_is_released(fake):
    source = opened()
    try:
        for _ in range(10):  # more than buffer_count: a leak would stall the fake camera
            source.read()
    finally:
        source.close()
    assert fake.state.requests_captured == 10
    assert fake.state.requests_released == 10


def test_null_preview_by_default(fake):
    source = opened()
    source.close()
    names = fake.state.event_names()
    assert "preview_start:NULL" in names and "preview_start:DRM" not in names


def test_drm_preview_is_started_before_the_camera_and_takes_overlays(fake):
    source = opened(preview="drm")
    try:
        names = fake.state.event_names()
        assert names.index("configure") < names.index("preview_start:DRM") < names.index("start")
        source.read()  # the DRM preview has its overlay plane once a frame was shown
        rgba = np.zeros((480, 640, 4), np.uint8)
        rgba[..., 3] = 128
        source.camera.set_overlay(rgba)
        with pytest.raises(RuntimeError, match="4-channel"):
            source.camera.set_overlay(np.zeros((480, 640, 3), np.uint8))
    finally:
        source.close()
    [call] = fake.state.overlay_calls
    assert call.preview == "DRM" and call.shape == (480, 640, 4) and call.dtype == "uint8"
    assert "preview_stop:DRM" in fake.state.event_names()


def test_close_releases_the_camera_and_reopen_works(fake):
    source = opened()
    first = source.read()
    source.close()
    assert source.camera is None
    assert fake.state.acquired == set()
    assert "close" in fake.state.event_names()
    source.close()  # twice is harmless
    source.open()
    try:
        assert source.read().seq > first.seq
    finally:
        source.close()
    assert fake.state.acquired == set()


def test_no_camera_is_a_source_error(fake):
    fake.state.cameras = []
    with pytest.raises(SourceError, match="no camera 0") as info:
        Picamera2Source().open()
    assert "\n" not in str(info.value)


def test_busy_camera_is_a_source_error(fake):
    first = opened()
    try:
        with pytest.raises(SourceError, match="cannot open camera 0"):
            Picamera2Source().open()
    finally:
        first.close()


def test_camera_that_stops_delivering_gives_source_error_then_recovers(fake):
    fake.state.fail_after_frames = 3
    fake.state.recover_after_attempts = 2
    source = opened()
    for _ in range(3):
        source.read()
    with pytest.raises(SourceError, match="no frame within") as info:
        source.read()
    assert "\n" not in str(info.value)
    assert "cancel_all_and_flush" in fake.state.event_names()
    source.close()
    for _ in range(2):
        with pytest.raises(SourceError, match="cannot open"):
            source.open()
        assert source.camera is None
    source.open()
    try:
        assert source.read().array.shape == (480, 640, 3)
    finally:
        source.close()


def test_runtime_error_from_capture_becomes_source_error(fake):
    source = opened()
    try:
        fake.state.capture_error = RuntimeError("Camera frontend has timed out!\nmore detail")
        with pytest.raises(SourceError, match="frontend has timed out") as info:
            source.read()
        assert "\n" not in str(info.value)
        assert fake.state.requests_outstanding == 0
        assert source.read() is not None  # one bad capture does not end the source
    finally:
        source.close()


def test_read_before_open_and_bad_options(fake):
    with pytest.raises(SourceError, match="read before open"):
        Picamera2Source().read()
    with pytest.raises(SourceError, match="preview 'qt'"):
        Picamera2Source(preview="qt")
    with pytest.raises(SourceError, match="lores size"):
        Picamera2Source(size=(320, 240), lores_size=(640, 480))


def test_missing_library_is_a_source_error(monkeypatch):
    without_picamera2(monkeypatch)
    with pytest.raises(SourceError, match="library not available"):
        Picamera2Source().open()


def test_a_configuration_the_camera_refuses_is_a_source_error_and_frees_it(fake):
    # A lores stream larger than main is refused by check_camera_config (RuntimeError).
    source = Picamera2Source(size=(640, 480), lores_size=(320, 240))
    source.requested_lores_size = (800, 600)
    with pytest.raises(SourceError, match=r"cannot start camera 0.*lores stream dimensions"):
        source.open()
    assert source.camera is None and fake.state.acquired == set()


@pytest.mark.parametrize(
    ("name", "mode_size", "crop"),
    [
        ("imx219", (1640, 1232), (0, 0, 3280, 2464)),
        ("imx477", (2028, 1520), (0, 0, 4056, 3040)),
        ("imx708", (2304, 1296), (0, 0, 4608, 2592)),
        ("ov5647", (640, 480), (16, 0, 2560, 1920)),
    ],
)
def test_sensor_runs_a_full_view_mode_at_the_fps_asked(fake, name, mode_size, crop):
    fake.attach(name)
    source = opened(fps=30)
    try:
        config = source.camera.camera_configuration()
        assert config["sensor"]["output_size"] == mode_size
        assert source.sensor_mode["size"] == mode_size
        assert source.camera.camera_controls["ScalerCrop"][1] == crop
        assert config["controls"]["FrameDurationLimits"] == (33333, 33333)
        # The mode can deliver it: its shortest frame is shorter than 1/30 s.
        assert source.camera.camera_controls["FrameDurationLimits"][0] <= 33333
        assert source.read().array.shape == (480, 640, 3)
    finally:
        source.close()


def test_fps_zero_leaves_picamera2_its_default_range(fake):
    source = opened(fps=0)
    try:
        config = source.camera.camera_configuration()
        assert config["controls"]["FrameDurationLimits"] == (100, 83333)
    finally:
        source.close()
    with pytest.raises(SourceError, match="fps must be >= 0"):
        Picamera2Source(fps=-1)


def test_a_rate_no_full_view_mode_reaches_is_said_once(fake, caplog):
    fake.attach("imx219")
    source = opened(fps=60)
    try:
        assert source.sensor_mode["size"] == (1640, 1232)
        assert source.camera.camera_configuration()["controls"]["FrameDurationLimits"] == (
            16667,
            16667,
        )
    finally:
        source.close()
    assert caplog.text.count("gives at most 41.85 fps") == 1


def test_lores_keeps_the_main_aspect(fake):
    source = opened(size=(1280, 720))
    try:
        assert source.lores_size == (320, 180)
        frame = source.read()
        assert frame.array.shape == (720, 1280, 3) and frame.gray.shape == (180, 320)
    finally:
        source.close()


def test_sensor_modes_are_read_once_per_camera_model(fake):
    fake.attach("imx477")
    source = opened()
    source.close()
    configures = fake.state.event_names().count("configure")
    assert configures == 4 + 1  # one per sensor mode, then the source's own
    source.open()
    source.close()
    assert fake.state.event_names().count("configure") == configures + 1


def test_a_usb_camera_is_refused_with_the_way_to_read_it(fake):
    fake.attach("usb")
    source = Picamera2Source(capture_timeout=0.05)
    with pytest.raises(SourceError, match=r"USB camera.*'auto' or '/dev/videoN'"):
        source.open()
    assert source.camera is None and fake.state.acquired == set()
