"""The evaluate CLI: predictor chosen by suffix, the JSON it prints, one-line errors."""

from __future__ import annotations

import json

import numpy as np
import pytest

from training import evaluate, mnist, network
from training.model_io import ModelFileError, save_model
from training.spec import lenet5_spec

needs_mnist = pytest.mark.skipif(
    not all((mnist.default_data_dir() / n).is_file() for n in mnist.SPLITS["test"]),
    reason="MNIST test files not found (set CONVLENS_MNIST_DIR)",
)


@pytest.fixture
def model_path(tmp_path):
    spec = lenet5_spec()
    path = tmp_path / "m.npz"
    save_model(path, spec, network.init_params(spec, seed=0))
    return path


def test_npz_predictor_returns_probabilities(model_path):
    predict = evaluate.make_predictor(model_path)
    images = np.random.default_rng(0).integers(0, 256, (4, 28, 28), dtype=np.uint8)
    probs = predict(images)
    assert probs.shape == (4, 10) and probs.dtype == np.float32
    np.testing.assert_allclose(probs.sum(axis=1), 1, rtol=1e-5)


def test_evaluate_counts_and_confusion():
    labels = np.array([0, 1, 2, 2, 3])
    # A fake predictor that always answers 2: right on the two 2s.
    result = evaluate.evaluate(lambda x: np.eye(10, dtype=np.float32)[[2] * len(x)],
                               np.zeros((5, 28, 28), np.uint8), labels, batch_size=2)  # fmt: skip
    assert result["n"] == 5 and result["errors"] == 3
    assert result["accuracy"] == pytest.approx(0.4)
    assert result["per_class_accuracy"][2] == 1.0 and result["per_class_accuracy"][0] == 0.0
    assert np.array(result["confusion"])[:, 2].tolist()[:4] == [1, 1, 2, 1]


def test_unknown_suffix_and_missing_file(tmp_path):
    with pytest.raises(evaluate.ModelFormatError, match=r"expected \.npz or \.tflite"):
        evaluate.make_predictor(tmp_path / "model.onnx")
    with pytest.raises(ModelFileError, match="does not exist"):
        evaluate.make_predictor(tmp_path / "absent.npz")


def test_a_missing_tflite_model_is_a_clear_one_line_error(tmp_path, capsys):
    assert evaluate.main(["--model", str(tmp_path / "m.tflite")]) == 1
    err = capsys.readouterr().err.strip()
    assert "m.tflite does not exist" in err and "\n" not in err


@needs_mnist
def test_json_output_is_one_object(model_path, capsys):
    assert evaluate.main(["--model", str(model_path), "--limit", "300", "--json"]) == 0
    out = capsys.readouterr().out.strip().splitlines()
    assert len(out) == 1
    result = json.loads(out[0])
    assert result["n"] == 300 and 0 <= result["accuracy"] <= 1
    assert len(result["per_class_accuracy"]) == 10 and result["seconds"] >= 0
    assert np.array(result["confusion"]).sum() == 300


def test_bad_model_or_data_is_one_line_exit_1(tmp_path, model_path, capsys):
    broken = tmp_path / "broken.npz"
    broken.write_bytes(b"PK\x03\x04 not really a zip")
    assert evaluate.main(["--model", str(broken)]) == 1
    assert "broken.npz is truncated" in capsys.readouterr().err
    assert evaluate.main(["--model", str(model_path), "--data-dir", str(tmp_path / "no")]) == 1
    err = capsys.readouterr().err.strip()
    assert "does not exist" in err and "\n" not in err
