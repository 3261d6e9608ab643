"""What the layers see: the MNIST patches that excite each conv channel most, found offline.

For every conv1 and conv2 channel, each image of a split counts once, with its strongest
unit (so the top patches come from different digits, as in the Deep Visualization
Toolbox), and the ``k`` images whose strongest unit is strongest are kept: the unit's
receptive field cut out of the image (5x5 for conv1, 14x14 for conv2; pixels beyond the
picture are the zero padding). Run after training, next to the export::

    python -m training.top_patches models/lenet.npz --out models/lenet_top_patches.npz

The file is small (a few tens of kB) and the app reads it at start-up
(``app.stages.network``); a test regenerates part of it and compares.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import logging
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from training import mnist
from training.model_io import ModelFileError, load_model
from training.network import Params, forward, to_input
from training.receptive_field import Field, receptive_fields
from training.spec import Spec, layer_shapes

log = logging.getLogger(__name__)

#: The layers whose channels get top patches, and how many patches each channel keeps.
LAYERS = ("conv1", "conv2")
DEFAULT_K = 9
#: Images per forward pass: conv1's kept output is 19 kB an image.
BATCH = 500


@dataclass(frozen=True)
class LayerTop:
    """The top patches of one layer's channels.

    Attributes:
        patches: (C, k, r, r) uint8, ink = 255, the receptive field of each unit.
        values: (C, k) float32, the unit's activation, strongest first.
        images: (C, k) int32, index of the image in the split.
        units: (C, k, 2) int16, (row, column) of the unit in the layer's map.
        field: the layer's receptive field on the 28x28 input.
    """

    patches: np.ndarray
    values: np.ndarray
    images: np.ndarray
    units: np.ndarray
    field: Field


def channel_maxima(
    spec: Spec, params: Params, images: np.ndarray, layers: tuple[str, ...]
) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Each image's strongest unit per channel of each of ``layers``, in one forward pass.

    Args:
        images: (N, 28, 28) uint8.
    Returns:
        ``{layer: (values, units)}``: values (N, C) float32 and flat unit indices (N, C)
        int64 into the layer's (H', W') map (the first unit on ties).
    """
    found: dict[str, tuple[list[np.ndarray], list[np.ndarray]]] = {n: ([], []) for n in layers}
    for start in range(0, len(images), BATCH):
        x = to_input(spec, images[start : start + BATCH])
        _, _, outputs = forward(spec, params, x, keep=True)
        for name in layers:
            out = outputs[name]  # (n, H', W', C)
            flat = out.reshape(out.shape[0], -1, out.shape[3])
            index = flat.argmax(axis=1)
            found[name][0].append(np.take_along_axis(flat, index[:, None, :], axis=1)[:, 0])
            found[name][1].append(index)
    return {
        name: (np.concatenate(v).astype(np.float32), np.concatenate(w))
        for name, (v, w) in found.items()
    }


def cut_patch(image: np.ndarray, field: Field, unit: tuple[int, int]) -> np.ndarray:
    """The (r, r) piece of a (28, 28) image unit (row, column) sees; padding is 0."""
    r = field.size
    y0, _ = field.region(unit[0])
    x0, _ = field.region(unit[1])
    pad = r + abs(field.start)  # enough for any unit whose field touches the picture
    padded = np.pad(image, pad)
    return padded[y0 + pad : y0 + pad + r, x0 + pad : x0 + pad + r].copy()


def layer_tops(
    spec: Spec,
    params: Params,
    images: np.ndarray,
    layers: tuple[str, ...] = LAYERS,
    k: int = DEFAULT_K,
) -> dict[str, LayerTop]:
    """The ``k`` strongest images of every channel of each of ``layers``, with patches.

    Ties in value keep the lower image index first, so the result does not depend on
    the order of a subset that contains the winners.
    """
    fields = dict(receptive_fields(spec["layers"]))
    unknown = [name for name in layers if name not in fields]
    if unknown:
        raise ValueError(f"layers {unknown} are not conv or pool layers of the spec")
    shapes = dict(layer_shapes(spec))
    tops = {}
    for name, (values, where) in channel_maxima(spec, params, images, layers).items():
        n, channels = values.shape
        kept = min(k, n)
        ties = np.arange(n)[:, None].repeat(channels, 1)
        order = np.lexsort((ties, -values), axis=0)[:kept]  # (k, C): by value, then index
        top_where = np.take_along_axis(where, order, axis=0).T  # (C, k)
        width = shapes[name][1]
        units = np.stack([top_where // width, top_where % width], axis=-1).astype(np.int16)
        field = fields[name]
        patches = np.array(
            [
                [
                    cut_patch(images[i], field, (int(y), int(x)))
                    for i, (y, x) in zip(*pair, strict=True)
                ]
                for pair in zip(order.T, units, strict=True)
            ],
            np.uint8,
        )
        top_values = np.take_along_axis(values, order, axis=0).T
        tops[name] = LayerTop(patches, top_values, order.T.astype(np.int32), units, field)
    return tops


def top_patches_bytes(tops: dict[str, LayerTop], meta: dict[str, Any]) -> bytes:
    """The tops and ``meta`` (JSON) as the contents of an .npz file."""
    arrays: dict[str, np.ndarray] = {"meta_json": np.array(json.dumps(meta))}
    for name, top in tops.items():
        arrays[f"{name}/patches"] = top.patches
        arrays[f"{name}/values"] = top.values
        arrays[f"{name}/images"] = top.images
        arrays[f"{name}/units"] = top.units
        arrays[f"{name}/field"] = np.array([top.field.size, top.field.jump, top.field.start])
    buffer = io.BytesIO()
    np.savez_compressed(buffer, **arrays)
    return buffer.getvalue()


def save_top_patches(path: Path, tops: dict[str, LayerTop], meta: dict[str, Any]) -> None:
    """Write the tops and ``meta`` (JSON) to an .npz, through a temporary file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(top_patches_bytes(tops, meta))
    tmp.replace(path)


def build(
    model: Path, split: str = "test", k: int = DEFAULT_K, data_dir: Path | None = None
) -> tuple[dict[str, LayerTop], dict[str, Any]]:
    """The tops of ``LAYERS`` for ``model`` over an MNIST split, and the file's metadata."""
    spec, params, _ = load_model(model)
    images, _ = mnist.load_split(split, data_dir)
    tops = layer_tops(spec, params, images, LAYERS, k)
    meta = {
        "split": split,
        "images": len(images),
        "k": int(k),
        "model": model.name,
        "model_sha256": hashlib.sha256(model.read_bytes()).hexdigest(),
        "command": f"python -m training.top_patches {model.name} --split {split} --k {k}",
    }
    return tops, meta


def main(argv: list[str] | None = None) -> int:
    """CLI entry point; returns the exit status."""
    parser = argparse.ArgumentParser(
        prog="python -m training.top_patches", description=__doc__.split("\n")[0]
    )
    parser.add_argument("model", type=Path, help="trained .npz model, e.g. models/lenet.npz")
    parser.add_argument(
        "--out", type=Path, default=Path("models/lenet_top_patches.npz"), help="output file"
    )
    parser.add_argument("--split", choices=tuple(mnist.SPLITS), default="test")
    parser.add_argument("--k", type=int, default=DEFAULT_K, help="patches per channel")
    parser.add_argument("--data-dir", type=Path, default=None, help="MNIST IDX folder")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    if not 1 <= args.k <= 64:
        print(f"error: --k {args.k} must be 1-64", file=sys.stderr)
        return 1
    start = time.perf_counter()
    try:
        tops, meta = build(args.model, args.split, args.k, args.data_dir)
    except (ModelFileError, mnist.DataError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    save_top_patches(args.out, tops, meta)
    seconds = time.perf_counter() - start
    print(f"{args.out}: {args.out.stat().st_size} bytes, {meta['images']} images, {seconds:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
