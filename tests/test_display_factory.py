"""make_display specs, auto selection, and the file and null displays."""

from __future__ import annotations

import logging
from pathlib import Path
from types import SimpleNamespace

import cv2
import numpy as np
import pytest

from app.controls.actions import ActionQueue
from app.display.drm import DrmOverlayDisplay
from app.display.factory import (
    DisplayChoice,
    choose_auto_display,
    desktop_refusal,
    make_display,
)
from app.display.fb import FramebufferDisplay
from app.display.file import FileDisplay
from app.display.null import NullDisplay
from app.display.web import WebViewer
from app.errors import DisplayError
from app.frame import Frame
from app.status import FrameStatus
from tests.machine_fakes import fake_machine

WAYLAND = {"USER": "pi", "TYPE": "wayland", "CLASS": "user", "SEAT": "seat0", "ACTIVE": "1"}


def test_specs_build_the_right_display(tmp_path):
    console = fake_machine(tmp_path / "pi")  # no desktop: drm and fb may be built
    queue = ActionQueue()
    web = make_display("web", host="127.0.0.1", port=0, actions=queue)
    assert isinstance(web, WebViewer) and web.actions is queue and web.port == 0
    assert isinstance(make_display("null"), NullDisplay)
    fb = make_display("fb", paths=console)
    assert isinstance(fb, FramebufferDisplay) and fb.device == str(console.fb_device)
    assert fb.sysfs_dir == console.fb_sysfs
    fb1 = make_display("fb:/dev/fb1", paths=console)
    assert fb1.device == "/dev/fb1" and fb1.sysfs_dir == Path("/sys/class/graphics/fb1")
    assert isinstance(make_display(f"file:{tmp_path}/x.mp4"), FileDisplay)
    drm = make_display("drm", source=SimpleNamespace(camera=None), paths=console)
    assert isinstance(drm, DrmOverlayDisplay)


@pytest.mark.parametrize("spec", ["tv", "web:9000", "null:x", "", "file:clip.gif"])
def test_unknown_specs_are_one_line_display_errors(spec):
    with pytest.raises(DisplayError) as info:
        make_display(spec)
    assert "\n" not in str(info.value)


def test_auto_on_a_pi_console_with_hdmi_picks_drm_for_picamera2_and_fb_for_others(tmp_path):
    paths = fake_machine(tmp_path)
    assert choose_auto_display(True, paths) == DisplayChoice(
        "drm", "Raspberry Pi camera and an HDMI screen, no desktop"
    )
    choice = choose_auto_display(False, paths)
    assert choice.name == "fb" and "other than picamera2" in choice.reason


def test_auto_picks_web_with_a_desktop_no_screen_or_not_a_pi(tmp_path):
    desktop = fake_machine(tmp_path / "desktop", session=WAYLAND)
    choice = choose_auto_display(True, desktop)
    assert choice.name == "web" and "desktop is running" in choice.reason
    booting = fake_machine(
        tmp_path / "boot", display_manager="lightdm.service", default_target="graphical.target"
    )
    assert choose_auto_display(True, booting).name == "web"
    unplugged = fake_machine(tmp_path / "unplugged", hdmi="disconnected")
    assert choose_auto_display(True, unplugged) == DisplayChoice("web", "no HDMI screen connected")
    laptop = fake_machine(tmp_path / "laptop", pi=False)
    assert choose_auto_display(True, laptop) == DisplayChoice("web", "not a Raspberry Pi")


def test_make_display_auto_logs_and_keeps_the_reason(tmp_path, caplog):
    paths = fake_machine(tmp_path)
    camera_source = SimpleNamespace(camera=object())
    with caplog.at_level(logging.INFO, logger="app.display.factory"):
        display = make_display("auto", source=camera_source, paths=paths)
    assert isinstance(display, DrmOverlayDisplay)
    assert "auto -> drm" in caplog.text
    assert display.reason == "Raspberry Pi camera and an HDMI screen, no desktop"
    laptop = fake_machine(tmp_path / "laptop", pi=False)
    web = make_display("auto", port=0, paths=laptop)
    assert isinstance(web, WebViewer) and web.reason == "not a Raspberry Pi"
    assert make_display("null").reason == "[display] spec"


@pytest.mark.parametrize("spec", ["drm", "fb"])
def test_drm_and_fb_are_refused_under_a_desktop(tmp_path, spec):
    """The compositor holds DRM master: a commit would fail, and opening the card first
    at boot would keep the desktop from starting."""
    desktop = fake_machine(tmp_path, session=WAYLAND)
    assert "owns the HDMI screen" in desktop_refusal(spec, desktop)
    assert desktop_refusal("web", desktop) is None
    assert desktop_refusal(spec, fake_machine(tmp_path / "console")) is None


def frames(count: int, h: int = 48, w: int = 64):
    for seq in range(count):
        array = np.zeros((h, w, 3), np.uint8)
        array[:, : (seq + 1) * 4] = (0, 200, 0)
        overlay = np.zeros((h, w, 4), np.uint8)
        overlay[:4, :4] = (255, 0, 0, 255)
        yield Frame(array, array[..., 1], seq, seq / 30), overlay


def test_file_display_png_sequence_in_a_directory(tmp_path):
    out = tmp_path / "shots"
    display = make_display(f"file:{out}/")
    display.open()
    for frame, overlay in frames(3):
        display.show(frame, overlay)
    display.close()
    names = sorted(p.name for p in out.iterdir())
    assert names == ["00000.png", "00001.png", "00002.png"]
    picture = cv2.imread(str(out / "00002.png"))
    assert picture.shape == (48, 64, 3)
    assert picture[0, 0].tolist() == [0, 0, 255]  # the overlay's red, composed in
    assert picture[20, 5].tolist() == [0, 200, 0]


def test_file_display_pattern(tmp_path):
    display = FileDisplay(str(tmp_path / "f_%03d.png"))
    display.open()
    for frame, overlay in frames(2):
        display.show(frame, overlay)
    display.close()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["f_000.png", "f_001.png"]


@pytest.mark.parametrize("suffix", [".avi", ".mp4"])
def test_file_display_video_round_trip(tmp_path, suffix):
    path = tmp_path / f"clip{suffix}"
    display = FileDisplay(str(path), fps=10)
    display.open()
    for frame, overlay in frames(6):
        display.show(frame, overlay)
    display.show(*next(frames(1, h=24, w=32)))  # another size is scaled, not an error
    display.close()
    capture = cv2.VideoCapture(str(path))
    count = 0
    while True:
        ok, picture = capture.read()
        if not ok:
            break
        assert picture.shape == (48, 64, 3)
        count += 1
    capture.release()
    assert count == 7


def test_file_display_errors(tmp_path):
    with pytest.raises(DisplayError, match="unsupported"):
        FileDisplay(str(tmp_path / "x.gif"))
    with pytest.raises(DisplayError, match="pattern"):
        FileDisplay(str(tmp_path / "x_%d.jpg"))
    with pytest.raises(DisplayError, match="does not exist"):
        FileDisplay(str(tmp_path / "missing" / "x.mp4")).open()


def test_null_display_counts_and_keeps_status():
    display = NullDisplay()
    with display:
        for frame, overlay in frames(4):
            display.show(frame, overlay)
        display.update_status(FrameStatus(view="kernel"))
    assert display.frames_shown == 4 and display.last_status == FrameStatus(view="kernel")
