"""The network's dense layers run on the digit, layer by layer: a feedforward network.

The first dense layer's inputs are the outputs of the layer before the flatten
(``pool2``: 5 x 5 x 16 = 400 numbers), taken from the digit stage; each dense layer
then computes ``z = x · w + b`` (a weighted sum per neuron) and ``a = f(z)`` with the
shipped weights (``lenet.npz``), so every number the view writes out adds up on
screen. One neuron's weighted sum is written out: the point (``ViewState.probe``)
picks the layer (columns) and the neuron by its rank in that layer (rows; 0 is the
strongest, in the last layer the network's answer).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

import numpy as np

from app.frame import Frame
from app.stages.activation import ACTIVATION_FUNCTIONS
from app.stages.base import Stage
from app.stages.inspect import REFRESH_FRAMES
from app.stages.network_results import DenseRun, FeedforwardResult, NetworkResult
from app.stages.results import FrameResults
from app.state import ViewState

log = logging.getLogger(__name__)


def dense_layers(spec: Mapping[str, Any]) -> tuple[str, list[tuple[str, str]]]:
    """The layer feeding the first dense layer and every dense layer's (name, activation).

    Raises:
        ValueError: the spec has no dense layer, or nothing before it to feed it.
    """
    layers = list(spec.get("layers", []))
    first = next((i for i, layer in enumerate(layers) if layer["type"] == "dense"), None)
    if first is None:
        raise ValueError("the network has no dense layer")
    before = [layer for layer in layers[:first] if layer["type"] != "flatten"]
    if not before:
        raise ValueError("the network's first dense layer has no layer before it")
    dense = [(layer["name"], layer["activation"]) for layer in layers if layer["type"] == "dense"]
    return before[-1]["name"], dense


def run_dense(network: NetworkResult, features: np.ndarray) -> tuple[DenseRun, ...]:
    """Every dense layer on ``features`` (the feeding layer's output, any shape: flattened
    in NHWC order, as the network's flatten does).

    Raises:
        ValueError: the weights are missing or do not fit the inputs.
    """
    _, dense = dense_layers(network.spec or {})
    x = np.asarray(features, np.float32).reshape(-1)
    runs = []
    for name, activation in dense:
        w, b = network.weights.get(name), network.biases.get(name)
        if w is None or b is None or w.shape != (x.size, b.size):
            raise ValueError(f"{name}: no weights for {x.size} inputs")
        z = (x @ w + b).astype(np.float32)
        a = ACTIVATION_FUNCTIONS[activation](z).astype(np.float32)
        runs.append(DenseRun(name=name, activation=activation, x=x, w=w, b=b, z=z, a=a))
        x = a
    return tuple(runs)


def softmax(z: np.ndarray) -> np.ndarray:
    """(n,) float32 probabilities of the logits ``z`` (computed in float64)."""
    e = np.exp(z.astype(np.float64) - float(np.max(z)))
    return (e / e.sum()).astype(np.float32)


def written_out(
    runs: tuple[DenseRun, ...], probe: tuple[int, int]
) -> tuple[int, int, int, np.ndarray, np.ndarray]:
    """(layer, neuron, rank, products, order) of the neuron the probe picks: column
    ``probe[0]`` (a layer), row ``probe[1]`` (a rank by output, 0 = the strongest; ties
    in neuron order), both clamped to the network."""
    layer = min(max(probe[0], 0), len(runs) - 1)
    run = runs[layer]
    rank = min(max(probe[1], 0), run.a.size - 1)
    neuron = int(np.argsort(-run.a, kind="stable")[rank])
    products = (run.x * run.w[:, neuron]).astype(np.float32)
    order = np.argsort(-np.abs(products), kind="stable")
    return layer, neuron, rank, products, order


class DenseStage(Stage):
    """Runs the dense layers on the digit's features and writes one neuron's sum out.

    Needs the digit and network stages first. The numbers are recomputed every
    ``REFRESH_FRAMES`` frames (readable, like the inspector's), and at once when the
    point moves.
    """

    name = "dense"

    def __init__(self) -> None:
        self._last: tuple[tuple, int, FeedforwardResult] | None = None
        self._warned = ""

    def process(self, frame: Frame, state: ViewState, results: FrameResults) -> None:
        network, digit = results.network, results.digit
        if network is None or network.spec is None or digit is None:
            return
        tensor = digit.layers_tensor
        try:
            source, _ = dense_layers(network.spec)
        except ValueError as exc:
            self._warn(str(exc))
            return
        features = digit.layers.get(source)
        if tensor is None or features is None:
            return
        key = (state.probe, source)
        if self._last is not None:
            last_key, at, last = self._last
            if last_key == key and 0 <= frame.seq - at < REFRESH_FRAMES:
                results.dense = last
                return
        try:
            runs = run_dense(network, features)
        except ValueError as exc:
            self._warn(str(exc))
            return
        layer, neuron, rank, products, order = written_out(runs, state.probe)
        results.dense = FeedforwardResult(
            tensor=np.asarray(tensor, np.float32),
            source=source,
            source_shape=tuple(np.shape(features)),
            runs=runs,
            probs=softmax(runs[-1].z),
            layer=layer,
            neuron=neuron,
            rank=rank,
            products=products,
            order=order,
            probe_range=((0, len(runs) - 1), (0, runs[layer].a.size - 1)),
        )
        self._last = (key, frame.seq, results.dense)

    def _warn(self, problem: str) -> None:
        if problem != self._warned:
            log.warning("dense: %s", problem)
            self._warned = problem
