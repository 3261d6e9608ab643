"""Evaluate a trained model on the 10,000 MNIST test images; print a summary or one JSON object.

Usage::

    python -m training.evaluate --model models/lenet.npz [--data-dir DIR] [--json]

The predictor is chosen by the model file's suffix in ``make_predictor``: ``.npz`` runs
the NumPy reference network, ``.tflite`` runs the exported model through
``training.tflite_predict`` (when that module is present).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from training.mnist import DataError, load_split
from training.model_io import ModelFileError, load_model
from training.network import predict_probs

#: images (N, 28, 28) uint8 -> class probabilities (N, 10) float32
Predictor = Callable[[np.ndarray], np.ndarray]


class ModelFormatError(Exception):
    """A model file whose suffix no predictor handles."""


def make_predictor(path: Path) -> Predictor:
    """A function from uint8 digits (N, 28, 28) to probabilities (N, 10), by file suffix.

    Raises:
        ModelFileError: the file is missing or broken.
        ModelFormatError: no predictor for this suffix.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix == ".npz":
        spec, params, _ = load_model(path)
        return lambda images: predict_probs(spec, params, images)
    if suffix == ".tflite":
        from training.tflite_predict import make_tflite_predictor

        return make_tflite_predictor(path)
    raise ModelFormatError(f"{path}: unknown model type {suffix!r}; expected .npz or .tflite")


def evaluate(
    predictor: Predictor, images: np.ndarray, labels: np.ndarray, batch_size: int = 1000
) -> dict[str, Any]:
    """Accuracy, per-class accuracy and the confusion matrix (rows true, columns predicted).

    Args:
        predictor: from ``make_predictor``.
        images: (N, 28, 28) uint8; labels: (N,) integers 0..9.
    """
    t0 = time.perf_counter()
    preds = [
        predictor(images[s : s + batch_size]).argmax(axis=1)
        for s in range(0, len(images), batch_size)
    ]
    seconds = time.perf_counter() - t0
    pred = np.concatenate(preds) if preds else np.zeros(0, dtype=np.int64)
    truth = labels.astype(np.int64)
    confusion = np.zeros((10, 10), dtype=np.int64)
    np.add.at(confusion, (truth, pred), 1)
    per_class = np.diag(confusion) / np.maximum(confusion.sum(axis=1), 1)
    n = len(labels)
    return {
        "accuracy": float((pred == truth).mean()) if n else float("nan"),
        "n": n,
        "errors": int(n - np.trace(confusion)),
        "per_class_accuracy": [round(float(a), 4) for a in per_class],
        "confusion": confusion.tolist(),
        "seconds": round(seconds, 3),
    }


class _Parser(argparse.ArgumentParser):
    """argparse that reports a bad option in one line (no usage block), exit status 2."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(2, f"{self.prog}: error: {message} (see --help)\n")


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point; exit status 1 for a bad model or data file, 2 for bad usage."""
    p = _Parser(prog="python -m training.evaluate", description=__doc__.split("\n")[0])
    p.add_argument("--model", type=Path, default=Path("models/lenet.npz"))
    p.add_argument("--data-dir", type=Path, default=None, help="folder with the MNIST .gz files")
    p.add_argument("--limit", type=int, default=None, help="only the first N test images")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    args = p.parse_args(argv)
    try:
        predictor = make_predictor(args.model)
        images, labels = load_split("test", args.data_dir)
    except ModelFormatError as exc:
        print(f"{p.prog}: error: {exc}", file=sys.stderr)
        return 2
    except (ModelFileError, DataError) as exc:
        print(f"{p.prog}: error: {exc}", file=sys.stderr)
        return 1
    if args.limit is not None:
        images, labels = images[: args.limit], labels[: args.limit]
    result = {"model": str(args.model), **evaluate(predictor, images, labels)}
    if args.json:
        print(json.dumps(result))
    else:
        print(
            f"{args.model}: accuracy {result['accuracy'] * 100:.2f}% "
            f"({result['errors']} errors of {result['n']}) in {result['seconds']:.2f} s"
        )
        for digit, acc in enumerate(result["per_class_accuracy"]):
            print(f"  {digit}: {acc * 100:6.2f}%")
    return 0


if __name__ == "__main__":
    sys.exit(main())
