"""The boxes an overlay covers and their blend terms, kept while the overlay stays the same.

The loop draws a new overlay every frame, but its content changes a few times a second at
most (the footer's figures every 0.5 s, a panel when a setting changes): the camera view's
1920x1080 overlay is the same, byte for byte, in most frames. Its half of the blend
(``compose_blend.overlay_terms``: alpha extracted and spread to three channels, colours
converted and multiplied, all widened to uint16) cost about four times the picture's half,
so it is kept per box and made again only for a box whose pixels changed.
"""

from __future__ import annotations

import cv2
import numpy as np

from app.display.compose_blend import OverlayTerms, overlay_terms
from app.display.compose_tiles import boxes_of

#: (top, bottom, left, right) in pixels.
Box = tuple[int, int, int, int]


class OverlayBoxes:
    """The covered boxes of the overlays of one display, with their blend terms.

    Args:
        keep: keep each box's pixels and terms for the next overlay (a display showing
            every frame); False for a single composition (nothing copied or kept).
    """

    def __init__(self, keep: bool = True) -> None:
        self._keep = keep
        self._size: tuple[int, int] | None = None  # the last overlay's (H, W)
        self._covered: np.ndarray | None = None  # and its covered tiles
        self._boxes: list[Box] = []
        self._kept: dict[Box, tuple[np.ndarray, OverlayTerms]] = {}  # box -> pixels, terms

    def terms(
        self, overlay_rgba: np.ndarray, covered: np.ndarray
    ) -> list[tuple[Box, OverlayTerms]]:
        """Each box of (H, W, 4) uint8 ``overlay_rgba`` and its terms.

        Args:
            overlay_rgba: the overlay.
            covered: its covered tiles (``compose_tiles.covered_tiles``): outside them
                every alpha is 0, so a box's pixels are all that can have changed when
                the tiles are the same as the last overlay's.
        """
        size = overlay_rgba.shape[:2]
        if self._size != size or not np.array_equal(covered, self._covered):
            self._size, self._covered = size, covered
            self._boxes = boxes_of(covered, size)
        kept = {}
        for box in self._boxes:
            pixels = overlay_rgba[box[0] : box[1], box[2] : box[3]]
            old = self._kept.get(box)
            # NORM_INF is the largest difference of any byte: 0 only when they are equal.
            if old is not None and cv2.norm(pixels, old[0], cv2.NORM_INF) == 0:
                kept[box] = old
                continue
            if self._keep:
                pixels = pixels.copy()  # the loop draws a later overlay into this array
            kept[box] = (pixels, overlay_terms(pixels))
        if self._keep:
            self._kept = kept
        return [(box, terms) for box, (_, terms) in kept.items()]
