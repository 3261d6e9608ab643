"""The pooling view: the kernel output after max or average pooling, window = step."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from app.i18n import N_, tr
from app.stages.results import FrameResults, MapResult
from app.state import ViewState
from app.views.base import BODY, SMALL, Canvas
from app.views.draw import AMBER, CYAN, Line
from app.views.maps import Before, MapView, reference_lines, settings_column, shape_lines
from app.views.pool_window import outline_square, worked_window
from app.views.words import shown


class PoolingView(MapView):
    """The pooled map beside the map before pooling, at one scale; the numbers in the column."""

    name = "pooling"
    title = N_("POOLING")
    key = "7"
    description = N_("pooling view")
    stages = ("kernel", "pool")
    formula = N_("H' = floor((H - n) / n) + 1   (window n, step n)")

    def shown_map(self, results: FrameResults) -> MapResult | None:
        return results.pool

    def step(self, state: ViewState) -> int:
        return state.pool_size

    def before(self, state: ViewState, results: FrameResults) -> Before | None:
        kernel = results.kernel
        if kernel is None:
            return None
        rows, cols = kernel.out_shape
        return Before(kernel.image, tr("before: {rows}x{cols}").format(rows=rows, cols=cols))

    def draw_example(
        self,
        canvas: Canvas,
        layer: np.ndarray,
        state: ViewState,
        results: FrameResults,
        area: tuple[int, int, int, int],
    ) -> None:
        pool = results.pool
        if pool is not None and pool.window is not None:
            worked_window(canvas, layer, pool, state.pool_mode, area)

    def mark(
        self,
        canvas: Canvas,
        layer: np.ndarray,
        state: ViewState,
        results: FrameResults,
        boxes: Sequence[tuple[int, int, int, int]],
        scale: float,
    ) -> None:
        window = results.pool.window if results.pool is not None else None
        if window is None or len(boxes) < 2:
            return
        # The same square on both: n x n pixels before, the one pixel they become after.
        side = state.pool_size * scale
        r, c = window.unit
        for box in boxes[-2:]:
            x0, y0 = box[0] + 1 + c * side, box[1] + 1 + r * side
            outline_square(layer, (x0, y0, side), canvas.px(2))

    def draw_column(
        self,
        canvas: Canvas,
        layer: np.ndarray,
        state: ViewState,
        results: FrameResults,
        where: tuple[int, int, int],
    ) -> int:
        pool = results.pool
        n = state.pool_size
        lines = [
            Line(tr("{mode} pooling").format(mode=shown(state.pool_mode)), BODY, CYAN, True),
            Line(tr("window {n}x{n}, step {n}").format(n=n), SMALL),
        ]
        lines += shape_lines(pool) + reference_lines(pool.reference if pool else None)
        if state.numpy_reference:
            text = tr("NumPy ref: this is training.layers.pool_forward")
            lines.append(Line(text, SMALL, AMBER))

        return settings_column(canvas, layer, lines, where)
