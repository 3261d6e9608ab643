"""CNN layers as pairs of pure NumPy functions: ``forward -> (out, cache)``, ``backward``.

Every tensor is NHWC. Training runs in float32; gradient checks call the same
functions in float64 (the dtype of the input is kept throughout).

Convolution is im2col through ``np.lib.stride_tricks.as_strided`` plus one matrix
product; pooling whose window equals its stride is a reshape. The loop versions
in ``training.reference_loops`` exist only to test these.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.lib.stride_tricks import as_strided

Cache = tuple[Any, ...]


# ---------------------------------------------------------------- convolution


def conv_output_size(size: int, kernel: int, stride: int, pad: int) -> int:
    """Output length of a convolution or pooling: ``floor((size + 2p - k) / s) + 1``."""
    return (size + 2 * pad - kernel) // stride + 1


def _windows(x: np.ndarray, kh: int, kw: int, stride: int) -> np.ndarray:
    """View of every (kh, kw) window of ``x``.

    Args:
        x: (N, H, W, C), already padded.
    Returns:
        A read-only view (N, H', W', kh, kw, C) sharing memory with ``x``.
    """
    n, h, w, c = x.shape
    ho = (h - kh) // stride + 1
    wo = (w - kw) // stride + 1
    sn, sh, sw, sc = x.strides
    return as_strided(
        x,
        shape=(n, ho, wo, kh, kw, c),
        strides=(sn, sh * stride, sw * stride, sh, sw, sc),
        writeable=False,
    )


def im2col(x: np.ndarray, kh: int, kw: int, stride: int, pad: int) -> np.ndarray:
    """Unfold the windows of a convolution into rows of a matrix.

    Args:
        x: (N, H, W, C) input.
    Returns:
        (N, H', W', kh * kw * C) contiguous array, one row per output position,
        ordered (kh, kw, C) to match weights of shape (kh, kw, C, F).
    """
    if pad:
        x = np.pad(x, ((0, 0), (pad, pad), (pad, pad), (0, 0)))
    win = _windows(x, kh, kw, stride)
    n, ho, wo = win.shape[:3]
    return win.reshape(n, ho, wo, kh * kw * x.shape[3])


def conv2d_forward(
    x: np.ndarray, w: np.ndarray, b: np.ndarray, stride: int = 1, pad: int = 0
) -> tuple[np.ndarray, Cache]:
    """Cross-correlation of ``x`` with ``w`` (what CNN layers compute), plus bias.

    Args:
        x: (N, H, W, C) input.
        w: (kh, kw, C, F) weights (HWIO).
        b: (F,) bias.
        stride: step between windows, >= 1.
        pad: zero padding added on every side, >= 0.
    Returns:
        out: (N, H', W', F) with H' = floor((H + 2 pad - kh) / stride) + 1.
        cache: what ``conv2d_backward`` needs.
    """
    kh, kw, c, f = w.shape
    if x.shape[3] != c:
        raise ValueError(f"conv2d: input has {x.shape[3]} channels, weights expect {c}")
    cols = im2col(x, kh, kw, stride, pad)
    out = cols @ w.reshape(kh * kw * c, f)
    out += b
    return out, (x.shape, cols, w, stride, pad)


def conv2d_backward(
    dout: np.ndarray, cache: Cache, need_dx: bool = True
) -> tuple[np.ndarray | None, dict[str, np.ndarray]]:
    """Gradients of ``conv2d_forward``.

    Args:
        dout: (N, H', W', F) upstream gradient.
        cache: from ``conv2d_forward``.
        need_dx: False for the first layer, whose input gradient nobody uses.
    Returns:
        dx: (N, H, W, C) or None; grads: ``{"w": (kh, kw, C, F), "b": (F,)}``.
    """
    x_shape, cols, w, stride, pad = cache
    kh, kw, c, f = w.shape
    n, ho, wo, _ = dout.shape
    dout2 = dout.reshape(-1, f)
    dw = (cols.reshape(-1, kh * kw * c).T @ dout2).reshape(w.shape)
    db = dout2.sum(axis=0)
    if not need_dx:
        return None, {"w": dw, "b": db}
    dcols = (dout2 @ w.reshape(-1, f).T).reshape(n, ho, wo, kh, kw, c)
    hp, wp = x_shape[1] + 2 * pad, x_shape[2] + 2 * pad
    dxp = np.zeros((n, hp, wp, c), dtype=dout.dtype)
    # col2im: each kernel offset adds its slice; kh*kw vectorised adds, not a pixel loop.
    for i in range(kh):
        for j in range(kw):
            dxp[:, i : i + stride * ho : stride, j : j + stride * wo : stride, :] += dcols[
                :, :, :, i, j, :
            ]
    dx = dxp[:, pad : hp - pad, pad : wp - pad, :] if pad else dxp
    return dx, {"w": dw, "b": db}


# -------------------------------------------------------------------- pooling


def pool_forward(
    x: np.ndarray, size: int, stride: int | None = None, mode: str = "max"
) -> tuple[np.ndarray, Cache]:
    """Max or average pooling without padding (rows/columns that do not fit are dropped).

    Args:
        x: (N, H, W, C).
        size: window side.
        stride: step; defaults to ``size``.
        mode: ``"max"`` or ``"avg"``.
    Returns:
        out: (N, H', W', C) with H' = floor((H - size) / stride) + 1; cache.
    """
    stride = size if stride is None else stride
    if mode not in ("max", "avg"):
        raise ValueError(f"pool mode {mode!r} is not one of 'max', 'avg'")
    n, h, w, c = x.shape
    ho = conv_output_size(h, size, stride, 0)
    wo = conv_output_size(w, size, stride, 0)
    if stride == size:
        # Non-overlapping windows: a reshape puts each window on its own two axes.
        blocks = x[:, : ho * size, : wo * size, :].reshape(n, ho, size, wo, size, c)
        win = blocks.transpose(0, 1, 3, 5, 2, 4).reshape(n, ho, wo, c, size * size)
    else:
        win = _windows(x, size, size, stride).transpose(0, 1, 2, 5, 3, 4)
        win = win.reshape(n, ho, wo, c, size * size)
    if mode == "max":
        arg = win.argmax(axis=4)
        out = np.take_along_axis(win, arg[..., None], axis=4)[..., 0]
        return out, (x.shape, size, stride, mode, arg)
    return win.mean(axis=4, dtype=x.dtype), (x.shape, size, stride, mode, None)


def pool_backward(dout: np.ndarray, cache: Cache) -> np.ndarray:
    """Gradient of ``pool_forward``; max sends it to the first maximum of each window.

    Args:
        dout: (N, H', W', C).
    Returns:
        dx: (N, H, W, C).
    """
    x_shape, size, stride, mode, arg = cache
    n, ho, wo, c = dout.shape
    if mode == "max":
        dwin = np.zeros((n, ho, wo, c, size * size), dtype=dout.dtype)
        np.put_along_axis(dwin, arg[..., None], dout[..., None], axis=4)
    else:
        dwin = np.broadcast_to((dout / (size * size))[..., None], (n, ho, wo, c, size * size))
    dwin = dwin.reshape(n, ho, wo, c, size, size)
    dx = np.zeros(x_shape, dtype=dout.dtype)
    if stride == size:
        block = dwin.transpose(0, 1, 4, 2, 5, 3).reshape(n, ho * size, wo * size, c)
        dx[:, : ho * size, : wo * size, :] = block
        return dx
    for i in range(size):
        for j in range(size):
            dx[:, i : i + stride * ho : stride, j : j + stride * wo : stride, :] += dwin[
                :, :, :, :, i, j
            ]
    return dx


# ---------------------------------------------------------------- activations


def relu_forward(x: np.ndarray) -> tuple[np.ndarray, Cache]:
    """max(0, x), elementwise; any shape, dtype kept."""
    out = np.maximum(x, 0)
    return out, (out,)


def relu_backward(dout: np.ndarray, cache: Cache) -> np.ndarray:
    """Gradient of ReLU (0 at x <= 0)."""
    (out,) = cache
    return dout * (out > 0)


def sigmoid_forward(x: np.ndarray) -> tuple[np.ndarray, Cache]:
    """1 / (1 + exp(-x)), computed without overflow for large |x|."""
    e = np.exp(-np.abs(x))
    out = np.where(x >= 0, 1 / (1 + e), e / (1 + e)).astype(x.dtype, copy=False)
    return out, (out,)


def sigmoid_backward(dout: np.ndarray, cache: Cache) -> np.ndarray:
    """Gradient of the sigmoid: s (1 - s)."""
    (out,) = cache
    return dout * out * (1 - out)


def tanh_forward(x: np.ndarray) -> tuple[np.ndarray, Cache]:
    """Hyperbolic tangent, elementwise."""
    out = np.tanh(x)
    return out, (out,)


def tanh_backward(dout: np.ndarray, cache: Cache) -> np.ndarray:
    """Gradient of tanh: 1 - tanh^2."""
    (out,) = cache
    return dout * (1 - out * out)


def identity_forward(x: np.ndarray) -> tuple[np.ndarray, Cache]:
    """No activation (the logits layer)."""
    return x, ()


def identity_backward(dout: np.ndarray, cache: Cache) -> np.ndarray:
    """Gradient of the identity."""
    return dout


ACTIVATIONS = {
    "relu": (relu_forward, relu_backward),
    "tanh": (tanh_forward, tanh_backward),
    "sigmoid": (sigmoid_forward, sigmoid_backward),
    "none": (identity_forward, identity_backward),
}


# ---------------------------------------------------------------------- dense


def dense_forward(x: np.ndarray, w: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, Cache]:
    """Fully connected layer.

    Args:
        x: (N, D); w: (D, M); b: (M,).
    Returns:
        out: (N, M); cache.
    """
    return x @ w + b, (x, w)


def dense_backward(dout: np.ndarray, cache: Cache) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Gradients of ``dense_forward``: dx (N, D), grads ``{"w": (D, M), "b": (M,)}``."""
    x, w = cache
    return dout @ w.T, {"w": x.T @ dout, "b": dout.sum(axis=0)}


# ----------------------------------------------------------------------- loss


def softmax(logits: np.ndarray) -> np.ndarray:
    """Row-wise softmax of (N, K) logits, shifted by the row maximum for stability."""
    z = logits - logits.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def softmax_cross_entropy(logits: np.ndarray, labels: np.ndarray) -> tuple[float, np.ndarray]:
    """Mean cross-entropy of softmax(logits) against integer labels, and its gradient.

    Args:
        logits: (N, K) float.
        labels: (N,) integer class indices.
    Returns:
        loss: mean over the batch; dlogits: (N, K), same dtype as ``logits``.
    """
    n = logits.shape[0]
    z = logits - logits.max(axis=1, keepdims=True)
    log_probs = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
    loss = -float(log_probs[np.arange(n), labels].mean())
    dlogits = np.exp(log_probs)
    dlogits[np.arange(n), labels] -= 1
    dlogits /= n
    return loss, dlogits.astype(logits.dtype, copy=False)
