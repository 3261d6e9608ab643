"""The capture thread: the newest frame, errors raised where the loop reads, clean stops."""

from __future__ import annotations

import threading

import pytest

from app.errors import SourceError
from app.sources.capture_thread import CaptureThread
from tests.loop_fakes import ScriptedSource
from tests.waiting import wait_for


class GatedSource(ScriptedSource):
    """A ScriptedSource whose reads wait for the test to let each frame through."""

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.gate = threading.Semaphore(0)
        self.camera = "the inner camera"

    def read(self):
        if not self.gate.acquire(timeout=5):
            raise SourceError("gated: the test let no frame through")
        return super().read()


def test_read_gives_the_newest_frame_and_skips_those_the_loop_was_too_slow_for():
    inner = GatedSource()
    source = CaptureThread(inner)
    source.open()
    try:
        inner.gate.release()
        assert source.read().seq == 0
        for _ in range(3):
            inner.gate.release()
        assert wait_for(lambda: inner.reads == 4)
        assert source.read().seq == 3  # 1 and 2 were dropped, not queued
        reader = threading.Thread(target=lambda: results.append(source.read().seq))
        results: list[int] = []
        reader.start()  # waits for a frame newer than 3
        inner.gate.release()
        reader.join(5)
        assert results == [4]
    finally:
        inner.gate.release()
        source.close()
    assert inner.closes == 1 and source.camera == "the inner camera"


def test_an_error_reading_is_raised_by_read_and_a_reopen_starts_again():
    inner = ScriptedSource()
    inner.fail_read_at = {2}
    source = CaptureThread(inner)
    source.open()
    with pytest.raises(SourceError):
        for _ in range(5):
            source.read()
    source.close()
    inner.fail_read_at = set()
    source.open()
    assert source.read() is not None
    source.close()
    assert inner.opens == 2 and inner.closes == 2


def test_end_of_stream_and_a_stuck_source():
    finite = CaptureThread(ScriptedSource(limit=2))
    finite.open()
    seqs = []
    while (frame := finite.read()) is not None:
        seqs.append(frame.seq)
    finite.close()
    assert seqs[-1] == 1
    stuck = GatedSource()
    source = CaptureThread(stuck, timeout=0.05)
    source.open()
    with pytest.raises(SourceError, match="no frame within"):
        source.read()
    stuck.gate.release()
    source.close()
    with pytest.raises(SourceError, match="before open"):
        source.read()
