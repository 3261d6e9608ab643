"""Activations of a kernel's output and the fixed grey mapping each one is shown with."""

from __future__ import annotations

import functools
from collections.abc import Callable

import cv2
import numpy as np


def _none(x: np.ndarray) -> np.ndarray:
    return x


def _relu(x: np.ndarray) -> np.ndarray:
    return np.maximum(x, np.float32(0.0))


def _sigmoid(x: np.ndarray) -> np.ndarray:
    # exp(-x) overflows to inf for x < -88 in float32; 1 / (1 + inf) is still the right 0,
    # so only the warning needs silencing. Kernel outputs of [0, 1] images stay far inside.
    with np.errstate(over="ignore"):
        out = np.exp(-x)
    out += np.float32(1.0)
    return np.reciprocal(out, out=out)


def _tanh(x: np.ndarray) -> np.ndarray:
    return np.tanh(x)


#: Fast elementwise activations, float32 in and out. The NumPy reference path uses
#: ``training.layers.ACTIVATIONS`` instead, so the two can be compared.
ACTIVATION_FUNCTIONS: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "none": _none,
    "relu": _relu,
    "sigmoid": _sigmoid,
    "tanh": _tanh,
}


def step_response(kernel: np.ndarray) -> float:
    """The strongest response of a kernel (or Sobel pair, as a magnitude) to an ideal
    black-to-white step edge on a [0, 1] image, over 8 edge directions."""
    stack = kernel[None] if kernel.ndim == 2 else kernel
    k = stack.shape[-1]
    n = 4 * k + 1
    ys, xs = np.mgrid[0:n, 0:n] - n // 2
    best = 0.0
    for dy, dx in ((1, 0), (0, 1), (1, 1), (1, -1)):
        for sign in (1, -1):
            step = (sign * (dy * ys + dx * xs) > 0).astype(np.float32)
            responses = [cv2.filter2D(step, cv2.CV_32F, w)[k:-k, k:-k] for w in stack]
            magnitude = np.sqrt(sum(r * r for r in responses))
            best = max(best, float(magnitude.max()))
    return best


@functools.lru_cache(maxsize=64)
def _cached_step_response(data: bytes, shape: tuple[int, ...]) -> float:
    return step_response(np.frombuffer(data, np.float32).reshape(shape))


def raw_range(kernel: np.ndarray) -> tuple[float, float]:
    """The display range of a kernel's raw output on a [0, 1] image.

    - Zero-sum kernels (edges, Sobel, Laplacian) answer with a signed number: 0 on flat
      areas. The range is +- half their strongest response to an ideal black-to-white
      step edge (``step_response``): ink on paper differs by about half the grey scale,
      so a pen stroke's edge fills the scale without clipping most of the time
      (horizontal/vertical edge +-1.5, Sobel +-2, Laplacian +-1).
    - Other kernels (blurs, sharpen, emboss, identity) make a picture again: the range
      is 0..sum(w), where a flat white area lands.
    - The Sobel magnitude (a (2, k, k) pair) is non-negative: 0..half its step response.
    """
    k32 = np.ascontiguousarray(kernel, np.float32)
    half = round(_cached_step_response(k32.tobytes(), k32.shape) / 2.0, 3)
    if kernel.ndim == 3:
        return (0.0, half if half > 0 else 1.0)
    total = float(kernel.sum())
    if abs(total) < 1e-6:
        return (-half, half) if half > 0 else (-1.0, 1.0)
    return (0.0, total) if total > 0 else (total, 0.0)


def display_range(kernel: np.ndarray, activation: str) -> tuple[float, float]:
    """The fixed (lo, hi) mapped to grey 0..255 for a kernel and activation.

    Fixed per kernel and activation (never per frame), so the picture does not flicker
    and the legend means the same from frame to frame: none -> ``raw_range``; ReLU ->
    0..hi of that (negative responses are gone); sigmoid -> 0..1 (0 maps to 0.5, mid
    grey); tanh -> -1..1.
    """
    lo, hi = raw_range(kernel)
    if activation == "relu":
        return (0.0, hi if hi > 0 else 1.0)
    if activation == "sigmoid":
        return (0.0, 1.0)
    if activation == "tanh":
        return (-1.0, 1.0)
    return (lo, hi)


def to_display(values: np.ndarray, lo: float, hi: float) -> np.ndarray:
    """Map ``values`` linearly so lo -> 0 and hi -> 255, clipped: same shape, uint8."""
    scale = 255.0 / (hi - lo) if hi > lo else 1.0
    if values.size == 0:
        return np.zeros(values.shape, np.uint8)
    # One pass that scales, rounds and saturates to 0..255 (no float temporaries).
    src = np.ascontiguousarray(values, dtype=np.float32)
    return cv2.addWeighted(src, scale, src, 0.0, -lo * scale, dtype=cv2.CV_8U)
