"""The spec, the assembled network (shapes, init, gradients, prediction) and the .npz format."""

from __future__ import annotations

import json

import numpy as np
import pytest

from training import network
from training.model_io import ModelFileError, load_model, save_model
from training.optim import SGD, Adam
from training.spec import copy_spec, layer_shapes, lenet5_spec, param_shapes


def test_lenet5_layer_shapes():
    assert layer_shapes(lenet5_spec()) == [
        ("conv1", (28, 28, 6)),
        ("pool1", (14, 14, 6)),
        ("conv2", (10, 10, 16)),
        ("pool2", (5, 5, 16)),
        ("flatten", (400,)),
        ("fc1", (120,)),
        ("fc2", (84,)),
        ("fc3", (10,)),
    ]


def test_lenet5_param_shapes_and_count():
    shapes = param_shapes(lenet5_spec())
    assert shapes["conv1/w"] == (5, 5, 1, 6)
    assert shapes["conv2/w"] == (5, 5, 6, 16)
    assert shapes["fc1/w"] == (400, 120)
    assert shapes["fc3/b"] == (10,)
    assert sum(int(np.prod(s)) for s in shapes.values()) == 61706  # LeNet-5's classic count


def test_spec_rejects_unknown_choices_and_survives_json():
    with pytest.raises(ValueError, match="activation 'gelu'"):
        lenet5_spec("gelu")
    with pytest.raises(ValueError, match="pooling 'median'"):
        lenet5_spec(pooling="median")
    spec = lenet5_spec("tanh", "avg")
    assert json.loads(json.dumps(spec)) == spec
    other = copy_spec(spec)
    other["layers"][0]["filters"] = 8
    assert spec["layers"][0]["filters"] == 6


def test_layer_shapes_reject_a_kernel_that_does_not_fit():
    spec = lenet5_spec()
    spec["layers"][2]["kernel"] = 20
    with pytest.raises(ValueError, match="conv2"):
        layer_shapes(spec)


@pytest.mark.parametrize("activation", ["relu", "tanh", "sigmoid"])
def test_init_is_float32_zero_bias_and_scaled_for_the_activation(activation):
    spec = lenet5_spec(activation)
    params = network.init_params(spec, seed=1)
    assert all(v.dtype == np.float32 for v in params.values())
    assert not params["fc1/b"].any()
    w = params["fc1/w"]  # fan_in 400, fan_out 120
    expected_std = np.sqrt(2 / 400) if activation == "relu" else np.sqrt(2 / (400 + 120))
    assert w.std() == pytest.approx(expected_std, rel=0.05)
    np.testing.assert_array_equal(w, network.init_params(spec, seed=1)["fc1/w"])


def test_forward_keeps_every_layer_output_with_its_shape():
    spec = lenet5_spec()
    params = network.init_params(spec)
    x = np.random.default_rng(0).random((3, 28, 28, 1), dtype=np.float32)
    logits, caches, outputs = network.forward(spec, params, x, keep=True)
    assert logits.shape == (3, 10) and logits.dtype == np.float32
    assert len(caches) == len(spec["layers"])
    assert [(k, v.shape[1:]) for k, v in outputs.items()] == layer_shapes(spec)
    assert all(v.dtype == np.float32 for v in outputs.values())
    assert network.forward(spec, params, x)[2] == {}


@pytest.mark.parametrize(("activation", "pooling"), [("relu", "max"), ("tanh", "avg"),
                                                     ("sigmoid", "max")])  # fmt: skip
def test_whole_network_gradient_matches_central_differences(activation, pooling):
    # A small LeNet-shaped net in float64, so every parameter can be checked.
    spec = lenet5_spec(activation, pooling)
    spec["input_shape"] = [10, 10, 1]
    spec["layers"][0].update(filters=2, kernel=3, stride=1, padding=1)
    spec["layers"][2].update(filters=3, kernel=3, stride=2, padding=1)
    spec["layers"][3].update(size=2, stride=1)
    spec["layers"][5]["units"] = 5
    spec["layers"][6]["units"] = 4
    params = network.init_params(spec, seed=2, dtype=np.float64)
    for key in params:
        params[key] += np.random.default_rng(len(key)).normal(0, 0.1, params[key].shape)
    rng = np.random.default_rng(1)
    x = rng.random((3, 10, 10, 1))
    labels = np.array([1, 5, 9])
    _, grads, _ = network.loss_and_grads(spec, params, x, labels)
    eps = 1e-6
    for key, p in params.items():
        flat = p.reshape(-1)
        picks = rng.choice(flat.size, size=min(6, flat.size), replace=False)
        for i in picks:
            old = flat[i]
            flat[i] = old + eps
            plus = network.loss_and_grads(spec, params, x, labels)[0]
            flat[i] = old - eps
            minus = network.loss_and_grads(spec, params, x, labels)[0]
            flat[i] = old
            numeric = (plus - minus) / (2 * eps)
            analytic = grads[key].reshape(-1)[i]
            assert abs(numeric - analytic) <= 1e-6 + 1e-5 * abs(numeric), (key, i)


def test_predict_probs_accepts_uint8_and_float_and_sums_to_one():
    spec = lenet5_spec()
    params = network.init_params(spec)
    images = np.random.default_rng(0).integers(0, 256, (5, 28, 28), dtype=np.uint8)
    p_uint8 = network.predict_probs(spec, params, images, batch_size=2)
    p_float = network.predict_probs(spec, params, images[..., None] / np.float32(255))
    assert p_uint8.shape == (5, 10) and p_uint8.dtype == np.float32
    np.testing.assert_allclose(p_uint8.sum(axis=1), 1, rtol=1e-5)
    np.testing.assert_allclose(p_uint8, p_float, atol=1e-6)
    assert network.predict_probs(spec, params, images[:0]).shape == (0, 10)


@pytest.mark.parametrize("make_opt", [lambda: SGD(lr=0.02), lambda: Adam(lr=0.005)])
def test_optimisers_reduce_the_loss_and_keep_float32(make_opt):
    spec = lenet5_spec()
    params = network.init_params(spec, seed=0)
    rng = np.random.default_rng(0)
    x = rng.random((16, 28, 28, 1), dtype=np.float32)
    y = rng.integers(0, 10, 16)
    opt = make_opt()
    first = network.loss_and_grads(spec, params, x, y)[0]
    for _ in range(30):
        _, grads, _ = network.loss_and_grads(spec, params, x, y)
        opt.step(params, grads)
    assert network.loss_and_grads(spec, params, x, y)[0] < first * 0.5  # it memorises 16 images
    assert all(v.dtype == np.float32 for v in params.values())
    assert all(v.dtype == np.float32 for k, v in opt.state().items() if k != "t")


def test_optimiser_state_round_trip_continues_identically():
    spec = lenet5_spec()
    rng = np.random.default_rng(0)
    x, y = rng.random((8, 28, 28, 1), dtype=np.float32), rng.integers(0, 10, 8)
    for cls in (SGD, Adam):
        a = network.init_params(spec)
        opt_a = cls()
        for _ in range(2):
            opt_a.step(a, network.loss_and_grads(spec, a, x, y)[1])
        b = {k: v.copy() for k, v in a.items()}
        opt_b = cls()
        opt_b.load_state({k: np.array(v) for k, v in opt_a.state().items()})
        opt_a.step(a, network.loss_and_grads(spec, a, x, y)[1])
        opt_b.step(b, network.loss_and_grads(spec, b, x, y)[1])
        for k in a:
            np.testing.assert_array_equal(a[k], b[k])


# ------------------------------------------------------------------- model_io


def test_model_round_trip(tmp_path):
    spec = lenet5_spec("tanh", "avg")
    params = network.init_params(spec, seed=3)
    path = tmp_path / "m.npz"
    save_model(path, spec, params, {"test_accuracy": 0.5})
    spec2, params2, metrics = load_model(path)
    assert spec2 == spec and metrics == {"test_accuracy": 0.5}
    assert params2.keys() == params.keys()
    for k in params:
        np.testing.assert_array_equal(params2[k], params[k])
        assert params2[k].dtype == np.float32
    assert not list(tmp_path.glob("*.tmp"))


def test_load_model_errors_name_the_file(tmp_path):
    with pytest.raises(ModelFileError, match="does not exist"):
        load_model(tmp_path / "nope.npz")
    spec = lenet5_spec()
    params = network.init_params(spec)
    good = tmp_path / "good.npz"
    save_model(good, spec, params)
    truncated = tmp_path / "truncated.npz"
    truncated.write_bytes(good.read_bytes()[:500])
    with pytest.raises(ModelFileError, match=r"truncated\.npz is truncated"):
        load_model(truncated)
    wrong = tmp_path / "wrong.npz"
    bad = dict(params, **{"fc1/w": np.zeros((10, 10), np.float32)})
    save_model(wrong, spec, bad)
    with pytest.raises(ModelFileError, match=r"fc1/w has shape \(10, 10\), expected \(400, 120\)"):
        load_model(wrong)
    missing = tmp_path / "missing.npz"
    save_model(missing, spec, {k: v for k, v in params.items() if k != "conv2/b"})
    with pytest.raises(ModelFileError, match="lacks parameter conv2/b"):
        load_model(missing)
    not_npz = tmp_path / "text.npz"
    not_npz.write_text("hello")
    with pytest.raises(ModelFileError, match=r"text\.npz"):
        load_model(not_npz)
