"""The camera view: the live picture with the ROI box, the digit's tag and the prediction card."""

from __future__ import annotations

import cv2
import numpy as np

from app.i18n import N_, tr
from app.stages.results import UNAVAILABLE, FrameResults
from app.state import ViewState
from app.views.base import MARGIN, SMALL, Body, Canvas, View
from app.views.card import digit_label, prediction_card, reference_text, status_color
from app.views.draw import AMBER, Line, blit

#: The prediction card's width (640x480 units).
CARD_W = 190


class CameraView(View):
    """Transparent over the camera picture: only the ROI box and the panels are drawn."""

    name = "camera"
    title = N_("CAMERA + DIGIT")
    key = "1"
    description = N_("camera view")
    stages = ("digit",)
    opaque = False

    def draw(
        self, canvas: Canvas, layer: np.ndarray, state: ViewState, results: FrameResults, body: Body
    ) -> None:
        digit = results.digit
        status = digit.status if digit is not None else UNAVAILABLE
        color = status_color(status)
        if digit is not None:
            roi = digit.roi_px
        else:
            fw, fh = canvas.frame_size
            side = state.roi.size * min(fw, fh)
            cx, cy = state.roi.cx * fw, state.roi.cy * fh
            roi = (cx - side / 2, cy - side / 2, cx + side / 2, cy + side / 2)
        x0, y0 = canvas.from_frame(float(roi[0]), float(roi[1]))
        x1, y1 = canvas.from_frame(float(roi[2]), float(roi[3]))
        thick = canvas.px(3)
        # A dark rim under the coloured box keeps it visible on light and dark scenes.
        cv2.rectangle(layer, (x0, y0), (x1, y1), (0, 0, 0, 200), thick + 2 * canvas.px(1))
        cv2.rectangle(layer, (x0, y0), (x1, y1), (*color, 255), thick)
        tag = canvas.panel(
            [Line(digit_label(digit), 0.7, color, True)], opaque=False, volatile=True
        )
        ty = y0 - tag.shape[0] - canvas.px(4)
        if ty < body.top:
            ty = y1 + canvas.px(4)
        blit(layer, tag, x0, ty)
        if digit is not None and digit.hint:
            # "digit too small / too large" under the box, where the hand holds the paper.
            hint = canvas.panel([Line(tr(digit.hint), SMALL, AMBER)], opaque=False)
            hy = y1 + canvas.px(4) + (tag.shape[0] if ty > y0 else 0)
            blit(layer, hint, x0, min(hy, canvas.height - hint.shape[0]))
        x, y = canvas.width - canvas.px(CARD_W) - canvas.px(MARGIN), canvas.px(MARGIN)
        if body.header_right + canvas.px(MARGIN) > x:  # a long header (Spanish, 4:3)
            y = body.top + canvas.px(MARGIN)
        card_h = prediction_card(canvas, layer, digit, (x, y), opaque=False, width=CARD_W)
        ref = digit.reference if digit is not None else None
        if state.numpy_reference and ref is not None:
            lines = [Line(t, SMALL, AMBER) for t in reference_text(ref).split("; ")]
            w = canvas.px(CARD_W)
            panel = canvas.panel(lines, opaque=False, width=w, volatile=True)[:, :w]
            blit(layer, panel, x, y + card_h + canvas.px(4))
