"""The features view's number card: the digits of the number in the ROI, the one under the
cursor framed (its feature maps are the ones drawn), and what it was read as."""

from __future__ import annotations

import cv2
import numpy as np

from app.i18n import N_, tr
from app.stages.results import NumberResult
from app.views.base import SMALL, Canvas
from app.views.draw import AMBER, CYAN, GREEN, GREY, WHITE, Line, blit

#: The digits' size in the card.
DIGIT_SCALE = 0.9
#: What the arrows do in this mode (marked: translated where shown).
CURSOR_KEYS = N_("← → another digit")


def number_card(
    canvas: Canvas,
    layer: np.ndarray | None,
    number: NumberResult | None,
    index: int | None,
    where: tuple[int, int],
    width: int,
) -> int:
    """Draw the card ``width`` px wide at ``where`` (top left) when ``layer`` is given;
    return its height either way. ``index``: the digit under the cursor, or None."""
    x, y = where
    if number is None or not number.digits or index is None:
        reason = number.reason if number is not None else N_("the number stage is off")
        lines = [Line(tr("no number"), 0.8, AMBER, True), Line(tr(reason or ""), SMALL, GREY)]
        panel = canvas.panel(lines, opaque=True, width=width)
        if layer is not None:
            blit(layer, panel, x, y)
        return int(panel.shape[0])
    title = canvas.panel([Line(tr("number"), SMALL, GREY)], opaque=True, width=width)
    row_h = _digits_row(canvas, layer, number, index, (x, y + title.shape[0]), width)
    chosen = number.digits[index]
    read = "?" if chosen.digit is None else str(chosen.digit)
    lines = [
        Line(tr("digit {i} of {n}: {d}").format(i=index + 1, n=len(number.digits), d=read),
             SMALL, WHITE),
        Line(tr("confidence {p}%").format(p=f"{chosen.confidence * 100:.0f}"), SMALL, WHITE),
        Line(tr(CURSOR_KEYS), SMALL, GREY),
    ]  # fmt: skip
    notes = canvas.panel(lines, opaque=True, width=width, volatile=True)
    if layer is not None:
        blit(layer, title, x, y)
        blit(layer, notes, x, y + title.shape[0] + row_h)
    return int(title.shape[0] + row_h + notes.shape[0])


def _digits_row(
    canvas: Canvas,
    layer: np.ndarray | None,
    number: NumberResult,
    index: int,
    where: tuple[int, int],
    width: int,
) -> int:
    """This frame's digits left to right (amber '?' for ink that is not a digit), the
    one at ``index`` framed in cyan; returns the row's height."""
    backdrop = canvas.panel([Line(" ", DIGIT_SCALE, WHITE, True)], opaque=True, width=width)
    if layer is None:
        return int(backdrop.shape[0])
    x, y = where
    blit(layer, backdrop, x, y)
    gap, thick = canvas.px(4), max(1, canvas.px(2))
    x += canvas.px(6)  # in line with the text of the panels above and below
    for i, d in enumerate(number.digits):
        text, color = ("?", AMBER) if d.digit is None else (str(d.digit), GREEN)
        tag = canvas.panel([Line(text, DIGIT_SCALE, color, True)], opaque=True)
        if x + tag.shape[1] > where[0] + width:
            break  # more digits than the card holds (at most six are read)
        blit(layer, tag, x, y)
        if i == index:
            end = (x + tag.shape[1] - 1, y + tag.shape[0] - 1)
            cv2.rectangle(layer, (x, y), end, (*CYAN, 255), thick)
        x += tag.shape[1] + gap
    return int(backdrop.shape[0])
