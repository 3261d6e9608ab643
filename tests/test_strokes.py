"""Thin and thick pen strokes are brought towards MNIST's stroke width before the resize,
so a ballpoint digit held small does not reach the network as a faint trace."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from app.reading import strokes
from app.reading.normalise import ink_to_mnist
from app.reading.strokes import stroke_width
from tests.digit_support import mnist_test_split

SIDE = 200


def seven(pen: int) -> tuple[np.ndarray, tuple[int, int, int, int], float]:
    """A 7 written with a ``pen`` px wide pen in a 200 px picture: ink, box, stroke width."""
    ink = np.zeros((SIDE, SIDE), np.float32)
    cv2.polylines(ink, [np.array([[50, 40], [150, 40], [90, 170]])], False, 1.0, pen, cv2.LINE_AA)
    mask = (ink > 0.5).astype(np.uint8)
    ys, xs = np.nonzero(mask)
    return ink, (xs.min(), ys.min(), xs.max() + 1, ys.max() + 1), stroke_width(mask)


def tensors(pen: int, monkeypatch) -> tuple[np.ndarray, np.ndarray]:
    """The 7's tensor as convlens makes it, and without the stroke adjustment."""
    ink, box, stroke = seven(pen)
    adjusted = ink_to_mnist(ink, box, stroke)
    with monkeypatch.context() as m:
        m.setattr(strokes, "adjust_stroke", lambda ink, stroke, scale: ink)
        plain = ink_to_mnist(ink, box, stroke)
    return adjusted, plain


@pytest.mark.parametrize("width", [1, 2, 5, 9])
def test_stroke_width_of_a_bar_and_a_ring(width):
    bar = np.zeros((60, 300), np.uint8)
    bar[20 : 20 + width, 20:280] = 1
    assert stroke_width(bar) == pytest.approx(width, rel=0.1, abs=0.15)
    ys, xs = np.mgrid[0:200, 0:200]
    radius = np.hypot(ys - 100, xs - 100)
    ring = (abs(radius - 70) < width / 2).astype(np.uint8)  # inner and outer outline count
    assert stroke_width(ring) == pytest.approx(width, rel=0.1, abs=0.3)


def mnist_ink_range() -> tuple[float, float]:
    """The 5th and 95th percentiles of MNIST test digits' ink (sum of the 28x28 in 0..1)."""
    images, _ = mnist_test_split()
    mass = images[:2000].reshape(2000, -1).sum(axis=1) / 255.0
    return float(np.percentile(mass, 5)), float(np.percentile(mass, 95))


def test_a_ballpoint_line_is_thickened_into_mnists_range(monkeypatch):
    """A 1 px pen in a 200 px picture is 0.15 px in the 20 px box: resized as it is, the
    digit is a faint trace; thickened first, it carries as much ink as MNIST's digits."""
    low, high = mnist_ink_range()
    adjusted, plain = tensors(1, monkeypatch)
    assert plain.sum() < low  # the trace the network would otherwise get
    assert low <= adjusted.sum() <= high


def test_a_marker_stroke_is_thinned_into_mnists_range(monkeypatch):
    low, high = mnist_ink_range()
    adjusted, plain = tensors(70, monkeypatch)  # 4.5 px in the 20 px box (MNIST: 2-3)
    assert plain.sum() > adjusted.sum()
    assert low <= adjusted.sum() <= high


def test_an_ordinary_pen_is_left_alone(monkeypatch):
    adjusted, plain = tensors(25, monkeypatch)
    np.testing.assert_array_equal(adjusted, plain)
