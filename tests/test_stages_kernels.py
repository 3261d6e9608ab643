"""Kernel and pooling stages against the NumPy reference and an independent loop."""

from __future__ import annotations

import itertools
from dataclasses import replace

import numpy as np
import pytest

from app.errors import ConfigError
from app.frame import Frame
from app.stages.activation import display_range, to_display
from app.stages.inspect import REFRESH_FRAMES
from app.stages.kernel_specs import check_kernel
from app.stages.kernels import (
    KERNEL_PRESETS,
    KernelStage,
    apply_kernel,
    output_size,
    processing_image,
    reference_filter,
    reference_run,
)
from app.stages.pooling import PoolStage, pool_map
from app.stages.results import FrameResults
from app.state import ACTIVATIONS, PADDINGS, POOL_MODES, POOL_SIZES, STRIDES, Roi, ViewState
from training import layers


def loop_correlate(image: np.ndarray, kernel: np.ndarray, stride: int, padding: str) -> np.ndarray:
    """Textbook loop: pad, slide the window, multiply and add (float64)."""
    k = kernel.shape[0]
    p = 0 if padding == "valid" else k // 2
    mode = {"valid": "constant", "zero": "constant", "reflect": "reflect"}[padding]
    padded = np.pad(image.astype(np.float64), p, mode=mode)
    h = (image.shape[0] + 2 * p - k) // stride + 1
    w = (image.shape[1] + 2 * p - k) // stride + 1
    out = np.zeros((h, w))
    for i in range(h):
        for j in range(w):
            window = padded[i * stride : i * stride + k, j * stride : j * stride + k]
            out[i, j] = (window * kernel).sum()
    return out


def loop_pool(x: np.ndarray, size: int, mode: str) -> np.ndarray:
    h, w = (x.shape[0] - size) // size + 1, (x.shape[1] - size) // size + 1
    out = np.zeros((h, w))
    for i in range(h):
        for j in range(w):
            win = x[i * size : (i + 1) * size, j * size : (j + 1) * size]
            out[i, j] = win.max() if mode == "max" else win.mean()
    return out


@pytest.fixture(scope="module")
def image() -> np.ndarray:
    rng = np.random.default_rng(7)
    return rng.random((23, 31), dtype=np.float32)


def _activate(x: np.ndarray, activation: str) -> np.ndarray:
    return layers.ACTIVATIONS[activation][0](x)[0]


@pytest.mark.parametrize("name", list(KERNEL_PRESETS))
def test_every_preset_stride_padding_operation_matches_references(name, image):
    kernel = KERNEL_PRESETS[name]
    for stride, padding, operation in itertools.product(
        STRIDES, PADDINGS, ("correlation", "convolution")
    ):
        result = apply_kernel(
            image, kernel, stride=stride, padding=padding, activation="none",
            operation=operation,
        )  # fmt: skip
        stack = kernel[None] if kernel.ndim == 2 else kernel
        if operation == "convolution":
            stack = stack[:, ::-1, ::-1]
        loops = [loop_correlate(image, k, stride, padding) for k in stack]
        expected = loops[0] if len(loops) == 1 else np.hypot(*loops)
        k = kernel.shape[-1]
        assert result.shape == (
            output_size(image.shape[0], k, stride, padding),
            output_size(image.shape[1], k, stride, padding),
        )
        assert result.shape == expected.shape, (name, stride, padding)
        np.testing.assert_allclose(result, expected, atol=1e-4, err_msg=f"{name} {stride}")
        run = reference_run(
            image, kernel, result, stride=stride, padding=padding, activation="none",
            operation=operation,
        )  # fmt: skip
        assert run.max_abs_diff < 1e-4


def test_output_size_formula():
    # 240 rows, 3x3, zero padding, stride 2: floor((240 + 2 - 3) / 2) + 1 = 120.
    assert output_size(240, 3, 2, "zero") == 120
    assert output_size(240, 3, 1, "valid") == 238
    assert output_size(240, 5, 3, "reflect") == 80
    assert output_size(7, 3, 4, "valid") == 2


def test_convolution_flips_and_correlation_does_not():
    img = np.zeros((5, 5), np.float32)
    img[2, 2] = 1.0  # an impulse: correlation gives the kernel flipped, convolution as is
    kernel = np.arange(9, dtype=np.float32).reshape(3, 3)
    conv = apply_kernel(img, kernel, stride=1, padding="zero", activation="none",
                        operation="convolution")  # fmt: skip
    corr = apply_kernel(img, kernel, stride=1, padding="zero", activation="none",
                        operation="correlation")  # fmt: skip
    np.testing.assert_array_equal(conv[1:4, 1:4], kernel)
    np.testing.assert_array_equal(corr[1:4, 1:4], kernel[::-1, ::-1])


@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_activations_match_reference(activation, image):
    kernel = KERNEL_PRESETS["sobel_x"]
    result = apply_kernel(image, kernel, stride=1, padding="reflect", activation=activation,
                          operation="correlation")  # fmt: skip
    expected = _activate(reference_filter(image, kernel, 1, "reflect"), activation)
    np.testing.assert_allclose(result, expected, atol=1e-5)
    if activation == "relu":
        assert result.min() >= 0
    if activation == "sigmoid":
        assert result.min() > 0 and result.max() < 1
    if activation == "tanh":
        assert result.min() > -1 and result.max() < 1


def test_custom_kernel_of_any_odd_size(image):
    k5 = np.arange(25, dtype=np.float32).reshape(5, 5) - 12
    for stride, padding in itertools.product(STRIDES, PADDINGS):
        result = apply_kernel(image, k5, stride=stride, padding=padding, activation="none",
                              operation="correlation")  # fmt: skip
        np.testing.assert_allclose(result, loop_correlate(image, k5, stride, padding), atol=1e-4)


@pytest.mark.parametrize(
    ("value", "needle"),
    [
        ([[1, 2], [3, 4]], "odd"),
        ([[1, 2, 3], [4, 5, 6]], "square"),
        ([[1, "a", 0], [0, 1, 0], [0, 0, 1]], "numbers"),
        ([[1, float("nan"), 0], [0, 1, 0], [0, 0, 1]], "finite"),
        ([[True, 0, 0], [0, 1, 0], [0, 0, 1]], "numbers"),
        ("edge", "square"),
        ([], "square"),
    ],
)
def test_bad_custom_kernels_name_the_key(value, needle):
    with pytest.raises(ConfigError, match=needle) as info:
        check_kernel("mine", value)
    assert "[kernels.custom] mine" in str(info.value)


def test_stage_config_errors_name_the_stage():
    stage = KernelStage()
    with pytest.raises(ConfigError, match="stage kernel"):
        stage.configure({"processing_widht": 320})
    with pytest.raises(ConfigError, match="processing_width"):
        stage.configure({"processing_width": "wide"})
    with pytest.raises(ConfigError, match=r"\[kernels\.custom\] sobel_x: the name is taken"):
        KernelStage({"sobel_x": [[1]]})
    with pytest.raises(ConfigError, match="stage pool"):
        PoolStage().configure({"size": 2})


def _frame(gray: np.ndarray, seq: int = 0) -> Frame:
    array = np.repeat(gray[:, :, None], 3, axis=2)
    return Frame(array=array, gray=gray, seq=seq, timestamp=0.0)


def test_kernel_stage_result_and_processing_width():
    rng = np.random.default_rng(3)
    gray = rng.integers(0, 256, (480, 640), dtype=np.uint8)
    stage = KernelStage({"ridge": [[0, -1, 0], [0, 2, 0], [0, -1, 0]]})
    stage.configure({"processing_width": 320})
    state = ViewState(view="kernel", kernel="horizontal_edge", stride=2, padding="zero",
                      operation="convolution", numpy_reference=True)  # fmt: skip
    res = FrameResults()
    stage.process(_frame(gray), state, res)
    assert res.kernel.in_shape == (240, 320)
    assert res.kernel.out_shape == (120, 160) == res.kernel.output.shape
    assert res.kernel.image.dtype == np.uint8 and res.kernel.image.shape == (120, 160)
    assert res.kernel.formula_h == "H' = floor((240 + 2*1 - 3) / 2) + 1 = 120"
    assert res.kernel.formula_w == "W' = floor((320 + 2*1 - 3) / 2) + 1 = 160"
    np.testing.assert_array_equal(
        res.kernel.matrices[0], KERNEL_PRESETS["horizontal_edge"][::-1, ::-1]
    )
    assert res.kernel.reference is not None and res.kernel.reference.max_abs_diff < 1e-4
    # The image is a fixed mapping of the output through kernel.range.
    lo, hi = res.kernel.value_range
    np.testing.assert_array_equal(res.kernel.image, to_display(res.kernel.output, lo, hi))
    expected = loop_correlate(
        processing_image(gray, 320)[:40, :40],
        KERNEL_PRESETS["horizontal_edge"][::-1, ::-1],
        2,
        "zero",
    )
    np.testing.assert_allclose(res.kernel.output[:19, :19], expected[:19, :19], atol=1e-4)
    res = FrameResults()
    stage.process(_frame(gray), state.with_changes(kernel="ridge", operation="correlation"), res)
    assert res.kernel.name == "ridge"


def test_processing_width_zero_keeps_the_grey_size():
    gray = np.full((48, 64), 100, np.uint8)
    stage = KernelStage()
    stage.configure({"processing_width": 0})
    res = FrameResults()
    stage.process(_frame(gray), ViewState(padding="valid", stride=3), res)
    assert res.kernel.in_shape == (48, 64)
    assert res.kernel.out_shape == ((48 - 3) // 3 + 1, (64 - 3) // 3 + 1)


def test_display_ranges_are_fixed_per_kernel_and_activation():
    edge = KERNEL_PRESETS["horizontal_edge"]
    assert display_range(edge, "none") == (-1.5, 1.5)
    assert display_range(edge, "relu") == (0.0, 1.5)
    assert display_range(edge, "sigmoid") == (0.0, 1.0)
    assert display_range(edge, "tanh") == (-1.0, 1.0)
    assert display_range(KERNEL_PRESETS["box_blur"], "none") == pytest.approx((0.0, 1.0))
    assert display_range(KERNEL_PRESETS["sobel_magnitude"], "none") == (0.0, 2.121)
    assert display_range(KERNEL_PRESETS["laplacian"], "relu") == (0.0, 1.0)
    values = np.array([[-1.5, 0.0, 1.5, 9.0]], np.float32)
    np.testing.assert_array_equal(to_display(values, -1.5, 1.5), [[0, 128, 255, 255]])


@pytest.mark.parametrize(("size", "mode"), list(itertools.product(POOL_SIZES, POOL_MODES)))
def test_pooling_matches_the_loop_reference(size, mode):
    rng = np.random.default_rng(size)
    x = rng.standard_normal((37, 50)).astype(np.float32)
    fast = pool_map(x, size, mode)
    assert fast.shape == ((37 - size) // size + 1, (50 - size) // size + 1)
    np.testing.assert_allclose(fast, loop_pool(x, size, mode), atol=1e-5)


def test_pool_stage_result():
    rng = np.random.default_rng(5)
    gray = rng.integers(0, 256, (240, 320), dtype=np.uint8)
    state = ViewState(view="pooling", stride=1, pool_size=3, pool_mode="avg", numpy_reference=True)
    res = FrameResults()
    KernelStage().process(_frame(gray), state, res)
    PoolStage().process(_frame(gray), state, res)
    assert res.pool.in_shape == (240, 320)
    assert res.pool.out_shape == (80, 106) == res.pool.output.shape
    assert res.pool.formula_h == "H' = floor((240 - 3) / 3) + 1 = 80"
    assert res.pool.reference is None  # the stage runs the reference layer itself
    assert res.pool.value_range == res.kernel.value_range
    assert res.pool.image.shape == (80, 106)


def test_pool_without_kernel_output_is_a_no_op():
    res = FrameResults()
    PoolStage().process(_frame(np.zeros((8, 8), np.uint8)), ViewState(), res)
    assert res == FrameResults()


def test_unknown_kernel_name_falls_back_to_identity():
    gray = np.arange(64 * 48, dtype=np.uint32).reshape(48, 64).astype(np.uint8)
    res = FrameResults()
    KernelStage().process(_frame(gray), ViewState(kernel="no_such_kernel"), res)
    assert res.kernel.name == "identity"
    np.testing.assert_allclose(res.kernel.output, gray / 255.0, atol=1e-6)


def test_a_map_smaller_than_the_window_pools_to_an_empty_map():
    assert pool_map(np.ones((3, 40), np.float32), 4, "max").shape == (0, 10)


@pytest.mark.parametrize("padding", PADDINGS)
def test_the_kernel_result_says_how_much_padding_it_slid_over(padding):
    gray = np.zeros((48, 64), np.uint8)
    res = FrameResults()
    KernelStage().process(_frame(gray), ViewState(kernel="laplacian", padding=padding), res)
    assert res.kernel.padding == (0 if padding == "valid" else 1)


@pytest.mark.parametrize(("size", "mode"), [(2, "max"), (3, "avg"), (4, "max")])
def test_the_pool_window_under_the_roi_is_the_pooled_value_written_out(size, mode):
    rng = np.random.default_rng(size)
    gray = rng.integers(0, 256, (240, 320), dtype=np.uint8)
    state = ViewState(view="pooling", pool_size=size, pool_mode=mode, roi=Roi(0.3, 0.7, 0.2))
    res = FrameResults()
    KernelStage().process(_frame(gray), state, res)
    PoolStage().process(_frame(gray), state, res)
    window = res.pool.window
    r, c = window.unit
    # The unit under the ROI's centre, and the kernel output its window covers.
    assert (r, c) == (int(0.7 * 240) // size, int(0.3 * 320) // size)
    np.testing.assert_array_equal(
        window.values, res.kernel.output[r * size : (r + 1) * size, c * size : (c + 1) * size]
    )
    expected = window.values.max() if mode == "max" else window.values.mean()
    assert window.value == pytest.approx(float(expected), abs=1e-6)
    assert window.value == pytest.approx(float(res.pool.output[r, c]), abs=1e-6)


def test_the_pool_window_keeps_its_numbers_for_a_few_frames_unless_something_changes():
    rng = np.random.default_rng(3)
    stage = PoolStage()
    state = ViewState(view="pooling")
    windows = []
    for seq in range(REFRESH_FRAMES + 2):
        gray = rng.integers(0, 256, (60, 80), dtype=np.uint8)  # noise: new values each frame
        res = FrameResults()
        KernelStage().process(_frame(gray, seq), state, res)
        stage.process(_frame(gray, seq), state, res)
        windows.append(res.pool.window)
    assert all(w is windows[0] for w in windows[:REFRESH_FRAMES])
    assert windows[REFRESH_FRAMES] is not windows[0]
    moved = replace(state, roi=Roi(0.2, 0.2, 0.2))
    res = FrameResults()
    KernelStage().process(_frame(gray, REFRESH_FRAMES + 2), moved, res)
    stage.process(_frame(gray, REFRESH_FRAMES + 2), moved, res)
    assert res.pool.window.unit != windows[-1].unit  # the ROI moved: at once
