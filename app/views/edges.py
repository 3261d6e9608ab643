"""The course's slide "applying a kernel", live: the picture, then the horizontal-edge and the
vertical-edge kernels' outputs, side by side at the same size, each under its kernel."""

from __future__ import annotations

import numpy as np

from app.i18n import N_, tr
from app.stages.results import FrameResults
from app.state import ViewState
from app.views import cells
from app.views.base import BODY, MARGIN, SMALL, Body, Canvas, View
from app.views.draw import AMBER, CYAN, GREY, Line, blit, fit_image, fmt_num, shape_text
from app.views.words import shown


class EdgesView(View):
    """Original | horizontal kernel | vertical kernel, as on the slide, on the camera picture."""

    name = "edges"
    title = N_("APPLYING A KERNEL")
    key = "5"
    description = N_("applying a kernel")
    stages = ("kernel", "edges")

    def draw(
        self, canvas: Canvas, layer: np.ndarray, state: ViewState, results: FrameResults, body: Body
    ) -> None:
        m = canvas.px(MARGIN)
        edges = results.edges
        if edges is None:
            note = Line(tr("no kernel output: kernel stage off or failed"), BODY, AMBER)
            blit(layer, cells.text(canvas, [note]), m, body.top + m)
            return
        gap = canvas.px(10)
        panel_w = (canvas.width - 2 * m - 2 * gap) // 3
        top = body.top + m
        # One height for the three: the kernel grid (or the picture's note) above each.
        grid_step = min(canvas.px(30), panel_w // 8)
        head_h = canvas.px(30) + 3 * grid_step
        foot_h = canvas.px(56)
        image_h = body.bottom - m - top - head_h - foot_h
        size = _common_size(edges.original.shape, edges.horizontal.shape, panel_w, image_h)
        panels = (
            (tr("the picture"), None, edges.original),
            (tr("horizontal edge kernel"), edges.kernels[0], edges.horizontal),
            (tr("vertical edge kernel"), edges.kernels[1], edges.vertical),
        )
        for i, (caption, matrix, image) in enumerate(panels):
            x = m + i * (panel_w + gap)
            _head(canvas, layer, caption, matrix, (x, top, panel_w), grid_step)
            fitted = fit_image(image, *size, integer_zoom=False)
            cells.put_grey(layer, fitted, x, top + head_h)
        lo, hi = edges.value_range
        y = top + head_h + size[1] + canvas.px(4)
        out = shape_text(edges.horizontal.shape)
        lines = [
            Line(
                tr(
                    "same stride {s}, padding {p} and activation {a} for both; output {shape}"
                ).format(
                    s=state.stride, p=shown(state.padding), a=shown(state.activation), shape=out
                ),
                SMALL,
                GREY,
            ),
            Line(
                tr("grey: {lo} = black, {hi} = white; light = bright below / right").format(
                    lo=fmt_num(lo), hi=fmt_num(hi)
                ),
                SMALL,
                GREY,
            ),
        ]
        blit(layer, cells.text(canvas, lines, width=canvas.width - 2 * m), m, y)


def _common_size(
    original: tuple[int, ...], output: tuple[int, ...], max_w: int, max_h: int
) -> tuple[int, int]:
    """One (w, h) for the three pictures: the input's aspect, as large as fits."""
    h, w = original[:2]
    f = min(max_w / w, max_h / h)
    return max(1, int(w * f)), max(1, int(h * f))


def _head(
    canvas: Canvas,
    layer: np.ndarray,
    caption: str,
    matrix: np.ndarray | None,
    where: tuple[int, int, int],
    step: int,
) -> None:
    """A panel's caption and, for the kernels, the 3x3 grid with its values."""
    x, y, w = where
    head = cells.text(canvas, [Line(caption, BODY, CYAN, True)], width=w)
    blit(layer, head[:, :w], x, y)
    if matrix is None:
        return
    texts = [[cells.value_text(float(v)) for v in row] for row in matrix]
    colours = [[cells.signed_colour(float(v), 1.0) for v in row] for row in matrix]
    cells.grid(canvas, layer, texts, colours, (x, y + canvas.px(30)), step, font=0.5)
