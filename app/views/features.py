"""The features view: the network's 28x28 input and prediction, every layer as a mosaic, the
learned conv1 kernels over the maps they make, and the hand-made kernels, named.

The input and the card on the left, the hand-made kernels listed on the right, the
layers between them (``app.views.features_layout`` places them: conv1's kernels, conv1
and pool1 channel over channel, then conv2 and pool2, the dense layers under them).
Where everything goes is worked out once per screen size and language and kept; a frame
then costs the mosaics' resizes into the layer and copies of kept pieces.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import partial
from typing import ClassVar

import numpy as np

from app.colormaps import DIVERGING, palette_for
from app.i18n import N_, tr
from app.stages.results import FeaturesResult, FrameResults
from app.state import ProbeRange, ViewState
from app.views.base import BODY, MARGIN, SMALL, Body, Canvas, View
from app.views.card import card_height, prediction_card
from app.views.draw import AMBER, CYAN, Line, blit
from app.views.features_layout import STRIP, Placed, plan
from app.views.kernel_pictures import handmade_list, learned_row
from app.views.number_cursor import number_card

#: The left column (input and prediction card) and the input picture's side, in units.
LEFT_W, INPUT_SIDE = 150, 116
#: The hand-made kernels' list on the right (units).
LIST_W = 165


class FeaturesView(View):
    """What each LeNet layer makes of the ROI's digit, with fixed colour scales per layer."""

    name = "features"
    title = N_("FEATURE MAPS")
    key = "0"
    description = N_("feature maps view")
    stages = ("digit", "features")
    # A number's digits one at a time: the maps follow the digit under the cursor.
    modes = (N_("the ROI's digit"), N_("a number: the digit under the cursor"))
    mode_stages: ClassVar[Mapping[int, tuple[str, ...]]] = {1: ("digit", "number", "features")}
    probe_edge = N_("no digit further that way")

    def probe_bounds(self, state: ViewState, results: FrameResults) -> ProbeRange | None:
        """Mode 1 with digits found: the cursor (``probe_x``) goes along them; otherwise
        no point: the arrows move the ROI onto the digit or the number."""
        number = results.number
        if state.mode != 1 or number is None or not number.digits:
            return None
        return ((0, len(number.digits) - 1), (0, 0))

    def draw(
        self, canvas: Canvas, layer: np.ndarray, state: ViewState, results: FrameResults, body: Body
    ) -> None:
        m = canvas.px(MARGIN)
        _left_column(canvas, layer, results, (body.top + m, body.bottom - m), state.mode == 1)
        features = results.features
        x, top, bottom = m + canvas.px(LEFT_W) + m, body.top + m, body.bottom - m
        right = canvas.width - m
        if features is not None and features.handmade:
            list_w = canvas.px(LIST_W)
            patch = handmade_list(canvas, features.handmade, state.kernel, (list_w, bottom - top))
            blit(layer, patch, right - list_w, top)
            right -= list_w + m
        if features is None or not features.mosaics:
            note = Line(tr("no feature maps: the features stage is off or failed"), BODY, AMBER)
            blit(layer, canvas.panel([note], opaque=True, width=right - x), x, top)
            return
        for placed in plan(canvas, features, (x, top, right - x, bottom - top)):
            _draw_placed(canvas, layer, features, placed)


def _draw_placed(
    canvas: Canvas, layer: np.ndarray, features: FeaturesResult, placed: Placed
) -> None:
    """One caption, picture, label row and strip, as planned."""
    blit(layer, placed.caption, *placed.caption_at)
    x, y = placed.picture_at
    row = placed.row
    if row.mosaic is None:
        assert features.learned is not None and features.learned_range is not None
        frame = learned_row(canvas, features.learned, features.learned_range, placed.tiles)
        blit(layer, frame, x + 1, y + 1)
    else:
        canvas.show_scaled(layer, features.mosaics[row.mosaic].image, (x, y), placed.zoom)
    y += placed.size[1] + 2
    if placed.labels is not None:
        blit(layer, placed.labels, x + 1, y)
        y += placed.labels.shape[0]
    palette = DIVERGING if row.mosaic is None else palette_for(row.value_range[0])
    strip = canvas.legend(
        placed.size[0] + 2, canvas.px(STRIP), row.value_range, palette=palette, labels=False
    )
    blit(layer, strip, x, y + canvas.px(2))


def _left_column(
    canvas: Canvas, layer: np.ndarray, results: FrameResults, rows: tuple[int, int], number: bool
) -> None:
    """The 28x28 input with its 0..1 legend, then the prediction card under it (the
    number's card, with the cursor, when ``number``); the input gives up height so the
    card ends above ``rows``' bottom (the footer, the message)."""
    m, (y, bottom) = canvas.px(MARGIN), rows
    caption = Line(tr("input 28x28"), SMALL, CYAN, True)
    panel = canvas.panel([caption], opaque=True, width=canvas.px(LEFT_W))
    blit(layer, panel, m, y)
    y += panel.shape[0]
    index = results.features.number_index if results.features is not None else None
    card = partial(number_card, canvas, number=results.number, index=index, width=canvas.px(LEFT_W))
    if results.features is not None:
        if number:
            card_h = card(None, where=(m, y))
        else:
            card_h = card_height(canvas, results.digit, opaque=True, width=LEFT_W)
        legend_h = canvas.legend(canvas.px(60), canvas.px(8), (0.0, 1.0)).shape[0]
        room = bottom - y - card_h - legend_h - canvas.px(8)
        side = max(canvas.px(28), min(canvas.px(INPUT_SIDE), room))
        _, _, w, h = canvas.show_image(layer, results.features.tensor_image, (m, y, side, side))
        legend = canvas.legend(w, canvas.px(8), (0.0, 1.0))
        blit(layer, legend, m, y + h + canvas.px(2))
        y += h + legend.shape[0] + canvas.px(6)
    if number:
        card(layer, where=(m, y))
    else:
        prediction_card(canvas, layer, results.digit, (m, y), opaque=True, width=LEFT_W)
