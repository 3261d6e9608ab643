"""The layout the kernel and pooling views share: the map on the left with its grey legend,
the size formulas under it, a settings column on the right (title, picture, lines)."""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Callable, Sequence
from typing import ClassVar

import numpy as np

from app.i18n import tr
from app.stages.results import FrameResults, MapResult, ReferenceRun
from app.state import ViewState
from app.views.base import BODY, MARGIN, SMALL, Body, Canvas, View
from app.views.draw import AMBER, CYAN, GREEN, WHITE, Line, blit, shape_text

#: The settings column's width (640x480 units).
COLUMN_W = 200

#: Draws a picture into the column at (x, y), w wide; returns the height it used.
ColumnPicture = Callable[[int, int, int], int]


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

    def before(self, results: FrameResults) -> tuple[np.ndarray, str] | None:
        """The picture the stage read, with its caption, drawn beside the map at the same
        scale (None: the map alone)."""
        return None

    @abstractmethod
    def draw_column(
        self,
        canvas: Canvas,
        layer: np.ndarray,
        state: ViewState,
        results: FrameResults,
        where: tuple[int, int, int],
    ) -> None:
        """Draw the settings column with its top left at (x, y) and width w (``where``)."""

    def draw(
        self, canvas: Canvas, layer: np.ndarray, state: ViewState, results: FrameResults, body: Body
    ) -> None:
        m = canvas.px(MARGIN)
        col_w = canvas.px(COLUMN_W)
        shown = self.shown_map(results)
        # Bottom band: the size formulas.
        band_top = body.bottom
        if shown is not None:
            lines = [Line(tr(self.formula), SMALL, CYAN)]
            lines += [Line(text, SMALL, WHITE) for text in (shown.formula_h, shown.formula_w)]
            formulas = canvas.panel(lines, opaque=True)
            band_top -= formulas.shape[0] + canvas.px(4)
            blit(layer, formulas, m, band_top)
        legend_h = canvas.px(26)
        area = (
            m,
            body.top + m,
            canvas.width - col_w - 2 * m,
            band_top - legend_h - body.top - 2 * m,
        )
        self.draw_column(canvas, layer, state, results, (canvas.width - col_w - m, m, col_w))
        if shown is None:
            note = Line(
                tr("no image: the {name} stage is off or failed").format(name=self.name),
                BODY,
                AMBER,
            )
            blit(layer, canvas.panel([note], opaque=True), *area[:2])
            return
        self._draw_maps(canvas, layer, state, results, area)

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
        before = self.before(results)
        x, y, w, h = area
        gap = canvas.px(MARGIN)
        pictures = [before] if before is not None else []
        pictures.append(
            (
                shown.image,
                tr("after: {rows}x{cols}").format(rows=shown.out_shape[0], cols=shown.out_shape[1]),
            )
        )
        heads = [canvas.panel([Line(c, SMALL, CYAN, True)], opaque=True) for _, c in pictures]
        head_h = max(p.shape[0] for p in heads)
        in_h, in_w = shown.in_shape
        box_w = (w - gap * (len(pictures) - 1)) // len(pictures)
        scale = min((box_w - 2) / max(1, in_w), (h - head_h - 2) / max(1, in_h))
        step = self.step(state)
        for i, ((image, _), head) in enumerate(zip(pictures, heads, strict=True)):
            bx = x + i * (box_w + gap)
            blit(layer, head[:, :box_w], bx, y)
            factor = scale if i < len(pictures) - 1 else scale * step
            box = canvas.show_scaled(layer, image, (bx, y + head_h), factor)
        legend = canvas.legend(max(box[2], canvas.px(60)), canvas.px(10), shown.value_range)
        blit(layer, legend, box[0], box[1] + box[3] + canvas.px(3))


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
) -> None:
    """The first line as the column's title, then ``picture``, then the other lines."""
    x, y, w = where
    head = canvas.panel(lines[:1], opaque=True, width=w)
    blit(layer, head, x, y)
    y += head.shape[0]
    if picture is not None:
        y += picture(x, y, w)
    blit(layer, canvas.panel(lines[1:], opaque=True, width=w), x, y)
