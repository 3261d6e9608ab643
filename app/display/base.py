"""The small interface every display implements."""

from __future__ import annotations

from abc import abstractmethod
from typing import TYPE_CHECKING

import numpy as np

from app.frame import Frame
from app.lifecycle import OpenClose

if TYPE_CHECKING:
    from app.status import FrameStatus


class Display(OpenClose):
    """A display: ``open``, ``show`` once per processed frame, ``close``.

    ``show`` gets the camera frame and an RGBA overlay of the same height and
    width as ``frame.array``: (H, W, 4) uint8, straight (not premultiplied)
    alpha, the layout picamera2's ``set_overlay`` takes. In processed views the
    overlay is opaque where it carries the processed image. Displays that need a
    single picture compose the two with ``app.display.compose.compose``.
    """

    description: str = ""
    #: Why this display was chosen ("no HDMI screen connected", "[display] spec"): logged
    #: at start and in every status (``/api/status`` ``display_reason``).
    reason: str = ""
    #: True when the picture fills the machine's own screen (HDMI, framebuffer): the
    #: keyboards are then grabbed so their keys do not also reach the console behind it.
    owns_screen: bool = False
    #: The (width, height) this display shows at, when it knows (its screen mode): the
    #: overlay is then drawn at that size, sharp there (``app.screen``). None: the frame's.
    screen_size: tuple[int, int] | None = None

    @abstractmethod
    def open(self) -> None: ...

    @abstractmethod
    def show(self, frame: Frame, overlay: np.ndarray) -> None: ...

    @abstractmethod
    def close(self) -> None: ...

    def update_status(self, status: FrameStatus) -> None:
        """Receive the loop's status once per frame: ``app.status.FrameStatus``, every
        ``ViewState`` setting plus prediction, confidence, probabilities, fps, stage_ms,
        runtime, source and message (``dataclasses.asdict`` gives the JSON-ready form).
        The default ignores it."""
