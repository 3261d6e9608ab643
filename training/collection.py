"""Read a collection of labelled handwriting samples: ``DIR/samples.csv`` and its image files.

The format is the one the app's collection mode writes: a CSV index with a header row
naming at least the columns ``file`` and ``label`` (more columns, e.g. time and source,
are allowed and ignored), one row per sample; ``file`` is relative to ``DIR`` and
names an image of the region of interest as the camera saw it (dark ink on light
paper, any size); ``label`` is the digit 0-9.

Turning an image into the network's 28x28 input is the app's job (its preprocessing
is what the live classifier sees), so ``load_collection`` takes that step as a
function: ``training`` never imports ``app``.
"""

from __future__ import annotations

import csv
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

log = logging.getLogger(__name__)

INDEX_NAME = "samples.csv"
REQUIRED_COLUMNS = ("file", "label")

#: image path -> ((28, 28) float32 tensor in [0, 1], ink = 1, None), or (None, reason)
#: when the file cannot be read or holds no digit (reason: one line).
ToTensor = Callable[[Path], tuple[np.ndarray | None, str | None]]


class CollectionError(Exception):
    """A collection that cannot be read at all; the message is one line."""


@dataclass(frozen=True)
class SkippedSample:
    """A row of the index that gave no training sample, and why."""

    line: int
    file: str
    reason: str


@dataclass(frozen=True)
class Collection:
    """The usable samples of a collection.

    Attributes:
        images: (N, 28, 28) float32 in [0, 1], ink = 1 (the network's input before scaling).
        labels: (N,) int64 digits.
        files: the N image paths as written in the index.
        skipped: rows that were left out, with the reason.
    """

    images: np.ndarray
    labels: np.ndarray
    files: tuple[str, ...]
    skipped: tuple[SkippedSample, ...] = field(default=())

    def counts(self) -> dict[str, int]:
        """Samples per digit, ``{"0": n0, ..., "9": n9}``."""
        per_digit = np.bincount(self.labels, minlength=10)
        return {str(d): int(n) for d, n in enumerate(per_digit)}


def read_index(folder: Path) -> list[tuple[int, str, str]]:
    """The rows of ``folder/samples.csv`` as (line number, file, label text).

    Raises:
        CollectionError: no folder, no index, no header or a header without the columns.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise CollectionError(f"{folder} is not a folder; expected one with {INDEX_NAME}")
    index = folder / INDEX_NAME
    try:
        with open(index, newline="", encoding="utf-8") as f:
            reader = csv.DictReader(f)
            columns = [name.strip() for name in reader.fieldnames or []]
            missing = [c for c in REQUIRED_COLUMNS if c not in columns]
            if missing:
                raise CollectionError(
                    f"{index}: header {','.join(columns) or '(empty)'} lacks column(s) "
                    f"{', '.join(missing)}; expected at least 'file,label'"
                )
            reader.fieldnames = columns
            return [
                (reader.line_num, (row.get("file") or "").strip(), (row.get("label") or "").strip())
                for row in reader
            ]
    except FileNotFoundError as exc:
        raise CollectionError(
            f"{index} does not exist; expected a CSV index with columns file,label"
        ) from exc
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise CollectionError(f"{index} cannot be read as a UTF-8 CSV file ({exc})") from exc


def parse_label(text: str) -> int | None:
    """The digit a label names ("7", " 7 ", "7.0"), or None."""
    try:
        value = float(text)
    except ValueError:
        return None
    return int(value) if value.is_integer() and 0 <= value <= 9 else None


def load_collection(folder: Path, to_tensor: ToTensor) -> Collection:
    """Every usable sample of ``folder``'s index, turned into network inputs by ``to_tensor``.

    A row whose label is not a digit, whose file is missing or unreadable, or in which
    ``to_tensor`` finds no digit is skipped with a warning; it is listed in ``skipped``.
    Raises:
        CollectionError: the index cannot be read, or no row gave a sample.
    """
    folder = Path(folder)
    images, labels, files, skipped = [], [], [], []
    for line, name, label_text in read_index(folder):
        label = parse_label(label_text)
        tensor, reason = None, None
        if not name:
            reason = "no file name"
        elif label is None:
            reason = f"label {label_text!r} is not a digit 0-9"
        else:
            tensor, reason = to_tensor(folder / name)
        if reason is not None or tensor is None:
            reason = reason or "no digit found"
            log.warning("%s line %d (%s): skipped: %s", INDEX_NAME, line, name, reason)
            skipped.append(SkippedSample(line, name, reason))
            continue
        images.append(np.asarray(tensor, dtype=np.float32).reshape(28, 28))
        labels.append(label)
        files.append(name)
    if not images:
        raise CollectionError(
            f"{folder / INDEX_NAME}: none of its {len(skipped)} rows gave a usable sample"
        )
    return Collection(
        np.stack(images), np.array(labels, dtype=np.int64), tuple(files), tuple(skipped)
    )
