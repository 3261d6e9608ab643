"""Save and load a trained network: ``lenet.npz`` holds the weights and the spec."""

from __future__ import annotations

import json
import zipfile
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


def load_model(path: Path) -> tuple[Spec, Params, dict[str, Any]]:
    """Read a model written by ``save_model``; check every parameter's shape.

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
    try:
        with np.load(path, allow_pickle=False) as data:
            spec = json.loads(str(data["spec_json"]))
            metrics = json.loads(str(data["metrics_json"])) if "metrics_json" in data else {}
            params = {k: data[k].astype(np.float32) for k in data.files if "/" in k}
    except (OSError, ValueError, KeyError, zipfile.BadZipFile, EOFError) as exc:
        raise ModelFileError(
            f"model file {path} is truncated or not a convlens .npz model ({exc})"
        ) from exc
    try:
        expected = param_shapes(spec)
    except (KeyError, TypeError, ValueError) as exc:
        raise ModelFileError(f"model file {path} has an invalid spec ({exc})") from exc
    for key, shape in expected.items():
        if key not in params:
            raise ModelFileError(f"model file {path} lacks parameter {key}")
        if params[key].shape != shape:
            raise ModelFileError(
                f"model file {path}: {key} has shape {params[key].shape}, expected {shape}"
            )
    return spec, params, metrics
