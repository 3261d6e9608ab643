"""The framebuffer display writing to an ordinary file with a fake sysfs directory."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from app.display import fb
from app.display.fb import FramebufferDisplay, letterbox_rect, read_geometry
from app.display.vt import ConsoleGraphicsMode
from app.errors import DisplayError
from app.frame import Frame


def fake_fb(tmp_path: Path, width: int, height: int, bpp: int, stride: int) -> tuple[str, Path]:
    sysfs = tmp_path / "sys" / "fb0"
    sysfs.mkdir(parents=True)
    (sysfs / "virtual_size").write_text(f"{width},{height}\n")
    (sysfs / "bits_per_pixel").write_text(f"{bpp}\n")
    (sysfs / "stride").write_text(f"{stride}\n")
    device = tmp_path / "fb0"
    device.write_bytes(b"\xaa" * (stride * height))
    return str(device), sysfs


def solid_frame(h: int, w: int, bgr: tuple[int, int, int]) -> tuple[Frame, np.ndarray]:
    array = np.empty((h, w, 3), np.uint8)
    array[:] = bgr
    return Frame(array, array[..., 0], 0, 0.0), np.zeros((h, w, 4), np.uint8)


def screen(device: str, height: int, stride: int) -> np.ndarray:
    return np.frombuffer(Path(device).read_bytes(), np.uint8).reshape(height, stride)


def test_xrgb8888_same_size_with_padded_stride(tmp_path):
    device, sysfs = fake_fb(tmp_path, 8, 6, 32, stride=40)  # 8 px * 4 B = 32, padded to 40
    display = FramebufferDisplay(device, sysfs_dir=sysfs)
    display.open()
    frame, overlay = solid_frame(6, 8, (10, 20, 30))
    overlay[0, 0] = (255, 255, 255, 255)  # the overlay is composed in
    display.show(frame, overlay)
    display.close()
    rows = screen(device, 6, 40)
    pixels = rows[:, :32].reshape(6, 8, 4)
    assert pixels[1, 1].tolist() == [10, 20, 30, 255]  # B, G, R, X in memory
    assert pixels[0, 0, :3].tolist() == [255, 255, 255]
    assert (rows[:, 32:] == 0).all()  # padding bytes are written as black, not garbage


def test_rgb565_values(tmp_path):
    device, sysfs = fake_fb(tmp_path, 4, 2, 16, stride=8)
    display = FramebufferDisplay(device, sysfs_dir=sysfs)
    display.open()
    b, g, r = 40, 130, 250
    display.show(*solid_frame(2, 4, (b, g, r)))
    display.close()
    values = screen(device, 2, 8).view("<u2")
    expected = ((r >> 3) << 11) | ((g >> 2) << 5) | (b >> 3)
    assert (values == expected).all()


def test_rgb888(tmp_path):
    device, sysfs = fake_fb(tmp_path, 4, 2, 24, stride=12)
    display = FramebufferDisplay(device, sysfs_dir=sysfs)
    display.open()
    display.show(*solid_frame(2, 4, (1, 2, 3)))
    display.close()
    assert screen(device, 2, 12).reshape(2, 4, 3)[0, 0].tolist() == [1, 2, 3]


def test_letterbox_scales_and_centres_with_black_bars(tmp_path):
    device, sysfs = fake_fb(tmp_path, 16, 6, 32, stride=64)
    display = FramebufferDisplay(device, sysfs_dir=sysfs)
    display.open()
    display.show(*solid_frame(30, 40, (0, 0, 255)))  # 4:3 onto 16:6 -> pillarbox 8x6
    display.close()
    pixels = screen(device, 6, 64).reshape(6, 16, 4)
    x, y, w, h = letterbox_rect(40, 30, 16, 6)
    assert (x, y, w, h) == (4, 0, 8, 6)
    assert (pixels[:, 4:12, 2] == 255).all() and (pixels[:, 4:12, :2] == 0).all()
    assert (pixels[:, :4] == 0).all() and (pixels[:, 12:] == 0).all()


def test_letterbox_rect_wide_source():
    assert letterbox_rect(200, 50, 100, 100) == (0, 37, 100, 25)


def test_size_change_clears_old_picture(tmp_path):
    device, sysfs = fake_fb(tmp_path, 8, 8, 32, stride=32)
    display = FramebufferDisplay(device, sysfs_dir=sysfs)
    display.open()
    display.show(*solid_frame(8, 8, (255, 255, 255)))
    display.show(*solid_frame(4, 8, (0, 255, 0)))  # now letterboxed: rows 2..5
    display.close()
    pixels = screen(device, 8, 32).reshape(8, 8, 4)
    assert (pixels[:2] == 0).all() and (pixels[6:] == 0).all()
    assert (pixels[2:6, :, 1] == 255).all()


def test_geometry_errors_name_the_problem(tmp_path):
    _, sysfs = fake_fb(tmp_path, 8, 8, 8, stride=8)
    with pytest.raises(DisplayError, match="8 bits per pixel"):
        read_geometry(sysfs)
    (sysfs / "bits_per_pixel").write_text("32")
    (sysfs / "stride").write_text("4")
    with pytest.raises(DisplayError, match="inconsistent"):
        read_geometry(sysfs)
    (sysfs / "virtual_size").write_text("garbage")
    with pytest.raises(DisplayError, match="virtual_size"):
        read_geometry(sysfs)
    with pytest.raises(DisplayError, match="cannot read"):
        read_geometry(tmp_path / "missing")


def test_missing_device_is_a_display_error(tmp_path):
    _, sysfs = fake_fb(tmp_path, 8, 8, 32, stride=32)
    with pytest.raises(DisplayError, match="cannot open"):
        FramebufferDisplay(str(tmp_path / "nope"), sysfs_dir=sysfs).open()


class RecordingConsole(ConsoleGraphicsMode):
    """A console that records what the display asks of it, and what the screen held then."""

    def __init__(self, device: str) -> None:
        super().__init__()
        self.device = device
        self.events: list[tuple[str, bytes]] = []

    def enter(self) -> bool:
        self.events.append(("enter", Path(self.device).read_bytes()))
        return True

    def leave(self) -> None:
        self.events.append(("leave", b""))


def test_console_is_kept_off_while_open_and_given_back_on_close(tmp_path):
    device, sysfs = fake_fb(tmp_path, 4, 2, 32, stride=16)
    console = RecordingConsole(device)
    display = FramebufferDisplay(device, sysfs_dir=sysfs, console=console)
    display.open()
    display.show(*solid_frame(2, 4, (1, 2, 3)))
    assert [name for name, _ in console.events] == ["enter"]
    # Graphics mode first, then the screen is cleared: fbcon cannot draw in between.
    assert console.events[0][1] == b"\xaa" * 32
    display.close()
    assert [name for name, _ in console.events] == ["enter", "leave"]


def test_a_stand_in_file_never_touches_the_console(tmp_path):
    device, sysfs = fake_fb(tmp_path, 4, 2, 32, stride=16)
    display = FramebufferDisplay(device, sysfs_dir=sysfs)  # console="auto"
    display.open()
    assert display._console is None  # only a character device gets ConsoleGraphicsMode
    display.close()


@pytest.mark.parametrize("bpp", [16, 32])
def test_without_mmap_rows_are_written_and_the_picture_is_the_same(tmp_path, monkeypatch, bpp):
    pictures = []
    for mapped in (True, False):
        folder = tmp_path / str(mapped)
        folder.mkdir()
        device, sysfs = fake_fb(folder, 16, 6, bpp, stride=16 * bpp // 8 + 8)
        if not mapped:
            monkeypatch.setattr(fb.mmap, "mmap", refuse_mmap)
        display = FramebufferDisplay(device, sysfs_dir=sysfs)
        display.open()
        assert (display._map is not None) == mapped
        frame, overlay = solid_frame(30, 40, (10, 200, 30))
        overlay[:10, :10] = (255, 0, 0, 128)
        display.show(frame, overlay)
        display.close()
        monkeypatch.undo()
        pictures.append(Path(device).read_bytes())
    assert pictures[0] == pictures[1]
    assert pictures[0] != b"\xaa" * len(pictures[0])


def refuse_mmap(*args, **kwargs):
    raise OSError(19, "No such device")


@pytest.mark.parametrize(("bpp", "code"), [(16, "COLOR_BGR2BGR565"), (32, "COLOR_BGR2BGRA")])
def test_scaled_picture_is_the_composed_frame_converted_and_scaled(tmp_path, bpp, code):
    # RGB565 cannot be interpolated once packed, so it is scaled, then packed; XRGB8888
    # is converted at the camera's size, then scaled (fewer bytes). Expected in the same
    # order, exactly: arm64's OpenCV rounds a 4-channel bilinear resize up to 2 levels
    # away from a 3-channel one (x86-64's does not), so the other order is not exact there.
    import cv2

    from app.display.compose import compose

    device, sysfs = fake_fb(tmp_path, 64, 36, bpp, stride=64 * bpp // 8)
    display = FramebufferDisplay(device, sysfs_dir=sysfs, console=None)
    display.open()
    rng = np.random.default_rng(1)
    array = rng.integers(0, 256, (30, 40, 3), np.uint8)
    overlay = rng.integers(0, 256, (30, 40, 4), np.uint8)
    display.show(Frame(array, array[..., 0], 0, 0.0), overlay)
    display.close()
    x, y, w, h = letterbox_rect(40, 30, 64, 36)
    composed = compose(array, overlay)
    convert = getattr(cv2, code)
    if bpp == 16:
        scaled = cv2.resize(composed, (w, h), interpolation=cv2.INTER_LINEAR)
        expected = cv2.cvtColor(scaled, convert)
    else:
        converted = cv2.cvtColor(composed, convert)
        expected = cv2.resize(converted, (w, h), interpolation=cv2.INTER_LINEAR)
    rows = screen(device, 36, 64 * bpp // 8)
    drawn = rows[y : y + h, x * bpp // 8 : (x + w) * bpp // 8]
    np.testing.assert_array_equal(drawn, expected.reshape(h, w * bpp // 8))


def test_the_screen_size_is_the_framebuffer_mode_and_screen_overlays_are_drawn_as_is(tmp_path):
    # The loop draws the overlay at screen_size: the picture then needs no scaling here,
    # the camera frame is fitted (centred) under it and the overlay stays pixel-sharp.
    device, sysfs = fake_fb(tmp_path, 16, 6, 32, stride=64)
    display = FramebufferDisplay(device, sysfs_dir=sysfs, console=None)
    assert display.screen_size is None  # unknown until opened
    display.open()
    assert display.screen_size == (16, 6)
    array = np.full((30, 40, 3), (0, 0, 255), np.uint8)  # 4:3 red camera frame
    overlay = np.zeros((6, 16, 4), np.uint8)
    overlay[0, 0] = (0, 255, 0, 255)  # one green pixel in the letterbox corner
    display.show(Frame(array, array[..., 0], 0, 0.0), overlay)
    display.close()
    pixels = screen(device, 6, 64).reshape(6, 16, 4)
    assert pixels[0, 0, :3].tolist() == [0, 255, 0]  # B, G, R: the overlay, unscaled
    assert (pixels[:, 4:12, 2] == 255).all() and (pixels[1:, :4, :3] == 0).all()  # frame, bars
