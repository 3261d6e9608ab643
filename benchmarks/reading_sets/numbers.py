"""Numbers: two to four digit glyphs written side by side on one baseline, some touching."""

from __future__ import annotations

import itertools

import numpy as np

from benchmarks.reading_sets.glyphs import Glyph, draw_glyph


def draw_number(
    glyphs: list[Glyph],
    height_px: float,
    pen_px: float | None,
    rng: np.random.Generator,
    gap: tuple[float, float] = (-0.06, 0.3),
) -> tuple[np.ndarray, list[tuple[float, float, float, float]], bool]:
    """Draw the glyphs left to right, each 90-108 % of ``height_px`` tall.

    The gap between neighbouring ink boxes is drawn from ``gap`` (in ink heights; below
    zero the boxes overlap), the baseline wanders by 4 % of the height.
    Returns the alpha (h, w) float32, each glyph's box (x0, y0, x1, y1) in its pixels,
    and whether any two glyphs' ink touches.
    """
    drawn = []
    for g in glyphs:
        h = height_px * rng.uniform(0.9, 1.08)
        drawn.append(draw_glyph(g, h, pen_px, supersample=1))
    margin = int(np.ceil(0.2 * height_px)) + 4
    placed, x = [], float(margin)
    for d in drawn:
        x0, y0, x1, y1 = d.box
        bottom = margin + 1.1 * height_px + rng.normal(0.0, 0.04) * height_px
        placed.append((x - x0, bottom - y1))
        x += (x1 - x0) + rng.uniform(*gap) * height_px
    ends = [
        (px + d.alpha.shape[1], py + d.alpha.shape[0])
        for (px, py), d in zip(placed, drawn, strict=True)
    ]
    width = int(np.ceil(max(e[0] for e in ends))) + margin
    height = int(np.ceil(max(e[1] for e in ends))) + margin
    alpha = np.zeros((height, width), np.float32)
    layers = []
    boxes = []
    for (px, py), d in zip(placed, drawn, strict=True):
        ix, iy = round(px), round(py)
        layer = np.zeros_like(alpha)
        layer[iy : iy + d.alpha.shape[0], ix : ix + d.alpha.shape[1]] = d.alpha
        layers.append(layer)
        np.maximum(alpha, layer, out=alpha)
        x0, y0, x1, y1 = d.box
        boxes.append((x0 + ix, y0 + iy, x1 + ix, y1 + iy))
    touching = any(float(np.max(np.minimum(a, b))) > 0.3 for a, b in itertools.pairwise(layers))
    return alpha, boxes, touching
