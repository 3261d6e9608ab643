"""classify on synthetic phone photos: pencil, coloured ink, marker, shadows, paper, sizes."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from app.photos import classify_array, classify_files
from benchmarks.reading_sets.photos import CONDITIONS, INK_COLOURS, PAPERS, Photo, render_photo
from tests.digit_support import committed_classifier, mnist_test_split


@pytest.fixture(scope="module")
def classifier():
    return committed_classifier()


@pytest.fixture(scope="module")
def sample():
    images, labels = mnist_test_split()
    rng = np.random.default_rng(2024)
    idx = rng.choice(len(images), PER_CONDITION, replace=False)
    return images[idx], labels[idx]


PER_CONDITION = 16


@pytest.mark.slow
@pytest.mark.parametrize("condition", list(CONDITIONS))
def test_condition_accuracy(condition, sample, classifier):
    """16 MNIST test digits per condition, at least 14 right (measured with 40 per
    condition: 38-40 of 40 in every condition)."""
    images, labels = sample
    rng = np.random.default_rng(list(CONDITIONS).index(condition))
    spec = CONDITIONS[condition]
    right, reasons = 0, []
    for image, label in zip(images, labels, strict=True):
        result = classify_array(render_photo(image, spec, rng), classifier)
        right += result["digit"] == int(label)
        if result["digit"] is None:
            reasons.append(result["reason"])
    assert right >= 14, f"{condition}: {right}/{PER_CONDITION} right, no digit: {reasons}"


def test_large_photo_through_a_file(tmp_path, sample, classifier):
    images, labels = sample
    rng = np.random.default_rng(1)
    spec = Photo(size=(4000, 3000), digit_height=0.35, position=(0.6, 0.45), noise=5, jpeg=80)
    path = tmp_path / "big.jpg"
    cv2.imwrite(str(path), render_photo(images[0], spec, rng))
    (result,) = classify_files([path], classifier)
    assert result["error"] is None
    assert result["digit"] == int(labels[0])
    assert len(result["probs"]) == 10 and abs(sum(result["probs"]) - 1) < 1e-3


def test_blank_paper_and_covered_picture_give_no_digit(classifier):
    rng = np.random.default_rng(3)
    blank = render_photo(np.zeros((28, 28), np.uint8), Photo(shadow=0.5, noise=6), rng)
    result = classify_array(blank, classifier)
    assert result["digit"] is None and result["reason"] == "no ink"
    dark = blank.copy()
    dark[:, : dark.shape[1] * 2 // 3] //= 4  # a hand over two thirds of the picture
    assert classify_array(dark, classifier)["digit"] is None


def printed_digit_photo(digit: int, rng: np.random.Generator, font: int, thickness: int):
    """A cv2.putText digit: random size, place, ink, paper, light, noise and JPEG."""
    width, height = int(rng.integers(200, 900)), int(rng.integers(200, 900))
    paper = np.array(PAPERS[rng.choice(list(PAPERS))], np.float32)
    ink = INK_COLOURS[rng.choice(["ballpoint", "black", "red", "green"])]
    picture = np.empty((height, width, 3), np.uint8)
    picture[:] = paper.astype(np.uint8)
    scale = rng.uniform(0.2, 0.6) * min(width, height) / 22.0  # cap height is about 22 px
    (tw, th), _ = cv2.getTextSize(str(digit), font, scale, thickness)
    x = int(
        rng.integers(int(0.05 * width), max(int(0.05 * width) + 1, width - tw - int(0.05 * width)))
    )
    y = int(
        rng.integers(th + int(0.05 * height), max(th + int(0.05 * height) + 1, int(0.95 * height)))
    )
    cv2.putText(picture, str(digit), (x, y), font, scale, ink, thickness, cv2.LINE_AA)
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float32)
    light = 1.0 - 0.35 * (xs / width) * rng.uniform(0.3, 1.0) - 0.2 * (ys / height)
    noisy = picture * light[:, :, None] + rng.normal(0, 3, (height, width, 1))
    photo = np.clip(noisy, 0, 255).astype(np.uint8)
    _ok, data = cv2.imencode(".jpg", photo, [cv2.IMWRITE_JPEG_QUALITY, int(rng.integers(40, 90))])
    return cv2.imdecode(data, cv2.IMREAD_COLOR)


def test_printed_digits_in_three_fonts_and_stroke_widths(classifier):
    rng = np.random.default_rng(11)
    fonts = [cv2.FONT_HERSHEY_SIMPLEX, cv2.FONT_HERSHEY_DUPLEX, cv2.FONT_HERSHEY_PLAIN]
    right, wrong = 0, []
    for font in fonts:
        for thickness in (2, 8):
            for digit in range(10):
                photo = printed_digit_photo(digit, rng, font, thickness)
                result = classify_array(photo, classifier)
                if result["digit"] == digit:
                    right += 1
                else:
                    wrong.append((font, thickness, digit, result["digit"], result["reason"]))
    assert right >= 55, f"{right}/60 right; wrong: {wrong}"
