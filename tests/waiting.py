"""Polling helpers for tests that wait on threads: bounded by a timeout, never by speed."""

from __future__ import annotations

import math
import os
import time
from collections.abc import Callable, Mapping

from app.controls.actions import ActionQueue

#: How many times slower than this machine the tests may run (checks.sh sets 5 for the
#: arm64 test bed, where qemu-user emulates every instruction).
TIME_FACTOR_VARIABLE = "CONVLENS_TEST_TIME_FACTOR"


def wait_for(predicate: Callable[[], bool], timeout: float = 5.0) -> bool:
    """Poll ``predicate`` until it is true or ``timeout`` seconds pass; its last answer."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.01)
    return predicate()


def drain_until(queue: ActionQueue, count: int, timeout: float = 5.0) -> list[str]:
    """Drain ``queue`` until ``count`` actions arrived or ``timeout`` seconds pass."""
    got: list[str] = []
    deadline = time.monotonic() + timeout
    while len(got) < count and time.monotonic() < deadline:
        got += queue.drain()
        time.sleep(0.01)
    return got


def hang_guard(seconds: float, environ: Mapping[str, str] = os.environ) -> float:
    """A slow test's hang guard: ``seconds`` times CONVLENS_TEST_TIME_FACTOR (unset: 1).

    The guard only tells a hang from slow work; it never asserts a speed. A value that is
    not a number >= 1 is refused by name (a typo must not shorten the guard).
    """
    raw = environ.get(TIME_FACTOR_VARIABLE, "").strip()
    if not raw:
        return float(seconds)
    try:
        factor = float(raw)
    except ValueError:
        factor = math.nan
    if not math.isfinite(factor) or factor < 1:
        raise ValueError(
            f"{TIME_FACTOR_VARIABLE}={raw!r}: expected a number >= 1 "
            "(how many times slower than usual the tests may run, e.g. 5 under qemu-user)"
        )
    return seconds * factor
