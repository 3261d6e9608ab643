"""Where the shipped models are: one rule for a clone, an editable install, a wheel, the service.

The rule (README "Runtime on the device"), first match wins:

1. ``$CONVLENS_MODELS_DIR``, when set: the systemd unit sets it to ``/opt/convlens/models``,
   where ``systemd/install.sh`` copies the models. A set variable is never second-guessed:
   a missing file there is an error, not a silent fallback.
2. ``models/`` of the source tree ``app`` is imported from, when that tree is a convlens
   checkout (it has ``pyproject.toml``): a clone, or ``pip install -e`` (``make``'s venv).
3. ``share/convlens/models`` installed with the ``convlens`` distribution: a wheel
   (``pip install .``) carries the models as data files (pyproject's ``data-files``);
   they are found through the distribution's file list, so any install prefix works;
   failing that (``pip install --target DIR``, whose file list points outside DIR, or an
   install with no usable file list), ``share/convlens/models`` beside ``app/`` and under
   the running interpreter's prefix.

An explicit ``[model] path`` in the config (or ``--model``) bypasses the rule.
"""

from __future__ import annotations

import importlib.metadata
import os
import sysconfig
from pathlib import Path

from app.errors import ModelError

MODELS_ENV = "CONVLENS_MODELS_DIR"
#: The model the digit stage and ``convlens classify`` use when ``[model] path`` is empty.
SHIPPED_MODEL = "lenet_float32.tflite"
#: Where a wheel installs the models, relative to the install prefix (pyproject data-files).
WHEEL_DATA_DIR = "share/convlens/models"
DISTRIBUTION = "convlens"

_SOURCE_TREE = Path(__file__).resolve().parents[1]


def _checkout_models() -> Path | None:
    """``models/`` of the checkout ``app`` runs from, or None outside a checkout."""
    if (_SOURCE_TREE / "pyproject.toml").is_file() and (_SOURCE_TREE / "models").is_dir():
        return _SOURCE_TREE / "models"
    return None


def _wheel_models() -> Path | None:
    """The folder holding the installed distribution's shipped model, or None."""
    try:
        dist = importlib.metadata.distribution(DISTRIBUTION)
    except importlib.metadata.PackageNotFoundError:
        return None
    for entry in dist.files or ():
        if entry.name == SHIPPED_MODEL and entry.as_posix().endswith(
            f"{WHEEL_DATA_DIR}/{SHIPPED_MODEL}"
        ):
            path = Path(str(dist.locate_file(entry))).resolve()
            if path.is_file():
                return path.parent
    return None


def _data_dir_models() -> Path | None:
    """``share/convlens/models`` beside ``app/`` (pip's ``--target``) or under the
    interpreter's data prefix, when it holds the shipped model; else None."""
    for root in (_SOURCE_TREE, Path(sysconfig.get_path("data"))):
        folder = root / WHEEL_DATA_DIR
        if (folder / SHIPPED_MODEL).is_file():
            return folder
    return None


def models_dir() -> Path:
    """The folder the shipped models are read from (see the module docstring).

    Raises:
        ModelError: no rule matched; the message names the variable and the config key.
    """
    configured = os.environ.get(MODELS_ENV, "").strip()
    if configured:
        return Path(configured)
    for find in (_checkout_models, _wheel_models, _data_dir_models):
        found = find()
        if found is not None:
            return found
    raise ModelError(
        f"no shipped model found: {MODELS_ENV} is not set, convlens does not run from a "
        f"checkout, and the installed package has no {WHEEL_DATA_DIR}/{SHIPPED_MODEL}; "
        f"set {MODELS_ENV} to the folder holding {SHIPPED_MODEL}, or [model] path in the config"
    )


def shipped_model() -> Path:
    """The default classifier file: ``models_dir() / SHIPPED_MODEL`` (it may not exist)."""
    return models_dir() / SHIPPED_MODEL
