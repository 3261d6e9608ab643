"""The collection on disk: what is saved, counted, undone and refused, and that
``convlens finetune`` reads it as the network saw it."""

from __future__ import annotations

import csv

import cv2
import numpy as np
import pytest

from app.cli import _collected_tensor
from app.learn.collector import COLUMNS, Collector, CollectQuota, SampleRefusedError
from app.stages.mnist_preprocess import read_roi
from training.collection import CollectionError, load_collection


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def digit_crop(seed: int = 0, side: int = 120) -> np.ndarray:
    """A grey camera-like crop: a dark stroke (a 1) on light paper."""
    rng = np.random.default_rng(seed)
    crop = np.full((side, side), 200, np.uint8)
    cv2.line(crop, (side // 2, side // 5), (side // 2 + 6, 4 * side // 5), 40, side // 14)
    return np.clip(crop + rng.normal(0, 2, crop.shape), 0, 255).astype(np.uint8)


def saved(collector: Collector, label: int, seed: int = 0) -> None:
    crop = digit_crop(seed)
    collector.add(crop, read_roi(crop).tensor, label, "test camera")


@pytest.fixture
def clock():
    return Clock()


def test_samples_are_saved_counted_and_read_by_finetune_as_the_network_saw_them(tmp_path, clock):
    collector = Collector(tmp_path / "c", CollectQuota(min_interval=0.5), clock=clock)
    assert collector.counts() == (0,) * 10 and not (tmp_path / "c").exists()
    for i, label in enumerate([1, 1, 7]):
        clock.now += 1
        saved(collector, label, seed=i)
    assert collector.counts() == (0, 2, 0, 0, 0, 0, 0, 1, 0, 0)
    with open(tmp_path / "c" / "samples.csv", newline="") as f:
        rows = list(csv.reader(f))
    assert tuple(rows[0]) == COLUMNS
    assert [row[0] for row in rows[1:]] == ["crops/00001_1.png", "crops/00002_1.png",
                                            "crops/00003_7.png"]  # fmt: skip
    assert {row[3] for row in rows[1:]} == {"test camera"}
    tensor = cv2.imread(str(tmp_path / "c" / rows[3][4]), cv2.IMREAD_GRAYSCALE)
    assert tensor.shape == (28, 28) and tensor.max() > 200
    # convlens finetune reads the crops with the live preprocessing: the same tensors.
    collection = load_collection(tmp_path / "c", _collected_tensor)
    assert list(collection.labels) == [1, 1, 7]
    expected = read_roi(digit_crop(2)).tensor
    np.testing.assert_allclose(collection.images[2], expected, atol=1e-6)
    # A new collector (a restart) finds them and numbers on.
    again = Collector(tmp_path / "c", clock=clock)
    assert again.counts() == collector.counts()
    clock.now += 1
    saved(again, 4)
    assert again.samples[-1].file == "crops/00004_4.png"


def test_undo_removes_the_newest_sample_and_keeps_the_rest(tmp_path, clock):
    collector = Collector(tmp_path, CollectQuota(min_interval=0), clock=clock)
    assert collector.undo() is None
    saved(collector, 3)
    saved(collector, 5, seed=1)
    removed = collector.undo()
    assert removed is not None and removed.label == 5
    assert not (tmp_path / removed.file).exists() and not (tmp_path / removed.tensor).exists()
    assert collector.counts()[3] == 1 and collector.counts()[5] == 0
    assert Collector(tmp_path).counts() == collector.counts()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["crops", "samples.csv", "tensors"]


def test_a_row_with_a_bad_label_is_kept_through_an_undo(tmp_path, clock):
    collector = Collector(tmp_path, CollectQuota(min_interval=0), clock=clock)
    saved(collector, 2)
    with open(tmp_path / "samples.csv", "a", newline="") as f:
        f.write("crops/hand.png,x,,hand,\n")
    collector = Collector(tmp_path, CollectQuota(min_interval=0), clock=clock)
    saved(collector, 6)
    collector.undo()
    text = (tmp_path / "samples.csv").read_text()
    assert "crops/hand.png,,,hand," in text and "00001_2" in text and "_6" not in text


def test_rate_limit_and_quotas_refuse_with_a_reason(tmp_path, clock):
    collector = Collector(tmp_path, CollectQuota(min_interval=0.5, max_samples=2), clock=clock)
    saved(collector, 1)
    clock.now += 0.2
    with pytest.raises(SampleRefusedError, match=r"one sample per 0.5 s; the last was 0.20 s ago"):
        saved(collector, 1)
    clock.now += 0.5
    saved(collector, 1)
    clock.now += 1
    with pytest.raises(SampleRefusedError, match="holds 2 samples, the most kept"):
        saved(collector, 1)
    full = Collector(tmp_path / "b", CollectQuota(min_free_bytes=2**62), clock=clock)
    with pytest.raises(SampleRefusedError, match="MB free on the disk"):
        saved(full, 1)
    small = Collector(tmp_path / "s", CollectQuota(min_interval=0, max_bytes=1), clock=clock)
    saved(small, 1)
    with pytest.raises(SampleRefusedError, match="MB allowed"):
        saved(small, 1)
    assert small.counts()[1] == 1


def test_bad_samples_and_foreign_indexes_are_refused_in_one_line(tmp_path, clock):
    collector = Collector(tmp_path, clock=clock)
    tensor = np.zeros((28, 28), np.float32)
    with pytest.raises(ValueError, match="label 10 is not a digit"):
        collector.add(digit_crop(), tensor, 10, "")
    with pytest.raises(ValueError, match=r"crop must be \(h, w\) uint8"):
        collector.add(np.zeros((10, 10, 3), np.uint8), tensor, 1, "")
    with pytest.raises(ValueError, match=r"tensor must be \(28, 28\) float"):
        collector.add(digit_crop(), np.zeros((28, 28), np.uint8), 1, "")
    assert not (tmp_path / "samples.csv").exists()
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "samples.csv").write_text("file,label\na.png,3\n")
    with pytest.raises(CollectionError, match="not the collection's file,label,time,source"):
        Collector(tmp_path / "other")
