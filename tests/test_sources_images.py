"""The photo-folder slideshow source."""

from __future__ import annotations

import logging
import struct

import cv2
import numpy as np
import pytest

from app.errors import SourceError
from app.sources.images import ImageFolderSource, letterbox


def solid(width: int, height: int, bgr: tuple[int, int, int]) -> np.ndarray:
    return np.full((height, width, 3), bgr, np.uint8)


@pytest.fixture
def folder(tmp_path):
    """b.png blue 200x100, a.jpg green 100x100, c.bmp red 64x48, plus noise files."""
    cv2.imwrite(str(tmp_path / "b.png"), solid(200, 100, (255, 0, 0)))
    cv2.imwrite(str(tmp_path / "a.jpg"), solid(100, 100, (0, 255, 0)))
    cv2.imwrite(str(tmp_path / "c.BMP"), solid(64, 48, (0, 0, 255)))
    (tmp_path / "broken.webp").write_bytes(b"RIFF\x00\x00\x00\x00WEBPjunk")
    (tmp_path / "readme.txt").write_text("not a photo")
    (tmp_path / "sub.png").mkdir()
    return tmp_path


def colour(frame) -> str:
    b, g, r = frame.array[240, 320].astype(int)
    return "bgr"[int(np.argmax([b, g, r]))]


def test_slideshow_shows_each_photo_for_its_frames_in_name_order(folder, caplog):
    source = ImageFolderSource(folder, fps=10.0, seconds_per_image=0.3, realtime=False)
    source.open()
    try:
        with caplog.at_level(logging.WARNING, logger="app.sources.images"):
            frames = [source.read() for _ in range(12)]
    finally:
        source.close()
    assert "".join(colour(f) for f in frames) == "gggbbbrrrggg"
    assert [f.seq for f in frames] == list(range(12))
    warnings = [r.getMessage() for r in caplog.records]
    assert len(warnings) == 1 and "broken.webp" in warnings[0]  # once, not every cycle
    for frame in frames:
        assert frame.array.shape == (480, 640, 3) and frame.gray.shape == (480, 640)
    np.testing.assert_array_equal(frames[3].gray, cv2.cvtColor(frames[3].array, cv2.COLOR_BGR2GRAY))


def test_frames_are_independent_copies(folder):
    source = ImageFolderSource(folder, realtime=False)
    source.open()
    first = source.read()
    first.array[:] = 0
    second = source.read()
    source.close()
    assert second.array.max() > 0


def test_without_loop_the_slideshow_ends(folder):
    source = ImageFolderSource(folder, fps=10.0, seconds_per_image=0.1, loop=False, realtime=False)
    source.open()
    try:
        shown = [source.read() for _ in range(3)]
        assert all(f is not None for f in shown)
        assert source.read() is None
    finally:
        source.close()


def test_photos_are_letterboxed():
    out = letterbox(solid(200, 100, (255, 255, 255)), (640, 480))
    assert out.shape == (480, 640, 3)
    # 200x100 scaled by 3.2 is 640x320: 80-row bars above and below.
    assert out[:79].max() == 0 and out[-79:].max() == 0 and out[81:399].min() == 255
    same = solid(640, 480, (1, 2, 3))
    assert letterbox(same, (640, 480)) is same


def jpeg_with_exif_orientation(image: np.ndarray, orientation: int) -> bytes:
    """A JPEG whose APP1 segment holds one EXIF tag: Orientation (0x0112)."""
    ok, encoded = cv2.imencode(".jpg", image)
    assert ok
    tiff = b"II*\x00" + struct.pack("<I", 8)
    tiff += struct.pack("<H", 1) + struct.pack("<HHIHH", 0x0112, 3, 1, orientation, 0)
    tiff += struct.pack("<I", 0)
    app1 = b"Exif\x00\x00" + tiff
    data = encoded.tobytes()
    return data[:2] + b"\xff\xe1" + struct.pack(">H", len(app1) + 2) + app1 + data[2:]


def test_exif_orientation_is_applied(tmp_path):
    # 80 wide, 40 tall, left half white. Orientation 6 means "rotate 90 degrees clockwise
    # to view": upright it is 40 wide and 80 tall with the white half on top.
    image = np.zeros((40, 80, 3), np.uint8)
    image[:, :40] = 255
    (tmp_path / "rotated.jpg").write_bytes(jpeg_with_exif_orientation(image, 6))
    source = ImageFolderSource(tmp_path, realtime=False)
    source.open()
    try:
        gray = source.read().gray
    finally:
        source.close()
    columns = np.flatnonzero(gray.max(axis=0) > 30)
    width = columns[-1] - columns[0] + 1
    assert 230 <= width <= 250  # portrait 40x80 fitted into 640x480 is 240 wide
    assert gray[100, 320] > 200 and gray[380, 320] < 50


def test_missing_empty_and_unreadable_folders(tmp_path):
    with pytest.raises(SourceError, match="not a folder") as info:
        ImageFolderSource(tmp_path / "missing").open()
    assert "missing" in str(info.value)
    (tmp_path / "notes.txt").write_text("x")
    with pytest.raises(SourceError, match="no photos"):
        ImageFolderSource(tmp_path).open()
    (tmp_path / "bad.jpg").write_bytes(b"not a jpeg")
    source = ImageFolderSource(tmp_path, realtime=False)
    source.open()
    with pytest.raises(SourceError, match="none of the 1 files is readable"):
        source.read()
    source.close()


def test_bad_timing_values():
    with pytest.raises(SourceError, match="must be positive"):
        ImageFolderSource("x", seconds_per_image=0)
