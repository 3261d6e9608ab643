"""Pen stroke width: measure it, and bring it towards MNIST's before the 20x20 resize."""

from __future__ import annotations

import cv2
import numpy as np

#: MNIST strokes are about 2-3 px wide in the 20 px box (bold ones up to 5); thinner
#: strokes are thickened to THIN_TARGET, thicker ones thinned to THICK_TARGET.
THIN_STROKE, THICK_STROKE = 1.6, 4.5
THIN_TARGET, THICK_TARGET = 2.4, 3.6


def odd_size(n: float) -> int:
    """The odd kernel side nearest above ``n`` (at least 1): what OpenCV filters take."""
    k = max(1, round(n))
    return k if k % 2 else k + 1


def stroke_width(mask: np.ndarray) -> float:
    """Mean stroke width of a binary (h, w) uint8 mask: 2 * area / perimeter.

    For a stroke of width W and length L >> W the perimeter is about 2L, so this is W;
    the inner outlines of loops (0, 6, 8, 9) count too.
    """
    contours, _ = cv2.findContours(mask, cv2.RETR_LIST, cv2.CHAIN_APPROX_NONE)
    perimeter = sum(cv2.arcLength(c, True) for c in contours)
    area = float(np.count_nonzero(mask))
    return 2.0 * area / perimeter if perimeter > 0 else 1.0


def adjust_stroke(ink: np.ndarray, stroke: float, scale: float) -> np.ndarray:
    """Grey dilation (thin strokes) or erosion (thick ones) towards MNIST's stroke width.

    ``stroke`` is in source pixels and ``scale`` maps source pixels to the 20 px box.
    """
    width_in_box = stroke * scale
    if THIN_STROKE <= width_in_box <= THICK_STROKE:
        return ink
    target = THIN_TARGET if width_in_box < THIN_STROKE else THICK_TARGET
    change = target / scale - stroke  # source pixels to add (or remove if < 0)
    k = odd_size(abs(change) + 1)
    if k < 3:
        return ink
    element = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (k, k))
    if change > 0:
        return cv2.dilate(ink, element)
    return cv2.erode(ink, element)
