"""The kernel inspector: one output value of the kernel written out, and the 1-D formula.

The window sits on the output unit nearest the ROI's centre, moved by the probe
(``ViewState.probe``, in output units: one step is one stride in the picture). Its
value is recomputed here from the window and the kernel, the way the course writes it
(nine products and their sum), and equals the kernel stage's output at that unit.
"""

from __future__ import annotations

import logging

import numpy as np

from app.frame import Frame
from app.stages.activation import ACTIVATION_FUNCTIONS
from app.stages.base import Stage
from app.stages.results import (
    FrameResults,
    InspectResult,
    KernelResult,
    RowConvolution,
    WindowSum,
)
from app.state import ViewState

log = logging.getLogger(__name__)

#: Picture cells shown around the window in the zoomed patch (on the right: at least the
#: stride, so the next window, one stride on, is in the patch too).
PATCH_MARGIN = 1
#: The 1-D kernel of the formula's mode, ``v[-1], v[0], v[1]``: the course's vertical
#: edge kernel's row, a difference of neighbours (an edge along the row answers).
ROW_KERNEL = np.array([-1.0, 0.0, 1.0], np.float32)
ROW_KERNEL_FIRST = -1


def picture_values(
    image: np.ndarray, rows: np.ndarray, cols: np.ndarray, padding: str
) -> tuple[np.ndarray, np.ndarray]:
    """Values of a (H, W) picture at integer (rows, cols) grids that may leave it.

    Returns (values float32, outside bool) of the grids' shape. Outside the picture the
    value is the padding's: 0 for zero (and valid, where no window reaches it), the
    mirrored pixel for reflect (``dcb|abcd|cba``, as the kernel stage pads).
    """
    h, w = image.shape
    outside = (rows < 0) | (rows >= h) | (cols < 0) | (cols >= w)
    if padding == "reflect":
        r = _reflect(rows, h)
        c = _reflect(cols, w)
        return image[r, c].astype(np.float32), outside
    r = np.clip(rows, 0, h - 1)
    c = np.clip(cols, 0, w - 1)
    values = np.where(outside, np.float32(0.0), image[r, c]).astype(np.float32)
    return values, outside


def _reflect(index: np.ndarray, size: int) -> np.ndarray:
    """Mirror indices into 0..size-1 without repeating the edge (BORDER_REFLECT_101)."""
    if size == 1:
        return np.zeros_like(index)
    period = 2 * (size - 1)
    index = np.abs(index) % period
    return np.where(index >= size, period - index, index)


def home_unit(
    centre: tuple[float, float], kernel: int, stride: int, pad: int, out_shape: tuple[int, int]
) -> tuple[int, int]:
    """The output unit whose window is centred nearest ``centre`` (row, column in px)."""
    unit = []
    for c, n in zip(centre, out_shape, strict=True):
        i = round((c + pad - kernel // 2) / stride)
        unit.append(min(max(int(i), 0), max(0, n - 1)))
    return unit[0], unit[1]


def window_sum(
    kernel: KernelResult,
    unit: tuple[int, int],
    *,
    stride: int,
    padding: str,
    activation: str,
) -> WindowSum:
    """Output ``unit`` of ``kernel`` (its input and kernels as applied) written out."""
    assert kernel.input is not None
    k = kernel.matrices[0].shape[0]
    pad = 0 if padding == "valid" else k // 2
    oy, ox = unit[0] * stride - pad, unit[1] * stride - pad
    ys, xs = np.mgrid[0:k, 0:k]
    window, outside = picture_values(kernel.input, oy + ys, ox + xs, padding)
    products = tuple((window * m).astype(np.float32) for m in kernel.matrices)
    sums = tuple(float(p.sum(dtype=np.float64)) for p in products)
    combined = sums[0] if len(sums) == 1 else float(np.hypot(sums[0], sums[1]))
    value = float(ACTIVATION_FUNCTIONS[activation](np.array([combined], np.float32))[0])
    rows, cols = k + 2 * PATCH_MARGIN, k + PATCH_MARGIN + max(PATCH_MARGIN, stride)
    py, px = oy - PATCH_MARGIN, ox - PATCH_MARGIN
    ys, xs = np.mgrid[0:rows, 0:cols]
    patch, patch_outside = picture_values(kernel.input, py + ys, px + xs, padding)
    return WindowSum(
        unit=unit,
        origin=(oy, ox),
        window=window,
        padding=outside,
        kernels=kernel.matrices,
        products=products,
        sums=sums,
        value=value,
        patch=patch,
        patch_padding=patch_outside,
        patch_origin=(py, px),
    )


def row_convolution(image: np.ndarray, row: int, n: int, *, flipped: bool) -> RowConvolution:
    """``(x * v)[n]`` on picture row ``row`` with ``ROW_KERNEL`` (zero padding).

    Convolution (``flipped``): ``y[n] = sum_t x[n - t] v[t]``, the kernel reversed under
    the row; correlation: ``y[n] = sum_t x[n + t] v[t]``, as written.
    """
    x = np.ascontiguousarray(image[row], np.float32)
    w = x.size
    taps = range(ROW_KERNEL_FIRST, ROW_KERNEL_FIRST + ROW_KERNEL.size)
    y = np.zeros(w, np.float32)
    terms = []
    for t, v in zip(taps, ROW_KERNEL, strict=True):
        shift = -t if flipped else t
        # y[m] += x[m + shift] * v for every m whose neighbour is inside the row.
        lo, hi = max(0, -shift), min(w, w - shift)
        y[lo:hi] += x[lo + shift : hi + shift] * v
        i = n + shift
        xi = float(x[i]) if 0 <= i < w else 0.0
        terms.append((i, xi, t, float(v), xi * float(v)))
    terms.sort(key=lambda term: term[0])
    return RowConvolution(
        row=row,
        n=n,
        x=x,
        v=ROW_KERNEL,
        v_first=ROW_KERNEL_FIRST,
        y=y,
        flipped=flipped,
        terms=tuple(terms),
    )


#: The written-out numbers change at most every this many frames (about 4 times a second
#: at 30 fps): a camera's noise changes the last digit every frame, and numbers that
#: change 30 times a second cannot be read. Counted in frames, not seconds, so the same
#: frames always give the same screen.
REFRESH_FRAMES = 8


class InspectStage(Stage):
    """Writes out the kernel's output at the probed unit (needs the kernel stage first).

    The numbers are recomputed every ``REFRESH_FRAMES`` frames, and at once when a
    setting, the probe or the ROI changes; the pictures stay live.
    """

    name = "inspect"

    def __init__(self) -> None:
        self._warned = False
        self._last: tuple[tuple, int, InspectResult] | None = None

    def process(self, frame: Frame, state: ViewState, results: FrameResults) -> None:
        kernel = results.kernel
        if kernel is None or kernel.input is None or kernel.output.size == 0:
            if not self._warned:
                log.warning("inspect: no kernel output; is the kernel stage first?")
                self._warned = True
            return
        key = (
            kernel.name, kernel.input.shape, state.stride, state.padding, state.activation,
            state.operation, state.probe, state.roi,
        )  # fmt: skip
        if self._last is not None:
            last_key, at, last = self._last
            if last_key == key and 0 <= frame.seq - at < REFRESH_FRAMES:
                results.inspect = last
                return
        h, w = kernel.input.shape
        k = kernel.matrices[0].shape[0]
        pad = 0 if state.padding == "valid" else k // 2
        centre = (state.roi.cy * h, state.roi.cx * w)
        home = home_unit(centre, k, state.stride, pad, kernel.output.shape)
        ho, wo = kernel.output.shape
        unit = (
            min(max(home[0] + state.probe[1], 0), ho - 1),
            min(max(home[1] + state.probe[0], 0), wo - 1),
        )
        window = window_sum(
            kernel, unit, stride=state.stride, padding=state.padding, activation=state.activation
        )
        # The 1-D formula on the window's middle row, at its middle column.
        row = min(max(window.origin[0] + k // 2, 0), h - 1)
        n = min(max(window.origin[1] + k // 2, 0), w - 1)
        flipped = state.operation == "convolution"
        results.inspect = InspectResult(
            window=window, row=row_convolution(kernel.input, row, n, flipped=flipped)
        )
        self._last = (key, frame.seq, results.inspect)
