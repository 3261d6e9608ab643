"""The number view: the live picture with each digit's box and reading, and the number."""

from __future__ import annotations

import cv2
import numpy as np

from app.i18n import N_, tr
from app.stages.results import DIGIT, UNAVAILABLE, FrameResults
from app.state import ViewState
from app.views.base import MARGIN, SMALL, Body, Canvas, View
from app.views.card import status_color
from app.views.draw import AMBER, GREEN, GREY, Line, blit

#: The number panel's width (640x480 units).
PANEL_W = 190


class NumberView(View):
    """Transparent over the camera picture: the ROI, a box and a digit over each digit
    found (amber when it does not read as one), and the number, smoothed over frames."""

    name = "number"
    title = N_("NUMBER")
    key = "u"
    description = N_("number view: several digits")
    stages = ("number",)
    opaque = False

    def draw(
        self, canvas: Canvas, layer: np.ndarray, state: ViewState, results: FrameResults, body: Body
    ) -> None:
        number = results.number
        status = number.status if number is not None else UNAVAILABLE
        if number is not None:
            _box(canvas, layer, number.roi_px, status_color(status), canvas.px(3))
            for digit in number.digits:
                color = GREEN if digit.digit is not None else AMBER
                x0, y0 = _box(canvas, layer, digit.box, color, canvas.px(2))
                text = "?" if digit.digit is None else str(digit.digit)
                tag = canvas.panel([Line(text, 0.6, color, True)], opaque=False)
                blit(layer, tag, x0, max(body.top, y0 - tag.shape[0] - canvas.px(2)))
        x, y = canvas.width - canvas.px(PANEL_W) - canvas.px(MARGIN), canvas.px(MARGIN)
        blit(layer, self._panel(canvas, number, status), x, y)

    def _panel(self, canvas: Canvas, number, status: str) -> np.ndarray:
        color = status_color(status)
        if number is not None and status == DIGIT:
            lines = [Line(tr("number"), SMALL, GREY), Line(number.number or "", 1.3, color, True)]
        elif number is not None and number.status != UNAVAILABLE:
            lines = [
                Line(tr("no number"), 0.9, color, True),
                Line(tr(number.reason or ""), SMALL, GREY),
            ]
        else:
            reason = number.reason if number is not None else N_("model unavailable")
            lines = [
                Line(tr("no classifier"), 0.8, color, True),
                Line(tr(reason or ""), SMALL, GREY),
            ]
        return canvas.panel(lines, opaque=False, width=canvas.px(PANEL_W), volatile=True)


def _box(
    canvas: Canvas, layer: np.ndarray, box: tuple[int, ...], color: tuple[int, int, int], thick: int
) -> tuple[int, int]:
    """A box given on the frame, drawn on the layer with a dark rim; returns its top left."""
    x0, y0 = canvas.from_frame(float(box[0]), float(box[1]))
    x1, y1 = canvas.from_frame(float(box[2]), float(box[3]))
    cv2.rectangle(layer, (x0, y0), (x1, y1), (0, 0, 0, 200), thick + 2 * canvas.px(1))
    cv2.rectangle(layer, (x0, y0), (x1, y1), (*color, 255), thick)
    return x0, y0
