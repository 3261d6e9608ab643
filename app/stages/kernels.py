"""Kernel convolution of the grey frame: presets, custom kernels, stride, padding, activation."""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from typing import Any, ClassVar

import cv2
import numpy as np

from app.errors import ConfigError
from app.frame import Frame
from app.stages.activation import ACTIVATION_FUNCTIONS, display_range, to_display
from app.stages.base import Param, Stage
from app.stages.kernel_specs import PRESET_ROWS, check_kernel
from app.stages.results import FrameResults, KernelResult, ReferenceRun
from app.state import ViewState
from training import layers

log = logging.getLogger(__name__)


#: The kernel presets in the order the key table cycles through them (``PRESET_ROWS``).
#: Every value is (k, k) float32, except ``sobel_magnitude``: (2, 3, 3), Sobel x and y,
#: whose responses are combined as sqrt(gx^2 + gy^2).
KERNEL_PRESETS: dict[str, np.ndarray] = {
    name: np.array(rows, dtype=np.float32) for name, rows in PRESET_ROWS.items()
}

#: OpenCV border mode for each padding that pads (valid pads nothing and crops instead).
#: "reflect" mirrors without repeating the edge pixel (dcb|abcd|cba), as NumPy's
#: ``np.pad(mode="reflect")`` and OpenCV's BORDER_REFLECT_101 both do.
_BORDERS = {"zero": cv2.BORDER_CONSTANT, "reflect": cv2.BORDER_REFLECT_101}


def output_size(size: int, kernel: int, stride: int, padding: str) -> int:
    """H' = floor((H + 2p - k) / s) + 1 with p = k // 2 for zero/reflect, 0 for valid."""
    pad = 0 if padding == "valid" else kernel // 2
    return layers.conv_output_size(size, kernel, stride, pad)


def size_formula(size: int, kernel: int, stride: int, pad: int, axis: str = "H") -> str:
    """The output-size formula with the numbers in.

    E.g. ``H' = floor((240 + 2*1 - 3) / 2) + 1 = 120``.
    """
    out = layers.conv_output_size(size, kernel, stride, pad)
    return f"{axis}' = floor(({size} + 2*{pad} - {kernel}) / {stride}) + 1 = {out}"


def applied_kernels(kernel: np.ndarray, operation: str) -> np.ndarray:
    """The kernel(s) as slid over the image: (n, k, k) float32, flipped for convolution.

    Convolution (the course's definition) flips the kernel in both axes; cross-correlation,
    what CNN layers compute, uses it as written.
    """
    stack = kernel[None] if kernel.ndim == 2 else kernel
    if operation == "convolution":
        stack = stack[:, ::-1, ::-1]
    return np.ascontiguousarray(stack, dtype=np.float32)


def fast_filter(image: np.ndarray, kernel: np.ndarray, stride: int, padding: str) -> np.ndarray:
    """Cross-correlate a (H, W) float32 image with a (k, k) kernel: (H', W') float32.

    cv2.filter2D computes the "same"-size correlation with the chosen border; valid
    padding crops the k // 2 rows/columns that needed a border, and the stride keeps
    every s-th position starting at the first window, which gives exactly
    floor((H + 2p - k) / s) + 1 outputs.
    """
    k = kernel.shape[0]
    pad = k // 2
    h, w = image.shape
    if padding == "valid":
        if h < k or w < k:
            return np.zeros((0, 0), np.float32)
        full = cv2.filter2D(image, cv2.CV_32F, kernel, borderType=cv2.BORDER_CONSTANT)
        full = full[pad : h - pad, pad : w - pad]
    else:
        if padding == "reflect" and (h <= pad or w <= pad):
            raise ValueError(f"reflect padding of {pad} needs an image larger than {pad} px")
        full = cv2.filter2D(image, cv2.CV_32F, kernel, borderType=_BORDERS[padding])
    return full[::stride, ::stride] if stride > 1 else full


def reference_filter(
    image: np.ndarray, kernel: np.ndarray, stride: int, padding: str
) -> np.ndarray:
    """The same result through the NumPy reference layer ``training.layers.conv2d_forward``."""
    k = kernel.shape[0]
    pad = 0 if padding == "valid" else k // 2
    x = image[None, :, :, None]
    if padding == "reflect":
        x = np.pad(x, ((0, 0), (pad, pad), (pad, pad), (0, 0)), mode="reflect")
        pad = 0
    out, _ = layers.conv2d_forward(
        x, kernel[:, :, None, None], np.zeros(1, np.float32), stride=stride, pad=pad
    )
    return out[0, :, :, 0]


def combine(responses: list[np.ndarray]) -> np.ndarray:
    """One response as is; two (Sobel x, y) as the gradient magnitude sqrt(gx^2 + gy^2)."""
    if len(responses) == 1:
        return responses[0]
    gx, gy = responses
    return cv2.magnitude(gx, gy) if gx.size else gx


def processing_image(gray: np.ndarray, processing_width: int) -> np.ndarray:
    """Frame.gray scaled to [0, 1] float32, downscaled (area) to ``processing_width``.

    Dividing by 255 makes an ideal black-to-white step worth 1, so a kernel's output is
    a small number (e.g. up to 3 for the 3x3 edge kernels) where sigmoid and tanh are
    neither saturated nor linear: their effect on an edge map is visible.
    """
    h, w = gray.shape
    if processing_width and w > processing_width:
        new_h = max(1, round(h * processing_width / w))
        gray = cv2.resize(gray, (processing_width, new_h), interpolation=cv2.INTER_AREA)
    out = np.empty(gray.shape, np.float32)
    return cv2.multiply(gray, 1.0 / 255.0, dst=out, dtype=cv2.CV_32F)


def raw_response(
    image: np.ndarray, kernel: np.ndarray, *, stride: int, padding: str, operation: str
) -> np.ndarray:
    """The kernel (or Sobel pair, combined) slid over a (H, W) float32 image, before any
    activation: (H', W') float32."""
    stack = applied_kernels(kernel, operation)
    return combine([fast_filter(image, k, stride, padding) for k in stack])


def apply_kernel(
    image: np.ndarray,
    kernel: np.ndarray,
    *,
    stride: int,
    padding: str,
    activation: str,
    operation: str,
) -> np.ndarray:
    """Kernel (or kernel pair), stride, padding and activation on a (H, W) float32 image.

    Returns the (H', W') float32 output after the activation.
    """
    raw = raw_response(image, kernel, stride=stride, padding=padding, operation=operation)
    return ACTIVATION_FUNCTIONS[activation](raw)


def reference_run(
    image: np.ndarray,
    kernel: np.ndarray,
    output: np.ndarray,
    *,
    stride: int,
    padding: str,
    activation: str,
    operation: str,
) -> ReferenceRun:
    """The same through ``training.layers``: its time and largest difference from ``output``."""
    start = time.perf_counter()
    stack = applied_kernels(kernel, operation)
    # The reference combines the Sobel pair with NumPy, not cv2.magnitude.
    responses = [reference_filter(image, k, stride, padding) for k in stack]
    ref = responses[0] if len(responses) == 1 else np.sqrt(responses[0] ** 2 + responses[1] ** 2)
    ref = layers.ACTIVATIONS[activation][0](ref)[0]
    ms = (time.perf_counter() - start) * 1000.0
    diff = float(np.max(np.abs(ref - output))) if output.size else 0.0
    return ReferenceRun(ms=ms, max_abs_diff=diff)


class KernelStage(Stage):
    """Convolve the (downscaled) grey frame with the selected kernel.

    Args:
        custom: the custom kernels (``[kernels.custom]``): name -> rows, checked by
            ``kernel_specs.check_kernel``; they follow the presets in the kernel cycle.
    """

    name = "kernel"
    params: ClassVar[Mapping[str, Param]] = {
        "processing_width": Param(
            320, int, 0, 4096, "an integer 0-4096 (0 = the grey frame's own width)"
        ),
    }

    def __init__(self, custom: Mapping[str, Any] | None = None) -> None:
        self.processing_width = 320
        self.kernels: dict[str, np.ndarray] = dict(KERNEL_PRESETS)
        for name, rows in (custom or {}).items():
            self.kernels[name] = np.array(check_kernel(name, rows), np.float32)
        self.custom_names = tuple(custom or ())
        self._warned: set[str] = set()

    def setup(self, values: Mapping[str, Any]) -> None:
        width = values["processing_width"]
        if 0 < width < 16:
            raise ConfigError(f"stage kernel: processing_width = {width}; below 16 px")
        self.processing_width = width

    def process(self, frame: Frame, state: ViewState, results: FrameResults) -> None:
        name = state.kernel
        kernel = self.kernels.get(name)
        if kernel is None:
            if name not in self._warned:
                log.warning("kernel %r is not a preset or custom kernel; using identity", name)
                self._warned.add(name)
            name, kernel = "identity", KERNEL_PRESETS["identity"]
        image = processing_image(frame.gray, self.processing_width)
        k = kernel.shape[-1]
        if state.padding == "valid" and min(image.shape) < k:
            # A smaller image than the kernel has no valid position: show an empty map.
            image = np.zeros((k, k), np.float32)
        how = {
            "stride": state.stride,
            "padding": state.padding,
            "activation": state.activation,
            "operation": state.operation,
        }
        raw = raw_response(
            image, kernel, stride=state.stride, padding=state.padding, operation=state.operation
        )
        # The activations return new arrays (none returns its input: raw is never written).
        output = ACTIVATION_FUNCTIONS[state.activation](raw)
        reference = reference_run(image, kernel, output, **how) if state.numpy_reference else None
        lo, hi = display_range(kernel, state.activation)
        pad = 0 if state.padding == "valid" else k // 2
        h, w = image.shape
        stack = applied_kernels(kernel, state.operation)
        results.kernel = KernelResult(
            name=name,
            matrices=tuple(stack),
            combine="magnitude" if len(stack) == 2 else None,
            output=output,
            image=to_display(output, lo, hi),
            value_range=(lo, hi),
            in_shape=(h, w),
            out_shape=output.shape,
            formula_h=size_formula(h, k, state.stride, pad, "H"),
            formula_w=size_formula(w, k, state.stride, pad, "W"),
            reference=reference,
            input=image,
            raw=raw,
            padding=pad,
        )
