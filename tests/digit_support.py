"""Shared by the digit/classify tests: the committed model and the MNIST test split, loaded once."""

from __future__ import annotations

import functools
from pathlib import Path

import numpy as np
import pytest

from app.classifier import DigitClassifier, load_classifier
from app.errors import ModelError
from training.mnist import DataError, load_split

MODELS = Path(__file__).resolve().parents[1] / "models"


@functools.cache
def committed_classifier() -> DigitClassifier:
    """The shipped float32 TFLite model when it is committed and a runtime imports, else the
    NumPy reference on ``models/lenet.npz``; skips the test when neither is there."""
    tflite = MODELS / "lenet_float32.tflite"
    if tflite.is_file():
        try:
            return load_classifier(tflite)
        except ModelError:
            pass  # no runtime here: the NumPy reference gives the same probabilities
    npz = MODELS / "lenet.npz"
    if not npz.is_file():
        pytest.skip("no committed model in models/")
    return load_classifier(npz, backend="numpy")


@functools.cache
def mnist_test_split() -> tuple[np.ndarray, np.ndarray]:
    """MNIST's 10,000 test digits (N, 28, 28) uint8 and labels; skips when absent."""
    try:
        return load_split("test", verify=False)
    except DataError as e:
        pytest.skip(f"MNIST not available: {e}")
