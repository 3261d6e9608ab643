"""CNN layers as pairs of pure NumPy functions: ``forward -> (out, cache)``, ``backward``.

Every tensor is NHWC. Training runs in float32; gradient checks call the same
functions in float64 (the dtype of the input is kept throughout).

Convolution is im2col through ``np.lib.stride_tricks.as_strided`` plus one matrix
product; pooling is a few elementwise operations on strided views, one per window
offset. The loop versions in ``training.reference_loops`` exist only to test these.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
from numpy.lib.stride_tricks import as_strided

Cache = tuple[Any, ...]


# ---------------------------------------------------------------- convolution


def conv_output_size(size: int, kernel: int, stride: int, pad: int) -> int:
    """Output length of a convolution or pooling: ``floor((size + 2p - k) / s) + 1``."""
    return (size + 2 * pad - kernel) // stride + 1


def im2col(
    x: np.ndarray, kh: int, kw: int, stride: int, pad: int, ones_row: bool = False
) -> np.ndarray:
    """Unfold the windows of a convolution into the columns of a matrix.

    Args:
        x: (N, H, W, C) input.
        ones_row: append a row of ones, so that a bias can ride along in the matrix
            product as one more row of weights (the "bias trick").
    Returns:
        (kh * kw * C [+ 1], N * H' * W') contiguous array: one column per output
        position, rows ordered (kh, kw, C) to match weights of shape (kh, kw, C, F)
        reshaped to (kh * kw * C, F).
    """
    if pad:
        x = np.pad(x, ((0, 0), (pad, pad), (pad, pad), (0, 0)))
    n, hp, wp, c = x.shape
    ho = (hp - kh) // stride + 1
    wo = (wp - kw) // stride + 1
    sn, sh, sw, sc = x.strides
    # A view (kh, kw, C, N, H', W') of every window; the reshape copies it. Putting the
    # output position last makes the copy read runs of W' neighbouring pixels, which is
    # several times faster than one short (kw * C) run per window when C is 1.
    windows = as_strided(
        x,
        shape=(kh, kw, c, n, ho, wo),
        strides=(sh, sw, sc, sn, sh * stride, sw * stride),
        writeable=False,
    )
    k = kh * kw * c
    cols = np.empty((k + int(ones_row), n * ho * wo), dtype=x.dtype)
    cols[:k].reshape(kh, kw, c, n, ho, wo)[...] = windows
    if ones_row:
        cols[k] = 1
    return cols


def col2im(
    cols: np.ndarray, x_shape: tuple[int, ...], kh: int, kw: int, stride: int, pad: int
) -> np.ndarray:
    """The adjoint of ``im2col``: add every column back onto the pixels it came from.

    Args:
        cols: (kh * kw * C, N * H' * W'), laid out as ``im2col`` returns.
        x_shape: (N, H, W, C) of the original input.
    Returns:
        (N, H, W, C) contiguous array.
    """
    n, h, w, c = x_shape
    hp, wp = h + 2 * pad, w + 2 * pad
    ho = (hp - kh) // stride + 1
    wo = (wp - kw) // stride + 1
    blocks = cols.reshape(kh, kw, c, n, ho, wo)
    # Accumulate channel-first so each add runs over W' contiguous values; kh * kw
    # vectorised adds, not a pixel loop. (A transposed convolution as one matmul was
    # measured slower here: its im2col of the padded gradient copies 4x more data.)
    xp = np.zeros((c, n, hp, wp), dtype=cols.dtype)
    for i in range(kh):
        for j in range(kw):
            xp[:, :, i : i + stride * ho : stride, j : j + stride * wo : stride] += blocks[i, j]
    return np.ascontiguousarray(xp[:, :, pad : pad + h, pad : pad + w].transpose(1, 2, 3, 0))


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
    if stride < 1 or pad < 0:
        raise ValueError(f"conv2d: stride {stride} must be >= 1 and padding {pad} >= 0")
    n, h, wd, _ = x.shape
    ho = conv_output_size(h, kh, stride, pad)
    wo = conv_output_size(wd, kw, stride, pad)
    if ho < 1 or wo < 1:
        raise ValueError(f"conv2d: a {kh}x{kw} kernel does not fit a {h}x{wd} input + pad {pad}")
    # The bias trick: a row of ones in the columns and the bias as the last weight row
    # add the bias inside the product, and the weight gradient's last row is then the
    # bias gradient. Both are cheaper than broadcasting over a narrow (N H' W', F) array.
    cols = im2col(x, kh, kw, stride, pad, ones_row=True)
    wb = np.concatenate([w.reshape(kh * kw * c, f), b.reshape(1, f).astype(w.dtype)])
    out = cols.T @ wb  # (N H' W', F): already NHWC, contiguous
    return out.reshape(n, ho, wo, f), (x.shape, cols, w, stride, pad)


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
    kh, kw, _, f = w.shape
    dout2 = dout.reshape(-1, f)
    dwb = cols @ dout2  # (kh kw C + 1, F): weight rows, then the bias row
    dw, db = dwb[:-1].reshape(w.shape), dwb[-1]
    if not need_dx:
        return None, {"w": dw, "b": db}
    dcols = w.reshape(-1, f) @ dout2.T  # (kh kw C, N H' W'), the layout col2im reads
    return col2im(dcols, x_shape, kh, kw, stride, pad), {"w": dw, "b": db}


# -------------------------------------------------------------------- pooling


def _pool_slices(x: np.ndarray, size: int, stride: int, ho: int, wo: int) -> Iterator[np.ndarray]:
    """Yield the (N, H', W', C) strided view of each window offset, row-major order."""
    for i in range(size):
        for j in range(size):
            yield x[:, i : i + stride * ho : stride, j : j + stride * wo : stride, :]


def pool_forward(
    x: np.ndarray, size: int, stride: int | None = None, mode: str = "max"
) -> tuple[np.ndarray, Cache]:
    """Max or average pooling without padding (rows/columns that do not fit are dropped).

    Args:
        x: (N, H, W, C).
        size: window side.
        stride: step; defaults to ``size``. Any stride works, overlapping or not.
        mode: ``"max"`` or ``"avg"``.
    Returns:
        out: (N, H', W', C) with H' = floor((H - size) / stride) + 1; cache.
    """
    stride = size if stride is None else stride
    if mode not in ("max", "avg"):
        raise ValueError(f"pool mode {mode!r} is not one of 'max', 'avg'")
    h, w = x.shape[1:3]
    ho = conv_output_size(h, size, stride, 0)
    wo = conv_output_size(w, size, stride, 0)
    if ho < 1 or wo < 1 or stride < 1:
        raise ValueError(f"pool: window {size} stride {stride} does not fit a {h}x{w} input")
    # size * size elementwise max/adds of strided views: for LeNet's 2x2 windows this is
    # cheaper than gathering each window onto an axis and reducing it.
    views = _pool_slices(x, size, stride, ho, wo)
    # Averages of integer images (uint8 pixels) are computed in float32, not wrapped.
    dtype = x.dtype if mode == "max" else np.result_type(x.dtype, np.float32)
    out = np.array(next(views), dtype=dtype)
    for view in views:
        if mode == "max":
            np.maximum(out, view, out=out)
        else:
            out += view
    if mode == "avg":
        out *= out.dtype.type(1.0 / (size * size))
    return out, (x, out, size, stride, mode)


def pool_backward(dout: np.ndarray, cache: Cache) -> np.ndarray:
    """Gradient of ``pool_forward``; max sends it to the first maximum of each window.

    Args:
        dout: (N, H', W', C).
    Returns:
        dx: (N, H, W, C).
    """
    x, out, size, stride, mode = cache
    ho, wo = dout.shape[1:3]
    dx = np.zeros_like(x, dtype=dout.dtype)
    if mode == "avg":
        share = dout * dout.dtype.type(1.0 / (size * size))
        for view in _pool_slices(dx, size, stride, ho, wo):
            view += share
        return dx
    # Walk the window offsets in row-major order; an offset whose value equals the max
    # takes the gradient unless an earlier offset already did (ties, e.g. ReLU zeros).
    taken = np.zeros(dout.shape, dtype=bool)
    hit = np.empty(dout.shape, dtype=bool)
    disjoint = stride >= size  # each input pixel is in at most one window
    for view, dview in zip(
        _pool_slices(x, size, stride, ho, wo), _pool_slices(dx, size, stride, ho, wo), strict=True
    ):
        np.equal(view, out, out=hit)
        hit &= ~taken
        taken |= hit
        if disjoint:
            np.multiply(dout, hit, out=dview)  # write straight into dx: no temporary
        else:
            dview += dout * hit
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
