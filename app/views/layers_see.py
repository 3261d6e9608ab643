"""What the layers see: for each conv1 and conv2 channel, the MNIST patches that excite it
most, beside its live map; conv1's learned kernels drawn large.

The patches are the channel's receptive field (5x5 px for conv1, 14x14 px for conv2)
cut from the MNIST test images whose strongest unit is strongest, computed offline
(``training.top_patches``, shipped as ``models/lenet_top_patches.npz``). Mode 0 shows
conv1 (edges and strokes), mode 1 conv2 (corners, curves, pieces of digits).
"""

from __future__ import annotations

from collections.abc import Mapping

import cv2
import numpy as np

from app.colormaps import DIVERGING, VIRIDIS
from app.i18n import N_, tr
from app.stages.results import FrameResults, NetworkResult
from app.state import ViewState
from app.views import cells
from app.views.base import BODY, MARGIN, SMALL, Body, Canvas, View
from app.views.draw import AMBER, CYAN, GREY, VIEW_BG, WHITE, Line, blit

#: Patches shown per channel (the file keeps up to 9).
PATCHES = {"conv1": 9, "conv2": 6}
#: Channels per column: conv1's 6 in one column, conv2's 16 in two.
PER_COLUMN = {"conv1": 6, "conv2": 8}


class LayersSeeView(View):
    """Top-activating MNIST patches per channel beside the live maps, conv1 or conv2."""

    name = "layers"
    title = N_("WHAT THE LAYERS SEE")
    key = "t"
    description = N_("what the layers see")
    stages = ("digit", "network")
    modes = (N_("conv1"), N_("conv2"))

    def draw(
        self, canvas: Canvas, layer: np.ndarray, state: ViewState, results: FrameResults, body: Body
    ) -> None:
        m = canvas.px(MARGIN)
        x, y, w = m, body.top + m, canvas.width - 2 * m
        name = "conv2" if state.mode == 1 else "conv1"
        network = results.network
        if network is None or name not in network.top:
            problem = (
                network.problems[0] if network is not None and network.problems else ""
            ) or tr("no top patches: models/lenet_top_patches.npz missing")
            blit(layer, cells.text(canvas, [Line(problem, BODY, AMBER)], width=w)[:, :w], x, y)
            return
        lines = [Line(_headline(name, network), 0.6, CYAN, True), Line(_subline(name), SMALL, GREY)]
        head = cells.text(canvas, lines, width=w)
        blit(layer, head[:, :w], x, y)
        y += head.shape[0] + canvas.px(4)
        digit = results.digit
        live = digit.layers if digit is not None else {}
        h = body.bottom - m - y
        if name == "conv1":
            # conv1's rows leave room on the right: the digit those live maps come from.
            side = min(w * 28 // 100, h - canvas.px(30))
            tensor = None if digit is None else digit.layers_tensor
            _input(canvas, layer, tensor, (x + w - side, y, side))
            w -= side + canvas.px(16)
        _channels(canvas, layer, name, network, live, (x, y, w, h))


def _input(
    canvas: Canvas, layer: np.ndarray, tensor: np.ndarray | None, where: tuple[int, int, int]
) -> None:
    x, y, side = where
    head = cells.text(canvas, [Line(tr("the live input, 28x28"), SMALL, GREY)], width=side)
    blit(layer, head[:, :side], x, y)
    image = (
        np.zeros((28, 28), np.uint8)
        if tensor is None
        else (np.clip(tensor, 0, 1) * 255).astype(np.uint8)
    )
    tile = cv2.resize(image, (side, side), interpolation=cv2.INTER_NEAREST)
    blit(layer, cv2.cvtColor(tile, cv2.COLOR_GRAY2RGBA), x, y + head.shape[0])


def _headline(name: str, network: NetworkResult) -> str:
    size = dict(network.fields)[name][0]
    if name == "conv1":
        return tr("conv1 sees {r}x{r} px: edges and strokes in one direction").format(r=size)
    return tr("conv2 sees {r}x{r} px: corners, curves, pieces of digits").format(r=size)


def _subline(name: str) -> str:
    if name == "conv1":
        return tr(
            "each row: its learned kernel, its live map, the MNIST patches it likes most; m: conv2"
        )
    return tr("each row: its live map, then the MNIST patches it likes most; m: conv1")


def _channels(
    canvas: Canvas,
    layer: np.ndarray,
    name: str,
    network: NetworkResult,
    live: Mapping[str, np.ndarray],
    area: tuple[int, int, int, int],
) -> None:
    """One row per channel: kernel (conv1), live map, top patches; in one or two columns."""
    x, y, w, h = area
    top = network.top[name]
    channels = top.patches.shape[0]
    per_column = PER_COLUMN[name]
    columns = -(-channels // per_column)
    gap = canvas.px(14)
    col_w = (w - gap * (columns - 1)) // columns
    extra = 2 if name == "conv1" else 1  # the kernel (conv1) and the live map
    row_h = (h - canvas.px(20)) // per_column
    # PATCHES at least; more of the stored ones where the row's height, not its width,
    # limits the tiles (conv2 on a 16:9 screen): the width is filled, the tiles no smaller.
    fit = (col_w - canvas.px(40)) // (row_h - canvas.px(4) + canvas.px(3)) - extra
    count = min(max(PATCHES[name], fit), top.patches.shape[1])
    pieces = count + extra
    side = max(4, min(row_h - canvas.px(4), (col_w - canvas.px(40)) // pieces - canvas.px(3)))
    activation = live.get(name)
    weights = network.weights.get(name)
    peak = float(np.abs(weights).max()) if weights is not None else 1.0
    captions = ([tr("kernel")] if name == "conv1" else []) + [tr("map"), tr("MNIST patches")]
    for col in range(columns):
        px = x + col * (col_w + gap) + canvas.px(40)
        for caption in captions:
            text = cells.text(canvas, [Line(caption, SMALL, GREY)])
            # Each caption over its own column; one wider than its column (``map`` over
            # conv2's small maps) pushes the next one on, never under it.
            blit(layer, text[:, : max(1, min(text.shape[1], x + w - px))], px, y)
            px += max(side + canvas.px(8), text.shape[1] + canvas.px(10))
    y += canvas.px(20)
    for c in range(channels):
        cx = x + (c // per_column) * (col_w + gap)
        cy = y + (c % per_column) * row_h
        label = cells.text(canvas, [Line(str(c), BODY, WHITE, True)], width=canvas.px(36))
        blit(layer, label[:, : canvas.px(36)], cx, cy + (side - label.shape[0]) // 2)
        px = cx + canvas.px(40)
        if name == "conv1" and weights is not None:
            _kernel(canvas, layer, weights[:, :, 0, c], peak, (px, cy, side))
            px += side + canvas.px(8)
        _live_map(layer, activation, c, (px, cy, side))
        px += side + canvas.px(8)
        blit(layer, _patch_strip(canvas, name, top.patches[c, :count], side), px, cy)


def _patch_strip(canvas: Canvas, name: str, patches: np.ndarray, side: int) -> np.ndarray:
    """A channel's (k, r, r) patches side by side, zoomed to ``side`` px; drawn once."""
    gap = canvas.px(3)

    def make() -> np.ndarray:
        out = np.empty((side, len(patches) * (side + gap) - gap, 4), np.uint8)
        out[:] = (*VIEW_BG, 255)
        for k, patch in enumerate(patches):
            tile = cv2.resize(patch, (side, side), interpolation=cv2.INTER_NEAREST)
            cells.put_grey(out, tile, k * (side + gap), 0)
        return out

    return cells.cached(canvas, ("patches", name, patches.tobytes(), side), make)


def _kernel(
    canvas: Canvas, layer: np.ndarray, kernel: np.ndarray, peak: float, where: tuple[int, int, int]
) -> None:
    """A learned (k, k) kernel: blue negative, orange positive, on the shared scale."""
    x, y, side = where

    def make() -> np.ndarray:
        levels = np.clip((kernel / peak + 1.0) * 127.5, 0, 255).astype(np.uint8)
        tile = cv2.cvtColor(DIVERGING[levels], cv2.COLOR_BGR2RGBA)
        tile = cv2.resize(tile, (side, side), interpolation=cv2.INTER_NEAREST)
        step = side / kernel.shape[0]
        for i in range(1, kernel.shape[0]):  # thin gaps: every weight is its own square
            p = round(i * step)
            tile[:, p - 1 : p] = (20, 20, 24, 255)
            tile[p - 1 : p, :] = (20, 20, 24, 255)
        return tile

    blit(layer, cells.cached(canvas, ("learned", kernel.tobytes(), peak, side), make), x, y)


def _live_map(
    layer: np.ndarray, activation: np.ndarray | None, channel: int, where: tuple[int, int, int]
) -> None:
    """Channel ``channel`` of the live (h, w, c) activation in viridis, or a dark square."""
    x, y, side = where
    if activation is None or activation.ndim != 3 or channel >= activation.shape[2]:
        layer[y : y + side, x : x + side] = (40, 40, 46, 255)
        return
    plane = activation[:, :, channel]
    peak = float(activation.max()) or 1.0
    levels = (np.clip(plane / peak, 0, 1) * 255).astype(np.uint8)
    tile = cv2.cvtColor(VIRIDIS[levels], cv2.COLOR_BGR2RGBA)
    blit(layer, cv2.resize(tile, (side, side), interpolation=cv2.INTER_NEAREST), x, y)
