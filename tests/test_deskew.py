"""Straightening: a shear from the ink's second moments brings its slant near MNIST's mean."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from app.reading.deskew import MAX_CHANGE, MNIST_SLANT, TOLERANCE, deskew, slant


def leaning_bar(lean: float, height: int = 60) -> np.ndarray:
    """(height + 20, 100) float32: a 6 px stroke whose top is ``lean * height`` px to the
    right of its bottom (slant -lean with y down)."""
    ink = np.zeros((height + 20, 100), np.float32)
    bottom = (50 - round(lean * height / 2), height + 10)
    top = (50 + round(lean * height / 2), 10)
    cv2.line(ink, bottom, top, 1.0, 6, cv2.LINE_AA)
    return ink


@pytest.mark.parametrize("lean", [-0.6, -0.2, 0.0, 0.3, 0.7])
def test_the_slant_comes_within_the_band_around_mnists_mean(lean):
    ink = leaning_bar(lean)
    assert slant(ink) == pytest.approx(-lean, abs=0.03)
    straight = deskew(ink)
    excess = -lean - MNIST_SLANT
    if abs(excess) <= TOLERANCE:
        assert straight is ink  # MNIST's own range of slants is left as written
    else:
        edge = MNIST_SLANT + np.sign(excess) * TOLERANCE
        assert slant(straight) == pytest.approx(edge, abs=0.03)
    assert slant(deskew(ink, tolerance=0.0)) == pytest.approx(MNIST_SLANT, abs=0.03)


def test_no_ink_is_lost_and_the_picture_grows_by_the_shear():
    ink = leaning_bar(0.5)
    straight = deskew(ink)
    change = slant(ink) - MNIST_SLANT + TOLERANCE
    assert straight.shape == (
        ink.shape[0],
        ink.shape[1] + int(np.ceil(abs(change) * ink.shape[0])) + 2,
    )
    assert straight.sum() == pytest.approx(ink.sum(), rel=0.01)
    # The centre of mass stays on its row and moves only by the half-width added.
    m0, m1 = cv2.moments(ink), cv2.moments(straight)
    assert m1["m01"] / m1["m00"] == pytest.approx(m0["m01"] / m0["m00"], abs=0.1)


def test_huge_slants_are_corrected_by_at_most_max_change():
    ink = np.zeros((40, 200), np.float32)
    cv2.line(ink, (10, 30), (190, 10), 1.0, 3)  # nearly horizontal: "slant" -9
    straight = deskew(ink)
    assert straight.shape[1] <= ink.shape[1] + int(np.ceil(MAX_CHANGE * 40)) + 2
    # Moved towards the band by MAX_CHANGE, no further.
    assert slant(straight) == pytest.approx(slant(ink) + MAX_CHANGE, abs=0.05)


def test_empty_or_flat_ink_is_returned_unchanged():
    empty = np.zeros((30, 30), np.float32)
    assert deskew(empty) is empty
    row = np.zeros((30, 30), np.float32)
    row[15, 5:25] = 1.0  # no vertical spread: no slant to measure
    assert deskew(row) is row
