"""The number stage and view: each digit boxed and read, the number smoothed over frames."""

from __future__ import annotations

import cv2
import numpy as np

from app.frame import Frame
from app.reading.number import read_number
from app.stages.number import NumberSmoother, NumberStage
from app.stages.results import FrameResults
from app.state import Roi, ViewState
from tests.digit_support import committed_classifier, mnist_test_split
from tests.test_number import pick, write


def test_a_reading_is_shown_once_it_comes_agree_times_in_the_window():
    s = NumberSmoother(window=5, agree=3)
    assert [s.update(x) for x in ["407", "407", "407"]] == [None, None, "407"]
    assert s.update("401") == "407"  # one misread frame changes nothing
    assert [s.update(x) for x in ["401", "401"]] == ["407", "401"]
    assert [s.update(None) for _ in range(3)] == ["401", "401", None]


def number_frame() -> tuple[Frame, list]:
    """ "407" on paper in the middle of a 640x480 frame, with a 320x240 grey plane."""
    images, labels = mnist_test_split()
    idx = [pick(labels, 4), pick(labels, 0), pick(labels, 7)]
    patch, boxes = write([images[i] for i in idx], [4, 4], height=40)
    grey = np.full((240, 320), 205, np.uint8)
    grey[55:185, 60:260] = patch
    array = cv2.cvtColor(
        cv2.resize(grey, (640, 480), interpolation=cv2.INTER_LINEAR), cv2.COLOR_GRAY2BGR
    )
    return Frame(array=array, gray=grey, seq=0, timestamp=0.0), [
        tuple(2 * (v + o) for v, o in zip(b, (60, 55, 60, 55), strict=True)) for b in boxes
    ]


def test_the_stage_reads_the_number_and_boxes_each_digit_on_the_frame():
    frame, boxes = number_frame()
    stage = NumberStage(committed_classifier())
    state = ViewState(roi=Roi(0.5, 0.5, 0.7))
    shown = []
    for _ in range(3):
        results = FrameResults()
        stage.process(frame, state, results)
        shown.append(results.number.number)
    assert shown == [None, None, "407"]
    number = results.number
    assert number.status == "digit" and number.reason is None
    assert [d.digit for d in number.digits] == [4, 0, 7]
    for digit, want in zip(number.digits, boxes, strict=True):
        assert np.abs(np.subtract(digit.box, want)).max() <= 8, (digit.box, want)
        assert digit.tensor.shape == (28, 28)


def test_without_a_classifier_the_number_is_unavailable():
    frame, _ = number_frame()
    results = FrameResults()
    NumberStage(None, "model file missing").process(frame, ViewState(), results)
    assert results.number.status == "unavailable" and results.number.reason == "model file missing"
    assert results.number.digits == () and results.number.number is None


def small_number_frame(height: int) -> Frame:
    """ "407" written ``height`` px tall on a 640x480 frame (half that on its 320x240 grey
    plane, reduced from it as picamera2's lores stream is)."""
    images, labels = mnist_test_split()
    ink = np.zeros((480, 640), np.float32)
    side = round(height * 28 / 20)
    x = 320 - 3 * (side - side // 5) // 2
    for digit in (4, 0, 7):
        image = images[pick(labels, digit)].astype(np.float32) / 255.0
        alpha = cv2.resize(image, (side, side), interpolation=cv2.INTER_AREA)
        window = ink[240 - side // 2 : 240 - side // 2 + side, x : x + side]
        np.maximum(window, alpha, out=window)
        x += side - side // 5
    noise = np.random.default_rng(0).normal(0, 2.0, ink.shape).astype(np.float32)
    grey = np.clip(205.0 * (1.0 - 0.75 * ink) + noise, 0, 255).astype(np.uint8)
    lores = cv2.resize(grey, (320, 240), interpolation=cv2.INTER_AREA)
    return Frame(cv2.cvtColor(grey, cv2.COLOR_GRAY2BGR), lores, 0, 0.0)


def read_three_times(frame: Frame) -> FrameResults:
    stage, state = NumberStage(committed_classifier()), ViewState(roi=Roi(0.5, 0.5, 0.6))
    for _ in range(3):
        results = FrameResults()
        stage.process(frame, state, results)
    return results


def test_a_small_number_is_read_again_from_the_main_stream():
    """Digits 24 px tall on the main stream are 12 px on the grey plane, too few for the
    0; the stage reads the ROI again from Frame.array, and the boxes come from there."""
    frame = small_number_frame(24)
    number = read_three_times(frame).number
    assert number.number == "407", [(d.digit, d.box) for d in number.digits]
    assert all(d.box[3] - d.box[1] >= 22 for d in number.digits)  # main-stream pixels
    # Without a sharper picture (a 320x240 frame) the same number is not read.
    lores_only = Frame(cv2.cvtColor(frame.gray, cv2.COLOR_GRAY2BGR), frame.gray, 0, 0.0)
    assert read_three_times(lores_only).number.number is None


def test_a_number_large_enough_is_read_from_the_grey_plane_only(monkeypatch):
    frame = small_number_frame(60)  # 30 px on the grey plane
    seen = []
    monkeypatch.setattr(
        "app.stages.number.read_number",
        lambda gray, *a, **k: seen.append(gray.shape) or read_number(gray, *a, **k),
    )
    assert read_three_times(frame).number.number == "407"
    assert seen and all(shape[0] < 240 for shape in seen)  # the grey plane's square only
