"""Kernels as pictures: the learned conv1 kernels lined up over their maps, and the hand-made
kernels as a labelled list. Both never change while the app runs, so each is drawn once
per size and language and kept: a frame costs one copy.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import cv2
import numpy as np

from app.colormaps import colourise
from app.i18n import current_language, tr, tr_n
from app.stages.results import NamedKernel
from app.views.base import SMALL, Canvas
from app.views.draw import AMBER, CYAN, GREY, VIEW_BG, WHITE, Line, blit, fill, render_panel
from app.views.words import shown


def kernel_cells(
    out: np.ndarray,
    values: np.ndarray,
    box: tuple[int, int, int, int],
    value_range: tuple[float, float],
    gap: int,
) -> None:
    """Paint a (k, k) kernel into ``out`` (RGBA) as k x k coloured cells filling box
    (x, y, w, h), ``gap`` px apart, blue < 0 < orange on ``value_range``."""
    x, y, w, h = box
    rows, cols = values.shape
    lo, hi = value_range
    colours = cv2.cvtColor(colourise(np.asarray(values, np.float32), lo, hi), cv2.COLOR_BGR2RGB)
    xs = [x + round(c * w / cols) for c in range(cols + 1)]
    ys = [y + round(r * h / rows) for r in range(rows + 1)]
    for r in range(rows):
        for c in range(cols):
            cell = out[
                ys[r] : max(ys[r] + 1, ys[r + 1] - gap), xs[c] : max(xs[c] + 1, xs[c + 1] - gap)
            ]
            fill(cell, (*(int(v) for v in colours[r, c]), 255))


def learned_row(
    canvas: Canvas,
    learned: np.ndarray,
    value_range: tuple[float, float],
    tiles: Sequence[tuple[int, int, int, int]],
) -> np.ndarray:
    """The (C, k, k) learned kernels drawn in ``tiles`` (x, y, w, h per kernel, relative to
    the patch's top left; the tiles of the maps they make), a little inside each so the
    kernels stand apart: an opaque RGBA patch, cached."""
    key = ("learned", learned.shape, learned.tobytes(), value_range, tuple(tiles))

    def draw() -> np.ndarray:
        width = max(x + w for x, _, w, _ in tiles)
        height = max(y + h for _, y, _, h in tiles)
        out = np.empty((height, width, 4), np.uint8)
        fill(out, (*VIEW_BG, 255))
        # Gaps between the weights: each one reads as a square of its own.
        gap = max(1, round(min(tiles[0][2], tiles[0][3]) / learned.shape[1] / 8))
        for values, (x, y, w, h) in zip(learned, tiles, strict=False):
            inset = max(1, round(min(w, h) / 14))
            box = (x + inset, y + inset, w - 2 * inset + gap, h - 2 * inset + gap)
            kernel_cells(out, values, box, value_range, gap)
        return out

    return canvas.cache.get(key, draw)


def handmade_list(
    canvas: Canvas, kernels: Sequence[NamedKernel], current: str, size: tuple[int, int]
) -> np.ndarray:
    """The hand-made kernels as rows of (colour grid, name), the one in use in amber, within
    ``size`` (w, h) px: an opaque RGBA patch no taller than h, cached.

    Each kernel is coloured on +- its own largest weight (a blur's 1/16 and an edge's
    -1 .. 1 both read); rows that do not fit are counted on a last line.
    """
    key = (
        "handmade",
        tuple((k.name, k.values.shape, k.values.tobytes()) for k in kernels),
        current,
        size,
        current_language(),
    )
    return canvas.cache.get(key, lambda: _draw_handmade(canvas, kernels, current, size))


def _panel(canvas: Canvas, lines: Sequence[Line], width: int) -> np.ndarray:
    return render_panel(
        lines,
        canvas.scale,
        max_width=width,
        pad=2,
        gap=2,
        bg=VIEW_BG,
        bg_alpha=255,
        flatten_on=VIEW_BG,
    )


def _draw_handmade(
    canvas: Canvas, kernels: Sequence[NamedKernel], current: str, size: tuple[int, int]
) -> np.ndarray:
    w, h = size
    px = canvas.px
    title = _panel(canvas, [Line(tr("hand-made kernels"), SMALL, CYAN, True)], w)
    room = h - title.shape[0]
    # A row is as tall as its grid, or its name where the name takes two lines.
    side = min(px(34), max(px(14), room // max(1, len(kernels))))
    for _ in range(2):
        names = [_name(canvas, k.name, k.name == current, w - side - px(6)) for k in kernels]
        extra = sum(max(0, n.shape[0] - side) for n in names)
        fitted = min(px(34), max(px(14), (room - extra) // max(1, len(kernels))))
        if fitted == side:
            break
        side = fitted
    out = np.empty((h, w, 4), np.uint8)
    fill(out, (*VIEW_BG, 255))
    blit(out, title, 0, 0)
    y = title.shape[0]
    for i, (kernel, name) in enumerate(zip(kernels, names, strict=True)):
        row_h = max(side, name.shape[0])
        if y + row_h > h - (title.shape[0] if i < len(kernels) - 1 else 0):
            left = len(kernels) - i
            text = tr_n("{n} more", "{n} more", left).format(n=left)
            blit(out, _panel(canvas, [Line(text, SMALL, GREY)], w), 0, y)
            y += title.shape[0]
            break
        _grid(out, kernel.values, (0, y + (row_h - side) // 2), side, kernel.name == current, px(1))
        blit(out, name, side + px(4), y + (row_h - name.shape[0]) // 2)
        y += row_h
    return out[: min(h, y)]


def _name(canvas: Canvas, name: str, used: bool, width: int) -> np.ndarray:
    line = Line(shown(name), SMALL, AMBER if used else WHITE, used)
    return _panel(canvas, [line], width)


def _grid(
    out: np.ndarray, values: np.ndarray, where: tuple[int, int], side: int, used: bool, one: int
) -> None:
    """A hand-made kernel as a ``side`` px square of cells at ``where``, framed in amber
    when it is the kernel in use; coloured on +- its own largest weight."""
    x, y = where
    inner = side - 4 * one
    if used:
        fill(out[y : y + side - 2 * one, x : x + side - 2 * one], (*AMBER, 255))
        fill(out[y + one : y + side - 3 * one, x + one : x + side - 3 * one], (*VIEW_BG, 255))
    peak = float(np.abs(values).max()) or 1.0
    gap = max(1, math.floor(inner / values.shape[0] / 10))
    kernel_cells(out, values, (x + one, y + one, inner, inner), (-peak, peak), gap)
