"""MNIST in its original IDX files: find them, verify their SHA-256, read them."""

from __future__ import annotations

import gzip
import hashlib
import os
from pathlib import Path

import numpy as np

#: SHA-256 of the four original .gz files (MNIST README; verified on load).
MNIST_FILES = {
    "train-images-idx3-ubyte.gz": "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609",  # noqa: E501
    "train-labels-idx1-ubyte.gz": "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c",  # noqa: E501
    "t10k-images-idx3-ubyte.gz": "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6",
    "t10k-labels-idx1-ubyte.gz": "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6",
}
SPLITS = {
    "train": ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"),
    "test": ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"),
}
_IMAGES_MAGIC, _LABELS_MAGIC = 2051, 2049


class DataError(Exception):
    """A missing, truncated or corrupted MNIST file; the message says what to do."""


def default_data_dir() -> Path:
    """``$CONVLENS_MNIST_DIR``, else ``<repo>/../shared/data/mnist``, else ``<repo>/data/mnist``."""
    env = os.environ.get("CONVLENS_MNIST_DIR")
    if env:
        return Path(env)
    repo = Path(__file__).resolve().parents[1]
    shared = repo.parent / "shared" / "data" / "mnist"
    return shared if shared.is_dir() else repo / "data" / "mnist"


def sha256_of(path: Path) -> str:
    """Hex SHA-256 of a file, read in 1 MiB chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def verify_file(path: Path) -> None:
    """Raise ``DataError`` unless ``path`` exists and has its published SHA-256."""
    if not path.is_file():
        raise DataError(
            f"MNIST file {path} is missing; run `python -m training.download --data-dir "
            f"{path.parent}` or pass --data-dir with the four IDX .gz files"
        )
    expected = MNIST_FILES[path.name]
    actual = sha256_of(path)
    if actual != expected:
        raise DataError(
            f"MNIST file {path} has SHA-256 {actual}, expected {expected}; it is truncated "
            f"or corrupted: delete it and run `python -m training.download`"
        )


def parse_idx(data: bytes, name: str) -> np.ndarray:
    """Decode an uncompressed IDX image (magic 2051) or label (2049) file.

    Returns:
        (N, rows, cols) uint8 for images, (N,) uint8 for labels.
    """
    if len(data) < 8:
        raise DataError(f"{name}: {len(data)} bytes is too short for an IDX header")
    magic, count = int.from_bytes(data[0:4], "big"), int.from_bytes(data[4:8], "big")
    if magic == _IMAGES_MAGIC:
        rows, cols = int.from_bytes(data[8:12], "big"), int.from_bytes(data[12:16], "big")
        shape, offset = (count, rows, cols), 16
    elif magic == _LABELS_MAGIC:
        shape, offset = (count,), 8
    else:
        raise DataError(
            f"{name}: magic number {magic} is not an IDX image (2051) or label (2049) file"
        )
    expected = offset + int(np.prod(shape))
    if len(data) != expected:
        raise DataError(f"{name}: {len(data)} bytes, expected {expected} for shape {shape}")
    return np.frombuffer(data, dtype=np.uint8, offset=offset).reshape(shape)


def load_split(
    split: str, data_dir: Path | None = None, verify: bool = True
) -> tuple[np.ndarray, np.ndarray]:
    """Images (N, 28, 28) uint8 (0 = background, 255 = ink) and labels (N,) uint8.

    Args:
        split: ``"train"`` (60,000) or ``"test"`` (10,000).
        data_dir: folder with the .gz files; ``default_data_dir()`` when None.
        verify: check SHA-256 first (a fraction of a second).
    """
    if split not in SPLITS:
        raise ValueError(f"split {split!r} is not one of {', '.join(SPLITS)}")
    folder = Path(data_dir) if data_dir is not None else default_data_dir()
    if not folder.is_dir():
        raise DataError(
            f"MNIST data directory {folder} does not exist; run `python -m training.download "
            f"--data-dir {folder}` or pass --data-dir"
        )
    arrays = []
    for name in SPLITS[split]:
        path = folder / name
        if verify:
            verify_file(path)
        try:
            with gzip.open(path, "rb") as f:
                raw = f.read()
        except (OSError, EOFError) as exc:
            raise DataError(
                f"MNIST file {path} cannot be decompressed ({exc}); download it again"
            ) from exc
        arrays.append(parse_idx(raw, name))
    images, labels = arrays
    if len(images) != len(labels):
        raise DataError(f"{split}: {len(images)} images but {len(labels)} labels")
    return images, labels
