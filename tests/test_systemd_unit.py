"""The unit file: systemd-analyze verify is clean and the security exposure is at most 2.5.

``systemd-analyze verify`` also checks that ExecStart names an executable file. The
real one (/opt/convlens/venv/bin/convlens) only exists after install.sh ran on a Pi,
so verify runs with ``--root=`` a staging directory laid out like the installed
system: systemd's own units (copied from this machine, so dependencies such as
multi-user.target resolve), our unit byte for byte where install.sh puts it, and an
executable placeholder at the ExecStart path. Nothing in the checked unit is
rewritten; the placeholder only stands for the console script that pip creates,
which tests/test_installer.py covers.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
UNIT = REPO / "systemd" / "convlens.service"
MAX_EXPOSURE = 2.5

SYSTEMD_ANALYZE = shutil.which("systemd-analyze")
needs_analyze = pytest.mark.skipif(
    SYSTEMD_ANALYZE is None,
    reason="systemd-analyze not found: apt-get install systemd (CI's .ci/run does)",
)


def unit_settings(path: Path) -> dict[str, list[str]]:
    """Key -> values (in order) of every ``Key=value`` line, across sections."""
    settings: dict[str, list[str]] = {}
    for raw in path.read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith(("#", ";", "[")):
            continue
        key, _, value = line.partition("=")
        settings.setdefault(key.strip(), []).append(value.strip())
    return settings


def analyze(*args: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, SYSTEMD_COLORS="0", SYSTEMD_PAGER="", LC_ALL="C.UTF-8")
    return subprocess.run(
        [SYSTEMD_ANALYZE, *args], capture_output=True, text=True, env=env, timeout=60
    )


def system_unit_dir() -> Path:
    for candidate in ("/usr/lib/systemd/system", "/lib/systemd/system"):
        if Path(candidate, "multi-user.target").exists():
            return Path(candidate)
    pytest.skip("systemd's own unit files are not installed (apt-get install systemd)")


@pytest.fixture
def staged_root(tmp_path: Path) -> Path:
    root = tmp_path / "root"
    shutil.copytree(system_unit_dir(), root / "usr/lib/systemd/system", symlinks=True)
    (root / "etc/systemd/system").mkdir(parents=True)
    shutil.copyfile(UNIT, root / "etc/systemd/system/convlens.service")
    settings = unit_settings(UNIT)
    for key in ("ExecStart", "ExecStartPre", "ExecStopPost"):
        for line in settings.get(key, []):
            # The program after systemd's prefixes ("-+": ignore failure, run as root).
            exec_path = line.split()[0].lstrip("-+@:!")
            placeholder = root / exec_path.lstrip("/")
            placeholder.parent.mkdir(parents=True, exist_ok=True)
            placeholder.write_text("#!/bin/sh\n# stands for what pip installs\nexit 0\n")
            placeholder.chmod(0o755)
    return root


def test_settings_the_program_and_installer_rely_on():
    s = unit_settings(UNIT)
    assert s["Type"] == ["notify"]
    assert s["NotifyAccess"] == ["main"]
    assert s["WatchdogSec"] == ["10s"]
    assert s["Restart"] == ["on-failure"]
    # app/errors.py: ConfigError exits 78 (EX_CONFIG); restarting cannot fix a config.
    assert s["RestartPreventExitStatus"] == ["78"]
    assert s["ExecStart"] == [
        "/opt/convlens/venv/bin/convlens run --config /etc/convlens/config.toml"
    ]
    assert s["User"] == ["convlens"]
    assert s["SupplementaryGroups"] == ["video render input"]
    assert s["StateDirectory"] == ["convlens convlens/snapshots"]
    # The config's relative snapshot directory lands in the writable state directory.
    assert s["WorkingDirectory"] == ["/var/lib/convlens"]
    # app/model_paths.py reads it: the shipped models are where install.sh put them.
    assert "CONVLENS_MODELS_DIR=/opt/convlens/models" in s["Environment"]
    # The service may write its HOME; a user site-packages there must not be imported.
    assert "PYTHONNOUSERSITE=1" in " ".join(s["Environment"]).split()
    assert s["TimeoutStopSec"] == ["5"]
    assert s["DevicePolicy"] == ["closed"]
    assert s["CapabilityBoundingSet"] == [""]
    assert s["WantedBy"] == ["multi-user.target"]


def test_device_classes_cover_camera_screen_and_input():
    allowed = {v.split()[0] for v in unit_settings(UNIT)["DeviceAllow"]}
    # video4linux and drm by their fixed majors (81, 226): resolved without the driver,
    # which udev may load after the service starts; install.sh loads mc (media) early.
    assert {
        "char-81",
        "char-media",
        "char-dma_heap",
        "char-226",
        "char-fb",
        "char-input",
    } <= allowed


@needs_analyze
def test_verify_is_clean(staged_root: Path):
    result = analyze("verify", f"--root={staged_root}", "convlens.service")
    assert result.returncode == 0, result.stderr
    # verify exits 0 on unknown keys and bad values too: any output is a finding.
    assert result.stderr.strip() == ""
    assert result.stdout.strip() == ""


@needs_analyze
def test_verify_catches_a_broken_unit(staged_root: Path):
    """The check above can fail: an unknown key and a missing binary are reported."""
    unit = staged_root / "etc/systemd/system/convlens.service"
    unit.write_text(UNIT.read_text().replace("UMask=0077", "UMask=0077\nNoSuchKey=1"))
    (staged_root / "opt/convlens/venv/bin/convlens").unlink()
    result = analyze("verify", f"--root={staged_root}", "convlens.service")
    assert "Unknown key" in result.stderr
    assert "/opt/convlens/venv/bin/convlens" in result.stderr


def exposure(unit: Path) -> float:
    result = analyze("security", "--offline=true", str(unit))
    match = re.search(r"Overall exposure level for \S+: (\d+(?:\.\d+)?)", result.stdout)
    assert match, f"no exposure line in:\n{result.stdout}\n{result.stderr}"
    return float(match.group(1))


@needs_analyze
def test_security_exposure_is_at_most_2_5():
    score = exposure(UNIT)
    print(f"systemd-analyze security exposure: {score}")
    assert score <= MAX_EXPOSURE


@needs_analyze
def test_exposure_score_reacts_to_hardening(tmp_path: Path):
    """The parsed score is the real one: dropping the sandbox raises it above the limit."""
    loose = tmp_path / "convlens.service"
    kept = [
        line
        for line in UNIT.read_text().splitlines()
        if line.startswith(("[", "Description", "Type", "ExecStart", "User", "WantedBy"))
    ]
    loose.write_text("\n".join(kept) + "\n")
    assert exposure(loose) > MAX_EXPOSURE
