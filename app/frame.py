"""The Frame every source hands to the loop, and what makes one unusable (``frame_problem``)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Frame:
    """One captured picture.

    Attributes:
        array: (H, W, 3) uint8, BGR (OpenCV order); what the screen shows.
        gray: (h, w) uint8 luminance for processing. It may be smaller than
            ``array`` (picamera2's lores Y plane); anything placed on the frame by
            processing uses fractions of width and height, never pixels.
        seq: frame number from the source, increasing by at least 1.
        timestamp: ``time.monotonic()`` seconds when the frame was captured.
    """

    array: np.ndarray
    gray: np.ndarray
    seq: int
    timestamp: float


def frame_problem(frame: object) -> str | None:
    """Why ``frame`` cannot be processed, or None when it is a well-formed Frame."""
    if not isinstance(frame, Frame):
        return f"expected a Frame, got {type(frame).__name__}"
    a, g = frame.array, frame.gray
    if not isinstance(a, np.ndarray) or a.dtype != np.uint8 or a.ndim != 3 or a.shape[2] != 3:
        got = f"{a.shape} {a.dtype}" if isinstance(a, np.ndarray) else type(a).__name__
        return f"frame.array must be (H, W, 3) uint8, got {got}"
    if a.shape[0] < 16 or a.shape[1] < 16:
        return f"frame.array {a.shape} is smaller than 16x16"
    if not isinstance(g, np.ndarray) or g.dtype != np.uint8 or g.ndim != 2 or g.size == 0:
        got = f"{g.shape} {g.dtype}" if isinstance(g, np.ndarray) else type(g).__name__
        return f"frame.gray must be (h, w) uint8, got {got}"
    return None
