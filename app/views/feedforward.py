"""The LeNet view's feedforward mode: the network's dense layers, as the course's slide draws a
feedforward network, run on the digit in front of the camera.

Left, the layers as columns of neurons (brightness: the neuron's output on this
digit), information flowing left to right: the 28x28 input, the 400 numbers the
convolutions make of it, fc1, fc2 and the ten outputs. Every neuron of a layer takes
every output of the layer before (the grey mesh). One neuron's inputs are drawn as
lines coloured by what they add (``wᵢ·xᵢ``), and on the right its weighted sum is
written out: the biggest terms, the rest summed, the bias, then the activation.
"""

from __future__ import annotations

import cv2
import numpy as np

from app.i18n import tr
from app.stages.network_results import FeedforwardResult
from app.state import ViewState
from app.views import cells
from app.views.base import BODY, SMALL, Canvas
from app.views.draw import AMBER, CYAN, GREEN, GREY, VIEW_BG, WHITE, Line, blit
from app.views.words import shown

#: Terms of the weighted sum written out one by one (the largest); the rest are summed.
TERMS_SHOWN = 5
#: Neurons per column joined by the mesh that says "every one to every one".
MESH_SAMPLES = 9
MESH = (52, 55, 66)
ZERO_INPUT = (72, 74, 84)
#: Columns' colours: the inputs (grey like a picture) and the dense layers (LeNet strip's).
INPUT_COLOUR = (200, 200, 205)
DENSE_COLOUR = AMBER


def draw_feedforward(
    canvas: Canvas,
    layer: np.ndarray,
    state: ViewState,
    ff: FeedforwardResult | None,
    area: tuple[int, int, int, int],
) -> None:
    """The banner, the network's columns and the written-out sum in ``area`` (x, y, w, h)."""
    x, y, w, h = area
    banner = cells.text(canvas, _banner_lines(), width=w)
    blit(layer, banner[:, :w], x, y)
    y += banner.shape[0] + canvas.px(4)
    h = area[1] + h - y
    if ff is None:
        note = Line(tr("no digit in the ROI: hold one up to the camera"), BODY, AMBER)
        blit(layer, cells.text(canvas, [note], width=w)[:, :w], x, y)
        return
    # A 4:3 screen has a quarter less width: the sum's column takes a larger share.
    left_w = w * (60 if _narrow(canvas) else 64) // 100
    rx = x + left_w + canvas.px(10)
    terms = _weighted_sum(canvas, layer, ff, (rx, y, area[0] + w - rx, h))
    diagram = cells.cached(
        canvas,
        _diagram_key(ff, left_w, h, terms),
        lambda: _draw_diagram(canvas, ff, (left_w, h), terms),
    )
    blit(layer, diagram, x, y)


def _narrow(canvas: Canvas) -> bool:
    """A 4:3 screen (or narrower): fewer words under the columns."""
    return canvas.width < 1.5 * canvas.height


def _banner_lines() -> list[Line]:
    return [
        Line(tr("each neuron: a = f(Σᵢ wᵢ·xᵢ + b)"), 0.75, CYAN, True),
        Line(
            tr(
                "xᵢ: the outputs of the layer before; wᵢ: its weights; b: its bias; "
                "f: the activation. Left to right, never back."
            ),
            SMALL,
            WHITE,
        ),
    ]


def _diagram_key(ff: FeedforwardResult, w: int, h: int, terms: int) -> tuple:
    """The diagram changes when the numbers do (a few times a second) or the point moves."""
    values = b"".join(run.a.tobytes() for run in ff.runs) + ff.runs[0].x.tobytes()
    tensor = hash(ff.tensor.tobytes())
    return ("feedforward", w, h, terms, ff.layer, ff.neuron, hash(values), tensor)


class _Geometry:
    """Where the columns of the diagram are: the input picture, then one per layer."""

    def __init__(self, canvas: Canvas, ff: FeedforwardResult, w: int, h: int) -> None:
        self.title_h = canvas.px(22)
        self.detail_h = 0  # set by ``_details`` once the texts under the columns are sized
        self.top = self.title_h
        self.height = h - self.title_h
        self.counts = [ff.runs[0].x.size, *(run.a.size for run in ff.runs)]
        self.label_w = max(canvas.px(56), w * 13 // 100)
        self.picture = min(w * 12 // 100, canvas.px(110))
        self.col_w = max(canvas.px(8), w // 28)
        first = self.picture + canvas.px(64)
        last = w - self.label_w - self.col_w
        self.step = (last - first) / max(1, len(self.counts) - 1)
        self.xs = [round(first + i * self.step) for i in range(len(self.counts))]

    def below(self, height: int) -> None:
        """Leave ``height`` px under the columns (their texts and the legend)."""
        self.height -= height

    def cell(self, column: int, index: int) -> tuple[int, int]:
        """Top and bottom row (inclusive) of neuron ``index`` in ``column``."""
        size = self.height / self.counts[column]
        gap = 1 if size >= 4 else 0
        y0 = self.top + round(index * size)
        return y0, max(y0, self.top + round((index + 1) * size) - 1 - gap)

    def centre(self, column: int, index: int) -> int:
        y0, y1 = self.cell(column, index)
        return (y0 + y1) // 2


def _draw_diagram(
    canvas: Canvas, ff: FeedforwardResult, size: tuple[int, int], terms: int
) -> np.ndarray:
    w, h = size
    out = np.empty((h, w, 4), np.uint8)
    out[:] = (*VIEW_BG, 255)
    geo = _Geometry(canvas, ff, w, h)
    legend = [
        Line(
            tr("lines into the neuron: red adds (wᵢ·xᵢ > 0), blue takes away, grey: xᵢ = 0"),
            SMALL,
            GREY,
        ),
        Line(tr("← →: layer   ↑ ↓: neurons by output   m: LeNet strip"), SMALL, GREY),
    ]
    text = cells.text(canvas, legend, width=w)
    blit(out, text[:, :w], 0, h - text.shape[0])
    details = _details(canvas, ff, geo)
    geo.below(text.shape[0] + max(d.shape[0] for d in details) + canvas.px(2))
    for c, panel in enumerate(details):
        x = max(0, geo.xs[c] + geo.col_w // 2 - panel.shape[1] // 2)
        blit(out, panel, x, geo.top + geo.height + canvas.px(2))
    _mesh(out, geo)
    _fan(canvas, out, ff, geo, terms)
    columns = [ff.runs[0].x, *(run.a for run in ff.runs)]
    for c, values in enumerate(columns):
        _column(out, geo, c, values, signed=c == len(columns) - 1)
    y0, y1 = geo.cell(ff.layer + 1, ff.neuron)
    x0 = geo.xs[ff.layer + 1]
    pad = canvas.px(3)
    cells.outline(out, (x0 - pad, y0 - pad, x0 + geo.col_w + pad, y1 + pad), CYAN, canvas.px(2))
    _input_picture(canvas, out, ff, geo)
    _titles(canvas, out, ff, geo)
    _outputs(canvas, out, ff, geo)
    return out


def _mesh(out: np.ndarray, geo: _Geometry) -> None:
    """A few neurons of each layer joined to a few of the next: every one feeds every one."""
    for c in range(len(geo.counts) - 1):
        left = np.linspace(0, geo.counts[c] - 1, min(MESH_SAMPLES, geo.counts[c])).round()
        right = np.linspace(0, geo.counts[c + 1] - 1, min(MESH_SAMPLES, geo.counts[c + 1])).round()
        xa, xb = geo.xs[c] + geo.col_w, geo.xs[c + 1] - 1
        for a in left.astype(int):
            for b in right.astype(int):
                ya, yb = geo.centre(c, a), geo.centre(c + 1, b)
                cv2.line(out, (xa, ya), (xb, yb), (*MESH, 255), 1, cv2.LINE_AA)


def _fan(
    canvas: Canvas, out: np.ndarray, ff: FeedforwardResult, geo: _Geometry, terms: int
) -> None:
    """Every input of the written-out neuron, a line each: red adds, blue takes away, grey
    is an input of 0 (its weight adds nothing); the terms written out are thicker."""
    run = ff.runs[ff.layer]
    c = ff.layer
    xa, xb = geo.xs[c] + geo.col_w, geo.xs[c + 1] - 1
    yb = geo.centre(c + 1, ff.neuron)
    peak = float(np.abs(ff.products).max()) or 1.0
    shown_terms = set(ff.order[:terms].tolist())
    # Weakest first, so the strong lines are drawn over the weak ones.
    for i in ff.order[::-1].tolist():
        p = float(ff.products[i])
        if run.x[i] == 0:
            colour = ZERO_INPUT
        else:
            colour = _towards(cells.signed_colour(p, peak), 0.3 + 0.7 * abs(p) / peak)
        thick = canvas.px(2) if i in shown_terms else 1
        cv2.line(out, (xa, geo.centre(c, i)), (xb, yb), (*colour, 255), thick, cv2.LINE_AA)


def _towards(colour: tuple[int, int, int], t: float) -> tuple[int, int, int]:
    """``colour`` brightened by ``t`` (0..1) from the background, so strong terms stand out."""
    lift = tuple(min(255, round(v * 1.6)) for v in colour)
    return tuple(round(VIEW_BG[i] + (lift[i] - VIEW_BG[i]) * t) for i in range(3))


def _column(out: np.ndarray, geo: _Geometry, c: int, values: np.ndarray, *, signed: bool) -> None:
    """One layer's neurons as cells, each as bright as its output (the last layer's scores:
    red above zero, blue below)."""
    peak = float(np.abs(values).max()) or 1.0
    base = INPUT_COLOUR if c == 0 else DENSE_COLOUR
    x0 = geo.xs[c]
    for i, v in enumerate(values.tolist()):
        y0, y1 = geo.cell(c, i)
        if signed:
            colour = cells.signed_colour(v, peak)
        else:
            t = min(1.0, max(0.0, v / peak))
            colour = tuple(round(40 + (base[k] - 40) * t) for k in range(3))
        out[y0 : y1 + 1, x0 : x0 + geo.col_w] = (*colour, 255)


def _input_picture(canvas: Canvas, out: np.ndarray, ff: FeedforwardResult, geo: _Geometry) -> None:
    """The 28x28 input at the left, its size above it, and the arrow that makes the first
    layer's inputs of it."""
    side = geo.picture
    narrow = _narrow(canvas)  # no room for the arrow's label: the caption takes its place
    width = geo.xs[0] - canvas.px(4) if narrow else side
    caption = [
        Line(tr("input"), SMALL, GREY, True),
        Line(f"28×28 = {ff.tensor.size} px", SMALL, GREY),
    ]
    text = cells.tight(canvas, caption, width)
    # Centred on the columns' middle, unless its caption would then leave the diagram.
    top = max(geo.top + geo.height // 2 - side // 2, geo.top + text.shape[0] + canvas.px(4))
    ay = top + side // 2
    blit(out, text[:, :width], 0, top - text.shape[0] - canvas.px(2))
    digit = (np.clip(ff.tensor, 0, 1) * 255).astype(np.uint8)
    cells.put_grey(out, cv2.resize(digit, (side, side), interpolation=cv2.INTER_NEAREST), 0, top)
    cv2.arrowedLine(
        out, (side + canvas.px(4), ay), (geo.xs[0] - canvas.px(4), ay), (*GREY, 255),
        canvas.px(2), cv2.LINE_AA, tipLength=0.2,
    )  # fmt: skip
    if not narrow:
        gap = geo.xs[0] - side - canvas.px(6)
        label = cells.tight(canvas, [Line(tr("conv + pool"), SMALL, GREY)], gap)
        blit(out, label[:, :gap], side + canvas.px(4), ay - label.shape[0] - canvas.px(3))


def _details(canvas: Canvas, ff: FeedforwardResult, geo: _Geometry) -> list[np.ndarray]:
    """Under each column: its size, activation and parameters (drawn, not placed yet)."""
    shape = "×".join(str(d) for d in ff.source_shape)
    inputs = [tr("{n} inputs").format(n=ff.runs[0].x.size), f"{ff.source} {shape}"]
    columns = [inputs[:1] if _narrow(canvas) else inputs]
    for run in ff.runs:
        # The last layer's scores go through softmax (the percentages on the right).
        kind = shown(run.activation) if run.activation != "none" else "softmax"
        params = tr("{n} params").format(n=cells.count_text(run.w.size + run.b.size))
        details = [tr("{n} neurons").format(n=run.a.size), kind, params]
        # A 4:3 screen has room for the size only (the sum on the right names f).
        columns.append(details[:1] if _narrow(canvas) else details)
    width = round(geo.step) - canvas.px(4)
    panels = []
    for details in columns:
        lines = [Line(d, SMALL, WHITE if i == 0 else GREY) for i, d in enumerate(details)]
        panels.append(cells.tight(canvas, lines, width)[:, :width])
    return panels


def _titles(canvas: Canvas, out: np.ndarray, ff: FeedforwardResult, geo: _Geometry) -> None:
    """Each column's name above it, and arrows between them: the way information flows."""
    names = [("x", INPUT_COLOUR)] + [(run.name, DENSE_COLOUR) for run in ff.runs]
    ay = geo.title_h // 2
    for c in range(len(names) - 1):
        a, b = geo.xs[c] + geo.col_w + canvas.px(14), geo.xs[c + 1] - canvas.px(14)
        cv2.arrowedLine(out, (a, ay), (b, ay), (*GREY, 255), canvas.px(1), cv2.LINE_AA,
                        tipLength=min(0.5, canvas.px(8) / max(1, b - a)))  # fmt: skip
    for c, (name, colour) in enumerate(names):
        title = cells.text(canvas, [Line(name, BODY, colour, True)])
        blit(out, title, geo.xs[c] + geo.col_w // 2 - title.shape[1] // 2, 0)


def _outputs(canvas: Canvas, out: np.ndarray, ff: FeedforwardResult, geo: _Geometry) -> None:
    """Right of the last layer: each output's digit and its softmax probability (only the
    answer's when the cells are lower than a line of text, on a short 4:3 diagram)."""
    c = len(geo.counts) - 1
    x = geo.xs[c] + geo.col_w + canvas.px(7)  # clear of the written-out neuron's outline
    best = int(np.argmax(ff.probs))
    width = out.shape[1] - x
    line_h = cells.tight(canvas, [Line("0 0%", SMALL)], width).shape[0]
    # A line's box has room above and below the figures: three quarters of it will do.
    every = geo.height / geo.counts[c] >= 0.75 * line_h
    for d, p in enumerate(ff.probs.tolist()):
        if d != best and not every:
            continue
        y0, y1 = geo.cell(c, d)
        colour = GREEN if d == best else GREY
        text = f"{d} {round(100 * p)}%"
        label = cells.cell(canvas, text, (width, max(y1 - y0 + 1, line_h)), VIEW_BG, font=SMALL,
                           fg=colour)  # fmt: skip
        blit(out, label, x, (y0 + y1) // 2 - label.shape[0] // 2)


def _weighted_sum(
    canvas: Canvas, layer: np.ndarray, ff: FeedforwardResult, area: tuple[int, int, int, int]
) -> int:
    """The written-out neuron: who it is, its largest terms in a table (as many as fit, at
    most ``TERMS_SHOWN``), the rest summed, the bias, z and the activation. Returns how
    many terms the table shows."""
    x, y, w, h = area
    head = cells.text(canvas, _sum_head(ff), width=w, volatile=True)
    tail = cells.text(canvas, _sum_tail(ff, TERMS_SHOWN, _narrow(canvas)), width=w, volatile=True)
    row_h = canvas.px(19)
    room = (h - head.shape[0] - tail.shape[0] - canvas.px(8)) // row_h - 1
    terms = min(TERMS_SHOWN, max(1, room))
    if terms != TERMS_SHOWN:
        tail = cells.text(canvas, _sum_tail(ff, terms, _narrow(canvas)), width=w, volatile=True)
    blit(layer, head[:, :w], x, y)
    y += head.shape[0] + canvas.px(2)
    run = ff.runs[ff.layer]
    peak = float(np.abs(ff.products).max()) or 1.0
    xpeak = float(np.abs(run.x).max()) or 1.0
    texts = [["i", "xᵢ", "wᵢ", "wᵢ·xᵢ"]]
    colours = [[(44, 46, 54)] * 4]
    for i in ff.order[:terms].tolist():
        xi, wi, p = float(run.x[i]), float(run.w[i, ff.neuron]), float(ff.products[i])
        texts.append([str(i + 1), cells.value_text(xi), cells.value_text(wi), cells.value_text(p)])
        colours.append(
            [(44, 46, 54), cells.grey_of(xi / xpeak), cells.signed_colour(wi, 1.0),
             cells.signed_colour(p, peak)]
        )  # fmt: skip
    step = (min(canvas.px(62), w // 4), row_h)
    _, gh = cells.grid(canvas, layer, texts, colours, (x, y), step, font=0.45)
    blit(layer, tail[:, :w], x, y + gh + canvas.px(4))
    return terms


def _sum_head(ff: FeedforwardResult) -> list[Line]:
    run = ff.runs[ff.layer]
    n = run.a.size
    if run.activation == "none" and n == ff.probs.size:
        who = tr("{layer}: the output for digit {d}").format(layer=run.name, d=ff.neuron)
    elif ff.rank == 0:
        who = tr("{layer}: neuron {j} (the strongest)").format(layer=run.name, j=ff.neuron + 1)
    else:
        who = tr("{layer}: neuron {j} (rank {r})").format(
            layer=run.name, j=ff.neuron + 1, r=ff.rank + 1
        )
    source = ff.source if ff.layer == 0 else ff.runs[ff.layer - 1].name
    inputs = tr("inputs xᵢ: the {n} outputs of {src}").format(n=run.x.size, src=source)
    return [Line(who, BODY, CYAN, True), Line(inputs, SMALL, WHITE)]


def _sum_tail(ff: FeedforwardResult, shown_terms: int, narrow: bool) -> list[Line]:
    # On a narrow screen z's formula (the banner's) would take a second line.
    z_is = "z =" if narrow else "z = Σᵢ wᵢ·xᵢ + b ="
    run = ff.runs[ff.layer]
    j = ff.neuron
    terms = ff.order[:shown_terms].tolist()
    rest = float(ff.products.sum(dtype=np.float64)) - sum(float(ff.products[i]) for i in terms)
    zeros = int(np.count_nonzero(run.x == 0))
    other = tr("+ {k} more terms: {v} ({z} with xᵢ = 0)").format(
        k=run.x.size - len(terms), z=zeros, v=cells.value_text(rest, 3)
    )
    lines = [
        Line(other, SMALL, WHITE),
        Line(f"+ b = {cells.value_text(float(run.b[j]), 3)}", SMALL, WHITE),
        Line(f"{z_is} {cells.value_text(float(run.z[j]), 3)}", 0.7, GREEN, True),
    ]
    if run.activation != "none":
        a = cells.value_text(float(run.a[j]), 3)
        lines.append(Line(f"a = {shown(run.activation)}(z) = {a}", 0.7, AMBER, True))
    else:
        p = round(100 * float(ff.probs[j]))
        softmax = tr("no activation: softmax of the ten scores: {p}%").format(p=p)
        lines.append(Line(softmax, BODY, AMBER, True))
    return lines
