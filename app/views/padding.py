"""Padding shown as padding: the input as the kernel slides over it (its padding around it),
and its top-left corner enlarged, padding cells tinted, the first window outlined."""

from __future__ import annotations

import cv2
import numpy as np

from app.i18n import N_, tr
from app.stages.results import KernelResult
from app.views import cells
from app.views.base import SMALL, Canvas
from app.views.cells import PAD_HATCH
from app.views.draw import CYAN, VIEW_BG, WHITE, Line, blit, fill
from app.views.words import shown

#: How the kernel stage pads (``app.stages.kernels``): zeros, or mirrored without
#: repeating the edge pixel.
BORDERS = {"zero": cv2.BORDER_CONSTANT, "reflect": cv2.BORDER_REFLECT_101}

#: The input picture's caption per padding (marked for the catalogs).
CAPTIONS = {
    "zero": N_("input {rows}x{cols} + {p} px of padding (zeros)"),
    "reflect": N_("input {rows}x{cols} + {p} px of padding (mirrored)"),
    "valid": N_("input {rows}x{cols}, no padding"),
}


def padded_input(kernel: KernelResult, mode: str) -> np.ndarray | None:
    """The (H + 2p, W + 2p) uint8 grey picture the kernel slid over, padding included."""
    if kernel.input is None:
        return None
    grey = cv2.convertScaleAbs(kernel.input, alpha=255.0)
    p = kernel.padding
    if p == 0 or mode not in BORDERS:
        return grey
    return cv2.copyMakeBorder(grey, p, p, p, p, BORDERS[mode], value=0)


def input_caption(kernel: KernelResult, mode: str) -> str:
    """``input 240x320 + 1 px of padding (zeros)``, in the current language."""
    rows, cols = kernel.in_shape
    template = CAPTIONS.get(mode if kernel.padding else "valid", CAPTIONS["valid"])
    return tr(template).format(rows=rows, cols=cols, p=kernel.padding)


def corner_note(kernel: KernelResult, mode: str) -> str:
    """What the enlarged corner shows, in a sentence."""
    k = kernel.matrices[0].shape[0] if kernel.matrices else 1
    if kernel.padding:
        text = tr("{p} px of padding ({name}): the first {k}x{k} window is centred on the corner")
        return text.format(p=kernel.padding, name=shown(mode), k=k)
    text = tr("no padding: the first {k}x{k} window fits inside; the output loses {lost} px")
    return text.format(k=k, lost=k - 1)


def padding_corner(
    canvas: Canvas,
    layer: np.ndarray,
    kernel: KernelResult,
    mode: str,
    area: tuple[int, int, int, int],
) -> None:
    """The input's top-left corner enlarged in ``area`` (x, y, w, h): padding cells tinted,
    the first window outlined, a caption and a sentence; left out where there is no room."""
    x, y, w, h = area
    picture = padded_input(kernel, mode)
    if picture is None or not kernel.matrices or w <= 0:
        return
    k, p = kernel.matrices[0].shape[0], kernel.padding
    head = cells.text(canvas, [Line(tr("the corner, enlarged"), SMALL, CYAN, True)], width=w)
    n = min(p + k + 1, *picture.shape)
    room = h - head.shape[0] - canvas.px(4)
    text = corner_note(kernel, mode)
    # The sentence beside the cells (up to 60 % of the width) or under them: the layout
    # that draws the cells larger wins, unless the sentence beside would be squeezed into
    # a column of a word or two per line (under 40 % of the width).
    gap = canvas.px(6)
    beside_cell = min(canvas.px(24), (w * 3 // 5 - 2) // n, (room - 2) // n)
    beside_w = w - n * beside_cell - 2 - gap
    beside = cells.text(canvas, [Line(text, SMALL, WHITE)], width=beside_w)
    under = cells.text(canvas, [Line(text, SMALL, WHITE)], width=w)
    under_cell = min(canvas.px(24), (w - 2) // n, (room - under.shape[0] - gap - 2) // n)
    if beside.shape[0] > room or (beside_w < w * 2 // 5 and under_cell >= canvas.px(6)):
        beside_cell = 0
    cell = max(beside_cell, under_cell)
    if cell < canvas.px(6):
        return  # no room for cells big enough to see: the picture's tinted border says it
    blit(layer, head, x, y)
    y += head.shape[0] + canvas.px(4)
    box = canvas.show_scaled(layer, picture[:n, :n], (x, y), cell)
    _mark_cells(canvas, layer, (box[0] + 1, box[1] + 1), n, cell, p)
    end = box[0] + k * cell, box[1] + k * cell
    cv2.rectangle(layer, (box[0] + 1, box[1] + 1), end, (*CYAN, 255), canvas.px(2))
    if cell == beside_cell:
        blit(layer, beside, x + box[2] + gap, y)
    else:
        blit(layer, under, x, y + box[3] + gap)


def _mark_cells(
    canvas: Canvas, layer: np.ndarray, where: tuple[int, int], n: int, cell: int, p: int
) -> None:
    """The n x n enlarged pixels at ``where``: padding rows and columns tinted (not
    covered: zero padding stays dark, mirrored pixels show), each pixel's edge drawn."""
    x, y = where
    side = n * cell
    if p:
        for part in (
            layer[y : y + p * cell, x : x + side],
            layer[y + p * cell : y + side, x : x + p * cell],
        ):
            tint = np.empty_like(part)
            fill(tint, (*PAD_HATCH, 255))
            cv2.addWeighted(part, 0.45, tint, 0.55, 0, dst=part)
    for i in range(1, n):
        fill(layer[y : y + side, x + i * cell - 1 : x + i * cell], (*VIEW_BG, 255))
        fill(layer[y + i * cell - 1 : y + i * cell, x : x + side], (*VIEW_BG, 255))
