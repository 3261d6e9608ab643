"""The LeNet view's feedforward mode: the dense layers run on the digit by the dense stage,
checked against the classifier's own layers, and one neuron's weighted sum that adds up."""

from __future__ import annotations

import logging
from pathlib import Path

import cv2
import numpy as np
import pytest

from app.classifier import load_classifier
from app.frame import Frame
from app.sources.demo import load_demo_digits
from app.stages.dense import DenseStage, dense_layers, run_dense, softmax, written_out
from app.stages.inspect import REFRESH_FRAMES
from app.stages.network import read_network
from app.stages.results import DigitResult, FrameResults
from app.state import ViewState

MODELS = Path(__file__).resolve().parents[1] / "models"


@pytest.fixture(scope="module")
def network():
    return read_network(MODELS)


@pytest.fixture(scope="module")
def digits():
    """Demo digits with the NumPy classifier's every layer for each."""
    classifier = load_classifier(MODELS / "lenet.npz")
    images, labels = load_demo_digits()
    out = []
    for image, label in zip(images[:12], labels[:12], strict=True):
        tensor = image.astype(np.float32) / 255.0
        out.append((tensor, int(label), classifier.predict(tensor)))
    return out


def digit_result(tensor: np.ndarray, layers: dict) -> DigitResult:
    return DigitResult(status="digit", reason=None, prediction=None, confidence=1.0,
                       probs=np.zeros(10, np.float32), runtime="", roi_px=(0, 0, 1, 1),
                       tensor=tensor, layers=layers, layers_tensor=tensor)  # fmt: skip


def frame(seq: int) -> Frame:
    gray = np.zeros((24, 32), np.uint8)
    return Frame(array=cv2.cvtColor(gray, cv2.COLOR_GRAY2BGR), gray=gray, seq=seq, timestamp=0.0)


def run_stage(stage, network, tensor, layers, state, seq=0) -> FrameResults:
    results = FrameResults(network=network, digit=digit_result(tensor, layers))
    stage.process(frame(seq), state, results)
    return results


def test_the_network_description_has_every_dense_layers_weights(network) -> None:
    source, dense = dense_layers(network.spec)
    assert source == "pool2" and dense == [("fc1", "relu"), ("fc2", "relu"), ("fc3", "none")]
    assert network.weights["fc1"].shape == (400, 120) and network.biases["fc3"].shape == (10,)


def test_the_dense_layers_are_the_networks_own_and_each_sum_adds_up(network, digits) -> None:
    for tensor, _, prediction in digits:
        # A fresh stage each time: no numbers kept from the last digit.
        ff = run_stage(DenseStage(), network, tensor, prediction.layers, ViewState(mode=1)).dense
        assert ff.source_shape == (5, 5, 16) and ff.runs[0].x.size == 400
        for run in ff.runs:  # the classifier's forward pass, layer by layer
            assert np.allclose(run.a, prediction.layers[run.name], atol=1e-4), run.name
        assert np.allclose(ff.probs, prediction.probs, atol=1e-5)
        # The neuron written out: its products, summed with the bias, are its z.
        run = ff.runs[ff.layer]
        assert ff.layer == 0 and ff.rank == 0 and ff.neuron == int(np.argmax(run.a))
        assert np.allclose(ff.products, run.x * run.w[:, ff.neuron])
        assert float(ff.products.sum()) + float(run.b[ff.neuron]) == pytest.approx(
            float(run.z[ff.neuron]), abs=1e-4
        )
        sizes = np.abs(ff.products[ff.order])
        assert (np.diff(sizes) <= 0).all()  # largest terms first


def test_the_point_picks_a_layer_and_a_neuron_by_rank_within_the_network(network, digits) -> None:
    tensor, _, prediction = digits[0]
    runs = run_dense(network, prediction.layers["pool2"])
    # Column 2, rank 0: the output neuron of the network's answer.
    layer, neuron, rank, _, _ = written_out(runs, (2, 0))
    assert (layer, rank) == (2, 0) and neuron == int(np.argmax(softmax(runs[2].z)))
    # Rank 1 of fc2: the second largest output (ties in neuron order).
    order = np.argsort(-runs[1].a, kind="stable")
    assert written_out(runs, (1, 1))[1] == int(order[1])
    # Past the network: clamped to the last layer and its weakest neuron.
    layer, neuron, rank, _, _ = written_out(runs, (7, 500))
    assert (layer, rank) == (2, 9) and neuron == int(np.argsort(-runs[2].a, kind="stable")[9])
    ff = run_stage(DenseStage(), network, tensor, prediction.layers, ViewState(probe_x=1)).dense
    assert ff.probe_range == ((0, 2), (0, 83))


def test_the_numbers_refresh_every_eight_frames_and_at_once_when_the_point_moves(
    network, digits
) -> None:
    stage = DenseStage()
    (t0, _, p0), (t1, _, p1) = digits[0], digits[1]
    first = run_stage(stage, network, t0, p0.layers, ViewState(), seq=100).dense
    kept = run_stage(stage, network, t1, p1.layers, ViewState(), seq=100 + REFRESH_FRAMES - 1)
    assert kept.dense is first
    fresh = run_stage(stage, network, t1, p1.layers, ViewState(), seq=100 + REFRESH_FRAMES)
    assert fresh.dense is not first and np.array_equal(fresh.dense.tensor, t1)
    moved = run_stage(stage, network, t1, p1.layers, ViewState(probe_y=1), seq=101 + REFRESH_FRAMES)
    assert moved.dense.rank == 1


def test_no_digit_or_weights_that_do_not_fit_leave_no_result(network, digits, caplog) -> None:
    tensor, _, prediction = digits[0]
    results = FrameResults(network=network)
    DenseStage().process(frame(0), ViewState(), results)
    assert results.dense is None
    layers = {**prediction.layers, "pool2": np.zeros((4, 4, 16), np.float32)}
    with caplog.at_level(logging.WARNING):
        results = run_stage(DenseStage(), network, tensor, layers, ViewState())
    assert results.dense is None and "fc1: no weights for 256 inputs" in caplog.text
