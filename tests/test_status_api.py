"""``/api/status`` of the running app says which frame it describes, why no digit or number is
shown, and the number view's number (the real loop, stages and web viewer)."""

from __future__ import annotations

import json

import cv2
import numpy as np

from app.config import config_from_dict
from app.display.web import WebViewer
from app.frame import Frame
from app.loop import CaptureLoop, LoopOptions
from app.sources.demo import DemoSource
from app.stages.pipeline import build_pipeline
from app.state import Roi, ViewState
from tests.test_bench_steps import PaperSource
from tests.test_number_stage import small_number_frame
from tests.web_support import request

CONFIG = config_from_dict({"model": {"backend": "numpy"}})


class SlowClock:
    """A monotonic clock that advances 0.1 s each time it is read: the status's slowly
    refreshed figures (fps, runtime) are taken again within a few frames."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        self.now += 0.1
        return self.now


def status_after(source, frames: int, state: ViewState) -> dict:
    """Run the loop for ``frames`` frames into a web viewer, then GET /api/status."""
    display = WebViewer("127.0.0.1", 0)
    display.open()
    try:
        options = LoopOptions(clock=SlowClock())
        loop = CaptureLoop(source, display, build_pipeline(CONFIG), state=state, options=options)
        loop.run(max_frames=frames)
        code, body, _ = request(display, "GET", "/api/status")
    finally:
        display.close()
    assert code == 200
    return json.loads(body)


def blank_paper() -> Frame:
    grey = np.full((480, 640), 200, np.uint8)
    lores = cv2.resize(grey, (320, 240), interpolation=cv2.INTER_AREA)
    return Frame(cv2.cvtColor(grey, cv2.COLOR_GRAY2BGR), lores, 0, 0.0)


def test_the_status_numbers_its_frames():
    first = status_after(DemoSource(seed=0, realtime=False), 5, ViewState())
    later = status_after(DemoSource(seed=0, realtime=False), 12, ViewState())
    # The demo numbers its frames from 0: the status describes the last one run.
    assert first["seq"] == 4 and later["seq"] == 11
    assert later["prediction"] is not None and later["reason"] is None


def test_no_digit_comes_with_its_reason():
    status = status_after(PaperSource(blank_paper()), 4, ViewState())
    assert status["prediction"] is None and status["reason"] == "no ink"
    assert status["number"] is None  # the number stage did not run in the camera view


def test_the_number_view_reports_its_number_and_why_not():
    view = ViewState(view="number", roi=Roi(0.5, 0.5, 0.6))
    status = status_after(PaperSource(small_number_frame(48)), 5, view)
    assert status["number"] == "407" and status["reason"] is None
    assert status["prediction"] is None  # the digit stage does not run in this view
    assert status["runtime"].startswith("NumPy")  # ... the number stage's network says it
    empty = status_after(PaperSource(blank_paper()), 5, view)
    assert empty["number"] is None and empty["reason"] == "no ink"
