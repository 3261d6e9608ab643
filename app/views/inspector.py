"""The kernel inspector: one output value of the kernel worked out with its numbers.

Mode 0 (the course's "3x3 kernel, stride 1" slide, on the live picture): where the
window is on the picture and on the output, the window zoomed with its pixel values
(padding cells hatched), the kernel as applied, the nine products and their sum, then
the activation; the next window (one stride on) is dashed. Mode 1 is the 1-D formula
``(x ∗ v)[n] = Σᵢ x[i] · v[n − i]`` on the window's row (``app.views.inspector_row``).
The arrows move the window one stride at a time.
"""

from __future__ import annotations

import cv2
import numpy as np

from app.i18n import N_, tr
from app.stages.results import (
    FrameResults,
    InspectResult,
    KernelResult,
    WindowSum,
)
from app.state import ProbeRange, ViewState
from app.views import cells
from app.views.base import BODY, MARGIN, SMALL, Body, Canvas, View
from app.views.draw import AMBER, CYAN, GREEN, GREY, WHITE, Line, blit, fit_image
from app.views.inspector_row import draw_row_formula
from app.views.words import shown

#: Colours of the current window and the next one (one stride on).
WINDOW = CYAN
NEXT = AMBER


class InspectorView(View):
    """A kernel's output value worked out: window, kernel, products, sum, activation."""

    name = "inspector"
    title = N_("KERNEL INSPECTOR")
    key = "4"
    description = N_("kernel inspector")
    stages = ("kernel", "inspect")
    modes = (N_("2-D window"), N_("1-D formula"))
    probe_limit = (160, 120)
    probe_edge = N_("the window is at the edge of the picture")

    def probe_bounds(self, state: ViewState, results: FrameResults) -> ProbeRange | None:
        """The units of this picture's output, from the window's home."""
        if results.inspect is None:
            return super().probe_bounds(state, results)
        return results.inspect.probe_range

    def draw(
        self, canvas: Canvas, layer: np.ndarray, state: ViewState, results: FrameResults, body: Body
    ) -> None:
        m = canvas.px(MARGIN)
        inspect, kernel = results.inspect, results.kernel
        if inspect is None or kernel is None or kernel.input is None:
            note = Line(tr("no kernel output: kernel stage off or failed"), BODY, AMBER)
            blit(layer, cells.text(canvas, [note]), m, body.top + m)
            return
        area = (m, body.top + m, canvas.width - 2 * m, body.bottom - body.top - 2 * m)
        if state.mode == 1:
            draw_row_formula(canvas, layer, state, inspect, kernel, area)
            return
        x, y, w, h = area
        left_w = w * 28 // 100
        _pictures(canvas, layer, state, inspect, kernel, (x, y, left_w, h))
        x += left_w + m
        mid_w = (w - left_w - m) * 50 // 100
        _patch(canvas, layer, state, inspect.window, (x, y, mid_w, h))
        x += mid_w + m
        _arithmetic(canvas, layer, state, inspect.window, (x, y, area[0] + w - x, h))


def _pictures(
    canvas: Canvas,
    layer: np.ndarray,
    state: ViewState,
    inspect: InspectResult,
    kernel: KernelResult,
    area: tuple[int, int, int, int],
) -> None:
    """The input with the window's box, the output with the unit's mark, captioned."""
    x, y, w, h = area
    window = inspect.window
    k = window.window.shape[0]
    half = (h - canvas.px(8)) // 2
    picture = (np.clip(kernel.input, 0, 1) * 255).astype(np.uint8)
    head = tr("input {h}x{w} (1 = white)").format(h=picture.shape[0], w=picture.shape[1])
    box = _captioned_image(canvas, layer, head, picture, (x, y, w, half))
    if box is not None:
        (bx, by, f) = box
        oy, ox = window.origin
        s = state.stride
        window_box = _scaled((ox, oy, k, k), bx, by, f)
        cells.outline(layer, window_box, WINDOW, canvas.px(2))
        _ring(canvas, layer, window_box, _picture_box(picture, bx, by, f))
        cells.outline(
            layer, _scaled((ox + s, oy, k, k), bx, by, f), NEXT, canvas.px(1), dashed=True
        )
    y += half + canvas.px(8)
    out = kernel.image
    head = tr("output {h}x{w}").format(h=out.shape[0], w=out.shape[1])
    box = _captioned_image(canvas, layer, head, out, (x, y, w, half))
    if box is not None:
        bx, by, f = box
        i, j = window.unit
        unit_box = _scaled((j, i, 1, 1), bx, by, f)
        cells.outline(layer, unit_box, WINDOW, canvas.px(2))
        _ring(canvas, layer, unit_box, _picture_box(out, bx, by, f))


def _picture_box(image: np.ndarray, bx: int, by: int, f: float) -> tuple[int, int, int, int]:
    """(x0, y0, x1, y1) of ``image`` drawn at (bx, by) with zoom ``f``."""
    return bx, by, bx + round(image.shape[1] * f), by + round(image.shape[0] * f)


def _ring(
    canvas: Canvas,
    layer: np.ndarray,
    box: tuple[int, int, int, int],
    inside: tuple[int, int, int, int],
) -> None:
    """A ring around a (x0, y0, x1, y1) box a few pixels wide, clipped to the picture
    ``inside``: the window on a picture zoomed about 1x is otherwise a dot nobody at
    the back of the room finds."""
    x0, y0, x1, y1 = box
    px0, py0, px1, py1 = inside
    radius = max((x1 - x0) // 2, (y1 - y0) // 2) + canvas.px(14)
    centre = ((x0 + x1) // 2 - px0, (y0 + y1) // 2 - py0)
    part = layer[max(0, py0) : py1, max(0, px0) : px1]  # a view: drawn into the layer
    # LINE_8: an anti-aliased ring this thick costs 90 us a frame, a plain one 18.
    cv2.circle(part, centre, radius, (*WINDOW, 255), canvas.px(2), cv2.LINE_8)


def _scaled(
    rect: tuple[int, int, int, int], bx: int, by: int, f: float
) -> tuple[int, int, int, int]:
    """(col, row, w, h) picture cells -> (x0, y0, x1, y1) on the layer (at least 3 px)."""
    c, r, w, h = rect
    x0, y0 = bx + round(c * f), by + round(r * f)
    return (
        x0,
        y0,
        max(x0 + 3, bx + round((c + w) * f) - 1),
        max(y0 + 3, by + round((r + h) * f) - 1),
    )


def _captioned_image(
    canvas: Canvas,
    layer: np.ndarray,
    caption: str,
    image: np.ndarray,
    area: tuple[int, int, int, int],
) -> tuple[int, int, float] | None:
    """A caption then ``image`` fitted below it; (x, y, zoom) of the image, or None."""
    x, y, w, h = area
    head = cells.text(canvas, [Line(caption, SMALL, GREY)], width=w)
    blit(layer, head[:, :w], x, y)
    y += head.shape[0]
    fitted = fit_image(image, w, h - head.shape[0], integer_zoom=False)
    fh, fw = fitted.shape[:2]
    if fh == 0 or fw == 0:
        return None
    cells.put_grey(layer, fitted, x, y)
    return x, y, fw / image.shape[1]


def _patch(
    canvas: Canvas,
    layer: np.ndarray,
    state: ViewState,
    window: WindowSum,
    area: tuple[int, int, int, int],
) -> None:
    """The window and one cell around it, zoomed, with the picture's values."""
    x, y, w, h = area
    head = cells.text(canvas, [Line(tr("the window on the picture"), BODY, CYAN, True)], width=w)
    blit(layer, head[:, :w], x, y)
    y += head.shape[0]
    patch, pad = window.patch, window.patch_padding
    n_rows, n = patch.shape
    legend_h = canvas.px(70)
    step = max(canvas.px(12), min(w // n, (h - head.shape[0] - legend_h) // n_rows))
    texts = [[cells.value_text(float(v)) for v in row] for row in patch]
    colours = [
        [cells.PAD_BG if pad[r, c] else cells.grey_of(float(patch[r, c])) for c in range(n)]
        for r in range(n_rows)
    ]
    gw, gh = cells.grid(canvas, layer, texts, colours, (x, y), step, font=0.5, hatched=pad)
    # The window, then where it goes next: one stride to the right.
    py, px = window.patch_origin
    oy, ox = window.origin
    k = window.window.shape[0]
    r0, c0 = oy - py, ox - px
    thick = canvas.px(3)
    box = (x + c0 * step, y + r0 * step, x + (c0 + k) * step - 2, y + (r0 + k) * step - 2)
    cells.outline(layer, box, WINDOW, thick)
    s = state.stride
    nxt = (box[0] + s * step, box[1], box[2] + s * step, box[3])
    if nxt[2] <= x + gw:
        cells.outline(layer, nxt, NEXT, canvas.px(2), dashed=True)
    _patch_legend(canvas, layer, state, (x, y + gh + canvas.px(4), w))


def _patch_legend(
    canvas: Canvas, layer: np.ndarray, state: ViewState, where: tuple[int, int, int]
) -> None:
    x, y, w = where
    side = canvas.px(14)
    sample = cells.cell(canvas, "", (side, side), cells.PAD_BG, hatch=True)
    blit(layer, sample, x, y + canvas.px(3))
    padding = tr("padding: {name}").format(name=shown(state.padding))
    lines = [Line(padding, SMALL, WHITE)]
    head = cells.text(canvas, lines, width=w - side - canvas.px(4))
    blit(layer, head, x + side + canvas.px(4), y)
    y += head.shape[0]
    stride = tr("stride {s}: the next window is {s} px to the right").format(s=state.stride)
    lines = [
        Line(stride, SMALL, NEXT),
        Line(tr("arrows: move the window; m: 1-D formula"), SMALL, GREY),
    ]
    blit(layer, cells.text(canvas, lines, width=w)[:, :w], x, y)


def _arithmetic(
    canvas: Canvas,
    layer: np.ndarray,
    state: ViewState,
    window: WindowSum,
    area: tuple[int, int, int, int],
) -> None:
    """The kernel(s), the products and their sum written out, the activation: the value."""
    x, y, w, h = area
    k = window.window.shape[0]
    count = len(window.kernels)
    grid_w = (w - canvas.px(6) * (count - 1)) // count
    # Cells wider than tall: a product such as -0.83 needs five characters.
    sx = max(canvas.px(12), min(grid_w // k, canvas.px(62)))
    sy = max(canvas.px(10), min(sx * 3 // 4, (h - canvas.px(170)) // (2 * k)))
    label = (
        N_("kernel (flipped: convolution)") if state.operation == "convolution" else N_("kernel")
    )
    y = _grids(canvas, layer, tr(label), window.kernels, (x, y, grid_w), (sx, sy))
    caption = tr("products: window × kernel")
    y = _grids(canvas, layer, caption, window.products, (x, y, grid_w), (sx, sy))
    lines = _sum_lines(state, window)
    blit(layer, cells.text(canvas, lines, width=w, volatile=True)[:, :w], x, y + canvas.px(2))


def _grids(
    canvas: Canvas,
    layer: np.ndarray,
    caption: str,
    matrices: tuple[np.ndarray, ...],
    where: tuple[int, int, int],
    step: tuple[int, int],
) -> int:
    """One captioned grid per matrix, side by side; returns the y below them."""
    x, y, grid_w = where
    head = cells.text(canvas, [Line(caption, SMALL, CYAN, True)])
    blit(layer, head, x, y)
    y += head.shape[0]
    height = 0
    for i, matrix in enumerate(matrices):
        peak = float(np.abs(matrix).max()) or 1.0
        texts = [[cells.value_text(float(v)) for v in row] for row in matrix]
        colours = [[cells.signed_colour(float(v), peak) for v in row] for row in matrix]
        gx = x + i * (grid_w + canvas.px(6))
        _, gh = cells.grid(canvas, layer, texts, colours, (gx, y), step, font=0.48)
        height = max(height, gh)
    return y + height + canvas.px(4)


def _sum_lines(state: ViewState, window: WindowSum) -> list[Line]:
    """The products added up row by row, the sum, the Sobel pair's magnitude and the
    activation's result."""
    if len(window.sums) == 1:
        rows = [" + ".join(_term(float(v)) for v in row) for row in window.products[0]]
        lines = [
            Line(("  " if r == 0 else "+ ") + text, SMALL, WHITE) for r, text in enumerate(rows)
        ]
        total = cells.value_text(window.sums[0], 3)
        lines.append(Line(tr("Σ sum = {v}").format(v=total), 0.75, GREEN, True))
        raw = window.sums[0]
    else:
        gx, gy = window.sums
        raw = float(np.hypot(gx, gy))
        lines = [
            Line(f"Gx = {cells.value_text(gx, 3)}   Gy = {cells.value_text(gy, 3)}", BODY, WHITE),
            Line(f"|G| = √(Gx² + Gy²) = {cells.value_text(raw, 3)}", 0.6, GREEN, True),
        ]
    if state.activation != "none":
        value = cells.value_text(window.value, 3)
        act = f"{shown(state.activation)}({cells.value_text(raw, 3)}) = {value}"
        lines.append(Line(act, 0.6, AMBER, True))
    i, j = window.unit
    lines.append(Line(tr("= output[{i}, {j}]").format(i=i, j=j), BODY, WHITE))
    return lines


def _term(v: float) -> str:
    """A product in the written-out sum: negative ones in brackets."""
    text = cells.value_text(v)
    return f"({text})" if text.startswith("-") else text
