"""The overlay for one frame: the chrome every view shares, then the current view's drawing."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from app import views
from app.i18n import language, tr
from app.stages.results import FrameResults
from app.status import FrameStatus
from app.views import chrome
from app.views.base import Body, Canvas
from app.views.words import key_label


def footer_figures(status: FrameStatus) -> list[str]:
    """``["29.8 fps", "kernel 1.2  digit 0.4 ms", "LiteRT 1.2"]``: the footer's parts, in
    the current language (the stages' names and the runtime through ``tr``)."""
    parts = []
    if status.fps is not None:
        parts.append(f"{status.fps:.1f} fps")
    if status.stage_ms:
        parts.append("  ".join(f"{tr(name)} {ms:.1f}" for name, ms in status.stage_ms) + " ms")
    if status.runtime:
        parts.append(tr(status.runtime))
    if status.model and status.model != "shipped":
        parts.append(tr("fine-tuned model"))
    return parts


class OverlayRenderer:
    """Draws the current view's overlay for frames of one size.

    Args:
        size: (width, height) to draw at: the screen's (the frame is fitted onto it, see
            ``app.screen``) or ``Frame.array``'s; ``render`` returns (height, width, 4).
        frame_size: (width, height) of ``Frame.array`` when it differs from ``size``.
        legend: (key label, description) rows for the help table (the controls' legend:
            handed in, so views never import the controls); descriptions in English,
            translated when drawn. Or ``legend(view_name)`` giving them per view (a view
            with keys of its own, such as the teach view, has its own legend).
    """

    def __init__(
        self,
        size: tuple[int, int],
        legend: Sequence[tuple[str, str]] | Callable[[str], Sequence[tuple[str, str]]] = (),
        *,
        frame_size: tuple[int, int] | None = None,
    ) -> None:
        self.canvas = Canvas(size, frame_size=frame_size)
        self.legend = legend if callable(legend) else tuple(legend)

    @property
    def size(self) -> tuple[int, int]:
        """(width, height) this renderer draws for: the screen's, or the frame's."""
        return (self.canvas.width, self.canvas.height)

    @property
    def frame_size(self) -> tuple[int, int]:
        """(width, height) of the camera frames the overlay goes with."""
        return self.canvas.frame_size

    def render(self, status: FrameStatus, results: FrameResults) -> np.ndarray:
        """The overlay for ``status.view``: a new (H, W, 4) uint8 RGBA array (straight alpha).

        Transparent views leave the camera picture visible between their panels; opaque
        views replace it. The header shows the settings, the footer the figures and the
        message, all from ``status``; the view draws ``results``. Every text is in
        ``status.language``.
        """
        with language(status.language):
            view = views.find_view(status.view)
            opaque = view.opaque if view is not None else False
            layer = self.canvas.base(opaque)
            title = tr(view.title) if view is not None else status.view.upper()
            top, right = chrome.header(self.canvas, layer, status, title, opaque)
            # The help table needs the room; the figures come back when it closes.
            figures = [] if status.show_help else footer_figures(status)
            bottom = chrome.footer(self.canvas, layer, figures, tr(status.message), opaque)
            if view is not None:
                view.draw(self.canvas, layer, status, results, Body(top, bottom, right))
            if status.show_help:
                rows = self.legend(status.view) if callable(self.legend) else self.legend
                legend = [(key_label(keys), tr(desc)) for keys, desc in rows]
                chrome.help_overlay(self.canvas, layer, legend, opaque, (top, bottom))
        return layer

    def message_frame(self, message: str, detail: str = "") -> np.ndarray:
        """A (H, W, 3) uint8 BGR picture saying ``message``: shown when there is no camera."""
        return chrome.message_frame(self.canvas, message, detail)
