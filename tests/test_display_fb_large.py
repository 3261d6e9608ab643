"""A framebuffer larger than 1920x1080 (a 4K TV's console): the loop draws the overlay at
1920x1080 and the display scales the picture up to the whole screen in one resize."""

from __future__ import annotations

import numpy as np

from app.display.fb import FramebufferDisplay
from app.frame import Frame
from tests.test_display_fb import fake_fb, screen


def test_a_4k_framebuffer_asks_for_a_1080p_overlay_and_fills_the_screen(tmp_path):
    device, sysfs = fake_fb(tmp_path, 3840, 2160, 32, stride=3840 * 4)
    display = FramebufferDisplay(device, sysfs_dir=sysfs, console=None)
    display.open()
    assert display.screen_size == (1920, 1080)
    array = np.full((480, 640, 3), (0, 0, 200), np.uint8)  # a red 4:3 camera frame
    overlay = np.zeros((1080, 1920, 4), np.uint8)
    overlay[:100, :200] = (0, 255, 0, 255)  # a green panel in the top-left corner
    display.show(Frame(array, array[..., 0], 0, 0.0), overlay)
    display.close()
    pixels = screen(device, 2160, 3840 * 4).reshape(2160, 3840, 4)
    assert pixels[10, 10, :3].tolist() == [0, 255, 0]  # the panel, twice as large
    assert pixels[190, 390, :3].tolist() == [0, 255, 0]
    assert pixels[1080, 1920, :3].tolist() == [0, 0, 200]  # the camera in the middle
    assert pixels[1080, 100, :3].tolist() == [0, 0, 0]  # a black bar at the side


def test_a_1080p_or_smaller_framebuffer_is_drawn_for_as_it_is(tmp_path):
    for width, height in ((1920, 1080), (1280, 1024), (720, 576)):
        folder = tmp_path / f"{width}x{height}"
        folder.mkdir()
        device, sysfs = fake_fb(folder, width, height, 16, stride=width * 2)
        display = FramebufferDisplay(device, sysfs_dir=sysfs, console=None)
        display.open()
        assert display.screen_size == (width, height)
        display.close()
