"""app.classifier: one loader for LiteRT, tflite-runtime and NumPy; clear errors for bad files."""

from __future__ import annotations

import importlib.util
import shutil
from pathlib import Path

import numpy as np
import pytest

from app.classifier import (
    DigitClassifier,
    Prediction,
    load_classifier,
    runtime_versions,
)
from app.errors import ModelError
from training.mnist import load_split
from training.model_io import load_model

REPO = Path(__file__).resolve().parents[1]
MODELS = REPO / "models"
DEFAULT_MODEL = MODELS / "lenet_float32.tflite"
SHAPES = {
    "conv1": (28, 28, 6), "pool1": (14, 14, 6), "conv2": (10, 10, 16), "pool2": (5, 5, 16),
    "fc1": (120,), "fc2": (84,), "fc3": (10,),
}  # fmt: skip
VERSIONS = runtime_versions()
HAS_RUNTIME = bool(VERSIONS["ai-edge-litert"] or VERSIONS["tflite-runtime"])
needs_runtime = pytest.mark.skipif(not HAS_RUNTIME, reason="no TFLite runtime installed")
needs_tflite = pytest.mark.skipif(
    importlib.util.find_spec("tflite") is None, reason="exporting needs the tflite package"
)
TFLITE_MODELS = ("lenet_float32.tflite", "lenet_int8.tflite")


@pytest.fixture(scope="module")
def digits():
    images, labels = load_split("test")
    return images[:200], labels[:200]


@pytest.fixture(scope="module")
def reference():
    return load_classifier(MODELS / "lenet.npz")


def _one_line(exc: pytest.ExceptionInfo) -> str:
    message = str(exc.value)
    assert message and "\n" not in message
    return message


def test_runtime_versions_reports_what_imports():
    assert set(VERSIONS) == {"ai-edge-litert", "tflite-runtime", "numpy"}
    assert VERSIONS["numpy"] == np.__version__
    for module, dist in (
        ("ai_edge_litert", "ai-edge-litert"),
        ("tflite_runtime", "tflite-runtime"),
    ):
        assert (VERSIONS[dist] is not None) == (importlib.util.find_spec(module) is not None)


@needs_runtime
@pytest.mark.parametrize("name", TFLITE_MODELS)
def test_tflite_prediction_shapes_and_description(name, digits):
    clf = load_classifier(MODELS / name)
    assert isinstance(clf, DigitClassifier)
    expected_backend = "litert" if VERSIONS["ai-edge-litert"] else "tflite-runtime"
    assert clf.backend == expected_backend
    label = "LiteRT" if expected_backend == "litert" else "tflite-runtime"
    version = VERSIONS["ai-edge-litert"] or VERSIONS["tflite-runtime"]
    precision = "int8" if "int8" in name else "float32"
    assert clf.description == f"{label} {version}, {name} ({precision})"
    assert clf.layer_names == tuple(SHAPES)
    pred = clf.predict(digits[0][0])
    assert isinstance(pred, Prediction)
    assert pred.probs.shape == (10,) and pred.probs.dtype == np.float32
    assert pred.probs.sum() == pytest.approx(1.0, abs=1e-5)
    assert {k: v.shape for k, v in pred.layers.items()} == SHAPES
    assert all(v.dtype == np.float32 for v in pred.layers.values())


@needs_runtime
@pytest.mark.parametrize("name", TFLITE_MODELS)
def test_tflite_agrees_with_numpy_reference(name, digits, reference):
    clf = load_classifier(MODELS / name)
    images, _ = digits
    agree = 0
    for image in images:
        got, ref = clf.predict(image), reference.predict(image)
        agree += got.probs.argmax() == ref.probs.argmax()
        if "float32" in name:
            np.testing.assert_allclose(got.probs, ref.probs, atol=1e-5)
            for layer in SHAPES:
                np.testing.assert_allclose(got.layers[layer], ref.layers[layer], atol=1e-4)
        else:
            # Int8: conv1 sees the exact input; its error is its own rounding, except
            # where an activation beyond the calibrated range saturates.
            span = np.ptp(ref.layers["conv1"])
            err = np.abs(got.layers["conv1"] - ref.layers["conv1"])
            assert np.percentile(err, 99.9) <= 0.02 * span and err.max() <= 0.1 * span
    assert agree >= len(images) - (0 if "float32" in name else 2)


@needs_runtime
@pytest.mark.parametrize("name", TFLITE_MODELS)
def test_uint8_and_float_inputs_give_the_same_answer(name, digits):
    clf = load_classifier(MODELS / name)
    image = digits[0][1]
    by_uint8 = clf.predict(image)
    by_float = clf.predict(image.astype(np.float32) / 255.0)
    by_hwc = clf.predict(image[:, :, None])
    np.testing.assert_allclose(by_uint8.probs, by_float.probs, atol=1e-6)
    np.testing.assert_array_equal(by_uint8.probs, by_hwc.probs)


@needs_runtime
@pytest.mark.parametrize("name", TFLITE_MODELS)
def test_learned_kernels_are_conv1_weights(name):
    _, params, _ = load_model(MODELS / "lenet.npz")
    w = params["conv1/w"]
    kernels = load_classifier(MODELS / name).learned_kernels
    assert kernels is not None and kernels.shape == (5, 5, 1, 6) and kernels.dtype == np.float32
    if "float32" in name:
        np.testing.assert_array_equal(kernels, w)
    else:
        step = np.abs(w).max(axis=(0, 1, 2)) / 127  # per output channel
        assert np.all(np.abs(kernels - w) <= step / 2 + 1e-6)


def test_numpy_backend_from_npz_and_from_tflite_path(digits):
    by_npz = load_classifier(MODELS / "lenet.npz")
    by_name = load_classifier(MODELS / "lenet_float32.tflite", backend="numpy")
    assert by_npz.backend == by_name.backend == "numpy"
    assert by_npz.description == f"NumPy {np.__version__} reference, lenet.npz (float32)"
    image = digits[0][2]
    np.testing.assert_array_equal(by_npz.predict(image).probs, by_name.predict(image).probs)
    assert by_npz.learned_kernels.shape == (5, 5, 1, 6)


def test_missing_file(tmp_path):
    with pytest.raises(ModelError) as exc:
        load_classifier(tmp_path / "absent.tflite")
    assert "absent.tflite" in _one_line(exc) and "does not exist" in str(exc.value)
    with pytest.raises(ModelError) as exc:
        load_classifier(tmp_path / "absent.npz")
    assert "does not exist" in _one_line(exc)


@pytest.mark.parametrize("fraction", [0.0, 0.001, 0.3, 0.6, 0.97, 0.9999])
def test_truncated_copy(tmp_path, fraction):
    # Checked before any interpreter sees it: tflite-runtime 2.14 would crash (SIGSEGV).
    blob = (MODELS / "lenet_float32.tflite").read_bytes()
    path = tmp_path / "cut.tflite"
    path.write_bytes(blob[: int(len(blob) * fraction)])
    with pytest.raises(ModelError) as exc:
        load_classifier(path)
    assert "cut.tflite" in _one_line(exc)
    assert "truncated or not a TFLite model" in str(exc.value)


def test_random_bytes(tmp_path):
    rng = np.random.default_rng(7)
    for i in range(20):
        path = tmp_path / f"noise{i}.tflite"
        noise = rng.integers(0, 256, size=5000, dtype=np.uint8).tobytes()
        path.write_bytes(noise if i % 2 else noise[:4] + b"TFL3" + noise[8:])
        with pytest.raises(ModelError) as exc:
            load_classifier(path)
        assert "not a TFLite model" in _one_line(exc)


def test_corrupt_npz(tmp_path):
    path = tmp_path / "lenet.npz"
    path.write_bytes((MODELS / "lenet.npz").read_bytes()[:5000])
    with pytest.raises(ModelError) as exc:
        load_classifier(path)
    assert "truncated" in _one_line(exc)


@needs_runtime
@needs_tflite
def test_valid_tflite_of_the_wrong_shape(tmp_path):
    from training.export import export_float32
    from training.network import init_params
    from training.spec import lenet5_spec

    spec = lenet5_spec()
    spec["input_shape"] = [32, 32, 1]  # a valid LeNet, the classic 32x32 input
    path = tmp_path / "lenet32.tflite"
    path.write_bytes(export_float32(spec, init_params(spec)))
    with pytest.raises(ModelError) as exc:
        load_classifier(path)
    assert "(1, 32, 32, 1), expected (1, 28, 28, 1)" in _one_line(exc)


@needs_runtime
@needs_tflite
def test_tflite_without_the_layer_outputs(tmp_path):
    from training.tflite_builder import ModelBuilder

    builder = ModelBuilder()
    x = builder.add_tensor("image", (1, 28, 28, 1), np.float32)
    shape = builder.add_tensor("shape", (2,), np.int32, np.array([1, 784], dtype=np.int32))
    y = builder.add_tensor("probs", (1, 784), np.float32)
    builder.add_operator(22, (x, shape), (y,))  # RESHAPE
    path = tmp_path / "other.tflite"
    path.write_bytes(builder.build({"image": x}, {"probs": y}, "not a LeNet"))
    with pytest.raises(ModelError) as exc:
        load_classifier(path)
    assert "lacks output(s) conv1, pool1" in _one_line(exc)


def test_bad_backend_and_suffix(tmp_path):
    with pytest.raises(ModelError) as exc:
        load_classifier(DEFAULT_MODEL, backend="onnx")
    assert "'onnx'" in _one_line(exc)
    path = tmp_path / "model.onnx"
    shutil.copy(DEFAULT_MODEL, path)
    with pytest.raises(ModelError) as exc:
        load_classifier(path)
    assert "not a .tflite or .npz" in _one_line(exc)


def test_a_runtime_that_is_not_installed_is_a_model_error():
    missing = [b for b, d in (("litert", "ai-edge-litert"), ("tflite-runtime", "tflite-runtime"))
               if VERSIONS[d] is None]  # fmt: skip
    if not missing:
        pytest.skip("both runtimes are installed")
    with pytest.raises(ModelError) as exc:
        load_classifier(DEFAULT_MODEL, backend=missing[0])
    assert "no TFLite runtime" in _one_line(exc)


@needs_runtime
def test_bad_input_shape_and_dtype_are_value_errors():
    clf = load_classifier(DEFAULT_MODEL)
    with pytest.raises(ValueError, match=r"shape \(27, 28\), expected \(28, 28\)"):
        clf.predict(np.zeros((27, 28), np.float32))
    with pytest.raises(ValueError, match="dtype int64"):
        clf.predict(np.zeros((28, 28), np.int64))
    # The classifier still works after a bad call.
    assert clf.predict(np.zeros((28, 28), np.uint8)).probs.shape == (10,)
