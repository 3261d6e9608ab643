"""Text as pixels: any Unicode line (á, ñ, ¿, ², →) as an anti-aliased mask, in DejaVu Sans.

OpenCV's Hershey fonts draw ASCII only, and ``cv2.freetype`` is not in
``opencv-python-headless``; so the bundled DejaVu Sans and DejaVu Sans Bold
(``app/assets/fonts``, their license beside them) are rasterised by FreeType through
Pillow. Each glyph is rasterised once per size and kept; a line is composed from the
kept glyphs with a few NumPy slices (about 5 us a glyph here), so a changing figure
costs a fraction of a millisecond and a repeated one nothing.

Every line composed is reported to the recorders open at the time
(``recording_text``): the tests read the sizes actually drawn on every view.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

FONT_DIR = Path(__file__).resolve().parent.parent / "assets" / "fonts"
FONT_FILES = {False: FONT_DIR / "DejaVuSans.ttf", True: FONT_DIR / "DejaVuSans-Bold.ttf"}
#: Glyphs kept per face and size; a screen uses a handful of sizes and ~150 characters.
_GLYPHS_PER_FACE = 512


@dataclass(frozen=True)
class Glyph:
    """One character at one size: its (h, w) uint8 coverage, where it sits, its advance."""

    mask: np.ndarray
    left: int
    top: int
    advance: float


@dataclass(frozen=True)
class DrawnText:
    """One line as drawn: its text, font size (em, px), bold, and mask size (h, w)."""

    text: str
    size_px: int
    bold: bool
    shape: tuple[int, int]


class Face:
    """One font face at one pixel size, with its glyphs kept as they are rasterised."""

    def __init__(self, size_px: int, bold: bool) -> None:
        self.size_px = size_px
        self.bold = bold
        # BASIC layout: the same shaping everywhere (no libraqm), enough for Latin text.
        self.font = ImageFont.truetype(
            str(FONT_FILES[bold]), size_px, layout_engine=ImageFont.Layout.BASIC
        )
        ascent, descent = self.font.getmetrics()
        self.ascent, self.descent = int(ascent), int(descent)
        self.height = self.ascent + self.descent
        self._glyphs: dict[str, Glyph] = {}

    def glyph(self, ch: str) -> Glyph:
        """The glyph of ``ch`` (rasterised the first time)."""
        found = self._glyphs.get(ch)
        if found is None:
            if len(self._glyphs) >= _GLYPHS_PER_FACE:
                self._glyphs.clear()
            found = self._glyphs[ch] = self._rasterise(ch)
        return found

    def _rasterise(self, ch: str) -> Glyph:
        advance = float(self.font.getlength(ch))
        left, top, right, bottom = self.font.getbbox(ch)
        w, h = max(0, right - left), max(0, bottom - top)
        if w == 0 or h == 0:
            return Glyph(np.zeros((0, 0), np.uint8), 0, 0, advance)
        image = Image.new("L", (w, h), 0)
        ImageDraw.Draw(image).text((-left, -top), ch, font=self.font, fill=255)
        mask = np.array(image, np.uint8)
        mask.flags.writeable = False
        return Glyph(mask, int(left), int(top), advance)

    def width(self, text: str) -> int:
        """The advance width of ``text`` in pixels (what ``line`` makes its mask)."""
        return math.ceil(sum(self.glyph(ch).advance for ch in text))

    def line(self, text: str) -> np.ndarray:
        """``text`` as (height, width) uint8 coverage, baseline at row ``ascent``."""
        mask = np.zeros((self.height, max(1, self.width(text))), np.uint8)
        x = 0.0
        for ch in text:
            glyph = self.glyph(ch)
            gh, gw = glyph.mask.shape
            if gh and gw:
                x0, y0 = round(x) + glyph.left, glyph.top
                _max_into(mask, glyph.mask, x0, y0)
            x += glyph.advance
        for recorder in _recorders:
            recorder.append(DrawnText(text, self.size_px, self.bold, mask.shape))
        return mask


def _max_into(mask: np.ndarray, glyph: np.ndarray, x0: int, y0: int) -> None:
    """Max-combine ``glyph`` into ``mask`` at (x0, y0), clipped (neighbours may overlap)."""
    H, W = mask.shape
    gh, gw = glyph.shape
    x1, y1 = min(W, x0 + gw), min(H, y0 + gh)
    cx, cy = max(0, x0), max(0, y0)
    if x1 <= cx or y1 <= cy:
        return
    region = mask[cy:y1, cx:x1]
    np.maximum(region, glyph[cy - y0 : y1 - y0, cx - x0 : x1 - x0], out=region)


@lru_cache(maxsize=64)
def face(size_px: int, bold: bool = False) -> Face:
    """The face of ``size_px`` pixels (em), regular or bold; one per size, kept."""
    return Face(max(1, int(size_px)), bool(bold))


_recorders: list[list[DrawnText]] = []


@contextmanager
def recording_text() -> Iterator[list[DrawnText]]:
    """Within the block, every line composed is appended to the list yielded."""
    drawn: list[DrawnText] = []
    _recorders.append(drawn)
    try:
        yield drawn
    finally:
        _recorders.remove(drawn)
