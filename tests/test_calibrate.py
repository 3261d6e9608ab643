"""Temperature scaling: the fit, the calibration error, folding, and the shipped model."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from training.calibrate import (
    expected_calibration_error,
    fit_temperature,
    fold_temperature,
    logits_of,
    nll,
    softmax,
)
from training.model_io import load_model
from training.network import forward, init_params
from training.spec import lenet5_spec
from training.train import split_train_val

MODELS = Path(__file__).resolve().parents[1] / "models"


def sampled(logits: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Labels drawn from softmax(logits): probabilities that are calibrated by construction."""
    p = softmax(logits)
    return (p.cumsum(axis=1) > rng.random((len(p), 1))).argmax(axis=1)


def test_the_fit_recovers_a_known_temperature():
    rng = np.random.default_rng(0)
    true_logits = rng.normal(0.0, 3.0, (20000, 10))
    labels = sampled(true_logits, rng)
    # A network 1.7 times too sure of itself: its logits are the true ones times 1.7.
    assert fit_temperature(1.7 * true_logits, labels) == pytest.approx(1.7, rel=0.03)
    assert fit_temperature(0.5 * true_logits, labels) == pytest.approx(0.5, rel=0.03)


def test_calibration_error_is_near_zero_when_calibrated_and_large_when_not():
    rng = np.random.default_rng(1)
    logits = rng.normal(0.0, 2.0, (20000, 10))
    labels = sampled(logits, rng)
    assert expected_calibration_error(softmax(logits), labels) < 0.01
    assert expected_calibration_error(softmax(4.0 * logits), labels) > 0.1


def test_calibration_error_by_hand():
    # Two bins used: confidence 0.9 (2 samples, 1 right) and 0.6 (2 samples, 2 right).
    probs = np.array([[0.9, 0.1], [0.9, 0.1], [0.4, 0.6], [0.4, 0.6]])
    labels = np.array([0, 1, 1, 1])
    expected = 0.5 * abs(0.5 - 0.9) + 0.5 * abs(1.0 - 0.6)
    assert expected_calibration_error(probs, labels) == pytest.approx(expected)


def test_folding_divides_the_logits_and_keeps_every_prediction():
    spec = lenet5_spec()
    params = init_params(spec, seed=3)
    x = np.random.default_rng(2).random((16, 28, 28, 1)).astype(np.float32)
    logits, _, _ = forward(spec, params, x)
    folded, _, _ = forward(spec, fold_temperature(spec, params, 2.5), x)
    np.testing.assert_allclose(folded, logits / 2.5, rtol=1e-5, atol=1e-6)
    assert (folded.argmax(axis=1) == logits.argmax(axis=1)).all()
    assert nll(logits, np.zeros(16, int), 2.5) == pytest.approx(nll(folded, np.zeros(16, int)))


@pytest.mark.slow
def test_the_shipped_model_is_calibrated_on_held_out_digits():
    """models/lenet.npz has its temperature folded in: fitting again on the held-out
    training images gives about 1, and the test-set ECE recorded with it is small."""
    from tests.digit_support import mnist_test_split
    from training.mnist import DataError, load_split

    spec, params, metrics = load_model(MODELS / "lenet.npz")
    record = metrics["calibration"]
    assert 1.0 < record["temperature"] < 2.0
    assert record["test_ece_after"] < record["test_ece_before"]
    try:
        images, labels = load_split("train", verify=False)
    except DataError as e:
        pytest.skip(f"MNIST not available: {e}")
    _, _, val_images, val_labels = split_train_val(images, labels, 5000, 0)
    assert fit_temperature(logits_of(spec, params, val_images), val_labels) == pytest.approx(
        1.0, abs=0.02
    )
    test_images, test_labels = mnist_test_split()
    ece = expected_calibration_error(softmax(logits_of(spec, params, test_images)), test_labels)
    assert ece == pytest.approx(record["test_ece_after"], abs=1e-4)
