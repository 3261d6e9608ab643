"""The kernel inspector: one output value of the kernel written out, and the 1-D formula.

The window starts where the picture has something to show: where the kernel answers
most near the ROI's centre (an edge kernel on an edge; the ROI's centre itself on blank
paper), and the probe
(``ViewState.probe``, in output units: one step is one stride in the picture) moves it
from there. Its value is recomputed here from the window and the kernel, the way the
course writes it (nine products and their sum), and equals the kernel stage's output
at that unit.
"""

from __future__ import annotations

import logging

import cv2
import numpy as np

from app.frame import Frame
from app.stages.activation import ACTIVATION_FUNCTIONS
from app.stages.base import Stage
from app.stages.digit import roi_pixels
from app.stages.results import (
    FrameResults,
    InspectResult,
    KernelResult,
    RowConvolution,
    WindowSum,
)
from app.state import Roi, ViewState

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


#: Weaker answers than this (3x3 mean, on the 0..1 picture) are blank paper: camera
#: noise gives about 0.05 there, a pen stroke's edge 1 to 3.
FLAT_EDGE = 0.15
#: A new strongest point takes the window over only when this much stronger than the
#: one it is on: two equal edges would otherwise take turns with the camera's noise.
HOME_HYSTERESIS = 1.25


def structure(picture: np.ndarray, kernels: tuple[np.ndarray, ...]) -> np.ndarray:
    """Where ``picture`` (h, w) float32 has something to show, per pixel, float32.

    Kernels whose weights sum to 0 (the edge kernels, Sobel, Laplacian) answer only
    where the picture changes: their own answer's size (two kernels combined as the
    magnitude). Other kernels (blur, sharpen, identity) answer on blank paper too:
    the picture's edges (Sobel magnitude) instead. Averaged over 3x3 pixels, so one
    noisy pixel never wins.
    """
    if all(abs(float(m.sum())) < 1e-6 for m in kernels):
        answers = [cv2.filter2D(picture, cv2.CV_32F, m) for m in kernels]
        size = np.sqrt(sum(a * a for a in answers))
    else:
        gx = cv2.Sobel(picture, cv2.CV_32F, 1, 0, ksize=3)
        gy = cv2.Sobel(picture, cv2.CV_32F, 0, 1, ksize=3)
        size = cv2.magnitude(gx, gy)
    return cv2.blur(size.astype(np.float32), (3, 3))


def strongest_edge(
    picture: np.ndarray,
    roi: Roi,
    kernels: tuple[np.ndarray, ...],
    current: tuple[int, int] | None = None,
) -> tuple[int, int] | None:
    """(row, column) in ``picture`` (H, W) float32 where the kernel has most to show in
    the ROI (``structure``).

    Points nearer the ROI's centre count more (half at its border), so the window
    starts on the digit rather than on a shadow at the ROI's edge. ``current`` (a
    pixel, e.g. the last answer) is kept unless another point is ``HOME_HYSTERESIS``
    times stronger. None when the ROI is flat (blank paper) or too small.
    """
    h, w = picture.shape
    x0, y0, x1, y1 = roi_pixels(roi, w, h)
    crop = np.ascontiguousarray(picture[y0:y1, x0:x1], np.float32)
    if crop.shape[0] < 3 or crop.shape[1] < 3:
        return None
    answer = structure(crop, kernels)
    ch, cw = crop.shape
    ys, xs = np.ogrid[0:ch, 0:cw]
    off_centre = ((ys - (ch - 1) / 2) / (ch / 2)) ** 2 + ((xs - (cw - 1) / 2) / (cw / 2)) ** 2
    score = answer / (1.0 + off_centre)
    best = np.unravel_index(int(np.argmax(score)), score.shape)
    if answer[best] < FLAT_EDGE:
        return None
    if current is not None and y0 <= current[0] < y1 and x0 <= current[1] < x1:
        kept = (current[0] - y0, current[1] - x0)
        if answer[kept] >= FLAT_EDGE and score[kept] * HOME_HYSTERESIS >= score[best]:
            best = kept
    return (y0 + int(best[0]), x0 + int(best[1]))


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
    setting, the probe or the ROI changes; the pictures stay live. While the point is
    at home the window follows the kernel's strongest answer (found again at each
    refresh); once an arrow moved it, that point stays its home until the ROI or the
    kernel changes.
    """

    name = "inspect"

    def __init__(self) -> None:
        self._warned = False
        self._last: tuple[tuple, int, InspectResult] | None = None
        # ((picture shape, ROI, kernel, mode), the pixel found there, or None: blank paper).
        self._home: tuple[tuple, tuple[int, int] | None] | None = None

    def process(self, frame: Frame, state: ViewState, results: FrameResults) -> None:
        kernel = results.kernel
        if kernel is None or kernel.input is None or kernel.output.size == 0:
            if not self._warned:
                log.warning("inspect: no kernel output; is the kernel stage first?")
                self._warned = True
            return
        key = (
            kernel.name, kernel.input.shape, state.stride, state.padding, state.activation,
            state.operation, state.probe, state.roi, state.mode,
        )  # fmt: skip
        if self._last is not None:
            last_key, at, last = self._last
            if last_key == key and 0 <= frame.seq - at < REFRESH_FRAMES:
                results.inspect = last
                return
        h, w = kernel.input.shape
        k = kernel.matrices[0].shape[0]
        pad = 0 if state.padding == "valid" else k // 2
        # The 1-D mode starts where its own row kernel answers most: a row that changes.
        kernels = (ROW_KERNEL[None, :],) if state.mode == 1 else kernel.matrices
        start = self._start(kernel.input, kernels, state)
        home = home_unit(start, k, state.stride, pad, kernel.output.shape)
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
            window=window,
            row=row_convolution(kernel.input, row, n, flipped=flipped),
            home=home,
            probe_range=((-home[1], wo - 1 - home[1]), (-home[0], ho - 1 - home[0])),
        )
        self._last = (key, frame.seq, results.inspect)

    def _start(
        self, picture: np.ndarray, kernels: tuple[np.ndarray, ...], state: ViewState
    ) -> tuple[float, float]:
        """The picture point (row, column px) the window starts on: the kernel's strongest
        answer near the ROI's centre (looked for again while the point is at home), else
        the ROI's centre."""
        where = (picture.shape, state.roi, state.kernel, state.mode)
        known = self._home is not None and self._home[0] == where
        if not known or state.probe == (0, 0):
            current = self._home[1] if known and self._home is not None else None
            self._home = (where, strongest_edge(picture, state.roi, kernels, current))
        edge = self._home[1] if self._home is not None else None
        if edge is None:
            h, w = picture.shape
            return (state.roi.cy * h, state.roi.cx * w)
        return (float(edge[0]), float(edge[1]))
