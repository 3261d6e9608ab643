"""Number mode on the numbers set: whole numbers right, by length and touching digits."""

from __future__ import annotations

from typing import Any

import numpy as np

from app.reading.number import NumberRead, read_number
from app.stages.number import wants_main_stream
from benchmarks.reading_sets.sets import ReadingSet

WORK_SIDE = 160
#: The number stage's work side (lores pixels): no downscaling of the 130 px squares.
STAGE_SIDE = 240


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


def main_stream_table(sets: dict[str, ReadingSet], net: Any) -> list[dict]:
    """% of numbers read exactly from the lores square, from the main-stream square (twice
    as fine) and as the number stage chooses (``wants_main_stream``), for each set (loaded
    with ``main=True``); the number stage's work side (240 lores, 480 main px)."""

    def read(gray: np.ndarray, side: int) -> NumberRead:
        return read_number(gray, lambda t: net.logits(t[None])[0], work_side=side)

    rows = []
    for name, data in sets.items():
        assert data.main is not None, f"{name}: load the set with main=True"
        lores = [read(g, STAGE_SIDE) for g in data.lores]
        main = [read(g, 2 * STAGE_SIDE) for g in data.main]
        again = np.array([wants_main_stream(r, 1) for r in lores])
        chosen = [m if a else r for r, m, a in zip(lores, main, again, strict=True)]
        right = {
            k: _pct(np.array([r.number or "" for r in reads]) == data.labels)
            for k, reads in (("lores", lores), ("main", main), ("stage", chosen))
        }
        rows.append(
            {
                "set": name,
                "n": len(data),
                "lores": right["lores"],
                "main stream": right["main"],
                "as the stage": right["stage"],
                "% read twice": _pct(again),
            }
        )
    return rows


def _pct(values: np.ndarray) -> float:
    return round(100.0 * float(np.mean(values)), 1) if values.size else float("nan")
