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
from benchmarks.reading_sets.camera import random_scene
from benchmarks.reading_sets.sets import ReadingSet, digit_glyphs, shoot

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


def _small_digits(count: int = 100) -> dict[str, list[np.ndarray]]:
    """Search squares of digits at 14 % of the ROI, from lores and from main (dev digits)."""
    rng = np.random.default_rng(5)
    shots = [
        shoot(glyph, random_scene(rng, height=0.14, pen=0.08))
        for glyph, _ in digit_glyphs("dev", count // 2, 9)
    ]
    return {"lores": [s.lores for s in shots], "main": [s.main for s in shots]}


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

    small = _small_digits()

    def number(gray: np.ndarray, side: int = WORK_SIDE) -> object:
        return read_number(gray, lambda t: clf.predict(t).layers["fc3"], work_side=side)

    numbers_main = list(numbers.main[:FRAMES]) if numbers.main is not None else []

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
        ("  ... read again from main (260 px)",
         lambda g: number(g, 2 * WORK_SIDE), numbers_main),
        ("small digit (14 % of ROI) from lores (130 px)",
         lambda g: new.read_roi(g, work_side=WORK_SIDE), small["lores"]),
        ("  ... read again from main (260 px)",
         lambda g: new.read_roi(g, work_side=2 * WORK_SIDE), small["main"]),
    ]  # fmt: skip
    rows = [(name, _median_ms(fn, items)) for name, fn, items in steps if items]
    return [{"step": name, "median ms": ms} for name, ms in rows]
