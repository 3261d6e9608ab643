"""The pooling view: the kernel output after max or average pooling, window = step."""

from __future__ import annotations

import numpy as np

from app.i18n import N_, tr
from app.stages.results import FrameResults, MapResult
from app.state import ViewState
from app.views.base import BODY, SMALL, Canvas
from app.views.draw import AMBER, CYAN, Line
from app.views.maps import MapView, reference_lines, settings_column, shape_lines
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

    def before(self, results: FrameResults) -> tuple[np.ndarray, str] | None:
        kernel = results.kernel
        if kernel is None:
            return None
        rows, cols = kernel.out_shape
        return kernel.image, tr("before: {rows}x{cols}").format(rows=rows, cols=cols)

    def draw_column(
        self,
        canvas: Canvas,
        layer: np.ndarray,
        state: ViewState,
        results: FrameResults,
        where: tuple[int, int, int],
    ) -> None:
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

        settings_column(canvas, layer, lines, where)
