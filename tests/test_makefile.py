"""The Makefile's venv on a Raspberry Pi: system site-packages and the Pi's pins when the
system Python has apt's picamera2, else one line saying why `make run` shows the demo.

`make -n` prints the recipe without running it; a stand-in PYTHON answers the one
question the Makefile asks the system Python (is picamera2 importable?).
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.skipif(shutil.which("make") is None, reason="make not installed")


def without_outer_make() -> dict[str, str]:
    """This environment less what an outer make (``make test ARGS=...``) hands down in
    MAKEFLAGS; ARGS itself, which make also exports, is set empty on the command line."""
    outer = ("MAKEFLAGS", "MFLAGS", "MAKELEVEL", "MAKEOVERRIDES")
    return {k: v for k, v in os.environ.items() if k not in outer}


def plan(tmp_path: Path, *, picamera2: bool, pi: bool, codename: str = "bookworm") -> str:
    python = tmp_path / "python3"
    # find_spec("picamera2") is None -> exit 1, as the real question does.
    python.write_text(f"#!/bin/sh\nexit {0 if picamera2 else 1}\n")
    python.chmod(0o755)
    model = tmp_path / "model"
    model.write_text("Raspberry Pi 4 Model B Rev 1.5\0" if pi else "QEMU Virtual Machine\0")
    os_release = tmp_path / "os-release"
    os_release.write_text(f"ID=debian\nVERSION_CODENAME={codename}\n")
    result = subprocess.run(
        [
            "make", "-n", "-C", str(REPO), "run",
            f"PYTHON={python}", f"VENV={tmp_path / 'venv'}",
            f"PI_MODEL_FILE={model}", f"OS_RELEASE={os_release}", "ARGS=",
        ],
        capture_output=True, text=True, timeout=60, env=without_outer_make(),
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    # Words as the shell sees them (an empty variable leaves a double space).
    return "\n".join(" ".join(line.split()) for line in result.stdout.splitlines())


@pytest.mark.parametrize("codename", ["bookworm", "trixie"])
def test_with_apt_picamera2_the_venv_sees_system_packages_and_keeps_the_pins(tmp_path, codename):
    out = plan(tmp_path, picamera2=True, pi=True, codename=codename)
    assert f"-m venv --clear --system-site-packages {tmp_path / 'venv'}" in out
    assert f"--constraint systemd/requirements-{codename}.txt" in out
    assert "no camera" not in out


def test_a_pi_without_picamera2_says_why_it_shows_the_demo(tmp_path):
    out = plan(tmp_path, picamera2=False, pi=True)
    assert "--system-site-packages" not in out and "--constraint" not in out
    lines = [line for line in out.splitlines() if "python3-picamera2 is not installed" in line]
    assert len(lines) == 1 and "demo scene" in lines[0]


def test_a_laptop_gets_a_self_contained_venv_and_no_note(tmp_path):
    out = plan(tmp_path, picamera2=False, pi=False)
    assert f"-m venv --clear {tmp_path / 'venv'}" in out
    assert "picamera2" not in out
