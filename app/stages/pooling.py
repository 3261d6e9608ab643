"""Max or average pooling of the kernel output, window = stride = 2, 3 or 4."""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from typing import Any

import numpy as np

from app.errors import ConfigError
from app.frame import Frame
from app.stages.activation import to_display
from app.stages.base import Stage
from app.stages.results import FrameResults, PoolResult, ReferenceRun
from app.state import ViewState
from training import layers

log = logging.getLogger(__name__)


def pool_fast(x: np.ndarray, size: int, mode: str) -> np.ndarray:
    """Pool a (H, W) float32 map with window = stride = ``size``: (H // size, W // size).

    Rows and columns that do not fill a window are dropped, as
    ``training.layers.pool_forward`` does: H' = floor((H - size) / size) + 1.
    """
    h, w = x.shape
    ho, wo = h // size, w // size
    if ho == 0 or wo == 0:
        return np.zeros((ho, wo), np.float32)
    # One strided view per window offset (size^2 of them), combined elementwise: much
    # faster than reducing a reshaped (ho, size, wo, size) array over its odd axes.
    views = [
        x[i : i + ho * size : size, j : j + wo * size : size]
        for i in range(size)
        for j in range(size)
    ]
    out = views[0].astype(np.float32, copy=True)
    reduce = np.maximum if mode == "max" else np.add
    for view in views[1:]:
        reduce(out, view, out=out)
    if mode == "avg":
        out *= np.float32(1.0 / (size * size))
    return out


def pool_reference(x: np.ndarray, size: int, mode: str) -> np.ndarray:
    """The same through the NumPy reference layer ``training.layers.pool_forward``."""
    out, _ = layers.pool_forward(x[None, :, :, None], size, size, mode)
    return out[0, :, :, 0]


def pool_formula(size_in: int, size: int, axis: str = "H") -> str:
    """``H' = floor((120 - 2) / 2) + 1 = 60``: the pooling output size with the numbers in."""
    out = layers.conv_output_size(size_in, size, size, 0)
    return f"{axis}' = floor(({size_in} - {size}) / {size}) + 1 = {out}"


class PoolStage(Stage):
    """Pool the kernel output; shown with the kernel's grey mapping (pooling keeps the range)."""

    name = "pool"

    def __init__(self) -> None:
        self._warned = False

    def configure(self, params: Mapping[str, Any]) -> None:
        if params:
            raise ConfigError(
                f"stage pool: unknown parameter(s) {', '.join(sorted(params))}; "
                "it takes none (mode and size are live settings)"
            )

    def process(self, frame: Frame, state: ViewState, results: FrameResults) -> None:
        kernel = results.kernel
        if kernel is None:
            if not self._warned:
                log.warning("pool: no kernel result; is the kernel stage first?")
                self._warned = True
            return
        source = kernel.output
        size, mode = state.pool_size, state.pool_mode
        out = pool_fast(source, size, mode)
        lo, hi = kernel.value_range
        h, w = source.shape
        reference = None
        if state.numpy_reference:
            start = time.perf_counter()
            ref = pool_reference(source, size, mode)
            ms = (time.perf_counter() - start) * 1000.0
            diff = float(np.max(np.abs(ref - out))) if out.size else 0.0
            reference = ReferenceRun(ms=ms, max_abs_diff=diff)
        results.pool = PoolResult(
            output=out,
            image=to_display(out, lo, hi),
            value_range=(lo, hi),
            in_shape=(h, w),
            out_shape=out.shape,
            formula_h=pool_formula(h, size, "H"),
            formula_w=pool_formula(w, size, "W"),
            reference=reference,
        )
