"""Pipeline goldens: the demo source through the real stages and the real loop into each view.

Nothing here is hand-made: the demo source (seed 0, not paced), the configured stages
with the NumPy classifier, the capture loop and the overlay it draws. A renamed result
field, a stage that stops producing its picture or a view that reads the wrong result
changes the picture, and the comparison with the stored golden fails. The loop's
clock moves one millisecond per reading, so the footer's figures are the same every run.
"""

from __future__ import annotations

import logging

import pytest

from app.config import config_from_dict
from app.display.compose import compose
from app.loop import CaptureLoop, LoopOptions
from app.sources.demo import DemoSource
from app.stages.pipeline import build_pipeline
from app.state import ViewState
from app.views import stages_for, view_names
from tests.goldens import check_golden
from tests.loop_fakes import RecordingDisplay

#: Enough frames for the digit smoother to show the demo's first digit (3 frames).
FRAMES = 6


class SteppingClock:
    """A monotonic clock that advances one millisecond each time it is read."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        self.now += 0.001
        return self.now


#: Each language's golden: English at the camera's size, Spanish at a 16:9 screen (the
#: overlay drawn at the screen's resolution, the frame fitted onto it).
LANGUAGE_SCREENS = {"en": None, "es": (960, 540)}


def run_view(
    view: str, lang: str = "en", screen: tuple[int, int] | None = None
) -> tuple[CaptureLoop, RecordingDisplay, DemoSource]:
    config = config_from_dict({"model": {"backend": "numpy"}})
    source = DemoSource(size=(640, 480), seed=0, realtime=False)
    display = RecordingDisplay()
    options = LoopOptions(clock=SteppingClock(), screen=screen)
    state = ViewState(view=view, language=lang)
    loop = CaptureLoop(source, display, build_pipeline(config), state=state, options=options)
    loop.run(max_frames=FRAMES)
    return loop, display, source


@pytest.mark.parametrize("lang", sorted(LANGUAGE_SCREENS))
@pytest.mark.parametrize("view", view_names())
def test_every_view_of_the_real_pipeline_matches_its_golden(view: str, lang: str, caplog) -> None:
    with caplog.at_level(logging.WARNING):
        loop, display, _ = run_view(view, lang, LANGUAGE_SCREENS[lang])
    assert not [r for r in caplog.records if "failed" in r.getMessage()], caplog.text
    # Every stage the view needs produced its result on the last frame.
    for name in stages_for(view):
        assert getattr(loop.last_results, name) is not None, name
    assert display.last_frame is not None and display.last_overlay is not None
    suffix = "" if lang == "en" else f"_{lang}"
    picture = compose(display.last_frame.array, display.last_overlay)
    check_golden(f"pipeline_{view}{suffix}", picture)


def test_the_camera_view_shows_the_demo_digit() -> None:
    """The golden is not a picture of a failure: the demo's digit is recognised."""
    loop, _, source = run_view("camera")
    digit = loop.last_results.digit
    assert digit is not None and digit.status == "digit"
    assert digit.prediction == source.current_label
