"""Keeping the loop's one source open: open it, close it when it is lost, reopen it in place.

Any exception from ``open`` is retried with back-off, whatever raised it: the app's own
``SourceError``, a ``PermissionError`` from the camera's DMA heap, a libcamera
``RuntimeError``, a ``ValueError`` from a NumPy ABI mismatch while importing picamera2.
None of them ends the service (a restart would fail the same way); the message is
shown on screen until the camera opens.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable

from app.errors import one_line
from app.faults import Backoff, RateLimitedLog
from app.i18n import N_, Message
from app.sources.base import Source

log = logging.getLogger(__name__)


class SourceKeeper:
    """Opens, closes and reopens one ``Source`` object; says what is wrong meanwhile.

    Args:
        source: the source, opened or not (opening an open source does nothing).
        backoff: retry delays after failed opens.
        warn: the loop's rate-limited log.
        clock: monotonic seconds.
    """

    def __init__(
        self,
        source: Source,
        backoff: Backoff,
        warn: RateLimitedLog,
        clock: Callable[[], float],
    ) -> None:
        self.source = source
        self.backoff = backoff
        self._warn = warn
        self._clock = clock
        self.is_open = False
        #: Why there is no camera ("no camera (...)", "camera lost (...)": a ``Message``),
        #: else "".
        self.message: str = ""
        self._next_retry = 0.0

    def try_open(self) -> bool:
        """Open the source unless a retry is not yet due; True when it is open."""
        if self._clock() < self._next_retry:
            return False
        try:
            self.source.open()
        except Exception as exc:  # see the module docstring: nothing here ends the service
            self._retry_later(Message(N_("no camera ({error})"), error=one_line(exc)))
            # A half-opened camera must not stay acquired until the next attempt.
            self._close_quietly()
            return False
        self.is_open = True
        if self.message:
            log.info("camera back: %s", self.description)
        self.message = ""
        self.backoff.reset()
        return True

    def lost(self, exc: BaseException) -> None:
        """The source failed while reading: close it and reopen it after a back-off."""
        self.close()
        error = f"{type(exc).__name__}: {exc}"
        self._retry_later(Message(N_("camera lost ({error})"), error=error))

    def close(self) -> None:
        """Close the source if it is open (errors are logged: a lost device is gone anyway)."""
        if self.is_open:
            self._close_quietly()
            log.info("source closed: %s", self.description)

    def replace(self, source: Source) -> None:
        """Read ``source`` from now on: the old one is closed, the new one opened at the
        next ``try_open`` (at once: no retry is pending for it)."""
        self.close()
        self.source = source
        self.message = ""
        self._next_retry = 0.0
        self.backoff.reset()

    def retry_in(self) -> float:
        """Seconds until the next attempt to open (0 when one is due)."""
        return max(0.0, self._next_retry - self._clock())

    def waiting_text(self) -> str:
        """``"no camera (...) - retrying in 2 s"`` for the waiting screen (a ``Message``)."""
        template = N_("{problem} - retrying in {seconds} s")
        return Message(template, problem=self.message, seconds=math.ceil(self.retry_in()))

    @property
    def description(self) -> str:
        """The source's description, or its class name."""
        return self.source.description or type(self.source).__name__

    def _retry_later(self, why: str) -> None:
        delay = self.backoff.next_delay()
        self._next_retry = self._clock() + delay
        self.message = why
        self._warn.log("source", logging.WARNING, f"{why}; retrying in {delay:g} s")

    def _close_quietly(self) -> None:
        self.is_open = False
        try:
            self.source.close()
        except Exception as exc:  # closing a lost device often fails; it is gone anyway
            log.warning("closing the source failed: %s", one_line(exc))
