"""Activation functions: sigmoid, tanh and ReLU with their formulas and curves, and what
each does to the live kernel output.

On each plot the kernel's raw values are counted along the input axis (grey bars at
the bottom) and the activated values along the output axis (amber bars at the left):
the curve carries one histogram onto the other. Under the plots, the kernel's output
before and after the live activation (``a``), each on a grey scale that keeps it
visible (the scale choices are ``app.stages.histogram``'s, and are written on screen).
"""

from __future__ import annotations

import cv2
import numpy as np

from app.i18n import N_, tr
from app.stages.activation import ACTIVATION_FUNCTIONS
from app.stages.histogram import PLOTTED
from app.stages.results import FrameResults, HistogramResult
from app.state import ViewState
from app.views import cells
from app.views.base import BODY, MARGIN, SMALL, Body, Canvas, View
from app.views.draw import (
    AMBER,
    CYAN,
    DIM,
    GREY,
    VIEW_BG,
    WHITE,
    Line,
    blit,
    fit_image,
    fmt_num,
)
from app.views.words import shown

#: Formula and properties of each plotted activation (properties in English, translated
#: when drawn). The formulas are the same in both languages: the sigmoid is written as
#: the course's sigma, powers as superscripts and minus as a minus sign (DejaVu has them).
FORMULAS = {
    "sigmoid": ("σ(x) = 1 / (1 + e⁻ˣ)", N_("bounded (0, 1), differentiable")),
    "tanh": ("tanh(x) = (eˣ − e⁻ˣ) / (eˣ + e⁻ˣ)", N_("bounded (-1, 1), differentiable")),
    "relu": ("ReLU(x) = max(0, x)", N_("unbounded above; no derivative at 0")),
}
BEFORE = (120, 130, 150)
AFTER = AMBER


class ActivationsView(View):
    """The three activations, their curves and the live kernel output through them."""

    name = "activations"
    title = N_("ACTIVATION FUNCTIONS")
    key = "2"
    description = N_("activation functions")
    stages = ("kernel", "histogram")

    def draw(
        self, canvas: Canvas, layer: np.ndarray, state: ViewState, results: FrameResults, body: Body
    ) -> None:
        m = canvas.px(MARGIN)
        x, y = m, body.top + m
        w = canvas.width - 2 * m
        lead = Line(
            tr("an activation function: bounded and preferably differentiable"), 0.6, WHITE, True
        )
        head = cells.text(canvas, [lead], width=w)
        blit(layer, head[:, :w], x, y)
        y += head.shape[0] + canvas.px(4)
        hist = results.histogram
        if hist is None:
            note = Line(tr("no kernel output: kernel stage off or failed"), BODY, AMBER)
            blit(layer, cells.text(canvas, [note]), x, y)
            return
        gap = canvas.px(12)
        plot_w = (w - 2 * gap) // 3
        bottom_h = (body.bottom - y) * 40 // 100
        plot_h = body.bottom - y - bottom_h - canvas.px(70)
        for i, name in enumerate(PLOTTED):
            px = x + i * (plot_w + gap)
            _plot(canvas, layer, name, hist, (px, y, plot_w, plot_h), name == state.activation)
            _formula(canvas, layer, name, (px, y + plot_h + canvas.px(3), plot_w))
        _pictures(canvas, layer, state, hist, (x, body.bottom - bottom_h, w, bottom_h - m))


def _plot(
    canvas: Canvas,
    layer: np.ndarray,
    name: str,
    hist: HistogramResult,
    area: tuple[int, int, int, int],
    current: bool,
) -> None:
    """One activation's axes and curve (cached), then this frame's two histograms."""
    x, y, w, h = area
    base = cells.cached(
        canvas,
        ("activation_plot", name, w, h, current),
        lambda: _draw_plot(canvas, name, w, h, current),
    )
    blit(layer, base, x, y)
    inner = _inner(canvas, w, h)
    ix, iy, iw, ih = inner
    # Raw values along the input axis, upwards from the bottom (a quarter of the height).
    before = _heights(hist.before, ih // 3)
    bw = iw / before.size
    for i, bh in enumerate(before):
        if bh > 0:
            x0 = x + ix + round(i * bw)
            layer[y + iy + ih - bh : y + iy + ih, x0 : x + ix + round((i + 1) * bw) - 1] = (
                *BEFORE,
                255,
            )
    # Activated values along the output axis, rightwards from the left edge.
    lo, hi = hist.after_ranges[name]
    out_lo, out_hi = _y_range(name)
    after = _heights(hist.after[name], iw // 3)
    span = (hi - lo) / after.size
    for i, bl in enumerate(after):
        if bl <= 0:
            continue
        v0, v1 = lo + i * span, lo + (i + 1) * span
        y0 = y + iy + round((out_hi - v1) / (out_hi - out_lo) * ih)
        y1 = y + iy + round((out_hi - v0) / (out_hi - out_lo) * ih)
        layer[y0 : max(y0 + 1, y1 - 1), x + ix : x + ix + bl] = (*AFTER, 255)


def _heights(count: np.ndarray, longest: int) -> np.ndarray:
    """Bar lengths in px: square root of the count, the largest ``longest`` long."""
    root = np.sqrt(count.astype(np.float64))
    peak = float(root.max())
    if peak <= 0:
        return np.zeros(count.size, np.int64)
    return np.round(root / peak * longest).astype(np.int64)


def _y_range(name: str) -> tuple[float, float]:
    """The output axis drawn for each activation (a margin around its values)."""
    return {"sigmoid": (-0.1, 1.1), "tanh": (-1.15, 1.15), "relu": (-0.4, 4.2)}[name]


def _inner(canvas: Canvas, w: int, h: int) -> tuple[int, int, int, int]:
    """The plotting area inside a plot box: (x, y, w, h) relative to the box."""
    left, top = canvas.px(34), canvas.px(28)
    return left, top, w - left - canvas.px(6), h - top - canvas.px(18)


def _draw_plot(canvas: Canvas, name: str, w: int, h: int, current: bool) -> np.ndarray:
    out = np.empty((h, w, 4), np.uint8)
    out[:] = (*VIEW_BG, 255)
    ix, iy, iw, ih = _inner(canvas, w, h)
    lo, hi = _y_range(name)
    xs = np.linspace(-4.0, 4.0, 400, dtype=np.float32)
    ys = ACTIVATION_FUNCTIONS[name](xs)

    def to_px(xv: float, yv: float) -> tuple[int, int]:
        return ix + round((xv + 4.0) / 8.0 * (iw - 1)), iy + round((hi - yv) / (hi - lo) * (ih - 1))

    cv2.rectangle(out, (ix, iy), (ix + iw - 1, iy + ih - 1), (40, 42, 50, 255), -1)
    for yv in {"sigmoid": (0.0, 0.5, 1.0), "tanh": (-1.0, 0.0, 1.0), "relu": (0.0, 2.0, 4.0)}[name]:
        p, q = to_px(-4.0, yv), to_px(4.0, yv)
        cv2.line(out, p, q, (*DIM, 255), 1)
        label = cells.text(canvas, [Line(fmt_num(yv), SMALL, GREY)])
        blit(out, label, max(0, ix - label.shape[1]), p[1] - label.shape[0] // 2)
    zero = to_px(0.0, lo)[0]
    cv2.line(out, (zero, iy), (zero, iy + ih - 1), (*DIM, 255), 1)
    for xv in (-4, 0, 4):
        label = cells.text(canvas, [Line(str(xv), SMALL, GREY)])
        px = to_px(float(xv), lo)[0]
        blit(out, label, min(w - label.shape[1], max(0, px - label.shape[1] // 2)), iy + ih)
    points = np.array([to_px(float(a), float(b)) for a, b in zip(xs, ys, strict=True)], np.int32)
    colour = CYAN if current else WHITE
    cv2.polylines(out, [points], False, (*colour, 255), canvas.px(3 if current else 2), cv2.LINE_AA)
    title = cells.text(canvas, [Line(shown(name), BODY, colour, True)])
    blit(out, title, ix + canvas.px(4), 0)
    if current:
        cv2.rectangle(out, (0, 0), (w - 1, h - 1), (*CYAN, 255), canvas.px(2))
    return out


def _formula(canvas: Canvas, layer: np.ndarray, name: str, where: tuple[int, int, int]) -> None:
    x, y, w = where
    formula, properties = FORMULAS[name]
    lines = [Line(formula, BODY, WHITE, True), Line(tr(properties), SMALL, GREY)]
    blit(layer, cells.text(canvas, lines, width=w)[:, :w], x, y)


def _pictures(
    canvas: Canvas,
    layer: np.ndarray,
    state: ViewState,
    hist: HistogramResult,
    area: tuple[int, int, int, int],
) -> None:
    """The raw output and the live activation's, each on a scale that keeps it visible."""
    x, y, w, h = area
    lo, hi = hist.raw_display_range
    alo, ahi = hist.after_display_range
    act = shown(state.activation)
    pic_w = w * 31 // 100
    pieces = (
        (
            tr("kernel output: {lo}..{hi}").format(
                lo=fmt_num(round(lo, 2)), hi=fmt_num(round(hi, 2))
            ),
            hist.raw_display,
        ),
        (
            (
                tr("after {f}: {lo}..{hi}").format(
                    f=act, lo=fmt_num(round(alo, 2)), hi=fmt_num(round(ahi, 2))
                )
                if state.activation != "none"
                else tr("no activation: press a")
            ),
            hist.after_display,
        ),
    )
    for i, (caption, image) in enumerate(pieces):
        px = x + i * (pic_w + canvas.px(8))
        head = cells.text(canvas, [Line(caption, SMALL, CYAN, True)], width=pic_w)
        blit(layer, head[:, :pic_w], px, y)
        fitted = fit_image(image, pic_w, h - head.shape[0], integer_zoom=False)
        if fitted.size:
            cells.put_grey(layer, fitted, px, y + head.shape[0])
    nx = x + 2 * (pic_w + canvas.px(8))
    notes = [
        Line(tr("grey: the kernel's values; amber: after the function"), SMALL, WHITE),
        Line(tr("bars: square root of the count; axis -4..4"), SMALL, GREY),
        Line(
            tr("pictures: the ROI on -r..r, r = {r} (99.5% of |values|)").format(r=fmt_num(hi)),
            SMALL,
            GREY,
        ),
        Line(tr("a: next activation"), SMALL, GREY),
    ]
    blit(layer, cells.text(canvas, notes, width=x + w - nx)[:, : x + w - nx], nx, y)
