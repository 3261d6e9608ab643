"""Training figures drawn with OpenCV (no plotting library): loss/accuracy curves, confusion."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import cv2
import numpy as np

_WHITE = (255, 255, 255)
_GREY = (200, 200, 200)
_DARK = (60, 60, 60)
_BLUE = (200, 110, 30)  # BGR
_ORANGE = (30, 140, 240)
_FONT = cv2.FONT_HERSHEY_SIMPLEX


def _text(img: np.ndarray, text: str, org: tuple[int, int], scale: float = 0.45,
          color: tuple[int, int, int] = _DARK, thickness: int = 1) -> None:  # fmt: skip
    cv2.putText(img, text, org, _FONT, scale, color, thickness, cv2.LINE_AA)


def _log_range(values: list[float | None]) -> tuple[float, float]:
    """Whole powers of ten around the finite, positive ``values`` (for a log axis)."""
    good = [v for v in values if v is not None and np.isfinite(v) and v > 0]
    if not good:
        return 1e-3, 1.0
    lo, hi = 10 ** np.floor(np.log10(min(good))), 10 ** np.ceil(np.log10(max(good)))
    return float(lo), float(hi if hi > lo else lo * 10)


def _panel(
    img: np.ndarray,
    box: tuple[int, int, int, int],
    series: list[tuple[str, list[float | None], tuple[int, int, int]]],
    title: str,
    unit: str = "",
) -> None:
    """One line chart in ``box`` = (x0, y0, x1, y1): epochs on x, the series on a log y axis."""
    x0, y0, x1, y1 = box
    lo, hi = _log_range([v for _, values, _ in series for v in values])
    flo, fhi = np.log10(lo), np.log10(hi)
    decades = round(fhi - flo)
    cv2.rectangle(img, (x0, y0), (x1, y1), _DARK, 1)
    _text(img, title, (x0, y0 - 12), 0.55)
    n = max(len(s[1]) for s in series)
    steps = 2 * decades  # grid lines at 1x and ~3.16x each power of ten
    for k in range(steps + 1):
        fv = flo + (fhi - flo) * k / steps
        y = round(y1 - (y1 - y0) * k / steps)
        cv2.line(img, (x0 + 1, y), (x1 - 1, y), _GREY, 1)
        value = 10**fv
        _text(img, f"{value:.0f}{unit}" if value >= 10 else f"{value:.2g}{unit}", (x0 - 58, y + 4),
              0.4)  # fmt: skip
    ticks = sorted({1, n, *range(5, n, 5)}) if n > 1 else [1]
    for e in ticks:
        x = round(x0 + (x1 - x0) * (e - 1) / max(1, n - 1))
        _text(img, str(e), (x - 6, y1 + 16), 0.4)
    _text(img, "epoch", ((x0 + x1) // 2 - 20, y1 + 34), 0.45)
    for i, (label, values, color) in enumerate(series):
        pts = []
        for e, v in enumerate(values):
            if v is None or not np.isfinite(v) or v <= 0:
                continue
            x = x0 + (x1 - x0) * e / max(1, n - 1)
            y = y1 - (y1 - y0) * (np.log10(v) - flo) / (fhi - flo)
            pts.append((round(x), round(y)))
        if len(pts) > 1:
            cv2.polylines(img, [np.array(pts, np.int32)], False, color, 2, cv2.LINE_AA)
        for p in pts:
            cv2.circle(img, p, 3, color, -1, cv2.LINE_AA)
        # The legend sits above the box, right-aligned, where no line can cross it.
        lx = x1 - 250 + 130 * i
        cv2.line(img, (lx, y0 - 16), (lx + 25, y0 - 16), color, 2)
        _text(img, label, (lx + 32, y0 - 12), 0.45)


def save_training_curve(path: Path, history: list[dict[str, Any]]) -> None:
    """Loss and error rate per epoch (log scales), train and validation, as a 1000x420 PNG."""
    img = np.full((420, 1000, 3), 255, np.uint8)

    def column(key: str, as_error: bool = False) -> list[float | None]:
        values = [h.get(key) for h in history]
        return [None if v is None else (100 * (1 - v) if as_error else v) for v in values]

    _panel(img, (80, 50, 470, 360), [("train", column("train_loss"), _BLUE),
           ("validation", column("val_loss"), _ORANGE)], "loss")  # fmt: skip
    _panel(img, (580, 50, 970, 360), [("train", column("train_accuracy", True), _BLUE),
           ("validation", column("val_accuracy", True), _ORANGE)], "error rate", "%")  # fmt: skip
    _write(path, img)


def save_confusion(path: Path, confusion: np.ndarray, accuracy: float) -> None:
    """A 10x10 confusion matrix (rows true, columns predicted) with counts, as a PNG."""
    k = confusion.shape[0]
    cell, left, top = 48, 70, 70
    img = np.full((top + cell * k + 50, left + cell * k + 30, 3), 255, np.uint8)
    total = confusion.sum()
    _text(img, f"MNIST test: {accuracy * 100:.2f}% of {total} correct", (left, 24), 0.55)
    _text(img, "predicted", (left + cell * k // 2 - 35, 46), 0.45)
    off = confusion.astype(np.float64).copy()
    np.fill_diagonal(off, 0)
    worst = max(1.0, off.max())
    for i in range(k):
        _text(img, str(i), (left - 20, top + cell * i + cell // 2 + 5), 0.5)
        _text(img, str(i), (left + cell * i + cell // 2 - 5, top - 6), 0.5)
        for j in range(k):
            x, y = left + cell * j, top + cell * i
            count = int(confusion[i, j])
            if i == j:
                color = (170, 225, 170)
            elif count:
                t = 0.25 + 0.75 * off[i, j] / worst  # errors: the more, the redder
                color = (int(255 * (1 - t)), int(255 * (1 - t)), 255)
            else:
                color = _WHITE
            cv2.rectangle(img, (x, y), (x + cell, y + cell), color, -1)
            cv2.rectangle(img, (x, y), (x + cell, y + cell), _GREY, 1)
            if count:
                s = str(count)
                ink = _WHITE if sum(color) < 400 else _DARK  # readable on deep red
                _text(img, s, (x + cell // 2 - 4 * len(s), y + cell // 2 + 5), 0.42, ink)
    _text(img, "true", (8, top + cell * k // 2), 0.45)
    _write(path, img)


def _write(path: Path, img: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if not cv2.imwrite(str(path), img):
        raise OSError(f"cannot write {path}")
