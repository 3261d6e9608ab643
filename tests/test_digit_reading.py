"""The live digit stage reads like the benchmarks measure: "not a digit", the size hint, the
digit's box, a small digit re-read from the sharper main stream, and the status says why."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from app.frame import Frame
from app.reading.rejection import NOT_A_DIGIT
from app.reading.size_hint import TOO_LARGE, TOO_SMALL
from app.stages.digit import DigitStage
from app.stages.results import FrameResults
from app.state import Roi, ViewState
from app.status import Figures, frame_status
from tests.digit_support import committed_classifier, mnist_test_split


def paper_frame(ink: np.ndarray, seq: int = 0) -> Frame:
    """A 640x480 BGR frame of grey paper with ``ink`` (480x640 float alpha) written on it,
    and the picamera2-style 320x240 grey plane reduced from it."""
    noise = np.random.default_rng(seq).normal(0, 2.0, (480, 640)).astype(np.float32)
    grey = np.clip(205.0 * (1.0 - 0.75 * ink) + noise, 0, 255).astype(np.uint8)
    array = cv2.cvtColor(grey, cv2.COLOR_GRAY2BGR)
    lores = cv2.resize(grey, (320, 240), interpolation=cv2.INTER_AREA)
    return Frame(array=array, gray=lores, seq=seq, timestamp=0.0)


def mnist_ink(index: int, height: float) -> np.ndarray:
    """(480, 640) alpha: MNIST test digit ``index`` at the frame's centre, its 20-px box
    ``height`` pixels of the 640x480 frame tall."""
    images, _ = mnist_test_split()
    side = max(4, round(height * 28 / 20))
    digit = cv2.resize(
        images[index].astype(np.float32) / 255.0, (side, side), interpolation=cv2.INTER_AREA
    )
    ink = np.zeros((480, 640), np.float32)
    ink[240 - side // 2 : 240 - side // 2 + side, 320 - side // 2 : 320 - side // 2 + side] = digit
    return np.clip(ink, 0, 1)


def run(stage: DigitStage, frame: Frame, times: int = 3) -> FrameResults:
    results = FrameResults()
    for _ in range(times):
        results = FrameResults()
        stage.process(frame, ViewState(roi=Roi(0.5, 0.5, 0.45)), results)
    return results


def drawing(name: str) -> np.ndarray:
    ink = np.zeros((480, 640), np.float32)
    if name == "star":
        a = -np.pi / 2 + np.arange(6) * 4 * np.pi / 5
        points = np.stack([320 + 70 * np.cos(a), 240 + 70 * np.sin(a)], 1).astype(np.int32)
        cv2.polylines(ink, [points], False, 1.0, 6, cv2.LINE_AA)
    else:  # a smiley
        cv2.circle(ink, (320, 240), 70, 1.0, 6, cv2.LINE_AA)
        cv2.circle(ink, (295, 220), 6, 1.0, -1)
        cv2.circle(ink, (345, 220), 6, 1.0, -1)
        cv2.ellipse(ink, (320, 255), (35, 25), 0, 20, 160, 1.0, 6, cv2.LINE_AA)
    return ink


@pytest.mark.parametrize("name", ["star", "smiley"])
def test_a_drawing_is_not_a_digit(name):
    """(Not every drawing: printed capitals A, H and M read as a confident 4; the
    false-digit rate is measured in benchmarks/reading.py.)"""
    result = run(DigitStage(committed_classifier()), paper_frame(drawing(name))).digit
    assert result.tensor is not None  # ink was found ...
    assert result.status == "no_digit" and result.reason == NOT_A_DIGIT  # ... and refused
    assert result.layers  # the features view still shows what the network made of it


def test_a_digit_has_its_box_and_no_hint():
    _, labels = mnist_test_split()
    frame = paper_frame(mnist_ink(0, 120))
    result = run(DigitStage(committed_classifier()), frame).digit
    assert result.prediction == int(labels[0]) and result.hint is None
    x0, y0, x1, y1 = result.box
    ys, xs = np.nonzero(frame.array[:, :, 0] < 150)
    assert abs(x0 - xs.min()) <= 4 and abs(x1 - 1 - xs.max()) <= 4
    assert abs(y0 - ys.min()) <= 4 and abs(y1 - 1 - ys.max()) <= 4


def test_size_hints():
    stage = DigitStage(committed_classifier())
    large = run(stage, paper_frame(mnist_ink(1, 190))).digit  # 88 % of the 216 px ROI
    assert large.hint == TOO_LARGE
    # 10 px of main, 5 px of lores: too small even for the main stream.
    tiny = run(DigitStage(committed_classifier()), paper_frame(mnist_ink(2, 14))).digit
    assert tiny.tensor is None or tiny.hint == TOO_SMALL


def test_a_small_digit_is_read_from_the_main_stream():
    """24 px of main is 12 px of lores: below the 17 px the reading needs, so the stage
    reads the ROI again from Frame.array, where the box then comes from."""
    _, labels = mnist_test_split()
    frame = paper_frame(mnist_ink(3, 26))
    stage = DigitStage(committed_classifier())
    result = run(stage, frame).digit
    assert result.prediction == int(labels[3]) and result.hint is None
    assert result.box[3] - result.box[1] >= 20  # main-stream pixels: about 24 tall
    # Without a sharper picture (a 320x240 frame) the same digit is too small.
    lores_only = Frame(cv2.cvtColor(frame.gray, cv2.COLOR_GRAY2BGR), frame.gray, 0, 0.0)
    assert run(DigitStage(committed_classifier()), lores_only).digit.hint == TOO_SMALL


def test_the_status_says_which_frame_and_why():
    ink = np.zeros((480, 640), np.float32)
    result = run(DigitStage(committed_classifier()), paper_frame(ink, seq=41), times=1)
    status = frame_status(ViewState(), result.digit, Figures(), "", seq=41)
    assert status.seq == 41 and status.reason == "no ink" and status.prediction is None
    assert status.hint is None
