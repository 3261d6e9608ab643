"""Number cells and grids for the teaching views: a value written in a coloured square.

The inspector writes some sixty numbers a frame that change with the camera's noise.
Drawing text is slow (OpenCV's anti-aliased Hershey text, then blending), so each
distinct cell (text, colours, size) is drawn once and kept: pixel values and products
have two decimals, so a few hundred cells cover a whole lesson, and a frame is then a
few dozen array copies.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable, Hashable, Sequence
from typing import Any

import cv2
import numpy as np

from app.i18n import current_language
from app.views.base import Canvas
from app.views.draw import VIEW_BG, WHITE, Line, PatchCache, blit, over, render_panel, wrap_lines

#: Cells are cached per canvas (one per output size), beside its own caches.
_CELL_CACHES: weakref.WeakKeyDictionary[Canvas, PatchCache] = weakref.WeakKeyDictionary()
CELL_CACHE_SIZE = 1500
#: No text smaller than this (the views' SMALL: 1/40 of the screen height).
MIN_FONT = 0.42

#: Cell colours (RGB): picture cells are their own grey; these mark the roles.
PAD_BG = (52, 46, 74)
PAD_HATCH = (84, 76, 118)
POSITIVE = (150, 60, 55)
NEGATIVE = (50, 75, 150)
ZERO = (62, 64, 72)


def cell_cache(canvas: Canvas) -> PatchCache:
    """The canvas's cache of drawn cells (made on first use)."""
    cache = _CELL_CACHES.get(canvas)
    if cache is None:
        cache = _CELL_CACHES[canvas] = PatchCache(capacity=CELL_CACHE_SIZE)
    return cache


def cached(canvas: Canvas, key: Hashable, make: Callable[[], Any]) -> Any:
    """A drawn piece from the canvas's cell cache (drawn by ``make`` the first time)."""
    return cell_cache(canvas).get(key, make)


def value_text(v: float, decimals: int = 2) -> str:
    """``0.58``, ``-0.4``, ``1``: short enough for a cell; ``-0`` written as ``0``."""
    text = f"{v:.{decimals}f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def count_text(n: int) -> str:
    """A count with its thousands marked: ``61,706`` in English, ``61 706`` in Spanish
    (the RAE's thin space: a comma or a point would read as a decimal mark to someone)."""
    text = f"{int(n):,}"
    return text.replace(",", " ") if current_language() == "es" else text


def grey_of(v: float) -> tuple[int, int, int]:
    """The cell colour of a picture value in [0, 1] (its own grey, slightly lifted)."""
    g = round(40 + 180 * min(max(v, 0.0), 1.0))
    return (g, g, g)


def signed_colour(v: float, peak: float) -> tuple[int, int, int]:
    """Red for positive, blue for negative, grey for zero (the kernel grids' colours)."""
    t = min(1.0, abs(v) / peak) if peak > 0 else 0.0
    if v > 0:
        return tuple(int(ZERO[i] + (POSITIVE[i] - ZERO[i]) * (0.35 + 0.65 * t)) for i in range(3))
    if v < 0:
        return tuple(int(ZERO[i] + (NEGATIVE[i] - ZERO[i]) * (0.35 + 0.65 * t)) for i in range(3))
    return ZERO


def text_colour(bg: tuple[int, int, int]) -> tuple[int, int, int]:
    """Black on light cells, white on dark ones."""
    return (15, 15, 15) if sum(bg) / 3 > 140 else WHITE


def cell(
    canvas: Canvas,
    text: str,
    size: tuple[int, int],
    bg: tuple[int, int, int],
    *,
    font: float = 0.5,
    hatch: bool = False,
    fg: tuple[int, int, int] | None = None,
) -> np.ndarray:
    """One (h, w, 4) opaque cell with ``text`` centred, shrunk to fit; cached."""
    key = ("cell", text, size, bg, font, hatch, fg)
    return cached(canvas, key, lambda: _draw_cell(canvas, text, size, bg, font, hatch, fg))


def _draw_cell(
    canvas: Canvas,
    text: str,
    size: tuple[int, int],
    bg: tuple[int, int, int],
    font: float,
    hatch: bool,
    fg: tuple[int, int, int] | None,
) -> np.ndarray:
    w, h = size
    out = np.empty((h, w, 4), np.uint8)
    out[:] = (*bg, 255)
    if hatch:
        step = max(4, w // 5)
        for x in range(-h, w, step):
            cv2.line(out, (x, h), (x + h, 0), (*PAD_HATCH, 255), max(1, w // 24), cv2.LINE_AA)
    if text:
        colour = fg or text_colour(bg)
        scale = font
        for _ in range(6):  # shrink until the text fits, never below the projector's size
            # A two-line cell ("v[1]\n-1"): the first line plain, the second bold.
            parts = text.split("\n")
            lines = [Line(p, scale, colour, i == len(parts) - 1) for i, p in enumerate(parts)]
            panel = render_panel(lines, canvas.scale, pad=1, gap=1, bg_alpha=0)
            if (panel.shape[1] <= w - 2 and panel.shape[0] <= h) or scale <= MIN_FONT:
                break
            scale = max(MIN_FONT, scale * 0.85)
        over(out, panel, (w - panel.shape[1]) // 2, (h - panel.shape[0]) // 2)
    return out


def grid(
    canvas: Canvas,
    layer: np.ndarray,
    texts: Sequence[Sequence[str]],
    colours: Sequence[Sequence[tuple[int, int, int]]],
    where: tuple[int, int],
    step: int | tuple[int, int],
    *,
    font: float = 0.5,
    hatched: np.ndarray | None = None,
) -> tuple[int, int]:
    """A table of cells ``step`` px apart, (x, y) or one for both, with thin gaps, from
    ``where`` (x, y); returns its (w, h). The whole table is drawn once per content and
    kept: a static kernel, or numbers that only change a few times a second, cost one
    copy a frame."""
    sx, sy = (step, step) if isinstance(step, int) else step
    key = (
        "grid",
        tuple(tuple(row) for row in texts),
        tuple(tuple(row) for row in colours),
        sx,
        sy,
        font,
        None if hatched is None else hatched.tobytes(),
    )
    table = cached(canvas, key, lambda: _draw_grid(canvas, texts, colours, (sx, sy), font, hatched))
    blit(layer, table, *where)
    return table.shape[1], table.shape[0]


def _draw_grid(
    canvas: Canvas,
    texts: Sequence[Sequence[str]],
    colours: Sequence[Sequence[tuple[int, int, int]]],
    step: tuple[int, int],
    font: float,
    hatched: np.ndarray | None,
) -> np.ndarray:
    sx, sy = step
    gap = max(1, min(sx, sy) // 24)
    rows = len(texts)
    cols = max((len(row) for row in texts), default=0)
    out = np.zeros((rows * sy, cols * sx, 4), np.uint8)
    out[:] = (*VIEW_BG, 255)
    for r, row in enumerate(texts):
        for c, text in enumerate(row):
            hatch = bool(hatched[r, c]) if hatched is not None else False
            patch = cell(canvas, text, (sx - gap, sy - gap), colours[r][c], font=font, hatch=hatch)
            blit(out, patch, c * sx, r * sy)
    return out


def outline(
    layer: np.ndarray,
    box: tuple[int, int, int, int],
    colour: tuple[int, int, int],
    thickness: int,
    *,
    dashed: bool = False,
) -> None:
    """A rectangle (x0, y0, x1, y1) drawn around a box, solid or dashed."""
    x0, y0, x1, y1 = box
    if not dashed:
        cv2.rectangle(layer, (x0, y0), (x1, y1), (*colour, 255), thickness, cv2.LINE_AA)
        return
    dash = max(4, 3 * thickness)
    for a, b in (
        ((x0, y0), (x1, y0)),
        ((x1, y0), (x1, y1)),
        ((x1, y1), (x0, y1)),
        ((x0, y1), (x0, y0)),
    ):
        length = int(np.hypot(b[0] - a[0], b[1] - a[1]))
        for s in range(0, length, 2 * dash):
            t0, t1 = s / max(1, length), min(1.0, (s + dash) / max(1, length))
            p = (int(a[0] + (b[0] - a[0]) * t0), int(a[1] + (b[1] - a[1]) * t0))
            q = (int(a[0] + (b[0] - a[0]) * t1), int(a[1] + (b[1] - a[1]) * t1))
            cv2.line(layer, p, q, (*colour, 255), thickness, cv2.LINE_AA)


def put_grey(layer: np.ndarray, grey: np.ndarray, x: int, y: int) -> tuple[int, int]:
    """Copy a (h, w) uint8 picture into ``layer`` at (x, y) as opaque grey, clipped; (w, h).

    OpenCV converts straight into the layer's rectangle (no RGBA copy in between): a
    tenth of a millisecond for a projector-sized picture, where a NumPy broadcast into
    the interleaved channels takes a few.
    """
    H, W = layer.shape[:2]
    h, w = grey.shape[:2]
    x0, y0, x1, y1 = max(0, x), max(0, y), min(W, x + w), min(H, y + h)
    if x1 > x0 and y1 > y0:
        part = np.ascontiguousarray(grey[y0 - y : y1 - y, x0 - x : x1 - x])
        target = layer[y0:y1, x0:x1]
        cv2.cvtColor(part, cv2.COLOR_GRAY2RGBA, dst=target)
    return w, h


def wrap(canvas: Canvas, lines: Sequence[Line], width: int) -> list[Line]:
    """``lines`` broken at spaces to fit a panel ``width`` px wide (its padding taken
    off): long sentences take more lines instead of shrinking below the projector's
    text size."""
    return wrap_lines(lines, canvas.scale, width - 2 * max(2, round(6 * canvas.scale)))


def text(
    canvas: Canvas,
    lines: Sequence[Line],
    *,
    width: int | None = None,
    volatile: bool = False,
) -> np.ndarray:
    """A text panel on the view background (opaque), cached like the other panels; with a
    ``width``, long lines wrap (continuation lines indented) rather than shrink."""
    if width is not None:
        lines = tuple(lines)
        # Measuring words is slow: wrap each distinct text once.
        lines = cached(canvas, ("wrap", lines, width), lambda: tuple(wrap(canvas, lines, width)))
    return canvas.panel(
        lines, opaque=True, width=width, bg=VIEW_BG, bg_alpha=255, volatile=volatile
    )


def tight(canvas: Canvas, lines: Sequence[Line], width: int) -> np.ndarray:
    """Text wrapped to ``width`` px with almost no padding, on the view background (for
    narrow columns and labels between other drawings); cached."""
    lines = tuple(lines)

    def make() -> np.ndarray:
        return render_panel(
            lines, canvas.scale, max_width=width, pad=1, bg=VIEW_BG, bg_alpha=255,
            flatten_on=VIEW_BG,
        )  # fmt: skip

    return cached(canvas, ("tight", lines, width), make)
