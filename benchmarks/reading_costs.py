"""Per-frame cost of each reading step on lores search squares: medians in ms."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from app.classifier import load_classifier
from app.reading.deskew import deskew
from app.reading.normalise import ink_to_mnist
from app.reading.number import read_number
from app.reading.rejection import digit_score
from app.stages import mnist_preprocess as new
from benchmarks import reading_baseline as old
from benchmarks.reading_sets.sets import ReadingSet

WORK_SIDE = 160
MODEL = Path(__file__).resolve().parents[1] / "models" / "lenet_float32.tflite"
FRAMES = 300


def _median_ms(fn: Callable[[object], object], items: list) -> float:
    for item in items[:10]:  # warm-up
        fn(item)
    times = []
    for item in items:
        start = time.perf_counter()
        fn(item)
        times.append(time.perf_counter() - start)
    return round(1000.0 * float(np.median(times)), 3)


def per_frame_costs(sizes: ReadingSet, numbers: ReadingSet) -> list[dict]:
    """Each step's median over FRAMES search squares of the sizes set (all sizes), and
    number reading over the numbers set; the TFLite model as the app runs it."""
    pick = np.random.default_rng(0).choice(len(sizes), min(FRAMES, len(sizes)), replace=False)
    grays = [sizes.lores[i] for i in pick]
    inks = [m for m in (new.find_ink(g, WORK_SIDE)[0] for g in grays) if m is not None]
    crops = []
    for m in inks:
        x0, y0, x1, y1 = m.box
        crops.append(m.ink[max(0, y0 - 3) : y1 + 3, max(0, x0 - 3) : x1 + 3])
    clf = load_classifier(MODEL)
    tensors = [ink_to_mnist(m.ink, m.box, m.stroke) for m in inks]
    logits = [clf.predict(t).layers["fc3"] for t in tensors[:50]]

    def number(gray: np.ndarray) -> object:
        return read_number(gray, lambda t: clf.predict(t).layers["fc3"], work_side=WORK_SIDE)

    steps: list[tuple[str, Callable, list]] = [
        ("baseline: ROI to tensor (before issue 15)",
         lambda g: old.roi_to_mnist_tensor(g, work_side=WORK_SIDE), grays),
        ("new: ROI to tensor (the steps below but classify)",
         lambda g: new.roi_to_mnist_tensor(g, work_side=WORK_SIDE), grays),
        ("  find the ink", lambda g: new.find_ink(g, WORK_SIDE), grays),
        ("  straighten (deskew) the ink crop", deskew, crops),
        ("  normalise: straighten, stroke, 20x20, centre",
         lambda m: ink_to_mnist(m.ink, m.box, m.stroke), inks),
        ("  normalise without straightening",
         lambda m: ink_to_mnist(m.ink, m.box, m.stroke, straighten=False), inks),
        (f"classify ({clf.backend})", clf.predict, tensors),
        ("no-digit test (free energy)", digit_score, logits),
        ("number mode: read a 2-4 digit number", number, list(numbers.lores[:FRAMES])),
    ]  # fmt: skip
    rows = [(name, _median_ms(fn, items)) for name, fn, items in steps]
    return [{"step": name, "median ms": ms} for name, ms in rows]
