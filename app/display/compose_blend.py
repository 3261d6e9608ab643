"""The exact straight-alpha blend, in two halves: the overlay's terms and the picture's pass.

``round((overlay * a + picture * (255 - a)) / 255)`` per channel, ``a`` the overlay's
alpha. The overlay's half (``overlay * a`` and ``255 - a``) does not depend on the
picture; the picture's half is then one multiply, one add and one division per channel.

Why it is exact on every CPU: each product is at most 255 * 255, so the sum fits uint16
exactly, and the one division by 255 at the end rounds once; 255 is odd, so no sum
divides to a half, and float32's error (< 1e-4) is far below the 1/510 margin. Rounding
each product separately (cv2.multiply with scale=1/255) was within 1 on x86-64 and off by
2 on arm64, whose OpenCV rounds its products differently.
"""

from __future__ import annotations

from typing import NamedTuple

import cv2
import numpy as np


class OverlayTerms(NamedTuple):
    """One overlay box's half of the blend, both (h, w, 3) uint16 in BGR order."""

    #: overlay * alpha
    front: np.ndarray
    #: 255 - alpha
    weight: np.ndarray


def overlay_terms(overlay_rgba: np.ndarray) -> OverlayTerms:
    """The terms of an (h, w, 4) uint8 RGBA (straight alpha) overlay box."""
    alpha = cv2.extractChannel(overlay_rgba, 3)
    alpha3 = cv2.merge([alpha, alpha, alpha])
    # cv2.multiply of uint8 into uint16 (dtype=) goes through a slow generic path: widen
    # first, then multiply uint16 by uint16.
    overlay16 = cv2.cvtColor(overlay_rgba, cv2.COLOR_RGBA2BGR).astype(np.uint16)
    front = cv2.multiply(overlay16, alpha3.astype(np.uint16), dst=overlay16)
    weight = cv2.bitwise_not(alpha3, dst=alpha3).astype(np.uint16)
    return OverlayTerms(front, weight)


def blend_into(picture_bgr: np.ndarray, terms: OverlayTerms, wide: np.ndarray) -> None:
    """Blend an overlay box into (h, w, 3) uint8 BGR ``picture_bgr`` in place.

    Args:
        picture_bgr: the picture under the box (a view of a larger picture is fine).
        terms: ``overlay_terms`` of the overlay over it, the same (h, w).
        wide: (h, w, 3) uint16 scratch, overwritten.
    """
    np.copyto(wide, picture_bgr)
    cv2.multiply(wide, terms.weight, dst=wide)
    cv2.add(wide, terms.front, dst=wide)
    written = cv2.convertScaleAbs(wide, dst=picture_bgr, alpha=1 / 255)
    if written is not picture_bgr:  # OpenCV wrote elsewhere: a view it could not take
        np.copyto(picture_bgr, written)


def blend(frame_bgr: np.ndarray, overlay_rgba: np.ndarray) -> np.ndarray:
    """A new (H, W, 3) uint8 BGR array: the overlay (H, W, 4) blended over the whole frame."""
    out = np.array(frame_bgr, np.uint8, order="C")
    blend_into(out, overlay_terms(overlay_rgba), np.empty(out.shape, np.uint16))
    return out
