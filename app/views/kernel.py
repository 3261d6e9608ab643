"""The kernel view: the kernel's output as grey, and the kernel itself as a signed grid."""

from __future__ import annotations

import cv2
import numpy as np

from app.i18n import N_, tr
from app.stages.results import FrameResults, MapResult
from app.state import ViewState
from app.views.base import BODY, SMALL, Canvas
from app.views.draw import AMBER, CYAN, VIEW_BG, WHITE, Line, blit, fill, over, render_panel
from app.views.maps import Before, MapView, reference_lines, settings_column
from app.views.padding import input_caption, padded_input, padding_corner
from app.views.words import shown


class KernelView(MapView):
    """What one kernel (or the Sobel pair) does to the frame, with stride, padding, activation."""

    name = "kernel"
    title = N_("KERNEL")
    key = "6"
    description = N_("kernel view")
    stages = ("kernel",)
    formula = N_("H' = floor((H + 2p - k) / s) + 1")

    def shown_map(self, results: FrameResults) -> MapResult | None:
        return results.kernel

    def step(self, state: ViewState) -> int:
        return state.stride

    def before(self, state: ViewState, results: FrameResults) -> Before | None:
        kernel = results.kernel
        picture = padded_input(kernel, state.padding) if kernel is not None else None
        if kernel is None or picture is None or not kernel.matrices:
            return None
        # The first output pixel is the first window's centre: k // 2 from the corner.
        origin = kernel.matrices[0].shape[0] // 2
        caption = input_caption(kernel, state.padding)
        return Before(picture, caption, border=kernel.padding, origin=origin)

    def draw_example(
        self,
        canvas: Canvas,
        layer: np.ndarray,
        state: ViewState,
        results: FrameResults,
        area: tuple[int, int, int, int],
    ) -> None:
        if results.kernel is not None:
            padding_corner(canvas, layer, results.kernel, state.padding, area)

    def draw_column(
        self,
        canvas: Canvas,
        layer: np.ndarray,
        state: ViewState,
        results: FrameResults,
        where: tuple[int, int, int],
    ) -> int:
        kernel = results.kernel
        matrices = kernel.matrices if kernel is not None else ()
        size = f"{matrices[0].shape[0]}x{matrices[0].shape[1]}" if matrices else "?"
        convolution = state.operation == "convolution"
        lines = [
            Line(tr("kernel {size} (as applied)").format(size=size), BODY, CYAN, True),
            Line(shown(state.operation) + ":", SMALL, AMBER, True),
            Line(tr("kernel flipped 180°") if convolution else tr("kernel used as written"), SMALL),
        ]
        if kernel is not None and kernel.combine == "magnitude":
            lines.append(Line("|G| = √(Gx² + Gy²)", SMALL))
        # The sizes are in the pictures' captions and the formulas: the room goes to the corner.
        lines += reference_lines(kernel.reference if kernel else None)

        def grids(x: int, y: int, w: int) -> int:
            # Sobel magnitude slides two kernels: show both, half the width each.
            each = w if len(matrices) == 1 else (w - canvas.px(4)) // 2
            height = 0
            for i, matrix in enumerate(matrices[:2]):
                grid = matrix_grid(canvas, np.asarray(matrix, np.float32), each)
                blit(layer, grid, x + i * (each + canvas.px(4)), y)
                height = max(height, grid.shape[0])
            return height + canvas.px(4)

        return settings_column(canvas, layer, lines, where, grids if matrices else None)


def matrix_grid(canvas: Canvas, matrix: np.ndarray, width: int) -> np.ndarray:
    """A (k, k) kernel as coloured cells with their values: (h, width, 4) RGBA, cached."""
    key = ("matrix", matrix.shape, matrix.tobytes(), width)
    return canvas.cache.get(key, lambda: _draw_matrix(canvas, matrix, width))


def _cell_colour(v: float, peak: float) -> tuple[int, int, int]:
    # Red for positive, blue for negative, grey for zero: the sign is the story.
    t = abs(v) / peak
    if v > 0:
        return (int(70 + 170 * t), 60, 60)
    if v < 0:
        return (60, 80, int(70 + 170 * t))
    return (70, 70, 76)


def _cell_text(v: float) -> str:
    if float(v).is_integer():
        return str(int(v))
    text = f"{v:.2f}".rstrip("0")
    return text.replace("0.", ".", 1) if abs(v) < 1 else text


def _draw_matrix(canvas: Canvas, matrix: np.ndarray, width: int) -> np.ndarray:
    px = canvas.px
    n_rows, n_cols = matrix.shape
    cell = max(px(8), min(px(34), (width - px(8)) // max(n_rows, n_cols)))
    out = np.zeros((cell * n_rows + px(8), width, 4), np.uint8)
    fill(out, (*VIEW_BG, 255))
    peak = float(np.max(np.abs(matrix))) or 1.0
    x0, y0 = (width - cell * n_cols) // 2, px(4)
    font = 0.42 if cell >= px(30) else 0.32
    for r in range(n_rows):
        for c in range(n_cols):
            v = float(matrix[r, c])
            cx, cy = x0 + c * cell, y0 + r * cell
            rgba = (*_cell_colour(v, peak), 255)
            cv2.rectangle(out, (cx, cy), (cx + cell - 2, cy + cell - 2), rgba, -1)
            if cell >= px(18):  # room for the number
                line = Line(_cell_text(v), font, WHITE)
                text = render_panel([line], canvas.scale, bg_alpha=0, pad=1)
                tx = cx + (cell - 2 - text.shape[1]) // 2
                ty = cy + (cell - 2 - text.shape[0]) // 2
                over(out, text, tx, ty)
    return out
