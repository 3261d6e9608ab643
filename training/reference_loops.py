"""Plain-loop convolution and pooling, slow and obvious: the references the tests compare with.

Nothing outside ``tests/`` should use these; ``training.layers`` has the fast versions.
Shapes are NHWC as there.
"""

from __future__ import annotations

import numpy as np


def conv2d_loops(x: np.ndarray, w: np.ndarray, b: np.ndarray, stride: int, pad: int) -> np.ndarray:
    """Cross-correlation, one output value at a time.

    Args:
        x: (N, H, W, C); w: (kh, kw, C, F); b: (F,).
    Returns:
        (N, H', W', F), same dtype as ``x``.
    """
    n, h, wd, c = x.shape
    kh, kw, _, f = w.shape
    xp = np.zeros((n, h + 2 * pad, wd + 2 * pad, c), dtype=x.dtype)
    xp[:, pad : pad + h, pad : pad + wd, :] = x
    ho = (h + 2 * pad - kh) // stride + 1
    wo = (wd + 2 * pad - kw) // stride + 1
    out = np.zeros((n, ho, wo, f), dtype=x.dtype)
    for i in range(n):
        for y in range(ho):
            for xx in range(wo):
                patch = xp[i, y * stride : y * stride + kh, xx * stride : xx * stride + kw, :]
                for k in range(f):
                    out[i, y, xx, k] = np.sum(patch * w[:, :, :, k]) + b[k]
    return out


def conv2d_backward_loops(
    dout: np.ndarray, x: np.ndarray, w: np.ndarray, stride: int, pad: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Gradients of ``conv2d_loops`` by scattering each output's gradient over its window.

    Returns:
        dx (N, H, W, C), dw (kh, kw, C, F), db (F,).
    """
    n, h, wd, c = x.shape
    kh, kw, _, f = w.shape
    xp = np.zeros((n, h + 2 * pad, wd + 2 * pad, c), dtype=x.dtype)
    xp[:, pad : pad + h, pad : pad + wd, :] = x
    dxp = np.zeros_like(xp)
    dw = np.zeros_like(w)
    _, ho, wo, _ = dout.shape
    for i in range(n):
        for y in range(ho):
            for xx in range(wo):
                ys, xs = y * stride, xx * stride
                for k in range(f):
                    g = dout[i, y, xx, k]
                    dw[:, :, :, k] += g * xp[i, ys : ys + kh, xs : xs + kw, :]
                    dxp[i, ys : ys + kh, xs : xs + kw, :] += g * w[:, :, :, k]
    db = dout.sum(axis=(0, 1, 2))
    return dxp[:, pad : pad + h, pad : pad + wd, :], dw, db


def pool_loops(x: np.ndarray, size: int, stride: int, mode: str) -> np.ndarray:
    """Max or average pooling without padding, one window at a time: (N, H', W', C)."""
    n, h, w, c = x.shape
    ho = (h - size) // stride + 1
    wo = (w - size) // stride + 1
    out = np.zeros((n, ho, wo, c), dtype=x.dtype)
    for i in range(n):
        for y in range(ho):
            for xx in range(wo):
                win = x[i, y * stride : y * stride + size, xx * stride : xx * stride + size, :]
                out[i, y, xx, :] = win.max(axis=(0, 1)) if mode == "max" else win.mean(axis=(0, 1))
    return out


def pool_backward_loops(
    dout: np.ndarray, x: np.ndarray, size: int, stride: int, mode: str
) -> np.ndarray:
    """Gradient of ``pool_loops``: max sends it to the first maximum (row-major) of each window."""
    n, _, _, c = x.shape
    _, ho, wo, _ = dout.shape
    dx = np.zeros_like(x)
    for i in range(n):
        for y in range(ho):
            for xx in range(wo):
                ys, xs = y * stride, xx * stride
                for k in range(c):
                    g = dout[i, y, xx, k]
                    if mode == "avg":
                        dx[i, ys : ys + size, xs : xs + size, k] += g / (size * size)
                        continue
                    win = x[i, ys : ys + size, xs : xs + size, k]
                    r, q = np.unravel_index(np.argmax(win), win.shape)
                    dx[i, ys + r, xs + q, k] += g
    return dx
