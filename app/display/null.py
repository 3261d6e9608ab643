"""A display that discards every picture: for benchmarks and headless runs."""

from __future__ import annotations

import numpy as np

from app.display.base import Display
from app.frame import Frame
from app.status import FrameStatus


class NullDisplay(Display):
    """Discards frames; counts them and keeps the last status for inspection."""

    description = "null (discard)"

    def __init__(self) -> None:
        self.frames_shown = 0
        self.last_status: FrameStatus | None = None
        self.is_open = False

    def open(self) -> None:
        self.is_open = True

    def show(self, frame: Frame, overlay: np.ndarray) -> None:
        self.frames_shown += 1

    def update_status(self, status: FrameStatus) -> None:
        self.last_status = status

    def close(self) -> None:
        self.is_open = False
