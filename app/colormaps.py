"""The two colour maps the app draws values with: viridis for non-negative, diverging for signed.

Both are (256, 3) uint8 BGR tables indexed by a grey level, so colouring is one lookup
(``table[levels]``), the same as ``cv2.applyColorMap`` with that map. The features stage
colours its mosaics with them and the views draw the matching legend strips.
"""

from __future__ import annotations

import cv2
import numpy as np


def _diverging() -> np.ndarray:
    """Blue < 0, dark 0, orange > 0. Zero is dark so a signed map reads like the ReLU ones
    on the dark overlay, and the sign is the hue."""
    t = np.linspace(-1.0, 1.0, 256)[:, None]
    dark = np.array([34.0, 34.0, 34.0])
    blue = np.array([250.0, 150.0, 40.0])
    orange = np.array([40.0, 160.0, 255.0])
    table = np.where(t < 0, dark + (-t) * (blue - dark), dark + t * (orange - dark))
    return np.clip(table, 0, 255).astype(np.uint8)


#: (256, 3) uint8 BGR: OpenCV's viridis.
VIRIDIS = cv2.applyColorMap(np.arange(256, dtype=np.uint8)[:, None], cv2.COLORMAP_VIRIDIS)[:, 0]
#: (256, 3) uint8 BGR: the diverging map for signed values.
DIVERGING = _diverging()
VIRIDIS.setflags(write=False)
DIVERGING.setflags(write=False)


def palette_for(lo: float) -> np.ndarray:
    """The map for a value range starting at ``lo``: diverging when signed, else viridis."""
    return DIVERGING if lo < 0 else VIRIDIS


def colourise(values: np.ndarray, lo: float, hi: float) -> np.ndarray:
    """(h, w) float -> (h, w, 3) uint8 BGR: ``lo`` .. ``hi`` through ``palette_for(lo)``."""
    scale = 255.0 / (hi - lo) if hi > lo else 1.0
    levels = cv2.convertScaleAbs(np.clip((values - lo) * scale, 0, 255))
    return palette_for(lo)[levels]
