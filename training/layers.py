"""CNN layers as pairs of pure NumPy functions: ``forward -> (out, cache)``, ``backward``.

Layouts. The public convolution and pooling functions take and return NHWC tensors
(N, H, W, C). Their ``*_cf`` cores work channel-first, (C, N, H, W), and the network
keeps its feature maps that way between layers: it is the layout the im2col matrix
product writes (``(F, K) @ (K, N H' W')``), and in it pooling and col2im work along
rows of W contiguous pixels instead of runs of C values (C is 1 to 16 in LeNet, and
NumPy pays per run). For N = 1 or C = 1 the two layouts are the same bytes.

Training runs in float32; gradient checks call the same functions in float64 (the
dtype of the input is kept throughout). Convolution is im2col through
``np.lib.stride_tricks.as_strided`` plus one matrix product; pooling is a few
elementwise operations on strided views. The loop versions in
``training.reference_loops`` exist only to test these.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
from numpy.lib.stride_tricks import as_strided

Cache = tuple[Any, ...]

#: Matrix products are handed to BLAS in pieces of at most this many multiply-adds.
#: OpenBLAS computes products up to 100 x 100 x 100 with its small-matrix kernel, which
#: skips packing both operands into buffers; for LeNet's narrow shapes (6 or 16
#: filters, 26 to 151 rows) packing costs more than the arithmetic. Measured on x86-64
#: (OpenBLAS 0.3.31, one thread): conv1's forward product 0.58 ms whole, 0.23 ms in
#: pieces, its weight gradient 0.55 ms and 0.21 ms; and the pieces stay in cache.
#: That kernel is also single-threaded: with every product of the network split this
#: way, training never wakes OpenBLAS's worker threads, whose busy-waiting burnt four
#: times the CPU time of a fine-tune on a loaded machine (the live loop needs those cores).
BLOCK_MACS = 1_000_000


def matmul_blocked(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``a @ b`` for 2-D arrays, computed in pieces of at most ``BLOCK_MACS`` multiply-adds.

    The longest of the three dimensions is split: rows of ``a``, columns of ``b``, or the
    shared one (then the partial products are summed).
    Args:
        a: (M, K); b: (K, P); same float dtype, any strides (copied to row-major).
    Returns:
        (M, P) array.
    """
    # Row-major operands: with a transposed view OpenBLAS took its packed, threaded path
    # even for small pieces (measured: conv2's weight gradient 10x the CPU time).
    a, b = np.ascontiguousarray(a), np.ascontiguousarray(b)
    m, k = a.shape
    p = b.shape[1]
    if m * k * p <= BLOCK_MACS:
        return a @ b
    if k >= max(m, p):
        step = max(1, BLOCK_MACS // (m * p))
        out = a[:, :step] @ b[:step]
        for s in range(step, k, step):
            out += a[:, s : s + step] @ b[s : s + step]
        return out
    out = np.empty((m, p), dtype=np.result_type(a, b))
    if p >= m:
        step = max(1, BLOCK_MACS // (m * k))
        for s in range(0, p, step):
            np.matmul(a, b[:, s : s + step], out=out[:, s : s + step])
    else:
        step = max(1, BLOCK_MACS // (k * p))
        for s in range(0, m, step):
            np.matmul(a[s : s + step], b, out=out[s : s + step])
    return out


def to_channels_first(x: np.ndarray) -> np.ndarray:
    """(N, H, W, C) -> contiguous (C, N, H, W); no copy when N or C is 1."""
    return np.ascontiguousarray(x.transpose(3, 0, 1, 2))


def to_channels_last(x: np.ndarray) -> np.ndarray:
    """(C, N, H, W) -> contiguous (N, H, W, C); no copy when N or C is 1."""
    return np.ascontiguousarray(x.transpose(1, 2, 3, 0))


# ---------------------------------------------------------------- convolution


def conv_output_size(size: int, kernel: int, stride: int, pad: int) -> int:
    """Output length of a convolution or pooling: ``floor((size + 2p - k) / s) + 1``."""
    return (size + 2 * pad - kernel) // stride + 1


def pad_spatial(x: np.ndarray, pad: int) -> np.ndarray:
    """Zero padding of the last two axes (H, W) by ``pad`` on every side; a new array.

    A slice assignment into zeros: ``np.pad`` spends about 0.1 ms in Python per call,
    a sixth of a whole LeNet conv1 forward pass.
    """
    *lead, h, w = x.shape
    out = np.zeros((*lead, h + 2 * pad, w + 2 * pad), dtype=x.dtype)
    out[..., pad : pad + h, pad : pad + w] = x
    return out


def im2col_cf(
    x: np.ndarray, kh: int, kw: int, stride: int, pad: int, ones_row: bool = False
) -> np.ndarray:
    """Unfold the windows of a convolution into the columns of a matrix.

    Args:
        x: (C, N, H, W) input.
        ones_row: append a row of ones, so that a bias can ride along in the matrix
            product as one more row of weights (the "bias trick").
    Returns:
        (kh * kw * C [+ 1], N * H' * W') contiguous array: one column per output
        position, rows ordered (kh, kw, C) to match weights of shape (kh, kw, C, F)
        reshaped to (kh * kw * C, F).
    """
    if pad:
        x = pad_spatial(x, pad)
    c, n, hp, wp = x.shape
    ho = (hp - kh) // stride + 1
    wo = (wp - kw) // stride + 1
    # Two copies: first the kw horizontal shifts of every row, (kw, C, N, H, W'); then
    # the kh vertical shifts of those, whose H' x W' blocks are contiguous runs (at
    # stride 1). One copy straight from x reads kh * kw * C * N * H' runs of W' pixels:
    # measured 1.9x slower for LeNet's conv2 (W' = 10) and 1.4x for conv1.
    sc, sn, sh, sw = x.strides
    rows = np.empty((kw, c, n, hp, wo), dtype=x.dtype)
    rows[...] = as_strided(x, (kw, c, n, hp, wo), (sw, sc, sn, sh, sw * stride), writeable=False)
    r_kw, r_c, r_n, r_h, r_w = rows.strides
    windows = as_strided(
        rows, (kh, kw, c, n, ho, wo), (r_h, r_kw, r_c, r_n, r_h * stride, r_w), writeable=False
    )
    k = kh * kw * c
    cols = np.empty((k + int(ones_row), n * ho * wo), dtype=x.dtype)
    cols[:k].reshape(kh, kw, c, n, ho, wo)[...] = windows
    if ones_row:
        cols[k] = 1
    return cols


def col2im_cf(
    cols: np.ndarray, x_shape: tuple[int, ...], kh: int, kw: int, stride: int, pad: int
) -> np.ndarray:
    """The adjoint of ``im2col_cf``: add every column back onto the pixels it came from.

    Args:
        cols: (kh * kw * C, N * H' * W'), laid out as ``im2col_cf`` returns.
        x_shape: (C, N, H, W) of the original input.
    Returns:
        (C, N, H, W) contiguous array.
    """
    c, n, h, w = x_shape
    hp, wp = h + 2 * pad, w + 2 * pad
    ho = (hp - kh) // stride + 1
    wo = (wp - kw) // stride + 1
    blocks = cols.reshape(kh, kw, c, n, ho, wo)
    # kh * kw vectorised adds of W'-pixel rows, not a pixel loop. (A transposed
    # convolution as one matmul was measured slower here: its im2col of the padded
    # gradient copies 4x more data.)
    xp = np.zeros((c, n, hp, wp), dtype=cols.dtype)
    for i in range(kh):
        for j in range(kw):
            xp[:, :, i : i + stride * ho : stride, j : j + stride * wo : stride] += blocks[i, j]
    if not pad:
        return xp
    return np.ascontiguousarray(xp[:, :, pad : pad + h, pad : pad + w])


def conv_input_grad_cf(
    dout: np.ndarray, w: np.ndarray, x_shape: tuple[int, ...], pad: int
) -> np.ndarray:
    """Gradient of a stride-1 convolution with respect to its input, without col2im.

    It is the full correlation of ``dout`` with the flipped kernel, done in two passes:
    along W as a matrix product over the kw shifted copies of each row of ``dout`` (an
    im2col of rows only: kw * F rows instead of kh * kw * F), then along H as kh shifted
    adds of whole rows. col2im instead adds kh * kw blocks of W'-pixel runs, and it
    reads a column matrix kh times larger: this is 1.5x faster for LeNet's conv2.
    Args:
        dout: (F, N, H', W') upstream gradient; w: (kh, kw, C, F);
        x_shape: (C, N, H, W) of the input; pad: the forward's zero padding.
    Returns:
        (C, N, H, W) contiguous array.
    """
    c, n, h, wd = x_shape
    kh, kw, _, f = w.shape
    _, _, ho, wo = dout.shape
    hp, wp = ho + kh - 1, wo + kw - 1  # the padded input
    padded = np.zeros((f, n, ho, wo + 2 * (kw - 1)), dtype=dout.dtype)
    padded[..., kw - 1 : kw - 1 + wo] = dout
    sf, sn, sh, sx = padded.strides
    shifted = as_strided(padded, (kw, f, n, ho, wp), (sx, sf, sn, sh, sx), writeable=False)
    rows = np.empty((kw * f, n * ho * wp), dtype=dout.dtype)
    rows.reshape(kw, f, n, ho, wp)[...] = shifted
    # Row (i, c), column (j, f) of the flipped kernel: w[i, kw - 1 - j, c, f].
    flipped = w[:, ::-1].transpose(0, 2, 1, 3).reshape(kh * c, kw * f)
    partial = matmul_blocked(flipped, rows).reshape(kh, c, n, ho * wp)
    xp = np.zeros((c, n, hp * wp), dtype=dout.dtype)
    for i in range(kh):
        xp[:, :, i * wp : (i + ho) * wp] += partial[i]
    xp = xp.reshape(c, n, hp, wp)
    if not pad:
        return xp
    return np.ascontiguousarray(xp[:, :, pad : pad + h, pad : pad + wd])


def conv2d_forward_cf(
    x: np.ndarray, w: np.ndarray, b: np.ndarray, stride: int = 1, pad: int = 0
) -> tuple[np.ndarray, Cache]:
    """Cross-correlation of channel-first ``x`` with ``w`` (what CNN layers compute), plus bias.

    Args:
        x: (C, N, H, W) input.
        w: (kh, kw, C, F) weights (HWIO).
        b: (F,) bias.
        stride: step between windows, >= 1.
        pad: zero padding added on every side, >= 0.
    Returns:
        out: (F, N, H', W') with H' = floor((H + 2 pad - kh) / stride) + 1.
        cache: what ``conv2d_backward_cf`` needs.
    """
    kh, kw, c, f = w.shape
    if x.shape[0] != c:
        raise ValueError(f"conv2d: input has {x.shape[0]} channels, weights expect {c}")
    if stride < 1 or pad < 0:
        raise ValueError(f"conv2d: stride {stride} must be >= 1 and padding {pad} >= 0")
    _, n, h, wd = x.shape
    ho = conv_output_size(h, kh, stride, pad)
    wo = conv_output_size(wd, kw, stride, pad)
    if ho < 1 or wo < 1:
        raise ValueError(f"conv2d: a {kh}x{kw} kernel does not fit a {h}x{wd} input + pad {pad}")
    # The bias trick: a row of ones in the columns and the bias as the last weight
    # column add the bias inside the product, and the weight gradient's last row is
    # then the bias gradient.
    cols = im2col_cf(x, kh, kw, stride, pad, ones_row=True)
    wb = np.concatenate([w.reshape(kh * kw * c, f), b.reshape(1, f).astype(w.dtype)])
    out = matmul_blocked(wb.T, cols)  # (F, N H' W'): already channel-first
    return out.reshape(f, n, ho, wo), (x.shape, cols, w, stride, pad)


def conv2d_backward_cf(
    dout: np.ndarray, cache: Cache, need_dx: bool = True
) -> tuple[np.ndarray | None, dict[str, np.ndarray]]:
    """Gradients of ``conv2d_forward_cf``.

    Args:
        dout: (F, N, H', W') upstream gradient.
        cache: from ``conv2d_forward_cf``.
        need_dx: False for the first layer, whose input gradient nobody uses.
    Returns:
        dx: (C, N, H, W) or None; grads: ``{"w": (kh, kw, C, F), "b": (F,)}``.
    """
    x_shape, cols, w, stride, pad = cache
    kh, kw, _, f = w.shape
    dout2 = dout.reshape(f, -1)
    dwb = matmul_blocked(cols, dout2.T)  # (kh kw C + 1, F): weight rows, then the bias row
    grads = {"w": dwb[:-1].reshape(w.shape), "b": dwb[-1]}
    if not need_dx:
        return None, grads
    if stride == 1:
        return conv_input_grad_cf(dout, w, x_shape, pad), grads
    dcols = matmul_blocked(w.reshape(-1, f), dout2)  # (kh kw C, N H' W'), as col2im reads
    return col2im_cf(dcols, x_shape, kh, kw, stride, pad), grads


def conv2d_forward(
    x: np.ndarray, w: np.ndarray, b: np.ndarray, stride: int = 1, pad: int = 0
) -> tuple[np.ndarray, Cache]:
    """``conv2d_forward_cf`` for NHWC tensors.

    Args:
        x: (N, H, W, C) input; w: (kh, kw, C, F); b: (F,); stride >= 1; pad >= 0.
    Returns:
        out: (N, H', W', F); cache for ``conv2d_backward``.
    """
    out, cache = conv2d_forward_cf(to_channels_first(x), w, b, stride, pad)
    return to_channels_last(out), cache


def conv2d_backward(
    dout: np.ndarray, cache: Cache, need_dx: bool = True
) -> tuple[np.ndarray | None, dict[str, np.ndarray]]:
    """``conv2d_backward_cf`` for NHWC tensors: dout (N, H', W', F) -> dx (N, H, W, C) or None."""
    dx, grads = conv2d_backward_cf(to_channels_first(dout), cache, need_dx)
    return (None if dx is None else to_channels_last(dx)), grads


# -------------------------------------------------------------------- pooling


def _offset_views(x: np.ndarray, axis: int, size: int, stride: int, count: int) -> Iterator:
    """Yield, for each window offset k < size, the view of ``x`` holding element
    ``stride * o + k`` along ``axis`` for every window o < count."""
    for k in range(size):
        index = [slice(None)] * x.ndim
        index[axis] = slice(k, k + stride * (count - 1) + 1, stride)
        yield x[tuple(index)]


def _window_views(x: np.ndarray, size: int, stride: int, ho: int, wo: int) -> Iterator:
    """Yield the (C, N, H', W') view of each window offset (i, j), row-major order."""
    for rows in _offset_views(x, 2, size, stride, ho):
        yield from _offset_views(rows, 3, size, stride, wo)


def _reduce_windows(
    x: np.ndarray, axis: int, size: int, stride: int, count: int, op: np.ufunc
) -> np.ndarray:
    """``op`` (np.maximum) over the windows along one axis: ``size - 1`` elementwise calls."""
    views = list(_offset_views(x, axis, size, stride, count))
    if len(views) == 1:
        return views[0].copy()
    out = op(views[0], views[1])
    for view in views[2:]:
        op(out, view, out=out)
    return out


def _first_max(
    x: np.ndarray, axis: int, size: int, stride: int, count: int
) -> tuple[np.ndarray, list[np.ndarray]]:
    """Windowed maximum along one axis, and per window offset a mask of the windows whose
    first maximum sits at that offset (bool, shaped as the maximum)."""
    views = list(_offset_views(x, axis, size, stride, count))
    best = views[0]
    improved = []
    for view in views[1:]:
        improved.append(view > best)  # strictly: a tie stays with the earlier offset
        best = np.maximum(best, view)
    # The first maximum is at the last offset that improved on every earlier one.
    masks = [improved[-1]] if improved else []
    later = improved[-1] if improved else np.zeros(best.shape, dtype=bool)
    for gain in reversed(improved[:-1]):
        masks.insert(0, gain & ~later)
        later = later | gain
    masks.insert(0, ~later)
    return best, masks


def pool_forward_cf(
    x: np.ndarray, size: int, stride: int | None = None, mode: str = "max"
) -> tuple[np.ndarray, Cache]:
    """Max or average pooling of a channel-first map, without padding.

    Rows and columns that do not fit a whole window are dropped.
    Args:
        x: (C, N, H, W), any real dtype.
        size: window side.
        stride: step; defaults to ``size``. Any stride works, overlapping or not.
        mode: ``"max"`` (dtype kept) or ``"avg"`` (integer pixels averaged in float32).
    Returns:
        out: (C, N, H', W') with H' = floor((H - size) / stride) + 1; cache.
    """
    stride = size if stride is None else stride
    if mode not in ("max", "avg"):
        raise ValueError(f"pool mode {mode!r} is not one of 'max', 'avg'")
    h, w = x.shape[2:]
    ho = conv_output_size(h, size, stride, 0)
    wo = conv_output_size(w, size, stride, 0)
    if ho < 1 or wo < 1 or stride < 1:
        raise ValueError(f"pool: window {size} stride {stride} does not fit a {h}x{w} input")
    if mode == "max":
        # A window's maximum is the maximum of its rows' maxima: reduce along H, whose
        # offset views are rows of W contiguous pixels, then along W on the smaller map.
        rows = _reduce_windows(x, 2, size, stride, ho, np.maximum)
        return _reduce_windows(rows, 3, size, stride, wo, np.maximum), (x, size, stride, mode)
    # Averages add the window's pixels in row-major order (the float rounding of a
    # plain loop); integer pixels are summed in float32, never wrapped.
    windows = _window_views(x, size, stride, ho, wo)
    out = np.array(next(windows), dtype=np.result_type(x.dtype, np.float32))
    for view in windows:
        out += view
    out *= out.dtype.type(1.0 / (size * size))
    return out, (x, size, stride, mode)


def pool_backward_cf(dout: np.ndarray, cache: Cache) -> np.ndarray:
    """Gradient of ``pool_forward_cf``; max sends it to the first maximum of each window.

    "First" is in row-major order within the window, as ``np.argmax`` of the window.
    Args:
        dout: (C, N, H', W').
    Returns:
        dx: (C, N, H, W), dtype of ``dout``.
    """
    x, size, stride, mode = cache
    ho, wo = dout.shape[2:]
    dx = np.zeros(x.shape, dtype=dout.dtype)
    # Windows overlap when stride < size: gradients then add up, otherwise each view of
    # dx is written once, straight from a product (no temporary).
    overlap = stride < size
    if mode == "avg":
        share = dout * dout.dtype.type(1.0 / (size * size))
        for view in _window_views(dx, size, stride, ho, wo):
            view += share
        return dx
    # Row-major first: the first maximum along W within each window row, then the
    # first row (along H) whose maximum is the window's.
    row_max, at_col = _first_max(x, 3, size, stride, wo)  # (C, N, H, W'), masks
    _, at_row = _first_max(row_max, 2, size, stride, ho)  # (C, N, H', W'), masks
    rows = np.zeros(row_max.shape, dtype=dout.dtype)
    for mask, view in zip(at_row, _offset_views(rows, 2, size, stride, ho), strict=True):
        _route(dout, mask, view, overlap)
    for mask, view in zip(at_col, _offset_views(dx, 3, size, stride, wo), strict=True):
        _route(rows, mask, view, overlap)
    return dx


def _route(grad: np.ndarray, mask: np.ndarray, target: np.ndarray, add: bool) -> None:
    """``target (+)= grad * mask``, in place."""
    if add:
        target += grad * mask
    else:
        np.multiply(grad, mask, out=target)


def pool_forward(
    x: np.ndarray, size: int, stride: int | None = None, mode: str = "max"
) -> tuple[np.ndarray, Cache]:
    """``pool_forward_cf`` for NHWC tensors.

    Args:
        x: (N, H, W, C), any real dtype (uint8 pixels: max keeps uint8, avg is float32).
        size, stride, mode: as ``pool_forward_cf``.
    Returns:
        out: (N, H', W', C); cache for ``pool_backward``.
    """
    out, cache = pool_forward_cf(to_channels_first(x), size, stride, mode)
    return to_channels_last(out), cache


def pool_backward(dout: np.ndarray, cache: Cache) -> np.ndarray:
    """``pool_backward_cf`` for NHWC tensors: dout (N, H', W', C) -> dx (N, H, W, C)."""
    return to_channels_last(pool_backward_cf(to_channels_first(dout), cache))


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
    out = matmul_blocked(x, w)
    out += b
    return out, (x, w)


def dense_backward(dout: np.ndarray, cache: Cache) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Gradients of ``dense_forward``: dx (N, D), grads ``{"w": (D, M), "b": (M,)}``."""
    x, w = cache
    return matmul_blocked(dout, w.T), {"w": matmul_blocked(x.T, dout), "b": dout.sum(axis=0)}


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
