"""MNIST's normalisation of a digit's ink: straightened, strokes brought towards MNIST's
width, scaled to fit 20x20 (aspect kept, anti-aliased), centre of mass at (14, 14) of 28x28.
"""

from __future__ import annotations

import cv2
import numpy as np

from app.reading import strokes
from app.reading.deskew import deskew

#: MNIST geometry: the digit fits a 20x20 box; its centre of mass sits at (14, 14)
#: (row, column), the mean over MNIST itself (measured: 13.99, 14.01).
BOX = 20
SIZE = 28
CENTRE = 14.0


def ink_to_mnist(
    ink: np.ndarray, box: tuple[int, int, int, int], stroke: float, *, straighten: bool = True
) -> np.ndarray:
    """MNIST normalisation of the ink inside ``box``: (28, 28) float32 in [0, 1], ink = 1.

    Args:
        ink: (h, w) float32 ink map (``InkMap.ink``).
        box: the digit's (x0, y0, x1, y1) in ``ink``, end exclusive.
        stroke: the stroke width in ``ink``'s pixels.
        straighten: shear the slant to MNIST's mean first (``app.reading.deskew``).
    """
    x0, y0, x1, y1 = box
    scale = BOX / max(x1 - x0, y1 - y0)
    # Room around the box for thickening the strokes; the crop is padded with paper where
    # the picture ends, so the box sits at (margin, margin) in it.
    margin = max(3, round(abs(strokes.THIN_TARGET / scale - stroke)) + 3)
    h, w = ink.shape
    cx0, cy0, cx1, cy1 = (
        max(0, x0 - margin),
        max(0, y0 - margin),
        min(w, x1 + margin),
        min(h, y1 + margin),
    )
    crop = np.pad(
        ink[cy0:cy1, cx0:cx1],
        ((cy0 - (y0 - margin), (y1 + margin) - cy1), (cx0 - (x0 - margin), (x1 + margin) - cx1)),
    )
    if straighten:
        crop = deskew(crop)
        found = ink_box(crop)
        if found is None:
            return np.zeros((SIZE, SIZE), np.float32)
        box = found
    else:
        box = (margin, margin, margin + x1 - x0, margin + y1 - y0)
    return _fit_box(crop, box, stroke)


def ink_box(ink: np.ndarray, level: float = 0.05) -> tuple[int, int, int, int] | None:
    """(x0, y0, x1, y1), end exclusive, of the pixels of ``ink`` above ``level``; None if none."""
    rows = np.flatnonzero(ink.max(axis=1) > level)
    if rows.size == 0:
        return None
    cols = np.flatnonzero(ink.max(axis=0) > level)
    return int(cols[0]), int(rows[0]), int(cols[-1]) + 1, int(rows[-1]) + 1


def _fit_box(region: np.ndarray, box: tuple[int, int, int, int], stroke: float) -> np.ndarray:
    """Stroke width adjusted, ``box`` of ``region`` scaled into 20x20 and placed in 28x28
    with its centre of mass at (14, 14), peak 1."""
    x0, y0, x1, y1 = box
    bw, bh = x1 - x0, y1 - y0
    scale = BOX / max(bw, bh)
    crop = strokes.adjust_stroke(region, stroke, scale)[y0:y1, x0:x1]
    out_w, out_h = max(1, round(bw * scale)), max(1, round(bh * scale))
    interpolation = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
    patch = cv2.resize(crop, (out_w, out_h), interpolation=interpolation)
    np.clip(patch, 0.0, 1.0, out=patch)
    total = float(patch.sum())
    if total <= 0:
        return np.zeros((SIZE, SIZE), np.float32)
    rows, cols = np.arange(out_h, dtype=np.float64), np.arange(out_w, dtype=np.float64)
    com_y = float(patch.sum(axis=1) @ rows) / total
    com_x = float(patch.sum(axis=0) @ cols) / total
    top, left = round(CENTRE - com_y), round(CENTRE - com_x)
    tensor = np.zeros((SIZE, SIZE), np.float32)
    # Paste with clipping: an extreme shape may lose a sliver beyond the 28 px field.
    ty0, tx0 = max(0, top), max(0, left)
    ty1, tx1 = min(SIZE, top + out_h), min(SIZE, left + out_w)
    if ty1 > ty0 and tx1 > tx0:
        tensor[ty0:ty1, tx0:tx1] = patch[ty0 - top : ty1 - top, tx0 - left : tx1 - left]
    peak = float(tensor.max())
    if peak > 0:
        tensor *= 1.0 / peak
    return tensor
