"""LeNet: the architecture as a strip (shapes, parameters, receptive fields, live maps),
its history (1989, 1998) and where this trained model stands on the same test set.

Every number comes from the model's spec and its files (``NetworkResult``): shapes and
parameter counts from the spec, the test figures from ``lenet_metrics.json``. The only
numbers written here are the published ones of 1998.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar

import cv2
import numpy as np

from app.i18n import N_, tr
from app.stages.results import FrameResults, NetworkResult
from app.state import ProbeRange, ViewState
from app.views import cells
from app.views.base import BODY, MARGIN, SMALL, Body, Canvas, View
from app.views.draw import AMBER, CYAN, GREEN, GREY, PANEL_BG, WHITE, Line, blit
from app.views.feedforward import draw_feedforward
from app.views.words import shown

#: LeNet-5's published MNIST test error (LeCun, Bottou, Bengio, Haffner 1998), in %.
LENET5_ERROR_PERCENT = 0.95
#: Block colours by layer type (RGB).
KIND_COLOURS = {"input": (170, 170, 175), "conv": (90, 210, 255), "pool": (90, 230, 110),
                "flatten": (150, 150, 160), "dense": (255, 190, 60)}  # fmt: skip


class LeNetView(View):
    """The LeNet-5 strip, its history card and this model's test figures; mode 1, its
    dense layers as a feedforward network on the digit (``app.views.feedforward``)."""

    name = "lenet"
    title = N_("LeNet-5")
    key = "9"
    description = N_("LeNet-5: architecture and history")
    stages = ("digit", "network")
    modes = (N_("architecture and history"), N_("feedforward: the dense layers"))
    mode_stages: ClassVar[dict[int, tuple[str, ...]]] = {1: ("digit", "network", "dense")}
    probe_limit = (2, 119)
    probe_edge = N_("no neuron further that way")

    def probe_bounds(self, state: ViewState, results: FrameResults) -> ProbeRange | None:
        """Mode 1 with a digit: the layers (columns) and their neurons by rank (rows);
        otherwise no point: the arrows move the ROI onto the digit."""
        if state.mode != 1 or results.dense is None:
            return None
        return results.dense.probe_range

    def draw(
        self, canvas: Canvas, layer: np.ndarray, state: ViewState, results: FrameResults, body: Body
    ) -> None:
        m = canvas.px(MARGIN)
        network = results.network
        x, y, w = m, body.top + m, canvas.width - 2 * m
        if state.mode == 1:
            area = (x, y, w, body.bottom - y - m)
            draw_feedforward(canvas, layer, state, results.dense, area)
            return
        if network is None or network.spec is None:
            problem = network.problems[0] if network is not None and network.problems else ""
            lines = [Line(tr("no network description: models/lenet.npz unreadable"), BODY, AMBER)]
            lines += [Line(problem, SMALL, GREY)] if problem else []
            blit(layer, cells.text(canvas, lines), x, y)
            return
        digit = results.digit
        layers = dict(digit.layers) if digit is not None else {}
        tensor = (
            None
            if digit is None
            else (digit.layers_tensor if digit.layers_tensor is not None else digit.tensor)
        )
        if tensor is not None:
            layers["input"] = np.asarray(tensor, np.float32)
        strip_h = (body.bottom - y) * 50 // 100
        _strip(canvas, layer, network, layers, (x, y, w, strip_h))
        y += strip_h + canvas.px(6)
        half = (w - canvas.px(12)) // 2
        _history(canvas, layer, (x, y, half))
        _this_model(canvas, layer, network, (x + half + canvas.px(12), y, w - half - canvas.px(12)))


def _blocks(network: NetworkResult) -> list[tuple[str, str, tuple[int, ...], int, int | None]]:
    """(name, kind, output shape, parameters, field size) for the input and every layer."""
    spec = network.spec or {}
    params = dict(network.params)
    fields = dict(network.fields)
    blocks = [(tr("input"), "input", tuple(spec.get("input_shape", (28, 28, 1))), 0, None)]
    for layer, (name, shape) in zip(spec.get("layers", []), network.shapes, strict=False):
        if layer["type"] == "flatten":  # a reshape: said under the block before it
            continue
        field = fields.get(name)
        blocks.append(
            (name, layer["type"], shape, params.get(name, 0), field[0] if field else None)
        )
    return blocks


def _strip(
    canvas: Canvas,
    layer: np.ndarray,
    network: NetworkResult,
    live: Mapping[str, np.ndarray],
    area: tuple[int, int, int, int],
) -> None:
    """One block per layer, left to right, with arrows; the total under them."""
    x, y, w, h = area
    blocks = _blocks(network)
    gap = canvas.px(10)
    bw = (w - gap * (len(blocks) - 1)) // len(blocks)
    text_h = canvas.px(84)
    pic_h = h - text_h - canvas.px(26)
    dense: list[tuple[int, int, int, int]] = []
    for i, (name, kind, shape, count, field) in enumerate(blocks):
        bx = x + i * (bw + gap)
        _block_picture(
            canvas,
            layer,
            kind,
            shape,
            live.get("input" if kind == "input" else name),
            (bx, y, bw, pic_h),
        )
        lines = [
            Line(name, BODY, KIND_COLOURS[kind], True),
            Line("x".join(map(str, shape)), SMALL, WHITE),
        ]
        if count:
            lines.append(Line(tr("{n} params").format(n=cells.count_text(count)), SMALL, GREY))
        if field:
            lines.append(Line(tr("field {r}x{r}").format(r=field), SMALL, GREY))
        # The text may use the gap to the next block too (the arrows are higher up).
        tw = bw + gap - canvas.px(2)
        box = blit(layer, cells.text(canvas, lines, width=tw)[:, :tw], bx, y + pic_h + canvas.px(2))
        if kind == "dense":
            dense.append(box)
        if i:
            ay = y + pic_h // 2
            cv2.arrowedLine(
                layer, (bx - gap + 1, ay), (bx - 2, ay), (*GREY, 255), canvas.px(2), tipLength=0.5
            )
    _dense_hint(canvas, layer, dense, y + h - canvas.px(24))
    total = sum(n for _, n in network.params)
    biggest, most = max(network.params, key=lambda item: item[1]) if network.params else ("", 0)
    line = Line(
        tr("{total} parameters in all; {name} alone has {n} ({p}%)").format(
            total=cells.count_text(total),
            name=biggest,
            n=cells.count_text(most),
            p=round(100 * most / max(1, total)),
        ),
        0.6,
        GREEN,
        True,
    )
    blit(layer, cells.text(canvas, [line], width=w)[:, :w], x, y + h - canvas.px(24))


def _dense_hint(
    canvas: Canvas, layer: np.ndarray, boxes: list[tuple[int, int, int, int]], limit: int
) -> None:
    """Under the dense layers' texts (``boxes``, x0, y0, x1, y1), the key that shows them at
    work, when it fits above ``limit``."""
    if not boxes:
        return
    # From the texts' last line: their panels end in a margin of background.
    top = max(b[3] for b in boxes) - canvas.px(5)
    x0, width = boxes[0][0] + canvas.px(5), boxes[-1][2] - boxes[0][0]
    hint = Line(tr("m: these dense layers at work"), SMALL, CYAN)
    text = cells.tight(canvas, [hint], width)
    if top + text.shape[0] <= limit:
        blit(layer, text[:, :width], x0, top)


def _block_picture(
    canvas: Canvas,
    layer: np.ndarray,
    kind: str,
    shape: tuple[int, ...],
    live: np.ndarray | None,
    area: tuple[int, int, int, int],
) -> None:
    """A stack of maps (h, w, c) as offset squares, the first channel live on the front;
    a vector (n,) as a bar with its length; sizes on a square-root scale."""
    x, y, w, h = area
    colour = KIND_COLOURS[kind]
    if len(shape) == 3:
        side = max(canvas.px(10), round(min(w, h) * 0.72 * np.sqrt(shape[0] / 28)))
        depth = min(shape[2], 8)
        step = max(1, (min(w, h) - side) // max(1, depth))
        for d in range(depth - 1, -1, -1):
            ox, oy = x + d * step, y + (depth - 1 - d) * step
            cv2.rectangle(layer, (ox, oy), (ox + side, oy + side), (*PANEL_BG, 255), -1)
            cv2.rectangle(layer, (ox, oy), (ox + side, oy + side), (*colour, 255), 1)
        front = _front_face(live, shape, side)
        if front is not None:
            oy = y + (depth - 1) * step
            layer[oy + 1 : oy + side, x + 1 : x + side] = front[: side - 1, : side - 1]
        return
    n = shape[0] if shape else 1
    bar_h = max(canvas.px(6), round(h * 0.9 * np.sqrt(n / 400)))
    bx = x + w // 2 - canvas.px(7)
    cv2.rectangle(layer, (bx, y + h - bar_h), (bx + canvas.px(14), y + h - 1), (*colour, 255), -1)


def _front_face(live: np.ndarray | None, shape: tuple[int, ...], side: int) -> np.ndarray | None:
    """(side, side, 4) RGBA: channel 0 of a live (h, w, c) activation, or of the input."""
    if live is None:
        return None
    plane = live[:, :, 0] if live.ndim == 3 else live
    peak = float(plane.max()) or 1.0
    grey = (np.clip(plane / peak, 0, 1) * 255).astype(np.uint8)
    grey = cv2.resize(grey, (side, side), interpolation=cv2.INTER_NEAREST)
    return cv2.cvtColor(grey, cv2.COLOR_GRAY2RGBA)


def _history(canvas: Canvas, layer: np.ndarray, where: tuple[int, int, int]) -> None:
    x, y, w = where
    lines = [
        Line(tr("History"), BODY, CYAN, True),
        Line(tr("1989: LeCun and colleagues read handwritten ZIP codes"), SMALL, WHITE, True),
        Line(tr("with a convolutional network trained by backpropagation"), SMALL, GREY),
        Line(tr("1998: LeNet-5 (LeCun, Bottou, Bengio, Haffner) on MNIST"), SMALL, WHITE, True),
        Line(
            tr("test error {e}%, about 99% right").format(e=f"{LENET5_ERROR_PERCENT:.2f}"),
            BODY,
            GREEN,
            True,
        ),
        Line(tr('(the slide\'s "95%" should read "0.95% error")'), SMALL, AMBER),
    ]
    blit(layer, cells.text(canvas, lines, width=w)[:, :w], x, y)


def _this_model(
    canvas: Canvas, layer: np.ndarray, network: NetworkResult, where: tuple[int, int, int]
) -> None:
    """This model's test accuracy and error beside LeNet-5's, as bars of error."""
    x, y, w = where
    metrics = network.metrics
    accuracy = metrics.get("test_accuracy")
    lines = [Line(tr("This model, the same MNIST test set"), BODY, CYAN, True)]
    spec_layers = (network.spec or {}).get("layers", [])
    conv = next((layer for layer in spec_layers if layer["type"] == "conv"), None)
    pool = next((layer for layer in spec_layers if layer["type"] == "pool"), None)
    if conv is not None and pool is not None:
        how = tr("{act} and {pool} pooling, trained with NumPy here").format(
            act=shown(conv["activation"]), pool=shown(pool["mode"])
        )
        lines.append(Line(how, SMALL, GREY))
    if not isinstance(accuracy, (int, float)):
        lines.append(Line(tr("no test figures: lenet_metrics.json unreadable"), BODY, AMBER))
        blit(layer, cells.text(canvas, lines, width=w)[:, :w], x, y)
        return
    error = 100.0 * (1.0 - float(accuracy))
    errors, n = metrics.get("test_errors"), metrics.get("test_n")
    lines.append(
        Line(
            tr("{a}% right: test error {e}%").format(a=f"{100 * accuracy:.2f}", e=f"{error:.2f}"),
            BODY,
            GREEN,
            True,
        )
    )
    if isinstance(errors, (int, float)) and isinstance(n, (int, float)):
        lines.append(
            Line(
                tr("{k} wrong of {n} test digits").format(
                    k=int(errors), n=cells.count_text(int(n))
                ),
                SMALL,
                WHITE,
            )
        )
    panel = cells.text(canvas, lines, width=w)
    blit(layer, panel[:, :w], x, y)
    _error_bars(canvas, layer, error, (x, y + panel.shape[0] + canvas.px(6), w))


def _error_bars(
    canvas: Canvas, layer: np.ndarray, error: float, where: tuple[int, int, int]
) -> None:
    """Two bars of test error, on one scale: LeNet-5 (1998) and this model."""
    x, y, w = where
    label_w = canvas.px(120)
    scale = (w - label_w - canvas.px(70)) / max(LENET5_ERROR_PERCENT, error)
    bar_h = canvas.px(16)
    for i, (label, value, colour) in enumerate(
        ((tr("LeNet-5, 1998"), LENET5_ERROR_PERCENT, GREY), (tr("this model"), error, GREEN))
    ):
        by = y + i * (bar_h + canvas.px(8))
        blit(
            layer,
            cells.text(canvas, [Line(label, SMALL, WHITE)], width=label_w)[:, :label_w],
            x,
            by,
        )
        length = max(1, round(value * scale))
        cv2.rectangle(
            layer, (x + label_w, by + 2), (x + label_w + length, by + bar_h), (*colour, 255), -1
        )
        figure = cells.text(canvas, [Line(f"{value:.2f}%", SMALL, colour, True)])
        blit(layer, figure, x + label_w + length + canvas.px(4), by)
