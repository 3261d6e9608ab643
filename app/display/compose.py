"""Blend the RGBA overlay onto the BGR camera frame: the one picture single-image displays show."""

from __future__ import annotations

import cv2
import numpy as np

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
    check_pair(frame_bgr, overlay_rgba)
    fitted = overlay_rgba.shape[:2] != frame_bgr.shape[:2]
    if fitted:
        frame_bgr = fit_frame(frame_bgr, (overlay_rgba.shape[1], overlay_rgba.shape[0]))
    alpha = cv2.extractChannel(overlay_rgba, 3)
    covered = cv2.countNonZero(alpha)
    # The camera view's overlay is mostly transparent and the processed views'
    # mostly opaque: both extremes skip the blend.
    if covered == 0:
        return frame_bgr if fitted else frame_bgr.copy()
    if covered == alpha.size and cv2.countNonZero(cv2.bitwise_not(alpha)) == 0:
        return cv2.cvtColor(overlay_rgba, cv2.COLOR_RGBA2BGR)
    bands = covered_row_bands(alpha)
    if bands == [(0, alpha.shape[0])]:
        return _blend(frame_bgr, overlay_rgba, alpha)
    # Panels and text cover a few bands of rows, and each band a span of columns:
    # blend those rectangles, copy the rest (a fitted frame is a new array already).
    out = frame_bgr if fitted else frame_bgr.copy()
    for top, bottom in bands:
        columns = np.flatnonzero(alpha[top:bottom].max(axis=0))
        box = (slice(top, bottom), slice(int(columns[0]), int(columns[-1]) + 1))
        out[box] = _blend(frame_bgr[box], overlay_rgba[box], alpha[box])
    return out


def fit_frame(frame_bgr: np.ndarray, screen_size: tuple[int, int]) -> np.ndarray:
    """The frame scaled onto a black (h, w, 3) picture of ``screen_size`` (w, h), aspect
    kept and centred: where ``app.screen.picture_box`` says the views drew around it."""
    width, height = screen_size
    x, y, w, h = picture_box((frame_bgr.shape[1], frame_bgr.shape[0]), screen_size)
    out = np.zeros((height, width, 3), np.uint8)
    cv2.resize(frame_bgr, (w, h), dst=out[y : y + h, x : x + w], interpolation=cv2.INTER_LINEAR)
    return out


#: Row gaps shorter than this fraction of the height are blended through rather than
#: skipped: a few cv2 calls per band cost more than blending a thin gap.
_MIN_GAP_FRACTION = 1 / 16


def covered_row_bands(alpha: np.ndarray) -> list[tuple[int, int]]:
    """[top, bottom) row ranges of (H, W) uint8 ``alpha`` holding every nonzero pixel.

    Ranges closer than ``H / 16`` rows are merged, so a page of text is one band.
    """
    height = alpha.shape[0]
    covered_rows = np.flatnonzero(alpha.max(axis=1))
    if covered_rows.size == 0:
        return []
    min_gap = max(1, int(height * _MIN_GAP_FRACTION))
    breaks = np.flatnonzero(np.diff(covered_rows) > min_gap)
    tops = np.concatenate(([covered_rows[0]], covered_rows[breaks + 1]))
    bottoms = np.concatenate((covered_rows[breaks] + 1, [covered_rows[-1] + 1]))
    return [(int(top), int(bottom)) for top, bottom in zip(tops, bottoms, strict=True)]


def _blend(frame_bgr: np.ndarray, overlay_rgba: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    alpha3 = cv2.merge([alpha, alpha, alpha])
    # overlay * alpha + frame * (255 - alpha) <= 255 * 255 is exact in uint16, and the
    # one division by 255 at the end rounds once: exact, since 255 is odd there are no
    # halves to round, and float32's error (< 1e-4) is far below the 1/510 margin.
    # Rounding each product separately (cv2.multiply with scale=1/255) was within 1 on
    # x86-64 and off by 2 on arm64, whose OpenCV rounds its products differently.
    overlay16 = cv2.cvtColor(overlay_rgba, cv2.COLOR_RGBA2BGR).astype(np.uint16)
    front = cv2.multiply(overlay16, alpha3.astype(np.uint16))
    back = cv2.multiply(frame_bgr.astype(np.uint16), cv2.bitwise_not(alpha3).astype(np.uint16))
    return cv2.convertScaleAbs(cv2.add(front, back), alpha=1 / 255)
