"""The overlay for one frame: the chrome every view shares, then the current view's drawing."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from app import views
from app.stages.results import FrameResults
from app.state import ViewState
from app.views import chrome
from app.views.base import Body, Canvas


@dataclass(frozen=True)
class OverlayInfo:
    """What the loop knows beyond the stage results: timings, runtime, the status message.

    ``stage_ms`` is (name, moving-median milliseconds) pairs in pipeline order.
    """

    fps: float | None = None
    stage_ms: tuple[tuple[str, float], ...] = ()
    runtime: str = ""
    message: str = ""
    source: str = ""


def footer_figures(info: OverlayInfo) -> list[str]:
    """``["29.8 fps", "kernel 1.2  digit 0.4 ms", "LiteRT 1.2"]``: the footer's parts."""
    parts = []
    if info.fps is not None:
        parts.append(f"{info.fps:.1f} fps")
    if info.stage_ms:
        parts.append("  ".join(f"{name} {ms:.1f}" for name, ms in info.stage_ms) + " ms")
    if info.runtime:
        parts.append(info.runtime)
    return parts


class OverlayRenderer:
    """Draws the current view's overlay for frames of one size.

    Args:
        size: (width, height) of ``Frame.array``; ``render`` returns (height, width, 4).
        legend: (key label, description) rows for the help table (the controls' legend:
            handed in, so views never import the controls).
    """

    def __init__(self, size: tuple[int, int], legend: Sequence[tuple[str, str]] = ()) -> None:
        self.canvas = Canvas(size)
        self.legend = tuple(legend)

    @property
    def size(self) -> tuple[int, int]:
        """(width, height) this renderer draws for."""
        return (self.canvas.width, self.canvas.height)

    def render(
        self, state: ViewState, results: FrameResults, info: OverlayInfo | None = None
    ) -> np.ndarray:
        """The overlay for ``state.view``: a new (H, W, 4) uint8 RGBA array (straight alpha).

        Transparent views leave the camera picture visible between their panels; opaque
        views replace it.
        """
        info = info or OverlayInfo()
        view = views.find_view(state.view)
        opaque = view.opaque if view is not None else False
        layer = self.canvas.base(opaque)
        title = view.title if view is not None else state.view.upper()
        top = chrome.header(self.canvas, layer, state, title, opaque)
        bottom = chrome.footer(self.canvas, layer, footer_figures(info), info.message, opaque)
        if view is not None:
            view.draw(self.canvas, layer, state, results, Body(top, bottom))
        if state.show_help:
            chrome.help_overlay(self.canvas, layer, self.legend, opaque)
        return layer

    def message_frame(self, message: str, detail: str = "") -> np.ndarray:
        """A (H, W, 3) uint8 BGR picture saying ``message``: shown when there is no camera."""
        return chrome.message_frame(self.canvas, message, detail)
