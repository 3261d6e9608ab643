"""The features view: the network's 28x28 input, its prediction, and every layer as a mosaic."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from app.colormaps import DIVERGING, palette_for
from app.i18n import N_, tr
from app.stages.results import FeaturesResult, FrameResults
from app.state import ViewState
from app.views.base import BODY, MARGIN, SMALL, Body, Canvas, View
from app.views.card import card_height, prediction_card
from app.views.draw import AMBER, CYAN, Line, blit, fmt_num, shape_text

#: The left column (input and prediction card) and the input picture's side, in units.
LEFT_W, INPUT_SIDE = 150, 116


@dataclass(frozen=True, eq=False)
class FeatureMap:
    """One picture of the features view: its caption, image, colour scale and column."""

    title: str
    #: (h, w, 3) uint8 BGR.
    image: np.ndarray
    #: The (lo, hi) under a colour strip, or None for no strip.
    value_range: tuple[float, float] | None
    #: The (256, 3) BGR palette of the strip (``app.colormaps``), or None.
    palette: np.ndarray | None
    #: Conv/pool layers (h, w, c) go in the wide column, dense layers and kernels in the other.
    spatial: bool


def feature_maps(features: FeaturesResult | None) -> list[FeatureMap]:
    """The features view's pictures: every layer's mosaic, then the kernels."""
    if features is None:
        return []
    items = []
    for mosaic in features.mosaics:
        lo, hi = (float(v) for v in mosaic.value_range)
        title = f"{mosaic.name} {shape_text(mosaic.shape)}  [{fmt_num(lo)}, {fmt_num(hi)}]"
        spatial = len(mosaic.shape) == 3
        items.append(FeatureMap(title, mosaic.image, (lo, hi), palette_for(lo), spatial))
    if features.learned_kernels is not None:
        rng = features.learned_range
        value_range = (float(rng[0]), float(rng[1])) if rng is not None else None
        span = f"  [{fmt_num(value_range[0])}, {fmt_num(value_range[1])}]" if value_range else ""
        image = features.learned_kernels
        title = tr("conv1 kernels") + span
        items.append(FeatureMap(title, image, value_range, DIVERGING, False))
    if features.handmade_kernels is not None:
        title = tr("hand-made kernels")
        items.append(FeatureMap(title, features.handmade_kernels, None, None, False))
    return items


class FeaturesView(View):
    """What each LeNet layer makes of the ROI's digit, with fixed colour scales per layer."""

    name = "features"
    title = N_("FEATURE MAPS")
    key = "0"
    description = N_("feature maps view")
    stages = ("digit", "features")

    def draw(
        self, canvas: Canvas, layer: np.ndarray, state: ViewState, results: FrameResults, body: Body
    ) -> None:
        m = canvas.px(MARGIN)
        _left_column(canvas, layer, results, (body.top + m, body.bottom - m))
        items = feature_maps(results.features)
        x = m + canvas.px(LEFT_W) + m
        if not items:
            note = Line(tr("no feature maps: the features stage is off or failed"), BODY, AMBER)
            blit(layer, canvas.panel([note], opaque=True), x, body.top + m)
            return
        # Two columns under the header: conv/pool maps (wider), then dense layers and
        # kernels. Each image gets a height in proportion to what it needs at the column
        # width; the caption carries the value range, a thin strip under the image the
        # colours.
        area_w = canvas.width - x - m
        col_ws = (area_w * 58 // 100, area_w - area_w * 58 // 100 - m)
        spatial = [item for item in items if item.spatial]
        flat = [item for item in items if not item.spatial]
        if not spatial or not flat:
            split = -(-len(items) // 2)
            spatial, flat = items[:split], items[split:]
        for chunk, col_w in zip((spatial, flat), col_ws, strict=True):
            _column(canvas, layer, chunk, (x, body.top + m, col_w), body.bottom - m)
            x += col_w + m


def _left_column(
    canvas: Canvas, layer: np.ndarray, results: FrameResults, rows: tuple[int, int]
) -> None:
    """The 28x28 input with its 0..1 legend, then the prediction card under it; the input
    gives up height so the card ends above ``rows``' bottom (the footer, the message)."""
    m, (y, bottom) = canvas.px(MARGIN), rows
    caption = Line(tr("input 28x28"), SMALL, CYAN, True)
    panel = canvas.panel([caption], opaque=True, width=canvas.px(LEFT_W))
    blit(layer, panel, m, y)
    y += panel.shape[0]
    if results.features is not None:
        card_h = card_height(canvas, results.digit, opaque=True, width=LEFT_W)
        legend_h = canvas.legend(canvas.px(60), canvas.px(8), (0.0, 1.0)).shape[0]
        room = bottom - y - card_h - legend_h - canvas.px(8)
        side = max(canvas.px(28), min(canvas.px(INPUT_SIDE), room))
        _, _, w, h = canvas.show_image(layer, results.features.tensor_image, (m, y, side, side))
        legend = canvas.legend(w, canvas.px(8), (0.0, 1.0))
        blit(layer, legend, m, y + h + canvas.px(2))
        y += h + legend.shape[0] + canvas.px(6)
    prediction_card(canvas, layer, results.digit, (m, y), opaque=True, width=LEFT_W)


def _column(
    canvas: Canvas,
    layer: np.ndarray,
    chunk: list[FeatureMap],
    where: tuple[int, int, int],
    bottom: int,
) -> None:
    """One column of captioned pictures from ``where`` (x, top, width) down to ``bottom``."""
    x, top, col_w = where
    strip_h = canvas.px(6)
    heads = [
        canvas.panel([Line(it.title, SMALL, CYAN, True)], opaque=True, width=col_w) for it in chunk
    ]
    fixed = sum(h.shape[0] + canvas.px(3) for h in heads)
    fixed += sum(strip_h + 2 + canvas.px(2) for it in chunk if it.value_range is not None)
    natural = [
        it.image.shape[0] * min(4.0, (col_w - 2) / max(1, it.image.shape[1])) + 2 for it in chunk
    ]
    factor = min(1.0, (bottom - top - fixed) / max(1.0, sum(natural)))
    y = top
    for item, head, nat in zip(chunk, heads, natural, strict=True):
        blit(layer, head[:, :col_w], x, y)
        y += head.shape[0]
        box = canvas.show_image(layer, item.image, (x, y, col_w, max(3, int(nat * factor))))
        y += box[3] + canvas.px(3)
        if item.value_range is None:
            continue
        if box[2] > 0:
            strip = canvas.legend(
                box[2], strip_h, item.value_range, palette=item.palette, labels=False
            )
            blit(layer, strip, x, y - canvas.px(2))
        y += strip_h + 2 + canvas.px(2)
