"""The network's results: what is known about it (``app.stages.network``) and its dense
layers run on the digit (``app.stages.dense``).

Beside ``app.stages.results``, which holds the other stages' results and the frame's
``FrameResults`` (and imports these), so that each module stays within 400 lines.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np

from app.state import ProbeRange


@dataclass(frozen=True, kw_only=True, eq=False)
class DenseRun:
    """One dense layer on this digit: ``z = x · w + b``, ``a = f(z)`` (``activation`` names f,
    ``none`` for the logits); x (n_in,), w (n_in, n_out), b, z, a (n_out,) float32."""

    name: str
    activation: str
    x: np.ndarray
    w: np.ndarray
    b: np.ndarray
    z: np.ndarray
    a: np.ndarray


@dataclass(frozen=True, kw_only=True, eq=False)
class FeedforwardResult:
    """The network's dense layers run on the digit, one neuron's weighted sum written out.

    Attributes:
        tensor: (28, 28) float32, the network's input (ink = 1).
        source: the layer whose outputs, flattened, are the first dense layer's inputs
            (``pool2``), and ``source_shape`` its shape, (5, 5, 16).
        runs: every dense layer in order; ``probs`` (10,) float32, softmax of the last z.
        layer, neuron, rank: the neuron written out: its layer's index in ``runs``, its
            index in the layer, its rank by output there (0 = the strongest).
        products, order: its (n_in,) float32 ``x * w`` terms, their indices largest first.
        probe_range: the arrows' limits: ((0, layers - 1), (0, neurons - 1)).
    """

    tensor: np.ndarray
    source: str
    source_shape: tuple[int, ...]
    runs: tuple[DenseRun, ...]
    probs: np.ndarray
    layer: int
    neuron: int
    rank: int
    products: np.ndarray
    order: np.ndarray
    probe_range: ProbeRange


@dataclass(frozen=True, kw_only=True, eq=False)
class TopPatches:
    """One layer's most exciting MNIST patches (``training.top_patches``).

    ``patches`` (C, k, r, r) uint8 ink = 255; ``values`` (C, k) float32, strongest first.
    """

    patches: np.ndarray
    values: np.ndarray


@dataclass(frozen=True, kw_only=True, eq=False)
class NetworkResult:
    """What is known about the shipped network without running it (the same every frame).

    Attributes:
        spec: the network's spec (``training.spec``), or None when it could not be read.
        shapes: (layer, output shape) in network order.
        params: trainable numbers per layer (weights + biases).
        fields: (layer, (size, jump, start)) receptive fields of the conv/pool layers.
        weights: ``{"conv1": (5, 5, 1, 6), "conv2": (5, 5, 6, 16)}`` float32 HWIO, and
            every dense layer's (n_in, n_out) float32 (``"fc1": (400, 120)``).
        biases: every dense layer's (n_out,) float32.
        metrics: the training run's figures (``lenet_metrics.json``): test accuracy etc.
        top: per layer, the patches that excite its channels most, or missing.
        problems: what could not be read, one line each.
    """

    spec: Mapping[str, object] | None
    shapes: tuple[tuple[str, tuple[int, ...]], ...] = ()
    params: tuple[tuple[str, int], ...] = ()
    fields: tuple[tuple[str, tuple[int, int, int]], ...] = ()
    weights: Mapping[str, np.ndarray] = field(default_factory=dict)
    biases: Mapping[str, np.ndarray] = field(default_factory=dict)
    metrics: Mapping[str, object] = field(default_factory=dict)
    top: Mapping[str, TopPatches] = field(default_factory=dict)
    problems: tuple[str, ...] = ()
