"""The Frame every source hands to the loop."""

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
