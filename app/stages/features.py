"""Feature maps: every LeNet layer's activation as a colour mosaic with a fixed scale per layer."""

from __future__ import annotations

import functools
import logging
import math
from collections.abc import Mapping
from typing import Any, ClassVar

import cv2
import numpy as np

from app.colormaps import palette_for
from app.errors import SourceError
from app.frame import Frame
from app.stages.base import Param, Stage
from app.stages.kernels import KERNEL_PRESETS
from app.stages.results import FeaturesResult, FrameResults, LayerMosaic, NamedKernel
from app.state import ViewState

log = logging.getLogger(__name__)

#: Colour of the gaps between tiles (BGR).
GAP_BGR = (48, 48, 48)
#: Channel tiles are zoomed to about this many pixels (conv1's 28x28 stays 1:1).
DEFAULT_TILE_PX = 28
#: Dense layers are drawn as rows of this many cells.
DENSE_COLUMNS = 12
#: Calibration: the fixed colour scale of each layer comes from these percentiles of its
#: activations over the bundled demo digits.
LOW_PERCENTILE, HIGH_PERCENTILE = 0.5, 99.5


def _nice(value: float) -> float:
    """``value`` rounded up to two significant digits (legend-friendly), at least 1e-3."""
    value = max(float(value), 1e-3)
    step = 10.0 ** (math.floor(math.log10(value)) - 1)
    return round(math.ceil(value / step - 1e-9) * step, 12)


def layer_range(values: np.ndarray) -> tuple[float, float]:
    """The fixed colour scale for one layer from its calibration activations.

    Non-negative layers (ReLU, sigmoid and their pooling): 0 .. the 99.5th percentile.
    Signed layers (tanh, the logits): symmetric +- the larger magnitude of the 0.5th and
    99.5th percentiles, so 0 is always the map's middle (dark).
    """
    lo = float(np.percentile(values, LOW_PERCENTILE))
    hi = float(np.percentile(values, HIGH_PERCENTILE))
    if float(values.min()) >= 0.0:
        return (0.0, _nice(hi))
    m = _nice(max(abs(lo), abs(hi)))
    return (-m, m)


#: Pixels between the tiles of a mosaic.
MOSAIC_GAP = 2


def mosaic_grid(shape: tuple[int, ...], tile_px: int) -> tuple[int, int, int]:
    """(columns, zoom, tiles) of a layer's mosaic: tiles per row, the integer zoom of one
    tile, how many tiles.

    Conv/pool activations (h, w, c): one tile per channel, up to 8 per row, zoomed by an
    integer factor to about ``tile_px``. Dense (n,): one cell per unit, ``DENSE_COLUMNS``
    per row (10 or fewer in one row).
    """
    if len(shape) == 3:
        h, _, n = shape
        return min(8, n), max(1, tile_px // h), n
    n = int(np.prod(shape))
    columns = min(DENSE_COLUMNS, n) if n > 10 else n
    # The logits (10 cells in one row) get bigger cells than the 84-120 unit grids.
    zoom = max(4, tile_px // 2) if n <= 10 else max(4, tile_px // 5)
    return columns, zoom, n


@functools.lru_cache(maxsize=32)
def mosaic_layout(shape: tuple[int, ...], tile_px: int, gap: int = MOSAIC_GAP) -> np.ndarray:
    """Where each mosaic pixel comes from: (H, W) int32 indices into the activation
    flattened in (channel, row, column) order, and ``prod(shape)`` for gap pixels.

    The grid is ``mosaic_grid``'s. Computed once per layer shape; a frame's mosaic is
    then one gather.
    """
    columns, zoom, n = mosaic_grid(shape, tile_px)
    h, w = (shape[0], shape[1]) if len(shape) == 3 else (1, 1)
    th, tw = h * zoom, w * zoom
    rows = math.ceil(n / columns)
    layout = np.full((rows * (th + gap) - gap, columns * (tw + gap) - gap), n * h * w, np.int32)
    ys, xs = np.mgrid[0:th, 0:tw]
    tile = (ys // zoom) * w + xs // zoom
    for i in range(n):
        r, c = divmod(i, columns)
        y, x = r * (th + gap), c * (tw + gap)
        layout[y : y + th, x : x + tw] = i * h * w + tile
    layout.setflags(write=False)
    return layout


def layer_mosaic(
    name: str, activation: np.ndarray, value_range: tuple[float, float], tile_px: int
) -> LayerMosaic:
    """One layer as a colour mosaic: layout ``mosaic_layout``, ``value_range`` mapped
    through ``palette_for`` (fixed per layer), gaps in GAP_BGR."""
    act = np.asarray(activation, np.float32)
    lo, hi = value_range
    # Channel-major order, as the layout indexes it.
    flat = np.moveaxis(act, 2, 0).ravel() if act.ndim == 3 else act.ravel()
    scale = 255.0 / (hi - lo) if hi > lo else 1.0
    levels = np.clip((flat - lo) * scale + 0.5, 0, 255).astype(np.uint8)
    table = np.vstack([palette_for(lo)[levels], np.array([GAP_BGR], np.uint8)])
    shape = tuple(act.shape)
    # np.take, not table[layout]: the same gather, about 4x faster for these sizes.
    image = np.take(table, mosaic_layout(shape, tile_px), axis=0)
    columns, zoom, _ = mosaic_grid(shape, tile_px)
    tile = (shape[0] * zoom, shape[1] * zoom) if len(shape) == 3 else (zoom, zoom)
    return LayerMosaic(
        name=name,
        image=image,
        value_range=value_range,
        shape=shape,
        columns=columns,
        tile=tile,
        gap=MOSAIC_GAP,
    )


def handmade_kernels(kernels: Mapping[str, np.ndarray]) -> tuple[NamedKernel, ...]:
    """The single (k, k) kernels among presets/custom, named; Sobel magnitude's pair is
    skipped (its two kernels are sobel_x and sobel_y, already there)."""
    return tuple(
        NamedKernel(name=name, values=np.asarray(k, np.float32))
        for name, k in kernels.items()
        if k.ndim == 2
    )


class FeaturesStage(Stage):
    """Mosaics of the digit result's layers with fixed scales, the input tensor and the kernels.

    Parameters (``[stages.features]``): ``tile_px`` (16-128, default 28, conv1's own
    size), the size a channel tile is zoomed to (integer zoom, nearest neighbour). The
    overlay zooms further by whole factors when it has room, so small mosaics keep
    their pixels sharp and cost little to build.
    """

    name = "features"
    params: ClassVar[Mapping[str, Param]] = {
        "tile_px": Param(DEFAULT_TILE_PX, int, 16, 128, "tile size in px, 16-128"),
    }

    def __init__(
        self, classifier: Any | None = None, kernels: Mapping[str, np.ndarray] | None = None
    ) -> None:
        self.classifier = classifier
        self.kernels = dict(kernels if kernels is not None else KERNEL_PRESETS)
        self.tile_px = DEFAULT_TILE_PX
        self.ranges: dict[str, tuple[float, float]] = {}
        self.learned: np.ndarray | None = None
        self.learned_range: tuple[float, float] | None = None
        self.handmade: tuple[NamedKernel, ...] = ()
        self._calibrated = False

    def setup(self, values: Mapping[str, Any]) -> None:
        self.tile_px = int(values["tile_px"])
        self.handmade = handmade_kernels(self.kernels)
        learned = getattr(self.classifier, "learned_kernels", None)
        if learned is not None:
            weights = np.asarray(learned, np.float32)  # (k, k, 1, C) HWIO
            m = _nice(float(np.abs(weights).max()))
            self.learned_range = (-m, m)
            self.learned = np.ascontiguousarray(np.moveaxis(weights[:, :, 0, :], 2, 0))
            self.learned.setflags(write=False)
        # At start-up, not on the first features frame (64 NumPy forwards are a hiccup).
        self._ensure_calibrated()

    def calibrate(self, images: np.ndarray) -> None:
        """Fix each layer's colour scale from its activations on (N, 28, 28) images
        (uint8 pixels or float in [0, 1]; the classifier scales pixels itself)."""
        if self.classifier is None or len(images) == 0:
            return
        collected: dict[str, list[np.ndarray]] = {}
        for image in images:
            for name, act in self.classifier.predict(image).layers.items():
                collected.setdefault(name, []).append(np.asarray(act, np.float32).ravel())
        self.ranges = {name: layer_range(np.concatenate(v)) for name, v in collected.items()}
        log.info("features: colour scales %s", self.ranges)
        self._calibrated = True

    def _ensure_calibrated(self) -> None:
        if self._calibrated or self.classifier is None:
            return
        self._calibrated = True
        from app.sources.demo import load_demo_digits

        try:
            images, _ = load_demo_digits()
        except SourceError as e:
            log.warning("features: no calibration digits (%s); scales from the first frame", e)
            return
        self.calibrate(images[:64])

    def process(self, frame: Frame, state: ViewState, results: FrameResults) -> None:
        self._ensure_calibrated()
        layers, tensor, index = self._input(state, results)
        mosaics = []
        for name, act in layers.items():
            value_range = self.ranges.get(name)
            if value_range is None:
                value_range = layer_range(np.asarray(act, np.float32).ravel())
                self.ranges[name] = value_range
            mosaics.append(layer_mosaic(name, act, value_range, self.tile_px))
        if tensor is None:
            tensor_image = np.zeros((28, 28), np.uint8)
        else:
            tensor_image = cv2.convertScaleAbs(np.asarray(tensor, np.float32), alpha=255.0)
        results.features = FeaturesResult(
            mosaics=tuple(mosaics),
            tensor_image=tensor_image,
            learned=self.learned,
            learned_range=self.learned_range,
            handmade=self.handmade,
            number_index=index,
        )

    def _input(
        self, state: ViewState, results: FrameResults
    ) -> tuple[Mapping[str, np.ndarray], np.ndarray | None, int | None]:
        """The layers, the input tensor and the number's digit index to draw: the digit
        under the cursor (``state.probe_x``, clamped) when the number stage found digits
        this frame, else the digit stage's digit."""
        number = results.number
        if number is not None and number.digits and self.classifier is not None:
            index = min(max(state.probe_x, 0), len(number.digits) - 1)
            tensor = number.digits[index].tensor
            return self.classifier.predict(tensor).layers, tensor, index
        digit = results.digit
        if digit is None:
            return {}, None, None
        tensor = digit.layers_tensor if digit.layers_tensor is not None else digit.tensor
        return digit.layers, tensor, None
