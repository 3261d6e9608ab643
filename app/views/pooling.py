"""The pooling view: the kernel output after max or average pooling, window = step."""

from __future__ import annotations

import numpy as np

from app.i18n import N_, tr
from app.stages.results import FrameResults, MapResult
from app.state import ViewState
from app.views.base import BODY, SMALL, Canvas
from app.views.draw import AMBER, CYAN, GREY, Line, blit, fit_image, to_rgba
from app.views.maps import MapView, reference_lines, settings_column, shape_lines
from app.views.words import shown


class PoolingView(MapView):
    """The pooled map, with the map before pooling as a thumbnail in the column."""

    name = "pooling"
    title = N_("POOLING")
    key = "3"
    description = N_("pooling view")
    stages = ("kernel", "pool")
    formula = N_("H' = floor((H - n) / n) + 1   (window n, step n)")

    def shown_map(self, results: FrameResults) -> MapResult | None:
        return results.pool

    def draw_column(
        self,
        canvas: Canvas,
        layer: np.ndarray,
        state: ViewState,
        results: FrameResults,
        where: tuple[int, int, int],
    ) -> None:
        pool, kernel = results.pool, results.kernel
        n = state.pool_size
        lines = [
            Line(tr("{mode} pooling").format(mode=shown(state.pool_mode)), BODY, CYAN, True),
            Line(tr("window {n}x{n}, step {n}").format(n=n), SMALL),
        ]
        lines += shape_lines(pool) + reference_lines(pool.reference if pool else None)
        if state.numpy_reference:
            lines.append(Line("NumPy ref: this is training.layers.pool_forward", SMALL, AMBER))

        def before(x: int, y: int, w: int) -> int:
            assert kernel is not None
            thumb = fit_image(kernel.image, w, canvas.px(90), integer_zoom=False)
            caption = canvas.panel([Line(tr("before pooling:"), SMALL, GREY)], opaque=True, width=w)
            blit(layer, caption, x, y)
            th, tw = thumb.shape[:2]
            if th and tw:
                blit(layer, to_rgba(thumb), x, y + caption.shape[0])
            return caption.shape[0] + th + canvas.px(4)

        settings_column(canvas, layer, lines, where, before if kernel is not None else None)
