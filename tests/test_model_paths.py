"""The shipped model is found wherever convlens is installed, by the one rule of app/model_paths.

A wheel (`pip install .`, what systemd/install.sh does) puts ``app/`` and ``training/`` in
site-packages, where no ``models/`` folder exists; the checkout's path only exists in a
clone. These tests run the app from such a copy, away from the checkout, in a
subprocess, so a path that only resolves inside the repository fails them.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from app import model_paths
from app.errors import ModelError
from app.model_paths import MODELS_ENV, SHIPPED_MODEL

REPO = Path(__file__).resolve().parents[1]
SHIPPED = (
    "lenet_float32.tflite",
    "lenet_int8.tflite",
    "lenet.npz",
    "lenet_metrics.json",
    "lenet_top_patches.npz",
)


@pytest.fixture
def installed_copy(tmp_path: Path) -> Path:
    """``app/`` and ``training/`` copied into tmp/site-packages, as a wheel install lays them."""
    site = tmp_path / "site-packages"
    ignore = shutil.ignore_patterns("__pycache__")
    shutil.copytree(REPO / "app", site / "app", ignore=ignore)
    shutil.copytree(REPO / "training", site / "training", ignore=ignore)
    return site


@pytest.fixture
def digit_photo(tmp_path: Path) -> Path:
    """A photo of a bundled demo digit (a 7) as the camera would see it on paper."""
    from app.sources.demo import load_demo_digits, render_digit_scene

    images, labels = load_demo_digits()
    index = int(np.flatnonzero(labels == 7)[0])
    frame = render_digit_scene(images[index], size=(320, 240), rng=np.random.default_rng(3))
    path = tmp_path / "seven.png"
    cv2.imwrite(str(path), frame)
    return path


def classify(site: Path, photo: Path, cwd: Path, **env: str) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if k != MODELS_ENV}
    return subprocess.run(
        [sys.executable, "-m", "app", "classify", "--json", str(photo)],
        cwd=cwd,
        env={**clean, "PYTHONPATH": str(site), **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_installed_copy_reads_the_models_dir_the_service_sets(
    tmp_path, installed_copy, digit_photo
):
    """The unit sets CONVLENS_MODELS_DIR=/opt/convlens/models; the app must look there."""
    models = tmp_path / "opt-models"
    models.mkdir()
    for name in SHIPPED:
        shutil.copy2(REPO / "models" / name, models / name)
    result = classify(installed_copy, digit_photo, tmp_path, **{MODELS_ENV: str(models)})
    assert result.returncode == 0, result.stderr
    assert '"digit": 7' in result.stdout


def test_installed_copy_without_models_names_the_rule(tmp_path, installed_copy, digit_photo):
    """No models anywhere: one line that says where it looked and how to point it there,
    exit 78 (a setting to fix, as for any model classify cannot load)."""
    result = classify(installed_copy, digit_photo, tmp_path)
    assert result.returncode == 78
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert MODELS_ENV in lines[0] and "[model] path" in lines[0]


def test_target_install_finds_the_models_beside_app(tmp_path, installed_copy, digit_photo):
    """``pip install --target DIR .`` puts the data files in DIR/share/convlens/models, but
    its RECORD lists them relative to a temporary site-packages, so they point elsewhere:
    classify, run from another folder with DIR on PYTHONPATH, still finds them."""
    data = installed_copy / model_paths.WHEEL_DATA_DIR
    data.mkdir(parents=True)
    for name in SHIPPED:
        shutil.copy2(REPO / "models" / name, data / name)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    result = classify(installed_copy, digit_photo, elsewhere)
    assert result.returncode == 0, result.stderr
    assert '"digit": 7' in result.stdout


def test_checkout_and_editable_install_use_the_repository_models(monkeypatch):
    monkeypatch.delenv(MODELS_ENV, raising=False)
    assert model_paths.shipped_model() == REPO / "models" / SHIPPED_MODEL


def test_environment_wins_over_the_checkout(monkeypatch, tmp_path):
    monkeypatch.setenv(MODELS_ENV, str(tmp_path))
    assert model_paths.shipped_model() == tmp_path / SHIPPED_MODEL


def test_wheel_data_files_are_found_through_the_distribution_record(monkeypatch, tmp_path):
    """A wheel installs the models as data files (pyproject's data-files) under
    <prefix>/share/convlens/models and lists them, relative to site-packages, in the
    dist-info RECORD (PEP 376/627); the lookup follows that list, so any install scheme
    (venv, --user, --prefix) works."""
    site = tmp_path / "lib" / "python3" / "site-packages"
    dist_info = site / "convlens-0.1.0.dist-info"
    dist_info.mkdir(parents=True)
    (dist_info / "METADATA").write_text("Metadata-Version: 2.1\nName: convlens\nVersion: 0.1.0\n")
    data = tmp_path / "share" / "convlens" / "models"
    data.mkdir(parents=True)
    (data / SHIPPED_MODEL).write_bytes(b"model")
    (dist_info / "RECORD").write_text(
        f"../../../share/convlens/models/{SHIPPED_MODEL},,\nconvlens-0.1.0.dist-info/RECORD,,\n"
    )
    monkeypatch.delenv(MODELS_ENV, raising=False)
    monkeypatch.setattr(model_paths, "_checkout_models", lambda: None)
    monkeypatch.setattr(sys, "path", [str(site), *sys.path])
    assert model_paths.shipped_model().resolve() == (data / SHIPPED_MODEL).resolve()


def test_pyproject_ships_every_model_as_wheel_data():
    import tomllib

    config = tomllib.loads((REPO / "pyproject.toml").read_text())
    files = config["tool"]["setuptools"]["data-files"][model_paths.WHEEL_DATA_DIR]
    assert sorted(Path(f).name for f in files) == sorted(SHIPPED)
    assert all((REPO / f).is_file() for f in files)


def test_nothing_found_is_a_model_error(monkeypatch):
    monkeypatch.delenv(MODELS_ENV, raising=False)
    monkeypatch.setattr(model_paths, "_checkout_models", lambda: None)
    monkeypatch.setattr(model_paths, "_wheel_models", lambda: None)
    monkeypatch.setattr(model_paths, "_data_dir_models", lambda: None)
    with pytest.raises(ModelError, match=MODELS_ENV):
        model_paths.shipped_model()
