"""Read a still photo robustly and safely: size checked before decoding, regular files only,
EXIF orientation, transparency, 16-bit and grey or colour."""

from __future__ import annotations

import logging
import os
import stat
import struct
from pathlib import Path

import cv2
import numpy as np

from app.errors import ConvlensError
from app.image_header import ACCEPTED_FORMATS, HeaderError, ImageHeader, image_header

log = logging.getLogger(__name__)

#: Pictures smaller than this on either side cannot hold a recognisable digit.
MIN_SIDE = 8
#: Dimensions refused from the header, before the decoder allocates them: 40 megapixels
#: is a 7300x5500 photo (phones save 12-megapixel pictures by default).
MAX_PIXELS = 40_000_000
#: What the decoder may allocate for the pixels (40 megapixels RGBA, 20 at 16 bits).
MAX_DECODED_BYTES = 160_000_000
#: Largest photo file read (a 40-megapixel JPEG is 10-25 MB, a PNG up to ~60 MB).
MAX_FILE_BYTES = 64 * 1024 * 1024
_ORIENTATION_TAG = 0x0112


class PhotoError(ConvlensError):
    """A photo that cannot be read: missing, empty, corrupt, too small."""


def _tiff_orientation(tiff: bytes) -> int:
    """The Orientation tag (1-8) of a TIFF/EXIF block, or 1 when absent or malformed."""
    if len(tiff) < 8 or tiff[:2] not in (b"II", b"MM"):
        return 1
    endian = "<" if tiff[:2] == b"II" else ">"
    (offset,) = struct.unpack_from(endian + "I", tiff, 4)
    if offset + 2 > len(tiff):
        return 1
    (count,) = struct.unpack_from(endian + "H", tiff, offset)
    for i in range(count):
        entry = offset + 2 + 12 * i
        if entry + 12 > len(tiff):
            break
        tag, kind = struct.unpack_from(endian + "HH", tiff, entry)
        if tag == _ORIENTATION_TAG and kind == 3:  # SHORT
            (value,) = struct.unpack_from(endian + "H", tiff, entry + 8)
            return value if 1 <= value <= 8 else 1
    return 1


def _jpeg_exif(data: bytes) -> bytes | None:
    pos = 2
    while pos + 4 <= len(data) and data[pos] == 0xFF:
        marker = data[pos + 1]
        if marker in (0xD9, 0xDA):  # end of image, start of scan: no more headers
            return None
        (length,) = struct.unpack_from(">H", data, pos + 2)
        payload = data[pos + 4 : pos + 2 + length]
        if marker == 0xE1 and payload.startswith(b"Exif\x00\x00"):
            return payload[6:]
        pos += 2 + length
    return None


def _png_exif(data: bytes) -> bytes | None:
    pos = 8
    while pos + 8 <= len(data):
        length, kind = struct.unpack_from(">I4s", data, pos)
        if kind == b"eXIf":
            return data[pos + 8 : pos + 8 + length]
        if kind in (b"IDAT", b"IEND"):
            return None
        pos += 12 + length
    return None


def _webp_exif(data: bytes) -> bytes | None:
    pos = 12
    while pos + 8 <= len(data):
        kind, length = struct.unpack_from("<4sI", data, pos)
        if kind == b"EXIF":
            block = data[pos + 8 : pos + 8 + length]
            return block[6:] if block.startswith(b"Exif\x00\x00") else block
        pos += 8 + length + (length & 1)
    return None


def exif_orientation(data: bytes) -> int:
    """The EXIF orientation (1 = as stored, 2-8 = flips/rotations) of JPEG, PNG, WebP, TIFF."""
    block = None
    if data[:2] == b"\xff\xd8":
        block = _jpeg_exif(data)
    elif data[:8] == b"\x89PNG\r\n\x1a\n":
        block = _png_exif(data)
    elif data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        block = _webp_exif(data)
    elif data[:4] in (b"II*\x00", b"MM\x00*"):
        block = data
    try:
        return _tiff_orientation(block) if block else 1
    except struct.error:
        return 1


def apply_orientation(image: np.ndarray, orientation: int) -> np.ndarray:
    """Turn a stored image upright: EXIF orientation 1-8 (see the EXIF 2.3 spec, tag 0x0112)."""
    if orientation == 2:
        return cv2.flip(image, 1)
    if orientation == 3:
        return cv2.rotate(image, cv2.ROTATE_180)
    if orientation == 4:
        return cv2.flip(image, 0)
    if orientation == 5:
        return cv2.transpose(image)
    if orientation == 6:
        return cv2.rotate(image, cv2.ROTATE_90_CLOCKWISE)
    if orientation == 7:
        return cv2.rotate(cv2.transpose(image), cv2.ROTATE_180)
    if orientation == 8:
        return cv2.rotate(image, cv2.ROTATE_90_COUNTERCLOCKWISE)
    return image


def to_8bit(image: np.ndarray) -> np.ndarray:
    """16-bit scaled down (65535 -> 255), float taken as 0..1, 8-bit kept."""
    if image.dtype == np.uint8:
        return image
    if image.dtype == np.uint16:
        return cv2.convertScaleAbs(image, alpha=255.0 / 65535.0)
    if np.issubdtype(image.dtype, np.floating):
        return cv2.convertScaleAbs(np.nan_to_num(image.astype(np.float32)), alpha=255.0)
    raise PhotoError(f"pixel type {image.dtype} is not supported; expected 8 or 16 bits")


def composite_on_white(image: np.ndarray) -> np.ndarray:
    """Grey, grey+alpha, BGR or BGRA 8-bit -> (H, W, 3) uint8 BGR, transparency over white."""
    if image.ndim == 2:
        return cv2.cvtColor(image, cv2.COLOR_GRAY2BGR)
    channels = image.shape[2]
    if channels == 1:
        return cv2.cvtColor(image[:, :, 0], cv2.COLOR_GRAY2BGR)
    if channels == 3:
        return image
    if channels in (2, 4):
        colour = image[:, :, :-1].astype(np.float32)
        alpha = image[:, :, -1:].astype(np.float32) * (1.0 / 255.0)
        out = colour * alpha + 255.0 * (1.0 - alpha)
        out = cv2.convertScaleAbs(out)
        return cv2.cvtColor(out, cv2.COLOR_GRAY2BGR) if channels == 2 else out
    raise PhotoError(f"{channels} colour channels are not supported; expected 1, 3 or 4")


def check_header(data: bytes, name: str = "image") -> ImageHeader:
    """The image's header, refused (PhotoError) when its declared size is out of bounds."""
    if not data:
        raise PhotoError(f"{name}: empty file; expected a {ACCEPTED_FORMATS} image")
    try:
        header = image_header(data)
    except HeaderError as e:
        raise PhotoError(f"{name}: {e}; expected a {ACCEPTED_FORMATS} image") from e
    w, h = header.width, header.height
    if header.pixels > MAX_PIXELS:
        raise PhotoError(
            f"{name}: {header.format} declares {w}x{h} px; expected at most {MAX_PIXELS} pixels"
        )
    if header.decoded_bytes > MAX_DECODED_BYTES:
        raise PhotoError(
            f"{name}: {header.format} of {w}x{h} px, {header.channels} channels at "
            f"{8 * header.bytes_per_sample} bits would decode to {header.decoded_bytes} bytes; "
            f"expected at most {MAX_DECODED_BYTES}"
        )
    return header


def decode_photo(data: bytes, name: str = "image") -> np.ndarray:
    """Decode image bytes to an upright (H, W, 3) uint8 BGR picture; the header first.

    Raises:
        PhotoError: one line naming ``name``: empty, not an accepted format, declared too
            large, corrupt, too small.
    """
    check_header(data, name)
    buffer = np.frombuffer(data, np.uint8)
    try:
        # UNCHANGED keeps alpha and 16 bits, and (unlike IMREAD_COLOR) ignores EXIF
        # orientation, which is applied below for every format.
        image = cv2.imdecode(buffer, cv2.IMREAD_UNCHANGED)
    except cv2.error as e:
        raise PhotoError(f"{name}: cannot decode ({str(e).strip().splitlines()[-1]})") from e
    if image is None or image.size == 0:
        raise PhotoError(
            f"{name}: not a readable image (corrupt or unsupported); "
            f"expected a {ACCEPTED_FORMATS} image"
        )
    h, w = image.shape[:2]
    if h < MIN_SIDE or w < MIN_SIDE:
        raise PhotoError(f"{name}: image is {w}x{h} px; expected at least {MIN_SIDE}x{MIN_SIDE}")
    if h * w > MAX_PIXELS:
        raise PhotoError(f"{name}: image is {w}x{h} px; expected at most {MAX_PIXELS} pixels")
    image = composite_on_white(to_8bit(image))
    return apply_orientation(image, exif_orientation(data))


def _kind(mode: int) -> str:
    for test, kind in (
        (stat.S_ISDIR, "a directory"),
        (stat.S_ISFIFO, "a FIFO (named pipe)"),
        (stat.S_ISCHR, "a character device"),
        (stat.S_ISBLK, "a block device"),
        (stat.S_ISSOCK, "a socket"),
    ):
        if test(mode):
            return kind
    return "not a regular file"


def read_regular_file(path: str | Path, max_bytes: int = MAX_FILE_BYTES) -> bytes:
    """The bytes of a regular file of at most ``max_bytes``; anything else refused by type.

    FIFOs, devices and sockets are refused from ``os.stat`` (through symlinks), never by
    reading them: a FIFO blocks for ever and ``/dev/zero`` never ends. The file is
    opened non-blocking and checked again on its descriptor, in case it was swapped.

    Raises:
        PhotoError: one line naming the file and what it is instead.
    """
    path = Path(path)
    try:
        info = os.stat(path)
        if not stat.S_ISREG(info.st_mode):
            raise PhotoError(f"{path}: is {_kind(info.st_mode)}; expected an image file")
        if info.st_size > max_bytes:
            raise PhotoError(f"{path}: {info.st_size} bytes; expected at most {max_bytes}")
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except FileNotFoundError as e:
        raise PhotoError(f"{path}: no such file") from e
    except OSError as e:
        raise PhotoError(f"{path}: cannot read ({e.strerror or e})") from e
    with os.fdopen(fd, "rb") as f:
        info = os.fstat(f.fileno())
        if not stat.S_ISREG(info.st_mode):
            raise PhotoError(f"{path}: is {_kind(info.st_mode)}; expected an image file")
        try:
            data = f.read(max_bytes + 1)
        except OSError as e:
            raise PhotoError(f"{path}: cannot read ({e.strerror or e})") from e
    if len(data) > max_bytes:
        raise PhotoError(f"{path}: more than {max_bytes} bytes; expected at most {max_bytes}")
    return data


def read_photo(path: str | Path) -> np.ndarray:
    """Read a photo file: (H, W, 3) uint8 BGR, upright, transparency over white, 8-bit.

    Only regular files of at most ``MAX_FILE_BYTES``, whose header declares at most
    ``MAX_PIXELS`` pixels and ``MAX_DECODED_BYTES`` of samples, reach the decoder.

    Raises:
        PhotoError: one line naming the file (missing, not a file, too large, unsupported,
            corrupt, tiny).
    """
    return decode_photo(read_regular_file(path), str(path))
