"""Straighten a digit's slant before the 20x20 resize: a shear from its second moments.

The slant of the ink is ``mu11 / mu02`` (how far x moves per unit of y, from the
central moments, as in OpenCV's ``digits.py`` sample); a horizontal shear about the
centre of mass changes it. Sheets held at an angle and writers' slants both show up as
slant. The target is MNIST's own mean slant rather than upright, because the network
learned MNIST as written (a forward lean of about 7 degrees).

Digits already within TOLERANCE of that slant are left as written (most of MNIST is);
the others are sheared to the nearer edge of that band.

Measured on the dev camera sets (``benchmarks/reading_sets``), against no shear: on
3,000 digits at five sizes +6/-5 digits right/wrong, on 4,200 at seven angles from -15
to +15 degrees +15/-11 (the network learned +-10 degree tilts, so tilt alone costs
little), on 800 digits written with an extra lean +5/-0 (with 0.6, 31 degrees: 98.5 %
instead of 97.5 %), and on 1,000 MNIST test digits in demo-source frames -1 (99.7 %
instead of 99.8 %). Without the tolerance band the leaning digits gained a little more
(99.0 % at 0.6) but the demo frames lost 4 (99.4 %): MNIST's own slants carry meaning. A
shear to upright did no better; a rotation instead of a shear was worse than none
(+14/-35 on the sizes set).
"""

from __future__ import annotations

import cv2
import numpy as np

#: MNIST's mean slant, mu11 / mu02 with y down (20,000 training digits: mean -0.120,
#: median -0.118; the top of a digit leans right).
MNIST_SLANT = -0.12
#: Larger corrections are clipped: beyond this the "slant" of a compact shape (a 0 or a
#: blob) is not a lean but its outline.
MAX_CHANGE = 1.0
#: Slants within this of MNIST_SLANT are MNIST's own (its 5-95 % range is -0.58 to 0.34).
TOLERANCE = 0.2


def slant(ink: np.ndarray) -> float:
    """The slant of (h, w) float32 ink: ``mu11 / mu02``, 0.0 when there is no spread."""
    m = cv2.moments(ink)
    return float(m["mu11"] / m["mu02"]) if m["mu02"] > 1e-6 else 0.0


def deskew(
    ink: np.ndarray, target: float = MNIST_SLANT, tolerance: float = TOLERANCE
) -> np.ndarray:
    """Shear ``ink`` horizontally about its centre of mass so its slant comes within
    ``tolerance`` of ``target`` (to the nearer edge of that band).

    Args:
        ink: (h, w) float32 ink in [0, 1], the digit with a margin around it.
    Returns:
        (h, w + extra) float32: wider by what the shear moves the top and bottom rows, so
        no ink is cut off; ``ink`` itself when it holds no ink or is within the band.
    """
    m = cv2.moments(ink)
    if m["m00"] <= 0 or m["mu02"] <= 1e-6:
        return ink
    excess = m["mu11"] / m["mu02"] - target
    if abs(excess) <= tolerance:
        return ink
    change = float(np.clip(excess - np.sign(excess) * tolerance, -MAX_CHANGE, MAX_CHANGE))
    h, w = ink.shape
    cy = m["m01"] / m["m00"]
    # x' = x - change * (y - cy), shifted right by half the extra width: the rows above
    # and below the centre move in opposite directions by up to |change| * h.
    extra = int(np.ceil(abs(change) * h)) + 2
    matrix = np.float32([[1.0, -change, extra / 2 + change * cy], [0.0, 1.0, 0.0]])
    return cv2.warpAffine(ink, matrix, (w + extra, h), flags=cv2.INTER_LINEAR)
