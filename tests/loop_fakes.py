"""Small sources, displays and stages for the loop's tests: they fail when told to."""

from __future__ import annotations

import threading
import time

import numpy as np

from app.display.base import Display
from app.errors import SourceError
from app.frame import Frame
from app.sources.base import Source
from app.stages.base import Stage
from app.stages.results import FrameResults
from app.state import ViewState
from app.status import FrameStatus


def make_frame(seq: int, size: tuple[int, int] = (64, 48)) -> Frame:
    w, h = size
    array = np.full((h, w, 3), seq % 256, np.uint8)
    return Frame(array=array, gray=array[:, :, 0].copy(), seq=seq, timestamp=time.monotonic())


class ScriptedSource(Source):
    """Frames of ``size``; ``fail_open``/``fail_read`` make the next calls raise SourceError.

    ``bad_at`` is a set of read numbers that return a malformed frame instead.
    ``limit`` ends the stream (read returns None) after that many frames.
    """

    description = "scripted"

    def __init__(self, size: tuple[int, int] = (64, 48), *, limit: int | None = None) -> None:
        self.size = size
        self.limit = limit
        self.fail_open = 0
        #: Raised by the next opens, one each (any exception, as real drivers raise).
        self.open_errors: list[BaseException] = []
        self.fail_read_at: set[int] = set()
        self.bad_at: set[int] = set()
        self.reads = 0
        self.opens = 0
        self.closes = 0
        self.is_open = False

    def open(self) -> None:
        if self.is_open:
            return
        if self.open_errors:
            raise self.open_errors.pop(0)
        if self.fail_open > 0:
            self.fail_open -= 1
            raise SourceError("scripted: no camera")
        self.opens += 1
        self.is_open = True

    def read(self) -> Frame | None:
        if not self.is_open:
            raise SourceError("scripted: read while closed")
        n = self.reads
        self.reads += 1
        if n in self.fail_read_at:
            raise SourceError("scripted: camera unplugged")
        if self.limit is not None and n >= self.limit:
            return None
        if n in self.bad_at:
            return Frame(np.zeros((10, 10), np.float32), np.zeros((10, 10), np.uint8), n, 0.0)
        return make_frame(n, self.size)

    def close(self) -> None:
        self.closes += 1
        self.is_open = False


class RecordingDisplay(Display):
    """Keeps the last frame, overlay and status; ``fail`` makes show raise."""

    description = "recording"

    def __init__(self) -> None:
        self.shown: list[tuple[int, tuple[int, ...]]] = []
        self.last_frame: Frame | None = None
        self.last_overlay: np.ndarray | None = None
        self.statuses: list[FrameStatus] = []
        self.fail = False
        self.lock = threading.Lock()

    def open(self) -> None:
        pass

    def show(self, frame: Frame, overlay: np.ndarray) -> None:
        if self.fail:
            raise RuntimeError("display exploded")
        with self.lock:
            self.shown.append((frame.seq, overlay.shape))
            self.last_frame = frame
            self.last_overlay = overlay

    def update_status(self, status: FrameStatus) -> None:
        with self.lock:
            self.statuses.append(status)

    def close(self) -> None:
        pass


class CountingStage(Stage):
    """A stage called ``name`` (it runs for the views that need that stage): records each
    call (state, frame seq, whether it finished); raises on the call numbers in
    ``fail_at`` (or always)."""

    def __init__(self, name: str, *, fail_always: bool = False) -> None:
        self.name = name
        self.fail_always = fail_always
        self.fail_at: set[int] = set()
        self.calls = 0
        self.seen_states: list[ViewState] = []
        self.seen_seqs: list[int] = []
        self.completed: list[int] = []

    def process(self, frame: Frame, state: ViewState, results: FrameResults) -> None:
        n = self.calls
        self.calls += 1
        self.seen_states.append(state)
        self.seen_seqs.append(frame.seq)
        if self.fail_always or n in self.fail_at:
            raise ValueError(f"{self.name} broke on call {n}")
        self.completed.append(n)


class StepClock:
    """A monotonic clock that moves ``step`` seconds at each reading, whatever the machine's
    load: the loop's retries fall due after a fixed number of its own steps, so a test
    that needs a retry not yet due (or due) does not depend on how fast it runs."""

    def __init__(self, step: float = 0.001) -> None:
        self.step = step
        self.now = 1000.0

    def __call__(self) -> float:
        self.now += self.step
        return self.now


class FakeNotifier:
    def __init__(self) -> None:
        self.events: list[tuple[str, float]] = []

    def ready(self) -> None:
        self.events.append(("ready", time.monotonic()))

    def watchdog(self) -> None:
        self.events.append(("watchdog", time.monotonic()))

    def status(self, text: str) -> None:
        self.events.append((f"status:{text}", time.monotonic()))

    def stopping(self) -> None:
        self.events.append(("stopping", time.monotonic()))
