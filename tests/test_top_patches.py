"""The shipped top patches are what ``training.top_patches`` computes for the shipped model."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pytest

from training import mnist
from training.model_io import load_model
from training.top_patches import LAYERS, cut_patch, layer_tops

MODELS = Path(__file__).resolve().parents[1] / "models"
HAVE_MNIST = all((mnist.default_data_dir() / n).is_file() for n in mnist.SPLITS["test"])


@pytest.fixture(scope="module")
def shipped() -> dict[str, np.ndarray]:
    with np.load(MODELS / "lenet_top_patches.npz") as data:
        return {name: data[name] for name in data.files}


def test_the_file_belongs_to_the_shipped_model(shipped) -> None:
    meta = json.loads(str(shipped["meta_json"]))
    digest = hashlib.sha256((MODELS / "lenet.npz").read_bytes()).hexdigest()
    assert meta["model_sha256"] == digest, "re-run python -m training.top_patches"
    k = meta["k"]
    assert shipped["conv1/patches"].shape == (6, k, 5, 5)
    assert shipped["conv2/patches"].shape == (16, k, 14, 14)
    for layer in LAYERS:
        values = shipped[f"{layer}/values"]
        assert (np.diff(values, axis=1) <= 0).all(), "strongest first"
        images = shipped[f"{layer}/images"]
        assert all(len(set(row)) == len(row) for row in images), "one patch per image"


@pytest.mark.skipif(not HAVE_MNIST, reason="MNIST test files not found")
def test_a_subset_with_the_winners_gives_the_same_tops(shipped) -> None:
    """Regenerate on the winners plus 300 other test images: the tops must come out equal,
    with the same activations, units and patches cut from the images."""
    spec, params, _ = load_model(MODELS / "lenet.npz")
    images, _ = mnist.load_split("test")
    winners = np.unique(np.concatenate([shipped[f"{n}/images"].ravel() for n in LAYERS]))
    subset = np.union1d(winners, np.arange(300))
    k = shipped["conv1/values"].shape[1]
    tops = layer_tops(spec, params, images[subset], LAYERS, k)
    for layer, top in tops.items():
        assert np.array_equal(subset[top.images], shipped[f"{layer}/images"]), layer
        assert np.array_equal(top.units, shipped[f"{layer}/units"]), layer
        np.testing.assert_allclose(top.values, shipped[f"{layer}/values"], rtol=1e-5, atol=1e-5)
        assert np.array_equal(top.patches, shipped[f"{layer}/patches"]), layer
        assert [top.field.size, top.field.jump, top.field.start] == list(shipped[f"{layer}/field"])


def test_cut_patch_pads_with_zeros_outside_the_picture() -> None:
    from training.receptive_field import Field

    image = np.arange(28 * 28, dtype=np.int64).reshape(28, 28) % 251 + 1
    conv2 = Field(14, 2, -2)
    corner = cut_patch(image, conv2, (0, 0))
    assert corner.shape == (14, 14)
    assert (corner[:2] == 0).all() and (corner[:, :2] == 0).all()
    assert np.array_equal(corner[2:, 2:], image[:12, :12])
    last = cut_patch(image, conv2, (9, 9))  # sees rows 16..29: two rows of padding
    assert np.array_equal(last[:12, :12], image[16:, 16:]) and (last[12:] == 0).all()
