"""Max or average pooling of the kernel output, window = stride = 2, 3 or 4."""

from __future__ import annotations

import logging

import numpy as np

from app.frame import Frame
from app.stages.activation import to_display
from app.stages.base import Stage
from app.stages.inspect import REFRESH_FRAMES
from app.stages.results import FrameResults, PoolResult, PoolWindow
from app.state import Roi, ViewState
from training import layers

log = logging.getLogger(__name__)


def pool_map(x: np.ndarray, size: int, mode: str) -> np.ndarray:
    """Pool a (H, W) float32 map with window = stride = ``size``: (H // size, W // size).

    The NumPy reference layer itself, ``training.layers.pool_forward`` (strided views,
    no copies): rows and columns that do not fill a window are dropped,
    H' = floor((H - size) / size) + 1. A map smaller than one window gives an empty map.
    """
    h, w = x.shape
    if h < size or w < size:
        return np.zeros((h // size, w // size), np.float32)
    out, _ = layers.pool_forward(x[None, :, :, None], size, size, mode)
    return out[0, :, :, 0]


def pool_formula(size_in: int, size: int, axis: str = "H") -> str:
    """``H' = floor((120 - 2) / 2) + 1 = 60``: the pooling output size with the numbers in."""
    out = layers.conv_output_size(size_in, size, size, 0)
    return f"{axis}' = floor(({size_in} - {size}) / {size}) + 1 = {out}"


def pool_window(source: np.ndarray, pooled: np.ndarray, size: int, roi: Roi) -> PoolWindow | None:
    """The pooled value under the ROI's centre with the ``size`` x ``size`` window of
    ``source`` it pools (None when the pooled map is empty)."""
    rows, cols = pooled.shape
    if rows == 0 or cols == 0:
        return None
    h, w = source.shape
    unit = (
        min(max(int(roi.cy * h) // size, 0), rows - 1),
        min(max(int(roi.cx * w) // size, 0), cols - 1),
    )
    r, c = unit[0] * size, unit[1] * size
    values = np.array(source[r : r + size, c : c + size], np.float32)
    return PoolWindow(unit=unit, values=values, value=float(pooled[unit]))


class PoolStage(Stage):
    """Pool the kernel output; shown with the kernel's grey mapping (pooling keeps the range).

    There is no separate NumPy reference run: the stage runs the reference layer itself.
    The window written out (under the ROI's centre) is refreshed every
    ``REFRESH_FRAMES`` frames, or at once when a setting or the ROI changes: numbers that
    change with the camera's noise every frame cannot be read.
    """

    name = "pool"

    def __init__(self) -> None:
        self._warned = False
        self._window: tuple[tuple, int, PoolWindow | None] | None = None

    def _written_out(
        self, frame: Frame, state: ViewState, source: np.ndarray, out: np.ndarray, name: str
    ) -> PoolWindow | None:
        key = (
            name, source.shape, state.pool_size, state.pool_mode, state.roi, state.stride,
            state.padding, state.activation, state.operation,
        )  # fmt: skip
        if self._window is not None:
            last_key, at, window = self._window
            if last_key == key and 0 <= frame.seq - at < REFRESH_FRAMES:
                return window
        window = pool_window(source, out, state.pool_size, state.roi)
        self._window = (key, frame.seq, window)
        return window

    def process(self, frame: Frame, state: ViewState, results: FrameResults) -> None:
        kernel = results.kernel
        if kernel is None:
            if not self._warned:
                log.warning("pool: no kernel result; is the kernel stage first?")
                self._warned = True
            return
        source = kernel.output
        size, mode = state.pool_size, state.pool_mode
        out = pool_map(source, size, mode)
        lo, hi = kernel.value_range
        h, w = source.shape
        results.pool = PoolResult(
            output=out,
            image=to_display(out, lo, hi),
            value_range=(lo, hi),
            in_shape=(h, w),
            out_shape=out.shape,
            formula_h=pool_formula(h, size, "H"),
            formula_w=pool_formula(w, size, "W"),
            window=self._written_out(frame, state, source, out, kernel.name),
        )
