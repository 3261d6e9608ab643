"""What every view is (``View``) and the canvas it draws on (``Canvas``: size, scale, caches).

Layout is in units of a 640x480 screen scaled by ``scale = min(W / 640, H / 480)``.
Every panel whose content did not change comes from a cache, so a frame costs one
layer allocation, a few copies and the processed image's resize.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import ClassVar, NamedTuple

import cv2
import numpy as np

from app.i18n import N_
from app.screen import picture_box
from app.stages.results import FrameResults
from app.state import ProbeRange, ViewState
from app.views.draw import (
    GREY,
    PANEL_BG,
    VIEW_BG,
    Line,
    PatchCache,
    fill,
    fit_image,
    frame_rect,
    legend_bar,
    render_panel,
)

#: Margin around panels, in 640x480 units.
MARGIN = 8
#: Font scales (at 480 rows).
TITLE = 0.8
BODY = 0.5
SMALL = 0.42


class Body(NamedTuple):
    """The rows a view draws in: below the header (``top``), above the footer (``bottom``);
    ``header_right`` is the x where the header ends (beside it, the rows above ``top``
    are free)."""

    top: int
    bottom: int
    header_right: int = 0


class Canvas:
    """The drawing tools for frames of one size: scale, pixel units, cached panels.

    Args:
        size: (width, height) of the layers: the screen's, or ``Frame.array``'s.
        frame_size: (width, height) of ``Frame.array`` (default ``size``); the camera
            picture sits at ``picture`` (x, y, w, h) on the layer, ``picture_scale``
            layer pixels per frame pixel.
    """

    def __init__(self, size: tuple[int, int], *, frame_size: tuple[int, int] | None = None) -> None:
        self.width, self.height = int(size[0]), int(size[1])
        self.scale = min(self.width / 640.0, self.height / 480.0)
        self.frame_size = frame_size or (self.width, self.height)
        self.picture = picture_box(self.frame_size, (self.width, self.height))
        self.picture_scale = self.picture[2] / max(1, self.frame_size[0])
        self.cache = PatchCache()
        # Whole-frame pictures are large: keep only a few (the countdown changes each second).
        self.message_cache = PatchCache(capacity=4)
        self.volatile_cache = PatchCache(capacity=24)
        self._layers: list[np.ndarray | None] = [None, None]
        self._turn = 0

    def from_frame(self, x: float, y: float) -> tuple[int, int]:
        """A point in ``Frame.array`` pixels as a point on the layer."""
        px, py, _, _ = self.picture
        return (round(px + x * self.picture_scale), round(py + y * self.picture_scale))

    def px(self, v: float) -> int:
        """``v`` 640x480 units in pixels of this canvas (at least 1)."""
        return max(1, round(v * self.scale))

    def base(self, opaque: bool) -> np.ndarray:
        """The next layer, cleared: transparent, or the opaque view background.

        Two layers are used in turn, so a frame's overlay stays intact while the next
        one is drawn; a consumer keeping an overlay longer copies it (the displays do).
        A 1920x1080 layer is 8 MB: allocating one per frame cost page faults every frame.
        """
        layer = self._layers[self._turn]
        if layer is None:
            layer = self._layers[self._turn] = np.empty((self.height, self.width, 4), np.uint8)
        self._turn ^= 1
        fill(layer, (*VIEW_BG, 255) if opaque else (0, 0, 0, 0))
        return layer

    def panel(
        self,
        lines: Sequence[Line],
        *,
        opaque: bool,
        width: int | None = None,
        bg: tuple[int, int, int] = PANEL_BG,
        bg_alpha: int = 185,
        volatile: bool = False,
    ) -> np.ndarray:
        """A cached text panel ``width`` wide (long lines wrap at spaces; a word that still
        does not fit shrinks the panel's text).

        ``volatile`` text (figures that keep changing) goes to a small cache of its own,
        so it never pushes the static panels out nor fills the big cache with one-off
        pictures.
        """
        lines = tuple(lines)
        key = ("panel", lines, opaque, width, bg, bg_alpha)
        cache = self.volatile_cache if volatile else self.cache

        def draw(text_lines: tuple[Line, ...]) -> np.ndarray:
            return render_panel(
                text_lines,
                self.scale,
                width=width,
                max_width=width,
                bg=bg,
                bg_alpha=bg_alpha,
                flatten_on=VIEW_BG if opaque else None,
            )

        def draw_fitted() -> np.ndarray:
            panel = draw(lines)
            # A column panel must stay in its column: OpenCV 4's fonts are wider than
            # OpenCV 5's, and a long figure would otherwise run off the screen.
            factor = 1.0
            for _ in range(4):
                if width is None or panel.shape[1] <= width:
                    break
                factor *= 0.98 * width / panel.shape[1]
                panel = draw(tuple(replace(ln, scale=ln.scale * factor) for ln in lines))
            return panel

        return cache.get(key, draw_fitted)

    def show_image(
        self, layer: np.ndarray, image: np.ndarray, area: tuple[int, int, int, int]
    ) -> tuple[int, int, int, int]:
        """Draw an image fitted into area (x, y, w, h), top-left aligned; return its box."""
        x, y, w, h = area
        # Never draw past the layer, whatever the layout asked for.
        w = min(w, self.width - x)
        h = min(h, self.height - y)
        image = np.asarray(image)
        if image.dtype != np.uint8:
            image = np.clip(image, 0, 255).astype(np.uint8)
        fitted = fit_image(image, w - 2, h - 2)
        fh, fw = fitted.shape[:2]
        if fh == 0 or fw == 0 or x < 0 or y < 0:
            return (x, y, 0, 0)
        return self._framed(layer, fitted, x, y)

    @staticmethod
    def _framed(layer: np.ndarray, picture: np.ndarray, x: int, y: int) -> tuple[int, ...]:
        """``picture`` (grey or BGR uint8) at (x + 1, y + 1) in a 1-px grey frame; its box."""
        fh, fw = picture.shape[:2]
        frame_rect(layer, (x, y, fw + 2, fh + 2), (*GREY, 255))
        inside = layer[y + 1 : y + 1 + fh, x + 1 : x + 1 + fw]
        code = cv2.COLOR_BGR2RGBA if picture.ndim == 3 else cv2.COLOR_GRAY2RGBA
        cv2.cvtColor(picture, code, dst=inside)  # straight into the layer: no copy
        return (x, y, fw + 2, fh + 2)

    def show_scaled(
        self, layer: np.ndarray, image: np.ndarray, where: tuple[int, int], scale: float
    ) -> tuple[int, int, int, int]:
        """Draw ``image`` ``scale`` layer pixels per image pixel (nearest neighbour when
        enlarging, so pixels stay visible blocks) with its top left at ``where``, in a
        1-px frame, clipped to the layer; return its box (x, y, w, h) with the frame."""
        x, y = where
        h, w = image.shape[:2]
        size = (max(1, round(w * scale)), max(1, round(h * scale)))
        size = (min(size[0], self.width - x - 2), min(size[1], self.height - y - 2))
        if size[0] <= 0 or size[1] <= 0 or x < 0 or y < 0:
            return (x, y, 0, 0)
        image = np.asarray(image)
        if image.dtype != np.uint8:
            image = np.clip(image, 0, 255).astype(np.uint8)
        # Clipping the size crops the image rather than squeezing it.
        crop = image[: max(1, int(size[1] / scale + 0.5)), : max(1, int(size[0] / scale + 0.5))]
        mode = cv2.INTER_NEAREST if scale >= 1 else cv2.INTER_AREA
        # Colour the small picture, then resize it straight into the layer: one pass over
        # the screen's pixels instead of two (half the time for a colour mosaic).
        code = cv2.COLOR_BGR2RGBA if crop.ndim == 3 else cv2.COLOR_GRAY2RGBA
        small = cv2.cvtColor(np.ascontiguousarray(crop), code)
        frame_rect(layer, (x, y, size[0] + 2, size[1] + 2), (*GREY, 255))
        inside = layer[y + 1 : y + 1 + size[1], x + 1 : x + 1 + size[0]]
        cv2.resize(small, size, dst=inside, interpolation=mode)
        return (x, y, size[0] + 2, size[1] + 2)

    def legend(
        self,
        width: int,
        height: int,
        value_range: tuple[float, float],
        *,
        palette: np.ndarray | None = None,
        labels: bool = True,
    ) -> np.ndarray:
        """A cached ``legend_bar`` of ``width`` x ``height`` px for ``value_range``."""
        lo, hi = float(value_range[0]), float(value_range[1])
        # The palette's identity is enough: there are two, and they never change.
        key = ("legend", width, height, lo, hi, id(palette), labels)
        return self.cache.get(
            key,
            lambda: legend_bar(width, height, lo, hi, self.scale, palette=palette, labels=labels),
        )


class View(ABC):
    """One way of looking at the pipeline: the camera, a kernel's output, the feature maps...

    A view says who it is (``name``, ``title``, ``key``, ``description``), which
    stages it needs (their names, e.g. ``("kernel", "pool")``: the loop runs only
    those for it) and how it draws their results between the header and the footer.
    Views are listed once, in ``app.views.VIEWS``; the view cycle, the number keys,
    the help legend and the stages run per frame come from that table.
    """

    #: ``ViewState.view``, the ``view_<name>`` action and the config value.
    name: ClassVar[str]
    #: The header's title, e.g. ``N_("KERNEL")`` (English, marked; translated when drawn).
    title: ClassVar[str]
    #: The key that shows this view, e.g. ``"2"``.
    key: ClassVar[str]
    #: The help legend's text for that key, e.g. ``N_("kernel view")`` (marked, English).
    description: ClassVar[str]
    #: Names of the stages whose results this view draws, in any order.
    stages: ClassVar[tuple[str, ...]] = ()
    #: True: the view's picture replaces the camera's; False: it is drawn over it.
    opaque: ClassVar[bool] = True
    #: The view's modes (``m`` cycles them; ``ViewState.mode`` indexes them), e.g. the
    #: inspector's 2-D window and 1-D formula. Empty: one mode.
    modes: ClassVar[tuple[str, ...]] = ()
    #: Modes that need other stages than ``stages`` (mode index -> stage names): the loop
    #: runs only what the mode on screen draws.
    mode_stages: ClassVar[Mapping[int, tuple[str, ...]]] = {}
    #: A view with a movable point: how far (columns, rows) ``ViewState.probe`` may go
    #: from its home; the arrows then move the point instead of the ROI. None: no point.
    probe_limit: ClassVar[tuple[int, int] | None] = None
    #: What the status line says when an arrow cannot move the point (marked, English).
    probe_edge: ClassVar[str] = N_("the point is at its limit")

    #: The view's own actions, name -> help text (marked with ``N_``): things the loop
    #: does for it (the teach view saves a sample), never a change of the settings.
    actions: ClassVar[Mapping[str, str]] = {}
    #: Keys that mean something else while this view is shown, key -> action (its own
    #: or any other): the teach view's digit keys label the digit instead of switching
    #: views. The action table lays them over the usual keys for this view only.
    keys: ClassVar[Mapping[str, str]] = {}
    #: Own actions the help shows as one row, action-name prefix -> text (marked): the
    #: teach view's ``label_0`` ... ``label_9`` on the digit keys read "0-9: ...".
    key_groups: ClassVar[Mapping[str, str]] = {}

    def probe_bounds(self, state: ViewState, results: FrameResults) -> ProbeRange | None:
        """Where the arrows may take the point now: ((x_min, x_max), (y_min, y_max)), or
        None when this state has no point (the arrows move the ROI). Views whose limits
        depend on the picture or the mode read them from ``results`` (the last frame's);
        the default is +-``probe_limit``."""
        if self.probe_limit is None:
            return None
        lx, ly = self.probe_limit
        return ((-lx, lx), (-ly, ly))

    @abstractmethod
    def draw(
        self,
        canvas: Canvas,
        layer: np.ndarray,
        state: ViewState,
        results: FrameResults,
        body: Body,
    ) -> None:
        """Draw this view's panels onto ``layer`` (H, W, 4) RGBA within ``body``'s rows.

        Any result may be None (its stage is off or failed): draw a note, never raise.
        """
