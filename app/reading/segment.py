"""Several digits in one picture: the ink's pieces grouped into digits, left to right, and
the places where two touching digits could be cut apart.

A digit may be several pieces (a 5's bar, a broken 7): pieces whose columns overlap, or
small pieces next to a larger one, join it. Pieces much lower than the tallest digit
(specks, a dash) are not digits. Touching digits are one piece as wide as two; where to
cut it is left to the reader, which tries the columns with the least ink.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from app.reading.strokes import stroke_width
from app.stages.mnist_preprocess import (
    MIN_DIGIT_SIDE,
    NO_INK,
    TOUCHES_EDGE,
    InkComponents,
    InkMap,
    ink_map,
)

#: A piece at least this fraction of the tallest piece's height can be a digit alone.
MIN_HEIGHT = 0.4
#: Two tall pieces are one digit when the narrower one's centre lies in the middle
#: of the wider one (a 4 written in two strokes, an 8 as two loops); a 1 next to a 9
#: overlaps its columns too, but only at the edge.
INSIDE = 0.3
#: A small piece this close to a digit (in digit heights) is part of it (a broken stroke,
#: a 5's bar).
ATTACH_GAP = 0.3


@dataclass(frozen=True)
class Segment:
    """One digit's share of the ink.

    Attributes:
        labels: the component labels in it.
        box: (x0, y0, x1, y1) in working pixels, end exclusive.
    """

    labels: tuple[int, ...]
    box: tuple[int, int, int, int]

    @property
    def width(self) -> int:
        return self.box[2] - self.box[0]

    @property
    def height(self) -> int:
        return self.box[3] - self.box[1]


def _union(a: tuple[int, ...], b: tuple[int, ...]) -> tuple[int, int, int, int]:
    return min(a[0], b[0]), min(a[1], b[1]), max(a[2], b[2]), max(a[3], b[3])


def group_digits(comp: InkComponents) -> list[Segment] | str:
    """The digits' segments, left to right, or NO_INK / TOUCHES_EDGE.

    TOUCHES_EDGE when a piece reaching the border is as tall as the digits (a digit runs
    off the picture: the number would be read without it).
    """
    side = min(comp.labels.shape)
    boxes = comp.boxes
    heights = boxes[:, 3] - boxes[:, 1]
    usable = comp.valid & (comp.area >= 12)
    interior = np.flatnonzero(usable & ~comp.touches)
    if interior.size == 0:
        edge = usable & comp.touches & (comp.size >= MIN_DIGIT_SIDE * side)
        return TOUCHES_EDGE if edge.any() else NO_INK
    tallest = int(heights[interior].max())
    if tallest < MIN_DIGIT_SIDE * side:
        return NO_INK
    edge = np.flatnonzero(usable & comp.touches & (heights >= MIN_HEIGHT * tallest))
    if edge.size:
        return TOUCHES_EDGE
    big = [int(i) for i in interior if heights[i] >= MIN_HEIGHT * tallest]
    small = [int(i) for i in interior if heights[i] < MIN_HEIGHT * tallest]
    groups: list[Segment] = []
    for i in sorted(big, key=lambda j: boxes[j, 0] + boxes[j, 2]):
        box = tuple(int(v) for v in boxes[i])
        if groups and _inside(groups[-1].box, box):
            last = groups.pop()
            groups.append(Segment((*last.labels, i), _union(last.box, box)))
        else:
            groups.append(Segment((i,), box))
    for i in small:
        box = tuple(int(v) for v in boxes[i])
        gaps = [_gap(g.box, box) for g in groups]
        nearest = int(np.argmin(gaps))
        if gaps[nearest] <= ATTACH_GAP * tallest:
            g = groups[nearest]
            groups[nearest] = Segment((*g.labels, i), _union(g.box, box))
    return groups


def _inside(a: tuple[int, ...], b: tuple[int, ...]) -> bool:
    """Whether the narrower box's centre column lies in the wider one's middle part (its
    width less INSIDE of it on each side)."""
    wide, narrow = (a, b) if a[2] - a[0] >= b[2] - b[0] else (b, a)
    margin = INSIDE * (wide[2] - wide[0])
    centre = (narrow[0] + narrow[2]) / 2
    return wide[0] + margin <= centre <= wide[2] - margin


def _gap(a: tuple[int, ...], b: tuple[int, ...]) -> float:
    dx = max(0, max(a[0], b[0]) - min(a[2], b[2]))
    dy = max(0, max(a[1], b[1]) - min(a[3], b[3]))
    return float(np.hypot(dx, dy))


def segment_ink(comp: InkComponents, seg: Segment) -> InkMap:
    """The segment's grey-level ink (as ``ink_map``) with its box and stroke width."""
    return ink_map(comp, list(seg.labels), seg.box)


def cut_columns(ink: InkMap, count: int = 4, margin: float = 0.2) -> list[int]:
    """Up to ``count`` columns where a wide piece could be cut into two digits: the local
    minima of the ink in each column, inside the middle ``1 - 2 * margin`` of its width,
    least ink first."""
    x0, y0, x1, y1 = ink.box
    profile = ink.ink[y0:y1, x0:x1].sum(axis=0).astype(np.float64)
    if profile.size < 5:
        return []
    smooth = np.convolve(profile, np.ones(3) / 3.0, mode="same")
    lo, hi = (
        max(1, round(margin * profile.size)),
        min(profile.size - 1, round((1 - margin) * profile.size)),
    )
    minima = [c for c in range(lo, hi) if smooth[c] <= smooth[c - 1] and smooth[c] <= smooth[c + 1]]
    minima.sort(key=lambda c: smooth[c])
    return [x0 + c for c in minima[:count]]


def split_at(ink: InkMap, column: int) -> tuple[InkMap, InkMap]:
    """The ink left of ``column`` and from ``column`` on, each with its own tight box.

    (A cut along the cheapest path through the ink, which can follow a slanted gap,
    read fewer numbers right on the dev set: 81.0 % against 83.3 %.)
    """
    parts = []
    for lo, hi in ((0, column), (column, ink.ink.shape[1])):
        part = np.zeros_like(ink.ink)
        part[:, lo:hi] = ink.ink[:, lo:hi]
        mask = (part > 0).astype(np.uint8)
        ys, xs = np.nonzero(mask)
        if ys.size == 0:
            parts.append(InkMap(part, ink.box, ink.stroke))
            continue
        box = (int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1)
        parts.append(InkMap(part, box, stroke_width(mask) if ys.size > 8 else ink.stroke))
    return parts[0], parts[1]
