"""The small interface every frame source implements, and the pacing of unpaced ones."""

from __future__ import annotations

import time
from abc import abstractmethod

from app.frame import Frame
from app.lifecycle import OpenClose


class Source(OpenClose):
    """A frame source: ``open``, then ``read`` repeatedly, then ``close``; again after a fault.

    ``read`` returns the newest frame not yet returned (blocking until there is
    one), ``None`` at the end of a finite stream, and raises ``SourceError`` when
    the device fails. Sources never queue frames: a slow reader skips frames.
    The capture loop reopens the same object after a fault (``close`` then
    ``open``); ``open`` on an open source and ``close`` on a closed one do nothing,
    so a caller may open it before the loop does (the DRM display needs the camera).
    """

    #: Short human-readable description, e.g. ``"demo (seed 0)"``; shown on screen.
    description: str = ""

    @abstractmethod
    def open(self) -> None: ...

    @abstractmethod
    def read(self) -> Frame | None: ...

    @abstractmethod
    def close(self) -> None: ...


class Pacer:
    """Spaces a source's frames ``1 / fps`` apart (the demo, slideshows, video files).

    After a stall the schedule restarts from now instead of bursting to catch up.
    """

    def __init__(self, fps: float) -> None:
        self.interval = 1.0 / fps
        self._deadline = 0.0

    def restart(self) -> None:
        """Start the schedule now (at open)."""
        self._deadline = time.monotonic()

    def wait(self) -> None:
        """Sleep until the next frame is due."""
        now = time.monotonic()
        if self._deadline > now:
            time.sleep(self._deadline - now)
        self._deadline = max(self._deadline, now - self.interval) + self.interval
