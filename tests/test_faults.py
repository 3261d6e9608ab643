"""Back-off delays, rate-limited logging and switching off a failing stage."""

from __future__ import annotations

import logging

import pytest

from app.faults import Backoff, RateLimitedLog, StageFaults


class FakeClock:
    def __init__(self) -> None:
        self.t = 100.0

    def __call__(self) -> float:
        return self.t


def test_backoff_doubles_to_the_cap_and_resets() -> None:
    backoff = Backoff(0.5, 8.0)
    assert [backoff.next_delay() for _ in range(7)] == [0.5, 1, 2, 4, 8, 8, 8]
    assert backoff.attempts == 7
    backoff.reset()
    assert backoff.next_delay() == 0.5


def test_backoff_rejects_bad_limits() -> None:
    with pytest.raises(ValueError, match="initial"):
        Backoff(0.0, 1.0)
    with pytest.raises(ValueError):
        Backoff(2.0, 1.0)


def test_rate_limited_log_writes_once_per_interval_with_a_count(caplog) -> None:
    clock = FakeClock()
    logger = logging.getLogger("test.ratelimit")
    limited = RateLimitedLog(logger, interval=10.0, clock=clock)
    with caplog.at_level(logging.WARNING, logger="test.ratelimit"):
        assert limited.log("k", logging.WARNING, "boom")
        for _ in range(5):
            clock.t += 1
            assert not limited.log("k", logging.WARNING, "boom")
        assert limited.log("other", logging.WARNING, "other key is separate")
        clock.t += 10
        assert limited.log("k", logging.WARNING, "boom")
    messages = [r.getMessage() for r in caplog.records]
    assert messages == ["boom", "other key is separate", "boom (5 more since the last report)"]
    assert limited.suppressed("k") == 0


def test_stage_switched_off_after_consecutive_failures() -> None:
    faults = StageFaults(max_consecutive=20, clock=FakeClock())
    for i in range(19):
        assert not faults.failure("digit", ValueError(f"bad {i}"))
    assert faults.is_enabled("digit")
    assert faults.failure("digit", ValueError("bad 19"))
    assert not faults.is_enabled("digit")
    reason = faults.disabled()["digit"]
    assert "stage digit switched off" in reason and "20 frames in a row" in reason
    assert faults.failures("digit") == 20


def test_one_success_resets_the_consecutive_count() -> None:
    faults = StageFaults(max_consecutive=3, window=1000, clock=FakeClock())
    for _ in range(10):
        faults.failure("kernel", RuntimeError("x"))
        faults.failure("kernel", RuntimeError("x"))
        faults.success("kernel")
    assert faults.is_enabled("kernel")


def test_stage_switched_off_when_most_of_the_window_failed() -> None:
    faults = StageFaults(max_consecutive=1000, max_ratio=0.5, window=100, clock=FakeClock())
    switched = False
    runs = 0
    # Two failures, one success: 67 % fail, never 1000 in a row.
    while not switched and runs < 300:
        switched = faults.failure("pool", RuntimeError("x")) or switched
        switched = faults.failure("pool", RuntimeError("x")) or switched
        faults.success("pool")
        runs += 3
    assert switched
    assert runs <= 102  # decided as soon as the window is full
    assert "of the last 100 frames" in faults.disabled()["pool"]


def test_half_failing_is_not_enough() -> None:
    faults = StageFaults(max_consecutive=1000, max_ratio=0.5, window=100, clock=FakeClock())
    for _ in range(200):
        faults.failure("pool", RuntimeError("x"))
        faults.success("pool")
    assert faults.is_enabled("pool")
