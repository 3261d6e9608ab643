"""Glyphs: one written mark (a digit, a letter, a scribble) that can be drawn at any size.

A glyph is either pen strokes (centre lines in units of its ink height) or an MNIST
image. Strokes are drawn with any pen width; an MNIST glyph is drawn either with its own
pen (the 28x28 picture enlarged) or re-drawn along its skeleton with another pen.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import cv2
import numpy as np

from benchmarks.reading_sets.pen import draw_polylines, ink_box, skeleton_segments


@dataclass(frozen=True)
class Glyph:
    """One mark.

    Attributes:
        label: "0".."9" for a digit; anything else (e.g. "letter:K", "scribble") is not one.
        curves: centre lines, each (m, 2) float64 (x, y), y down, in units of the ink
            box's height (y from 0 to 1, x from 0 to ``width``); empty for a pure image.
        width: ink box width / height.
        image28: the (28, 28) uint8 MNIST picture the glyph came from, else None.
    """

    label: str
    curves: tuple[np.ndarray, ...] = field(default=())
    width: float = 0.6
    image28: np.ndarray | None = None


def mnist_glyph(image28: np.ndarray, label: int) -> Glyph:
    """An MNIST digit as a glyph: its picture, and its skeleton as 2-point curves."""
    seg = skeleton_segments(image28)
    points = seg.reshape(-1, 2)
    low, high = points.min(axis=0), points.max(axis=0)
    height = max(1.0, float(high[1] - low[1]))
    seg = (seg - low) / height
    return Glyph(str(label), tuple(seg), float(high[0] - low[0]) / height, image28)


@dataclass(frozen=True)
class Drawn:
    """A glyph drawn: alpha (h, w) float32 in [0, 1], and its ink box (x0, y0, x1, y1) in
    the alpha's pixels (floats; the centre lines' extent plus half the pen)."""

    alpha: np.ndarray
    box: tuple[float, float, float, float]


def draw_glyph(glyph: Glyph, height_px: float, pen_px: float | None, supersample: int = 4) -> Drawn:
    """Draw ``glyph`` with its ink ``height_px`` tall.

    ``pen_px`` None draws an MNIST glyph with its own pen (the picture enlarged, cubic);
    otherwise the centre lines are drawn with a round pen ``pen_px`` wide, ``supersample``
    times finer and area-reduced (1 when the caller reduces the picture itself).
    """
    if pen_px is None:
        if glyph.image28 is None:
            raise ValueError(f"glyph {glyph.label}: no picture to draw with its own pen")
        return _enlarge_mnist(glyph.image28, height_px)
    # The centre lines span height_px - pen (the pen adds half its width on each side).
    scale = max(1.0, height_px - pen_px)
    pad = pen_px + 2.0
    w = int(np.ceil(glyph.width * scale + 2 * pad))
    h = int(np.ceil(scale + 2 * pad))
    curves = [c * scale + pad for c in glyph.curves]
    alpha = draw_polylines(curves, (h, w), pen_px, supersample)
    half = pen_px / 2
    box = (pad - half, pad - half, pad + glyph.width * scale + half, pad + scale + half)
    return Drawn(alpha, box)


def _enlarge_mnist(image28: np.ndarray, height_px: float) -> Drawn:
    x0, y0, x1, y1 = ink_box(image28)
    per_cell = height_px / max(1, y1 - y0)
    # One cell of margin keeps the anti-aliased edge.
    cx0, cy0, cx1, cy1 = max(0, x0 - 1), max(0, y0 - 1), min(28, x1 + 1), min(28, y1 + 1)
    crop = image28[cy0:cy1, cx0:cx1].astype(np.float32) * (1.0 / 255.0)
    out = (max(1, round((cx1 - cx0) * per_cell)), max(1, round((cy1 - cy0) * per_cell)))
    interpolation = cv2.INTER_AREA if per_cell < 1 else cv2.INTER_CUBIC
    alpha = np.clip(cv2.resize(crop, out, interpolation=interpolation), 0.0, 1.0)
    box = (
        (x0 - cx0) * per_cell,
        (y0 - cy0) * per_cell,
        (x1 - cx0) * per_cell,
        (y1 - cy0) * per_cell,
    )
    return Drawn(alpha, box)


def sheared(glyph: Glyph, lean: float) -> Glyph:
    """The glyph's centre lines leaning ``lean`` further right per unit of height (the top
    moves right); drawn with a pen, never from the MNIST picture."""
    curves = [np.column_stack([c[:, 0] + lean * (1.0 - c[:, 1]), c[:, 1]]) for c in glyph.curves]
    points = np.concatenate(curves)
    low = points.min(axis=0)
    width = float(points[:, 0].max() - low[0])
    return Glyph(glyph.label, tuple(c - low for c in curves), width, None)
