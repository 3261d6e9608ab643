"""Tell the user to hold the digit closer or further away, from its size in the picture.

Measured on the dev camera sets (300 digits per size, lores ROI of 108 px): a digit 19 px
tall or more reads 99.3 %, 15 px 95.7 %, 11 px 82.3 % - what limits a small digit is the
pixels it covers, not its share of the ROI, so a sharper picture (the main stream) takes
smaller digits. A digit taller than 85 % of the ROI reads 98 % but, wider than tall
(a 0, a 2, a 5), soon runs past the search margin ("ink touches the edge"): at 95 %,
2 % of the digits did.
"""

from __future__ import annotations

TOO_SMALL = "digit too small"
TOO_LARGE = "digit too large"
#: Digits shorter than this, in the pixels the ink is found in, read noticeably worse.
MIN_HEIGHT_PX = 17
#: Taller than this fraction of the ROI's side, the digit is about to leave the ROI.
MAX_HEIGHT = 0.85


def size_hint(digit_height_px: float, roi_side_px: float) -> str | None:
    """TOO_SMALL, TOO_LARGE or None for a digit ``digit_height_px`` tall in an ROI
    ``roi_side_px`` wide (both in the same picture's pixels)."""
    if digit_height_px < MIN_HEIGHT_PX:
        return TOO_SMALL
    if digit_height_px > MAX_HEIGHT * roi_side_px:
        return TOO_LARGE
    return None
