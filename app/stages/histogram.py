"""The kernel output's values counted before and after the activation, and shown visibly.

The activation view draws sigmoid, tanh and ReLU on one axis with these counts: the
raw output's along the input axis, the activated output's along the output axis.

Scales (a documented choice, written on the screen too):

- The input axis spans -4..4: where sigmoid and tanh bend and flatten. Kernel outputs
  on a [0, 1] picture are small (edges up to +-3, Laplacian +-4 at most); values
  beyond the axis are counted in its end bins.
- Bars are the square root of the count, scaled to the tallest bar: a flat picture puts
  most pixels at 0, and a linear count would leave the edges' tails invisible.
- The pictures: the ROI's part of the output (where the paper is held), the raw one on
  -r..r, where r is the 99.5th percentile of its magnitude (smoothed over frames, so
  the picture does not flicker; for a non-negative output 0..r), and the activated
  one on f(-r)..f(r), the same range passed through the activation. A Laplacian on a
  sheet of paper mostly answers within +-0.2: on the kernel view's fixed +-1 it is a
  grey wash, on +-r it is a drawing.
  Sigmoid turns +-0.2 into 0.45..0.55; shown on 0..1 that is a grey wash too, shown on
  f(-r)..f(r) it has the raw picture's contrast. The legends say which values those are.
"""

from __future__ import annotations

import logging

import cv2
import numpy as np

from app.frame import Frame
from app.stages.activation import ACTIVATION_FUNCTIONS, raw_range, to_display
from app.stages.base import Stage
from app.stages.digit import roi_pixels
from app.stages.results import FrameResults, HistogramResult
from app.state import ViewState

log = logging.getLogger(__name__)

#: The activation plot's input axis and the histograms' bin count.
AXIS = (-4.0, 4.0)
BINS = 64


def counts(values: np.ndarray, value_range: tuple[float, float], bins: int = BINS) -> np.ndarray:
    """(bins,) int64 counts of ``values`` over ``value_range``; outliers go to the end bins."""
    lo, hi = value_range
    flat = np.ascontiguousarray(values, np.float32).reshape(1, -1)
    if flat.size == 0:
        return np.zeros(bins, np.int64)
    # Just inside the top edge: calcHist's ranges are half-open.
    top = np.nextafter(np.float32(hi), np.float32(lo))
    clipped = np.clip(flat, np.float32(lo), top)
    hist = cv2.calcHist([clipped], [0], None, [bins], [lo, hi])
    return hist.ravel().astype(np.int64)


def activated_range(lo: float, hi: float, activation: str) -> tuple[float, float]:
    """(f(lo), f(hi)) for the activation f: the raw display range, passed through it."""
    f = ACTIVATION_FUNCTIONS[activation]
    out = f(np.array([lo, hi], np.float32))
    a, b = float(out[0]), float(out[1])
    return (a, b) if b > a else (a, a + 1e-6)


def output_axis(activation: str) -> tuple[float, float]:
    """The activation plot's output axis: the activation's image of ``AXIS``."""
    return {"sigmoid": (0.0, 1.0), "tanh": (-1.0, 1.0), "relu": (0.0, AXIS[1])}.get(
        activation, AXIS
    )


#: The pictures' scale: this percentile of the output's magnitude, smoothed with this
#: weight for the newest frame, never below ``MIN_SCALE``.
SCALE_PERCENTILE, SCALE_SMOOTHING, MIN_SCALE = 99.5, 0.2, 0.02


def visible_range(values: np.ndarray, signed: bool) -> tuple[float, float]:
    """(-r, r) or (0, r), r the ``SCALE_PERCENTILE`` of |values| (at least ``MIN_SCALE``)."""
    if values.size == 0:
        return (-MIN_SCALE, MIN_SCALE) if signed else (0.0, MIN_SCALE)
    r = max(float(np.percentile(np.abs(values), SCALE_PERCENTILE)), MIN_SCALE)
    return (-r, r) if signed else (0.0, r)


def _two_digits(value: float) -> float:
    """``value`` rounded to two significant digits (0.1463 -> 0.15)."""
    if value <= 0:
        return value
    return float(f"{value:.2g}")


#: The activations the view plots, in its order.
PLOTTED = ("sigmoid", "tanh", "relu")


class HistogramStage(Stage):
    """Counts the kernel output's values before and after each activation.

    The counts use every second row and column (a quarter of the values: the same
    shape, a quarter of the work); the pictures use every value.
    """

    name = "histogram"

    def __init__(self) -> None:
        self._warned = False
        self._scale: tuple[str, float] | None = None

    def process(self, frame: Frame, state: ViewState, results: FrameResults) -> None:
        kernel = results.kernel
        if kernel is None or kernel.raw is None:
            if not self._warned:
                log.warning("histogram: no kernel output; is the kernel stage first?")
                self._warned = True
            return
        # Signed kernels (sum 0: edges, Laplacian) answer both ways, the others do not.
        stack = kernel.matrices
        signed = raw_range(stack[0] if len(stack) == 1 else np.stack(stack))[0] < 0
        sample = np.ascontiguousarray(kernel.raw[::2, ::2])
        # The pictures show the ROI, where the teacher holds the paper, at its own scale.
        h, w = kernel.raw.shape
        x0, y0, x1, y1 = roi_pixels(state.roi, w, h)
        raw_roi, out_roi = kernel.raw[y0:y1, x0:x1], kernel.output[y0:y1, x0:x1]
        hi = visible_range(raw_roi, signed)[1]
        if self._scale is not None and self._scale[0] == kernel.name:
            hi = self._scale[1] + SCALE_SMOOTHING * (hi - self._scale[1])
        self._scale = (kernel.name, hi)
        hi = _two_digits(hi)  # steady figures on screen; the smoothing does the rest
        lo = -hi if signed else 0.0
        after = {
            name: counts(ACTIVATION_FUNCTIONS[name](sample), output_axis(name)) for name in PLOTTED
        }
        after_lo, after_hi = activated_range(lo, hi, state.activation)
        results.histogram = HistogramResult(
            before=counts(sample, AXIS),
            before_range=AXIS,
            after=after,
            after_ranges={name: output_axis(name) for name in PLOTTED},
            activation=state.activation,
            raw_display=to_display(raw_roi, lo, hi),
            raw_display_range=(lo, hi),
            after_display=to_display(out_roi, after_lo, after_hi),
            after_display_range=(after_lo, after_hi),
        )
