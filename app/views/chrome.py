"""What every view shares: the header (title and settings), the footer (figures and the
message), the help table and the whole-frame message shown when there is no camera."""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np

from app.i18n import N_, tr
from app.state import ViewState
from app.views.base import BODY, MARGIN, SMALL, TITLE, Canvas
from app.views.draw import (
    AMBER,
    CYAN,
    GREY,
    PANEL_BG,
    VIEW_BG,
    WHITE,
    Line,
    blit,
    fill,
    flatten,
    over,
    render_panel,
)
from app.views.words import shown


def header(
    canvas: Canvas, layer: np.ndarray, state: ViewState, title: str, opaque: bool
) -> tuple[int, int]:
    """The title and the live settings at the top left; returns the (y below, x right of)
    them."""
    kernel = tr("kernel {name}").format(name=shown(state.kernel))
    settings = (
        tr("stride {n}").format(n=state.stride),
        tr("padding {name}").format(name=shown(state.padding)),
        tr("activation {name}").format(name=shown(state.activation)),
        tr("{mode} pooling {n}x{n}").format(mode=shown(state.pool_mode), n=state.pool_size),
    )
    lines = [
        Line(title, TITLE, CYAN, True),
        Line(f"{kernel}  |  {shown(state.operation)}", SMALL, WHITE),
        Line("  |  ".join(settings), SMALL, WHITE),
    ]
    flags = [
        tr(name)
        for name, on in ((N_("FROZEN"), state.frozen), (N_("NumPy ref"), state.numpy_reference))
        if on
    ]
    if flags:
        lines.append(Line("  ".join(flags), SMALL, AMBER, True))
    panel = canvas.panel(lines, opaque=opaque)
    m = canvas.px(MARGIN)
    blit(layer, panel, m, m)
    return m + panel.shape[0], m + panel.shape[1]


def footer(
    canvas: Canvas,
    layer: np.ndarray,
    figures: Sequence[str],
    message: str,
    opaque: bool,
) -> int:
    """The figures line and the status message at the bottom; returns the top y they use."""
    m = canvas.px(MARGIN)
    y = canvas.height - m
    if figures:
        panel = canvas.panel(
            [Line("  |  ".join(figures), SMALL, GREY)], opaque=opaque, volatile=True
        )
        y -= panel.shape[0]
        blit(layer, panel, m, y)
    if message:
        panel = canvas.panel(
            [Line(message, BODY, AMBER, True)],
            opaque=opaque,
            bg=(40, 20, 10),
            bg_alpha=215,
            volatile=True,
        )
        y -= panel.shape[0] + canvas.px(3)
        blit(layer, panel, m, y)
    return y


def help_overlay(
    canvas: Canvas, layer: np.ndarray, legend: Sequence[tuple[str, str]], opaque: bool
) -> None:
    """The key legend, (key label, description) rows, centred on the layer."""
    legend = tuple(legend)
    panel = canvas.cache.get(("help", legend, opaque), lambda: draw_help(canvas, legend, opaque))
    x = max(0, (canvas.width - panel.shape[1]) // 2)
    y = max(0, (canvas.height - panel.shape[0]) // 2)
    blit(layer, panel, x, y)


def draw_help(canvas: Canvas, legend: Sequence[tuple[str, str]], opaque: bool) -> np.ndarray:
    """The help table as an (h, w, 4) RGBA patch no wider than the canvas minus margins."""
    # Fonts differ in width between OpenCV versions (4 on the Pi, 5 from PyPI): lay
    # the table out at the normal scale and shrink it if it does not fit.
    scale = canvas.scale
    panel = _help_table(legend, scale, canvas.height)
    room = canvas.width - 2 * canvas.px(MARGIN)
    for _ in range(4):  # text width is not quite proportional to scale: refine
        if panel.shape[1] <= room:
            break
        scale *= 0.98 * room / panel.shape[1]
        panel = _help_table(legend, scale, canvas.height)
    if opaque:
        flatten(panel, VIEW_BG)
    return panel


def _help_table(legend: Sequence[tuple[str, str]], scale: float, max_h: int) -> np.ndarray:
    """The key legend in two columns at text scale ``scale``: (h, w, 4) RGBA."""
    half = (len(legend) + 1) // 2
    columns = (legend[:half], legend[half:])
    row_h = max(1, round(17 * scale))
    pad = max(1, round(8 * scale))

    def cell(text: str, color: tuple[int, int, int], bold: bool) -> np.ndarray:
        return render_panel([Line(text, SMALL, color, bold)], scale, bg_alpha=0, pad=2)

    cells = [[(cell(k, CYAN, True), cell(d, WHITE, False)) for k, d in col] for col in columns]
    key_w = [max((k.shape[1] for k, _ in col), default=0) for col in cells]
    desc_w = [max((d.shape[1] for _, d in col), default=0) for col in cells]
    title = render_panel([Line(tr("KEYS  (h to close)"), BODY, CYAN, True)], scale, bg_alpha=0)
    width = pad * 3 + sum(key_w) + sum(desc_w)
    height = min(max_h, title.shape[0] + row_h * half + pad)
    out = np.zeros((height, width, 4), np.uint8)
    fill(out, (*PANEL_BG, 225))
    over(out, title, pad, 0)
    x = pad
    for col, kw, dw in zip(cells, key_w, desc_w, strict=True):
        for row, (key, desc) in enumerate(col):
            y = title.shape[0] + row * row_h
            over(out, key, x, y + (row_h - key.shape[0]) // 2)
            over(out, desc, x + kw, y + (row_h - desc.shape[0]) // 2)
        x += kw + dw + pad
    return out


def message_frame(canvas: Canvas, message: str, detail: str = "") -> np.ndarray:
    """A (H, W, 3) uint8 BGR picture saying ``message``: shown when there is no camera."""
    message = tr(message)  # before the cache key: a language switch draws anew
    frame = canvas.message_cache.get(
        ("message", message, detail),
        lambda: _draw_message_frame(canvas, message, detail),
    )
    return frame.copy()


def _draw_message_frame(canvas: Canvas, message: str, detail: str) -> np.ndarray:
    frame = np.full((canvas.height, canvas.width, 3), (40, 30, 28), np.uint8)
    lines = [Line("convlens", TITLE, CYAN, True), Line(message, 0.7, AMBER, True)]
    if detail:
        lines.append(Line(detail, BODY, WHITE))
    panel = render_panel(lines, canvas.scale, bg=(28, 30, 40), bg_alpha=255, pad=14)
    panel = panel[:, : canvas.width]
    x = max(0, (canvas.width - panel.shape[1]) // 2)
    y = max(0, (canvas.height - panel.shape[0]) // 2)
    region = frame[y : y + panel.shape[0], x : x + panel.shape[1]]
    region[:] = cv2.cvtColor(panel[: region.shape[0], : region.shape[1]], cv2.COLOR_RGBA2BGR)
    return frame
