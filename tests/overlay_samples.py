"""Fixed metadata and frames for the overlay's golden-frame tests (no randomness, no stages)."""

from __future__ import annotations

import cv2
import numpy as np

from app.overlay import OverlayInfo
from app.state import Roi, ViewState

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


def digit_metadata(status: str = "digit") -> dict:
    md = {
        "digit.roi_px": (212, 132, 428, 348),
        "digit.status": status,
        "digit.runtime": "LiteRT 1.2",
        "digit.tensor": np.zeros((28, 28), np.float32),
    }
    if status == "digit":
        md.update({"digit.prediction": 7, "digit.confidence": 0.86, "digit.probs": probs()})
    elif status == "no_digit":
        md.update({"digit.prediction": None, "digit.reason": "too little ink in the ROI"})
    else:
        md.update({"digit.reason": "model file models/lenet.tflite missing"})
    return md


def kernel_metadata(stride: int = 2) -> dict:
    matrix = np.array([[-1, -1, -1], [0, 0, 0], [1, 1, 1]], np.float32)
    h_out = (240 + 2 - 3) // stride + 1
    w_out = (320 + 2 - 3) // stride + 1
    return {
        "kernel.name": "horizontal_edge",
        "kernel.matrix": matrix,
        "kernel.operation": "correlation",
        "kernel.image": ramp_image(h_out, w_out),
        "kernel.range": (-3.0, 3.0),
        "kernel.in_shape": (240, 320),
        "kernel.out_shape": (h_out, w_out),
        "kernel.formula": f"H' = floor((240 + 2*1 - 3) / {stride}) + 1 = {h_out}",
        "kernel.formula_w": f"W' = floor((320 + 2*1 - 3) / {stride}) + 1 = {w_out}",
        "kernel.padding": "zero",
        "kernel.stride": stride,
        "kernel.activation": "none",
    }


def pool_metadata() -> dict:
    md = kernel_metadata(stride=1)
    md.update(
        {
            "pool.image": ramp_image(120, 160),
            "pool.range": (-3.0, 3.0),
            "pool.in_shape": (240, 320),
            "pool.out_shape": (120, 160),
            "pool.mode": "max",
            "pool.size": 2,
            "pool.formula": "H' = floor((240 - 2) / 2) + 1 = 120",
            "pool.formula_w": "W' = floor((320 - 2) / 2) + 1 = 160",
        }
    )
    return md


def features_metadata() -> dict:
    md = digit_metadata()

    def mosaic(name: str, h: int, w: int, shape: tuple, rng: tuple) -> dict:
        grey = ramp_image(h, w)
        return {
            "name": name,
            "image": cv2.applyColorMap(grey, cv2.COLORMAP_VIRIDIS),
            "range": rng,
            "shape": shape,
        }

    md.update(
        {
            "features.tensor_image": ramp_image(28, 28),
            "features.mosaics": [
                mosaic("conv1", 52, 156, (24, 24, 6), (-1.5, 2.25)),
                mosaic("pool1", 26, 78, (12, 12, 6), (0.0, 2.25)),
                mosaic("conv2", 42, 168, (10, 10, 16), (0.0, 6.5)),
                mosaic("pool2", 22, 88, (5, 5, 16), (0.0, 6.5)),
                mosaic("fc1", 60, 144, (120,), (0.0, 4.0)),
                mosaic("fc2", 42, 144, (84,), (0.0, 3.0)),
                mosaic("fc3", 12, 120, (10,), (-12.0, 12.0)),
            ],
            "features.learned_kernels": cv2.applyColorMap(ramp_image(20, 130), cv2.COLORMAP_JET),
            "features.learned_range": (-0.5, 0.5),
        }
    )
    return md


INFO = OverlayInfo(
    fps=29.8,
    stage_ms=(("kernel", 1.2), ("digit", 0.4), ("overlay", 0.3)),
    runtime="LiteRT",
    message="",
)

CASES = {
    "camera_digit": (ViewState(), digit_metadata("digit"), INFO),
    "camera_no_digit": (ViewState(roi=Roi(0.3, 0.6, 0.3)), digit_metadata("no_digit"), INFO),
    "camera_unavailable_message": (
        ViewState(),
        digit_metadata("unavailable"),
        OverlayInfo(fps=30.0, message="camera lost - retrying in 2 s"),
    ),
    "kernel_stride2": (ViewState(view="kernel", stride=2), kernel_metadata(2), INFO),
    "kernel_convolution": (
        ViewState(view="kernel", operation="convolution", numpy_reference=True),
        {**kernel_metadata(1), "kernel.reference": {"ms": 12.5, "max_abs_diff": 2e-6}},
        INFO,
    ),
    "pooling": (ViewState(view="pooling"), pool_metadata(), INFO),
    "features": (ViewState(view="features"), features_metadata(), INFO),
    "help": (ViewState(show_help=True), digit_metadata("digit"), INFO),
    "camera_numpy_reference": (
        ViewState(numpy_reference=True),
        {
            **digit_metadata("digit"),
            "digit.reference": {"ms": 2.4, "max_abs_diff": 3e-7, "prediction": 7},
        },
        INFO,
    ),
    "kernel_sobel_magnitude": (
        ViewState(view="kernel", kernel="sobel_magnitude", padding="reflect", activation="relu"),
        {
            **kernel_metadata(1),
            "kernel.name": "sobel_magnitude",
            "kernel.matrix": np.array([[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]], np.float32),
            "kernel.matrices": (
                np.array([[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]], np.float32),
                np.array([[-1, -2, -1], [0, 0, 0], [1, 2, 1]], np.float32),
            ),
            "kernel.combine": "magnitude",
            "kernel.range": (0.0, 4.0),
        },
        INFO,
    ),
}
