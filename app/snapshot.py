"""Save what is on screen: composite PNG, ROI crop, the 28x28 tensor and the prediction as JSON."""

from __future__ import annotations

import json
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from app.display.compose import compose
from app.frame import Frame
from app.stages.results import DigitResult
from app.state import ViewState


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


def _jsonable(value: Any) -> Any:
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, tuple):
        return [_jsonable(v) for v in value]
    return value


def save_snapshot(
    directory: str | Path,
    frame: Frame,
    overlay: np.ndarray,
    digit: DigitResult | None,
    state: ViewState,
) -> Path:
    """Write one snapshot folder under ``directory`` and return its path.

    Files: ``composite.png`` (the frame with the overlay, as the screen shows it),
    ``roi.png`` (the frame's ROI crop, when the digit stage ran), ``tensor_28x28.png``
    (the classifier's input, ink white), ``prediction.json`` (settings, prediction,
    confidence, probabilities, status).

    Raises:
        OSError: the folder or a file could not be written.
    """
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
        "state": _jsonable(asdict(state)),
        "status": digit.status if digit else None,
        "reason": digit.reason if digit else None,
        "prediction": digit.prediction if digit else None,
        "confidence": _jsonable(digit.confidence) if digit else None,
        "probs": [round(float(p), 6) for p in np.ravel(digit.probs)] if digit else None,
        "runtime": digit.runtime if digit else None,
        "roi_px": _jsonable(digit.roi_px) if digit else None,
        "files": [*files, "prediction.json"],
    }
    (folder / "prediction.json").write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
    return folder
