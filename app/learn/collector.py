"""The user's handwriting samples on disk: saved from the live ROI, counted, the last undone.

Layout of a collection folder (what ``convlens finetune DIR`` reads)::

    DIR/samples.csv          file,label,time,source,tensor   (one row per sample)
    DIR/crops/00012_7.png    the grey picture the digit was read from (ROI + margin)
    DIR/tensors/00012_7.png  the 28x28 the network saw (ink white, as MNIST)

``file`` is the crop: ``convlens finetune`` reads it with the live loop's own
preprocessing, so it trains on what the network saw. Nothing is sent anywhere: the
folder is on this device (the service's state directory by default).

Rate limit and quota, like snapshots (``app.snapshot``): a held key or a script must
not fill the SD card. A sample is refused (``SampleRefusedError``, one line) sooner
than ``min_interval`` after the last one, past ``max_samples`` or ``max_bytes``, or when
the disk keeps less than ``min_free_bytes``.
"""

from __future__ import annotations

import contextlib
import csv
import logging
import os
import re
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from training.collection import INDEX_NAME, CollectionError, parse_label

log = logging.getLogger(__name__)

COLUMNS = ("file", "label", "time", "source", "tensor")
CROPS, TENSORS = "crops", "tensors"
_NUMBER = re.compile(r"(\d+)_\d\.png$")


@dataclass(frozen=True)
class CollectQuota:
    """What a collection may take.

    Attributes:
        min_interval: seconds between two samples (a held key saves one, not thirty).
        max_samples: rows the index may hold.
        max_bytes: bytes the sample pictures may take (one sample is 2-30 kB).
        min_free_bytes: free space the file system must keep for the system itself.
    """

    min_interval: float = 0.25
    max_samples: int = 5000
    max_bytes: int = 256 * 1024 * 1024
    min_free_bytes: int = 256 * 1024 * 1024


class SampleRefusedError(OSError):
    """A sample not saved because of the rate limit or the quota; the message says which."""


@dataclass(frozen=True)
class Sample:
    """One saved sample: its row of the index."""

    file: str
    label: int | None  # None: a row whose label is not a digit (kept, never counted)
    time: str
    source: str
    tensor: str


class Collector:
    """Saves labelled samples into ``folder`` and keeps their counts.

    Args:
        folder: the collection folder (made when the first sample is saved).
        quota: the rate limit and quota.
        clock: monotonic seconds for the rate limit (tests step it).
    Raises:
        CollectionError: ``folder/samples.csv`` exists but is not a collection index
            with this module's columns (one line; nothing is changed).
    """

    def __init__(
        self,
        folder: str | Path,
        quota: CollectQuota | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.folder = Path(folder)
        self.quota = quota or CollectQuota()
        self.clock = clock
        self._last_at = -float("inf")
        self.samples: list[Sample] = self._read()
        self._bytes = sum(self._size(s) for s in self.samples)
        self._next = 1 + max((_number(s.file) for s in self.samples), default=0)

    @property
    def index(self) -> Path:
        """The collection's ``samples.csv``."""
        return self.folder / INDEX_NAME

    def counts(self) -> tuple[int, ...]:
        """Samples per digit, 10 ints."""
        per_digit = [0] * 10
        for sample in self.samples:
            if sample.label is not None:
                per_digit[sample.label] += 1
        return tuple(per_digit)

    def add(self, crop: np.ndarray, tensor: np.ndarray, label: int, source: str) -> Sample:
        """Save one sample: the grey crop, the 28x28 tensor and a row of the index.

        Args:
            crop: (h, w) uint8 grey picture the digit was read from.
            tensor: (28, 28) float32 in [0, 1], ink = 1 (the network's input).
            label: the digit 0-9 the user typed.
            source: where the frame came from (the source's description).
        Raises:
            SampleRefusedError: the rate limit or the quota does not allow one now.
            ValueError: a label that is not a digit, or a crop or tensor of the wrong form.
            OSError: a file could not be written (nothing is left half-written).
        """
        if not (isinstance(label, int) and 0 <= label <= 9):
            raise ValueError(f"label {label!r} is not a digit 0-9")
        crop, image = _check_pictures(crop, tensor)
        self._check_quota()
        name = f"{self._next:05d}_{label}.png"
        sample = Sample(
            file=f"{CROPS}/{name}",
            label=label,
            time=time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            source=source,
            tensor=f"{TENSORS}/{name}",
        )
        written = []
        try:
            for relative, picture in ((sample.file, crop), (sample.tensor, image)):
                path = self.folder / relative
                path.parent.mkdir(parents=True, exist_ok=True)
                if not cv2.imwrite(str(path), picture):
                    raise OSError(f"could not write {path}")
                written.append(path)
            self._append_row(sample)
        except BaseException:
            for path in written:
                path.unlink(missing_ok=True)
            raise
        self.samples.append(sample)
        self._bytes += self._size(sample)
        self._next += 1
        self._last_at = self.clock()
        return sample

    def undo(self) -> Sample | None:
        """Remove the newest sample (its row and its files); None when there is none.

        The index is rewritten to a temporary file and renamed over the old one, so an
        interruption leaves either the old index or the new one.
        """
        if not self.samples:
            return None
        last = self.samples[-1]
        tmp = self.index.with_name(f".{INDEX_NAME}.{os.getpid()}")
        with open(tmp, "w", newline="", encoding="utf-8") as f:
            writer = csv.writer(f)
            writer.writerow(COLUMNS)
            writer.writerows(_row(s) for s in self.samples[:-1])
            f.flush()
            os.fsync(f.fileno())
        tmp.replace(self.index)
        self._bytes -= self._size(last)
        for relative in (last.file, last.tensor):
            (self.folder / relative).unlink(missing_ok=True)
        self.samples.pop()
        return last

    # ---- inside ------------------------------------------------------------------

    def _read(self) -> list[Sample]:
        if not self.index.exists():
            return []
        with open(self.index, newline="", encoding="utf-8") as f:
            header = next(csv.reader(f), [])
        if tuple(name.strip() for name in header) != COLUMNS:
            raise CollectionError(
                f"{self.index} has the columns {','.join(header) or '(none)'}, not the "
                f"collection's {','.join(COLUMNS)}; move it away or collect into another folder"
            )
        with open(self.index, newline="", encoding="utf-8") as f:
            return [
                Sample(row.get("file") or "", parse_label(row.get("label") or ""),
                       row.get("time") or "", row.get("source") or "", row.get("tensor") or "")
                for row in csv.DictReader(f)
            ]  # fmt: skip

    def _check_quota(self) -> None:
        q = self.quota
        since = self.clock() - self._last_at
        if since < q.min_interval:
            raise SampleRefusedError(
                f"one sample per {q.min_interval:g} s; the last was {since:.2f} s ago"
            )
        if len(self.samples) >= q.max_samples:
            raise SampleRefusedError(
                f"{self.index} holds {len(self.samples)} samples, the most kept; "
                "fine-tune, then start a new collection"
            )
        if self._bytes >= q.max_bytes:
            raise SampleRefusedError(
                f"the samples take {self._bytes // 2**20} MB of the "
                f"{q.max_bytes // 2**20} MB allowed"
            )
        self.folder.mkdir(parents=True, exist_ok=True)
        free = shutil.disk_usage(self.folder).free
        if free < q.min_free_bytes:
            raise SampleRefusedError(
                f"only {free // 2**20} MB free on the disk of {self.folder}; "
                f"collecting keeps {q.min_free_bytes // 2**20} MB for the system"
            )

    def _append_row(self, sample: Sample) -> None:
        new = not self.index.exists()
        with open(self.index, "a", newline="", encoding="utf-8") as f:
            writer = csv.writer(f)
            if new:
                writer.writerow(COLUMNS)
            writer.writerow(_row(sample))
            f.flush()
            os.fsync(f.fileno())

    def _size(self, sample: Sample) -> int:
        total = 0
        for relative in (sample.file, sample.tensor):
            with contextlib.suppress(OSError):  # a file removed by hand counts as nothing
                total += (self.folder / relative).stat().st_size
        return total


def _row(sample: Sample) -> tuple[str, str, str, str, str]:
    label = "" if sample.label is None else str(sample.label)
    return (sample.file, label, sample.time, sample.source, sample.tensor)


def _number(file: str) -> int:
    found = _NUMBER.search(file)
    return int(found.group(1)) if found else 0


def _check_pictures(crop: np.ndarray, tensor: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(crop, tensor as (28, 28) uint8 ink 255), or ValueError naming what is wrong."""
    crop = np.asarray(crop)
    if crop.dtype != np.uint8 or crop.ndim != 2 or min(crop.shape) < 8:
        raise ValueError(
            f"crop must be (h, w) uint8 of at least 8x8, got {crop.shape} {crop.dtype}"
        )
    tensor = np.asarray(tensor)
    if tensor.shape != (28, 28) or tensor.dtype.kind != "f":
        raise ValueError(f"tensor must be (28, 28) float, got {tensor.shape} {tensor.dtype}")
    image = np.clip(tensor.astype(np.float32) * 255.0 + 0.5, 0, 255).astype(np.uint8)
    return crop, image
