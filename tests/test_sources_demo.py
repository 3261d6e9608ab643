"""The synthetic demo camera and render_digit_scene."""

from __future__ import annotations

import time

import cv2
import numpy as np
import pytest

from app.errors import SourceError
from app.sources.demo import DemoSource, load_demo_digits, render_digit_scene
from app.state import Roi

ROI_SIDE = round(0.45 * 480)
X0, Y0 = 320 - ROI_SIDE // 2, 240 - ROI_SIDE // 2


def frames_of(source: DemoSource, count: int):
    source.open()
    try:
        return [source.read() for _ in range(count)]
    finally:
        source.close()


def ink_mask(gray: np.ndarray) -> np.ndarray:
    return gray < 110


def test_bundled_digits_are_thirty_of_each_class():
    images, labels = load_demo_digits()
    assert images.shape == (300, 28, 28) and images.dtype == np.uint8
    assert np.bincount(labels, minlength=10).tolist() == [30] * 10
    assert images.max() == 255 and images.min() == 0


def test_same_seed_same_frames_other_seed_other_frames():
    a = frames_of(DemoSource(seed=3, realtime=False), 5)
    b = frames_of(DemoSource(seed=3, realtime=False), 5)
    c = frames_of(DemoSource(seed=4, realtime=False), 5)
    for fa, fb in zip(a, b, strict=True):
        np.testing.assert_array_equal(fa.array, fb.array)
    assert not np.array_equal(a[0].array, c[0].array)


def test_frames_are_camera_like():
    frame = frames_of(DemoSource(realtime=False), 1)[0]
    assert frame.array.shape == (480, 640, 3) and frame.array.dtype == np.uint8
    np.testing.assert_array_equal(frame.gray, cv2.cvtColor(frame.array, cv2.COLOR_BGR2GRAY))
    gray = frame.gray.astype(float)
    ink = ink_mask(frame.gray)
    ys, xs = np.nonzero(ink)
    # Dark ink, only inside the ROI, about 60-75 % of its side.
    assert ys.min() >= Y0 - 2 and ys.max() < Y0 + ROI_SIDE + 2
    assert xs.min() >= X0 - 2 and xs.max() < X0 + ROI_SIDE + 2
    extent = max(ys.max() - ys.min(), xs.max() - xs.min()) / ROI_SIDE
    assert 0.55 <= extent <= 0.8
    paper = gray[~ink]
    assert np.median(paper) > 170 and gray[ink].mean() < 90
    # Uneven lighting: the paper is not flat (gradient, vignette), and there is noise.
    corners = [gray[:40, :40].mean(), gray[:40, -40:].mean()]
    corners += [gray[-40:, :40].mean(), gray[-40:, -40:].mean()]
    assert max(corners) - min(corners) > 8  # light falls in from one side
    assert min(corners) < gray[60:100, 300:340].mean() - 5  # vignette: centre is brighter
    assert np.abs(np.diff(gray[10, 100:200])).mean() > 0.5


def test_a_new_digit_every_n_frames_with_small_tremor_in_between():
    source = DemoSource(seed=1, fps=30.0, digit_seconds=0.2, realtime=False)  # 6 frames each
    assert source.frames_per_digit == 6
    frames = []
    source.open()
    labels = []
    try:
        for _ in range(48):
            frames.append(source.read())
            labels.append(source.current_label)
    finally:
        source.close()
    for block in range(8):
        assert len(set(labels[block * 6 : block * 6 + 6])) == 1
    assert len(set(labels)) >= 4
    masks = [ink_mask(f.gray[Y0 : Y0 + ROI_SIDE, X0 : X0 + ROI_SIDE]) for f in frames]

    def overlap(a, b):
        return (a & b).sum() / max(1, (a | b).sum())

    within = [overlap(masks[i], masks[i + 1]) for i in range(47) if (i + 1) % 6]
    across = [overlap(masks[i], masks[i + 1]) for i in range(5, 47, 6)]
    assert min(within) > 0.5  # the same digit, moved by the hand's tremor
    assert max(within) < 1.0  # ... but it does move
    assert np.mean(across) < np.mean(within) - 0.2


def test_current_label_names_the_digit_on_the_last_frame():
    source = DemoSource(seed=0, realtime=False)
    assert source.current_label is None
    source.open()
    try:
        source.read()
        label = source.current_label
    finally:
        source.close()
    assert isinstance(label, int) and 0 <= label <= 9


def test_realtime_paces_to_fps():
    source = DemoSource(fps=60.0, realtime=True)
    source.open()
    try:
        start = time.monotonic()
        for _ in range(5):
            source.read()
        elapsed = time.monotonic() - start
    finally:
        source.close()
    # A lower bound only, and one that load cannot break: the pacer never hands out a
    # frame early to catch up after a stall (tests/test_sources_pacer.py).
    assert elapsed >= 4 / 60 - 0.005


def test_other_sizes_and_bad_arguments(tmp_path):
    frame = frames_of(DemoSource(size=(320, 240), realtime=False), 1)[0]
    assert frame.array.shape == (240, 320, 3) and frame.gray.shape == (240, 320)
    with pytest.raises(SourceError, match="fps"):
        DemoSource(fps=0)
    with pytest.raises(SourceError, match="too small"):
        DemoSource(size=(8, 8))
    with pytest.raises(SourceError, match="read before open"):
        DemoSource().read()
    missing = tmp_path / "none.npz"
    with pytest.raises(SourceError, match=r"none\.npz"):
        DemoSource(digits_path=missing).open()


def test_render_digit_scene_keeps_the_digit_readable():
    images, _ = load_demo_digits()
    rng = np.random.default_rng(7)
    scores = []
    for digit in images[:40]:
        frame = render_digit_scene(digit, rng=rng)
        assert frame.shape == (480, 640, 3) and frame.dtype == np.uint8
        gray = cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY).astype(np.float32)
        roi = gray[Y0 : Y0 + ROI_SIDE, X0 : X0 + ROI_SIDE]
        small = cv2.resize(roi.max() - roi, (28, 28), interpolation=cv2.INTER_AREA)
        scores.append(np.corrcoef(small.ravel(), digit.ravel().astype(np.float32))[0, 1])
    # The ROI scaled to 28x28 and inverted looks like the MNIST digit itself.
    assert min(scores) > 0.5 and np.mean(scores) > 0.75


def test_render_digit_scene_is_a_function_of_rng_and_follows_the_roi():
    images, _ = load_demo_digits()
    a = render_digit_scene(images[0], rng=np.random.default_rng(1))
    b = render_digit_scene(images[0], rng=np.random.default_rng(1))
    np.testing.assert_array_equal(a, b)
    corner = Roi(cx=0.25, cy=0.3, size=0.3)
    frame = render_digit_scene(images[0], size=(800, 600), rng=np.random.default_rng(1), roi=corner)
    ys, xs = np.nonzero(ink_mask(cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)))
    assert abs(xs.mean() - 200) < 30 and abs(ys.mean() - 180) < 30


def test_render_digit_scene_rejects_a_wrong_digit():
    with pytest.raises(ValueError, match=r"\(28, 28\) uint8"):
        render_digit_scene(np.zeros((28, 28), np.float32), rng=np.random.default_rng(0))
    with pytest.raises(ValueError, match=r"\(28, 28\) uint8"):
        render_digit_scene(np.zeros((32, 32), np.uint8), rng=np.random.default_rng(0))
