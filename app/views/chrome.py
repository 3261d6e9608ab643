"""What every view shares: the header (title and settings), the footer (figures and the
message), the help table and the whole-frame message shown when there is no camera."""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np

from app.i18n import N_, tr
from app.state import ViewState
from app.status import MESSAGE_SEPARATOR
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
        # One line per part (a camera problem, a stage switched off, a notice): three in
        # one line ran off the screen's edge. A part still too long wraps at spaces.
        lines = [Line(part, BODY, AMBER, True) for part in message.split(MESSAGE_SEPARATOR)]
        room = canvas.width - 2 * m
        panel = _message_panel(canvas, lines, opaque, None)
        if panel.shape[1] > room:
            panel = _message_panel(canvas, lines, opaque, room)
        y -= panel.shape[0] + canvas.px(3)
        blit(layer, panel, m, y)
    return y


def _message_panel(
    canvas: Canvas, lines: list[Line], opaque: bool, width: int | None
) -> np.ndarray:
    return canvas.panel(
        lines, opaque=opaque, width=width, bg=(40, 20, 10), bg_alpha=215, volatile=True
    )


def help_overlay(
    canvas: Canvas,
    layer: np.ndarray,
    legend: Sequence[tuple[str, str]],
    opaque: bool,
    band: tuple[int, int] | None = None,
) -> None:
    """The key legend, (key label, description) rows, centred on the layer.

    ``band`` (top, bottom): the rows between the header and the footer. The table is
    centred in them, so it never covers half of a header line (Spanish settings, longer,
    ran under it at 1920x1080); the renderer leaves the footer's figures out meanwhile to
    make room. A table that still does not fit is shrunk to the band.
    """
    legend = tuple(legend)
    gap = canvas.px(MARGIN / 2)
    top, bottom = band if band is not None else (0, canvas.height)
    top, bottom = top + gap, bottom - gap
    if bottom - top < canvas.height // 2:  # no room between them: over the whole layer
        top, bottom = 0, canvas.height
    room_h = bottom - top
    key = ("help", legend, opaque, room_h)
    panel = canvas.cache.get(key, lambda: draw_help(canvas, legend, opaque, room_h))
    x = max(0, (canvas.width - panel.shape[1]) // 2)
    y = top + max(0, (room_h - panel.shape[0]) // 2)
    blit(layer, panel, x, y)


def draw_help(
    canvas: Canvas, legend: Sequence[tuple[str, str]], opaque: bool, room_h: int | None = None
) -> np.ndarray:
    """The help table as an (h, w, 4) RGBA patch no wider than the canvas minus margins
    and no taller than ``room_h`` (default: the canvas)."""
    # Fonts differ in width between OpenCV versions (4 on the Pi, 5 from PyPI): lay
    # the table out at the normal scale and shrink it if it does not fit.
    room_h = canvas.height if room_h is None else room_h
    scale = canvas.scale
    panel = _help_table(legend, scale)
    room = canvas.width - 2 * canvas.px(MARGIN)
    for _ in range(4):  # text size is not quite proportional to scale: refine
        shrink = min(room / panel.shape[1], room_h / panel.shape[0])
        if shrink >= 1.0:
            break
        scale *= 0.98 * shrink
        panel = _help_table(legend, scale)
    panel = panel[:room_h]  # a table that would still not fit loses its last rows
    if opaque:
        flatten(panel, VIEW_BG)
    return panel


def _help_table(legend: Sequence[tuple[str, str]], scale: float) -> np.ndarray:
    """The key legend in two columns at text scale ``scale``: (h, w, 4) RGBA."""
    half = (len(legend) + 1) // 2
    columns = (legend[:half], legend[half:])
    row_h = max(1, round(14 * scale))
    pad = max(1, round(8 * scale))

    def cell(text: str, color: tuple[int, int, int], bold: bool) -> np.ndarray:
        return render_panel([Line(text, SMALL, color, bold)], scale, bg_alpha=0, pad=2)

    cells = [[(cell(k, CYAN, True), cell(d, WHITE, False)) for k, d in col] for col in columns]
    key_w = [max((k.shape[1] for k, _ in col), default=0) for col in cells]
    desc_w = [max((d.shape[1] for _, d in col), default=0) for col in cells]
    title = render_panel([Line(tr("KEYS  (h to close)"), BODY, CYAN, True)], scale, bg_alpha=0)
    width = pad * 3 + sum(key_w) + sum(desc_w)
    height = title.shape[0] + row_h * half + pad
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
    # Before the cache key: a language switch draws anew.
    message, detail = tr(message), tr(detail) if detail else ""
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
    # The detail (why there is no camera, the retry) wraps: Spanish runs longer.
    room = canvas.width - 2 * canvas.px(MARGIN)
    panel = render_panel(lines, canvas.scale, max_width=room, bg=(28, 30, 40), bg_alpha=255, pad=14)
    panel = panel[:, : canvas.width]
    x = max(0, (canvas.width - panel.shape[1]) // 2)
    y = max(0, (canvas.height - panel.shape[0]) // 2)
    region = frame[y : y + panel.shape[0], x : x + panel.shape[1]]
    region[:] = cv2.cvtColor(panel[: region.shape[0], : region.shape[1]], cv2.COLOR_RGBA2BGR)
    return frame
