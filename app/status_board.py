"""Where each frame's status goes (the display, systemd) and the message of the moment."""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from typing import Protocol

from app.display.base import Display
from app.faults import RateLimitedLog
from app.i18n import Message
from app.status import MESSAGE_SEPARATOR, FrameStatus

#: How long a transient message ("snapshot saved ...") stays on screen.
NOTICE_S = 4.0
#: How often ``STATUS=`` is refreshed for systemctl status while running.
SD_STATUS_S = 10.0


class Notifier(Protocol):
    """What the loop tells the service manager (``app.sdnotify.SystemdNotifier``)."""

    def ready(self) -> None: ...
    def watchdog(self) -> None: ...
    def status(self, text: str) -> None: ...
    def stopping(self) -> None: ...


class NullNotifier:
    """A ``Notifier`` that tells nobody (not run by systemd, tests, benchmarks)."""

    def ready(self) -> None: ...
    def watchdog(self) -> None: ...
    def status(self, text: str) -> None: ...
    def stopping(self) -> None: ...


class StatusBoard:
    """The message of the moment, and where each frame's status goes: the display, systemd.

    Args:
        display: gets every status (``Display.update_status``).
        notifier: gets a ``STATUS=`` line when the text changes, and every
            ``SD_STATUS_S`` seconds with the frame rate.
        warn: the loop's rate-limited log (a failing display status is logged there).
        clock: monotonic seconds.
    """

    def __init__(
        self,
        display: Display,
        notifier: Notifier,
        warn: RateLimitedLog,
        clock: Callable[[], float],
    ) -> None:
        self.display = display
        self.notifier = notifier
        self._warn = warn
        self._clock = clock
        self._notice = ""
        self._notice_until = 0.0
        self._sd_text = ""
        self._sd_at = -math.inf

    def notice(self, text: str) -> None:
        """Show ``text`` ("snapshot saved: ...") for ``NOTICE_S`` seconds."""
        self._notice = text
        self._notice_until = self._clock() + NOTICE_S

    def message(self, *problems: str) -> str:
        """The problems that are not empty, then the current notice, joined for one line
        (a ``Message``: the overlay says it in the frame's language)."""
        parts = [p for p in problems if p]
        if self._notice and self._clock() < self._notice_until:
            parts.append(self._notice)
        return Message.joined(MESSAGE_SEPARATOR, parts) if parts else ""

    def publish(self, status: FrameStatus) -> None:
        """Hand ``status`` to the display and, when due, a line to systemd."""
        try:
            self.display.update_status(status)
        except Exception as exc:  # a display's status page must never stop the loop
            self._warn.log("status", logging.WARNING, f"display status failed: {exc}")
        now = self._clock()
        text = status.message or f"running: {status.view} view"
        if text != self._sd_text or now - self._sd_at >= SD_STATUS_S:
            fps = f", {status.fps:.1f} fps" if status.fps else ""
            # systemctl status then says where the picture is and why (web under a
            # desktop, HDMI on the console), not only that something runs.
            shown = f"; display {status.display}" if status.display else ""
            why = f": {status.display_reason}" if shown and status.display_reason else ""
            self.notifier.status(f"{text}{fps}{shown}{why}")
            self._sd_text, self._sd_at = text, now
