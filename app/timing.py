"""How long each part of a frame takes (moving medians), the frame rate, and every sample for
benchmarks."""

from __future__ import annotations

import statistics
import time
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext

#: Times one step of a stage: ``with step("classify"):`` (``app.stages.base.Stage.step``).
Step = Callable[[str], AbstractContextManager[None]]


def untimed(_name: str) -> AbstractContextManager[None]:
    """A ``Step`` that times nothing: what the live loop's stages run with."""
    return nullcontext()


#: Samples in each moving median and in the frame-rate window (about one second at 30 fps).
MEDIAN_WINDOW = 31


class FrameTimer:
    """Milliseconds per named part (a stage, ``overlay``, ``display``, ``total``) and frames/s.

    Args:
        clock: monotonic seconds; injectable, so tests and goldens get the same figures
            every run.
        record: keep every sample in ``recorded`` (benchmarks), not only the window.
    """

    def __init__(self, clock: Callable[[], float] = time.monotonic, *, record: bool = False):
        self.clock = clock
        self.recorded: dict[str, list[float]] | None = {} if record else None
        self._times: dict[str, deque[float]] = {}
        self._frames: deque[float] = deque(maxlen=MEDIAN_WINDOW)

    @contextmanager
    def part(self, name: str) -> Iterator[None]:
        """Time the ``with`` block as ``name`` (also when it raises)."""
        start = self.clock()
        try:
            yield
        finally:
            self.add(name, start)

    def add(self, name: str, since: float) -> None:
        """Add the milliseconds from ``since`` (a reading of ``clock``) to now as ``name``."""
        ms = (self.clock() - since) * 1000.0
        times = self._times.get(name)
        if times is None:
            times = self._times[name] = deque(maxlen=MEDIAN_WINDOW)
        times.append(ms)
        if self.recorded is not None:
            self.recorded.setdefault(name, []).append(ms)

    def frame_done(self, now: float) -> None:
        """Count a frame finished at ``now`` for the frame rate."""
        self._frames.append(now)

    def median_ms(self, name: str) -> float | None:
        """The moving median of a part's milliseconds, or None before its first sample."""
        times = self._times.get(name)
        return statistics.median(times) if times else None

    def fps(self) -> float | None:
        """Frames per second over the last ``MEDIAN_WINDOW`` frames (None before two)."""
        if len(self._frames) < 2:
            return None
        span = self._frames[-1] - self._frames[0]
        return (len(self._frames) - 1) / span if span > 0 else None

    def medians(self, names: list[str]) -> tuple[tuple[str, float], ...]:
        """(name, median ms) for each of ``names`` that has samples, in that order."""
        return tuple((name, self.median_ms(name) or 0.0) for name in names if name in self._times)
