"""A pen for the evaluation sets: smooth strokes drawn at any size and width, and MNIST
digits re-drawn along their skeleton with another pen.

Everything returns an alpha (ink coverage) picture: (h, w) float32 in [0, 1].
"""

from __future__ import annotations

import cv2
import numpy as np

#: Points per control-point interval of a Catmull-Rom stroke.
SAMPLES_PER_SPAN = 16


def catmull_rom(points: np.ndarray) -> np.ndarray:
    """A smooth curve through (n, 2) control points: (m, 2) float64 (uniform Catmull-Rom).

    The ends are extended by reflection, so the curve starts and ends on the first and last
    points; two points give the straight segment between them.
    """
    p = np.asarray(points, np.float64)
    if len(p) < 3:
        t = np.linspace(0.0, 1.0, SAMPLES_PER_SPAN)[:, None]
        return p[0] + t * (p[-1] - p[0])
    ext = np.concatenate([2 * p[:1] - p[1:2], p, 2 * p[-1:] - p[-2:-1]])
    t = np.linspace(0.0, 1.0, SAMPLES_PER_SPAN, endpoint=False)[:, None]
    t2, t3 = t * t, t * t * t
    spans = []
    for i in range(1, len(ext) - 2):
        p0, p1, p2, p3 = ext[i - 1], ext[i], ext[i + 1], ext[i + 2]
        spans.append(
            0.5
            * (
                2 * p1
                + (p2 - p0) * t
                + (2 * p0 - 5 * p1 + 4 * p2 - p3) * t2
                + (3 * p1 - p0 - 3 * p2 + p3) * t3
            )
        )
    spans.append(p[-1:])
    return np.concatenate(spans)


def draw_polylines(
    curves: list[np.ndarray], shape: tuple[int, int], pen_px: float, supersample: int = 4
) -> np.ndarray:
    """Draw (m, 2) pixel-coordinate curves (x, y) with a round pen ``pen_px`` wide.

    The lines are drawn ``supersample`` times larger and area-averaged down, so a pen
    thinner than a pixel gives a faint, anti-aliased line as a camera would see it.
    Returns (h, w) float32 alpha in [0, 1].
    """
    h, w = shape
    s = supersample
    canvas = np.zeros((h * s, w * s), np.uint8)
    thickness = max(1, round(pen_px * s))
    shift = 4  # sub-pixel coordinates for cv2.polylines
    for curve in curves:
        pts = np.round((np.asarray(curve) * s + (s - 1) / 2) * (1 << shift)).astype(np.int32)
        cv2.polylines(canvas, [pts], False, 255, thickness, cv2.LINE_AA, shift)
    small = cv2.resize(canvas, (w, h), interpolation=cv2.INTER_AREA)
    return small.astype(np.float32) * (1.0 / 255.0)


def zhang_suen_skeleton(mask: np.ndarray) -> np.ndarray:
    """One-pixel-wide skeleton of a binary (h, w) bool mask (Zhang and Suen, 1984)."""
    img = np.pad(mask.astype(np.uint8), 1)
    while True:
        changed = False
        for step in (0, 1):
            p = img
            n = [
                p[:-2, 1:-1],
                p[:-2, 2:],
                p[1:-1, 2:],
                p[2:, 2:],
                p[2:, 1:-1],
                p[2:, :-2],
                p[1:-1, :-2],
                p[:-2, :-2],
            ]  # fmt: skip  (P2..P9 clockwise from north)
            b = sum(x.astype(np.int32) for x in n)
            a = sum(((n[i] == 0) & (n[(i + 1) % 8] == 1)).astype(np.int32) for i in range(8))
            if step == 0:
                c1, c2 = n[0] * n[2] * n[4], n[2] * n[4] * n[6]
            else:
                c1, c2 = n[0] * n[2] * n[6], n[0] * n[4] * n[6]
            remove = (p[1:-1, 1:-1] == 1) & (b >= 2) & (b <= 6) & (a == 1) & (c1 == 0) & (c2 == 0)
            if remove.any():
                img = img.copy()
                img[1:-1, 1:-1][remove] = 0
                changed = True
        if not changed:
            return img[1:-1, 1:-1].astype(bool)


def skeleton_segments(image28: np.ndarray, upscale: int = 4) -> np.ndarray:
    """The centre lines of a 28x28 uint8 MNIST digit as (k, 2, 2) segments in 28-px units.

    The digit is enlarged ``upscale`` times (cubic), thresholded at 40 % and thinned;
    every pair of 8-neighbouring skeleton pixels becomes one segment.
    """
    big = cv2.resize(
        image28.astype(np.float32) / 255.0, None, fx=upscale, fy=upscale,
        interpolation=cv2.INTER_CUBIC,
    )  # fmt: skip
    skeleton = zhang_suen_skeleton(big > 0.4)
    ys, xs = np.nonzero(skeleton)
    segments = []
    for dy, dx in ((0, 1), (1, 1), (1, 0), (1, -1)):
        ny, nx = ys + dy, xs + dx
        inside = (ny < skeleton.shape[0]) & (nx >= 0) & (nx < skeleton.shape[1])
        linked = np.zeros_like(inside)
        linked[inside] = skeleton[ny[inside], nx[inside]]
        a = np.stack([xs[linked], ys[linked]], 1)
        b = np.stack([nx[linked], ny[linked]], 1)
        segments.append(np.stack([a, b], 1))
    # Isolated skeleton pixels (dots) become zero-length segments.
    segments.append(np.stack([np.stack([xs, ys], 1)] * 2, 1))
    seg = np.concatenate(segments).astype(np.float64)
    # Pixel i of the enlarged picture is at (i + 0.5) / upscale - 0.5 in 28-px units.
    return (seg + 0.5) / upscale - 0.5


def ink_box(image28: np.ndarray, level: int = 40) -> tuple[int, int, int, int]:
    """(x0, y0, x1, y1) of the pixels above ``level`` in a 28x28 uint8 digit; end exclusive."""
    ys, xs = np.nonzero(image28 > level)
    if ys.size == 0:
        return 0, 0, 28, 28
    return int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1
