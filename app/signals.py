"""SIGINT and SIGTERM set a stop event, so a run ends between two frames and cleans up."""

from __future__ import annotations

import signal
import threading
from collections.abc import Mapping
from typing import Any


def install_signal_handlers(stop_event: threading.Event) -> dict[int, Any]:
    """Make SIGINT and SIGTERM set ``stop_event``; return the previous handlers.

    Call from the main thread. The loop checks the event every frame and every
    fraction of a second while waiting for a camera, so it stops promptly.
    """
    previous = {}

    def handler(signum: int, _frame: object) -> None:
        stop_event.set()

    for signum in (signal.SIGINT, signal.SIGTERM):
        previous[signum] = signal.signal(signum, handler)
    return previous


def restore_signal_handlers(previous: Mapping[int, Any]) -> None:
    """Put back the handlers ``install_signal_handlers`` replaced."""
    for signum, handler in previous.items():
        signal.signal(signum, handler)
