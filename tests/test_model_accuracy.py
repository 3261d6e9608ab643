"""The shipped ``models/lenet.npz`` classifies the 10,000 MNIST test images at >= 99.3%."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from training import mnist
from training.model_io import load_model
from training.network import predict_probs

MODEL = Path(__file__).resolve().parents[1] / "models" / "lenet.npz"
TARGET = 0.993


@pytest.mark.slow
@pytest.mark.skipif(
    not all((mnist.default_data_dir() / n).is_file() for n in mnist.SPLITS["test"]),
    reason="MNIST test files not found (set CONVLENS_MNIST_DIR)",
)
def test_committed_model_reaches_target_accuracy_on_the_full_test_set():
    spec, params, metrics = load_model(MODEL)
    images, labels = mnist.load_split("test")
    pred = predict_probs(spec, params, images, batch_size=1000).argmax(axis=1)
    accuracy = float((pred == labels).mean())
    assert accuracy >= TARGET, f"{MODEL.name}: {accuracy:.4f} on {len(labels)} test images"
    # The figure recorded at training time is the one measured here.
    assert metrics["test_accuracy"] == pytest.approx(accuracy, abs=1e-4)
    assert metrics["test_n"] == len(labels) == 10000
    assert np.array(metrics["confusion"]).trace() == int((pred == labels).sum())
