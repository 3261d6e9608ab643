"""What each stage makes of a frame: one frozen, typed result per stage, read as attributes.

Stages hand results on through the per-frame ``FrameResults``, never through
references to each other (rpicam-apps' rule). A view, the snapshot and the status
read these attributes, so a renamed field fails where it is read, in a type checker
and in the pipeline goldens, instead of leaving a blank panel behind a string key.
Arrays are never copied into a result: a result owns what it holds and nobody writes
to it afterwards.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np

#: ``DigitResult.status`` values: a digit is shown / none is / the classifier is not loaded.
DIGIT, NO_DIGIT, UNAVAILABLE = "digit", "no_digit", "unavailable"


@dataclass(frozen=True, kw_only=True, eq=False)
class ReferenceRun:
    """The NumPy reference path run beside the fast one on the same input.

    ``ms``: its milliseconds; ``max_abs_diff``: the largest difference from the fast
    path's output (probabilities for the digit); ``prediction``: the digit the reference
    network says (digit stage only); ``error``: why the reference could not run.
    """

    ms: float = 0.0
    max_abs_diff: float = 0.0
    prediction: int | None = None
    error: str | None = None


@dataclass(frozen=True, kw_only=True, eq=False)
class MapResult:
    """A processed (H', W') map as the kernel and pooling views show it.

    Attributes:
        output: (H', W') float32, the values.
        image: (H', W') uint8, ``output`` mapped through ``value_range`` to grey.
        value_range: the (lo, hi) shown as black and white (fixed, never per frame).
        in_shape, out_shape: (rows, columns) before and after this stage.
        formula_h, formula_w: the output-size formula with the numbers in.
        reference: the NumPy reference run, when the NumPy reference is on.
    """

    output: np.ndarray
    image: np.ndarray
    value_range: tuple[float, float]
    in_shape: tuple[int, int]
    out_shape: tuple[int, int]
    formula_h: str
    formula_w: str
    reference: ReferenceRun | None = None


@dataclass(frozen=True, kw_only=True, eq=False)
class KernelResult(MapResult):
    """The kernel stage: the grey frame convolved, strided, padded and activated.

    ``name`` is the kernel applied (identity when the state names an unknown one);
    ``matrices`` are the (k, k) float32 kernels as slid over the image (flipped for
    convolution), two for the Sobel magnitude, combined as ``combine`` says.
    """

    name: str
    matrices: tuple[np.ndarray, ...]
    combine: str | None = None


@dataclass(frozen=True, kw_only=True, eq=False)
class PoolResult(MapResult):
    """The pooling stage: the kernel output max- or average-pooled, window = step."""


@dataclass(frozen=True, kw_only=True, eq=False)
class DigitResult:
    """The digit stage: the ROI's ink as an MNIST tensor, classified and smoothed.

    Attributes:
        status: ``DIGIT``, ``NO_DIGIT`` or ``UNAVAILABLE`` (no classifier loaded).
        reason: why there is no digit (None when one is shown).
        prediction: the digit shown, or None.
        confidence: the shown digit's smoothed probability (0.0 when none).
        probs: (10,) float32 smoothed probabilities.
        runtime: what runs the network, for the screen.
        roi_px: (x0, y0, x1, y1) of the ROI on ``Frame.array``, end exclusive.
        tensor: (28, 28) float32 in [0, 1] (ink = 1) of this frame, or None (no ink).
        layers: every layer's activation for ``layers_tensor`` (the last classified
            tensor): ``{"conv1": (28, 28, 6), ..., "fc3": (10,)}`` float32.
        layers_tensor: the (28, 28) float32 input ``layers`` came from, or None.
        reference: the NumPy reference network on the same tensor, when asked for.
    """

    status: str
    reason: str | None
    prediction: int | None
    confidence: float
    probs: np.ndarray
    runtime: str
    roi_px: tuple[int, int, int, int]
    tensor: np.ndarray | None
    layers: Mapping[str, np.ndarray] = field(default_factory=dict)
    layers_tensor: np.ndarray | None = None
    reference: ReferenceRun | None = None


@dataclass(frozen=True, kw_only=True, eq=False)
class LayerMosaic:
    """One network layer's activation as a colour picture with a fixed scale.

    ``image``: (h, w, 3) uint8 BGR; ``value_range``: the (lo, hi) of its colour map
    (signed ranges use the diverging map); ``shape``: the activation's shape, (h, w, c)
    for conv/pool layers, (n,) for dense ones.
    """

    name: str
    image: np.ndarray
    value_range: tuple[float, float]
    shape: tuple[int, ...]


@dataclass(frozen=True, kw_only=True, eq=False)
class FeaturesResult:
    """The features stage: every layer as a mosaic, the network's input, its kernels.

    Attributes:
        mosaics: one per layer, in network order (empty without a classifier).
        tensor_image: (28, 28) uint8, the input the mosaics came from (ink white).
        learned_kernels: conv1's kernels as one row of tiles, (h, w, 3) uint8 BGR, or None.
        learned_range: the (lo, hi) the learned kernels share, or None.
        handmade_kernels: the presets and custom kernels as tiles, each scaled to its
            own largest weight, (h, w, 3) uint8 BGR, or None.
    """

    mosaics: tuple[LayerMosaic, ...]
    tensor_image: np.ndarray
    learned_kernels: np.ndarray | None = None
    learned_range: tuple[float, float] | None = None
    handmade_kernels: np.ndarray | None = None


@dataclass
class FrameResults:
    """Every stage's result for one frame; a stage that did not run leaves its field None.

    Each stage writes its own field once, at the end of ``process``; later stages read
    earlier fields (pooling reads ``kernel``, features reads ``digit``).
    """

    kernel: KernelResult | None = None
    pool: PoolResult | None = None
    digit: DigitResult | None = None
    features: FeaturesResult | None = None
