"""An image's format, size and sample layout read from its header, before any pixel is decoded.

A decoder allocates what a header declares: an 875 KB PNG can declare 30000x30000
pixels and cost gigabytes. ``image_header`` parses only the first bytes of the
formats convlens accepts (JPEG, PNG, WebP, BMP, TIFF, PNM) so the caller can refuse
an image by its declared size; anything else is refused as unsupported, because a
format whose header is not checked could not be bounded.
"""

from __future__ import annotations

import re
import struct
from dataclasses import dataclass

ACCEPTED_FORMATS = "JPEG, PNG, WebP, BMP, TIFF or PNM (PGM/PPM)"
# SOFn markers carry the frame size; C4 (DHT), C8 (JPG) and CC (DAC) share the range.
_JPEG_SOF = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}
_PNG_CHANNELS = {0: 1, 2: 3, 3: 4, 4: 2, 6: 4}  # palette may decode with alpha: count 4
_PNM_HEADER = re.compile(rb"^P([1-6])((?:\s+|#[^\n]*\n)+)")
_TOKEN = re.compile(rb"(?:\s|#[^\n]*\n)*(\d+)")


class HeaderError(ValueError):
    """The header is not one of the accepted formats, or is cut short or inconsistent."""


@dataclass(frozen=True)
class ImageHeader:
    """What decoding will produce: ``width`` x ``height`` pixels, ``channels`` samples of
    ``bytes_per_sample`` bytes each (an upper bound where the format leaves it open)."""

    format: str
    width: int
    height: int
    channels: int
    bytes_per_sample: int

    @property
    def pixels(self) -> int:
        return self.width * self.height

    @property
    def decoded_bytes(self) -> int:
        return self.pixels * self.channels * self.bytes_per_sample


def _unpack(fmt: str, data: bytes, offset: int, what: str) -> tuple[int, ...]:
    try:
        return struct.unpack_from(fmt, data, offset)
    except struct.error as exc:
        raise HeaderError(f"{what} header is cut short") from exc


def _png(data: bytes) -> ImageHeader:
    length, kind = _unpack(">I4s", data, 8, "PNG")
    if kind != b"IHDR" or length != 13:
        raise HeaderError("PNG does not start with its IHDR chunk")
    width, height, depth, colour = _unpack(">IIBB", data, 16, "PNG")
    if colour not in _PNG_CHANNELS:
        raise HeaderError(f"PNG colour type {colour} is not valid")
    return ImageHeader("PNG", width, height, _PNG_CHANNELS[colour], 2 if depth > 8 else 1)


def _jpeg(data: bytes) -> ImageHeader:
    pos = 2
    while pos + 4 <= len(data):
        if data[pos] != 0xFF:
            raise HeaderError(f"JPEG marker expected at byte {pos}")
        marker = data[pos + 1]
        if marker == 0xFF:  # fill byte
            pos += 1
            continue
        if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7:  # no length
            pos += 2
            continue
        (length,) = _unpack(">H", data, pos + 2, "JPEG")
        if marker in _JPEG_SOF:
            precision, height, width, components = _unpack(">BHHB", data, pos + 4, "JPEG")
            return ImageHeader("JPEG", width, height, components, 2 if precision > 8 else 1)
        if marker in (0xD9, 0xDA) or length < 2:
            break
        pos += 2 + length
    raise HeaderError("JPEG has no frame header (SOF) before its image data")


def _bmp(data: bytes) -> ImageHeader:
    (dib_size,) = _unpack("<I", data, 14, "BMP")
    if dib_size == 12:  # BITMAPCOREHEADER (OS/2): 16-bit sizes
        width, height, _, bits = _unpack("<HHHH", data, 18, "BMP")
    else:
        width, height, _, bits = _unpack("<iiHH", data, 18, "BMP")
    return ImageHeader("BMP", abs(width), abs(height), 4 if bits == 32 else 3, 1)


def _webp(data: bytes) -> ImageHeader:
    kind = data[12:16]
    if kind == b"VP8 ":
        if data[23:26] != b"\x9d\x01\x2a":
            raise HeaderError("WebP (VP8) frame has no start code")
        width, height = _unpack("<HH", data, 26, "WebP")
        return ImageHeader("WebP", width & 0x3FFF, height & 0x3FFF, 3, 1)
    if kind == b"VP8L":
        if data[20:21] != b"\x2f":
            raise HeaderError("WebP (lossless) has no signature byte")
        (bits,) = _unpack("<I", data, 21, "WebP")
        return ImageHeader("WebP", (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1, 4, 1)
    if kind == b"VP8X":
        w0, w1, w2, h0, h1, h2 = _unpack("<6B", data, 24, "WebP")
        width = (w0 | w1 << 8 | w2 << 16) + 1
        height = (h0 | h1 << 8 | h2 << 16) + 1
        return ImageHeader("WebP", width, height, 4, 1)
    raise HeaderError(f"WebP chunk {kind!r} is not VP8, VP8L or VP8X")


def _tiff(data: bytes) -> ImageHeader:
    endian = "<" if data[:2] == b"II" else ">"
    (ifd,) = _unpack(endian + "I", data, 4, "TIFF")
    (count,) = _unpack(endian + "H", data, ifd, "TIFF")
    tags: dict[int, int] = {}
    for i in range(min(count, 512)):
        tag, kind, n = _unpack(endian + "HHI", data, ifd + 2 + 12 * i, "TIFF")
        if kind == 3:  # SHORT: the first value sits in the entry
            (value,) = _unpack(endian + "H", data, ifd + 10 + 12 * i, "TIFF")
        elif kind == 4:  # LONG
            (value,) = _unpack(endian + "I", data, ifd + 10 + 12 * i, "TIFF")
        else:
            continue
        # BitsPerSample with several samples points elsewhere; 16 is the safe bound.
        tags[tag] = 16 if tag == 258 and n > 1 else value
    if 256 not in tags or 257 not in tags:
        raise HeaderError("TIFF has no ImageWidth/ImageLength in its first directory")
    channels = max(1, min(tags.get(277, 1), 4))
    return ImageHeader("TIFF", tags[256], tags[257], channels, 2 if tags.get(258, 8) > 8 else 1)


def _pnm(data: bytes) -> ImageHeader:
    match = _PNM_HEADER.match(data)
    if not match:
        raise HeaderError("PNM header is malformed")
    kind = int(match.group(1))
    pos, numbers = 2, []
    for _ in range(2 if kind in (1, 4) else 3):
        token = _TOKEN.match(data, pos)
        if not token or len(token.group(1)) > 9:
            raise HeaderError("PNM header is malformed")
        numbers.append(int(token.group(1)))
        pos = token.end()
    maxval = numbers[2] if len(numbers) == 3 else 1
    channels = 3 if kind in (3, 6) else 1
    return ImageHeader("PNM", numbers[0], numbers[1], channels, 2 if maxval > 255 else 1)


def image_header(data: bytes) -> ImageHeader:
    """The header of JPEG, PNG, WebP, BMP, TIFF or PNM bytes (the first few KB suffice).

    Raises:
        HeaderError: not one of those formats, or a header cut short or inconsistent.
    """
    if data[:8] == b"\x89PNG\r\n\x1a\n":
        header = _png(data)
    elif data[:3] == b"\xff\xd8\xff":
        header = _jpeg(data)
    elif data[:2] == b"BM":
        header = _bmp(data)
    elif data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        header = _webp(data)
    elif data[:4] in (b"II*\x00", b"MM\x00*"):
        header = _tiff(data)
    elif data[:1] == b"P" and data[1:2] in b"123456" and len(data) > 2:
        header = _pnm(data)
    else:
        raise HeaderError("not a readable image (unknown format)")
    if header.width <= 0 or header.height <= 0 or header.channels <= 0:
        raise HeaderError(f"{header.format} header declares {header.width}x{header.height} px")
    return header
