"""The teaching views' stages: inspector arithmetic, the slide's pair, histograms, the shift
test and the network's description, each checked against an independent computation."""

from __future__ import annotations

import itertools
import json
import shutil
from pathlib import Path

import cv2
import numpy as np
import pytest

from app.classifier import load_classifier
from app.frame import Frame
from app.stages.digit import roi_pixels
from app.stages.edges import EdgesStage
from app.stages.histogram import AXIS, BINS, HistogramStage, activated_range, counts
from app.stages.inspect import InspectStage, picture_values, row_convolution
from app.stages.kernels import KernelStage
from app.stages.network import NetworkStage, read_network
from app.stages.results import FrameResults
from app.stages.why import HOME_SHIFT, WhyCnnStage, shift_image
from app.state import ACTIVATIONS, PADDINGS, STRIDES, Roi, ViewState

MODELS = Path(__file__).resolve().parents[1] / "models"


def frame_of(gray: np.ndarray) -> Frame:
    return Frame(array=cv2.cvtColor(gray, cv2.COLOR_GRAY2BGR), gray=gray, seq=0, timestamp=0.0)


@pytest.fixture(scope="module")
def gray() -> np.ndarray:
    rng = np.random.default_rng(3)
    return (rng.random((37, 45)) * 255).astype(np.uint8)


def run(stages, gray: np.ndarray, state: ViewState) -> FrameResults:
    results = FrameResults()
    for stage in stages:
        stage.process(frame_of(gray), state, results)
    return results


CASES = list(
    itertools.product(
        ["horizontal_edge", "sobel_magnitude", "laplacian", "emboss"],
        STRIDES,
        PADDINGS,
        ACTIVATIONS,
        ["correlation", "convolution"],
    )
)


@pytest.mark.parametrize(("kernel", "stride", "padding", "activation", "operation"), CASES[::5])
def test_the_written_out_window_is_the_kernel_stages_value(
    gray, kernel, stride, padding, activation, operation
) -> None:
    """Every probed unit, corners and edges included: the nine products summed (and
    combined, activated) give exactly the kernel stage's output there."""
    kernel_stage, inspect = KernelStage(), InspectStage()
    kernel_stage.configure({"processing_width": 0})
    base = ViewState(
        kernel=kernel, stride=stride, padding=padding, activation=activation, operation=operation
    )
    for probe in [(0, 0), (-40, -40), (40, 40), (-40, 40), (3, -2)]:
        res = run(
            [kernel_stage, inspect], gray, base.with_changes(probe_x=probe[0], probe_y=probe[1])
        )
        window = res.inspect.window
        expected = res.kernel.output[window.unit]
        assert window.value == pytest.approx(float(expected), abs=1e-5)
        for m, prod, total in zip(window.kernels, window.products, window.sums, strict=True):
            assert np.allclose(prod, window.window * m) and total == pytest.approx(
                float(prod.sum()), abs=1e-5
            )


def test_the_numbers_refresh_every_eight_frames_and_at_once_on_a_key(gray) -> None:
    kernel_stage, inspect = KernelStage(), InspectStage()
    kernel_stage.configure({"processing_width": 0})
    state = ViewState(probe_x=-3, probe_y=2)

    def at(seq: int, image: np.ndarray, s: ViewState = state) -> FrameResults:
        results = FrameResults()
        array = cv2.cvtColor(image, cv2.COLOR_GRAY2BGR)
        frame = Frame(array=array, gray=image, seq=seq, timestamp=0.0)
        kernel_stage.process(frame, s, results)
        inspect.process(frame, s, results)
        return results

    first = at(100, gray).inspect
    assert at(107, 255 - gray).inspect is first  # a new picture, the same numbers
    fresh = at(108, 255 - gray)
    assert fresh.inspect is not first
    assert fresh.inspect.window.value == pytest.approx(
        float(fresh.kernel.output[fresh.inspect.window.unit]), abs=1e-5
    )
    assert (
        at(10.31, gray, state.with_changes(probe_x=-2, probe_y=2)).inspect.window.unit[1]
        == first.window.unit[1] + 1
    )


def test_the_probe_moves_the_window_by_the_stride_and_stops_at_the_edge(gray) -> None:
    kernel_stage, inspect = KernelStage(), InspectStage()
    kernel_stage.configure({"processing_width": 0})
    state = ViewState(stride=3, padding="zero", roi=Roi(0.5, 0.5, 0.45))
    a = run([kernel_stage, inspect], gray, state).inspect.window
    b = run([kernel_stage, inspect], gray, state.with_changes(probe_x=1, probe_y=0)).inspect.window
    assert b.origin == (a.origin[0], a.origin[1] + 3) and b.unit[1] == a.unit[1] + 1
    corner = run([kernel_stage, inspect], gray, state.with_changes(probe_x=-99, probe_y=-99))
    window = corner.inspect.window
    assert window.unit == (0, 0) and window.origin == (-1, -1)
    # Zero padding: the top row and left column of the window lie on the padding.
    assert (
        window.padding[0].all() and window.padding[:, 0].all() and not window.padding[1:, 1:].any()
    )
    assert (window.window[window.padding] == 0).all()


def test_reflect_padding_shows_the_mirrored_pixels() -> None:
    image = np.arange(12, dtype=np.float32).reshape(3, 4)
    rows, cols = np.mgrid[-1:2, -1:2]
    values, outside = picture_values(image, rows, cols, "reflect")
    padded = np.pad(image, 1, mode="reflect")
    assert np.array_equal(values, padded[0:3, 0:3])
    assert outside[0].all() and outside[:, 0].all() and not outside[1:, 1:].any()


@pytest.mark.parametrize("flipped", [True, False])
def test_the_row_formula_is_numpys_convolution_or_correlation(flipped: bool) -> None:
    rng = np.random.default_rng(1)
    image = rng.random((5, 40), dtype=np.float32)
    for n in (0, 1, 17, 39):
        row = row_convolution(image, 2, n, flipped=flipped)
        x, v = image[2].astype(np.float64), row.v.astype(np.float64)
        # v[-1], v[0], v[1]: np.convolve's "same" output is centred on v[0].
        full = np.convolve(x, v, "same") if flipped else np.correlate(x, v, "same")
        assert np.allclose(row.y, full, atol=1e-6)
        assert sum(t[4] for t in row.terms) == pytest.approx(float(row.y[n]), abs=1e-6)
        for i, xi, t, vt, product in row.terms:
            assert i == (n - t if flipped else n + t)  # x[i] v[n - i] or x[i] v[i - n]
            assert vt == row.v[t - row.v_first] and product == pytest.approx(xi * vt)


def test_the_slides_pair_is_the_kernel_stage_with_each_kernel(gray) -> None:
    state = ViewState(stride=2, padding="reflect", activation="relu")
    kernel_stage = KernelStage()
    kernel_stage.configure({"processing_width": 0})
    res = run([kernel_stage, EdgesStage()], gray, state)
    for name, image in (
        ("horizontal_edge", res.edges.horizontal),
        ("vertical_edge", res.edges.vertical),
    ):
        alone = run([kernel_stage], gray, state.with_changes(kernel=name)).kernel
        assert np.array_equal(image, alone.image), name
    assert np.array_equal(res.edges.original, gray)


def test_counts_put_outliers_in_the_end_bins_and_count_everything() -> None:
    values = np.array([-100.0, -4.0, 0.0, 0.01, 3.99, 4.0, 100.0], np.float32)
    hist = counts(values, (-4.0, 4.0), bins=8)
    assert hist.sum() == values.size
    assert hist[0] == 2 and hist[-1] == 3 and hist[4] == 2


def test_histograms_and_visible_ranges(gray) -> None:
    kernel_stage = KernelStage()
    kernel_stage.configure({"processing_width": 0})
    state = ViewState(kernel="laplacian", activation="sigmoid")
    res = run([kernel_stage, HistogramStage()], gray, state)
    hist = res.histogram
    raw = res.kernel.raw[::2, ::2]
    quarter = raw.size  # counted on every second row and column
    assert hist.before.shape == (BINS,) and hist.before.sum() == quarter
    assert hist.before_range == AXIS and set(hist.after) == {"sigmoid", "tanh", "relu"}
    for name, values in hist.after.items():
        assert values.sum() == quarter, name
    # ReLU keeps the positive raw values and puts every other one at 0 (the first bin).
    assert hist.after["relu"][0] >= int((raw <= 0).sum())
    expected = counts(1 / (1 + np.exp(-raw.astype(np.float64))), (0.0, 1.0))
    assert np.abs(hist.after["sigmoid"] - expected).sum() <= 2  # float32 vs float64 at edges
    # The first frame's scale: the 99.5th percentile of |raw| (every second row and
    # column); the activated picture's, the same range through the sigmoid.
    h, w = res.kernel.raw.shape
    x0, y0, x1, y1 = roi_pixels(state.roi, w, h)
    r = float(f"{np.percentile(np.abs(res.kernel.raw[y0:y1, x0:x1]), 99.5):.2g}")  # 2 digits
    assert hist.raw_display.shape == (y1 - y0, x1 - x0)
    assert hist.raw_display_range == pytest.approx((-r, r))
    sig = 1 / (1 + np.exp(-r))
    assert hist.after_display_range == pytest.approx((1 - sig, sig), abs=1e-5)
    lo, hi = activated_range(-1.5, 1.5, "tanh")
    assert (lo, hi) == pytest.approx((-0.9051, 0.9051), abs=1e-4)
    # Shown on its own range the sigmoid picture uses the whole grey scale, as the raw one.
    raw_span = np.ptp(hist.raw_display.astype(int))
    assert np.ptp(hist.after_display.astype(int)) >= 0.8 * raw_span


def test_shift_image_moves_and_fills_with_zero() -> None:
    image = np.arange(1, 26, dtype=np.float32).reshape(5, 5)
    moved = shift_image(image, 2, -1)
    assert np.array_equal(moved[:4, 2:], image[1:, :3])
    assert (moved[:, :2] == 0).all() and (moved[4] == 0).all()
    assert not shift_image(image, 9, 0).any()


@pytest.fixture(scope="module")
def classifier():
    return load_classifier(MODELS / "lenet.npz")


def test_the_maps_move_with_the_digit_and_the_answer_stays(classifier) -> None:
    from app.sources.demo import load_demo_digits
    from app.stages.results import DigitResult

    images, labels = load_demo_digits()
    same = 0
    for image, label in zip(images[:40], labels[:40], strict=True):
        stage = WhyCnnStage(classifier)  # a fresh stage: no shift test kept from the last
        tensor = image.astype(np.float32) / 255.0
        digit = DigitResult(status="digit", reason=None, prediction=int(label), confidence=1.0,
                            probs=np.zeros(10, np.float32), runtime="", roi_px=(0, 0, 1, 1),
                            tensor=tensor)  # fmt: skip
        results = FrameResults(digit=digit)
        stage.process(frame_of(np.zeros((48, 64), np.uint8)), ViewState(), results)
        why = results.why
        dx, dy = why.shift
        assert (dx, dy) == HOME_SHIFT and why.picture == (48, 64, 3)
        # conv1 (padding 2) commutes with the shift away from the borders it touches.
        inner = np.s_[3 : 28 - 3, 3 + dx : 28 - 3]
        moved = np.stack([shift_image(why.maps[:, :, c], dx, dy) for c in range(6)], axis=2)
        assert np.allclose(why.shifted_maps[inner], moved[inner], atol=1e-4)
        same += int(np.argmax(why.shifted_probs) == np.argmax(why.probs))
    # A property of the trained net, measured: 4 px to the right changes few answers.
    assert same >= 36, same


def test_the_shift_test_is_run_again_every_eight_frames_or_when_the_shift_changes(
    classifier,
) -> None:
    from app.sources.demo import load_demo_digits
    from app.stages.inspect import REFRESH_FRAMES
    from app.stages.results import DigitResult

    images, _ = load_demo_digits()
    stage = WhyCnnStage(classifier)

    def at(seq: int, image: np.ndarray, state: ViewState | None = None) -> FrameResults:
        state = state or ViewState()
        tensor = image.astype(np.float32) / 255.0
        digit = DigitResult(status="digit", reason=None, prediction=None, confidence=1.0,
                            probs=np.zeros(10, np.float32), runtime="", roi_px=(0, 0, 1, 1),
                            tensor=tensor)  # fmt: skip
        results = FrameResults(digit=digit)
        gray = np.zeros((48, 64), np.uint8)
        frame = Frame(array=cv2.cvtColor(gray, cv2.COLOR_GRAY2BGR), gray=gray, seq=seq,
                      timestamp=0.0)  # fmt: skip
        stage.process(frame, state, results)
        return results

    first = at(50, images[0]).why
    assert at(50 + REFRESH_FRAMES - 1, images[1]).why is first
    fresh = at(50 + REFRESH_FRAMES, images[1]).why
    assert fresh is not first and np.array_equal(fresh.tensor, images[1] / np.float32(255))
    moved = at(51 + REFRESH_FRAMES, images[1], ViewState(probe_x=1)).why
    assert moved.shift == (HOME_SHIFT[0] + 1, HOME_SHIFT[1])


def test_why_without_a_digit_still_gives_the_picture_size() -> None:
    results = FrameResults()
    WhyCnnStage(None).process(
        frame_of(np.zeros((30, 40), np.uint8)), ViewState(probe_x=1, probe_y=-2), results
    )
    assert results.why.picture == (30, 40, 3) and results.why.shift == (HOME_SHIFT[0] + 1, -2)
    assert results.why.maps is None


def test_the_network_description_comes_from_the_shipped_files() -> None:
    network = read_network(MODELS)
    assert network.problems == ()
    assert sum(n for _, n in network.params) == 61706
    assert dict(network.fields)["pool2"][0] == 16 and dict(network.fields)["conv1"][0] == 5
    metrics = json.loads((MODELS / "lenet_metrics.json").read_text())
    assert network.metrics["test_accuracy"] == metrics["test_accuracy"]
    assert network.top["conv2"].patches.shape[2:] == (14, 14)
    assert network.weights["conv2"].shape == (5, 5, 6, 16)
    stage = NetworkStage(MODELS)
    stage.configure({})
    a, b = FrameResults(), FrameResults()
    stage.process(None, ViewState(), a)  # type: ignore[arg-type]
    stage.process(None, ViewState(), b)  # type: ignore[arg-type]
    assert a.network is b.network  # read once


def test_missing_or_foreign_side_files_are_one_line_problems(tmp_path) -> None:
    shutil.copy(MODELS / "lenet.npz", tmp_path / "lenet.npz")
    network = read_network(tmp_path)
    assert network.spec is not None and network.top == {}
    assert len(network.problems) == 2
    assert any("lenet_metrics.json not found" in p for p in network.problems)
    # Metrics fall back to those stored in the model file.
    assert network.metrics["test_accuracy"] == pytest.approx(0.995)
    (tmp_path / "lenet_metrics.json").write_text("[1, 2")
    shutil.copy(MODELS / "lenet_top_patches.npz", tmp_path / "lenet_top_patches.npz")
    with open(tmp_path / "lenet.npz", "ab") as f:  # a different file: another digest
        f.write(b"\0")
    problems = read_network(tmp_path).problems
    assert any("not readable JSON" in p for p in problems)
    assert any("made for another lenet.npz" in p for p in problems)
    (tmp_path / "lenet_top_patches.npz").write_bytes(b"garbage")
    assert any("not a top-patches file" in p for p in read_network(tmp_path).problems)
    assert read_network(tmp_path / "nowhere").spec is None
