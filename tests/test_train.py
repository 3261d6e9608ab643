"""The training CLI: a CI smoke run, resume equivalence, the schedule, augmentation, bad input."""

from __future__ import annotations

import itertools
import json
import os
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from training import mnist, train
from training.augment import AugmentConfig, augment_batch
from training.model_io import load_model

REPO = Path(__file__).resolve().parents[1]
needs_mnist = pytest.mark.skipif(
    not all((mnist.default_data_dir() / name).is_file() for name in mnist.MNIST_FILES),
    reason="MNIST files not found (set CONVLENS_MNIST_DIR)",
)


def run_train(*argv: str) -> subprocess.CompletedProcess:
    """``python -m training.train`` in a child process with one BLAS thread.

    A tiny network gains nothing from a second thread, and on a shared machine a second
    BLAS thread that waits for a busy core makes every step several times slower.
    """
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1")
    # The timeout only stops a hung run: the smoke run takes about 5 s here and over
    # 120 s on the arm64 test bed under qemu (tests/pios), where it must pass too.
    return subprocess.run(
        [sys.executable, "-m", "training.train", *argv],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=900,
    )  # fmt: skip


@needs_mnist
def test_smoke_run_beats_90_percent_and_writes_every_output(tmp_path):
    out = tmp_path / "model.npz"
    argv = ["--epochs", "3", "--samples", "3000", "--val", "500", "--test-subset", "1000",
            "--batch-size", "32", "--no-augment", "--out", str(out)]  # fmt: skip
    proc = run_train(*argv)
    assert proc.returncode == 0, proc.stderr
    _, _, metrics = load_model(out)
    assert metrics["test_accuracy"] > 0.90
    assert metrics["test_n"] == 1000 and metrics["train_n"] == 3000
    assert len(metrics["history"]) == 3
    assert np.array(metrics["confusion"]).sum() == 1000
    saved = json.loads((tmp_path / "model_metrics.json").read_text())
    assert saved["test_accuracy"] == metrics["test_accuracy"]
    for name in ("model_training_curve.png", "model_confusion.png"):
        img = cv2.imread(str(tmp_path / name))
        assert img is not None and img.shape[2] == 3 and img.std() > 10


@needs_mnist
def test_resume_gives_the_same_weights_as_an_uninterrupted_run(tmp_path):
    common = ["--epochs", "2", "--samples", "256", "--val", "100", "--test-subset", "100",
              "--batch-size", "32", "--augment", "--seed", "3"]  # fmt: skip
    straight = tmp_path / "straight.npz"
    assert (
        run_train(*common, "--out", str(straight), "--run-dir", str(tmp_path / "a")).returncode == 0
    )
    resumed = tmp_path / "resumed.npz"
    run_b = ["--out", str(resumed), "--run-dir", str(tmp_path / "b")]
    stopped = run_train(*common, *run_b, "--stop-after-epoch", "1")
    assert stopped.returncode == 0 and "continue with --resume" in stopped.stderr
    assert not resumed.exists()
    assert run_train(*common, *run_b, "--resume").returncode == 0
    _, p1, m1 = load_model(straight)
    _, p2, m2 = load_model(resumed)
    for key in p1:
        np.testing.assert_array_equal(p1[key], p2[key])
    assert [h["val_loss"] for h in m1["history"]] == [h["val_loss"] for h in m2["history"]]


@needs_mnist
def test_resume_refuses_different_options(tmp_path, capsys):
    common = ["--epochs", "2", "--samples", "64", "--val", "32", "--test-subset", "10",
              "--run-dir", str(tmp_path), "--out", str(tmp_path / "m.npz")]  # fmt: skip
    assert train.main([*common, "--stop-after-epoch", "1"]) == 0
    capsys.readouterr()
    assert train.main([*common, "--resume", "--lr", "0.5"]) == 2
    err = capsys.readouterr().err.strip()
    assert "options lr differ from the checkpoint" in err and "\n" not in err


def test_resume_without_checkpoint_is_a_usage_error(tmp_path, capsys):
    argv = ["--resume", "--run-dir", str(tmp_path), "--data-dir", str(mnist.default_data_dir())]
    if not (mnist.default_data_dir() / "train-images-idx3-ubyte.gz").is_file():
        pytest.skip("MNIST files not found")
    assert train.main(argv) == 2
    assert "no checkpoint at" in capsys.readouterr().err


def test_missing_data_directory_is_one_line_exit_1(tmp_path):
    proc = subprocess.run(
        [sys.executable, "-m", "training.train", "--data-dir", str(tmp_path / "none")],
        cwd=REPO, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert proc.returncode == 1
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in proc.stderr
    assert "does not exist" in lines[0] and "training.download" in lines[0]


def test_truncated_data_file_is_one_line_exit_1(tmp_path, capsys):
    for name in mnist.MNIST_FILES:
        (tmp_path / name).write_bytes(b"\x1f\x8b truncated")
    assert train.main(["--data-dir", str(tmp_path)]) == 1
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert "train-images-idx3-ubyte.gz has SHA-256" in err and "expected" in err


def test_wrong_activation_is_one_line_exit_2():
    proc = subprocess.run(
        [sys.executable, "-m", "training.train", "--activation", "gelu"],
        cwd=REPO, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1
    assert "invalid choice: 'gelu'" in lines[0] and "--help" in lines[0]


def test_learning_rate_warms_up_then_decays_to_zero():
    lrs = [train.learning_rate(s, 100, 1.0, 10) for s in range(100)]
    assert lrs[0] == pytest.approx(0.1) and lrs[9] == pytest.approx(1.0)
    assert all(a >= b for a, b in itertools.pairwise(lrs[9:]))
    assert lrs[-1] < 0.001
    assert train.learning_rate(55, 100, 1.0, 10) == pytest.approx(0.5)


def test_split_is_seeded_and_disjoint():
    images = np.arange(100, dtype=np.uint8)[:, None, None] * np.ones((1, 2, 2), np.uint8)
    labels = np.arange(100) % 10
    a = train.split_train_val(images, labels, 20, seed=1)
    b = train.split_train_val(images, labels, 20, seed=1)
    assert len(a[0]) == 80 and len(a[2]) == 20
    np.testing.assert_array_equal(a[2], b[2])
    assert not set(a[0][:, 0, 0]) & set(a[2][:, 0, 0])
    with pytest.raises(train.UsageError, match="--val 100"):
        train.split_train_val(images, labels, 100, seed=1)


def test_augmentation_is_seeded_mild_and_keeps_shape():
    rng = np.random.default_rng(0)
    digits = np.zeros((32, 28, 28), np.uint8)
    digits[:, 6:22, 12:16] = 255  # a bar "1"
    a = augment_batch(digits, np.random.default_rng(5))
    b = augment_batch(digits, np.random.default_rng(5))
    np.testing.assert_array_equal(a, b)
    assert a.shape == digits.shape and a.dtype == np.uint8
    assert not np.array_equal(a, digits) and np.all(digits[:, 6:22, 12:16] == 255)
    # Mild: the ink stays roughly where it was and roughly as much of it.
    ink = a.reshape(32, -1).sum(axis=1) / digits.reshape(32, -1).sum(axis=1)
    assert np.all(ink > 0.5) and np.all(ink < 1.8)
    ys, _ = np.nonzero(a.sum(axis=0))
    assert ys.min() >= 1 and ys.max() <= 26
    none = AugmentConfig(0, 0, 0, 0, 0, 0, 0)
    np.testing.assert_array_equal(augment_batch(digits, rng, none), digits)
