"""The MNIST IDX loader: parsing, checksum verification and its one-line errors."""

from __future__ import annotations

import gzip
import shutil

import numpy as np
import pytest

from training import mnist
from training.mnist import MNIST_FILES, DataError, load_split, parse_idx

needs_mnist = pytest.mark.skipif(
    not all((mnist.default_data_dir() / name).is_file() for name in MNIST_FILES),
    reason="MNIST files not found (set CONVLENS_MNIST_DIR)",
)


def idx_images(images: np.ndarray) -> bytes:
    n, r, c = images.shape
    header = b"".join(int(v).to_bytes(4, "big") for v in (2051, n, r, c))
    return header + images.astype(np.uint8).tobytes()


def test_parse_idx_images_and_labels():
    images = np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4)
    np.testing.assert_array_equal(parse_idx(idx_images(images), "x"), images)
    labels = (2049).to_bytes(4, "big") + (3).to_bytes(4, "big") + bytes([7, 0, 9])
    np.testing.assert_array_equal(parse_idx(labels, "y"), [7, 0, 9])


def test_parse_idx_rejects_bad_magic_short_and_wrong_length():
    with pytest.raises(DataError, match="too short"):
        parse_idx(b"\x00\x00", "f")
    with pytest.raises(DataError, match="magic number 1234"):
        parse_idx((1234).to_bytes(4, "big") + bytes(8), "f")
    data = idx_images(np.zeros((2, 2, 2), np.uint8))
    with pytest.raises(DataError, match=r"f: 23 bytes, expected 24"):
        parse_idx(data[:-1], "f")


def test_missing_directory_says_how_to_download(tmp_path):
    with pytest.raises(DataError, match=r"does not exist; run `python -m training.download"):
        load_split("test", tmp_path / "absent")


def test_missing_file_is_named(tmp_path):
    with pytest.raises(DataError, match=r"t10k-images-idx3-ubyte.gz is missing"):
        load_split("test", tmp_path)


def test_unknown_split():
    with pytest.raises(ValueError, match="split 'valid'"):
        load_split("valid")


def test_default_data_dir_honours_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("CONVLENS_MNIST_DIR", str(tmp_path))
    assert mnist.default_data_dir() == tmp_path


@needs_mnist
def test_truncated_file_names_the_file_and_both_checksums(tmp_path):
    src = mnist.default_data_dir()
    for name in mnist.SPLITS["test"]:
        shutil.copy(src / name, tmp_path / name)
    target = tmp_path / "t10k-labels-idx1-ubyte.gz"
    target.write_bytes(target.read_bytes()[:-100])
    with pytest.raises(DataError) as info:
        load_split("test", tmp_path)
    message = str(info.value)
    assert "t10k-labels-idx1-ubyte.gz" in message
    assert MNIST_FILES["t10k-labels-idx1-ubyte.gz"] in message
    assert mnist.sha256_of(target) in message
    assert "\n" not in message


@needs_mnist
def test_corrupted_gzip_is_reported_when_not_verifying(tmp_path):
    src = mnist.default_data_dir()
    for name in mnist.SPLITS["test"]:
        shutil.copy(src / name, tmp_path / name)
    target = tmp_path / "t10k-labels-idx1-ubyte.gz"
    target.write_bytes(b"not gzip at all")
    with pytest.raises(DataError, match="cannot be decompressed"):
        load_split("test", tmp_path, verify=False)
    target.write_bytes(gzip.compress(b"\x00\x00\x08\x01" + bytes(4)))  # valid gzip, 0 labels
    with pytest.raises(DataError, match="10000 images but 0 labels"):
        load_split("test", tmp_path, verify=False)


@needs_mnist
def test_real_test_split_loads_with_expected_shapes():
    images, labels = load_split("test")
    assert images.shape == (10000, 28, 28) and images.dtype == np.uint8
    assert labels.shape == (10000,) and set(np.unique(labels)) == set(range(10))
    assert images.max() == 255 and images[:, 0, 0].max() == 0  # ink bright, corners empty
