"""LeNet-5 described once, as data, for training, evaluation, export and the app.

A spec is a plain dict that survives JSON (it is stored inside ``lenet.npz`` and in
the TFLite model's description)::

    {"name": "lenet5", "input_shape": [28, 28, 1], "num_classes": 10,
     "input_scale": 1/255,          # float input = uint8 pixel * scale; ink = 1
     "layers": [{"name": "conv1", "type": "conv", "filters": 6, "kernel": 5,
                 "stride": 1, "padding": 2, "activation": "relu"}, ...]}

Layer types: ``conv`` (filters, kernel, stride, padding, activation), ``pool``
(mode max|avg, size, stride), ``flatten``, ``dense`` (units, activation). The
last dense layer has activation ``none``: its outputs are the logits.
"""

from __future__ import annotations

import copy
from typing import Any

ACTIVATION_CHOICES = ("relu", "tanh", "sigmoid")
POOLING_CHOICES = ("max", "avg")

Spec = dict[str, Any]


def lenet5_spec(activation: str = "relu", pooling: str = "max") -> Spec:
    """The default LeNet-5: conv 6@5x5 (same), pool 2, conv 16@5x5, pool 2, 120, 84, 10.

    ``activation`` and ``pooling`` select the classic 1998 variant (tanh/sigmoid with
    average pooling) or the modern one (ReLU with max pooling).
    """
    if activation not in ACTIVATION_CHOICES:
        raise ValueError(f"activation {activation!r} is not one of {', '.join(ACTIVATION_CHOICES)}")
    if pooling not in POOLING_CHOICES:
        raise ValueError(f"pooling {pooling!r} is not one of {', '.join(POOLING_CHOICES)}")
    return {
        "name": "lenet5",
        "input_shape": [28, 28, 1],
        "num_classes": 10,
        "input_scale": 1.0 / 255.0,
        "layers": [
            {"name": "conv1", "type": "conv", "filters": 6, "kernel": 5, "stride": 1,
             "padding": 2, "activation": activation},
            {"name": "pool1", "type": "pool", "mode": pooling, "size": 2, "stride": 2},
            {"name": "conv2", "type": "conv", "filters": 16, "kernel": 5, "stride": 1,
             "padding": 0, "activation": activation},
            {"name": "pool2", "type": "pool", "mode": pooling, "size": 2, "stride": 2},
            {"name": "flatten", "type": "flatten"},
            {"name": "fc1", "type": "dense", "units": 120, "activation": activation},
            {"name": "fc2", "type": "dense", "units": 84, "activation": activation},
            {"name": "fc3", "type": "dense", "units": 10, "activation": "none"},
        ],
    }  # fmt: skip


def layer_shapes(spec: Spec) -> list[tuple[str, tuple[int, ...]]]:
    """Output shape of every layer for one sample, e.g. ``("conv1", (28, 28, 6))``.

    Raises:
        ValueError: a layer has an unknown type or a shape that does not fit.
    """
    shape: tuple[int, ...] = tuple(spec["input_shape"])
    shapes = []
    for layer in spec["layers"]:
        kind = layer["type"]
        if kind == "conv":
            h, w, _ = shape
            k, s, p = layer["kernel"], layer["stride"], layer["padding"]
            shape = ((h + 2 * p - k) // s + 1, (w + 2 * p - k) // s + 1, layer["filters"])
        elif kind == "pool":
            h, w, c = shape
            k, s = layer["size"], layer["stride"]
            shape = ((h - k) // s + 1, (w - k) // s + 1, c)
        elif kind == "flatten":
            n = 1
            for d in shape:
                n *= d
            shape = (n,)
        elif kind == "dense":
            shape = (layer["units"],)
        else:
            raise ValueError(f"layer {layer.get('name')!r}: unknown type {kind!r}")
        if min(shape) < 1:
            raise ValueError(f"layer {layer['name']!r}: output shape {shape} is empty")
        shapes.append((layer["name"], shape))
    return shapes


def param_shapes(spec: Spec) -> dict[str, tuple[int, ...]]:
    """Shapes of the trainable arrays, keyed ``"<layer>/w"`` and ``"<layer>/b"``.

    Conv weights are HWIO (kh, kw, C_in, C_out); dense weights are (D_in, D_out).
    """
    shapes: dict[str, tuple[int, ...]] = {}
    prev: tuple[int, ...] = tuple(spec["input_shape"])
    for layer, (_, out_shape) in zip(spec["layers"], layer_shapes(spec), strict=True):
        if layer["type"] == "conv":
            k = layer["kernel"]
            shapes[f"{layer['name']}/w"] = (k, k, prev[-1], layer["filters"])
            shapes[f"{layer['name']}/b"] = (layer["filters"],)
        elif layer["type"] == "dense":
            shapes[f"{layer['name']}/w"] = (prev[0], layer["units"])
            shapes[f"{layer['name']}/b"] = (layer["units"],)
        prev = out_shape
    return shapes


def param_counts(spec: Spec) -> dict[str, int]:
    """Trainable numbers per layer (weights + biases), in network order; only layers with any.

    The shipped LeNet-5: conv1 156, conv2 2,416, fc1 48,120, fc2 10,164, fc3 850 (61,706).
    """
    counts: dict[str, int] = {}
    for key, shape in param_shapes(spec).items():
        n = 1
        for d in shape:
            n *= d
        layer = key.split("/")[0]
        counts[layer] = counts.get(layer, 0) + n
    return counts


def copy_spec(spec: Spec) -> Spec:
    """A deep copy, so callers can change it without touching the original."""
    return copy.deepcopy(spec)
