"""Fine-tuning pieces: the held-back split, reading a collection, the model store's atomic
install / revert, and the export check that refuses a model that forgot MNIST."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from app.cli import _collected_tensor
from training import finetune, mnist, model_store
from training.collection import CollectionError, load_collection, parse_label
from training.model_io import load_model

REPO = Path(__file__).resolve().parents[1]
needs_mnist = pytest.mark.skipif(
    not all((mnist.default_data_dir() / name).is_file() for name in mnist.MNIST_FILES),
    reason="MNIST files not found (set CONVLENS_MNIST_DIR)",
)


def _digit_crop(digit: np.ndarray) -> np.ndarray:
    """A 120 x 120 grey camera-like crop of an MNIST digit: dark ink on light paper."""
    ink = cv2.resize(digit, (72, 72), interpolation=cv2.INTER_CUBIC).astype(np.float32) / 255
    crop = np.full((120, 120), 200.0, np.float32)
    crop[24:96, 24:96] -= 160.0 * ink
    return crop.astype(np.uint8)


# -------------------------------------------------------------------- split


def test_held_back_share_is_per_digit_seeded_and_leaves_a_training_sample():
    labels = np.array([0] * 8 + [1] * 4 + [2] * 1 + [3] * 2)
    train, held = finetune.split_held_back(labels, 0.25, seed=3)
    assert np.bincount(labels[held], minlength=4).tolist() == [2, 1, 0, 0]
    assert set(labels[train]) == {0, 1, 2, 3}  # every digit keeps a training sample
    assert not set(train) & set(held) and len(train) + len(held) == len(labels)
    again = finetune.split_held_back(labels, 0.25, seed=3)
    assert np.array_equal(again[1], held)
    assert not np.array_equal(finetune.split_held_back(labels, 0.25, seed=4)[1], held)


# --------------------------------------------------------------- collection


def test_collection_uses_the_apps_preprocessing_and_skips_bad_rows(tmp_path):
    images, labels = mnist.load_split("test") if _has_mnist() else _fake_digits()
    (tmp_path / "crops").mkdir()
    rows = ["file,label,time,source"]
    for i in range(3):
        cv2.imwrite(str(tmp_path / f"crops/{i}.png"), _digit_crop(images[i]))
        rows.append(f"crops/{i}.png,{labels[i]},2026-11-30T10:00:0{i}Z,camera")
    cv2.imwrite(str(tmp_path / "crops/blank.png"), np.full((100, 100), 210, np.uint8))
    (tmp_path / "crops/broken.png").write_bytes(b"\x89PNG not really")
    rows += ["crops/blank.png,4,,camera", "crops/0.png,seven,,camera", "crops/missing.png,1,,",
             "crops/broken.png,2,,", ",3,,"]  # fmt: skip
    (tmp_path / "samples.csv").write_text("\n".join(rows) + "\n")

    collection = load_collection(tmp_path, _collected_tensor)

    assert collection.images.shape == (3, 28, 28) and collection.images.dtype == np.float32
    assert collection.labels.tolist() == [int(v) for v in labels[:3]]
    assert collection.files == ("crops/0.png", "crops/1.png", "crops/2.png")
    expected = _collected_tensor(tmp_path / "crops/1.png")[0]
    np.testing.assert_array_equal(collection.images[1], expected)
    reasons = {s.line: s.reason for s in collection.skipped}
    assert reasons[5] == "no ink"
    assert reasons[6] == "label 'seven' is not a digit 0-9"
    assert "no such file" in reasons[7] and "missing.png" in reasons[7]
    assert "broken.png" in reasons[8]
    assert reasons[9] == "no file name"
    assert sum(collection.counts().values()) == 3


@pytest.mark.parametrize(
    ("setup", "message"),
    [
        (lambda d: None, "does not exist; expected a CSV index with columns file,label"),
        (lambda d: (d / "samples.csv").write_text("path,digit\na.png,1\n"), "lacks column(s)"),
        (lambda d: (d / "samples.csv").write_text("file,label\n"), "none of its 0 rows"),
        (lambda d: (d / "samples.csv").write_bytes(b"file,label\n\xff\xfe,1\n"), "UTF-8 CSV"),
    ],
)
def test_collection_errors_are_one_line(tmp_path, setup, message):
    setup(tmp_path)
    with pytest.raises(CollectionError, match=message.replace("(", r"\(").replace(")", r"\)")):
        load_collection(tmp_path, _collected_tensor)
    with pytest.raises(CollectionError, match="is not a folder"):
        load_collection(tmp_path / "nowhere", _collected_tensor)


def test_labels_are_digits():
    assert [parse_label(t) for t in ("7", " 0", "9.0", "10", "-1", "x", "", "3.5")] == [
        7, 0, 9, None, None, None, None, None,
    ]  # fmt: skip


# -------------------------------------------------------------- model store


def test_install_switches_current_atomically_and_revert_removes_it(tmp_path):
    first = model_store.install(tmp_path, {"a.bin": b"1", "card.json": b"{}"}, stamp="T1")
    assert model_store.current_model(tmp_path) == first.resolve()
    assert (tmp_path / "current").is_symlink() and os.readlink(tmp_path / "current") == first.name
    assert (tmp_path / "current" / "a.bin").read_bytes() == b"1"
    second = model_store.install(tmp_path, {"a.bin": b"2"}, stamp="T1")  # same second: unique
    assert second.name == f"{first.name}-2" and (tmp_path / "current/a.bin").read_bytes() == b"2"
    assert model_store.revert(tmp_path) is True
    assert model_store.current_model(tmp_path) is None and first.is_dir() and second.is_dir()
    assert model_store.revert(tmp_path) is False


def test_install_keeps_the_newest_models_and_never_the_current_one_away(tmp_path):
    for i in range(6):
        model_store.install(tmp_path, {"m": bytes([i])}, stamp=f"2026113{i}T000000Z")
    folders = sorted(p.name for p in tmp_path.glob("finetuned-*"))
    assert len(folders) == model_store.KEEP and folders[-1].endswith("5T000000Z")
    oldest = tmp_path / folders[0]
    model_store.point_current(tmp_path, oldest)
    model_store.prune(tmp_path, keep=1)
    assert oldest.is_dir() and (tmp_path / folders[-1]).is_dir()
    assert not (tmp_path / folders[1]).exists()


class _InterruptingFiles(dict):
    """Files whose second write is interrupted, as Ctrl-C or SIGTERM would."""

    def items(self):
        yield "first.bin", b"written"
        raise KeyboardInterrupt


def test_interrupted_install_leaves_the_current_model_and_no_staging(tmp_path):
    current = model_store.install(tmp_path, {"m": b"old"}, stamp="T0")
    with pytest.raises(KeyboardInterrupt):
        model_store.install(tmp_path, _InterruptingFiles(), stamp="T1")
    assert model_store.current_model(tmp_path) == current.resolve()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["current", current.name]


def test_staging_left_by_a_killed_process_is_removed_by_the_next_install(tmp_path):
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)  # fmt: skip
    stale = tmp_path / f"{model_store.STAGING_PREFIX}finetuned-T0.{dead.stdout.strip()}"
    stale.mkdir()
    (stale / "lenet.npz").write_bytes(b"half")
    model_store.install(tmp_path, {"m": b"x"}, stamp="T1")
    assert not stale.exists()


def test_default_model_dir_prefers_the_service_state_directory(monkeypatch, tmp_path):
    monkeypatch.setenv("STATE_DIRECTORY", f"{tmp_path}/state:{tmp_path}/other")
    assert model_store.default_model_dir() == tmp_path / "state" / "models"
    monkeypatch.delenv("STATE_DIRECTORY")
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "xdg"))
    if not os.access("/var/lib/convlens", os.W_OK):
        assert model_store.default_model_dir() == tmp_path / "xdg" / "convlens" / "models"


# ------------------------------------------------------------ export check


@needs_mnist
def test_check_refuses_a_model_that_forgot_mnist():
    pytest.importorskip("ai_edge_litert")
    spec, params, _ = load_model(REPO / "models" / "lenet.npz")
    damaged = dict(params)
    damaged["fc3/w"] = np.random.default_rng(0).permutation(params["fc3/w"].T).T.copy()
    test = mnist.load_split("test")
    calibration = test[0][:200]
    parity = test[0][:100].astype(np.float32) / 255
    shipped = finetune.accuracy(spec, params, *test)
    with pytest.raises(finetune.FinetuneError, match="points below the shipped") as info:
        finetune.check_and_export(spec, damaged, {}, calibration, test, parity, shipped)
    assert info.value.result["mnist_float32_tflite"] < shipped - finetune.MNIST_MARGIN
    assert info.value.result["tflite_parity_max_abs"] < finetune.PARITY_TOLERANCE
    blobs, figures = finetune.check_and_export(spec, params, {}, calibration, test, parity, shipped)
    assert set(blobs) == {"lenet_float32.tflite", "lenet_int8.tflite"}
    assert figures["mnist_float32_tflite"] == pytest.approx(shipped)


def test_cli_reports_a_bad_collection_in_one_line(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "app", "finetune", str(tmp_path / "none"), "--out",
         str(tmp_path / "models"), "--json", "--nice", "0"],
        cwd=REPO, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert result.returncode == 1 and result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert lines == [f"convlens finetune: error: {tmp_path / 'none'} is not a folder; "
                     "expected one with samples.csv"]  # fmt: skip
    assert not (tmp_path / "models").exists()


def _has_mnist() -> bool:
    return all((mnist.default_data_dir() / name).is_file() for name in mnist.MNIST_FILES)


def _fake_digits() -> tuple[np.ndarray, np.ndarray]:
    """Three drawn digits (1, 0, 7) when MNIST is absent."""
    images = np.zeros((3, 28, 28), np.uint8)
    cv2.line(images[0], (14, 5), (14, 22), 255, 3)
    cv2.circle(images[1], (14, 14), 8, 255, 3)
    cv2.line(images[2], (7, 6), (21, 6), 255, 3)
    cv2.line(images[2], (21, 6), (12, 22), 255, 3)
    return images, np.array([1, 0, 7])
