"""The small interface every display implements."""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Mapping
from typing import Any

import numpy as np

from app.frame import Frame
from app.lifecycle import OpenClose


class Display(OpenClose):
    """A display: ``open``, ``show`` once per processed frame, ``close``.

    ``show`` gets the camera frame and an RGBA overlay of the same height and
    width as ``frame.array``: (H, W, 4) uint8, straight (not premultiplied)
    alpha, the layout picamera2's ``set_overlay`` takes. In processed views the
    overlay is opaque where it carries the processed image. Displays that need a
    single picture compose the two with ``app.display.compose.compose``.
    """

    description: str = ""

    @abstractmethod
    def open(self) -> None: ...

    @abstractmethod
    def show(self, frame: Frame, overlay: np.ndarray) -> None: ...

    @abstractmethod
    def close(self) -> None: ...

    def update_status(self, status: Mapping[str, Any]) -> None:
        """Receive the loop's status once per frame (view, kernel, prediction, fps, ...).

        Keys: view, kernel, stride, padding, pooling, pool_size, activation,
        operation, prediction (int or None), confidence, probabilities (list of 10
        floats), fps, runtime, source, frozen, message. The default ignores it.
        """
