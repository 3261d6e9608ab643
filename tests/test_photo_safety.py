"""Photos fail safe (issue 13, items 3 and 4, and 11's per-file predict errors): sizes come
from the header and are refused before decoding, only regular files are read, and one
bad file or one failed prediction never stops the others nor puts NaN in the JSON."""

from __future__ import annotations

import json
import os
import struct
import threading
import zlib
from pathlib import Path

import cv2
import numpy as np
import pytest

from app import imageio
from app.classifier import Prediction
from app.image_header import HeaderError, image_header
from app.imageio import PhotoError, read_photo
from app.photos import classify_files
from app.sources.images import ImageFolderSource


def png_chunk(kind: bytes, payload: bytes) -> bytes:
    crc = zlib.crc32(kind + payload) & 0xFFFFFFFF
    return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", crc)


def png_bomb(width: int, height: int, depth: int = 8, colour: int = 0) -> bytes:
    """A few hundred bytes declaring ``width`` x ``height``: rows of zeros, deflated."""
    ihdr = struct.pack(">IIBBBBB", width, height, depth, colour, 0, 0, 0)
    # Deflate a few thousand zero rows: a decoder that trusts the header allocates the
    # whole picture before it finds the data short.
    body = zlib.compress(b"\x00" * (1 << 20), 9)
    return (
        b"\x89PNG\r\n\x1a\n"
        + png_chunk(b"IHDR", ihdr)
        + png_chunk(b"IDAT", body)
        + (png_chunk(b"IEND", b""))
    )


@pytest.fixture
def no_decoder(monkeypatch):
    """Fail the test if anything reaches OpenCV's decoder."""

    def refuse(*args, **kwargs):
        raise AssertionError("the decoder ran on a refused image")

    monkeypatch.setattr(imageio.cv2, "imdecode", refuse)


@pytest.mark.parametrize("ext", [".png", ".jpg", ".bmp", ".webp", ".tiff", ".ppm", ".pgm"])
@pytest.mark.parametrize("channels", [1, 3, 4])
def test_header_sizes_match_what_opencv_decodes(ext, channels):
    if channels == 4 and ext in (".jpg", ".ppm", ".pgm"):
        pytest.skip("format has no alpha")
    if (ext == ".ppm" and channels == 1) or (ext == ".pgm" and channels != 1):
        pytest.skip("PPM is colour, PGM grey")
    rng = np.random.default_rng(channels)
    image = rng.integers(0, 256, (37, 53, channels), dtype=np.uint8).squeeze()
    ok, encoded = cv2.imencode(ext, image)
    assert ok
    data = encoded.tobytes()
    header = image_header(data)
    decoded = cv2.imdecode(encoded, cv2.IMREAD_UNCHANGED)
    assert (header.width, header.height) == (decoded.shape[1], decoded.shape[0])
    assert header.decoded_bytes >= decoded.nbytes  # an upper bound, never an underestimate


def test_sixteen_bit_png_counts_two_bytes_per_sample():
    image = np.zeros((10, 12, 4), np.uint16)
    header = image_header(cv2.imencode(".png", image)[1].tobytes())
    assert (header.channels, header.bytes_per_sample) == (4, 2)
    assert header.decoded_bytes == 10 * 12 * 4 * 2


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (png_bomb(30000, 30000), "declares 30000x30000"),
        # 36 megapixels passes the pixel limit, but 16-bit RGBA would be 288 MB.
        (png_bomb(6000, 6000, depth=16, colour=6), "would decode to 288000000 bytes"),
        (
            b"\xff\xd8\xff\xc0\x00\x11\x08"
            + struct.pack(">HH", 60000, 60000)
            + b"\x03"
            + b"\0" * 9,
            "declares 60000x60000",
        ),
        (
            b"RIFF\0\0\0\0WEBPVP8X\x0a\0\0\0\0\0\0\0" + b"\xff\x3f\x00" * 2,
            "declares 16384x16384",
        ),
        (b"P5\n40000 40000\n255\n" + b"\0" * 16, "declares 40000x40000"),
        (b"GIF89a" + b"\0" * 20, "unknown format"),
        (b"\x89PNG\r\n\x1a\n\0\0", "cut short"),
    ],
)
def test_bombs_and_unknown_formats_are_refused_before_decoding(tmp_path, no_decoder, data, message):
    path = tmp_path / "bomb.png"
    path.write_bytes(data)
    with pytest.raises(PhotoError, match=message) as info:
        read_photo(path)
    assert str(path) in str(info.value) and "\n" not in str(info.value)


def call_bounded(function, *args, seconds: float = 5.0):
    """Run ``function(*args)`` on a thread; fail (not hang) if it blocks past ``seconds``."""
    outcome: dict[str, object] = {}

    def run() -> None:
        try:
            outcome["value"] = function(*args)
        except Exception as exc:  # handed back to the test thread
            outcome["error"] = exc

    thread = threading.Thread(target=run)
    thread.start()
    thread.join(seconds)
    assert not thread.is_alive(), f"{function.__name__} blocked for {seconds} s"
    if "error" in outcome:
        raise outcome["error"]  # type: ignore[misc]
    return outcome["value"]


def test_fifos_and_devices_are_refused_by_type_without_reading(tmp_path):
    fifo = tmp_path / "photo.png"
    os.mkfifo(fifo)
    with pytest.raises(PhotoError, match="FIFO"):
        call_bounded(read_photo, fifo)
    zero = tmp_path / "zero.jpg"
    zero.symlink_to("/dev/zero")
    with pytest.raises(PhotoError, match="character device"):
        call_bounded(read_photo, zero)
    with pytest.raises(PhotoError, match="is a directory"):
        read_photo(tmp_path)


def test_a_file_over_the_size_cap_is_refused_unread(tmp_path, monkeypatch):
    huge = tmp_path / "huge.png"
    with huge.open("wb") as f:
        f.truncate(imageio.MAX_FILE_BYTES + 1)  # sparse: no disk used
    with pytest.raises(PhotoError, match="expected at most"):
        read_photo(huge)


def ink_photo(path: Path) -> Path:
    picture = np.full((120, 120, 3), 255, np.uint8)
    cv2.line(picture, (60, 20), (60, 100), (0, 0, 0), 9)  # a "1"
    cv2.imwrite(str(path), picture)
    return path


class FlakyClassifier:
    """Raises on the first photo (as an int8 model that loads but fails), then works."""

    def __init__(self, first: str) -> None:
        self.calls = 0
        self.first = first

    def predict(self, tensor: np.ndarray) -> Prediction:
        self.calls += 1
        if self.calls == 1 and self.first == "raise":
            raise RuntimeError("tensorflow/lite/kernels/conv.cc:123 failed to invoke\nmore")
        probs = np.full(10, 0.01, np.float32)
        probs[1] = 0.91
        if self.calls == 1 and self.first == "nan":
            probs[:] = np.nan
        return Prediction(probs=probs, layers={})


@pytest.mark.parametrize("first", ["raise", "nan"])
def test_a_failed_prediction_fails_that_file_and_never_puts_nan_in_json(tmp_path, first):
    fifo = tmp_path / "0-fifo.png"
    os.mkfifo(fifo)
    paths = [fifo, ink_photo(tmp_path / "1.png"), ink_photo(tmp_path / "2.png")]
    results = call_bounded(lambda: list(classify_files(paths, FlakyClassifier(first))))
    assert [r["file"] for r in results] == [str(p) for p in paths]
    assert "FIFO" in results[0]["error"]
    assert results[1]["digit"] is None and "model" in results[1]["error"]
    assert "\n" not in results[1]["error"]
    assert results[2]["error"] is None and results[2]["digit"] == 1
    for result in results:
        json.dumps(result, allow_nan=False)  # strict JSON: raises on NaN or infinity


def test_the_images_source_skips_a_bomb_and_shows_the_rest(tmp_path):
    (tmp_path / "a-bomb.png").write_bytes(png_bomb(30000, 30000))
    ink_photo(tmp_path / "b-good.png")
    source = ImageFolderSource(tmp_path, size=(64, 48), realtime=False, loop=False)
    source.open()
    try:
        frame = source.read()
        assert frame is not None and frame.array.shape == (48, 64, 3)
        assert source.current_path == tmp_path / "b-good.png"
    finally:
        source.close()


def test_header_errors_are_one_line():
    with pytest.raises(HeaderError, match="cut short"):
        image_header(b"\xff\xd8\xff\xc0\x00\x11\x08\x00")
