"""Blend the RGBA overlay onto the BGR camera frame: the one picture single-image displays show.

``compose`` makes a new picture per call. A ``Composer`` is for a display that composes
every frame: it keeps its picture and scratch arrays between calls (a 1920x1080 picture
is 6 MB: a new one per frame costs page faults, and the loop trims the heap), and the
overlay's half of the blend while the overlay stays the same (``compose_boxes``).
"""

from __future__ import annotations

import cv2
import numpy as np

from app.display.compose_blend import blend_into
from app.display.compose_boxes import OverlayBoxes
from app.display.compose_tiles import covered_tiles, is_opaque, pixel_words
from app.errors import DisplayError
from app.screen import picture_box


def check_pair(frame_bgr: np.ndarray, overlay_rgba: np.ndarray) -> None:
    """Raise DisplayError unless frame is (H, W, 3) uint8 and overlay (Hs, Ws, 4) uint8:
    the frame's size, or the screen's (``app.screen``: the frame is fitted onto it)."""
    if (
        not isinstance(frame_bgr, np.ndarray)
        or frame_bgr.dtype != np.uint8
        or frame_bgr.ndim != 3
        or frame_bgr.shape[2] != 3
    ):
        got = _describe(frame_bgr)
        raise DisplayError(f"frame must be an (H, W, 3) uint8 BGR array, got {got}")
    if (
        not isinstance(overlay_rgba, np.ndarray)
        or overlay_rgba.dtype != np.uint8
        or overlay_rgba.ndim != 3
        or overlay_rgba.shape[2] != 4
        or min(overlay_rgba.shape[:2]) < 1
    ):
        want = "(H, W, 4) uint8 RGBA array (the frame's size or the screen's)"
        got = _describe(overlay_rgba)
        raise DisplayError(f"overlay must be an {want}, got {got}")


def _describe(a: object) -> str:
    if isinstance(a, np.ndarray):
        return f"{a.shape} {a.dtype}"
    return type(a).__name__


def compose(frame_bgr: np.ndarray, overlay_rgba: np.ndarray) -> np.ndarray:
    """Alpha-blend a straight-alpha overlay onto a frame.

    Args:
        frame_bgr: (H, W, 3) uint8, BGR.
        overlay_rgba: (H, W, 4) uint8, RGBA, straight (not premultiplied) alpha; or
            (Hs, Ws, 4) at the screen's size, the frame then fitted onto it first.

    Returns:
        A new (H, W, 3) uint8 BGR array (the overlay's size): ``overlay * a + frame * (1 - a)`` with
        ``a = alpha / 255``, exactly rounded, the same on every CPU. The inputs are not
        modified.

    Raises:
        DisplayError: shapes or dtypes are not the ones above.
    """
    return Composer(keep_overlay=False).compose(frame_bgr, overlay_rgba)


class Composer:
    """``compose`` into a picture kept between calls (and overwritten by the next one).

    Args:
        keep_overlay: keep the overlay's covered boxes and their blend terms for the next
            call (``compose_boxes.OverlayBoxes``); False for a single composition.
    """

    def __init__(self, keep_overlay: bool = True) -> None:
        self._picture: np.ndarray | None = None  # (Hs, Ws, 3) uint8 BGR
        self._wide = np.empty(0, np.uint16)  # the blend's scratch, grown as needed
        self._boxes = OverlayBoxes(keep=keep_overlay)

    def compose(self, frame_bgr: np.ndarray, overlay_rgba: np.ndarray) -> np.ndarray:
        """``compose(frame_bgr, overlay_rgba)``, returned in the composer's own (Hs, Ws, 3)
        uint8 array: valid until the next call, not to be modified by the caller."""
        check_pair(frame_bgr, overlay_rgba)
        height, width = overlay_rgba.shape[:2]
        if self._picture is None or self._picture.shape[:2] != (height, width):
            self._picture = np.zeros((height, width, 3), np.uint8)
        picture = self._picture
        words = pixel_words(overlay_rgba)
        covered = covered_tiles(words)
        # The processed views' overlay is opaque: it hides the frame (not even fitted).
        if covered.all() and is_opaque(words):
            _into(cv2.cvtColor(overlay_rgba, cv2.COLOR_RGBA2BGR, dst=picture), picture)
            return picture
        fit_into(frame_bgr, picture)
        # Panels, text and outlines cover a fifth of the camera view: blend the boxes of
        # the tiles they touch, leave the rest. A pixel of alpha 0 blends to the frame
        # exactly, so the picture is the whole blend's.
        for (top, bottom, left, right), terms in self._boxes.terms(overlay_rgba, covered):
            under = picture[top:bottom, left:right]
            blend_into(under, terms, self._scratch(under))
        return picture

    def _scratch(self, box: np.ndarray) -> np.ndarray:
        """A uint16 array of ``box``'s shape, from the scratch kept between calls."""
        if self._wide.size < box.size:
            self._wide = np.empty(box.size, np.uint16)
        return self._wide[: box.size].reshape(box.shape)


def fit_into(frame_bgr: np.ndarray, picture_bgr: np.ndarray) -> None:
    """Fill (Hs, Ws, 3) uint8 ``picture_bgr`` with the (H, W, 3) frame: copied at its size,
    else scaled (aspect kept, centred, black bars) where ``app.screen.picture_box`` says
    the views drew around it."""
    height, width = picture_bgr.shape[:2]
    if frame_bgr.shape[:2] == (height, width):
        np.copyto(picture_bgr, frame_bgr)
        return
    x, y, w, h = picture_box((frame_bgr.shape[1], frame_bgr.shape[0]), (width, height))
    # Black bars again: the previous picture's overlay may have been blended on them.
    picture_bgr[:y] = 0
    picture_bgr[y + h :] = 0
    picture_bgr[y : y + h, :x] = 0
    picture_bgr[y : y + h, x + w :] = 0
    inside = picture_bgr[y : y + h, x : x + w]
    _into(cv2.resize(frame_bgr, (w, h), dst=inside, interpolation=cv2.INTER_LINEAR), inside)


def _into(result: np.ndarray, target: np.ndarray) -> None:
    """Make sure ``target`` holds ``result`` (OpenCV may have written elsewhere)."""
    if result is not target:
        np.copyto(target, result.reshape(target.shape))
