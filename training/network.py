"""A network built from a spec: parameter init, forward with caches, backward, prediction."""

from __future__ import annotations

from typing import Any

import numpy as np

from training import layers
from training.spec import Spec, param_shapes

Params = dict[str, np.ndarray]


def init_params(spec: Spec, seed: int = 0, dtype: Any = np.float32) -> Params:
    """Random weights suited to each layer's activation, zero biases.

    He (Kaiming) normal for ReLU, which keeps the variance of activations through
    layers that zero half their input; Glorot (Xavier) uniform for tanh, sigmoid and
    the logits, which keeps the variance for activations symmetric around zero.
    """
    rng = np.random.default_rng(seed)
    params: Params = {}
    by_name = {layer["name"]: layer for layer in spec["layers"]}
    for key, shape in param_shapes(spec).items():
        name, kind = key.split("/")
        if kind == "b":
            params[key] = np.zeros(shape, dtype=dtype)
            continue
        fan_in = int(np.prod(shape[:-1]))
        fan_out = int(np.prod(shape[:-2])) * shape[-1] if len(shape) == 4 else shape[-1]
        if by_name[name]["activation"] == "relu":
            w = rng.normal(0.0, np.sqrt(2.0 / fan_in), size=shape)
        else:
            limit = np.sqrt(6.0 / (fan_in + fan_out))
            w = rng.uniform(-limit, limit, size=shape)
        params[key] = w.astype(dtype)
    return params


def forward(
    spec: Spec, params: Params, x: np.ndarray, keep: bool = False
) -> tuple[np.ndarray, list[layers.Cache], dict[str, np.ndarray]]:
    """Run the network on a batch.

    Args:
        spec: the network description.
        params: arrays keyed like ``param_shapes(spec)``.
        x: (N, 28, 28, 1) float input, already scaled (ink = 1).
        keep: also return every layer's output (after its activation).
    Returns:
        logits: (N, num_classes); caches for ``backward``; ``{layer name: output}``
        (empty unless ``keep``).
    """
    caches: list[layers.Cache] = []
    outputs: dict[str, np.ndarray] = {}
    h = x
    for layer in spec["layers"]:
        name, kind = layer["name"], layer["type"]
        if kind == "conv":
            h, c1 = layers.conv2d_forward(
                h, params[f"{name}/w"], params[f"{name}/b"], layer["stride"], layer["padding"]
            )
            h, c2 = layers.ACTIVATIONS[layer["activation"]][0](h)
            caches.append((c1, c2))
        elif kind == "pool":
            h, c = layers.pool_forward(h, layer["size"], layer["stride"], layer["mode"])
            caches.append((c,))
        elif kind == "flatten":
            caches.append((h.shape,))
            h = h.reshape(h.shape[0], -1)
        elif kind == "dense":
            h, c1 = layers.dense_forward(h, params[f"{name}/w"], params[f"{name}/b"])
            h, c2 = layers.ACTIVATIONS[layer["activation"]][0](h)
            caches.append((c1, c2))
        else:
            raise ValueError(f"layer {name!r}: unknown type {kind!r}")
        if keep:
            outputs[name] = h
    return h, caches, outputs


def backward(spec: Spec, dlogits: np.ndarray, caches: list[layers.Cache]) -> Params:
    """Gradients of every parameter, given the gradient of the loss w.r.t. the logits.

    Returns:
        ``{"<layer>/w": ..., "<layer>/b": ...}``, shapes as the parameters.
    """
    grads: Params = {}
    d = dlogits
    for index in range(len(spec["layers"]) - 1, -1, -1):
        layer, cache = spec["layers"][index], caches[index]
        name, kind = layer["name"], layer["type"]
        if kind == "conv":
            d = layers.ACTIVATIONS[layer["activation"]][1](d, cache[1])
            d, g = layers.conv2d_backward(d, cache[0], need_dx=index > 0)
        elif kind == "pool":
            d = layers.pool_backward(d, cache[0])
        elif kind == "flatten":
            d = d.reshape(cache[0])
        else:
            d = layers.ACTIVATIONS[layer["activation"]][1](d, cache[1])
            d, g = layers.dense_backward(d, cache[0])
        if kind in ("conv", "dense"):
            grads[f"{name}/w"] = g["w"]
            grads[f"{name}/b"] = g["b"]
    return grads


def loss_and_grads(
    spec: Spec, params: Params, x: np.ndarray, labels: np.ndarray
) -> tuple[float, Params, np.ndarray]:
    """One training step's worth: mean loss, gradients and the logits (N, K)."""
    logits, caches, _ = forward(spec, params, x)
    loss, dlogits = layers.softmax_cross_entropy(logits, labels)
    return loss, backward(spec, dlogits, caches), logits


def predict_probs(
    spec: Spec, params: Params, images: np.ndarray, batch_size: int = 1000
) -> np.ndarray:
    """Class probabilities for uint8 or float images.

    Args:
        images: (N, 28, 28) or (N, 28, 28, 1); uint8 pixels (scaled by the spec's
            ``input_scale``) or float already scaled.
    Returns:
        (N, num_classes) float32.
    """
    out = []
    for start in range(0, len(images), batch_size):
        x = to_input(spec, images[start : start + batch_size])
        logits, _, _ = forward(spec, params, x)
        out.append(layers.softmax(logits))
    if not out:
        return np.zeros((0, spec["num_classes"]), dtype=np.float32)
    return np.concatenate(out).astype(np.float32, copy=False)


def to_input(spec: Spec, images: np.ndarray) -> np.ndarray:
    """(N, 28, 28[, 1]) uint8 or float -> (N, 28, 28, 1) float32 network input."""
    x = images if images.ndim == 4 else images[..., None]
    if x.dtype == np.uint8:
        return x.astype(np.float32) * np.float32(spec["input_scale"])
    return x.astype(np.float32, copy=False)
