"""Polling helpers for tests that wait on threads: bounded by a timeout, never by speed."""

from __future__ import annotations

import time
from collections.abc import Callable

from app.controls.actions import ActionQueue


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
