"""The TFLite exporter's flatbuffer, read back with the schema bindings (no interpreter needed)."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import numpy as np
import pytest

tflite = pytest.importorskip("tflite")

from training import quantize  # noqa: E402
from training.export import (  # noqa: E402
    METADATA_NAME,
    ExportError,
    check_exportable,
    conv_padding_mode,
    export_float32,
    export_int8,
    main,
    read_metadata,
)
from training.model_io import save_model  # noqa: E402
from training.network import init_params  # noqa: E402
from training.spec import lenet5_spec  # noqa: E402
from training.tflite_builder import ModelBuilder  # noqa: E402
from training.tflite_verify import FlatbufferError, verify_model  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
LAYERS = ("conv1", "pool1", "conv2", "pool2", "fc1", "fc2", "fc3")


@pytest.fixture(scope="module")
def small_model():
    spec = lenet5_spec()
    return spec, init_params(spec, seed=3)


@pytest.fixture(scope="module")
def calibration():
    return np.random.default_rng(0).integers(0, 256, size=(64, 28, 28), dtype=np.uint8)


def _tensors(model):
    sg = model.Subgraphs(0)
    return {sg.Tensors(i).Name().decode(): sg.Tensors(i) for i in range(sg.TensorsLength())}


def _quant(tensor):
    q = tensor.Quantization()
    return q.ScaleAsNumpy(), q.ZeroPointAsNumpy(), q.QuantizedDimension()


def test_float32_header_version_description_and_metadata(small_model):
    spec, params = small_model
    blob = export_float32(spec, params, {"test_accuracy": 0.99})
    assert blob[4:8] == b"TFL3"
    model = tflite.Model.GetRootAs(blob, 0)
    assert model.Version() == 3
    description = model.Description().decode()
    assert "float32" in description and "NHWC" in description
    assert json.loads(description.split("Spec: ", 1)[1]) == spec
    meta = read_metadata(blob)
    assert meta["spec"] == spec
    assert meta["labels"] == [str(d) for d in range(10)]
    assert meta["input"]["layout"] == "NHWC" and meta["input"]["dtype"] == "float32"
    assert meta["metrics"]["test_accuracy"] == 0.99
    names = [model.Metadata(i).Name().decode() for i in range(model.MetadataLength())]
    assert names == [METADATA_NAME]


def test_inputs_outputs_and_signature(small_model):
    spec, params = small_model
    model = tflite.Model.GetRootAs(export_float32(spec, params), 0)
    sg = model.Subgraphs(0)
    outputs = [sg.Tensors(sg.Outputs(i)).Name().decode() for i in range(sg.OutputsLength())]
    assert outputs == ["probs", *LAYERS]
    (inp,) = [sg.Tensors(sg.Inputs(i)) for i in range(sg.InputsLength())]
    assert inp.Name() == b"image" and list(inp.ShapeAsNumpy()) == [1, 28, 28, 1]
    assert inp.Type() == tflite.TensorType.FLOAT32
    sig = model.SignatureDefs(0)
    assert sig.SignatureKey() == b"serving_default"
    sig_outputs = {sig.Outputs(i).Name().decode() for i in range(sig.OutputsLength())}
    assert sig_outputs == {"probs", *LAYERS}


def test_operator_codes_and_ops(small_model):
    spec, params = small_model
    model = tflite.Model.GetRootAs(export_float32(spec, params), 0)
    op = tflite.BuiltinOperator
    codes = []
    for i in range(model.OperatorCodesLength()):
        code = model.OperatorCodes(i)
        assert code.DeprecatedBuiltinCode() == code.BuiltinCode()  # all below 127
        codes.append(code.BuiltinCode())
    sg = model.Subgraphs(0)
    ops = [codes[sg.Operators(i).OpcodeIndex()] for i in range(sg.OperatorsLength())]
    assert ops == [
        op.CONV_2D, op.MAX_POOL_2D, op.CONV_2D, op.MAX_POOL_2D, op.RESHAPE,
        op.FULLY_CONNECTED, op.FULLY_CONNECTED, op.FULLY_CONNECTED, op.SOFTMAX,
    ]  # fmt: skip
    conv1 = tflite.Conv2DOptions()
    options = sg.Operators(0).BuiltinOptions()
    conv1.Init(options.Bytes, options.Pos)
    assert conv1.Padding() == tflite.Padding.SAME  # explicit padding 2, 5x5 kernel, 28x28
    assert conv1.FusedActivationFunction() == tflite.ActivationFunctionType.RELU


def test_tanh_and_sigmoid_are_separate_ops_avg_pool_is_average():
    op = tflite.BuiltinOperator
    for activation, code in (("tanh", op.TANH), ("sigmoid", op.LOGISTIC)):
        spec = lenet5_spec(activation, "avg")
        model = tflite.Model.GetRootAs(export_float32(spec, init_params(spec)), 0)
        codes = [model.OperatorCodes(i).BuiltinCode() for i in range(model.OperatorCodesLength())]
        sg = model.Subgraphs(0)
        ops = [codes[sg.Operators(i).OpcodeIndex()] for i in range(sg.OperatorsLength())]
        assert ops.count(code) == 4  # conv1, conv2, fc1, fc2; the logits have none
        assert ops.count(op.AVERAGE_POOL_2D) == 2 and op.MAX_POOL_2D not in ops


def test_opcode_above_127_uses_the_placeholder():
    builder = ModelBuilder()
    x = builder.add_tensor("x", (1, 4), np.float32)
    y = builder.add_tensor("y", (1, 4), np.float32)
    builder.add_operator(150, (x,), (y,))  # a builtin code that needs the int32 field
    model = tflite.Model.GetRootAs(builder.build({"x": x}, {"y": y}, "test"), 0)
    code = model.OperatorCodes(0)
    assert (code.DeprecatedBuiltinCode(), code.BuiltinCode()) == (127, 150)


def test_buffers_are_16_byte_aligned(small_model):
    spec, params = small_model
    blob = export_float32(spec, params)
    model = tflite.Model.GetRootAs(blob, 0)
    starts = []
    for i in range(model.BuffersLength()):
        buf = model.Buffers(i)
        if buf.DataLength():
            starts.append(buf._tab.Vector(buf._tab.Offset(4)))
    assert len(starts) >= 10
    assert all(start % 16 == 0 for start in starts), starts
    tensors = _tensors(model)
    w = tensors["conv1/w"]
    data = model.Buffers(w.Buffer()).DataAsNumpy().view(np.float32).reshape(6, 5, 5, 1)
    assert np.array_equal(data, np.transpose(params["conv1/w"], (3, 0, 1, 2)))


def test_int8_quantisation_parameters(small_model, calibration):
    spec, params = small_model
    blob = export_int8(spec, params, calibration)
    tensors = _tensors(tflite.Model.GetRootAs(blob, 0))
    image = tensors["image"]
    assert image.Type() == tflite.TensorType.INT8
    scale, zp, _ = _quant(image)
    assert scale[0] == pytest.approx(1 / 255) and zp[0] == -128
    for name, channels in (("conv1", 6), ("conv2", 16), ("fc1", 120), ("fc3", 10)):
        w, b = tensors[f"{name}/w"], tensors[f"{name}/b"]
        assert w.Type() == tflite.TensorType.INT8 and b.Type() == tflite.TensorType.INT32
        w_scale, w_zp, axis = _quant(w)
        assert len(w_scale) == channels and axis == 0 and not w_zp.any()
        b_scale, _, _ = _quant(b)
        prev = {"conv1": "image", "conv2": "pool1", "fc1": "flatten", "fc3": "fc2"}[name]
        in_scale = _quant(tensors[prev])[0][0]
        np.testing.assert_allclose(b_scale, in_scale * w_scale, rtol=1e-6)
    p_scale, p_zp, _ = _quant(tensors["probs"])
    assert p_scale[0] == pytest.approx(1 / 256) and p_zp[0] == -128
    # ReLU outputs start at zero, so the zero point is the int8 minimum.
    assert _quant(tensors["conv1"])[1][0] == -128
    # Pooling and reshape keep their input's parameters (the int8 kernels require it).
    assert _quant(tensors["pool1"])[0][0] == _quant(tensors["conv1"])[0][0]
    assert _quant(tensors["flatten"])[0][0] == _quant(tensors["pool2"])[0][0]


def test_int8_fixed_output_params_for_tanh_and_sigmoid(calibration):
    for activation, (scale, zp) in (("tanh", (1 / 128, 0)), ("sigmoid", (1 / 256, -128))):
        spec = lenet5_spec(activation)
        tensors = _tensors(
            tflite.Model.GetRootAs(export_int8(spec, init_params(spec), calibration), 0)
        )
        for name in ("conv1", "conv2", "fc1", "fc2"):
            s, z, _ = _quant(tensors[name])
            assert (s[0], z[0]) == (pytest.approx(scale), zp), (activation, name)
            assert f"{name}/preact" in tensors


def test_padding_modes():
    assert conv_padding_mode(28, 5, 1, 2) == "SAME"
    assert conv_padding_mode(10, 5, 1, 0) == "VALID"
    assert conv_padding_mode(28, 5, 1, 1) == "PAD"  # output 26 != SAME's 28
    assert conv_padding_mode(28, 3, 2, 1) == "PAD"  # SAME would pad 0 before, 1 after
    assert conv_padding_mode(27, 3, 2, 1) == "SAME"


def test_unexportable_specs_fail_with_one_line():
    spec = lenet5_spec()
    spec["layers"][0]["activation"] = "gelu"
    with pytest.raises(ExportError, match=r"conv1.*'gelu'.*relu, none, tanh, sigmoid") as exc:
        check_exportable(spec)
    assert "\n" not in str(exc.value)
    spec = lenet5_spec()
    spec["layers"][1]["mode"] = "l2"
    with pytest.raises(ExportError, match=r"pool1.*'l2'") as exc:
        export_float32(spec, init_params(lenet5_spec()))
    assert "\n" not in str(exc.value)


def test_weight_quantisation_error_within_half_a_step():
    w = np.random.default_rng(1).normal(size=(16, 5, 5, 6)).astype(np.float32)
    q = quantize.quantize_weights_symmetric(w, axis=0)
    restored = q.values.astype(np.float32) * q.scales[:, None, None, None]
    step = q.scales[:, None, None, None]
    assert np.all(np.abs(restored - w) <= step / 2 + 1e-7)
    assert np.abs(q.values).max() == 127


def test_activation_params_contain_zero():
    scale, zp = quantize.activation_params(0.5, 4.0)  # widened to [0, 4]
    assert scale == pytest.approx(4 / 255) and zp == -128
    for lo, hi in ((-2.0, 2.0), (-0.3, 7.1), (-5.0, -1.0)):
        scale, zp = quantize.activation_params(lo, hi)
        for value in (min(lo, 0.0), max(hi, 0.0)):
            q = round(value / scale) + zp
            assert -128 <= q <= 127
            assert abs((q - zp) * scale - value) <= scale / 2 + 1e-6


def test_verify_rejects_every_truncation_and_random_bytes(small_model):
    spec, params = small_model
    blob = export_float32(spec, params)
    verify_model(blob)
    for n in range(0, len(blob), max(1, len(blob) // 200)):
        with pytest.raises(FlatbufferError):
            verify_model(blob[:n])
    rng = np.random.default_rng(0)
    for _ in range(50):
        noise = rng.integers(0, 256, size=4000, dtype=np.uint8).tobytes()
        with pytest.raises(FlatbufferError):
            verify_model(noise[:4] + b"TFL3" + noise[8:])


def test_cli_writes_both_models(tmp_path, small_model):
    spec, params = small_model
    save_model(tmp_path / "lenet.npz", spec, params, {"test_accuracy": 0.5})
    assert (
        main([str(tmp_path / "lenet.npz"), "--out", str(tmp_path), "--calibration-images", "50"])
        == 0
    )
    for name in ("lenet_float32.tflite", "lenet_int8.tflite"):
        blob = (tmp_path / name).read_bytes()
        verify_model(blob)
        meta = read_metadata(blob)
        assert meta["metrics"]["test_accuracy"] == 0.5
        assert len(meta["metrics"]["source_sha256"]) == 64
    int8_meta = read_metadata((tmp_path / "lenet_int8.tflite").read_bytes())
    assert int8_meta["metrics"]["calibration"] == {"images": 50, "method": "min/max"}


def test_cli_missing_model_is_one_line(tmp_path, capsys):
    assert main([str(tmp_path / "nope.npz"), "--out", str(tmp_path)]) == 1
    err = capsys.readouterr().err.strip()
    assert "nope.npz" in err and "does not exist" in err and "\n" not in err


def test_no_tensorflow_keras_or_torch_outside_benchmarks():
    pattern = re.compile(r"^\s*(import|from)\s+(tensorflow|keras|torch)\b", re.MULTILINE)
    offenders, checked = [], 0
    for root, dirs, files in os.walk(REPO):
        # Prune virtual environments, git internals and caches; benchmarks may compare.
        dirs[:] = [d for d in dirs if not d.startswith(".") and d not in ("benchmarks", "build")]
        for name in files:
            if name.endswith(".py"):
                path = Path(root) / name
                checked += 1
                if pattern.search(path.read_text(encoding="utf-8", errors="replace")):
                    offenders.append(str(path.relative_to(REPO)))
    assert checked > 10 and offenders == []
