"""The small interface every display implements."""

from __future__ import annotations

from abc import ABC, abstractmethod
from types import TracebackType

import numpy as np

from app.frame import Frame


class Display(ABC):
    """A display: ``open``, ``show`` once per processed frame, ``close``.

    ``show`` gets the camera frame and an RGBA overlay of the same height and
    width as ``frame.array``: (H, W, 4) uint8, straight (not premultiplied)
    alpha, the layout picamera2's ``set_overlay`` takes. In processed views the
    overlay is opaque where it carries the processed image. Displays that need a
    single picture compose the two with ``app.overlay.compose``.
    """

    description: str = ""

    @abstractmethod
    def open(self) -> None: ...

    @abstractmethod
    def show(self, frame: Frame, overlay: np.ndarray) -> None: ...

    @abstractmethod
    def close(self) -> None: ...

    def __enter__(self) -> Display:
        self.open()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
