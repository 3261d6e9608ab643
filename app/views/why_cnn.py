"""Why a CNN: what a dense layer would cost on this picture, what a conv layer costs, and the
shift test (the digit moved: the maps move with it, the answer stays).

The slide's count, live: weights = pixels x colours x neurons, for the camera's picture;
against it LeNet's first layer on the same picture: 6 kernels of 5 x 5 x colours, the
same weights at every position. The properties the course lists (local connections,
shared kernels, translation, less compute) are each one line with its number.
"""

from __future__ import annotations

from dataclasses import replace

import cv2
import numpy as np

from app.colormaps import VIRIDIS
from app.i18n import N_, tr
from app.stages.results import FrameResults, WhyCnnResult
from app.state import ViewState
from app.views import cells
from app.views.base import BODY, MARGIN, SMALL, Body, Canvas, View
from app.views.draw import AMBER, CYAN, GREEN, GREY, RED, VIEW_BG, WHITE, Line, blit, to_rgba

#: The dense layer of the slide's count, and the conv layer set against it (LeNet's conv1).
DENSE_NEURONS = 100
CONV_FILTERS, CONV_KERNEL = 6, 5


def layer_costs(picture: tuple[int, int, int]) -> dict[str, int]:
    """Weights and multiply-adds of a dense and a conv layer on a (h, w, colours) picture.

    ``dense``: pixels x colours x ``DENSE_NEURONS`` weights (one multiply-add each);
    ``conv``: ``CONV_FILTERS`` kernels of ``CONV_KERNEL`` x ``CONV_KERNEL`` x colours,
    ``conv_macs`` for every position ("same" padding, stride 1); ``dense_same``: the
    weights of a dense layer with as many outputs as the conv layer (6 maps of h x w).
    """
    h, w, c = picture
    inputs = h * w * c
    conv = CONV_KERNEL * CONV_KERNEL * c * CONV_FILTERS
    return {
        "inputs": inputs,
        "dense": inputs * DENSE_NEURONS,
        "conv": conv,
        "conv_macs": conv * h * w,
        "dense_same": inputs * CONV_FILTERS * h * w,
    }


#: Exponents written as superscripts: ``10¹²``.
SUPERSCRIPT = str.maketrans("0123456789", "⁰¹²³⁴⁵⁶⁷⁸⁹")


def big_number(n: int) -> str:
    """``92,160,000`` as is up to a billion, then ``1.7 × 10¹²``."""
    if n < 10**9:
        return cells.count_text(n)
    exponent = len(str(n)) - 1
    return f"{n / 10**exponent:.1f} × 10{str(exponent).translate(SUPERSCRIPT)}"


class WhyCnnView(View):
    """A dense layer's cost against a conv layer's on this picture, and the shift test."""

    name = "why"
    title = N_("WHY A CNN?")
    key = "3"
    description = N_("why a CNN?")
    stages = ("digit", "why")
    probe_limit = (6, 6)

    def draw(
        self, canvas: Canvas, layer: np.ndarray, state: ViewState, results: FrameResults, body: Body
    ) -> None:
        m = canvas.px(MARGIN)
        why = results.why
        x, y = m, body.top + m
        w, h = canvas.width - 2 * m, body.bottom - body.top - 2 * m
        if why is None:
            note = Line(tr("no picture size: the why stage is off or failed"), BODY, AMBER)
            blit(layer, cells.text(canvas, [note]), x, y)
            return
        left_w = w * 52 // 100
        _costs(canvas, layer, why.picture, (x, y, left_w, h))
        rx = x + left_w + canvas.px(14)
        _shift_test(canvas, layer, why, (rx, y, x + w - rx, h))


def _costs(
    canvas: Canvas,
    layer: np.ndarray,
    picture: tuple[int, int, int],
    area: tuple[int, int, int, int],
) -> None:
    x, y, w, h = area
    bottom = y + h
    costs = layer_costs(picture)
    ph, pw, c = picture
    dense = tr("dense layer: {w} × {h} pixels × {c} colours × {n} neurons").format(
        w=pw, h=ph, c=c, n=DENSE_NEURONS
    )
    conv = tr("conv layer: {f} kernels of {k} × {k} × {c}, the same at every pixel").format(
        f=CONV_FILTERS, k=CONV_KERNEL, c=c
    )
    lines = [
        Line(tr("Weights on this picture"), BODY, CYAN, True),
        Line(dense, SMALL, WHITE),
        Line(tr("= {n} weights").format(n=big_number(costs["dense"])), 0.62, RED, True),
        Line(conv, SMALL, WHITE),
        Line(
            tr("= {n} weights (+ {b} biases)").format(n=big_number(costs["conv"]), b=CONV_FILTERS),
            0.7,
            GREEN,
            True,
        ),
    ]
    panel = cells.text(canvas, lines, width=w)
    blit(layer, panel[:, :w], x, y)
    y += panel.shape[0] + canvas.px(4)
    y = _log_bars(canvas, layer, costs, (x, y, w))
    props = [
        Line(tr("What a conv layer does differently"), BODY, CYAN, True),
        Line(
            tr("local connections: each output sees {k} × {k} neighbours").format(k=CONV_KERNEL),
            BODY,
        ),
        Line(
            tr("shared kernels: {n} weights slide over every position").format(n=costs["conv"]),
            BODY,
        ),
        Line(tr("translation: the digit moves, the maps move with it (right)"), BODY),
        Line(
            tr("less compute: {a} multiply-adds; a dense layer with as many outputs: {b}").format(
                a=big_number(costs["conv_macs"]), b=big_number(costs["dense_same"])
            ),
            BODY,
        ),
    ]
    panel = cells.text(canvas, props, width=w)
    if y + canvas.px(6) + panel.shape[0] > bottom:
        # Spanish takes more lines: the properties in the smaller size keep above the footer.
        props = [props[0], *(replace(line, scale=SMALL) for line in props[1:])]
        panel = cells.text(canvas, props, width=w)
    blit(layer, panel[:, :w], x, y + canvas.px(6))


def _log_bars(
    canvas: Canvas, layer: np.ndarray, costs: dict[str, int], where: tuple[int, int, int]
) -> int:
    """Dense and conv weights as bars on a log scale (each tick x10); returns the y below."""
    x, y, w = where
    label_w = canvas.px(60)
    top = max(costs["dense"], 10)
    decades = int(np.ceil(np.log10(top)))
    scale = (w - label_w - canvas.px(8)) / decades
    bar_h = canvas.px(14)
    for i, (label, value, colour) in enumerate(
        ((tr("dense"), costs["dense"], RED), (tr("conv"), costs["conv"], GREEN))
    ):
        by = y + i * (bar_h + canvas.px(5))
        blit(
            layer,
            cells.text(canvas, [Line(label, SMALL, colour, True)], width=label_w)[:, :label_w],
            x,
            by - canvas.px(2),
        )
        length = max(2, round(np.log10(max(value, 1)) * scale))
        cv2.rectangle(
            layer, (x + label_w, by), (x + label_w + length, by + bar_h), (*colour, 255), -1
        )
    ty = y + 2 * (bar_h + canvas.px(5))
    for d in range(decades + 1):
        tx = x + label_w + round(d * scale)
        cv2.line(layer, (tx, y - canvas.px(2)), (tx, ty - canvas.px(3)), (*GREY, 255), 1)
    note = cells.text(canvas, [Line(tr("log scale: each tick is ×10"), SMALL, GREY)])
    blit(layer, note, x + w - note.shape[1], ty - canvas.px(2))
    return ty + note.shape[0] - canvas.px(4)


def _shift_test(
    canvas: Canvas, layer: np.ndarray, why: WhyCnnResult, area: tuple[int, int, int, int]
) -> None:
    """The digit and the shifted digit, their conv1 maps and the network's answers."""
    x, y, w, h = area
    dx, dy = why.shift
    title = tr("Shift test: the digit moved {dx} px right, {dy} px down").format(dx=dx, dy=dy)
    head = cells.text(canvas, [Line(title, 0.6, CYAN, True)], width=w)
    blit(layer, head[:, :w], x, y)
    y += head.shape[0]
    if why.tensor is None or why.maps is None or why.shifted_maps is None:
        note = Line(tr("no digit in the ROI: hold one up to the camera"), BODY, AMBER)
        blit(layer, cells.text(canvas, [note], width=w)[:, :w], x, y)
        return
    col_w = (w - canvas.px(10)) // 2
    answers_h = canvas.px(80)
    room = h - head.shape[0] - answers_h - canvas.px(30)
    side = min(col_w * 6 // 10, room * 45 // 100)
    tile = min((col_w - 2 * canvas.px(3)) // 3, (room - side - canvas.px(8)) // 2)
    for i, caption in enumerate((tr("the digit"), tr("moved"))):
        label = cells.text(canvas, [Line(caption, BODY, WHITE, True)], width=col_w)
        blit(layer, label[:, :col_w], x + i * (col_w + canvas.px(10)), y)
    # The pictures change when the stage's numbers do (every few frames): drawn then, kept.
    key = ("shift", col_w, side, tile, *(hash(a.tobytes()) for a in _arrays(why)))
    pictures = cells.cached(canvas, key, lambda: _pictures(canvas, why, col_w, side, tile))
    blit(layer, pictures, x, y + canvas.px(24))  # one caption height: the pictures line up
    assert why.probs is not None and why.shifted_probs is not None
    answers = [(int(np.argmax(p)), float(np.max(p))) for p in (why.probs, why.shifted_probs)]
    _answers(canvas, layer, answers, (x, area[1] + h - answers_h, w))


def _arrays(why: WhyCnnResult) -> tuple[np.ndarray, ...]:
    return tuple(a for a in (why.tensor, why.shifted, why.maps, why.shifted_maps) if a is not None)


def _pictures(canvas: Canvas, why: WhyCnnResult, col_w: int, side: int, tile: int) -> np.ndarray:
    """The two columns: each digit, then its six conv1 maps (one scale for all twelve), the
    picture's middle marked."""
    gap = canvas.px(3)
    out = np.empty((side + canvas.px(6) + 2 * (tile + gap), 2 * col_w + canvas.px(10), 4), np.uint8)
    out[:] = (*VIEW_BG, 255)
    assert why.maps is not None and why.shifted_maps is not None
    peak = max(float(why.maps.max()), float(why.shifted_maps.max()), 1e-6)
    for i, (tensor, maps) in enumerate(((why.tensor, why.maps), (why.shifted, why.shifted_maps))):
        cx = i * (col_w + canvas.px(10))
        digit = (np.clip(tensor, 0, 1) * 255).astype(np.uint8)
        blit(out, to_rgba(cv2.resize(digit, (side, side), interpolation=cv2.INTER_NEAREST)), cx, 0)
        cv2.line(out, (cx + side // 2, 0), (cx + side // 2, side), (*AMBER, 255), 1)
        for c in range(maps.shape[2]):
            tx, ty = cx + (c % 3) * (tile + gap), side + canvas.px(6) + (c // 3) * (tile + gap)
            levels = (np.clip(maps[:, :, c] / peak, 0, 1) * 255).astype(np.uint8)
            colour = cv2.cvtColor(VIRIDIS[levels], cv2.COLOR_BGR2RGBA)
            blit(out, cv2.resize(colour, (tile, tile), interpolation=cv2.INTER_NEAREST), tx, ty)
            cv2.line(out, (tx + tile // 2, ty), (tx + tile // 2, ty + tile - 1), (*AMBER, 255), 1)
    return out


def _answers(
    canvas: Canvas, layer: np.ndarray, answers: list[tuple[int, float]], where: tuple[int, int, int]
) -> None:
    x, y, w = where
    (a, pa), (b, pb) = answers
    same = a == b
    verdict = tr("the answer stays") if same else tr("the answer changed")
    lines = [
        Line(tr("conv1 maps (6 channels); amber line: the picture's middle"), SMALL, GREY),
        Line(
            tr("network: {a} ({pa}%) → {b} ({pb}%): {v}").format(
                a=a, pa=round(100 * pa), b=b, pb=round(100 * pb), v=verdict
            ),
            0.6,
            GREEN if same else AMBER,
            True,
        ),
        Line(tr("arrows: move the digit"), SMALL, GREY),
    ]
    blit(layer, cells.text(canvas, lines, width=w, volatile=True)[:, :w], x, y)
