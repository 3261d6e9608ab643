"""Layer functions: float64 central-difference gradient checks and fast-vs-loop equality."""

from __future__ import annotations

import numpy as np
import pytest

from training import layers
from training import reference_loops as ref


def numeric_grad(f, x: np.ndarray, eps: float = 1e-6) -> np.ndarray:
    """Central differences of the scalar ``f()`` with respect to every entry of ``x`` (in place)."""
    grad = np.zeros_like(x)
    it = np.nditer(x, flags=["multi_index"])
    for _ in it:
        i = it.multi_index
        old = x[i]
        x[i] = old + eps
        plus = f()
        x[i] = old - eps
        minus = f()
        x[i] = old
        grad[i] = (plus - minus) / (2 * eps)
    return grad


def rel_error(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.max(np.abs(a - b) / np.maximum(1e-8, np.abs(a) + np.abs(b))))


CONV_CASES = [
    # (N, H, W, C, F, kernel, stride, pad)
    (2, 6, 6, 1, 2, 3, 1, 0),
    (2, 7, 5, 2, 3, 3, 1, 1),
    (1, 7, 7, 2, 2, 3, 2, 0),
    (1, 8, 9, 3, 2, 3, 2, 1),
    (2, 9, 9, 1, 2, 5, 3, 2),
    (1, 5, 5, 2, 2, 1, 1, 0),
    (1, 4, 4, 1, 1, 2, 2, 3),  # padding wider than half the kernel
]


@pytest.mark.parametrize("n,h,w,c,f,k,stride,pad", CONV_CASES)
def test_conv_gradients_match_central_differences(n, h, w, c, f, k, stride, pad):
    rng = np.random.default_rng(k * 100 + stride * 10 + pad)
    x = rng.standard_normal((n, h, w, c))
    wt = rng.standard_normal((k, k, c, f))
    b = rng.standard_normal(f)
    out, cache = layers.conv2d_forward(x, wt, b, stride, pad)
    r = rng.standard_normal(out.shape)

    def loss() -> float:
        return float((layers.conv2d_forward(x, wt, b, stride, pad)[0] * r).sum())

    dx, grads = layers.conv2d_backward(r, cache)
    assert out.dtype == np.float64 and dx.dtype == np.float64
    assert rel_error(dx, numeric_grad(loss, x)) < 1e-6
    assert rel_error(grads["w"], numeric_grad(loss, wt)) < 1e-6
    assert rel_error(grads["b"], numeric_grad(loss, b)) < 1e-6


def test_conv_without_dx_gives_the_same_weight_gradients():
    rng = np.random.default_rng(3)
    x = rng.standard_normal((2, 6, 6, 1))
    wt, b = rng.standard_normal((3, 3, 1, 2)), np.zeros(2)
    out, cache = layers.conv2d_forward(x, wt, b, 1, 1)
    d = rng.standard_normal(out.shape)
    dx, g_full = layers.conv2d_backward(d, cache)
    none, g = layers.conv2d_backward(d, cache, need_dx=False)
    assert none is None and dx is not None
    np.testing.assert_array_equal(g["w"], g_full["w"])


@pytest.mark.parametrize("seed", range(6))
def test_fast_conv_equals_loop_reference_on_random_shapes(seed):
    rng = np.random.default_rng(seed)
    k = int(rng.integers(1, 6))
    stride, pad = int(rng.integers(1, 4)), int(rng.integers(0, 3))
    h, w = int(rng.integers(k, 12)), int(rng.integers(k, 12))
    n, c, f = int(rng.integers(1, 4)), int(rng.integers(1, 4)), int(rng.integers(1, 5))
    x = rng.standard_normal((n, h, w, c)).astype(np.float32)
    wt = rng.standard_normal((k, k, c, f)).astype(np.float32)
    b = rng.standard_normal(f).astype(np.float32)
    out, cache = layers.conv2d_forward(x, wt, b, stride, pad)
    np.testing.assert_allclose(out, ref.conv2d_loops(x, wt, b, stride, pad), atol=1e-4)
    assert out.dtype == np.float32
    d = rng.standard_normal(out.shape).astype(np.float32)
    dx, g = layers.conv2d_backward(d, cache)
    rdx, rdw, rdb = ref.conv2d_backward_loops(d, x, wt, stride, pad)
    np.testing.assert_allclose(dx, rdx, atol=1e-4)
    np.testing.assert_allclose(g["w"], rdw, atol=1e-3)
    np.testing.assert_allclose(g["b"], rdb, atol=1e-4)
    assert dx.dtype == g["w"].dtype == np.float32


def test_conv_output_size_formula():
    assert layers.conv_output_size(28, 5, 1, 2) == 28
    assert layers.conv_output_size(14, 5, 1, 0) == 10
    assert layers.conv_output_size(7, 3, 2, 0) == 3
    assert layers.conv_output_size(8, 3, 2, 1) == 4


def test_conv_rejects_wrong_channels_and_kernels_that_do_not_fit():
    x = np.zeros((1, 4, 4, 2))
    with pytest.raises(ValueError, match="channels"):
        layers.conv2d_forward(x, np.zeros((3, 3, 1, 1)), np.zeros(1))
    with pytest.raises(ValueError, match="does not fit"):
        layers.conv2d_forward(x, np.zeros((5, 5, 2, 1)), np.zeros(1))
    with pytest.raises(ValueError, match="stride"):
        layers.conv2d_forward(x, np.zeros((3, 3, 2, 1)), np.zeros(1), stride=0)


POOL_CASES = [
    # (N, H, W, C, size, stride)
    (2, 6, 6, 2, 2, 2),
    (1, 7, 7, 2, 2, 2),  # odd size: the last row and column are dropped
    (2, 7, 6, 1, 3, 2),  # overlapping windows (window > stride)
    (1, 7, 7, 2, 2, 3),  # gaps (window < stride)
    (1, 6, 6, 1, 3, 3),
    (1, 5, 5, 2, 2, 1),
]


@pytest.mark.parametrize("mode", ["max", "avg"])
@pytest.mark.parametrize("n,h,w,c,size,stride", POOL_CASES)
def test_pool_gradients_match_central_differences(mode, n, h, w, c, size, stride):
    rng = np.random.default_rng(size * 10 + stride)
    x = rng.standard_normal((n, h, w, c))  # continuous: no ties, so max is differentiable
    out, cache = layers.pool_forward(x, size, stride, mode)
    r = rng.standard_normal(out.shape)

    def loss() -> float:
        return float((layers.pool_forward(x, size, stride, mode)[0] * r).sum())

    dx = layers.pool_backward(r, cache)
    assert rel_error(dx, numeric_grad(loss, x)) < 1e-6


@pytest.mark.parametrize("mode", ["max", "avg"])
@pytest.mark.parametrize("n,h,w,c,size,stride", POOL_CASES)
def test_fast_pool_equals_loop_reference(mode, n, h, w, c, size, stride):
    rng = np.random.default_rng(7)
    x = rng.standard_normal((n, h, w, c)).astype(np.float32)
    out, cache = layers.pool_forward(x, size, stride, mode)
    np.testing.assert_allclose(out, ref.pool_loops(x, size, stride, mode), rtol=1e-6)
    d = rng.standard_normal(out.shape).astype(np.float32)
    np.testing.assert_allclose(
        layers.pool_backward(d, cache),
        ref.pool_backward_loops(d, x, size, stride, mode),
        rtol=1e-6,
        atol=1e-6,
    )


def test_max_pool_tie_sends_gradient_to_the_first_maximum_only():
    x = np.zeros((1, 2, 2, 1), dtype=np.float32)  # a ReLU-zeroed window: all tied
    out, cache = layers.pool_forward(x, 2, 2, "max")
    dx = layers.pool_backward(np.ones_like(out), cache)
    np.testing.assert_array_equal(dx[0, :, :, 0], [[1, 0], [0, 0]])


def test_pooling_uint8_pixels_keeps_max_exact_and_averages_in_float():
    x = np.array([[250, 251], [252, 253]], dtype=np.uint8)[None, :, :, None]
    top, _ = layers.pool_forward(x, 2, 2, "max")
    mean, _ = layers.pool_forward(x, 2, 2, "avg")
    assert top.dtype == np.uint8 and top[0, 0, 0, 0] == 253
    assert mean.dtype == np.float32 and mean[0, 0, 0, 0] == pytest.approx(251.5)


def test_pool_rejects_bad_mode_and_windows_that_do_not_fit():
    with pytest.raises(ValueError, match="mode"):
        layers.pool_forward(np.zeros((1, 4, 4, 1)), 2, 2, "median")
    with pytest.raises(ValueError, match="does not fit"):
        layers.pool_forward(np.zeros((1, 2, 2, 1)), 3, 1, "max")


@pytest.mark.parametrize("name", ["relu", "tanh", "sigmoid", "none"])
def test_activation_gradients_match_central_differences(name):
    forward, backward = layers.ACTIVATIONS[name]
    rng = np.random.default_rng(5)
    x = rng.standard_normal((3, 4)) * 3
    x[np.abs(x) < 0.05] = 0.5  # keep away from ReLU's kink
    r = rng.standard_normal(x.shape)
    _, cache = forward(x)

    def loss() -> float:
        return float((forward(x)[0] * r).sum())

    assert rel_error(backward(r, cache), numeric_grad(loss, x)) < 1e-6


def test_activation_values():
    x = np.array([-1000.0, -1.0, 0.0, 2.0, 1000.0])
    np.testing.assert_allclose(layers.relu_forward(x)[0], [0, 0, 0, 2, 1000])
    s = layers.sigmoid_forward(x)[0]
    assert np.all(np.isfinite(s))
    np.testing.assert_allclose(s, 1 / (1 + np.exp(-np.clip(x, -500, 500))), atol=1e-12)
    np.testing.assert_allclose(layers.tanh_forward(x)[0], np.tanh(x))
    assert layers.sigmoid_forward(x.astype(np.float32))[0].dtype == np.float32


def test_dense_gradients_match_central_differences():
    rng = np.random.default_rng(2)
    x, w, b = rng.standard_normal((4, 5)), rng.standard_normal((5, 3)), rng.standard_normal(3)
    out, cache = layers.dense_forward(x, w, b)
    r = rng.standard_normal(out.shape)

    def loss() -> float:
        return float((layers.dense_forward(x, w, b)[0] * r).sum())

    dx, g = layers.dense_backward(r, cache)
    assert rel_error(dx, numeric_grad(loss, x)) < 1e-6
    assert rel_error(g["w"], numeric_grad(loss, w)) < 1e-6
    assert rel_error(g["b"], numeric_grad(loss, b)) < 1e-6


def test_softmax_cross_entropy_gradient_and_value():
    rng = np.random.default_rng(4)
    logits = rng.standard_normal((5, 10)) * 2
    labels = rng.integers(0, 10, 5)
    loss, dlogits = layers.softmax_cross_entropy(logits, labels)
    expected = -np.mean(np.log(layers.softmax(logits)[np.arange(5), labels]))
    assert loss == pytest.approx(expected, rel=1e-12)

    def f() -> float:
        return layers.softmax_cross_entropy(logits, labels)[0]

    assert rel_error(dlogits, numeric_grad(f, logits, eps=1e-5)) < 1e-6


def test_softmax_is_stable_and_keeps_float32():
    logits = np.array([[1000.0, 0.0], [-1000.0, -1000.0]], dtype=np.float32)
    p = layers.softmax(logits)
    np.testing.assert_allclose(p, [[1, 0], [0.5, 0.5]], atol=1e-6)
    loss, d = layers.softmax_cross_entropy(logits, np.array([0, 1]))
    assert np.isfinite(loss) and d.dtype == np.float32
