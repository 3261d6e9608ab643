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


def relu_after_pool(spec: Spec) -> set[int]:
    """Indices of conv layers whose ReLU can run after the max pooling that follows them.

    ReLU and max pooling commute exactly: max(relu(a), relu(b)) = relu(max(a, b)), and
    the gradient reaches the same input either way (a window whose maximum is <= 0 passes
    none). Applied to the pooled map, ReLU touches a quarter of the values.
    """
    stack = spec["layers"]
    return {
        index
        for index in range(len(stack) - 1)
        if stack[index]["type"] == "conv"
        and stack[index]["activation"] == "relu"
        and stack[index + 1]["type"] == "pool"
        and stack[index + 1]["mode"] == "max"
    }


def layer_forward(
    spec: Spec, index: int, params: Params, h: np.ndarray, deferred: set[int]
) -> tuple[np.ndarray, layers.Cache]:
    """Layer ``index`` of ``forward``: its output and cache.

    ``h`` is channel-first (C, N, H, W) up to the flatten layer, (N, D) after it.
    ``deferred``: conv layers whose ReLU runs after their pooling (``relu_after_pool``).
    """
    layer = spec["layers"][index]
    name, kind = layer["name"], layer["type"]
    act_cache = None
    if kind == "conv":
        h, c1 = layers.conv2d_forward_cf(
            h, params[f"{name}/w"], params[f"{name}/b"], layer["stride"], layer["padding"]
        )
        if index not in deferred:
            h, act_cache = layers.ACTIVATIONS[layer["activation"]][0](h)
        return h, (c1, act_cache)
    if kind == "pool":
        h, c1 = layers.pool_forward_cf(h, layer["size"], layer["stride"], layer["mode"])
        if index - 1 in deferred:
            h, act_cache = layers.relu_forward(h)
        return h, (c1, act_cache)
    if kind == "flatten":
        # (C, N, H, W) -> (N, H W C): the next layer's weights are in NHWC order.
        return h.transpose(1, 2, 3, 0).reshape(h.shape[1], -1), (h.shape, None)
    if kind == "dense":
        h, c1 = layers.dense_forward(h, params[f"{name}/w"], params[f"{name}/b"])
        h, act_cache = layers.ACTIVATIONS[layer["activation"]][0](h)
        return h, (c1, act_cache)
    raise ValueError(f"layer {name!r}: unknown type {kind!r}")


def layer_backward(
    spec: Spec, index: int, d: np.ndarray, cache: layers.Cache
) -> tuple[np.ndarray | None, dict[str, np.ndarray]]:
    """Layer ``index`` of ``backward``: the gradient of its input and of its parameters."""
    layer = spec["layers"][index]
    kind = layer["type"]
    if kind == "flatten":
        c, n, h, w = cache[0]
        return layers.to_channels_first(d.reshape(n, h, w, c)), {}
    if cache[1] is not None:  # the activation this layer applied (a deferred ReLU too)
        activation = "relu" if kind == "pool" else layer["activation"]
        d = layers.ACTIVATIONS[activation][1](d, cache[1])
    if kind == "pool":
        return layers.pool_backward_cf(d, cache[0]), {}
    if kind == "conv":
        return layers.conv2d_backward_cf(d, cache[0], need_dx=index > 0)
    return layers.dense_backward(d, cache[0])


def forward(
    spec: Spec, params: Params, x: np.ndarray, keep: bool = False
) -> tuple[np.ndarray, list[layers.Cache], dict[str, np.ndarray]]:
    """Run the network on a batch.

    Feature maps stay channel-first, (C, N, H, W), from the first convolution to the
    flatten layer (see ``training.layers``); the input and kept outputs are NHWC.
    Args:
        spec: the network description.
        params: arrays keyed like ``param_shapes(spec)``.
        x: (N, 28, 28, 1) float input, already scaled (ink = 1).
        keep: also return every layer's output (after its activation), NHWC.
    Returns:
        logits: (N, num_classes); caches for ``backward``; ``{layer name: output}``
        (empty unless ``keep``).
    """
    caches: list[layers.Cache] = []
    outputs: dict[str, np.ndarray] = {}
    # Kept outputs show each conv layer's own activation map: no ReLU moved then.
    deferred = set() if keep else relu_after_pool(spec)
    h = layers.to_channels_first(x)
    for index, layer in enumerate(spec["layers"]):
        h, cache = layer_forward(spec, index, params, h, deferred)
        caches.append(cache)
        if keep:
            outputs[layer["name"]] = layers.to_channels_last(h) if h.ndim == 4 else h
    return h, caches, outputs


def backward(spec: Spec, dlogits: np.ndarray, caches: list[layers.Cache]) -> Params:
    """Gradients of every parameter, given the gradient of the loss w.r.t. the logits.

    Returns:
        ``{"<layer>/w": ..., "<layer>/b": ...}``, shapes as the parameters.
    """
    grads: Params = {}
    d = dlogits
    for index in range(len(spec["layers"]) - 1, -1, -1):
        d, g = layer_backward(spec, index, d, caches[index])
        name = spec["layers"][index]["name"]
        grads.update({f"{name}/{key}": value for key, value in g.items()})
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
