"""Save what is on screen: composite PNG, ROI crop, the 28x28 tensor and the prediction as JSON."""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import cv2
import numpy as np

from app.display.compose import compose
from app.frame import Frame
from app.i18n import N_, Message
from app.jsonable import to_jsonable
from app.stages.results import DigitResult
from app.state import ViewState


@dataclass(frozen=True)
class SnapshotQuota:
    """What snapshots may take: a held key or a script must not fill the SD card.

    Attributes:
        min_interval: seconds between two snapshots (one per second).
        max_count: snapshot folders kept in the directory.
        max_bytes: bytes all snapshot folders may hold (a 640x480 snapshot is ~0.5-1 MB).
        min_free_bytes: free space the file system must keep for the system itself.
    """

    min_interval: float = 1.0
    max_count: int = 500
    max_bytes: int = 512 * 1024 * 1024
    min_free_bytes: int = 256 * 1024 * 1024


class SnapshotRefusedError(OSError):
    """A snapshot not taken because of the rate limit or the quota; the message says which."""


def check_quota(
    directory: str | Path, quota: SnapshotQuota, clock: Callable[[], float] = time.time
) -> None:
    """Refuse (``SnapshotRefusedError``, one line) a snapshot the quota does not allow.

    Read from the directory itself (the newest folder's time, the folders' count and
    size, the free space), so the limits hold across restarts and several processes.
    """
    directory = Path(directory)
    if not directory.is_dir():
        return
    folders = [p for p in directory.glob("snapshot-*") if p.is_dir()]
    if folders:
        age = clock() - max(p.stat().st_mtime for p in folders)
        if 0 <= age < quota.min_interval:
            raise SnapshotRefusedError(
                f"one snapshot per {quota.min_interval:g} s; the last was {age:.1f} s ago"
            )
    if len(folders) >= quota.max_count:
        raise SnapshotRefusedError(
            f"{directory} holds {len(folders)} snapshots, the most kept; delete some first"
        )
    used = sum(f.stat().st_size for p in folders for f in p.iterdir() if f.is_file())
    if used >= quota.max_bytes:
        raise SnapshotRefusedError(
            f"snapshots in {directory} take {used // 2**20} MB of the "
            f"{quota.max_bytes // 2**20} MB allowed; delete some first"
        )
    free = shutil.disk_usage(directory).free
    if free < quota.min_free_bytes:
        raise SnapshotRefusedError(
            f"only {free // 2**20} MB free on the disk of {directory}; "
            f"snapshots keep {quota.min_free_bytes // 2**20} MB for the system"
        )


def _write_png(path: Path, image: np.ndarray) -> None:
    if not cv2.imwrite(str(path), image):
        raise OSError(f"could not write {path}")


def tensor_to_png(tensor: np.ndarray) -> np.ndarray:
    """(28, 28) float32 in [0, 1] (or uint8) -> (28, 28) uint8 (ink white, as MNIST)."""
    tensor = np.asarray(tensor)
    if tensor.dtype == np.uint8:
        return tensor.reshape(tensor.shape[:2])
    scaled = np.clip(tensor.astype(np.float32).reshape(tensor.shape[:2]) * 255.0 + 0.5, 0, 255)
    return scaled.astype(np.uint8)


def save_snapshot(
    directory: str | Path,
    frame: Frame,
    overlay: np.ndarray,
    digit: DigitResult | None,
    state: ViewState,
    quota: SnapshotQuota | None = None,
) -> Path:
    """Write one snapshot folder under ``directory`` and return its path.

    Files: ``composite.png`` (the frame with the overlay, as the screen shows it),
    ``roi.png`` (the frame's ROI crop, when the digit stage ran), ``tensor_28x28.png``
    (the classifier's input, ink white), ``prediction.json`` (settings, prediction,
    confidence, probabilities, status).

    Raises:
        SnapshotRefusedError: the rate limit or the quota (``SnapshotQuota()`` by
            default) does not allow one now.
        OSError: the folder or a file could not be written.
    """
    check_quota(directory, quota or SnapshotQuota())
    stamp = time.strftime("%Y%m%d-%H%M%S")
    folder = Path(directory) / f"snapshot-{stamp}-{frame.seq:06d}"
    folder.mkdir(parents=True, exist_ok=True)
    _write_png(folder / "composite.png", compose(frame.array, overlay))
    files = ["composite.png"]
    if digit is not None:
        h, w = frame.array.shape[:2]
        x0, y0, x1, y1 = digit.roi_px
        x0, y0, x1, y1 = max(0, x0), max(0, y0), min(w, x1), min(h, y1)
        if x1 > x0 and y1 > y0:
            _write_png(folder / "roi.png", frame.array[y0:y1, x0:x1])
            files.append("roi.png")
        if digit.tensor is not None:
            _write_png(folder / "tensor_28x28.png", tensor_to_png(digit.tensor))
            files.append("tensor_28x28.png")
    record = {
        "seq": frame.seq,
        "time": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "state": to_jsonable(asdict(state)),
        "status": digit.status if digit else None,
        "reason": digit.reason if digit else None,
        "prediction": digit.prediction if digit else None,
        "confidence": to_jsonable(digit.confidence) if digit else None,
        "probs": to_jsonable(np.round(np.ravel(digit.probs).astype(float), 6)) if digit else None,
        "runtime": digit.runtime if digit else None,
        "roi_px": to_jsonable(digit.roi_px) if digit else None,
        "files": [*files, "prediction.json"],
    }
    text = json.dumps(record, indent=2, allow_nan=False)
    (folder / "prediction.json").write_text(text + "\n", encoding="utf-8")
    return folder


def saved_notice(folder: Path) -> Message:
    """What the screen says after a snapshot: ``snapshot saved: snapshots/...``."""
    return Message(N_("snapshot saved: {folder}"), folder=str(folder))


def failed_notice(error: OSError) -> Message:
    """What the screen says when a snapshot could not be written, and why."""
    return Message(N_("snapshot failed: {error}"), error=str(error))
