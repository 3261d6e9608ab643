"""How well convlens reads what a class writes, against the reading before issue 15.

Usage::

    python benchmarks/reading.py [--n 300] [--seed 0] [--split test] [--json]

Prints, for the new reading and the baseline (``benchmarks/reading_baseline.py``, the
code before issue 15) on the same sets in the same run: accuracy by digit size (25-90 %
of the ROI's height), by rotation (-15..+15 degrees), by extra slant, by condition (thin
pen, low contrast, shadow, blur, JPEG); number-mode accuracy on 2-4 digit numbers; the
calibration error before and after temperature scaling; the false-digit rate on non-digit
crops and the digit recall that goes with it; still-photo path against the live path;
and the per-frame cost of each step (median ms). The sets (``benchmarks/reading_sets``)
are generated from the seed on first use and cached (``$CONVLENS_READING_CACHE`` or the
temp dir); ``--split dev`` uses the held-out training digits the reading was tuned on.

Classification runs the NumPy reference on ``models/lenet.npz`` in batches (the same
probabilities as the TFLite model to 1e-6); the per-frame costs use the TFLite model
through ``app.classifier`` as the app does.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from app.reading.rejection import MIN_SCORE, digit_score
from app.stages import mnist_preprocess as new
from benchmarks import reading_baseline as old
from benchmarks.reading_costs import per_frame_costs
from benchmarks.reading_numbers import main_stream_table, number_table
from benchmarks.reading_photos import photo_paths_table
from benchmarks.reading_sets.sets import ReadingSet, load_set
from benchmarks.report import print_report
from training.calibrate import expected_calibration_error, softmax
from training.mnist import load_split
from training.model_io import load_model
from training.network import forward

MODEL = Path(__file__).resolve().parents[1] / "models" / "lenet.npz"
WORK_SIDE = 160  # the live digit stage's default


class Batch:
    """The calibrated network on many tensors at once (NumPy reference, batches of 500)."""

    def __init__(self, path: Path = MODEL) -> None:
        self.spec, self.params, metrics = load_model(path)
        self.temperature = float(metrics.get("calibration", {}).get("temperature", 1.0))

    def logits(self, tensors: np.ndarray) -> np.ndarray:
        """(N, 28, 28) float32 -> (N, 10) calibrated logits, float64."""
        x = np.asarray(tensors, np.float32).reshape(-1, 28, 28, 1)
        out = [forward(self.spec, self.params, x[i : i + 500])[0] for i in range(0, len(x), 500)]
        return np.concatenate(out).astype(np.float64) if out else np.zeros((0, 10))


def read_set(pictures: np.ndarray, pipeline: Any, net: Batch) -> dict[str, np.ndarray]:
    """Run a single-digit pipeline (gray -> (tensor | None, reason)) over a set.

    Returns ``found`` (N,) bool, ``logits`` (N, 10) and ``reason`` (N,) str ("" if found).
    """
    tensors = np.zeros((len(pictures), 28, 28), np.float32)
    found = np.zeros(len(pictures), bool)
    reasons = []
    for i, gray in enumerate(pictures):
        tensor, reason = pipeline(gray)
        if tensor is not None:
            tensors[i], found[i] = tensor, True
        reasons.append(reason or "")
    return {"found": found, "logits": net.logits(tensors), "reason": np.array(reasons)}


def pipelines() -> dict[str, Any]:
    return {
        "baseline": lambda g: old.roi_to_mnist_tensor(g, work_side=WORK_SIDE),
        "new": lambda g: new.roi_to_mnist_tensor(g, work_side=WORK_SIDE),
    }


def right(result: dict[str, np.ndarray], labels: np.ndarray, shown: bool = False) -> np.ndarray:
    """Per sample: a tensor was found and the network's top class is the label; with
    ``shown``, the digit also passes the "no digit" test (``app.reading.rejection``)."""
    ok = result["found"] & (result["logits"].argmax(axis=1).astype(str) == labels)
    if shown:
        ok &= digit_score(result["logits"]) >= MIN_SCORE
    return ok


def by_group(data: ReadingSet, results: dict[str, dict], key: str = "group") -> list[dict]:
    """Accuracy (%) per value of ``data.attrs[key]``: baseline, new, new and shown."""
    rows = []
    groups = data.attrs[key]
    for value in np.unique(groups):
        member = groups == value
        row: dict[str, Any] = {key: value.item(), "n": int(member.sum())}
        row["baseline"] = pct(right(results["baseline"], data.labels)[member])
        row["new"] = pct(right(results["new"], data.labels)[member])
        row["new, shown"] = pct(right(results["new"], data.labels, shown=True)[member])
        rows.append(row)
    return rows


def conditions(data: ReadingSet, results: dict[str, dict]) -> list[dict]:
    """Accuracy on the sizes set's hard conditions (subsets; a digit may be in several)."""
    a = data.attrs
    subsets = {
        "all": np.ones(len(data), bool),
        "thin pen (< 1.5 px)": (a["pen_px"] > 0) & (a["pen_px"] < 1.5),
        "low contrast (< 0.3)": a["contrast"] < 0.3,
        "shadow near the digit": a["shadow"] > 0,
        "blur sigma > 0.9 px": a["blur"] > 0.9,
        "JPEG": a["jpeg"] > 0,
        "MNIST digits": a["source"] == "mnist",
        "generated handwriting": a["source"] == "hand",
    }
    rows = []
    for name, member in subsets.items():
        rows.append(
            {
                "condition": name,
                "n": int(member.sum()),
                "baseline": pct(right(results["baseline"], data.labels)[member]),
                "new": pct(right(results["new"], data.labels)[member]),
                "new, shown": pct(right(results["new"], data.labels, shown=True)[member]),
            }
        )
    return rows


def pct(values: np.ndarray) -> float:
    return round(100.0 * float(np.mean(values)), 2) if values.size else float("nan")


def calibration_table(net: Batch, camera: list[tuple[ReadingSet, dict]]) -> list[dict]:
    """ECE (%) before (logits x T) and after (the shipped, folded logits) on the MNIST
    test set and on the camera digits the new reading found."""
    images, labels = load_split("test", verify=False)
    logits = net.logits(images.astype(np.float32) / 255.0)
    rows = [_ece_row("MNIST test (10,000)", logits, labels.astype(int), net.temperature)]
    found = np.concatenate([r["found"] for _, r in camera])
    cam_logits = np.concatenate([r["logits"] for _, r in camera])[found]
    cam_labels = np.concatenate([d.labels for d, _ in camera])[found].astype(int)
    rows.append(_ece_row(f"camera digits ({found.sum()})", cam_logits, cam_labels, net.temperature))
    return rows


def _ece_row(name: str, logits: np.ndarray, labels: np.ndarray, t: float) -> dict:
    return {
        "set": name,
        "temperature": round(t, 4),
        "ECE before %": round(100 * expected_calibration_error(softmax(logits * t), labels), 3),
        "ECE after %": round(100 * expected_calibration_error(softmax(logits), labels), 3),
    }


def false_digits(data: ReadingSet, results: dict[str, dict], net: Batch) -> list[dict]:
    """Non-digit crops read as a digit (%), per kind: the baseline as ``classify`` (any
    tensor is a digit) and as the live stage's first frame (probability >= 0.5, before
    calibration), and the new reading (found and passing the "no digit" test)."""
    base, fresh = results["baseline"], results["new"]
    base_probs = softmax(base["logits"] * net.temperature).max(axis=1)
    new_digit = fresh["found"] & (digit_score(fresh["logits"]) >= MIN_SCORE)
    rows = []
    kinds = data.attrs["group"]
    for kind in ["all", *np.unique(kinds).tolist()]:
        member = np.ones(len(data), bool) if kind == "all" else kinds == kind
        rows.append(
            {
                "kind": kind,
                "n": int(member.sum()),
                "baseline still": pct(base["found"][member]),
                "baseline live (p >= 0.5)": pct((base["found"] & (base_probs >= 0.5))[member]),
                "new": pct(new_digit[member]),
            }
        )
    return rows


def run(args: argparse.Namespace) -> dict[str, Any]:
    net = Batch()
    sets = {
        "sizes": load_set("sizes", args.split, args.n, args.seed),
        "rotations": load_set("rotations", args.split, args.n * 2 // 3, args.seed),
        "slants": load_set("slants", args.split, args.n // 2, args.seed),
        "nondigits": load_set("nondigits", args.split, 600, args.seed),
        "numbers": load_set("numbers", args.split, 600, args.seed),
    }
    main_sets = {
        "numbers": load_set("numbers", args.split, 600, args.seed, main=True),
        "small numbers (10-16 %)": load_set("small_numbers", args.split, 300, args.seed, main=True),
    }
    results = {
        name: {k: read_set(data.lores, p, net) for k, p in pipelines().items()}
        for name, data in sets.items()
        if name != "numbers"
    }
    camera = [(sets[k], results[k]["new"]) for k in ("sizes", "rotations")]
    report: dict[str, Any] = {
        "accuracy by size (% of ROI height)": by_group(sets["sizes"], results["sizes"]),
        "accuracy by rotation (degrees)": by_group(sets["rotations"], results["rotations"]),
        "accuracy by extra slant (x per unit height)": by_group(sets["slants"], results["slants"]),
        "accuracy by condition (sizes set)": conditions(sets["sizes"], results["sizes"]),
        "numbers (whole number right, %)": number_table(sets["numbers"], net),
        "numbers: lores or main stream (% right)": main_stream_table(main_sets, net),
        "calibration": calibration_table(net, camera),
        "false-digit rate on non-digit crops (%)": false_digits(
            sets["nondigits"], results["nondigits"], net
        ),
        "still-photo path vs live path (% right)": photo_paths_table(args.seed),
        "per-frame cost (ms)": per_frame_costs(sets["sizes"], main_sets["numbers"]),
    }
    return report


def print_tables(report: dict[str, Any]) -> None:
    for title, rows in report.items():
        print(f"\n{title}")
        columns = list(rows[0])
        widths = [max(len(str(c)), *(len(str(r[c])) for r in rows)) for c in columns]
        print("  " + "  ".join(f"{c:>{w}}" for c, w in zip(columns, widths, strict=True)))
        for row in rows:
            cells = [f"{row[c]!s:>{w}}" for c, w in zip(columns, widths, strict=True)]
            print("  " + "  ".join(cells))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=300, help="digits per source per size")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--split", choices=("test", "dev"), default="test")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    start = time.perf_counter()
    report = run(args)
    if args.json:
        print_report(report, as_json=True)
    else:
        print_tables(report)
        print(f"\n{args.split} sets, seed {args.seed}; {time.perf_counter() - start:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
