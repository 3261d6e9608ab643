"""What is known about the shipped network without running it, read once at start-up.

From the model's folder: ``lenet.npz`` (the spec and the weights), ``lenet_metrics.json``
(the training run's test figures) and ``lenet_top_patches.npz`` (the MNIST patches that
excite each conv channel most, from ``training.top_patches``). Shapes, parameter counts
and receptive fields are computed from the spec, never written down. Whatever cannot
be read is one line in ``NetworkResult.problems``; the views show the rest.
"""

from __future__ import annotations

import hashlib
import json
import logging
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

from app.errors import ConfigError
from app.frame import Frame
from app.stages.base import Stage
from app.stages.network_results import NetworkResult, TopPatches
from app.stages.results import FrameResults
from app.state import ViewState
from training.model_io import ModelFileError, load_model
from training.receptive_field import receptive_fields
from training.spec import layer_shapes, param_counts

log = logging.getLogger(__name__)

MODEL_NAME = "lenet.npz"
METRICS_NAME = "lenet_metrics.json"
TOP_PATCHES_NAME = "lenet_top_patches.npz"
#: The metrics the views read; the training history stays in the file.
METRIC_KEYS = ("test_accuracy", "test_errors", "test_n", "val_accuracy", "train_n")
#: Far more than the real files (17 kB, 30 kB); anything bigger is not ours.
MAX_SIDE_FILE_BYTES = 4 * 1024 * 1024
#: Conv layers whose weights the views draw (and whose top patches are shipped); every
#: dense layer's weights and biases are read too (the feedforward mode runs them).
WEIGHT_LAYERS = ("conv1", "conv2")


def read_metrics(path: Path) -> dict[str, Any]:
    """The scalar test/validation figures of ``lenet_metrics.json``.

    Raises:
        ValueError: one line naming the file and what is wrong.
    """
    if not path.is_file():
        raise ValueError(f"{path.name} not found next to the model")
    if path.stat().st_size > MAX_SIDE_FILE_BYTES:
        raise ValueError(f"{path.name} is over {MAX_SIDE_FILE_BYTES} bytes")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"{path.name} is not readable JSON ({exc})") from exc
    if not isinstance(data, dict):
        raise ValueError(f"{path.name}: expected a JSON object")
    found = {k: data[k] for k in METRIC_KEYS if isinstance(data.get(k), (int, float))}
    if "test_accuracy" not in found:
        raise ValueError(f"{path.name} has no numeric test_accuracy")
    return found


def read_top_patches(
    path: Path, fields: dict[str, tuple[int, int, int]], model_sha256: str
) -> dict[str, TopPatches]:
    """The top patches of each conv layer, checked against the model's fields and digest.

    Raises:
        ValueError: one line naming the file and what is wrong.
    """
    if not path.is_file():
        raise ValueError(f"{path.name} not found; run python -m training.top_patches")
    if path.stat().st_size > MAX_SIDE_FILE_BYTES:
        raise ValueError(f"{path.name} is over {MAX_SIDE_FILE_BYTES} bytes")
    try:
        # The zip directory says how big the entries inflate to: refuse a bomb unread.
        with zipfile.ZipFile(path) as archive:
            inflated = sum(info.file_size for info in archive.infolist())
        if inflated > MAX_SIDE_FILE_BYTES:
            raise ValueError(f"entries inflate to {inflated} bytes")
        data = np.load(path, allow_pickle=False)
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as exc:
        raise ValueError(f"{path.name} is not a top-patches file ({exc})") from exc
    if not isinstance(data, np.lib.npyio.NpzFile):
        raise ValueError(f"{path.name} is not a top-patches file (one array, not an .npz)")
    with data:
        try:
            return _top_from(data, path.name, fields, model_sha256)
        except (KeyError, OSError, zipfile.BadZipFile, json.JSONDecodeError) as exc:
            raise ValueError(f"{path.name} is not a top-patches file ({exc})") from exc


def _top_from(
    data: Any, name: str, fields: dict[str, tuple[int, int, int]], model_sha256: str
) -> dict[str, TopPatches]:
    meta = json.loads(str(data["meta_json"]))
    if not isinstance(meta, dict) or meta.get("model_sha256") != model_sha256:
        raise ValueError(f"{name} was made for another {MODEL_NAME}; run it again")
    top = {}
    for layer in WEIGHT_LAYERS:
        patches, values = data[f"{layer}/patches"], data[f"{layer}/values"]
        size = fields[layer][0]
        ok = patches.dtype == np.uint8 and patches.ndim == 4
        ok = ok and patches.shape[2:] == (size, size) and values.shape == patches.shape[:2]
        if not ok:
            raise ValueError(
                f"{name}: {layer} patches {patches.shape} {patches.dtype}, "
                f"expected (C, k, {size}, {size}) uint8"
            )
        top[layer] = TopPatches(patches=patches, values=values.astype(np.float32))
    return top


def read_network(folder: Path) -> NetworkResult:
    """Everything the views show about the network in ``folder`` (never raises)."""
    model = folder / MODEL_NAME
    try:
        spec, params, npz_metrics = load_model(model)
    except ModelFileError as exc:
        return NetworkResult(spec=None, problems=(str(exc),))
    problems = []
    fields = {name: (f.size, f.jump, f.start) for name, f in receptive_fields(spec["layers"])}
    try:
        metrics = read_metrics(folder / METRICS_NAME)
    except ValueError as exc:
        problems.append(str(exc))
        metrics = {k: npz_metrics[k] for k in METRIC_KEYS if k in npz_metrics}
    top: dict[str, TopPatches] = {}
    try:
        digest = hashlib.sha256(model.read_bytes()).hexdigest()
        top = read_top_patches(folder / TOP_PATCHES_NAME, fields, digest)
    except (OSError, ValueError) as exc:
        problems.append(str(exc))
    for problem in problems:
        log.warning("network: %s", problem)
    dense = [layer["name"] for layer in spec["layers"] if layer["type"] == "dense"]
    weights = {n: params[f"{n}/w"] for n in (*WEIGHT_LAYERS, *dense) if f"{n}/w" in params}
    biases = {n: params[f"{n}/b"] for n in dense if f"{n}/b" in params}
    return NetworkResult(
        spec=spec,
        shapes=tuple(layer_shapes(spec)),
        params=tuple(param_counts(spec).items()),
        fields=tuple(fields.items()),
        weights=weights,
        biases=biases,
        metrics=metrics,
        top=top,
        problems=tuple(problems),
    )


class NetworkStage(Stage):
    """Hands the network's description (read once) to every frame that needs it.

    Args:
        folder: where ``lenet.npz`` and its side files are (the classifier's folder), or
            the reason there is none (then every frame says so).
    """

    name = "network"

    def __init__(self, folder: Path | str) -> None:
        self.folder = folder
        self._result: NetworkResult | None = None

    def configure(self, params: Any) -> None:
        if params:
            raise ConfigError(
                f"stage network: unknown parameter(s) {', '.join(sorted(params))}; it takes none"
            )
        self._result = self._read()

    def _read(self) -> NetworkResult:
        if isinstance(self.folder, str):
            return NetworkResult(spec=None, problems=(self.folder,))
        return read_network(Path(self.folder))

    def process(self, frame: Frame, state: ViewState, results: FrameResults) -> None:
        if self._result is None:
            self._result = self._read()
        results.network = self._result
