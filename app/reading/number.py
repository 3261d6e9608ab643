"""Read a number: every digit in a grey picture, left to right, each classified.

The ink is found as for one digit (``app.stages.mnist_preprocess``), grouped into digits
(``app.reading.segment``), and each digit is normalised like MNIST and classified. A piece
wider than ``SPLIT_ASPECT`` times its height may be two touching digits: it is cut at the
columns with the least ink, and the cut is kept when both halves read as digits with a
higher score (``app.reading.rejection.digit_score``) than the whole, up to three times.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from app.reading.normalise import ink_to_mnist
from app.reading.rejection import NOT_A_DIGIT, digit_score, is_digit
from app.reading.segment import cut_columns, group_digits, segment_ink, split_at
from app.stages.mnist_preprocess import (
    TOO_SMALL,
    InkMap,
    ink_components,
    working_copy,
    working_factor,
)
from app.timing import Step, untimed

#: A (28, 28) float32 tensor -> its (10,) calibrated logits.
Logits = Callable[[np.ndarray], np.ndarray]

#: Wider than this (width / height) a piece is tried as two touching digits; the cut is
#: kept when both halves read better than the whole.
SPLIT_ASPECT = 0.9
#: Wider than this a piece is taken as touching digits whenever the halves read as digits
#: (MNIST's widest single digits, a 0 or a 2, are about as wide as tall).
SURELY_SPLIT_ASPECT = 1.3
#: Score (free energy) a cut must gain per extra digit over reading the piece whole.
SPLIT_PENALTY = 1.0
#: Most digits in a number (a year, a sum): more pieces are read, but not split further.
MAX_DIGITS = 6


@dataclass(frozen=True)
class DigitRead:
    """One digit of a number.

    Attributes:
        box: (x0, y0, x1, y1) in the input picture's pixels, end exclusive.
        tensor: (28, 28) float32, what the network saw.
        logits: (10,) calibrated logits.
        digit: the digit read, or None when the ink does not read as one.
        confidence: the digit's probability (softmax of the logits).
    """

    box: tuple[int, int, int, int]
    tensor: np.ndarray
    logits: np.ndarray
    digit: int | None
    confidence: float


@dataclass(frozen=True)
class NumberRead:
    """A number read left to right.

    Attributes:
        digits: every digit found, left to right (also those not read as a digit).
        number: the digits as a string ("407") when every one was read, else None.
        reason: why there is no number ("no ink", "not a digit", ...), else None.
    """

    digits: tuple[DigitRead, ...]
    number: str | None
    reason: str | None


def read_number(
    gray: np.ndarray, logits_of: Logits, *, work_side: int = 160, step: Step = untimed
) -> NumberRead:
    """Find, split and classify every digit of a grey picture (dark ink on paper).

    Args:
        gray: (h, w) uint8.
        logits_of: classifies one tensor, e.g. ``lambda t: clf.predict(t).layers["fc3"]``.
        work_side: the ink is looked for at most this many pixels across (as one digit).
        step: times finding the ink and reading the digits (``Stage.step``).
    """
    gray = np.asarray(gray)
    if gray.ndim != 2 or gray.dtype != np.uint8:
        raise ValueError(f"gray must be (h, w) uint8, got {gray.shape} {gray.dtype}")
    if min(gray.shape) < 8:
        return NumberRead((), None, TOO_SMALL)
    with step("find ink"):
        comp = ink_components(working_copy(gray, work_side))
        segments = comp if isinstance(comp, str) else group_digits(comp)
    if isinstance(segments, str):
        return NumberRead((), None, segments)
    assert not isinstance(comp, str)
    scale = working_factor(gray.shape, work_side)
    reads: list[DigitRead] = []
    with step("split and classify"):
        for seg in segments[:MAX_DIGITS]:
            splits_left = 3 if len(segments) < MAX_DIGITS else 0
            reads.extend(_read_piece(segment_ink(comp, seg), logits_of, scale, splits_left))
    reads.sort(key=lambda r: r.box[0] + r.box[2])
    if any(r.digit is None for r in reads):
        return NumberRead(tuple(reads), None, NOT_A_DIGIT)
    return NumberRead(tuple(reads), "".join(str(r.digit) for r in reads), None)


def _classify(ink: InkMap, logits_of: Logits, scale: int) -> DigitRead:
    tensor = ink_to_mnist(ink.ink, ink.box, ink.stroke)
    logits = np.asarray(logits_of(tensor), np.float64).reshape(-1)
    probs = np.exp(logits - logits.max())
    probs /= probs.sum()
    best = int(np.argmax(probs))
    box = tuple(int(v * scale) for v in ink.box)
    digit = best if is_digit(logits) else None
    return DigitRead(box, tensor, logits, digit, float(probs[best]))  # type: ignore[arg-type]


def _read_piece(ink: InkMap, logits_of: Logits, scale: int, splits_left: int) -> list[DigitRead]:
    """The piece as one digit, or cut in two where that reads better (recursively)."""
    whole = _classify(ink, logits_of, scale)
    x0, y0, x1, y1 = ink.box
    if splits_left <= 0 or (x1 - x0) < SPLIT_ASPECT * (y1 - y0):
        return [whole]
    best: list[DigitRead] | None = None
    best_score = -np.inf
    if whole.digit is not None and (x1 - x0) < SURELY_SPLIT_ASPECT * (y1 - y0):
        best_score = digit_score(whole.logits)
    for column in cut_columns(ink):
        left, right = split_at(ink, column)
        parts = [
            *_read_piece(left, logits_of, scale, splits_left - 1),
            *_read_piece(right, logits_of, scale, splits_left - 1),
        ]
        if any(p.digit is None for p in parts):
            continue
        # Each extra digit must earn its place: halves of one digit often read as digits.
        score = min(digit_score(p.logits) for p in parts) - SPLIT_PENALTY * (len(parts) - 1)
        if score > best_score:
            best, best_score = parts, score
    return best if best is not None else [whole]
