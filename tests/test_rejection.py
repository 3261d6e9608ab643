"""The "no digit" test: digits the network knows pass, most non-digit marks do not."""

from __future__ import annotations

import numpy as np
import pytest

from app.reading.rejection import MIN_SCORE, digit_score, is_digit
from app.stages.mnist_preprocess import roi_to_mnist_tensor
from tests.digit_support import committed_classifier, mnist_test_split


def test_the_score_is_the_log_of_the_softmax_normaliser():
    logits = np.array([[1.0, 2.0, 3.0], [1000.0, 0.0, -1000.0]])
    expected = [np.log(np.exp(1) + np.exp(2) + np.exp(3)), 1000.0]
    np.testing.assert_allclose(digit_score(logits), expected)
    assert digit_score(np.array([0.0, 0.0])) == pytest.approx(np.log(2.0))
    assert is_digit(np.array([MIN_SCORE + 0.1, 0.0])) and not is_digit(np.array([1.0, 0.0]))


def test_mnist_test_digits_pass():
    images, _ = mnist_test_split()
    classifier = committed_classifier()
    passed = [is_digit(classifier.predict(images[i]).layers["fc3"]) for i in range(500)]
    assert np.mean(passed) >= 0.99


@pytest.mark.slow
def test_most_non_digit_marks_are_refused():
    """Letters, scribbles, shapes, faces, textures and blank paper photographed like the
    dev digits (``benchmarks/reading_sets``): measured 17 % read as a digit on 600; here
    at most 35 % of 120, while the digits of the same scenes keep 97 %."""
    from benchmarks.reading_sets.sets import nondigits_set, sizes_set

    classifier = committed_classifier()

    def shown(gray: np.ndarray) -> bool:
        tensor, _ = roi_to_mnist_tensor(gray)
        return tensor is not None and is_digit(classifier.predict(tensor).layers["fc3"])

    marks = nondigits_set(120, seed=5)
    assert np.mean([shown(g) for g in marks.lores]) <= 0.35
    digits = sizes_set("dev", 12, seed=5)
    right = []
    for gray, label in zip(digits.lores, digits.labels, strict=True):
        tensor, _ = roi_to_mnist_tensor(gray)
        logits = None if tensor is None else classifier.predict(tensor).layers["fc3"]
        right.append(logits is not None and is_digit(logits) and str(np.argmax(logits)) == label)
    assert np.mean(right) >= 0.93
