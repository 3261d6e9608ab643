"""Where the features view's pictures go: worked out once per screen size and language.

The conv/pool layers form blocks of equal channel counts (conv1's learned kernels on top
of the block they feed, channel over channel); the blocks stand side by side with the
dense layers under them (wide screens), or in one column with the dense layers under it
or beside it (4:3): whichever draws the maps largest. Captions wrap to their column.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np

from app.i18n import current_language, tr
from app.stages.results import FeaturesResult, LayerMosaic
from app.views.base import MARGIN, SMALL, Canvas
from app.views.draw import (
    CYAN,
    GREY,
    VIEW_BG,
    Line,
    blit,
    fmt_num,
    line_face,
    render_panel,
    shape_text,
    wrap_lines,
)

#: The dense row's share of the maps' height when the blocks above could use it all.
DENSE_SHARE = 0.25
#: The dense layers' share of the width when they stand beside one column of blocks.
DENSE_SIDE = 0.3
#: A column is at least this wide (units), so its captions take a line or two.
CAPTION_W = 110
#: Padding around and between a caption's lines (units).
CAPTION_PAD = 2
#: The smallest zoom a picture is drawn at.
MIN_ZOOM = 0.25
#: Height of the colour strip under a picture (units).
STRIP = 6


@dataclass(frozen=True)
class Row:
    """One picture of the maps area: its caption, size at zoom 1 and colour strip.

    ``mosaic`` indexes ``FeaturesResult.mosaics``; None is the learned kernels' row,
    drawn on the tiles of mosaic ``feeds`` (the maps they make).
    """

    caption: str
    natural: tuple[int, int]
    mosaic: int | None
    value_range: tuple[float, float]
    feeds: int = 0


@dataclass(frozen=True)
class Placed:
    """A row placed: its caption patch and where, the picture's top left and zoom, the
    learned kernels' tiles (relative to the picture) and the digit labels under the logits."""

    row: Row
    caption: np.ndarray
    caption_at: tuple[int, int]
    picture_at: tuple[int, int]
    zoom: float
    size: tuple[int, int]
    tiles: tuple[tuple[int, int, int, int], ...] = ()
    labels: np.ndarray | None = None


def rows_of(features: FeaturesResult) -> tuple[list[list[Row]], list[Row]]:
    """The maps' rows: conv/pool blocks (equal channel counts, the learned kernels on top
    of the block they feed) and the dense row."""
    blocks: list[list[Row]] = []
    dense: list[Row] = []
    channels: list[int] = []
    for i, mosaic in enumerate(features.mosaics):
        lo, hi = (float(v) for v in mosaic.value_range)
        caption = f"{mosaic.name} {shape_text(mosaic.shape)}  [{fmt_num(lo)}, {fmt_num(hi)}]"
        h, w = mosaic.image.shape[:2]
        row = Row(caption, (w, h), i, (lo, hi))
        if len(mosaic.shape) != 3:
            dense.append(row)
        elif channels and channels[-1] == mosaic.shape[2]:
            blocks[-1].append(row)
        else:
            blocks.append([row])
            channels.append(mosaic.shape[2])
    learned, rng = features.learned, features.learned_range
    if learned is not None and rng is not None and learned.shape[0] in channels:
        block = blocks[channels.index(learned.shape[0])]
        feeds = features.mosaics[block[0].mosaic or 0]
        rows_of_tiles = math.ceil(learned.shape[0] / feeds.columns)
        height = rows_of_tiles * (feeds.tile[0] + feeds.gap) - feeds.gap
        span = f"  [{fmt_num(rng[0])}, {fmt_num(rng[1])}]"
        caption = tr("conv1 kernels (learned)") + span
        natural = (block[0].natural[0], height)
        block.insert(0, Row(caption, natural, None, rng, feeds=block[0].mosaic or 0))
    return blocks, dense


def _caption_height(canvas: Canvas, text: str, width: int) -> int:
    """The height ``_caption`` will have, measured without drawing it (the layout search
    tries many widths; drawing and keeping each would fill the panel cache)."""
    pad = max(2, round(CAPTION_PAD * canvas.scale))  # as render_panel rounds them
    gap = max(1, round(CAPTION_PAD * canvas.scale))
    line = Line(text, SMALL, CYAN, True)
    lines = wrap_lines([line], canvas.scale, max(1, width) - 2 * pad)
    return 2 * pad + len(lines) * line_face(line, canvas.scale).height + gap * (len(lines) - 1)


def _caption(canvas: Canvas, text: str, width: int) -> np.ndarray:
    """A caption wrapped to ``width`` px on the view background, tight, cached."""
    line = Line(text, SMALL, CYAN, True)

    def draw() -> np.ndarray:
        return render_panel(
            [line],
            canvas.scale,
            max_width=max(1, width),
            pad=CAPTION_PAD,
            gap=CAPTION_PAD,
            bg=VIEW_BG,
            bg_alpha=255,
            flatten_on=VIEW_BG,
        )

    return canvas.cache.get(("feature-caption", text, width), draw)


def plan(canvas: Canvas, features: FeaturesResult, area: tuple[int, int, int, int]) -> list[Placed]:
    """Where every row goes in ``area`` (x, y, w, h): worked out once per screen, kept."""
    key = (
        "features-plan",
        area,
        tuple(
            (mo.name, mo.shape, mo.image.shape, mo.value_range, mo.tile) for mo in features.mosaics
        ),
        None if features.learned is None else features.learned.shape,
        features.learned_range,
        current_language(),
    )
    return canvas.cache.get(key, lambda: _plan(canvas, features, area))


def _plan(
    canvas: Canvas, features: FeaturesResult, area: tuple[int, int, int, int]
) -> list[Placed]:
    blocks, dense = rows_of(features)
    x, y, w, h = area
    m = canvas.px(MARGIN)
    below = canvas.px(STRIP) + canvas.px(2) + 2 + canvas.px(3)  # frame, strip, space
    one_line = _caption(canvas, "x", w).shape[0]
    under = h - _dense_height(canvas, dense, w, one_line + below, h * DENSE_SHARE) - m
    # Blocks side by side with the dense layers under them (wide screens), or one column
    # of blocks with the dense layers under it or beside it (4:3): the largest zoom wins.
    stacked = [[row for block in blocks for row in block]] if blocks else []
    beside = (w - round(w * DENSE_SIDE) - m, h) if dense else (w, h)
    candidates = [(blocks, (w, under), True), (stacked, (w, under), True)]
    candidates.append((stacked, beside, False))
    zoom, columns, dense_under = max(
        ((_fit(canvas, c, room, below, m), c, u) for c, room, u in candidates),
        key=lambda found: found[0],
    )
    placed: list[Placed] = []
    bx, blocks_bottom = x, y
    for column in columns:
        by = y
        for row in column:
            item = _place(canvas, features, row, (bx, by), zoom, _width(canvas, column, zoom))
            placed.append(item)
            by = item.picture_at[1] + item.size[1] + 2 + below
        blocks_bottom = max(blocks_bottom, by)
        bx += _width(canvas, column, zoom) + m
    if dense and dense_under:
        placed += _place_dense(
            canvas, features, dense, (x, blocks_bottom, w, y + h - blocks_bottom)
        )
    elif dense:
        placed += _place_dense(canvas, features, dense, (bx, y, x + w - bx, h))
    return placed


def _fit(
    canvas: Canvas, columns: list[list[Row]], room: tuple[int, int], below: int, m: int
) -> float:
    """The largest zoom at which ``columns`` of rows fit side by side in ``room`` (w, h),
    each row with its caption (wrapped to its column) and ``below`` px of frame and strip.

    Narrower columns wrap their captions onto more lines, so the zoom is searched from
    the largest the width allows down, checking the wrapped captions at each step.
    """
    if not columns:
        return 1.0
    w, h = room
    natural_w = sum(max(r.natural[0] for r in c) for c in columns)
    zoom = (w - m * (len(columns) - 1) - 2 * len(columns)) / max(1, natural_w)
    while zoom > MIN_ZOOM:
        widths = [_width(canvas, c, zoom) for c in columns]
        if sum(widths) + m * (len(columns) - 1) <= w and all(
            sum(_caption_height(canvas, r.caption, cw) + below + r.natural[1] * zoom for r in c)
            <= h
            for c, cw in zip(columns, widths, strict=True)
        ):
            return zoom
        zoom *= 0.96
    return MIN_ZOOM


def _width(canvas: Canvas, column: list[Row], zoom: float) -> int:
    """A column's width on screen at ``zoom``: its widest picture with the frame, or room
    for its captions on a line or two, whichever is wider."""
    pictures = max(round(r.natural[0] * zoom) for r in column) + 2
    return max(pictures, canvas.px(CAPTION_W))


def _dense_height(canvas: Canvas, dense: list[Row], width: int, fixed: int, share: float) -> int:
    """The height the dense row needs: its share, or less when the width limits it."""
    if not dense:
        return 0
    m = canvas.px(MARGIN)
    natural_w = sum(r.natural[0] for r in dense) + m * (len(dense) - 1)
    tallest = max(r.natural[1] for r in dense)
    zoom = min(width / max(1, natural_w), (share - fixed) / max(1, tallest))
    return round(fixed + tallest * max(zoom, MIN_ZOOM)) + _labels_height(canvas)


def _labels_height(canvas: Canvas) -> int:
    return _digit_panel(canvas, "0").shape[0]


def _digit_panel(canvas: Canvas, text: str) -> np.ndarray:
    return canvas.cache.get(
        ("feature-digit", text),
        lambda: render_panel(
            [Line(text, SMALL, GREY)],
            canvas.scale,
            pad=1,
            bg=VIEW_BG,
            bg_alpha=255,
            flatten_on=VIEW_BG,
        ),
    )


def _place(
    canvas: Canvas,
    features: FeaturesResult,
    row: Row,
    where: tuple[int, int],
    zoom: float,
    width: int,
) -> Placed:
    """A row at ``where`` (its caption's top left, the caption at most ``width`` px wide),
    its picture at ``zoom``."""
    x, y = where
    caption = _caption(canvas, row.caption, width)
    size = (round(row.natural[0] * zoom), round(row.natural[1] * zoom))
    tiles: tuple[tuple[int, int, int, int], ...] = ()
    if row.mosaic is None and features.learned is not None:
        # The kernels sit on the tiles of the maps they make, channel over channel.
        tiles = _tiles(features.mosaics[row.feeds], features.learned.shape[0], zoom)
    return Placed(row, caption, (x, y), (x, y + caption.shape[0]), zoom, size, tiles)


def _tiles(mosaic: LayerMosaic, count: int, zoom: float) -> tuple[tuple[int, int, int, int], ...]:
    """(x, y, w, h) on screen, relative to the picture, of ``mosaic``'s first ``count`` tiles."""
    th, tw = mosaic.tile
    boxes = []
    for i in range(count):
        r, c = divmod(i, mosaic.columns)
        x0, y0 = c * (tw + mosaic.gap), r * (th + mosaic.gap)
        left, top = round(x0 * zoom), round(y0 * zoom)
        boxes.append((left, top, round((x0 + tw) * zoom) - left, round((y0 + th) * zoom) - top))
    return tuple(boxes)


def _place_dense(
    canvas: Canvas, features: FeaturesResult, dense: list[Row], area: tuple[int, int, int, int]
) -> list[Placed]:
    """The dense layers in ``area`` (x, y, w, h), side by side or one under another,
    whichever draws them larger; the logits' cells get their digit written under them."""
    x, y, w, h = area
    m = canvas.px(MARGIN)
    below = canvas.px(STRIP) + canvas.px(2) + 2 + canvas.px(3) + _labels_height(canvas)
    captions = [_caption(canvas, r.caption, w) for r in dense]
    tallest = max(r.natural[1] for r in dense)
    caption_h = max(c.shape[0] for c in captions)
    natural_w = sum(r.natural[0] for r in dense)
    across = min(
        (w - len(dense) * (2 + m)) / max(1, natural_w),
        (h - caption_h - below - 3) / max(1, tallest),
    )
    # Captions wider than their pictures push the next ones right: shrink to fit.
    for _ in range(3):
        used = sum(
            max(round(r.natural[0] * across) + 2, c.shape[1]) + m
            for r, c in zip(dense, captions, strict=True)
        )
        if used - m <= w:
            break
        across *= 0.97 * w / max(1, used - m)
    fixed = sum(c.shape[0] for c in captions) + len(dense) * (below + 2)
    down = min(
        (w - 2) / max(1, max(r.natural[0] for r in dense)),
        (h - fixed) / max(1, sum(r.natural[1] for r in dense)),
    )
    sideways = across >= down
    zoom = max(MIN_ZOOM, across, down)
    placed = []
    for row, caption in zip(dense, captions, strict=True):
        # A caption wider than its picture takes the room beside it.
        item = _place(canvas, features, row, (x, y), zoom, caption.shape[1])
        mosaic = features.mosaics[row.mosaic or 0]
        labels = _logit_labels(canvas, mosaic, zoom) if mosaic.shape == (10,) else None
        bottom = item.picture_at[1] + item.size[1] + 2 + below
        if bottom > area[1] + h:
            break  # no room left (a tiny screen): leave it out rather than overlap
        placed.append(replace(item, labels=labels))
        if sideways:
            x += max(item.size[0] + 2, caption.shape[1]) + m
        else:
            y = bottom
    return placed


def _logit_labels(canvas: Canvas, mosaic: LayerMosaic, zoom: float) -> np.ndarray | None:
    """The digits 0-9 centred under the logits' cells, or None when a cell is too narrow."""
    boxes = _tiles(mosaic, 10, zoom)
    digits = [_digit_panel(canvas, str(d)) for d in range(10)]
    if any(p.shape[1] > bw for p, (_, _, bw, _) in zip(digits, boxes, strict=True)):
        return None
    width = boxes[-1][0] + boxes[-1][2]
    out = np.empty((digits[0].shape[0], width, 4), np.uint8)
    out[:] = (*VIEW_BG, 255)
    for panel, (bx, _, bw, _) in zip(digits, boxes, strict=True):
        blit(out, panel, bx + (bw - panel.shape[1]) // 2, 0)
    return out
