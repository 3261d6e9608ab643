"""Source specs: each accepted form, bad specs, and the logged ``auto`` fallback."""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path

import pytest

from app.errors import SourceError
from app.sources import factory
from app.sources.demo import DemoSource
from app.sources.factory import make_source, usb_video_devices
from app.sources.images import ImageFolderSource
from app.sources.opencv_source import DeviceSource, VideoFileSource
from app.sources.picamera2_source import Picamera2Source
from tests.fakes import use_fake_picamera2, without_picamera2


@pytest.fixture
def fake(monkeypatch):
    with use_fake_picamera2(monkeypatch) as control:
        yield control


@pytest.fixture
def no_usb(monkeypatch, tmp_path):
    monkeypatch.setattr(factory, "V4L2_SYSFS", tmp_path / "no-sysfs")


def test_picamera2_specs():
    source = make_source("picamera2", size=(800, 600), picamera2_preview="drm")
    assert isinstance(source, Picamera2Source)
    assert source.camera_num == 0 and source.requested_size == (800, 600)
    assert source.preview == "drm" and source.camera is None
    assert make_source("picamera2:1").camera_num == 1


def test_device_specs():
    usb = make_source("usb:2", size=(320, 240), fps=15.0)
    assert isinstance(usb, DeviceSource)
    assert usb.device == 2 and usb.size == (320, 240) and usb.fps == 15.0
    path = make_source("/dev/video3")
    assert isinstance(path, DeviceSource) and path.device == "/dev/video3"


def test_file_and_images_specs():
    video = make_source("file:clips/a b.mp4", loop=False, realtime=False)
    assert isinstance(video, VideoFileSource)
    assert video.path == Path("clips/a b.mp4") and not video.loop and not video.realtime
    photos = make_source("images:photos/", fps=10.0)
    assert isinstance(photos, ImageFolderSource)
    assert photos.folder == Path("photos") and photos.fps == 10.0


def test_demo_specs():
    demo = make_source("demo", seed=5, realtime=False, size=(320, 240))
    assert isinstance(demo, DemoSource)
    assert demo.seed == 5 and not demo.realtime and demo.size == (320, 240)
    assert make_source("demo:42", seed=5).seed == 42
    assert make_source(" demo ").seed == 0


@pytest.mark.parametrize(
    "spec", ["camera", "usb", "usb:", "file:", "images:", "video0", "picamera", "http://x"]
)
def test_unknown_spec_names_it_and_the_accepted_forms(spec):
    with pytest.raises(SourceError) as info:
        make_source(spec)
    message = str(info.value)
    assert repr(spec) in message and "usb:N" in message and "demo" in message
    assert "\n" not in message


@pytest.mark.parametrize("spec", ["usb:x", "usb:-1", "demo:abc", "picamera2:one"])
def test_bad_numbers_are_named(spec):
    with pytest.raises(SourceError, match="whole number") as info:
        make_source(spec)
    assert repr(spec) in str(info.value)


def test_auto_without_picamera2_falls_back_to_demo_and_says_why(monkeypatch, no_usb, caplog):
    without_picamera2(monkeypatch)
    with caplog.at_level(logging.INFO, logger="app.sources.factory"):
        source = make_source("auto", seed=3)
    assert isinstance(source, DemoSource) and source.seed == 3
    message = caplog.text
    assert "demo" in message and "picamera2: library not available" in message
    assert "no USB video devices" in message


@pytest.mark.skipif(factory.V4L2_SYSFS.exists(), reason="this machine has video devices")
def test_auto_is_the_default_and_cheap_on_a_machine_without_cameras(monkeypatch, caplog):
    without_picamera2(monkeypatch)
    with caplog.at_level(logging.INFO, logger="app.sources.factory"):
        source = make_source()
    # This machine has no /sys/class/video4linux: nothing is opened, the demo is chosen.
    assert isinstance(source, DemoSource)
    assert "source auto: demo" in caplog.text


def test_auto_uses_picamera2_when_it_lists_a_camera(fake, no_usb, caplog):
    with caplog.at_level(logging.INFO, logger="app.sources.factory"):
        source = make_source("auto", picamera2_preview="drm")
    assert isinstance(source, Picamera2Source) and source.preview == "drm"
    assert "picamera2" in caplog.text
    assert fake.state.open_attempts == 0  # listing cameras does not open one


def test_auto_skips_picamera2_listing_no_camera(fake, no_usb, caplog):
    fake.state.cameras = []
    with caplog.at_level(logging.INFO, logger="app.sources.factory"):
        source = make_source("auto")
    assert isinstance(source, DemoSource)
    assert "picamera2: no camera listed" in caplog.text


def test_auto_tries_usb_devices_and_logs_each_failure(monkeypatch, caplog):
    without_picamera2(monkeypatch)
    tried = []

    def refuse(path, size, fps):
        tried.append(path)
        return f"{path}: cannot open the camera"

    monkeypatch.setattr(factory, "_probe_device", refuse)
    with caplog.at_level(logging.INFO, logger="app.sources.factory"):
        source = factory.choose_auto(usb_devices=["/dev/video0", "/dev/video2"])
    assert isinstance(source, DemoSource)
    assert tried == ["/dev/video0", "/dev/video2"]
    assert "/dev/video2: cannot open the camera" in caplog.text


def test_auto_picks_the_first_usb_device_that_gives_a_frame(monkeypatch, caplog):
    without_picamera2(monkeypatch)
    monkeypatch.setattr(
        factory, "_probe_device", lambda path, size, fps: None if path.endswith("2") else "no"
    )
    with caplog.at_level(logging.INFO, logger="app.sources.factory"):
        source = factory.choose_auto(usb_devices=["/dev/video0", "/dev/video2", "/dev/video4"])
    assert isinstance(source, DeviceSource) and source.device == "/dev/video2"
    assert "source auto: /dev/video2" in caplog.text


def test_probe_of_a_missing_device_reports_why():
    assert factory._probe_device("/dev/video-does-not-exist", (640, 480), 30.0)


def test_usb_video_devices_keeps_only_usb_nodes(tmp_path):
    sysfs = tmp_path / "video4linux"
    sysfs.mkdir()
    usb_device = tmp_path / "devices" / "usb1" / "1-1" / "1-1:1.0"
    platform_device = tmp_path / "devices" / "platform" / "soc" / "codec"
    for target in (usb_device, platform_device):
        target.mkdir(parents=True)
    for name, target in [
        ("video10", platform_device),
        ("video2", usb_device),
        ("video0", usb_device),
    ]:
        (sysfs / name).mkdir()
        os.symlink(target, sysfs / name / "device")
    (sysfs / "v4l-subdev0").mkdir()
    assert usb_video_devices(sysfs) == ["/dev/video0", "/dev/video2"]
    assert usb_video_devices(tmp_path / "missing") == []


def test_auto_skips_a_picamera2_that_fails_to_import_with_any_error(fake, no_usb, caplog):
    # apt's picamera2 (and simplejpeg) importing a pip NumPy 2 raises ValueError.
    fake.state.import_error = ValueError("numpy.dtype size changed, may indicate binary")
    sys.modules.pop("picamera2", None)
    with caplog.at_level(logging.INFO, logger="app.sources.factory"):
        source = make_source("auto")
    assert isinstance(source, DemoSource)
    assert "picamera2: library not available (ValueError: numpy.dtype size changed" in caplog.text


def test_auto_sends_a_usb_webcam_picamera2_lists_to_opencv(fake, monkeypatch, caplog):
    # picamera2 lists UVC webcams too; asking one for a lores stream is undefined
    # behaviour in libcamera, so auto reads it through OpenCV.
    fake.attach("usb")
    monkeypatch.setattr(factory, "_probe_device", lambda path, size, fps: None)
    with caplog.at_level(logging.INFO, logger="app.sources.factory"):
        source = factory.choose_auto(usb_devices=["/dev/video0"], fps=25.0)
    assert isinstance(source, DeviceSource) and source.device == "/dev/video0"
    assert "picamera2: it lists only USB cameras" in caplog.text
    assert fake.state.open_attempts == 0


def test_auto_prefers_the_pi_camera_when_a_webcam_is_listed_too(fake, no_usb):
    fake.attach("usb", "imx219")  # libcamera's order; picamera2 lists the webcam last
    source = make_source("auto", fps=24.0)
    assert isinstance(source, Picamera2Source) and source.camera_num == 0
    source.open()
    try:
        assert source.camera.camera_properties["Model"] == "imx219"
        assert source.fps == 24.0
    finally:
        source.close()


def test_fps_reaches_picamera2(fake):
    for spec in ("picamera2", "picamera2:0"):
        assert make_source(spec, fps=15.0).fps == 15.0
