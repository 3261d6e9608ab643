"""``convlens bench`` times the reading's steps inside the digit and number stages."""

from __future__ import annotations

import json

from app.bench import format_table, run_bench
from app.cli import main
from app.config import Config
from app.frame import Frame
from app.loop import CaptureLoop, LoopOptions
from app.sources.base import Source
from app.stages.digit import DigitStage
from app.stages.pipeline import Pipeline
from tests.digit_support import committed_classifier
from tests.loop_fakes import RecordingDisplay
from tests.test_digit_reading import mnist_ink, paper_frame

DIGIT_STEPS = {"find ink", "normalise", "classify", "not a digit?", "smooth"}


class PaperSource(Source):
    """The same sheet of paper every frame (a 640x480 frame and its 320x240 grey plane)."""

    description = "paper"

    def __init__(self, frame: Frame) -> None:
        self.frame, self.seq = frame, 0

    def open(self) -> None:
        pass

    def read(self) -> Frame:
        self.seq += 1
        return Frame(self.frame.array, self.frame.gray, self.seq, 0.0)

    def close(self) -> None:
        pass


def test_bench_reports_each_step_of_the_digit_and_number_stages(capsys):
    assert main(["bench", "--frames", "6", "--json", "--size", "320x240", "--view", "number"]) == 0
    report = json.loads(capsys.readouterr().out)
    digit_steps = {
        key.partition("/")[2]: figures
        for key, figures in report["all_views"]["steps"].items()
        if key.startswith("digit/")
    }
    # The demo's digit is found, normalised and read every frame (after the warm-up).
    assert set(digit_steps) >= DIGIT_STEPS
    for name in DIGIT_STEPS:
        assert digit_steps[name]["frames"] == 6 and digit_steps[name]["median_ms"] > 0
    number_steps = report["views"]["number"]["steps"]
    assert {"number/find ink", "number/split and classify"} <= set(number_steps)
    assert all(key.startswith("number/") for key in number_steps)  # only the view's stages
    # Steps of a stage take part of its time, not more.
    digit = report["all_views"]["stages"]["digit"]["median_ms"]
    assert digit_steps["find ink"]["median_ms"] < digit


def test_a_small_digit_shows_the_main_stream_step_and_the_table_lists_it():
    digit = DigitStage(committed_classifier())
    pipeline = Pipeline([digit])
    frame = paper_frame(mnist_ink(3, 26))  # 13 px on the grey plane: read again from main
    report = run_bench(  # the default ROI: the middle 45 % of the frame's height
        frames=5, config=Config(), pipeline=pipeline, source_factory=lambda: PaperSource(frame)
    )
    steps = report["current_view"]["steps"]
    assert steps["digit/small: main stream"]["frames"] == 5
    assert steps["digit/find ink"]["frames"] == 5  # the grey plane's square, every frame
    table = format_table(report)
    assert "  small: main stream" in table and "  find ink" in table
    assert digit.timer is None  # a live run after the bench times nothing


def test_a_live_run_times_no_steps():
    stage = DigitStage(committed_classifier())
    frame = paper_frame(mnist_ink(3, 26))
    display = RecordingDisplay()
    display.open()
    loop = CaptureLoop(
        PaperSource(frame), display, Pipeline([stage]), options=LoopOptions(record=True)
    )
    loop.run(max_frames=3)
    assert "digit" in loop.timer.recorded
    assert not [key for key in loop.timer.recorded if "/" in key]
