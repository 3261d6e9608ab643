"""Feature mosaics: one tile per channel, fixed colour scale per layer, kernels as tiles."""

from __future__ import annotations

import numpy as np
import pytest

from app.frame import Frame
from app.stages.features import FeaturesStage, layer_mosaic, layer_range
from app.stages.kernels import KERNEL_PRESETS
from app.stages.results import DIGIT, DigitResult, FrameResults
from app.state import ViewState
from tests.digit_support import committed_classifier, mnist_test_split

SHAPES = {"conv1": (28, 28, 6), "pool1": (14, 14, 6), "conv2": (10, 10, 16),
          "pool2": (5, 5, 16), "fc1": (120,), "fc2": (84,), "fc3": (10,)}  # fmt: skip


def digit_result(layers: dict, tensor: np.ndarray) -> DigitResult:
    return DigitResult(
        status=DIGIT,
        reason=None,
        prediction=int(np.argmax(layers["fc3"])),
        confidence=1.0,
        probs=np.zeros(10, np.float32),
        runtime="test",
        roi_px=(0, 0, 28, 28),
        tensor=tensor,
        layers=layers,
        layers_tensor=tensor,
    )


def _frame() -> Frame:
    gray = np.zeros((48, 64), np.uint8)
    return Frame(array=np.zeros((48, 64, 3), np.uint8), gray=gray, seq=0, timestamp=0.0)


def test_layer_range_rules():
    rng = np.random.default_rng(0)
    relu = np.maximum(rng.normal(0, 1, 10000), 0)
    lo, hi = layer_range(relu)
    assert lo == 0.0 and np.percentile(relu, 99.5) <= hi <= 1.1 * np.percentile(relu, 99.5)
    signed = rng.normal(0.5, 2.0, 10000)
    lo, hi = layer_range(signed)
    assert lo == -hi and hi >= abs(np.percentile(signed, 0.5))


def test_mosaic_layout():
    conv = np.random.default_rng(1).random((10, 10, 16)).astype(np.float32)
    m = layer_mosaic("conv2", conv, (0.0, 1.0), tile_px=50)
    image = m.image
    assert image.dtype == np.uint8 and image.ndim == 3 and image.shape[2] == 3
    # 16 channels, 8 per row, zoom 5, 2 px gaps.
    assert image.shape[:2] == (2 * 50 + 2, 8 * 50 + 7 * 2)
    assert m.shape == (10, 10, 16) and m.value_range == (0.0, 1.0)
    # The grid it says it has is the one drawn: channel 9 is row 1, column 1.
    assert (m.columns, m.tile, m.gap) == (8, (50, 50), 2)
    x0, y0 = 1 * (50 + 2), 1 * (50 + 2)
    tile = image[y0 : y0 + 50, x0 : x0 + 50]
    assert (image[50:52] == image[50, 0]).all() and not (tile == image[50, 0]).all(axis=2).any()
    dense = layer_mosaic("fc3", np.arange(10, dtype=np.float32) - 5, (-5.0, 5.0), tile_px=50)
    assert dense.image.shape[0] == 25  # one row of 10 cells, 25 px each


def test_stage_with_the_committed_model_has_fixed_scales():
    clf = committed_classifier()
    images, _ = mnist_test_split()
    stage = FeaturesStage(clf, KERNEL_PRESETS)
    stage.configure({})
    outputs = []
    for i in (0, 1):
        tensor = images[i].astype(np.float32) / 255.0
        res = FrameResults(digit=digit_result(clf.predict(tensor).layers, tensor))
        stage.process(_frame(), ViewState(view="features"), res)
        outputs.append(res.features)
    first, second = outputs
    names = [m.name for m in first.mosaics]
    assert names == list(SHAPES)
    for a, b in zip(first.mosaics, second.mosaics, strict=True):
        assert a.value_range == b.value_range, a.name  # fixed: does not follow the frame
        assert a.shape == SHAPES[a.name]
        lo, hi = a.value_range
        assert hi > lo
        if a.name != "fc3":  # ReLU layers are non-negative; the logits are signed
            assert lo == 0.0
    assert first.mosaics[-1].value_range[0] < 0
    tensor_image = first.tensor_image
    assert tensor_image.shape == (28, 28) and tensor_image.dtype == np.uint8
    np.testing.assert_allclose(tensor_image, images[0], atol=1)
    # Kernel c of the learned ones is the one that makes conv1's map c.
    weights = np.asarray(clf.learned_kernels, np.float32)
    assert first.learned.shape == (6, 5, 5)
    for c in range(6):
        np.testing.assert_array_equal(first.learned[c], weights[:, :, 0, c])
    lo, hi = first.learned_range
    assert lo == -hi and hi >= np.abs(weights).max()
    # Every single preset, by name, with its values; the Sobel magnitude's pair is not one.
    names = [kernel.name for kernel in first.handmade]
    assert names == [name for name in KERNEL_PRESETS if name != "sobel_magnitude"]
    for kernel in first.handmade:
        np.testing.assert_array_equal(kernel.values, KERNEL_PRESETS[kernel.name])


def test_no_layers_gives_no_mosaics():
    stage = FeaturesStage(None)
    stage.configure({})
    res = FrameResults()
    stage.process(_frame(), ViewState(view="features"), res)
    assert res.features.mosaics == ()
    assert res.features.tensor_image.shape == (28, 28)
    assert res.features.learned is None


@pytest.mark.parametrize("tile", [16, 128])
def test_tile_px_bounds_are_accepted(tile):
    FeaturesStage(None).configure({"tile_px": tile})
