"""Max or average pooling of the kernel output, window = stride = 2, 3 or 4."""

from __future__ import annotations

import logging

import numpy as np

from app.frame import Frame
from app.stages.activation import to_display
from app.stages.base import Stage
from app.stages.results import FrameResults, PoolResult
from app.state import ViewState
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


class PoolStage(Stage):
    """Pool the kernel output; shown with the kernel's grey mapping (pooling keeps the range).

    There is no separate NumPy reference run: the stage runs the reference layer itself.
    """

    name = "pool"

    def __init__(self) -> None:
        self._warned = False

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
        )
