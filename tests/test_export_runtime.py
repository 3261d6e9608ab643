"""Exported models run in the installed TFLite runtime and match the NumPy forward pass.

Runs under LiteRT (main venv) and under tflite-runtime 2.14 with numpy < 2
(``.ci/tflite_runtime_env.sh``). Tests that export need the ``tflite`` package;
tests of the committed models need only a runtime.
"""

from __future__ import annotations

import hashlib
import importlib.util
from pathlib import Path

import numpy as np
import pytest

from training.layers import softmax
from training.mnist import load_split
from training.model_io import load_model
from training.network import forward, init_params, predict_probs
from training.spec import ACTIVATION_CHOICES, POOLING_CHOICES, lenet5_spec
from training.tflite_predict import TFLiteModel, interpreter_class

try:
    interpreter_class()
except ImportError:
    pytest.skip("no TFLite runtime installed", allow_module_level=True)

REPO = Path(__file__).resolve().parents[1]
MODELS = REPO / "models"
LAYERS = ("conv1", "pool1", "conv2", "pool2", "fc1", "fc2", "fc3")
needs_tflite = pytest.mark.skipif(
    importlib.util.find_spec("tflite") is None, reason="exporting needs the tflite package"
)


@pytest.fixture(scope="module")
def test_images():
    return load_split("test")


@pytest.fixture(scope="module")
def calibration():
    return load_split("train")[0][:300]


def _reference(spec, params, images):
    x = images[..., None].astype(np.float32) * np.float32(spec["input_scale"])
    _, _, outputs = forward(spec, params, x, keep=True)
    outputs.pop("flatten", None)
    outputs["probs"] = softmax(outputs["fc3"])
    return outputs


@needs_tflite
@pytest.mark.parametrize("pooling", POOLING_CHOICES)
@pytest.mark.parametrize("activation", ACTIVATION_CHOICES)
def test_every_activation_and_pooling_exports(activation, pooling, test_images, calibration):
    from training.export import export_float32, export_int8

    spec = lenet5_spec(activation, pooling)
    params = init_params(spec, seed=1)
    images = test_images[0][:48]
    ref = _reference(spec, params, images)
    got = TFLiteModel(export_float32(spec, params)).run(images)
    assert set(got) == set(ref)
    np.testing.assert_allclose(got["probs"], ref["probs"], rtol=0, atol=1e-5)
    for name in LAYERS:
        np.testing.assert_allclose(got[name], ref[name], rtol=0, atol=1e-4, err_msg=name)
    # Int8: every dequantised activation within a tenth of its float range (a wrong
    # scale, zero point or per-channel layout is off by far more).
    got8 = TFLiteModel(export_int8(spec, params, calibration)).run(images)
    for name in (*LAYERS, "probs"):
        span = float(np.ptp(ref[name]))
        err = float(np.abs(got8[name] - ref[name]).max())
        assert err <= 0.1 * span, f"{activation}/{pooling} {name}: {err} > 0.1 * {span}"


@needs_tflite
def test_explicit_padding_needs_pad_op_and_matches(test_images, calibration):
    from training.export import export_float32, export_int8

    spec = lenet5_spec()
    spec["layers"][0]["padding"] = 1  # 28 -> 26: not SAME, so PAD then VALID
    params = init_params(spec, seed=2)
    images = test_images[0][:32]
    ref = _reference(spec, params, images)
    got = TFLiteModel(export_float32(spec, params)).run(images)
    assert got["conv1"].shape == (32, 26, 26, 6)
    for name in LAYERS:
        np.testing.assert_allclose(got[name], ref[name], rtol=0, atol=1e-4, err_msg=name)
    got8 = TFLiteModel(export_int8(spec, params, calibration)).run(images)
    for name in LAYERS:
        assert np.abs(got8[name] - ref[name]).max() <= 0.1 * np.ptp(ref[name]), name


def test_committed_float32_matches_numpy_on_1000_images(test_images):
    spec, params, _ = load_model(MODELS / "lenet.npz")
    images = test_images[0][:1000]
    ref = _reference(spec, params, images)
    got = TFLiteModel(MODELS / "lenet_float32.tflite").run(images)
    diffs = {name: float(np.abs(got[name] - ref[name]).max()) for name in (*LAYERS, "probs")}
    assert diffs["probs"] <= 1e-5, diffs
    assert max(diffs[name] for name in LAYERS) <= 1e-4, diffs


@needs_tflite
def test_committed_models_come_from_committed_npz():
    from training.export import read_metadata

    digest = hashlib.sha256((MODELS / "lenet.npz").read_bytes()).hexdigest()
    for name in ("lenet_float32.tflite", "lenet_int8.tflite"):
        meta = read_metadata((MODELS / name).read_bytes())
        assert meta["metrics"]["source_sha256"] == digest, f"{name}: re-run training.export"


@pytest.mark.slow
def test_committed_models_on_all_10000_test_images(test_images):
    images, labels = test_images
    spec, params, _ = load_model(MODELS / "lenet.npz")
    ref_top1 = predict_probs(spec, params, images).argmax(axis=1)
    float_top1 = TFLiteModel(MODELS / "lenet_float32.tflite").predict_probs(images).argmax(axis=1)
    int8_top1 = TFLiteModel(MODELS / "lenet_int8.tflite").predict_probs(images).argmax(axis=1)
    ref_acc = (ref_top1 == labels).mean()
    float_acc = (float_top1 == labels).mean()
    int8_acc = (int8_top1 == labels).mean()
    assert float_acc == ref_acc
    assert float_acc >= 0.993, f"float32 accuracy {float_acc:.4f}"
    assert abs(int8_acc - float_acc) <= 0.003, (int8_acc, float_acc)
    assert (int8_top1 == float_top1).mean() >= 0.995


@pytest.mark.parametrize("name", ["lenet_float32.tflite", "lenet_int8.tflite"])
def test_serving_default_signature_runs(name, test_images):
    model = TFLiteModel(MODELS / name)
    runner = model.interpreter.get_signature_runner("serving_default")
    image = model.quantize_input(test_images[0][:1])
    out = runner(image=image)
    assert set(out) == {"probs", *LAYERS}
    assert out["conv1"].shape == (1, 28, 28, 6) and out["probs"].shape == (1, 10)
    assert int(np.argmax(out["probs"])) == int(test_images[1][0])
