"""Save and load a trained network: ``lenet.npz`` holds the weights and the spec."""

from __future__ import annotations

import json
import zipfile
import zlib
from pathlib import Path
from typing import Any

import numpy as np

from training.network import Params
from training.spec import Spec, param_shapes


class ModelFileError(Exception):
    """A model file that is missing, truncated or not a convlens network."""


def save_model(
    path: Path, spec: Spec, params: Params, metrics: dict[str, Any] | None = None
) -> None:
    """Write ``params`` (keys ``"<layer>/w"``), the spec and metrics as JSON to an .npz.

    Written to a temporary file and renamed, so a crash never leaves half a model.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    arrays = {k: np.asarray(v, dtype=np.float32) for k, v in params.items()}
    arrays["spec_json"] = np.array(json.dumps(spec))
    arrays["metrics_json"] = np.array(json.dumps(metrics or {}))
    with open(tmp, "wb") as f:
        np.savez_compressed(f, **arrays)
    tmp.replace(path)


#: A model file larger than this is not a LeNet (lenet.npz is about 240 KB).
MAX_FILE_BYTES = 64 * 1024 * 1024
#: Decompressed bytes one entry may declare; checked before anything is inflated.
MAX_ENTRY_BYTES = 64 * 1024 * 1024
#: The JSON entries (spec, metrics) are small; nesting beyond this is not a spec.
MAX_JSON_BYTES = 256 * 1024
MAX_JSON_DEPTH = 8
_LAYER_FIELDS = {
    "conv": {"filters": (1, 1024), "kernel": (1, 64), "stride": (1, 64), "padding": (0, 64)},
    "pool": {"size": (1, 64), "stride": (1, 64)},
    "flatten": {},
    "dense": {"units": (1, 65536)},
}
_CHOICES = {"activation": ("relu", "tanh", "sigmoid", "none"), "mode": ("max", "avg")}


def load_model(path: Path) -> tuple[Spec, Params, dict[str, Any]]:
    """Read a model written by ``save_model``, trusting nothing in the file.

    Only the entries a model has are read (the parameters its spec names, the spec,
    the metrics); each entry's declared size, shape and dtype are checked from the zip
    directory and the .npy header before anything is inflated or allocated; the spec
    is checked field by field; NaN or infinite weights are refused.

    Returns:
        spec, params (float32 arrays), metrics.
    Raises:
        ModelFileError: one line naming the file and what is wrong.
    """
    path = Path(path)
    if not path.is_file():
        raise ModelFileError(
            f"model file {path} does not exist; train one with `python -m training.train`"
        )
    if path.stat().st_size > MAX_FILE_BYTES:
        raise ModelFileError(f"model file {path} is over {MAX_FILE_BYTES} bytes; not a LeNet")
    try:
        with zipfile.ZipFile(path) as archive:
            return _read_archive(archive, path)
    except (OSError, zipfile.BadZipFile, EOFError, zlib.error) as exc:
        raise ModelFileError(
            f"model file {path} is truncated or not a convlens .npz model ({exc})"
        ) from exc


def _read_archive(archive: zipfile.ZipFile, path: Path) -> tuple[Spec, Params, dict[str, Any]]:
    entries = {info.filename.removesuffix(".npy"): info for info in archive.infolist()}
    if "spec_json" not in entries:
        raise ModelFileError(f"model file {path} has no spec_json; not a convlens .npz model")
    spec = _read_json(archive, entries["spec_json"], path)
    _check_spec(spec, path)
    metrics = (
        _read_json(archive, entries["metrics_json"], path) if "metrics_json" in entries else {}
    )
    expected = param_shapes(spec)
    unexpected = sorted(set(entries) - set(expected) - {"spec_json", "metrics_json"})
    if unexpected:
        raise ModelFileError(f"model file {path} has unexpected entries {unexpected[:5]}")
    params = {}
    for key, shape in expected.items():
        if key not in entries:
            raise ModelFileError(f"model file {path} lacks parameter {key}")
        array = _read_npy(archive, entries[key], path, expect_shape=shape)
        if not np.isfinite(array).all():
            raise ModelFileError(f"model file {path}: {key} holds NaN or infinite weights")
        params[key] = array
    return spec, params, metrics


def _read_npy(
    archive: zipfile.ZipFile,
    info: zipfile.ZipInfo,
    path: Path,
    expect_shape: tuple[int, ...] | None = None,
) -> np.ndarray:
    """One .npy entry, its header checked before its data is read: (shape) float32, or
    a () unicode string when ``expect_shape`` is None."""
    name = info.filename
    if info.file_size > MAX_ENTRY_BYTES:
        raise ModelFileError(f"model file {path}: {name} declares {info.file_size} bytes")
    with archive.open(info) as f:
        try:
            version = np.lib.format.read_magic(f)
            reader = {(1, 0): np.lib.format.read_array_header_1_0}.get(
                version, np.lib.format.read_array_header_2_0
            )
            shape, fortran, dtype = reader(f)
        except ValueError as exc:
            raise ModelFileError(f"model file {path}: {name} is not a .npy array ({exc})") from exc
        entry = name.removesuffix(".npy")
        if expect_shape is None:
            if shape != () or dtype.kind != "U" or dtype.itemsize > MAX_JSON_BYTES:
                raise ModelFileError(f"model file {path}: {entry} is not a short JSON string")
        elif shape != expect_shape:
            raise ModelFileError(
                f"model file {path}: {entry} has shape {shape}, expected {expect_shape}"
            )
        elif dtype not in (np.dtype("<f4"), np.dtype("<f8")) or fortran:
            raise ModelFileError(f"model file {path}: {entry} is {dtype}, expected float32")
        size = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
        data = f.read(size)
    if len(data) != size:
        raise ModelFileError(f"model file {path} is truncated: {name} ends early")
    array = np.frombuffer(data, dtype).reshape(shape)
    return array if expect_shape is None else array.astype(np.float32)


def _read_json(archive: zipfile.ZipFile, info: zipfile.ZipInfo, path: Path) -> Any:
    name = info.filename.removesuffix(".npy")
    text = str(_read_npy(archive, info, path)[()])
    depth = max_depth = 0
    for char in text:  # brackets inside strings count too: a spec has no such strings
        depth += (char in "[{") - (char in "]}")
        max_depth = max(max_depth, depth)
    if max_depth > MAX_JSON_DEPTH:
        raise ModelFileError(f"model file {path}: {name} nests {max_depth} deep; not a spec")
    try:
        value = json.loads(text)
    except ValueError as exc:
        raise ModelFileError(f"model file {path}: {name} is not valid JSON ({exc})") from exc
    if not isinstance(value, dict):
        raise ModelFileError(f"model file {path}: {name} is not a JSON object")
    return value


def _check_spec(spec: dict[str, Any], path: Path) -> None:
    """Every field ``training.network`` reads, of the right type and within bounds."""

    def fail(what: str) -> ModelFileError:
        return ModelFileError(f"model file {path} has an invalid spec: {what}")

    shape = spec.get("input_shape")
    if not (
        isinstance(shape, list) and len(shape) == 3 and all(_int_in(d, 1, 4096) for d in shape)
    ):
        raise fail(f"input_shape {shape!r:.60}, expected [height, width, channels]")
    if not _int_in(spec.get("num_classes"), 1, 1000):
        raise fail("num_classes must be an integer 1..1000")
    scale = spec.get("input_scale")
    if not isinstance(scale, (int, float)) or not 0 < scale < 1e6:
        raise fail("input_scale must be a positive number")
    layers = spec.get("layers")
    if not isinstance(layers, list) or not 0 < len(layers) <= 64:
        raise fail("layers must be a list of 1..64 layers")
    for i, layer in enumerate(layers):
        kind = layer.get("type") if isinstance(layer, dict) else None
        if kind not in _LAYER_FIELDS or not isinstance(layer.get("name"), str):
            raise fail(f"layer {i} has no name or an unknown type {kind!r:.30}")
        for key, (low, high) in _LAYER_FIELDS[kind].items():
            if not _int_in(layer.get(key), low, high):
                raise fail(f"layer {layer['name']!r:.30} {key} must be an integer {low}..{high}")
        key = {"conv": "activation", "dense": "activation", "pool": "mode"}.get(kind)
        if key is not None and layer.get(key) not in _CHOICES[key]:
            raise fail(f"layer {layer['name']!r:.30} {key} must be one of {_CHOICES[key]}")
    try:
        param_shapes(spec)
    except (KeyError, TypeError, ValueError) as exc:
        raise fail(str(exc)) from exc


def _int_in(value: Any, low: int, high: int) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and low <= value <= high
