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

from app.learn.results import TeachResult
from app.stages.network_results import FeedforwardResult, NetworkResult
from app.state import ProbeRange

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
    ``input`` is the (H, W) float32 picture in [0, 1] the kernel slid over (the grey
    frame at processing size); ``raw`` the (H', W') float32 output before the activation;
    ``padding`` the pixels added on every side of ``input`` (k // 2, or 0 for valid).
    """

    name: str
    matrices: tuple[np.ndarray, ...]
    combine: str | None = None
    input: np.ndarray | None = None
    raw: np.ndarray | None = None
    padding: int = 0


@dataclass(frozen=True, kw_only=True, eq=False)
class PoolWindow:
    """One pooled value written out: ``values`` (n, n) float32, the kernel output under
    the window of the pooled map's ``unit`` (row, column); ``value`` their max or mean."""

    unit: tuple[int, int]
    values: np.ndarray
    value: float


@dataclass(frozen=True, kw_only=True, eq=False)
class PoolResult(MapResult):
    """The pooling stage: the kernel output max- or average-pooled, window = step;
    ``window`` the pooled value under the ROI's centre, written out (None: empty map)."""

    window: PoolWindow | None = None


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
        box: (x0, y0, x1, y1) of the digit's ink on ``Frame.array`` (this frame), or None.
        hint: "digit too small" / "digit too large" when the digit's size spoils the
            reading (``app.reading.size_hint``), else None.
        crop: the (h, w) uint8 grey picture ``tensor`` was read from (the ROI and its
            margin, from Frame.gray or, for a small digit, Frame.array), or None.
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
    box: tuple[int, int, int, int] | None = None
    hint: str | None = None
    crop: np.ndarray | None = None


@dataclass(frozen=True, kw_only=True, eq=False)
class NumberDigit:
    """One digit of the number in the ROI: its box on ``Frame.array`` (x0, y0, x1, y1),
    the digit read (None: not read as a digit), its probability and its (28, 28) tensor."""

    box: tuple[int, ...]
    digit: int | None
    confidence: float
    tensor: np.ndarray


@dataclass(frozen=True, kw_only=True, eq=False)
class NumberResult:
    """The number stage: every digit of this frame, and the number shown (smoothed).

    Attributes:
        status: ``DIGIT`` (a number is shown), ``NO_DIGIT`` or ``UNAVAILABLE``.
        reason: why no number is shown, else None.
        number: the number shown ("407"), smoothed over frames, or None.
        digits: this frame's digits, left to right.
        roi_px: (x0, y0, x1, y1) of the ROI on ``Frame.array``.
        runtime: what runs the network, for the screen.
    """

    status: str
    reason: str | None
    number: str | None
    digits: tuple[NumberDigit, ...]
    roi_px: tuple[int, int, int, int]
    runtime: str = ""


@dataclass(frozen=True, kw_only=True, eq=False)
class LayerMosaic:
    """One network layer's activation as a colour picture with a fixed scale.

    ``image``: (h, w, 3) uint8 BGR; ``value_range``: the (lo, hi) of its colour map
    (signed ranges use the diverging map); ``shape``: the activation's shape, (h, w, c)
    for conv/pool layers, (n,) for dense ones; ``columns`` tiles (channels or units) a
    row, each ``tile`` (h, w) px, ``gap`` px apart: i at x = (i % columns) * (w + gap).
    """

    name: str
    image: np.ndarray
    value_range: tuple[float, float]
    shape: tuple[int, ...]
    columns: int
    tile: tuple[int, int]
    gap: int


@dataclass(frozen=True, kw_only=True, eq=False)
class NamedKernel:
    """A hand-made kernel: its name (a preset's identifier, or a custom kernel's own name
    from the config) and its (k, k) float32 values as written."""

    name: str
    values: np.ndarray


@dataclass(frozen=True, kw_only=True, eq=False)
class FeaturesResult:
    """The features stage: every layer as a mosaic, the network's input, its kernels.

    Attributes:
        mosaics: one per layer, in network order (empty without a classifier).
        tensor_image: (28, 28) uint8, the input the mosaics came from (ink white).
        learned: conv1's kernels, (C, k, k) float32 (kernel c makes map c), or None.
        learned_range: the symmetric (lo, hi) the learned kernels are drawn on, or None.
        handmade: the single (k, k) presets and custom kernels, named, in cycle order.
        number_index: which digit of ``FrameResults.number`` the maps are of (the one
            under the cursor), or None: the digit stage's digit.
    """

    mosaics: tuple[LayerMosaic, ...]
    tensor_image: np.ndarray
    learned: np.ndarray | None = None
    learned_range: tuple[float, float] | None = None
    handmade: tuple[NamedKernel, ...] = ()
    number_index: int | None = None


@dataclass(frozen=True, kw_only=True, eq=False)
class WindowSum:
    """One output value of the kernel written out: the window, the products and their sum.

    Attributes:
        unit: (row, column) of the output value in the kernel's (H', W') output.
        origin: (row, column) of the window's top-left cell in the input; negative or
            past the input where it lies on the padding.
        window: (k, k) float32, the input values under the kernel (padding: 0 for zero
            padding, the mirrored pixel for reflect).
        padding: (k, k) bool, True where the cell is padding (outside the picture).
        kernels: the (k, k) kernels as applied (two for the Sobel magnitude).
        products: per kernel, (k, k) float32 window * kernel.
        sums: per kernel, the sum of its products.
        value: the output value after combining and the activation (the map's value).
        patch: (k + 2, k + 1 + max(1, stride)) float32, the input around the window
            (one cell on three sides, a stride's worth on the right: the next window fits),
            with ``patch_padding`` of the same shape (bool) and ``patch_origin`` its
            top-left in the input.
    """

    unit: tuple[int, int]
    origin: tuple[int, int]
    window: np.ndarray
    padding: np.ndarray
    kernels: tuple[np.ndarray, ...]
    products: tuple[np.ndarray, ...]
    sums: tuple[float, ...]
    value: float
    patch: np.ndarray
    patch_padding: np.ndarray
    patch_origin: tuple[int, int]


@dataclass(frozen=True, kw_only=True, eq=False)
class RowConvolution:
    """The 1-D formula on one picture row: ``(x * v)[n] = sum_i x[i] v[n - i]``.

    Attributes:
        row: the input row used.
        n: the output position written out.
        x: (W,) float32, the row (0 = black, 1 = white).
        v: (m,) float32, the 1-D kernel as written, ``v[v_first] .. v[v_first + m - 1]``.
        v_first: the index of ``v``'s first entry (-1 for a 3-tap kernel centred on 0).
        y: (W,) float32, the whole row filtered (zero padding), ``y[n]`` written out.
        flipped: True for convolution (``v[n - i]``), False for correlation
            (``v[i - n]``: the kernel as written).
        terms: (i, x[i], v index, v value, product) for every tap, in order of ``i``.
    """

    row: int
    n: int
    x: np.ndarray
    v: np.ndarray
    v_first: int
    y: np.ndarray
    flipped: bool
    terms: tuple[tuple[int, float, int, float, float], ...]


@dataclass(frozen=True, kw_only=True, eq=False)
class InspectResult:
    """The kernel inspector: one window written out and the 1-D formula on its row; the
    output unit the point starts on (``home``) and the probes that keep it on the output."""

    window: WindowSum
    row: RowConvolution
    home: tuple[int, int] = (0, 0)
    probe_range: ProbeRange = ((0, 0), (0, 0))


@dataclass(frozen=True, kw_only=True, eq=False)
class EdgesResult:
    """The course's slide on the live picture: the input, the horizontal-edge and the
    vertical-edge kernel outputs, with the current stride, padding and activation.

    ``original`` (H, W) uint8; ``horizontal``/``vertical`` (H', W') uint8 mapped from
    their ``value_range``; ``kernels`` the two (3, 3) kernels as applied (flipped for
    convolution).
    """

    original: np.ndarray
    horizontal: np.ndarray
    vertical: np.ndarray
    value_range: tuple[float, float]
    kernels: tuple[np.ndarray, np.ndarray]


@dataclass(frozen=True, kw_only=True, eq=False)
class HistogramResult:
    """The kernel output's values before and after each activation, counted.

    Attributes:
        before: (B,) int64 counts of the raw output over ``before_range`` (values
            beyond it are counted in the end bins).
        after: per activation (``sigmoid``, ``tanh``, ``relu``), (B,) int64 counts of
            the activated raw output over ``after_ranges[name]``.
        activation: the live setting (``none`` or one of the above).
        raw_display: (h, w) uint8, the ROI's part of the raw output on ``raw_display_range``.
        after_display: (h, w) uint8, the same part of the live activation's output on
            ``after_display_range``: the raw display range passed through the
            activation (so sigmoid and tanh, which squeeze small outputs, keep the raw
            picture's contrast).
    """

    before: np.ndarray
    before_range: tuple[float, float]
    after: Mapping[str, np.ndarray]
    after_ranges: Mapping[str, tuple[float, float]]
    activation: str
    raw_display: np.ndarray
    raw_display_range: tuple[float, float]
    after_display: np.ndarray
    after_display_range: tuple[float, float]


@dataclass(frozen=True, kw_only=True, eq=False)
class WhyCnnResult:
    """The "why a CNN" view: this picture's size, and the digit shifted.

    Attributes:
        picture: (height, width, colours) of the camera picture.
        shift: (dx, dy) pixels the 28x28 digit was moved by.
        tensor, shifted: (28, 28) float32, the network input before and after the shift.
        maps, shifted_maps: conv1's (28, 28, 6) float32 output for each.
        probs, shifted_probs: (10,) float32 class probabilities for each.
    """

    picture: tuple[int, int, int]
    shift: tuple[int, int]
    tensor: np.ndarray | None = None
    shifted: np.ndarray | None = None
    maps: np.ndarray | None = None
    shifted_maps: np.ndarray | None = None
    probs: np.ndarray | None = None
    shifted_probs: np.ndarray | None = None


@dataclass
class FrameResults:
    """Every stage's result for one frame; a stage that did not run leaves its field None.

    Each stage writes its own field once, at the end of ``process``; later stages read
    earlier fields (pooling reads ``kernel``, features reads ``digit``).
    """

    kernel: KernelResult | None = None
    pool: PoolResult | None = None
    inspect: InspectResult | None = None
    edges: EdgesResult | None = None
    histogram: HistogramResult | None = None
    digit: DigitResult | None = None
    number: NumberResult | None = None
    why: WhyCnnResult | None = None
    features: FeaturesResult | None = None
    network: NetworkResult | None = None
    dense: FeedforwardResult | None = None
    #: Not a stage's: the loop fills it from the run's teacher (``app.learn``), if any.
    teach: TeachResult | None = None
