"""Make ``app/assets/demo_digits.npz``: a small, fixed set of MNIST test digits for the demo source.

The demo source shows these when there is no camera. They come from the MNIST *test*
set (never the training set) so that a classifier trained on ``train-*`` has not seen
them. MNIST is by Yann LeCun, Corinna Cortes and Christopher J.C. Burges, licensed
CC BY-SA 3.0.

Usage::

    python -m training.make_demo_digits [--mnist DIR] [--per-class 30] [--out PATH]
"""

from __future__ import annotations

import argparse
import gzip
import os
from pathlib import Path

import numpy as np

IMAGES_FILE = "t10k-images-idx3-ubyte.gz"
LABELS_FILE = "t10k-labels-idx1-ubyte.gz"
DEFAULT_OUT = Path(__file__).resolve().parent.parent / "app" / "assets" / "demo_digits.npz"


def default_mnist_dir() -> Path:
    """The MNIST folder: ``$CONVLENS_MNIST_DIR`` or ``<repo>/../shared/data/mnist``."""
    env = os.environ.get("CONVLENS_MNIST_DIR")
    if env:
        return Path(env)
    return Path(__file__).resolve().parent.parent.parent / "shared" / "data" / "mnist"


def read_idx(path: Path, magic: int) -> np.ndarray:
    """Read a gzip IDX file: (N, 28, 28) uint8 images (magic 2051) or (N,) uint8 labels (2049)."""
    with gzip.open(path, "rb") as f:
        data = f.read()
    header = np.frombuffer(data, dtype=">u4", count=2)
    if int(header[0]) != magic:
        raise ValueError(f"{path}: IDX magic {int(header[0])}, expected {magic}")
    count = int(header[1])
    if magic == 2051:
        rows, cols = (int(v) for v in np.frombuffer(data, dtype=">u4", count=2, offset=8))
        return np.frombuffer(data, dtype=np.uint8, offset=16).reshape(count, rows, cols)
    return np.frombuffer(data, dtype=np.uint8, offset=8).reshape(count)


def select_per_class(labels: np.ndarray, per_class: int) -> np.ndarray:
    """Indices of the first ``per_class`` items of each digit 0-9, interleaved 0,1,...,9,0,1,..."""
    per_digit = [np.flatnonzero(labels == d)[:per_class] for d in range(10)]
    if any(len(p) < per_class for p in per_digit):
        raise ValueError(f"fewer than {per_class} examples of some digit")
    return np.stack(per_digit, axis=1).reshape(-1)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mnist", type=Path, default=default_mnist_dir())
    parser.add_argument("--per-class", type=int, default=30)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args(argv)

    images = read_idx(args.mnist / IMAGES_FILE, 2051)
    labels = read_idx(args.mnist / LABELS_FILE, 2049)
    index = select_per_class(labels, args.per_class)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(
        args.out,
        images=np.ascontiguousarray(images[index]),
        labels=np.ascontiguousarray(labels[index]),
        mnist_test_index=index.astype(np.uint16),
    )
    print(f"wrote {len(index)} digits ({args.per_class} per class) to {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
