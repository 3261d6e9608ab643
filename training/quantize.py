"""Int8 quantisation arithmetic for the exporter: weight scales, bias scales, activation ranges.

Follows the TFLite int8 scheme: weights symmetric int8 (zero point 0, range
-127..127), per output channel for convolutions; int32 biases with scale
``input_scale * weight_scale`` and zero point 0; activations asymmetric int8 whose
range always contains 0 so that zero padding and ReLU are exact.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from training import layers
from training.network import Params, forward
from training.spec import Spec

#: A scale this small stands for a tensor that is all zeros (avoids dividing by 0).
_MIN_SCALE = 1e-8


@dataclass(frozen=True)
class QuantizedWeights:
    """Int8 weights with one scale per slice along ``axis`` (or one for the tensor)."""

    values: np.ndarray  # int8, the shape of the float weights
    scales: np.ndarray  # float32, (n_channels,) or (1,)
    axis: int


def quantize_weights_symmetric(w: np.ndarray, axis: int | None) -> QuantizedWeights:
    """Symmetric int8 weights: ``q = round(w / s)``, ``s = max|w| / 127``.

    Args:
        w: float weights in TFLite layout (output channel first).
        axis: the channel axis for per-channel scales, or None for one scale.
    """
    w = np.asarray(w, dtype=np.float64)
    if axis is None:
        max_abs = np.array([np.abs(w).max()])
        scales = np.maximum(max_abs / 127.0, _MIN_SCALE)
        q = np.round(w / scales[0])
    else:
        other = tuple(i for i in range(w.ndim) if i != axis)
        max_abs = np.abs(w).max(axis=other)
        scales = np.maximum(max_abs / 127.0, _MIN_SCALE)
        shape = [1] * w.ndim
        shape[axis] = -1
        q = np.round(w / scales.reshape(shape))
    q = np.clip(q, -127, 127).astype(np.int8)
    return QuantizedWeights(q, scales.astype(np.float32), 0 if axis is None else axis)


def quantize_bias(b: np.ndarray, input_scale: float, weight_scales: np.ndarray) -> np.ndarray:
    """Int32 bias with scale ``input_scale * weight_scale`` (per channel if the weights are)."""
    scales = np.float64(input_scale) * weight_scales.astype(np.float64)
    q = np.round(np.asarray(b, dtype=np.float64) / scales)
    return np.clip(q, np.iinfo(np.int32).min, np.iinfo(np.int32).max).astype(np.int32)


def activation_params(lo: float, hi: float) -> tuple[float, int]:
    """Asymmetric int8 (scale, zero point) covering [lo, hi] widened to contain 0."""
    lo, hi = min(float(lo), 0.0), max(float(hi), 0.0)
    scale = max((hi - lo) / 255.0, _MIN_SCALE)
    zero_point = int(np.clip(np.round(-128 - lo / scale), -128, 127))
    return float(np.float32(scale)), zero_point


def calibration_ranges(
    spec: Spec,
    params: Params,
    x: np.ndarray,
    percentile: float | None = None,
    batch_size: int = 1000,
) -> dict[str, tuple[float, float]]:
    """The range of every layer's output, and of every pre-activation, over a set of images.

    Args:
        x: (N, 28, 28, 1) float32 network input.
        percentile: None for min/max (run in batches, any N); e.g. 99.99 to clip rare
            outliers (all N at once).
    Returns:
        ``{"conv1": (lo, hi), "conv1/preact": (lo, hi), ...}``; a layer whose
        activation is not ReLU/none also gets ``"<name>/preact"`` (what feeds the
        separate TANH/LOGISTIC op).
    """
    if percentile is not None:
        return _batch_ranges(spec, params, x, percentile)
    ranges: dict[str, tuple[float, float]] = {}
    for start in range(0, len(x), batch_size):
        batch = _batch_ranges(spec, params, x[start : start + batch_size], None)
        for key, (lo, hi) in batch.items():
            old = ranges.get(key, (lo, hi))
            ranges[key] = (min(old[0], lo), max(old[1], hi))
    return ranges


def _batch_ranges(
    spec: Spec, params: Params, x: np.ndarray, percentile: float | None
) -> dict[str, tuple[float, float]]:
    _, _, outputs = forward(spec, params, x, keep=True)
    ranges: dict[str, tuple[float, float]] = {}
    previous = x
    for layer in spec["layers"]:
        name = layer["name"]
        out = outputs[name]
        ranges[name] = _range(out, percentile)
        if layer["type"] in ("conv", "dense") and layer["activation"] not in ("relu", "none"):
            if layer["type"] == "conv":
                pre, _ = layers.conv2d_forward(
                    previous,
                    params[f"{name}/w"],
                    params[f"{name}/b"],
                    layer["stride"],
                    layer["padding"],
                )
            else:
                pre, _ = layers.dense_forward(previous, params[f"{name}/w"], params[f"{name}/b"])
            ranges[f"{name}/preact"] = _range(pre, percentile)
        previous = out
    return ranges


def _range(a: np.ndarray, percentile: float | None) -> tuple[float, float]:
    if percentile is None:
        return float(a.min()), float(a.max())
    lo, hi = np.percentile(a, [100.0 - percentile, percentile])
    return float(lo), float(hi)
