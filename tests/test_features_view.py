"""The features view on a projector (issue 12): the layers fill the screen, the learned conv1
kernels are drawn large with gaps over the maps they make, the hand-made kernels are named."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from app.i18n import language
from app.views import features, features_layout, kernel_pictures
from app.views.base import Canvas
from app.views.draw import VIEW_BG
from app.views.renderer import OverlayRenderer
from app.views.text import recording_text
from app.views.words import shown
from tests.test_projector import live_results

SCREENS = [(1280, 720), (1920, 1080)]


def render(monkeypatch, screen: tuple[int, int], **changes) -> tuple[np.ndarray, list]:
    """The features view of the real pipeline at ``screen``: the layer and its plan."""
    status, results = live_results("features")
    plans = []

    def planned(*args):
        plans.append(features_layout.plan(*args))
        return plans[-1]

    monkeypatch.setattr(features, "plan", planned)
    renderer = OverlayRenderer(screen, frame_size=(640, 480))
    layer = renderer.render(replace(status, **changes), results)
    return layer, plans[-1]


@pytest.mark.parametrize("screen", SCREENS, ids=lambda s: f"{s[0]}x{s[1]}")
@pytest.mark.parametrize("flags", [False, True], ids=["plain", "frozen+numpy"])
def test_every_layer_is_drawn_and_together_they_cover_an_eighth_of_the_screen(
    monkeypatch, screen, flags
) -> None:
    """Before: a third of the frame empty, the mosaics 6-8 % of the screen. Now every layer
    is drawn (with the header's extra line too), and the mosaics cover at least 12 %."""
    results = live_results("features")[1]  # the loop draws too: run it first
    boxes = []
    real = Canvas.show_scaled

    def record(self, layer, image, where, scale):
        box = real(self, layer, image, where, scale)
        boxes.append(box)
        return box

    monkeypatch.setattr(Canvas, "show_scaled", record)
    render(monkeypatch, screen, frozen=flags, numpy_reference=flags)
    assert len(boxes) == len(results.features.mosaics)
    height = screen[1]
    for _, y, w, h in boxes:
        assert w > 0 and h > 0 and y + h < height
    covered = sum(w * h for _, _, w, h in boxes) / (screen[0] * screen[1])
    assert covered >= 0.12, f"{covered:.3f}"


@pytest.mark.parametrize("screen", SCREENS, ids=lambda s: f"{s[0]}x{s[1]}")
def test_the_learned_kernels_are_large_apart_and_over_their_maps(monkeypatch, screen) -> None:
    layer, plan = render(monkeypatch, screen)
    kernels = next(p for p in plan if p.row.mosaic is None)
    conv1 = next(p for p in plan if p.row.mosaic is not None and "conv1" in p.row.caption)
    assert len(kernels.tiles) == 6
    # Each 5x5 kernel at least a 16th of the screen's height (13 px per kernel before).
    assert min(min(w, h) for _, _, w, h in kernels.tiles) >= screen[1] / 16
    # The same columns as conv1's tiles: kernel c is over map c.
    assert kernels.picture_at[0] == conv1.picture_at[0]
    mosaic = live_results("features")[1].features.mosaics[conv1.row.mosaic]
    assert kernels.tiles == features_layout._tiles(mosaic, 6, conv1.zoom)
    # Background shows between the kernels and between a kernel's weights.
    x0, y0 = kernels.picture_at[0] + 1, kernels.picture_at[1] + 1
    for (x, y, w, h), (nx, _, _, _) in zip(kernels.tiles, kernels.tiles[1:], strict=False):
        middle = layer[y0 + y + h // 2, x0 + x + w : x0 + nx, :3]
        assert (middle == VIEW_BG).all(axis=1).any()
    x, y, w, h = kernels.tiles[0]
    row = layer[y0 + y + h // 2, x0 + x : x0 + x + w, :3]
    assert (row == VIEW_BG).all(axis=1).sum() >= 4 + 2  # 4 gaps inside, the inset's edges


@pytest.mark.parametrize("lang", ["en", "es"])
def test_every_hand_made_kernel_is_named_and_the_one_in_use_is_marked(lang) -> None:
    status, results = live_results("features")
    renderer = OverlayRenderer((1280, 720), frame_size=(640, 480))
    with recording_text() as drawn:
        renderer.render(replace(status, language=lang, kernel="sobel_y"), results)
    texts = {d.text for d in drawn}
    with language(lang):
        names = [shown(k.name) for k in results.features.handmade]
    for name in names:
        # A long name may take two lines: every word of it is drawn.
        assert all(any(word in t for t in texts) for word in name.split()), name
    bold = {d.text for d in drawn if d.bold}
    with language(lang):
        assert shown("sobel_y") in bold and shown("sobel_x") not in bold


def test_hand_made_kernels_that_do_not_fit_are_counted() -> None:
    results = live_results("features")[1]
    canvas = Canvas((640, 480))
    kernels = results.features.handmade * 3
    with recording_text() as drawn:
        patch = kernel_pictures.handmade_list(canvas, kernels, "identity", (160, 200))
    assert patch.shape[0] <= 200
    more = [d.text for d in drawn if d.text.endswith("more")]
    assert len(more) == 1 and int(more[0].split()[0]) > 0
