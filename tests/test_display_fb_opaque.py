"""An opaque overlay at the screen's size goes straight to the framebuffer: the same bytes
as composing it and converting the picture, for every pixel format."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from app.display import fb
from app.display.compose import Composer, compose
from app.display.fb import FbGeometry, FramebufferDisplay
from app.frame import Frame
from tests.test_display_fb import fake_fb, screen


def opaque_overlay(width: int, height: int, seed: int = 0) -> np.ndarray:
    overlay = np.random.default_rng(seed).integers(0, 256, (height, width, 4), np.uint8)
    overlay[..., 3] = 255
    return overlay


def camera_frame(width: int = 8, height: int = 6) -> Frame:
    array = np.random.default_rng(1).integers(0, 256, (height, width, 3), np.uint8)
    return Frame(array, array[..., 0], 0, 0.0)


@pytest.mark.parametrize("bpp", [16, 24, 32])
def test_an_opaque_screen_overlay_is_the_composed_picture_converted(tmp_path, bpp, monkeypatch):
    width, height, stride = 20, 10, 20 * bpp // 8 + 4  # padded rows
    device, sysfs = fake_fb(tmp_path, width, height, bpp, stride)
    display = FramebufferDisplay(device, sysfs_dir=sysfs, console=None)
    display.open()
    composed = []
    real = Composer.compose
    monkeypatch.setattr(Composer, "compose", lambda s, *a: composed.append(a) or real(s, *a))
    overlay = opaque_overlay(width, height)
    display.show(camera_frame(), overlay)
    display.close()
    assert composed == []  # straight from the overlay: no BGR picture in between
    code = {16: cv2.COLOR_BGR2BGR565, 24: None, 32: cv2.COLOR_BGR2BGRA}[bpp]
    picture = compose(camera_frame().array, overlay)
    expected = picture if code is None else cv2.cvtColor(picture, code)
    rows = screen(device, height, stride)[:, : width * bpp // 8]
    np.testing.assert_array_equal(rows, expected.reshape(height, width * bpp // 8))


def test_a_view_switch_between_opaque_and_see_through_overlays(tmp_path):
    device, sysfs = fake_fb(tmp_path, 20, 10, 32, stride=80)
    display = FramebufferDisplay(device, sysfs_dir=sysfs, console=None)
    display.open()
    frame = camera_frame()
    see_through = np.zeros((10, 20, 4), np.uint8)
    see_through[0, 0] = (255, 0, 0, 255)
    for overlay in (opaque_overlay(20, 10), see_through, opaque_overlay(20, 10, seed=2)):
        display.show(frame, overlay)
        drawn = screen(device, 10, 80).reshape(10, 20, 4)[..., :3]
        np.testing.assert_array_equal(drawn, compose(frame.array, overlay))
    display.close()


def test_one_translucent_pixel_or_another_size_takes_the_compose_path(tmp_path, monkeypatch):
    device, sysfs = fake_fb(tmp_path, 20, 10, 16, stride=40)
    display = FramebufferDisplay(device, sysfs_dir=sysfs, console=None)
    display.open()
    composed = []
    real = Composer.compose
    monkeypatch.setattr(Composer, "compose", lambda s, *a: composed.append(a) or real(s, *a))
    translucent = opaque_overlay(20, 10)
    translucent[5, 7, 3] = 254
    display.show(camera_frame(), translucent)
    display.show(camera_frame(), opaque_overlay(8, 6))  # frame-sized: scaled as before
    display.close()
    assert len(composed) == 2


@pytest.mark.parametrize("bpp", [24, 32])
def test_red_in_the_low_byte_is_the_same_picture_either_way(bpp):
    geometry = FbGeometry(4, 3, 4 * bpp // 8, bpp, red_low=True)
    overlay = opaque_overlay(4, 3)
    direct_code = fb._rgba_code(geometry)
    direct = overlay if direct_code is None else cv2.cvtColor(overlay, direct_code)
    composed = cv2.cvtColor(compose(camera_frame(4, 3).array, overlay), fb._pixel_code(geometry))
    np.testing.assert_array_equal(direct, composed)
