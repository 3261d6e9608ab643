"""The pinned Python packages resolve to real aarch64 wheels for Raspberry Pi OS.

Asks pip (``pip download --only-binary=:all:`` for cp311 / cp313 on manylinux
aarch64 up to each release's glibc) whether ``systemd/requirements-<release>.txt``
installs from wheels alone, the way install.sh runs it on a Pi. numpy is constrained
to the version apt ships (the venv sees apt's numpy, so pip must resolve against it).
This needs the package registry, so it runs only with CONVLENS_CHECK_PI_WHEELS=1
(CI sets it); ``pytest -s`` prints what resolved.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]

# release -> (Python version, glibc minor of the release, numpy version apt ships)
RELEASES = {
    "bookworm": ("3.11", 36, "1.24.2"),
    "trixie": ("3.13", 41, "2.2.4"),
}

pytestmark = [
    pytest.mark.network,
    pytest.mark.skipif(
        os.environ.get("CONVLENS_CHECK_PI_WHEELS") != "1",
        reason="asks the package registry; set CONVLENS_CHECK_PI_WHEELS=1 to run",
    ),
]


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def pinned(requirements: Path) -> dict[str, str]:
    """name -> version of every ``name==version`` line."""
    pins = {}
    for line in requirements.read_text().splitlines():
        match = re.match(r"^\s*([A-Za-z0-9_.-]+)\s*==\s*([^\s;#]+)", line)
        if match:
            pins[canonical(match.group(1))] = match.group(2)
    return pins


def wheel_versions(directory: Path) -> dict[str, str]:
    """name -> version of every wheel pip put in ``directory``; fails on an sdist."""
    versions = {}
    for path in directory.iterdir():
        assert path.suffix == ".whl", f"{path.name} is not a wheel"
        name, version = path.name.split("-")[:2]
        versions[canonical(name)] = version
    return versions


@pytest.mark.parametrize("release", sorted(RELEASES))
def test_requirements_resolve_to_aarch64_wheels(release, tmp_path):
    python, glibc_minor, apt_numpy = RELEASES[release]
    requirements = REPO / "systemd" / f"requirements-{release}.txt"
    constraints = tmp_path / "apt.txt"
    constraints.write_text(f"numpy=={apt_numpy}\n")
    platforms = ["manylinux2014_aarch64"] + [
        f"manylinux_2_{minor}_aarch64" for minor in range(17, glibc_minor + 1)
    ]
    abi = "cp" + python.replace(".", "")
    dest = tmp_path / "wheels"
    command = [
        sys.executable,
        "-m",
        "pip",
        "download",
        "--quiet",
        "--disable-pip-version-check",
        "--only-binary=:all:",
        *[arg for platform in platforms for arg in ("--platform", platform)],
        "--python-version",
        python,
        "--implementation",
        "cp",
        "--abi",
        abi,
        "--requirement",
        str(requirements),
        "--constraint",
        str(constraints),
        "--dest",
        str(dest),
    ]
    result = subprocess.run(command, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]

    resolved = wheel_versions(dest)
    print(f"\n{release} ({abi}, aarch64):")
    for name, version in sorted(resolved.items()):
        print(f"  {name}=={version}")

    # Every wheel pip chose is pinned (so every Pi gets the same set), at the pin.
    expected = pinned(requirements)
    expected["numpy"] = apt_numpy
    assert resolved == expected
