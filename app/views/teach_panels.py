"""The teach view's pictures: the square, the count bars, the newest samples, the progress
bar and the loss and accuracy curves (each returns the height it drew, in pixels)."""

from __future__ import annotations

import re

import cv2
import numpy as np

from app.i18n import tr
from app.learn.results import FinetuneProgress
from app.stages.results import DigitResult
from app.state import ViewState
from app.views import cells
from app.views.base import BODY, SMALL, Body, Canvas
from app.views.card import digit_label, status_color
from app.views.draw import AMBER, CYAN, DIM, GREEN, GREY, PANEL_BG, WHITE, Line, blit, to_rgba

#: The square's colour in the teach view: not the camera view's green, so it is plain
#: which view the digit keys save in.
SQUARE = CYAN
_STAMP = re.compile(r"(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})")


def roi_square(
    canvas: Canvas, layer: np.ndarray, state: ViewState, digit: DigitResult | None, body: Body
) -> None:
    """The ROI as a cyan square with the network's reading above it."""
    if digit is not None:
        x0f, y0f, x1f, y1f = (float(v) for v in digit.roi_px)
    else:
        fw, fh = canvas.frame_size
        side = state.roi.size * min(fw, fh)
        cx, cy = state.roi.cx * fw, state.roi.cy * fh
        x0f, y0f, x1f, y1f = cx - side / 2, cy - side / 2, cx + side / 2, cy + side / 2
    x0, y0 = canvas.from_frame(x0f, y0f)
    x1, y1 = canvas.from_frame(x1f, y1f)
    thick = canvas.px(3)
    cv2.rectangle(layer, (x0, y0), (x1, y1), (0, 0, 0, 200), thick + 2 * canvas.px(1))
    cv2.rectangle(layer, (x0, y0), (x1, y1), (*SQUARE, 255), thick)
    colour = status_color(digit.status) if digit is not None else GREY
    tag = canvas.panel([Line(digit_label(digit), 0.7, colour, True)], opaque=False, volatile=True)
    ty = y0 - tag.shape[0] - canvas.px(4)
    blit(layer, tag, x0, ty if ty >= body.top else y1 + canvas.px(4))


def count_bars(
    canvas: Canvas, layer: np.ndarray, counts: tuple[int, ...], where: tuple[int, int, int]
) -> int:
    """Ten bars, one per digit, as tall as its count (the scale grows past 10)."""
    x, y, w = where
    bar_area = canvas.px(60)
    label_h = canvas.px(16)
    height = canvas.px(14) + bar_area + label_h
    cv2.rectangle(layer, (x, y), (x + w - 1, y + height - 1), (*PANEL_BG, 185), -1)
    top = max(10, *counts)
    slot = (w - canvas.px(8)) / 10
    base = y + canvas.px(14) + bar_area
    for d, n in enumerate(counts):
        bx0 = round(x + canvas.px(4) + d * slot + slot * 0.15)
        bx1 = round(x + canvas.px(4) + (d + 1) * slot - slot * 0.15)
        bh = round(bar_area * n / top)
        colour = GREEN if n >= 2 else AMBER if n else DIM
        if bh:
            cv2.rectangle(layer, (bx0, base - bh), (bx1, base), (*colour, 255), -1)
        size = (max(1, round(slot)), canvas.px(13))
        count = cells.cell(canvas, str(n), size, PANEL_BG, font=SMALL, fg=colour if n else DIM)
        blit(layer, count, round(x + canvas.px(4) + d * slot), base - bh - size[1])
        label = cells.cell(canvas, str(d), (size[0], label_h), PANEL_BG, font=BODY, fg=WHITE)
        blit(layer, label, round(x + canvas.px(4) + d * slot), base + 1)
    return height


def recent_strip(
    canvas: Canvas,
    layer: np.ndarray,
    recent: tuple[tuple[int, np.ndarray], ...],
    where: tuple[int, int, int, int],
) -> None:
    """The newest samples as the network saw them, newest first, their labels under them;
    as many rows of four as fit in ``where``'s height."""
    x, y, w, h = where
    caption = canvas.panel([Line(tr("newest first:"), SMALL, GREY)], opaque=False)
    per_row, gap, label_h = 4, canvas.px(3), canvas.px(14)
    side = (w - (per_row - 1) * gap) // per_row
    rows = min(
        (len(recent) + per_row - 1) // per_row, (h - caption.shape[0]) // (side + label_h + gap)
    )
    if rows <= 0:
        return
    blit(layer, caption, x, y)
    y += caption.shape[0]
    for i, (label, image) in enumerate(recent[: rows * per_row]):
        tx = x + (i % per_row) * (side + gap)
        ty = y + (i // per_row) * (side + label_h + gap)
        picture = to_rgba(cv2.resize(image, (side, side), interpolation=cv2.INTER_AREA))
        blit(layer, picture, tx, ty)
        tag = cells.cell(canvas, str(label), (side, label_h), PANEL_BG, font=SMALL, fg=CYAN)
        blit(layer, tag, tx, ty + side)


def progress_bar(
    canvas: Canvas, layer: np.ndarray, progress: FinetuneProgress, where: tuple[int, int, int]
) -> int:
    """A bar filled to epoch / epochs."""
    x, y, w = where
    h = canvas.px(10)
    done = min(1.0, progress.epoch / max(1, progress.epochs))
    cv2.rectangle(layer, (x, y), (x + w - 1, y + h - 1), (*PANEL_BG, 200), -1)
    if done > 0:
        cv2.rectangle(layer, (x, y), (x + round((w - 1) * done), y + h - 1), (*GREEN, 255), -1)
    cv2.rectangle(layer, (x, y), (x + w - 1, y + h - 1), (*GREY, 255), 1)
    return h


def curves(
    canvas: Canvas, layer: np.ndarray, progress: FinetuneProgress, where: tuple[int, int, int]
) -> int:
    """The training loss (cyan, its own scale) and the held-back accuracy (green, 0-100 %)
    per epoch, over all the epochs to come."""
    x, y, w = where
    h = canvas.px(62)
    cv2.rectangle(layer, (x, y), (x + w - 1, y + h - 1), (*PANEL_BG, 200), -1)
    for level in (0.25, 0.5, 0.75):
        gy = y + round((h - 1) * (1 - level))
        cv2.line(layer, (x, gy), (x + w - 1, gy), (*DIM, 255), 1)
    epochs = max(progress.epochs, len(progress.losses), 2)
    losses = np.asarray(progress.losses, np.float64)
    peak = float(np.nanmax(losses)) if np.isfinite(losses).any() else 1.0
    _polyline(layer, losses / max(peak, 1e-9), epochs, (x, y, w, h), CYAN)
    _polyline(layer, np.asarray(progress.held_back, np.float64), epochs, (x, y, w, h), GREEN)
    cv2.rectangle(layer, (x, y), (x + w - 1, y + h - 1), (*GREY, 255), 1)
    loss = canvas.panel([Line(tr("loss"), SMALL, CYAN, True)], opaque=False)
    accuracy = canvas.panel([Line(tr("held-back accuracy"), SMALL, GREEN, True)], opaque=False)
    blit(layer, loss, x, y + h)
    if loss.shape[1] + accuracy.shape[1] <= w:  # side by side, else one under the other
        blit(layer, accuracy, x + loss.shape[1], y + h)
        return h + loss.shape[0]
    blit(layer, accuracy[:, :w], x, y + h + loss.shape[0])
    return h + loss.shape[0] + accuracy.shape[0]


def _polyline(
    layer: np.ndarray,
    values: np.ndarray,
    epochs: int,
    box: tuple[int, int, int, int],
    colour: tuple[int, int, int],
) -> None:
    """``values`` (0..1, one per epoch from the first) as a line across ``box``."""
    x, y, w, h = box
    points = [
        (x + round((w - 1) * i / (epochs - 1)), y + round((h - 1) * (1 - min(max(v, 0.0), 1.0))))
        for i, v in enumerate(values)
        if np.isfinite(v)
    ]
    if len(points) == 1:
        cv2.circle(layer, points[0], 2, (*colour, 255), -1)
    elif points:
        cv2.polylines(layer, [np.array(points, np.int32)], False, (*colour, 255), 2, cv2.LINE_AA)


def model_time(name: str) -> str:
    """``finetuned-20261130T150412Z`` -> ``2026-11-30 15:04`` (UTC); other names as they are."""
    found = _STAMP.search(name)
    if not found:
        return name
    year, month, day, hour, minute = found.groups()
    return f"{year}-{month}-{day} {hour}:{minute} UTC"
