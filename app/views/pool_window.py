"""One pooling window worked out: the n x n values under it and the one pixel they become."""

from __future__ import annotations

import cv2
import numpy as np

from app.i18n import tr
from app.stages.results import PoolResult
from app.views import cells
from app.views.base import BODY, SMALL, Canvas
from app.views.draw import AMBER, CYAN, GREEN, GREY, Line, blit


def worked_window(
    canvas: Canvas, layer: np.ndarray, pool: PoolResult, mode: str, area: tuple[int, int, int, int]
) -> None:
    """The pooled value under the ROI's centre in ``area`` (x, y, w, h): its window's
    values as grey cells (the maximum outlined for max pooling), then the result."""
    window = pool.window
    x, y, w, h = area
    if window is None or w <= 0:
        return
    n = window.values.shape[0]
    head = cells.text(
        canvas, [Line(tr("the window at the ROI's centre"), SMALL, CYAN, True)], width=w
    )
    template = tr("max = {value}") if mode == "max" else tr("average = {value}")
    result = template.format(value=cells.value_text(window.value))
    note = tr("of these {count} values: one pixel of the pooled map, outlined on both pictures")
    foot = cells.text(
        canvas,
        [Line(result, BODY, GREEN, True), Line(note.format(count=window.values.size), SMALL, GREY)],
        width=w,
        volatile=True,
    )
    gap = canvas.px(4)
    cell = min(canvas.px(44), w // n, (h - head.shape[0] - foot.shape[0] - 2 * gap) // n)
    if cell < canvas.px(18):  # no room for readable numbers: the result alone, if it fits
        if foot.shape[0] <= h:
            blit(layer, foot, x, y)
        return
    blit(layer, head, x, y)
    y += head.shape[0] + gap
    lo, hi = pool.value_range
    span = hi - lo if hi > lo else 1.0
    texts = [[cells.value_text(float(v)) for v in row] for row in window.values]
    colours = [[cells.grey_of((float(v) - lo) / span) for v in row] for row in window.values]
    cells.grid(canvas, layer, texts, colours, (x, y), cell)
    if mode == "max":
        r, c = np.unravel_index(int(np.argmax(window.values)), window.values.shape)
        outline_square(layer, (x + c * cell, y + r * cell, cell), canvas.px(2))
    blit(layer, foot, x, y + n * cell + gap)


def outline_square(layer: np.ndarray, square: tuple[float, float, float], thick: int) -> None:
    """An amber outline just outside the square (x, y, side) in screen pixels."""
    x, y, side = square
    x0, y0 = round(x) - thick, round(y) - thick
    x1, y1 = round(x + side) + thick - 1, round(y + side) + thick - 1
    cv2.rectangle(layer, (x0, y0), (x1, y1), (*AMBER, 255), thick)
