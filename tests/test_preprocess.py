"""MNIST normalisation of the ROI: ink finding, 20x20 box, centre of mass, no-digit states."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from app.reading.deskew import MNIST_SLANT, TOLERANCE, slant
from app.reading.normalise import CENTRE, ink_box, ink_to_mnist
from app.stages.mnist_preprocess import (
    NO_INK,
    TOO_MUCH_INK,
    TOO_SMALL,
    TOUCHES_EDGE,
    roi_to_mnist_tensor,
)
from tests.digit_support import mnist_test_split


def paper(size: int = 200, gradient: float = 0.0, noise: float = 2.0, seed: int = 0) -> np.ndarray:
    """(size, size) float32 grey paper at about 210, optionally lit from one side."""
    rng = np.random.default_rng(seed)
    xs = np.linspace(0.0, 1.0, size, dtype=np.float32)[None, :]
    light = 1.0 - gradient * xs
    return np.repeat(210.0 * light, size, axis=0) + rng.normal(0, noise, (size, size))


def finish(picture: np.ndarray) -> np.ndarray:
    return np.clip(picture, 0, 255).astype(np.uint8)


def ink(picture: np.ndarray, mask: np.ndarray, darkness: float = 0.7) -> np.ndarray:
    """Darken ``picture`` where the float ``mask`` (0..1) has ink."""
    return picture * (1.0 - darkness * mask)


def drawn(size: int, draw) -> np.ndarray:
    mask = np.zeros((size, size), np.uint8)
    draw(mask)
    return mask.astype(np.float32) / 255.0


def centre_of_mass(t: np.ndarray) -> tuple[float, float]:
    rows, cols = np.arange(28), np.arange(28)
    total = t.sum()
    return float(t.sum(axis=1) @ rows / total), float(t.sum(axis=0) @ cols / total)


def aligned_correlation(a: np.ndarray, b: np.ndarray) -> float:
    """The best correlation of two 28x28 tensors over shifts of up to one pixel (the
    centre of mass is placed to the nearest pixel, so half a pixel can round either way)."""
    return max(
        float(np.corrcoef(np.roll(a, (dy, dx), axis=(0, 1)).ravel(), b.ravel())[0, 1])
        for dy in (-1, 0, 1)
        for dx in (-1, 0, 1)
    )


def bbox(t: np.ndarray, level: float = 0.05) -> tuple[int, int]:
    ys, xs = np.nonzero(t > level)
    return int(ys.max() - ys.min() + 1), int(xs.max() - xs.min() + 1)


def test_centre_of_mass_at_the_centre_and_box_20():
    def draw(m):  # an off-centre, lopsided "7"
        cv2.line(m, (40, 50), (120, 50), 255, 9, cv2.LINE_AA)
        cv2.line(m, (120, 50), (70, 160), 255, 9, cv2.LINE_AA)

    tensor, reason = roi_to_mnist_tensor(finish(ink(paper(), drawn(200, draw))))
    assert reason is None and tensor is not None
    assert tensor.shape == (28, 28) and tensor.dtype == np.float32
    assert tensor.min() >= 0.0 and tensor.max() == pytest.approx(1.0)
    cy, cx = centre_of_mass(tensor)
    assert abs(cy - CENTRE) <= 0.5 and abs(cx - CENTRE) <= 0.5
    h, w = bbox(tensor)
    assert max(h, w) in (19, 20, 21)
    assert tensor[:2].max() == 0 and tensor[:, :2].max() == 0  # background stays black


@pytest.mark.parametrize(("width", "height"), [(20, 100), (100, 50)])
def test_aspect_ratio_is_kept(width, height):
    def draw(m):
        cv2.ellipse(m, (100, 100), (width // 2, height // 2), 0, 0, 360, 255, 8, cv2.LINE_AA)

    tensor, reason = roi_to_mnist_tensor(finish(ink(paper(), drawn(200, draw))), straighten=False)
    assert reason is None
    h, w = bbox(tensor)
    expected = (width + 8) / (height + 8)
    assert w / h == pytest.approx(expected, rel=0.2)
    assert max(h, w) <= 21


def test_blank_paper_is_no_ink():
    assert roi_to_mnist_tensor(finish(paper(gradient=0.3, noise=4)))[1] == NO_INK
    dark = np.full((120, 120), 12, np.uint8)  # lens covered
    assert roi_to_mnist_tensor(dark)[1] == NO_INK


def test_specks_alone_are_no_ink():
    rng = np.random.default_rng(4)
    picture = paper()
    for _ in range(6):
        y, x = rng.integers(20, 180, 2)
        picture[y : y + 2, x : x + 2] = 60
    assert roi_to_mnist_tensor(finish(picture)) == (None, NO_INK)


def test_scribbles_are_too_much_ink():
    rng = np.random.default_rng(5)

    def draw(m):
        for _ in range(60):
            p1, p2 = rng.integers(5, 195, (2, 2))
            cv2.line(m, tuple(map(int, p1)), tuple(map(int, p2)), 255, 7)

    assert roi_to_mnist_tensor(finish(ink(paper(), drawn(200, draw))))[1] == TOO_MUCH_INK


def test_digit_cut_by_the_edge():
    def draw(m):
        cv2.circle(m, (170, 100), 50, 255, 10, cv2.LINE_AA)

    assert roi_to_mnist_tensor(finish(ink(paper(), drawn(200, draw))))[1] == TOUCHES_EDGE


def test_tiny_roi_and_bad_input():
    assert roi_to_mnist_tensor(np.zeros((5, 40), np.uint8)) == (None, TOO_SMALL)
    with pytest.raises(ValueError, match="uint8"):
        roi_to_mnist_tensor(np.zeros((40, 40), np.float32))


def digit_picture(digit: np.ndarray, size: int = 200, gradient=0.0, noise=2.0, seed=0):
    """An MNIST digit drawn as dark ink, its 28 px field filling 90 % of the picture."""
    side = round(size * 0.9)
    mask = cv2.resize(digit.astype(np.float32) / 255.0, (side, side), interpolation=cv2.INTER_CUBIC)
    full = np.zeros((size, size), np.float32)
    o = (size - side) // 2
    full[o : o + side, o : o + side] = np.clip(mask, 0, 1)
    return finish(ink(paper(size, gradient, noise, seed), full, 0.75))


def test_mnist_digits_come_back_like_the_originals():
    """MNIST's recipe (straighten=False) on a photographed MNIST digit gives the digit."""
    images, _ = mnist_test_split()
    correlations = []
    for i in range(40):
        tensor, reason = roi_to_mnist_tensor(digit_picture(images[i], seed=i), straighten=False)
        assert reason is None, i
        original = images[i].astype(np.float32) / 255.0
        correlations.append(np.corrcoef(tensor.ravel(), original.ravel())[0, 1])
    assert np.median(correlations) > 0.9
    assert min(correlations) > 0.7


def test_same_digit_at_any_scale_and_light():
    images, _ = mnist_test_split()
    reference, _ = roi_to_mnist_tensor(digit_picture(images[3], 200))
    for size, gradient in [(64, 0.0), (120, 0.5), (480, 0.0), (900, 0.4)]:
        tensor, reason = roi_to_mnist_tensor(
            digit_picture(images[3], size, gradient), work_side=480
        )
        assert reason is None, (size, gradient)
        assert np.corrcoef(tensor.ravel(), reference.ravel())[0, 1] > 0.85, (size, gradient)


def test_specks_and_ruled_lines_are_ignored():
    images, _ = mnist_test_split()
    clean = digit_picture(images[7]).astype(np.float32)
    reference, _ = roi_to_mnist_tensor(finish(clean))
    noisy = clean.copy()
    noisy[10:13, 10:13] = 70  # a speck in a corner
    noisy[185:187, 150:152] = 70
    noisy[196:198, :] *= 0.6  # a ruled line across the bottom, touching both sides
    tensor, reason = roi_to_mnist_tensor(finish(noisy))
    assert reason is None
    assert np.abs(tensor - reference).max() < 0.15


def test_broken_strokes_are_merged():
    def draw(m):  # a "5" written in two strokes that do not touch
        cv2.line(m, (70, 40), (130, 40), 255, 8, cv2.LINE_AA)
        cv2.line(m, (70, 52), (70, 90), 255, 8, cv2.LINE_AA)
        cv2.ellipse(m, (95, 120), (35, 30), 0, 200, 480, 255, 8, cv2.LINE_AA)

    tensor, reason = roi_to_mnist_tensor(finish(ink(paper(), drawn(200, draw))))
    assert reason is None
    h, _ = bbox(tensor)
    assert h >= 19  # the top bar is there: the digit is as tall as the box
    assert tensor[:9].sum() > 5  # ink in the top part (the bar)


def test_faint_pencil_is_found():
    images, _ = mnist_test_split()
    picture = digit_picture(images[11]).astype(np.float32)
    faint = 210 - (210 - picture) * 0.25  # a quarter of the contrast
    tensor, reason = roi_to_mnist_tensor(
        finish(faint + np.random.default_rng(1).normal(0, 2, faint.shape)), straighten=False
    )
    assert reason is None
    original = images[11].astype(np.float32) / 255.0
    assert np.corrcoef(tensor.ravel(), original.ravel())[0, 1] > 0.8


@pytest.mark.parametrize("side", ["left", "right", "above"])
@pytest.mark.parametrize("digit_in_shadow", [False, True])
def test_a_shadow_edge_beside_the_digit_is_not_ink(side, digit_in_shadow):
    """A soft shadow edge 5 px from the strokes (a hand or the phone over the sheet) must
    not join the digit to the border, whichever side of the edge the digit is on."""
    images, _ = mnist_test_split()
    clean = digit_picture(images[0], 130, noise=2.5).astype(np.float32)
    ys, xs = np.nonzero(clean < 150)
    rows, cols = np.mgrid[0:130, 0:130].astype(np.float32)
    outside = {"left": xs.min() - 5 - cols, "right": cols - xs.max() - 5,
               "above": ys.min() - 5 - rows}[side]  # fmt: skip
    inside = -outside if digit_in_shadow else outside
    shaded = clean * (1.0 - 0.45 / (1.0 + np.exp(-inside / 2.0)))
    tensor, reason = roi_to_mnist_tensor(finish(shaded))
    assert reason is None
    reference, _ = roi_to_mnist_tensor(finish(clean))
    assert aligned_correlation(tensor, reference) > 0.9


def test_straightened_digits_match_their_straightened_originals():
    """With straightening, the camera path gives what the same normalisation gives on the
    clean 28x28 original, and the slant is within the band around MNIST's mean."""
    images, _ = mnist_test_split()
    correlations = []
    for i in range(40):
        tensor, reason = roi_to_mnist_tensor(digit_picture(images[i], seed=i))
        assert reason is None, i
        original = images[i].astype(np.float32) / 255.0
        expected = ink_to_mnist(original, ink_box(original), stroke=2.5)
        correlations.append(aligned_correlation(tensor, expected))
        assert abs(slant(tensor) - MNIST_SLANT) <= TOLERANCE + 0.08, i
    assert np.median(correlations) > 0.9
    assert min(correlations) > 0.7
