"""Number mode on the numbers set: whole numbers right, by length and touching digits."""

from __future__ import annotations

from typing import Any

import numpy as np

from app.reading.number import read_number
from benchmarks.reading_sets.sets import ReadingSet

WORK_SIDE = 160


def number_table(data: ReadingSet, net: Any) -> list[dict]:
    """% of numbers read exactly (every digit, in order), per length and overall; the
    digit count found; the baseline reads one digit per ROI, so no number at all."""
    reads = [
        read_number(g, lambda t: net.logits(t[None])[0], work_side=WORK_SIDE) for g in data.lores
    ]
    got = np.array([r.number or "" for r in reads])
    right = got == data.labels
    found = np.array([len(r.digits) for r in reads])
    wanted = np.array([len(label) for label in data.labels])
    touching = data.attrs["touching"].astype(bool)
    rows = []
    lengths = data.attrs["group"]
    for name, member in [("all", np.ones(len(data), bool))] + [
        (f"{n} digits", lengths == n) for n in np.unique(lengths)
    ]:
        rows.append(
            {
                "numbers": name,
                "n": int(member.sum()),
                "new": _pct(right[member]),
                "touching digits": _pct(right[member & touching]),
                "n touching": int((member & touching).sum()),
                "digit count right": _pct((found == wanted)[member]),
                "baseline": "n/a (one digit)",
            }
        )
    return rows


def _pct(values: np.ndarray) -> float:
    return round(100.0 * float(np.mean(values)), 1) if values.size else float("nan")
