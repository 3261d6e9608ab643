"""Hand-made stage results and frames for the overlay's golden-frame tests (no stages).

The pipeline goldens (``tests/test_pipeline_golden.py``) draw what the real stages make;
these cases pin what the stages rarely make on the demo: an unavailable classifier, a
camera message, the NumPy reference, the Sobel pair, the help table.
"""

from __future__ import annotations

from typing import Any

import cv2
import numpy as np

from app.stages.kernels import KERNEL_PRESETS
from app.stages.results import (
    DIGIT,
    NO_DIGIT,
    UNAVAILABLE,
    DigitResult,
    FeaturesResult,
    FrameResults,
    KernelResult,
    LayerMosaic,
    NamedKernel,
    PoolResult,
    PoolWindow,
    ReferenceRun,
)
from app.state import Roi
from app.status import FrameStatus

WIDTH, HEIGHT = 640, 480


def camera_frame() -> np.ndarray:
    """(480, 640, 3) uint8 BGR: a lit sheet of paper with a hand-drawn 7, deterministic."""
    ys, xs = np.mgrid[0:HEIGHT, 0:WIDTH].astype(np.float32)
    light = 200 - 0.06 * xs - 0.04 * ys
    frame = np.stack([light * 0.92, light * 0.97, light], axis=2).astype(np.uint8)
    cv2.line(frame, (260, 170), (380, 170), (50, 40, 35), 14, cv2.LINE_AA)
    cv2.line(frame, (380, 170), (300, 320), (50, 40, 35), 14, cv2.LINE_AA)
    return frame


def ramp_image(h: int, w: int) -> np.ndarray:
    """(h, w) uint8 diagonal ramp with a checker so scaling steps are visible."""
    ys, xs = np.mgrid[0:h, 0:w]
    ramp = (xs * 255 // max(1, w - 1) + ys * 64 // max(1, h - 1)) % 256
    checker = ((ys // 4 + xs // 4) % 2) * 40
    return np.clip(ramp + checker - 20, 0, 255).astype(np.uint8)


def probs() -> np.ndarray:
    p = np.array([0.01, 0.02, 0.01, 0.03, 0.01, 0.02, 0.01, 0.86, 0.02, 0.01], np.float32)
    return p / p.sum()


def digit_result(status: str = DIGIT, **changes: Any) -> DigitResult:
    fields: dict[str, Any] = {
        "status": status,
        "reason": None,
        "prediction": None,
        "confidence": 0.0,
        "probs": np.zeros(10, np.float32),
        "runtime": "LiteRT 1.2",
        "roi_px": (212, 132, 428, 348),
        "tensor": np.zeros((28, 28), np.float32),
    }
    if status == DIGIT:
        fields.update(prediction=7, confidence=0.86, probs=probs())
    elif status == NO_DIGIT:
        fields.update(reason="too little ink in the ROI")
    else:
        fields.update(reason="model file models/lenet.tflite missing")
    return DigitResult(**{**fields, **changes})


def digit_results(status: str = DIGIT, **changes: Any) -> FrameResults:
    return FrameResults(digit=digit_result(status, **changes))


def kernel_result(stride: int = 2, **changes: Any) -> KernelResult:
    matrix = np.array([[-1, -1, -1], [0, 0, 0], [1, 1, 1]], np.float32)
    h_out = (240 + 2 - 3) // stride + 1
    w_out = (320 + 2 - 3) // stride + 1
    image = ramp_image(h_out, w_out)
    fields: dict[str, Any] = {
        "name": "horizontal_edge",
        "matrices": (matrix,),
        "output": image.astype(np.float32),
        "image": image,
        "value_range": (-3.0, 3.0),
        "in_shape": (240, 320),
        "out_shape": (h_out, w_out),
        "formula_h": f"H' = floor((240 + 2*1 - 3) / {stride}) + 1 = {h_out}",
        "formula_w": f"W' = floor((320 + 2*1 - 3) / {stride}) + 1 = {w_out}",
        "input": ramp_image(240, 320).astype(np.float32) / 255.0,
        "padding": 1,
    }
    return KernelResult(**{**fields, **changes})


def pool_results() -> FrameResults:
    image = ramp_image(120, 160)
    pool = PoolResult(
        output=image.astype(np.float32),
        image=image,
        value_range=(-3.0, 3.0),
        in_shape=(240, 320),
        out_shape=(120, 160),
        formula_h="H' = floor((240 - 2) / 2) + 1 = 120",
        formula_w="W' = floor((320 - 2) / 2) + 1 = 160",
        window=PoolWindow(
            unit=(60, 80),
            values=np.array([[0.25, -1.5], [2.0, 0.75]], np.float32),
            value=2.0,
        ),
    )
    return FrameResults(kernel=kernel_result(stride=1), pool=pool)


def features_results() -> FrameResults:
    def mosaic(name: str, h: int, w: int, shape: tuple, rng: tuple) -> LayerMosaic:
        grey = ramp_image(h, w)
        image = cv2.applyColorMap(grey, cv2.COLORMAP_VIRIDIS)
        # One row of tiles across the picture (the view only needs the grid's numbers).
        columns = shape[2] if len(shape) == 3 else min(12, shape[0])
        tile = (h, (w - 2 * (columns - 1)) // columns)
        return LayerMosaic(
            name=name, image=image, value_range=rng, shape=shape, columns=columns, tile=tile, gap=2
        )

    features = FeaturesResult(
        tensor_image=ramp_image(28, 28),
        mosaics=(
            mosaic("conv1", 52, 156, (24, 24, 6), (-1.5, 2.25)),
            mosaic("pool1", 26, 78, (12, 12, 6), (0.0, 2.25)),
            mosaic("conv2", 42, 168, (10, 10, 16), (0.0, 6.5)),
            mosaic("pool2", 22, 88, (5, 5, 16), (0.0, 6.5)),
            mosaic("fc1", 60, 144, (120,), (0.0, 4.0)),
            mosaic("fc2", 42, 144, (84,), (0.0, 3.0)),
            mosaic("fc3", 12, 120, (10,), (-12.0, 12.0)),
        ),
        learned=np.linspace(-0.5, 0.5, 6 * 5 * 5, dtype=np.float32).reshape(6, 5, 5),
        learned_range=(-0.5, 0.5),
        handmade=(
            NamedKernel(name="horizontal_edge", values=KERNEL_PRESETS["horizontal_edge"]),
            NamedKernel(name="box_blur", values=KERNEL_PRESETS["box_blur"]),
        ),
    )
    return FrameResults(digit=digit_result(), features=features)


#: The footer's figures of every case but one.
FIGURES = {
    "fps": 29.8,
    "stage_ms": (("kernel", 1.2), ("digit", 0.4), ("overlay", 0.3)),
    "runtime": "LiteRT",
}


def status(figures: dict | None = None, **settings: Any) -> FrameStatus:
    """A frame status with these settings (ViewState fields) and footer figures."""
    return FrameStatus(**settings, **(FIGURES if figures is None else figures))


SOBEL_X = np.array([[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]], np.float32)
SOBEL_Y = np.array([[-1, -2, -1], [0, 0, 0], [1, 2, 1]], np.float32)

CASES = {
    "camera_digit": (status(), digit_results(DIGIT)),
    "camera_no_digit": (status(roi=Roi(0.3, 0.6, 0.3)), digit_results(NO_DIGIT)),
    "camera_unavailable_message": (
        status({"fps": 30.0, "message": "camera lost - retrying in 2 s"}),
        digit_results(UNAVAILABLE),
    ),
    "kernel_stride2": (
        status(view="kernel", stride=2),
        FrameResults(kernel=kernel_result(2)),
    ),
    "kernel_convolution": (
        status(view="kernel", operation="convolution", numpy_reference=True),
        FrameResults(kernel=kernel_result(1, reference=ReferenceRun(ms=12.5, max_abs_diff=2e-6))),
    ),
    "pooling": (status(view="pooling"), pool_results()),
    "features": (status(view="features"), features_results()),
    "help": (status(show_help=True), digit_results(DIGIT)),
    "camera_numpy_reference": (
        status(numpy_reference=True),
        digit_results(DIGIT, reference=ReferenceRun(ms=2.4, max_abs_diff=3e-7, prediction=7)),
    ),
    "kernel_sobel_magnitude": (
        status(view="kernel", kernel="sobel_magnitude", padding="reflect", activation="relu"),
        FrameResults(
            kernel=kernel_result(
                1,
                name="sobel_magnitude",
                matrices=(SOBEL_X, SOBEL_Y),
                combine="magnitude",
                value_range=(0.0, 4.0),
            )
        ),
    ),
}
