"""Projector mode: at 1280x720, 1920x1080 and 1024x768, in both languages, every view's
every text line is at least 1/45 of the screen's height (legible from the back of a room).

The sizes are the ones the text renderer actually rasterised (``recording_text``): the
real pipeline's results for each view, drawn by a fresh renderer (nothing from a cache).
"""

from __future__ import annotations

from dataclasses import replace
from functools import cache

import numpy as np
import pytest

from app.config import config_from_dict
from app.controls.actions import key_legend
from app.loop import CaptureLoop, LoopOptions
from app.sources.demo import DemoSource
from app.stages.pipeline import build_pipeline
from app.stages.results import FrameResults
from app.state import ViewState
from app.status import FrameStatus
from app.views import view_names
from app.views.renderer import OverlayRenderer
from app.views.text import recording_text
from tests.loop_fakes import RecordingDisplay

SCREENS = [(1280, 720), (1920, 1080), (1024, 768)]


@cache
def live_results(view: str) -> tuple[FrameStatus, FrameResults]:
    """The demo scene through the real stages and loop, as the view shows it."""
    config = config_from_dict({"model": {"backend": "numpy"}})
    display = RecordingDisplay()
    loop = CaptureLoop(
        DemoSource(size=(640, 480), seed=0, realtime=False),
        display,
        build_pipeline(config),
        state=ViewState(view=view, numpy_reference=True),
        options=LoopOptions(),
    )
    loop.run(max_frames=8)
    return display.statuses[-1], loop.last_results


@pytest.mark.parametrize("screen", SCREENS, ids=lambda s: f"{s[0]}x{s[1]}")
@pytest.mark.parametrize("lang", ["en", "es"])
@pytest.mark.parametrize("view", view_names())
def test_no_text_line_is_smaller_than_a_45th_of_the_screen(view, lang, screen) -> None:
    status, results = live_results(view)
    status = replace(status, language=lang, frozen=True, message="snapshot saved: snapshots/x")
    renderer = OverlayRenderer(screen, key_legend(), frame_size=(640, 480))
    with recording_text() as drawn:
        renderer.render(status, results)
        renderer.render(replace(status, show_help=True), results)
    assert drawn, "no text drawn"
    smallest = min(drawn, key=lambda d: d.size_px)
    assert smallest.size_px >= screen[1] / 45, (
        f"{view} {lang} {screen}: {smallest.text!r} drawn at {smallest.size_px} px "
        f"< {screen[1] / 45:.1f} px"
    )


def test_every_stride_draws_its_map_over_the_same_area_frozen_or_not(monkeypatch) -> None:
    """Issue 12: frozen (or with the NumPy reference on), stride 2's map was drawn at 1x,
    smaller than strides 3 and 4. An output pixel now covers ``stride`` input pixels
    on screen: every stride's map covers the input's area, the blocks grow."""
    from app.views.base import Canvas

    drawn: list[tuple[np.ndarray, tuple[int, int, int, int]]] = []
    real = Canvas.show_scaled

    def record(self, layer, image, where, scale):
        box = real(self, layer, image, where, scale)
        drawn.append((image, box))
        return box

    monkeypatch.setattr(Canvas, "show_scaled", record)
    widths = {}
    for stride in (1, 2, 3, 4):
        for frozen in (False, True):
            config = config_from_dict({"model": {"backend": "numpy"}})
            state = ViewState(view="kernel", stride=stride, frozen=frozen, numpy_reference=frozen)
            loop = CaptureLoop(
                DemoSource(size=(640, 480), seed=0, realtime=False),
                RecordingDisplay(),
                build_pipeline(config),
                state=state,
                options=LoopOptions(screen=(1280, 720)),
            )
            loop.run(max_frames=2)
            # The map's own box (the view also draws its input and the enlarged corner).
            shown = loop.last_results.kernel.image
            widths[(stride, frozen)] = next(b for i, b in reversed(drawn) if i is shown)[2:]
    for frozen in (False, True):
        sizes = [size for (_, f), size in widths.items() if f == frozen]
        spread_w = max(w for w, _ in sizes) - min(w for w, _ in sizes)
        spread_h = max(h for _, h in sizes) - min(h for _, h in sizes)
        # One input pixel of rounding (a stride that does not divide 320 or 240) at ~2x.
        assert spread_w <= 4 and spread_h <= 4, widths


@pytest.mark.parametrize("screen", [(640, 480), (1024, 768), (1920, 1080)])
def test_the_digit_card_ends_above_the_footer_and_its_message(monkeypatch, screen) -> None:
    """Issue 12: in the features view the card overlapped the status bar."""
    from app.views import chrome, features

    cards: list[int] = []
    footers: list[int] = []
    real_card, real_footer = features.prediction_card, chrome.footer

    def card(canvas, layer, digit, where, **kw):
        height = real_card(canvas, layer, digit, where, **kw)
        cards.append(where[1] + height)
        return height

    def footer(*args, **kw):
        top = real_footer(*args, **kw)
        footers.append(top)
        return top

    monkeypatch.setattr(features, "prediction_card", card)
    monkeypatch.setattr(chrome, "footer", footer)
    status, results = live_results("features")
    for lang in ("en", "es"):
        message = "stage kernel switched off after 20 failures in a row: ValueError"
        renderer = OverlayRenderer(screen, frame_size=(640, 480))
        renderer.render(replace(status, language=lang, message=message), results)
        assert cards[-1] <= footers[-1], (lang, cards[-1], footers[-1])
