"""A display that can be swapped for another while the loop runs (the web viewer for HDMI).

The loop keeps one display object; this one hands every call to the display of the
moment, so a screen that appears after start (a projector switched on) takes over
between two frames without the loop knowing.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

import numpy as np

from app.display.base import Display
from app.errors import one_line
from app.frame import Frame

log = logging.getLogger(__name__)


class SwitchingDisplay(Display):
    """Delegates to ``current``; ``switch`` opens a new display and closes the old one.

    Args:
        current: the display to start with (opened or not; ``open`` opens it).
        on_switch: called with the new display after each switch (e.g. to grab the
            keyboards when the new one owns the screen).
    """

    def __init__(
        self, current: Display, *, on_switch: Callable[[Display], None] | None = None
    ) -> None:
        self.current = current
        self.on_switch = on_switch

    @property
    def description(self) -> str:  # type: ignore[override]
        return self.current.description

    @property
    def reason(self) -> str:  # type: ignore[override]
        return self.current.reason

    @property
    def owns_screen(self) -> bool:  # type: ignore[override]
        return self.current.owns_screen

    @property
    def screen_size(self) -> tuple[int, int] | None:  # type: ignore[override]
        return self.current.screen_size

    @property
    def url(self) -> str | None:
        """The web viewer's address while the current display is one."""
        return getattr(self.current, "url", None)

    def open(self) -> None:
        self.current.open()

    def show(self, frame: Frame, overlay: np.ndarray) -> None:
        self.current.show(frame, overlay)

    def update_status(self, status: object) -> None:
        self.current.update_status(status)

    def close(self) -> None:
        self.current.close()

    def switch(self, new: Display) -> None:
        """Open ``new`` and make it current, then close the old one.

        Raises whatever ``new.open()`` raises; the old display then stays current.
        """
        new.open()
        old, self.current = self.current, new
        try:
            old.close()
        except Exception as exc:  # the new display is up; the old one is let go anyway
            log.warning("closing %s failed: %s", old.description, one_line(exc))
        log.info("display now %s: %s", new.description, new.reason)
        if self.on_switch is not None:
            self.on_switch(new)
