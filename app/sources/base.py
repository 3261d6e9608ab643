"""The small interface every frame source implements."""

from __future__ import annotations

from abc import abstractmethod

from app.frame import Frame
from app.lifecycle import OpenClose


class Source(OpenClose):
    """A frame source: ``open``, then ``read`` repeatedly, then ``close``.

    ``read`` returns the newest frame not yet returned (blocking until there is
    one), ``None`` at the end of a finite stream, and raises ``SourceError`` when
    the device fails. Sources never queue frames: a slow reader skips frames.
    """

    #: Short human-readable description, e.g. ``"demo (seed 0)"``; shown on screen.
    description: str = ""

    @abstractmethod
    def open(self) -> None: ...

    @abstractmethod
    def read(self) -> Frame | None: ...

    @abstractmethod
    def close(self) -> None: ...
