"""Number mode: digits found left to right, broken strokes joined, touching digits cut."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from app.reading.number import read_number
from app.reading.segment import group_digits
from app.stages.mnist_preprocess import NO_INK, TOUCHES_EDGE, ink_components
from tests.digit_support import committed_classifier, mnist_test_split


@pytest.fixture(scope="module")
def logits_of():
    classifier = committed_classifier()
    return lambda tensor: classifier.predict(tensor).layers["fc3"]


def write(digits: list[np.ndarray], gaps: list[int], height: int = 40) -> tuple[np.ndarray, list]:
    """(130, 200) uint8 paper with the MNIST digits written left to right ``height`` px
    tall (28-px field scaled), ``gaps[i]`` px between field i and i + 1 (negative:
    overlapping fields); returns the picture and each digit's ink box."""
    paper = np.full((130, 200), 205.0, np.float32)
    paper += np.random.default_rng(0).normal(0, 2.0, paper.shape)
    side = round(height * 28 / 20)
    x, boxes = 200 // 2 - (len(digits) * side + sum(gaps)) // 2, []
    for digit, gap in zip(digits, [*gaps, 0], strict=True):
        alpha = cv2.resize(
            digit.astype(np.float32) / 255.0, (side, side), interpolation=cv2.INTER_CUBIC
        )
        alpha = np.clip(alpha, 0, 1)
        y = 65 - side // 2
        paper[y : y + side, x : x + side] *= 1.0 - 0.7 * alpha
        ys, xs = np.nonzero(alpha > 0.3)
        boxes.append((x + xs.min(), y + ys.min(), x + xs.max() + 1, y + ys.max() + 1))
        x += side + gap
    return np.clip(paper, 0, 255).astype(np.uint8), boxes


def pick(labels: np.ndarray, digit: int, k: int = 0) -> int:
    return int(np.flatnonzero(labels == digit)[k])


def test_three_separate_digits_are_read_left_to_right(logits_of):
    images, labels = mnist_test_split()
    idx = [pick(labels, 4), pick(labels, 0), pick(labels, 7)]
    picture, boxes = write([images[i] for i in idx], [4, 4])
    read = read_number(picture, logits_of)
    assert read.number == "407" and read.reason is None
    for got, want in zip(read.digits, boxes, strict=True):
        assert np.abs(np.subtract(got.box, want)).max() <= 3, (got.box, want)
        assert got.confidence > 0.5


def test_a_five_with_its_bar_apart_is_one_digit(logits_of):
    picture = np.full((130, 200), 210, np.uint8)
    # "2", then a "5" whose top bar does not touch its body, then a "1".
    cv2.polylines(picture, [np.array([[40, 52], [50, 42], [62, 44], [64, 56], [42, 86], [66, 86]])],
                  False, 60, 3, cv2.LINE_AA)  # fmt: skip
    cv2.line(picture, (88, 42), (110, 42), 60, 3, cv2.LINE_AA)
    body = np.array([[86, 48], [85, 62], [98, 60], [108, 68], [106, 82], [95, 87], [84, 82]])
    cv2.polylines(picture, [body], False, 60, 3, cv2.LINE_AA)
    cv2.line(picture, (140, 42), (138, 86), 60, 3, cv2.LINE_AA)
    comp = ink_components(picture)
    segments = group_digits(comp)
    assert len(segments) == 3
    read = read_number(picture, logits_of)
    assert read.number == "251", [(d.digit, d.box) for d in read.digits]


@pytest.mark.parametrize("pair", [(5, 2), (3, 0), (2, 5), (6, 1)])
def test_two_touching_digits_are_cut_apart(logits_of, pair):
    """The digits are moved together until their ink is one piece, then read as two.
    (Not every pair: a 3 touching an 8 whose stroke reaches over it reads 88, this 4
    touching this 7 reads 67; benchmarks/reading.py measures numbers with touching
    digits.)"""
    images, labels = mnist_test_split()
    idx = [pick(labels, pair[0]), pick(labels, pair[1])]
    for gap in range(-10, -40, -2):
        picture, _ = write([images[i] for i in idx], [gap], height=46)
        if len(group_digits(ink_components(picture))) == 1:
            break
    else:
        pytest.fail("the digits never touched")
    assert read_number(picture, logits_of).number == f"{pair[0]}{pair[1]}", gap


def test_nothing_to_read(logits_of):
    blank = np.full((120, 160), 200, np.uint8)
    assert read_number(blank, logits_of).reason == NO_INK
    edge = blank.copy()
    cv2.line(edge, (150, 20), (159, 100), 40, 4)  # a stroke running off the picture
    cv2.line(edge, (40, 30), (40, 90), 40, 4)
    assert read_number(edge, logits_of).reason == TOUCHES_EDGE
    with pytest.raises(ValueError, match="uint8"):
        read_number(blank.astype(np.float32), logits_of)
