"""Handwritten digits from random pen trajectories: a few ways of writing each digit (one,
two or three strokes through control points), every point jittered, the whole slanted and
narrowed or widened at random, then smoothed (Catmull-Rom).

Control points are in a unit box: x from 0 (left) to 1 (right), y from 0 (top) to 1
(bottom); a stroke that turns sharply is split there into two strokes.
"""

from __future__ import annotations

import numpy as np

from benchmarks.reading_sets.glyphs import Glyph
from benchmarks.reading_sets.pen import catmull_rom

Stroke = list[tuple[float, float]]

#: digit -> ways of writing it -> strokes -> control points.
TEMPLATES: dict[int, list[list[Stroke]]] = {
    0: [
        [[(0.5, 0.0), (0.12, 0.15), (0.0, 0.5), (0.15, 0.88), (0.5, 1.0), (0.87, 0.85),
          (1.0, 0.5), (0.85, 0.12), (0.5, 0.0), (0.3, 0.06)]],
    ],
    1: [
        [[(0.5, 0.0), (0.5, 1.0)]],
        [[(0.3, 0.22), (0.6, 0.0)], [(0.6, 0.0), (0.6, 1.0)]],
        [[(0.25, 0.2), (0.55, 0.0)], [(0.55, 0.0), (0.55, 1.0)], [(0.2, 1.0), (0.9, 1.0)]],
    ],
    2: [
        [[(0.05, 0.28), (0.3, 0.03), (0.7, 0.02), (0.92, 0.25), (0.8, 0.5), (0.4, 0.78),
          (0.0, 1.0)], [(0.0, 1.0), (0.5, 0.97), (1.0, 1.0)]],
        [[(0.05, 0.2), (0.5, 0.0), (0.9, 0.2), (0.7, 0.55), (0.1, 1.0)],
         [(0.1, 1.0), (0.35, 0.85), (0.45, 1.0), (1.0, 0.98)]],
    ],
    3: [
        [[(0.05, 0.15), (0.4, 0.0), (0.85, 0.1), (0.85, 0.35), (0.4, 0.48)],
         [(0.4, 0.48), (0.9, 0.62), (0.95, 0.85), (0.55, 1.0), (0.0, 0.88)]],
        [[(0.0, 0.0), (0.95, 0.0)], [(0.95, 0.0), (0.4, 0.42)],
         [(0.4, 0.42), (0.85, 0.55), (0.95, 0.8), (0.6, 1.0), (0.05, 0.9)]],
    ],
    4: [
        [[(0.6, 0.0), (0.0, 0.68)], [(0.0, 0.68), (1.0, 0.68)], [(0.78, 0.3), (0.78, 1.0)]],
        [[(0.1, 0.0), (0.05, 0.58)], [(0.05, 0.58), (0.95, 0.58)], [(0.75, 0.0), (0.75, 1.0)]],
    ],
    5: [
        [[(0.92, 0.0), (0.15, 0.02)], [(0.15, 0.02), (0.1, 0.45)],
         [(0.1, 0.45), (0.5, 0.37), (0.9, 0.55), (0.95, 0.8), (0.6, 1.0), (0.05, 0.9)]],
        [[(0.15, 0.0), (0.1, 0.45)],
         [(0.1, 0.45), (0.55, 0.38), (0.92, 0.6), (0.85, 0.9), (0.45, 1.0), (0.05, 0.88)],
         [(0.15, 0.0), (0.95, 0.02)]],
    ],
    6: [
        [[(0.85, 0.02), (0.4, 0.15), (0.1, 0.5), (0.05, 0.8), (0.35, 1.0), (0.75, 0.95),
          (0.92, 0.72), (0.6, 0.52), (0.25, 0.58), (0.08, 0.76)]],
    ],
    7: [
        [[(0.0, 0.0), (1.0, 0.0)], [(1.0, 0.0), (0.6, 0.5), (0.35, 1.0)]],
        [[(0.0, 0.0), (1.0, 0.0)], [(1.0, 0.0), (0.6, 0.5), (0.35, 1.0)],
         [(0.3, 0.52), (0.9, 0.5)]],
        [[(0.0, 0.12), (0.05, 0.0)], [(0.05, 0.0), (1.0, 0.02)], [(1.0, 0.02), (0.45, 1.0)]],
    ],
    8: [
        [[(0.8, 0.1), (0.5, 0.0), (0.2, 0.12), (0.25, 0.35), (0.5, 0.5), (0.8, 0.68),
          (0.82, 0.92), (0.5, 1.0), (0.18, 0.92), (0.2, 0.68), (0.5, 0.5), (0.75, 0.35),
          (0.82, 0.12)]],
        [[(0.5, 0.0), (0.15, 0.12), (0.2, 0.38), (0.5, 0.47), (0.8, 0.38), (0.85, 0.12),
          (0.5, 0.0)],
         [(0.5, 0.47), (0.12, 0.62), (0.1, 0.88), (0.5, 1.0), (0.9, 0.88), (0.88, 0.62),
          (0.5, 0.47)]],
    ],
    9: [
        [[(0.9, 0.22), (0.6, 0.0), (0.2, 0.05), (0.05, 0.3), (0.3, 0.5), (0.7, 0.45),
          (0.9, 0.22)], [(0.9, 0.22), (0.85, 0.6), (0.75, 1.0)]],
        [[(0.9, 0.2), (0.6, 0.0), (0.2, 0.05), (0.05, 0.3), (0.3, 0.5), (0.7, 0.45),
          (0.9, 0.2)], [(0.9, 0.2), (0.92, 0.7), (0.6, 1.0), (0.2, 0.95)]],
    ],
}  # fmt: skip


def random_strokes(
    templates: list[list[Stroke]], rng: np.random.Generator, jitter: float = 0.035
) -> tuple[list[np.ndarray], float]:
    """One writing of a mark: a template chosen, its points jittered, slanted, narrowed.

    Returns the smoothed curves normalised to a height of 1 (y from 0 to 1, x from 0) and
    the width / height of their extent.
    """
    template = templates[int(rng.integers(len(templates)))]
    aspect = rng.uniform(0.45, 0.8)  # width of the unit box / its height
    slant = rng.normal(0.12, 0.12)  # x moves right by slant per unit of height upwards
    curves = []
    for stroke in template:
        p = np.array(stroke, np.float64)
        p = p + rng.normal(0.0, jitter, p.shape)
        p[:, 0] = p[:, 0] * aspect + slant * (1.0 - p[:, 1])
        curves.append(p)
    # Keep shared corner points shared: a stroke that starts where the previous one ends
    # starts at its (jittered) end.
    for i in range(1, len(curves)):
        if np.allclose(template[i][0], template[i - 1][-1]):
            curves[i][0] = curves[i - 1][-1]
    smooth = [catmull_rom(c) for c in curves]
    points = np.concatenate(smooth)
    low, high = points.min(axis=0), points.max(axis=0)
    height = max(1e-6, float(high[1] - low[1]))
    return [(c - low) / height for c in smooth], float(high[0] - low[0]) / height


def handwritten_digit(digit: int, rng: np.random.Generator) -> Glyph:
    """A random writing of ``digit`` (0-9) as a stroke glyph."""
    curves, width = random_strokes(TEMPLATES[digit], rng)
    return Glyph(str(digit), tuple(curves), width)
