"""Digit stage: ROI mapping, smoothing with hysteresis, the unavailable model, the pipeline."""

from __future__ import annotations

import functools
from dataclasses import dataclass, field

import cv2
import numpy as np
import pytest

from app.classifier import load_classifier
from app.config import Config, config_from_dict
from app.errors import ConfigError, ModelError
from app.frame import Frame
from app.sources.demo import DemoSource, render_digit_scene
from app.stages.digit import DigitSmoother, DigitStage, roi_pixels
from app.stages.pipeline import STAGE_ORDER, build_stages
from app.stages.results import FrameResults
from app.state import Roi, ViewState
from tests.digit_support import MODELS, committed_classifier, mnist_test_split


def onehot(k: int, p: float = 0.9) -> np.ndarray:
    probs = np.full(10, (1.0 - p) / 9, np.float32)
    probs[k] = p
    return probs


@dataclass(frozen=True)
class FakePrediction:
    probs: np.ndarray
    layers: dict = field(default_factory=dict)


class FakeClassifier:
    """Stand-in: answers a scripted digit, or the digit of the tensor's ink count."""

    backend = "fake"
    description = "fake runtime"
    layer_names = ("fc3",)
    learned_kernels = None

    def __init__(self, answers: list[int] | None = None) -> None:
        self.answers = list(answers or [])
        self.seen: list[np.ndarray] = []

    def predict(self, tensor: np.ndarray) -> FakePrediction:
        assert tensor.shape == (28, 28) and tensor.dtype in (np.float32, np.uint8)  # the contract
        self.seen.append(tensor)
        k = self.answers.pop(0) if self.answers else 3
        return FakePrediction(onehot(k), {"fc3": onehot(k) * 10})


# --------------------------------------------------------------- smoothing


def test_switches_only_after_k_frames_with_a_margin():
    s = DigitSmoother(alpha=0.6, switch_frames=3, margin=0.15, min_confidence=0.5)
    shown = [s.update(onehot(7)) for _ in range(3)]
    assert shown == [None, None, 7]  # the first digit appears after k frames
    shown = [s.update(onehot(7)) for _ in range(4)]
    assert shown == [7] * 4
    # One glitch frame, then back: never switches.
    assert s.update(onehot(1)) == 7
    assert s.update(onehot(7)) == 7
    # A real change: 1 must lead 7 by the margin for 3 frames in a row.
    shown = [s.update(onehot(1)) for _ in range(5)]
    first = shown.index(1)
    assert shown[:first] == [7] * first and shown[first:] == [1] * (5 - first)
    assert first >= 2  # at least k frames of 1 before the switch (the EMA adds some)


def test_alternating_predictions_never_switch():
    s = DigitSmoother(alpha=0.5, switch_frames=3, margin=0.15)
    for _ in range(4):
        s.update(onehot(4))
    assert s.shown == 4
    for i in range(20):
        assert s.update(onehot(9 if i % 2 else 4)) == 4


def test_no_digit_after_k_empty_frames_and_fresh_start():
    s = DigitSmoother(switch_frames=3)
    for _ in range(3):
        s.update(onehot(2))
    assert s.shown == 2
    assert [s.update(None) for _ in range(3)] == [2, 2, None]
    assert s.smoothed.max() == 0.0 and s.confidence == 0.0
    # The next digit does not inherit the old average.
    for _ in range(3):
        s.update(onehot(5))
    assert s.shown == 5 and s.smoothed[2] < 0.05


def test_low_confidence_never_shows():
    s = DigitSmoother(min_confidence=0.5)
    flat = np.full(10, 0.1, np.float32)
    flat[6] = 0.19
    assert all(s.update(flat) is None for _ in range(10))


# ---------------------------------------------------------------- the stage


def scene_frame(digit_index: int = 0, gray_size: tuple[int, int] | None = None) -> Frame:
    images, _ = mnist_test_split()
    array = render_digit_scene(images[digit_index], rng=np.random.default_rng(digit_index))
    gray = cv2.cvtColor(array, cv2.COLOR_BGR2GRAY)
    if gray_size:
        gray = cv2.resize(gray, gray_size, interpolation=cv2.INTER_AREA)
    return Frame(array=array, gray=gray, seq=0, timestamp=0.0)


def test_roi_pixels_match_on_gray_and_array():
    roi = Roi(0.5, 0.5, 0.45)
    assert roi_pixels(roi, 640, 480) == (212, 132, 428, 348)
    assert roi_pixels(roi, 320, 240) == (106, 66, 214, 174)
    assert roi_pixels(Roi(0.05, 0.5, 0.5), 640, 480) == (0, 120, 152, 360)  # clipped


def test_stage_result_on_a_demo_frame_with_a_small_gray():
    _, labels = mnist_test_split()
    clf = committed_classifier()
    stage = DigitStage(clf)
    stage.configure({"switch_frames": 2})
    frame = scene_frame(0, gray_size=(320, 240))  # picamera2's lores: half size
    res = FrameResults()
    for _ in range(2):
        res = FrameResults()
        stage.process(frame, ViewState(), res)
    assert res.digit.roi_px == (212, 132, 428, 348)
    assert res.digit.tensor.shape == (28, 28) and res.digit.tensor.dtype == np.float32
    assert res.digit.status == "digit" and res.digit.reason is None
    assert res.digit.prediction == int(labels[0])
    assert 0.5 < res.digit.confidence <= 1.0
    assert res.digit.probs.shape == (10,) and res.digit.probs.dtype == np.float32
    assert set(res.digit.layers) == {"conv1", "pool1", "conv2", "pool2", "fc1", "fc2", "fc3"}
    assert res.digit.runtime == clf.description
    assert res.digit.reference is None


def test_numpy_reference_compares_the_runtimes():
    clf = committed_classifier()
    factory = functools.partial(load_classifier, MODELS / "lenet_float32.tflite")
    stage = DigitStage(clf, factory=factory)
    res = FrameResults()
    stage.process(scene_frame(1), ViewState(numpy_reference=True), res)
    ref = res.digit.reference
    assert ref is not None and ref.error is None
    assert ref.max_abs_diff < 1e-3 and ref.ms > 0
    assert ref.prediction == int(np.argmax(res.digit.probs))


def test_blank_roi_is_no_digit_with_a_reason():
    stage = DigitStage(FakeClassifier())
    blank = np.full((480, 640, 3), 200, np.uint8)
    frame = Frame(array=blank, gray=blank[:, :, 0].copy(), seq=0, timestamp=0.0)
    res = FrameResults()
    stage.process(frame, ViewState(), res)
    assert res.digit.status == "no_digit" and res.digit.reason == "no ink"
    assert res.digit.prediction is None and res.digit.tensor is None
    assert res.digit.probs.tolist() == [0.0] * 10 and res.digit.confidence == 0.0


def test_scripted_predictions_switch_after_k_frames():
    answers = [3, 3, 3, 3, 8, 3, 8, 8, 8, 8]
    stage = DigitStage(FakeClassifier(answers))
    stage.configure({"switch_frames": 3, "ema_alpha": 1.0, "switch_margin": 0.2})
    frame = scene_frame(2)
    shown = []
    for _ in answers:
        res = FrameResults()
        stage.process(frame, ViewState(), res)
        shown.append(res.digit.prediction)
    assert shown == [None, None, 3, 3, 3, 3, 3, 3, 8, 8]


def test_missing_model_is_unavailable_and_kernel_views_keep_working(tmp_path):
    path = tmp_path / "nothing.tflite"
    stages = build_stages(Config(), functools.partial(load_classifier, path))
    assert [s.name for s in stages] == list(STAGE_ORDER)
    frame = scene_frame(3)
    for _ in range(3):
        res = FrameResults()
        for stage in stages:
            stage.process(frame, ViewState(view="pooling"), res)
        assert res.digit.status == "unavailable"
        assert "nothing.tflite" in res.digit.reason
        assert res.digit.tensor is not None  # what the net would see is still shown
        assert res.pool.out_shape == (120, 160)
        assert res.features.mosaics == ()


def test_corrupt_model_is_unavailable(tmp_path):
    path = tmp_path / "broken.tflite"
    path.write_bytes(b"TFL3" + bytes(100))
    stages = build_stages(Config(), functools.partial(load_classifier, path))
    res = FrameResults()
    digit = next(s for s in stages if s.name == "digit")
    digit.process(scene_frame(4), ViewState(), res)
    assert res.digit.status == "unavailable" and "broken.tflite" in res.digit.reason


def test_stage_names_and_order():
    order = [s.name for s in build_stages(Config(), None)]
    assert order == list(STAGE_ORDER)
    # Each stage comes after the ones whose results it reads.
    for later, earlier in (
        ("pool", "kernel"),
        ("inspect", "kernel"),
        ("edges", "kernel"),
        ("histogram", "kernel"),
        ("why", "digit"),
        ("features", "digit"),
    ):
        assert order.index(earlier) < order.index(later)  # fmt: skip


@pytest.mark.parametrize(
    ("config", "needle"),
    [
        ({"stages": {"blur": {}}}, "blur"),
        ({"stages": {"digit": {"ema_alpha": 2}}}, "stage digit: ema_alpha"),
        ({"stages": {"digit": {"smoothing": 1}}}, "stage digit: unknown parameter 'smoothing'"),
        ({"stages": {"digit": {"switch_frames": True}}}, "stage digit: switch_frames"),
        ({"stages": {"features": {"tile_px": 4}}}, "stage features: tile_px"),
        ({"stages": {"kernel": {"processing_width": -5}}}, "stage kernel: processing_width"),
        ({"stages": {"pool": {"mode": "max"}}}, "stage pool"),
        ({"kernels": {"custom": {"even": [[1, 2], [3, 4]]}}}, "[kernels.custom] even"),
    ],
)
def test_bad_stage_config_names_the_stage(config, needle):
    with pytest.raises(ConfigError) as info:
        build_stages(config_from_dict(config), lambda **_: FakeClassifier())
    assert needle in str(info.value)


def test_config_object_with_custom_kernels():
    config = config_from_dict(
        {
            "kernels": {"custom": {"ridge": [[0, -1, 0], [0, 2, 0], [0, -1, 0]]}},
            "stages": {"kernel": {"processing_width": 160}, "digit": {"switch_frames": 5}},
        }
    )
    stages = build_stages(config, lambda **_: FakeClassifier())
    kernel, digit, features = (
        next(s for s in stages if s.name == n) for n in ("kernel", "digit", "features")
    )
    assert "ridge" in kernel.kernels and kernel.processing_width == 160
    assert digit.smoother.switch_frames == 5
    assert "ridge" in [kernel.name for kernel in features.handmade]


def test_model_error_message_becomes_the_reason():
    def factory(**_):
        raise ModelError("models/x.tflite: truncated")

    stages = build_stages(Config(), factory)
    assert next(s for s in stages if s.name == "digit").error == "models/x.tflite: truncated"


def test_live_demo_sequence_shows_the_right_digits():
    """30 digits from the demo source, 10 frames each, through the stage with smoothing:
    the digit shown on each digit's last frame is its label (nearly always)."""
    stage = DigitStage(committed_classifier())
    stage.configure({})
    source = DemoSource(realtime=False, fps=30.0, digit_seconds=10 / 30.0, seed=3)
    source.open()
    right = 0
    try:
        for _ in range(30):
            for _ in range(10):
                frame = source.read()
                res = FrameResults()
                stage.process(frame, ViewState(), res)
            right += res.digit.prediction == source.current_label
    finally:
        source.close()
    assert right >= 28
