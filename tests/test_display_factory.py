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
from app.display.factory import choose_auto_display, hdmi_connected, make_display
from app.display.fb import FramebufferDisplay
from app.display.file import FileDisplay
from app.display.null import NullDisplay
from app.display.web import WebViewer
from app.errors import DisplayError
from app.frame import Frame
from app.status import FrameStatus


@pytest.fixture
def pi(tmp_path: Path) -> dict[str, Path]:
    """A fake Raspberry Pi: device-tree model and a DRM dir with one HDMI connector."""
    model = tmp_path / "model"
    model.write_bytes(b"Raspberry Pi 5 Model B Rev 1.0\x00")
    drm = tmp_path / "drm"
    for name, status in (("card1-HDMI-A-1", "connected"), ("card1-HDMI-A-2", "disconnected")):
        (drm / name).mkdir(parents=True)
        (drm / name / "status").write_text(status + "\n")
    return {"model_path": model, "drm_dir": drm}


def test_specs_build_the_right_display(tmp_path):
    queue = ActionQueue()
    web = make_display("web", host="127.0.0.1", port=0, actions=queue)
    assert isinstance(web, WebViewer) and web.actions is queue and web.port == 0
    assert isinstance(make_display("null"), NullDisplay)
    fb = make_display("fb")
    assert isinstance(fb, FramebufferDisplay) and fb.device == "/dev/fb0"
    fb1 = make_display("fb:/dev/fb1")
    assert fb1.device == "/dev/fb1" and fb1.sysfs_dir == Path("/sys/class/graphics/fb1")
    assert isinstance(make_display(f"file:{tmp_path}/x.mp4"), FileDisplay)
    assert isinstance(make_display("drm", source=SimpleNamespace(camera=None)), DrmOverlayDisplay)


@pytest.mark.parametrize("spec", ["tv", "web:9000", "null:x", "", "file:clip.gif"])
def test_unknown_specs_are_one_line_display_errors(spec):
    with pytest.raises(DisplayError) as info:
        make_display(spec)
    assert "\n" not in str(info.value)


def test_auto_picks_drm_only_on_a_pi_with_hdmi_and_picamera2(pi, tmp_path, caplog):
    camera_source = SimpleNamespace(camera=object())
    assert choose_auto_display(camera_source, **pi)[0] == "drm"
    with caplog.at_level(logging.INFO, logger="app.display.factory"):
        display = make_display("auto", source=camera_source, **pi)
    assert isinstance(display, DrmOverlayDisplay)
    assert "auto -> drm" in caplog.text
    spec, reason = choose_auto_display(object(), **pi)
    assert spec == "web" and "picamera2" in reason
    (pi["drm_dir"] / "card1-HDMI-A-1" / "status").write_text("disconnected\n")
    assert choose_auto_display(camera_source, **pi) == ("web", "no HDMI screen connected")
    not_pi = tmp_path / "other-model"
    not_pi.write_text("Generic x86 PC")
    spec, reason = choose_auto_display(camera_source, drm_dir=pi["drm_dir"], model_path=not_pi)
    assert (spec, reason) == ("web", "not a Raspberry Pi")
    assert isinstance(make_display("auto", port=0, drm_dir=pi["drm_dir"], model_path=not_pi),
                      WebViewer)  # fmt: skip


def test_hdmi_connected_reads_status_files(pi, tmp_path):
    assert hdmi_connected(pi["drm_dir"])
    assert not hdmi_connected(tmp_path / "empty")


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
