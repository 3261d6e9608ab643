"""Receptive field: which input pixels one unit depends on, on the camera and in LeNet.

Mode 0, the camera's kernel + pooling: the same patch of the scene three times at one
scale: the input, the kernel's output with the pooling windows drawn, the pooled map.
The picked pooled value, its pooling window and the input pixels it depends on are
outlined (``k + (n - 1) s`` pixels square). Mode 1, LeNet on the 28x28 input: the
pixels one unit of conv1, pool1, conv2 and pool2 sees (5, 6, 14 and 16 px, computed
from the spec), nested on the digit, beside each layer's map. The arrows pick the unit.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar

import cv2
import numpy as np

from app.i18n import N_, tr
from app.stages.results import (
    FrameResults,
    KernelResult,
    NetworkResult,
    PoolResult,
)
from app.state import ProbeRange, ViewState
from app.views import cells
from app.views.base import BODY, MARGIN, SMALL, Body, Canvas, View
from app.views.draw import AMBER, CYAN, GREEN, GREY, Line, blit, fit_image
from app.views.words import shown
from training.receptive_field import Field, kernel_pool_layers, nested_units, receptive_fields

#: Pooled cells shown across each crop in mode 0.
CROP_CELLS = 8
#: Mode 1's point starts on this pixel of the 28x28 input (row and column); a whole
#: pixel, so every arrow press moves conv1's unit by one (from 13.5, rounding to even
#: moved it by 0 or 2).
LENET_HOME = 14
#: The LeNet layers of mode 1 and their outline colours (RGB).
LAYER_COLOURS = {
    "conv1": (90, 230, 110),
    "pool1": (90, 210, 255),
    "conv2": (255, 190, 60),
    "pool2": (255, 90, 200),
}


class ReceptiveFieldView(View):
    """Before and after pooling at one scale; the input region one unit depends on."""

    name = "receptive"
    title = N_("RECEPTIVE FIELD")
    key = "8"
    description = N_("receptive field")
    stages = ("kernel", "pool")
    modes = (N_("camera: kernel + pooling"), N_("LeNet on 28x28"))
    mode_stages: ClassVar[dict[int, tuple[str, ...]]] = {1: ("digit", "network")}
    probe_limit = (80, 60)
    probe_edge = N_("the point is at the edge of the picture")

    def probe_bounds(self, state: ViewState, results: FrameResults) -> ProbeRange | None:
        """Mode 1: the 28x28 input's pixels; mode 0: the pooled map's values."""
        if state.mode == 1:
            return ((-LENET_HOME, 27 - LENET_HOME), (-LENET_HOME, 27 - LENET_HOME))
        kernel, pool = results.kernel, results.pool
        if kernel is None or pool is None or kernel.input is None or pool.output.size == 0:
            return super().probe_bounds(state, results)
        home = pooled_home(state, kernel, pool)
        ph, pw = pool.output.shape
        return ((-home[1], pw - 1 - home[1]), (-home[0], ph - 1 - home[0]))

    def draw(
        self, canvas: Canvas, layer: np.ndarray, state: ViewState, results: FrameResults, body: Body
    ) -> None:
        m = canvas.px(MARGIN)
        area = (m, body.top + m, canvas.width - 2 * m, body.bottom - body.top - 2 * m)
        if state.mode == 1:
            _lenet(canvas, layer, state, results, area)
            return
        if results.kernel is None or results.pool is None or results.kernel.input is None:
            _note(canvas, layer, tr("no kernel or pooling output: stages off or failed"), area)
            return
        _camera(canvas, layer, state, results.kernel, results.pool, area)


def _note(canvas: Canvas, layer: np.ndarray, text: str, area: tuple[int, int, int, int]) -> None:
    blit(layer, cells.text(canvas, [Line(text, BODY, AMBER)]), area[0], area[1])


def camera_field(state: ViewState, kernel_size: int) -> Field:
    """The field of one pooled value on the processing picture, from the live settings."""
    pad = 0 if state.padding == "valid" else kernel_size // 2
    stack = kernel_pool_layers(kernel_size, state.stride, pad, state.pool_size)
    return receptive_fields(stack)[-1][1]


def pooled_home(state: ViewState, kernel: KernelResult, pool: PoolResult) -> tuple[int, int]:
    """The pooled value (row, column) whose field is centred nearest the ROI's centre."""
    assert kernel.input is not None
    field = camera_field(state, kernel.matrices[0].shape[0])
    ih, iw = kernel.input.shape
    ph, pw = pool.output.shape
    return (field.unit_nearest(state.roi.cy * ih, ph), field.unit_nearest(state.roi.cx * iw, pw))


def _camera(
    canvas: Canvas,
    layer: np.ndarray,
    state: ViewState,
    kernel: KernelResult,
    pool: PoolResult,
    area: tuple[int, int, int, int],
) -> None:
    x, y, w, h = area
    assert kernel.input is not None
    k, s, n = kernel.matrices[0].shape[0], state.stride, state.pool_size
    field = camera_field(state, k)
    ph, pw = pool.output.shape
    if ph == 0 or pw == 0:
        _note(canvas, layer, tr("the pooled map is empty"), area)
        return
    home = pooled_home(state, kernel, pool)
    unit = (
        min(max(home[0] + state.probe[1], 0), ph - 1),
        min(max(home[1] + state.probe[0], 0), pw - 1),
    )
    # The crop: CROP_CELLS pooled cells around the unit, kept inside the pooled map.
    c0 = [
        min(max(u - CROP_CELLS // 2, 0), max(0, size - CROP_CELLS))
        for u, size in zip(unit, (ph, pw), strict=True)
    ]
    gap = canvas.px(12)
    text_h = canvas.px(120)
    side = min((w - 2 * gap) // 3, h - text_h - canvas.px(30))
    picture = (np.clip(kernel.input, 0, 1) * 255).astype(np.uint8)
    offset = k // 2 - (0 if state.padding == "valid" else k // 2)
    pieces = (
        (tr("input"), picture, s * n, c0[0] * s * n + offset, c0[1] * s * n + offset),
        (tr("kernel output"), kernel.image, n, c0[0] * n, c0[1] * n),
        (
            tr("pooled ({mode})").format(mode=shown(state.pool_mode)),
            pool.image,
            1,
            c0[0],
            c0[1],
        ),
    )
    for i, piece in enumerate(pieces):
        _crop_panel(canvas, layer, piece, i, (x + i * (side + gap), y, side), (field, unit, c0, n))
    ox = x + 3 * (side + gap)
    if x + w - ox > canvas.px(80):
        crop = (c0[1] * s * n + offset, c0[0] * s * n + offset, CROP_CELLS * s * n)
        _overview(canvas, layer, picture, crop, (ox, y, x + w - ox, side + canvas.px(26)))
    _camera_text(canvas, layer, state, field, k, (x, y + side + canvas.px(40), w))


def _crop_panel(
    canvas: Canvas,
    layer: np.ndarray,
    piece: tuple[str, np.ndarray, int, int, int],
    index: int,
    where: tuple[int, int, int],
    pick: tuple[Field, tuple[int, int], list[int], int],
) -> None:
    """One of the three crops (input, kernel output, pooled) with what it outlines: the
    input pixels the pooled value sees, its pooling window, the pooled value itself."""
    caption, image, per_cell, r0, col0 = piece
    px, y, side = where
    field, unit, c0, n = pick
    head = cells.text(canvas, [Line(caption, BODY, CYAN, True)], width=side)
    blit(layer, head[:, :side], px, y)
    top = y + canvas.px(26)  # one caption height for the three: the crops line up
    crop = _crop(image, r0, col0, CROP_CELLS * per_cell)
    cells.put_grey(layer, cv2.resize(crop, (side, side), interpolation=cv2.INTER_NEAREST), px, top)
    f = side / (CROP_CELLS * per_cell)
    if index == 0:
        rows, cols = field.region(unit[0]), field.region(unit[1])
        box = (cols[0] - col0, rows[0] - r0, field.size, field.size)
        cells.outline(layer, _box(box, px, top, f), GREEN, canvas.px(3))
        return
    cell = n if index == 1 else 1
    _grid_lines(layer, (px, top, side), cell * f, canvas.px(1))
    box = ((unit[1] - c0[1]) * cell, (unit[0] - c0[0]) * cell, cell, cell)
    cells.outline(layer, _box(box, px, top, f), AMBER, canvas.px(3))


def _overview(
    canvas: Canvas,
    layer: np.ndarray,
    picture: np.ndarray,
    crop: tuple[int, int, int],
    area: tuple[int, int, int, int],
) -> None:
    """The whole picture, small, with the zoomed patch outlined: where the crops are."""
    x, y, w, h = area
    head = cells.text(canvas, [Line(tr("where"), BODY, CYAN, True)], width=w)
    blit(layer, head[:, :w], x, y)
    fitted = fit_image(picture, w, h - canvas.px(26), integer_zoom=False)
    if fitted.size == 0:
        return
    top = y + canvas.px(26)
    cells.put_grey(layer, fitted, x, top)
    f = fitted.shape[1] / picture.shape[1]
    cx, cy, size = crop
    cells.outline(layer, _box((cx, cy, size, size), x, top, f), AMBER, canvas.px(2))


def _crop(image: np.ndarray, r0: int, c0: int, size: int) -> np.ndarray:
    """A (size, size) piece of ``image`` from (r0, c0); beyond the image is black."""
    out = np.zeros((size, size), np.uint8)
    h, w = image.shape[:2]
    rs, cs = max(0, r0), max(0, c0)
    re, ce = min(h, r0 + size), min(w, c0 + size)
    if re > rs and ce > cs:
        out[rs - r0 : re - r0, cs - c0 : ce - c0] = image[rs:re, cs:ce]
    return out


def _box(rect: tuple[int, int, int, int], x: int, y: int, f: float) -> tuple[int, int, int, int]:
    c, r, w, h = rect
    return (
        x + round(c * f),
        y + round(r * f),
        x + round((c + w) * f) - 1,
        y + round((r + h) * f) - 1,
    )


def _grid_lines(layer: np.ndarray, where: tuple[int, int, int], step: float, thick: int) -> None:
    x, y, side = where
    count = round(side / step)
    for i in range(1, count):
        p = round(i * step)
        cv2.line(layer, (x + p, y), (x + p, y + side - 1), (*GREY, 255), thick)
        cv2.line(layer, (x, y + p), (x + side - 1, y + p), (*GREY, 255), thick)


def _camera_text(
    canvas: Canvas,
    layer: np.ndarray,
    state: ViewState,
    field: Field,
    k: int,
    where: tuple[int, int, int],
) -> None:
    x, y, w = where
    s, n = state.stride, state.pool_size
    lines = [
        Line(
            tr(
                "one pooled value depends on {r}x{r} input pixels: {k} + ({n} − 1) × {s} = {r}"
            ).format(r=field.size, k=k, n=n, s=s),
            0.6,
            GREEN,
            True,
        ),
        Line(
            tr(
                "kernel {k}x{k}, stride {s}, then a {n}x{n} pooling window: neighbours {j} px apart"
            ).format(k=k, s=s, n=n, j=field.jump),
            BODY,
        ),
        Line(tr("grid: the pooling windows; pooling grows the receptive field"), SMALL, GREY),
        Line(tr("arrows: pick another pooled value"), SMALL, GREY),
    ]
    blit(layer, cells.text(canvas, lines, width=w)[:, :w], x, y)


def _lenet(
    canvas: Canvas,
    layer: np.ndarray,
    state: ViewState,
    results: FrameResults,
    area: tuple[int, int, int, int],
) -> None:
    """The 28x28 input with the nested fields of one unit per layer, and the layers' maps."""
    network, digit = results.network, results.digit
    if network is None or network.spec is None:
        _note(canvas, layer, tr("no network description: models/lenet.npz unreadable"), area)
        return
    x, y, w, h = area
    fields = [(name, Field(*f)) for name, f in network.fields if name in LAYER_COLOURS]
    shapes = dict(network.shapes)
    rows = nested_units(fields, LENET_HOME + state.probe[1], {n: shapes[n][0] for n, _ in fields})
    cols = nested_units(fields, LENET_HOME + state.probe[0], {n: shapes[n][1] for n, _ in fields})
    units = {name: (rows[name], cols[name]) for name, _ in fields}
    by_name = dict(fields)
    tensor = None
    if digit is not None:
        tensor = digit.layers_tensor if digit.layers_tensor is not None else digit.tensor
    side = min(w * 45 // 100, h - canvas.px(70))
    head = cells.text(canvas, [Line(tr("the network's 28x28 input"), BODY, CYAN, True)], width=side)
    blit(layer, head[:, :side], x, y)
    top = y + head.shape[0]
    image = (
        np.zeros((28, 28), np.uint8)
        if tensor is None
        else (np.clip(tensor, 0, 1) * 255).astype(np.uint8)
    )
    cells.put_grey(layer, cv2.resize(image, (side, side), interpolation=cv2.INTER_NEAREST), x, top)
    f = side / 28
    _grid_lines(layer, (x, top, side), f * 4, 1)
    for name, colour in reversed(LAYER_COLOURS.items()):
        if name not in units:
            continue
        field = by_name[name]
        r_range, c_range = field.region(units[name][0]), field.region(units[name][1])
        box = (c_range[0], r_range[0], field.size, field.size)
        cells.outline(layer, _box(box, x, top, f), colour, canvas.px(3))
    hint = Line(tr("arrows: move the point; grid: 4 px"), SMALL, GREY)
    blit(layer, cells.text(canvas, [hint], width=side)[:, :side], x, top + side + canvas.px(4))
    mx = x + side + canvas.px(16)
    _layer_maps(
        canvas,
        layer,
        network,
        digit.layers if digit is not None else {},
        units,
        (mx, y, x + w - mx, h),
    )


def _layer_maps(
    canvas: Canvas,
    layer: np.ndarray,
    network: NetworkResult,
    activations: Mapping[str, np.ndarray],
    units: dict[str, tuple[int, int]],
    area: tuple[int, int, int, int],
) -> None:
    """One row per layer: its map (the channel strongest at the unit) and its field."""
    x, y, w, h = area
    fields = dict(network.fields)
    shapes = dict(network.shapes)
    row_h = h // max(1, len(units))
    side = row_h - canvas.px(8)
    for i, (name, unit) in enumerate(units.items()):
        colour = LAYER_COLOURS[name]
        top = y + i * row_h
        act = activations.get(name)
        if act is not None and act.ndim == 3:
            channel = int(np.argmax(act[unit[0], unit[1]]))
            plane = act[:, :, channel]
            peak = float(plane.max()) or 1.0
            image = (np.clip(plane / peak, 0, 1) * 255).astype(np.uint8)
        else:
            channel, image = -1, np.zeros(shapes[name][:2], np.uint8)
        cells.put_grey(
            layer, cv2.resize(image, (side, side), interpolation=cv2.INTER_NEAREST), x, top
        )
        f = side / image.shape[1]
        cells.outline(layer, _box((unit[1], unit[0], 1, 1), x, top, f), colour, canvas.px(3))
        size = fields[name][0]
        shape = "x".join(str(d) for d in shapes[name])
        lines = [
            Line(f"{name}  {shape}", BODY, colour, True),
            Line(tr("one unit sees {r}x{r} input pixels").format(r=size), BODY),
        ]
        if channel >= 0:
            lines.append(Line(tr("channel {c} (strongest here)").format(c=channel), SMALL, GREY))
        tx = x + side + canvas.px(10)
        blit(layer, cells.text(canvas, lines, width=x + w - tx)[:, : x + w - tx], tx, top)
