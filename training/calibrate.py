"""Temperature scaling: make the network's probabilities mean what they say, then fold the
temperature into the last layer so every runtime gives calibrated probabilities.

Usage::

    python -m training.calibrate models/lenet.npz [--out models/lenet.npz] [--data-dir DIR]
    python -m training.export models/lenet.npz --out models/

A temperature T divides the logits before the softmax (Guo et al., 2017): the predicted
class and so the accuracy do not change, only how sure the network says it is. T is the
one that minimises the negative log-likelihood on the training images held out for
validation (the same seeded split as ``training.train``), never on the test set; the
expected calibration error (ECE: 15 equal-width confidence bins, the bins' mean
|accuracy - confidence| weighted by their share) is reported on the 10,000 test images
before and after. Folding divides the last dense layer's weights and bias by T, so the
exported ``fc3`` outputs are the calibrated logits. Calibrating a calibrated model again
multiplies the temperatures; the model's metrics record the total under "calibration".
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path
from typing import Any

import numpy as np

from training import mnist
from training.model_io import ModelFileError, load_model, save_model
from training.network import Params, forward, to_input
from training.spec import Spec
from training.train import split_train_val

log = logging.getLogger(__name__)

ECE_BINS = 15


def logits_of(spec: Spec, params: Params, images: np.ndarray, batch: int = 1000) -> np.ndarray:
    """The network's logits (N, classes) float64 for uint8 digits (N, 28, 28)."""
    out = [
        forward(spec, params, to_input(spec, images[i : i + batch]))[0]
        for i in range(0, len(images), batch)
    ]
    return np.concatenate(out).astype(np.float64)


def softmax(logits: np.ndarray) -> np.ndarray:
    """Row-wise softmax of (N, K) logits, float64."""
    z = logits - logits.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def nll(logits: np.ndarray, labels: np.ndarray, temperature: float = 1.0) -> float:
    """Mean negative log-likelihood of ``labels`` under ``softmax(logits / temperature)``."""
    z = logits / temperature
    z = z - z.max(axis=1, keepdims=True)
    log_norm = np.log(np.exp(z).sum(axis=1))
    return float(np.mean(log_norm - z[np.arange(len(labels)), labels]))


def fit_temperature(logits: np.ndarray, labels: np.ndarray) -> float:
    """The temperature in [0.05, 20] minimising ``nll`` (golden-section search on log T;
    the NLL is unimodal in T)."""
    lo, hi = np.log(0.05), np.log(20.0)
    ratio = (np.sqrt(5.0) - 1.0) / 2.0
    a, b = hi - ratio * (hi - lo), lo + ratio * (hi - lo)
    fa, fb = nll(logits, labels, np.exp(a)), nll(logits, labels, np.exp(b))
    while hi - lo > 1e-5:
        if fa < fb:
            hi, b, fb = b, a, fa
            a = hi - ratio * (hi - lo)
            fa = nll(logits, labels, np.exp(a))
        else:
            lo, a, fa = a, b, fb
            b = lo + ratio * (hi - lo)
            fb = nll(logits, labels, np.exp(b))
    return float(np.exp((lo + hi) / 2.0))


def expected_calibration_error(
    probs: np.ndarray, labels: np.ndarray, bins: int = ECE_BINS
) -> float:
    """ECE of (N, K) probabilities: sum over equal-width confidence bins of the bin's share
    of samples times |accuracy - mean confidence| in it."""
    confidence = probs.max(axis=1)
    right = probs.argmax(axis=1) == labels
    edges = np.linspace(0.0, 1.0, bins + 1)
    # Bin i holds confidences in (edges[i], edges[i + 1]]; confidence 0 joins the first.
    which = np.clip(np.searchsorted(edges, confidence, side="left") - 1, 0, bins - 1)
    total = 0.0
    for i in range(bins):
        members = which == i
        if members.any():
            total += members.mean() * abs(right[members].mean() - confidence[members].mean())
    return float(total)


def fold_temperature(spec: Spec, params: Params, temperature: float) -> Params:
    """A copy of ``params`` with the last dense layer's weights and bias divided by T."""
    last = [layer["name"] for layer in spec["layers"] if layer["type"] == "dense"][-1]
    folded = dict(params)
    for key in (f"{last}/w", f"{last}/b"):
        folded[key] = (params[key] / temperature).astype(params[key].dtype)
    return folded


def calibrate(model_path: Path, out_path: Path, data_dir: Path | None = None) -> dict[str, Any]:
    """Fit T on the held-out training images, fold it in, write ``out_path``.

    Returns the figures recorded under ``metrics["calibration"]``.
    """
    spec, params, metrics = load_model(model_path)
    config = metrics.get("config", {})
    n_val, seed = int(config.get("val", 5000)), int(config.get("seed", 0))
    if n_val <= 0:
        raise ValueError(f"{model_path} was trained without held-out images; nothing to fit on")
    images, labels = mnist.load_split("train", data_dir)
    _, _, val_images, val_labels = split_train_val(images, labels, n_val, seed)
    test_images, test_labels = mnist.load_split("test", data_dir)
    val_logits = logits_of(spec, params, val_images)
    test_logits = logits_of(spec, params, test_images)
    temperature = fit_temperature(val_logits, val_labels)
    previous = float(metrics.get("calibration", {}).get("temperature", 1.0))
    figures = {
        "temperature": previous * temperature,
        "fitted_on": f"{n_val} held-out training images (seeded split, seed {seed})",
        "val_nll_before": nll(val_logits, val_labels),
        "val_nll_after": nll(val_logits, val_labels, temperature),
        "test_ece_before": expected_calibration_error(softmax(test_logits), test_labels),
        "test_ece_after": expected_calibration_error(
            softmax(test_logits / temperature), test_labels
        ),
        "test_nll_before": nll(test_logits, test_labels),
        "test_nll_after": nll(test_logits, test_labels, temperature),
        "ece_bins": ECE_BINS,
    }
    metrics = {**metrics, "calibration": figures}
    save_model(out_path, spec, fold_temperature(spec, params, temperature), metrics)
    return figures


def main(argv: list[str] | None = None) -> int:
    """CLI entry point; returns the exit status."""
    parser = argparse.ArgumentParser(
        prog="python -m training.calibrate", description=__doc__.split("\n")[0]
    )
    parser.add_argument("model", type=Path, help="trained .npz model, e.g. models/lenet.npz")
    parser.add_argument("--out", type=Path, default=None, help="output .npz (default: in place)")
    parser.add_argument("--data-dir", type=Path, default=None, help="MNIST IDX folder")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    try:
        figures = calibrate(args.model, args.out or args.model, args.data_dir)
    except (ModelFileError, mnist.DataError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(
        f"temperature {figures['temperature']:.4f} (fitted on {figures['fitted_on']}); "
        f"test ECE {figures['test_ece_before']:.4%} -> {figures['test_ece_after']:.4%}, "
        f"test NLL {figures['test_nll_before']:.4f} -> {figures['test_nll_after']:.4f}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
