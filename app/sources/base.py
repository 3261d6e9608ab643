"""The small interface every frame source implements, and the pacing of unpaced ones."""

from __future__ import annotations

import time
from abc import abstractmethod
from collections.abc import Callable

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
    """Spaces a source's frames at least ``1 / fps`` apart (the demo, slideshows, video files).

    A frame asked for on time is given at its due time, and the next is due one interval
    after that (the sleep's overshoot does not add up). A frame asked for late (the
    reader stalled: a slow frame, a loaded machine) is given at once and the schedule
    restarts from it: the next is due a whole interval later, never at once to catch up,
    so a stall is never followed by a burst of frames the viewer cannot see.

    Args:
        fps: frames per second, > 0.
        clock: monotonic seconds; None: ``time.monotonic`` (tests step their own).
        sleep: sleeps that many seconds; None: ``time.sleep``.
    """

    def __init__(
        self,
        fps: float,
        *,
        clock: Callable[[], float] | None = None,
        sleep: Callable[[float], None] | None = None,
    ) -> None:
        self.interval = 1.0 / fps
        self._clock = clock
        self._sleep = sleep
        self._deadline = 0.0

    def restart(self) -> None:
        """Start the schedule now (at open): the first frame is due at once."""
        self._deadline = self._now()

    def wait(self) -> None:
        """Sleep until the next frame is due (not at all when it is overdue)."""
        due = self._deadline
        now = self._now()
        if due > now:
            (self._sleep or time.sleep)(due - now)
        self._deadline = max(due, now) + self.interval

    def _now(self) -> float:
        return (self._clock or time.monotonic)()
