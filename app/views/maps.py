"""The layout the kernel and pooling views share: the picture the stage read and its map side
by side at one scale, the size formulas under them, a settings column on the right (title,
picture, lines) and, in the room left under it, the view's worked example."""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Callable, Sequence
from typing import ClassVar, NamedTuple

import cv2
import numpy as np

from app.i18n import tr
from app.stages.results import FrameResults, MapResult, ReferenceRun
from app.state import ViewState
from app.views.base import BODY, MARGIN, SMALL, Body, Canvas, View
from app.views.cells import PAD_HATCH
from app.views.draw import AMBER, CYAN, GREEN, WHITE, Line, blit, frame_rect, shape_text

#: The settings column's width (640x480 units).
COLUMN_W = 200

#: Draws a picture into the column at (x, y), w wide; returns the height it used.
ColumnPicture = Callable[[int, int, int], int]


class Before(NamedTuple):
    """The picture a stage read, drawn beside its map at the same scale.

    ``image``: (h, w) uint8 grey, ``border`` pixels of padding on every side included
    (drawn marked as padding); ``origin``: input pixels from the picture's top left to
    where the map's first pixel sits (the first window's centre), so each output pixel
    is drawn beside the input pixels it covers.
    """

    image: np.ndarray
    caption: str
    border: int = 0
    origin: int = 0


class MapView(View):
    """A view of one stage's (H', W') map: see the module docstring for the layout."""

    #: The general output-size formula shown above the one with the numbers in (marked
    #: with ``N_``, translated when drawn).
    formula: ClassVar[str]

    @abstractmethod
    def shown_map(self, results: FrameResults) -> MapResult | None:
        """The result whose map this view shows (None when its stage is off or failed)."""

    @abstractmethod
    def step(self, state: ViewState) -> int:
        """Input pixels per output pixel along each axis (the stride, the pooling step)."""

    def before(self, state: ViewState, results: FrameResults) -> Before | None:
        """The picture the stage read, drawn beside the map (None: the map alone)."""
        return None

    @abstractmethod
    def draw_column(
        self,
        canvas: Canvas,
        layer: np.ndarray,
        state: ViewState,
        results: FrameResults,
        where: tuple[int, int, int],
    ) -> int:
        """Draw the settings column with its top left at (x, y) and width w (``where``);
        return the y below it."""

    def draw_example(
        self,
        canvas: Canvas,
        layer: np.ndarray,
        state: ViewState,
        results: FrameResults,
        area: tuple[int, int, int, int],
    ) -> None:
        """Draw the view's worked example in ``area`` (x, y, w, h), the column's room left
        under the settings (nothing by default)."""

    def mark(
        self,
        canvas: Canvas,
        layer: np.ndarray,
        state: ViewState,
        results: FrameResults,
        boxes: Sequence[tuple[int, int, int, int]],
        scale: float,
    ) -> None:
        """Mark the pictures drawn at ``boxes`` (x, y, w, h, frames included; the map
        last), ``scale`` screen pixels per input pixel (nothing by default)."""

    def draw(
        self, canvas: Canvas, layer: np.ndarray, state: ViewState, results: FrameResults, body: Body
    ) -> None:
        m = canvas.px(MARGIN)
        col_w = canvas.px(COLUMN_W)
        col_x = canvas.width - col_w - m
        shown = self.shown_map(results)
        # Bottom band: the size formulas, at the body's size (read from the back).
        band_top = body.bottom
        left_w = canvas.width - col_w - 3 * m
        if shown is not None:
            lines = [Line(tr(self.formula), BODY, CYAN)]
            lines += [Line(text, BODY, WHITE) for text in (shown.formula_h, shown.formula_w)]
            formulas = canvas.panel(lines, opaque=True, width=left_w)
            band_top -= formulas.shape[0] + canvas.px(4)
            blit(layer, formulas, m, band_top)
        legend_h = canvas.px(26)
        area = (m, body.top + m, left_w, band_top - legend_h - body.top - 2 * m)
        # Beside the header when it leaves room (wide screens), else under it.
        col_y = m if body.header_right + m <= col_x else body.top + m
        col_bottom = self.draw_column(canvas, layer, state, results, (col_x, col_y, col_w))
        gap = canvas.px(6)
        room = (col_x, col_bottom + gap, col_w, body.bottom - col_bottom - gap - m)
        if shown is None:
            note = Line(
                tr("no image: the {name} stage is off or failed").format(name=self.name),
                BODY,
                AMBER,
            )
            blit(layer, canvas.panel([note], opaque=True, width=left_w), *area[:2])
        else:
            self._draw_maps(canvas, layer, state, results, area)
        self.draw_example(canvas, layer, state, results, room)

    def _draw_maps(
        self,
        canvas: Canvas,
        layer: np.ndarray,
        state: ViewState,
        results: FrameResults,
        area: tuple[int, int, int, int],
    ) -> None:
        """The picture before the stage (if any) and the map, side by side at one scale:
        an output pixel covers ``step`` input pixels, whatever the stride or the room."""
        shown = self.shown_map(results)
        assert shown is not None
        before = self.before(state, results)
        x, y, w, h = area
        gap = canvas.px(MARGIN)
        after = tr("after: {rows}x{cols}").format(rows=shown.out_shape[0], cols=shown.out_shape[1])
        captions = ([before.caption] if before is not None else []) + [after]
        box_w = (w - gap * (len(captions) - 1)) // len(captions)
        # Captions wrap within their picture's width; the pictures start under the tallest.
        heads = [
            canvas.panel([Line(c, SMALL, CYAN, True)], opaque=True, width=box_w) for c in captions
        ]
        head_h = max(p.shape[0] for p in heads)
        border = before.border if before is not None else 0
        in_h, in_w = shown.in_shape[0] + 2 * border, shown.in_shape[1] + 2 * border
        scale = min((box_w - 2) / max(1, in_w), (h - head_h - 2) / max(1, in_h))
        boxes = []
        for i, head in enumerate(heads):
            bx = x + i * (box_w + gap)
            blit(layer, head[:, :box_w], bx, y)
            if before is not None and i == 0:
                box = canvas.show_scaled(layer, before.image, (bx, y + head_h), scale)
                mark_padding(layer, box, border * scale)
            else:
                shift = round(before.origin * scale) if before is not None else 0
                where = (bx + shift, y + head_h + shift)
                box = canvas.show_scaled(layer, shown.image, where, scale * self.step(state))
            boxes.append(box)
        self.mark(canvas, layer, state, results, boxes, scale)
        box = boxes[-1]
        legend = canvas.legend(max(box[2], canvas.px(60)), canvas.px(10), shown.value_range)
        blit(layer, legend, box[0], box[1] + box[3] + canvas.px(3))


def mark_padding(layer: np.ndarray, box: tuple[int, int, int, int], band: float) -> None:
    """Tint the ``band`` px border of the picture drawn at ``box`` (x, y, w, h, its 1-px
    frame included) in the padding colour and draw the picture's own edge inside it."""
    if band <= 0 or box[2] <= 2 or box[3] <= 2:
        return
    x, y, w, h = box[0] + 1, box[1] + 1, box[2] - 2, box[3] - 2
    b = max(2, round(band))
    tint = np.array((*PAD_HATCH, 255), np.float64)
    for part in (
        layer[y : y + b, x : x + w],
        layer[y + h - b : y + h, x : x + w],
        layer[y + b : y + h - b, x : x + b],
        layer[y + b : y + h - b, x + w - b : x + w],
    ):
        if part.size:
            # Tinted, not covered: the padding's own values (zeros, mirrored pixels) show.
            cv2.addWeighted(
                part, 0.45, np.broadcast_to(tint, part.shape).astype(np.uint8), 0.55, 0, dst=part
            )
    frame_rect(layer, (x + b, y + b, w - 2 * b, h - 2 * b), (*AMBER, 255))


def shape_lines(shown: MapResult | None) -> list[Line]:
    """``in 240x320`` and ``out 120x160 (H' x W')``."""
    if shown is None:
        return []
    return [
        Line(tr("in   {shape}").format(shape=shape_text(shown.in_shape)), SMALL),
        Line(
            tr("out  {shape}  (H' x W')").format(shape=shape_text(shown.out_shape)),
            SMALL,
            GREEN,
            True,
        ),
    ]


def reference_lines(ref: ReferenceRun | None) -> list[Line]:
    """The NumPy reference path's time and difference, when it ran."""
    if ref is None:
        return []
    text = tr("NumPy ref {ms} ms, diff {diff}")
    return [Line(text.format(ms=f"{ref.ms:.1f}", diff=f"{ref.max_abs_diff:.1g}"), SMALL, AMBER)]


def settings_column(
    canvas: Canvas,
    layer: np.ndarray,
    lines: Sequence[Line],
    where: tuple[int, int, int],
    picture: ColumnPicture | None = None,
) -> int:
    """The first line as the column's title, then ``picture``, then the other lines;
    returns the y below them."""
    x, y, w = where
    head = canvas.panel(lines[:1], opaque=True, width=w)
    blit(layer, head, x, y)
    y += head.shape[0]
    if picture is not None:
        y += picture(x, y, w)
    rest = canvas.panel(lines[1:], opaque=True, width=w)
    blit(layer, rest, x, y)
    return y + rest.shape[0]
