"""systemd/install.sh in a staging root: files land, a second run changes nothing, dry runs
change nothing, uninstall removes what install added.

Each test copies the installer into a small source tree in tmp_path (the real unit,
pins and config example; stand-in models) and runs it with ``--root`` and a fake
``/etc/os-release``. apt-get, useradd, usermod, userdel, dpkg-query, getent and
systemctl are stubs on PATH that record their calls, so a test sees exactly which
host commands ran: under ``--root`` none may. ``python3 -m venv`` is real (with
``--without-pip`` in a staging root, which the installer adds itself: pip never runs
there, and ensurepip would cost seconds).
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]

STUBS = {
    # Queries answer "not installed / no such user / not enabled"; everything logs.
    "apt-get": "exit 0",
    "useradd": "exit 0",
    "usermod": "exit 0",
    "userdel": "exit 0",
    "groupadd": "exit 0",
    "dpkg-query": "exit 1",
    # The userland's architecture: arm64 unless a test sets STUB_DPKG_ARCH.
    "dpkg": 'case "$1" in --print-architecture) echo "${STUB_DPKG_ARCH:-arm64}" ;; esac',
    # Every group exists but those a test lists in STUB_MISSING_GROUPS.
    "getent": (
        'case "$1" in group) case " ${STUB_MISSING_GROUPS:-} " in *" $2 "*) exit 2 ;; esac;'
        " exit 0 ;; *) exit 2 ;; esac"
    ),
    "systemctl": 'case "$1" in is-enabled|is-active) exit 1 ;; *) exit 0 ;; esac',
}


@pytest.fixture
def src(tmp_path: Path) -> Path:
    """A source tree with the real installer, unit, pins and config example."""
    tree = tmp_path / "src"
    (tree / "systemd").mkdir(parents=True)
    for name in (
        "install.sh",
        "convlens.service",
        "requirements-bookworm.txt",
        "requirements-trixie.txt",
    ):
        shutil.copy2(REPO / "systemd" / name, tree / "systemd" / name)
    example = REPO / "config.example.toml"
    if example.exists():
        shutil.copy2(example, tree / "config.example.toml")
    else:  # written by another module's author; a stand-in keeps this test independent
        (tree / "config.example.toml").write_text('[source]\nspec = "auto"\n')
    (tree / "models").mkdir()
    (tree / "models" / "lenet.npz").write_bytes(b"stand-in npz")
    (tree / "models" / "lenet.tflite").write_bytes(b"stand-in tflite")
    (tree / "models" / "notes.txt").write_text("not a model: must not be installed")
    (tree / "app").mkdir()
    (tree / "app" / "__init__.py").write_text('"""stand-in"""\n')
    (tree / "pyproject.toml").write_text('[project]\nname = "convlens"\nversion = "0"\n')
    (tree / "README.md").write_text("# convlens\n")
    return tree


@pytest.fixture
def stubs(tmp_path: Path) -> tuple[Path, Path]:
    """(directory of stub commands, file their calls are appended to)."""
    bin_dir = tmp_path / "stubs"
    bin_dir.mkdir()
    calls = tmp_path / "calls.log"
    calls.touch()
    for name, body in STUBS.items():
        script = bin_dir / name
        script.write_text(f'#!/bin/sh\necho "{name} $*" >> "{calls}"\n{body}\n')
        script.chmod(0o755)
    return bin_dir, calls


def make_root(tmp_path: Path, codename: str | None = "bookworm") -> Path:
    root = tmp_path / "root"
    (root / "etc").mkdir(parents=True)
    if codename is not None:
        (root / "etc" / "os-release").write_text(
            f'PRETTY_NAME="Raspberry Pi OS"\nID=debian\nVERSION_CODENAME={codename}\n'
        )
    return root


def install(
    src: Path, stubs: tuple[Path, Path], *args: str, **env_vars: str
) -> subprocess.CompletedProcess:
    # The interpreter behind this test's venv: a shim (pyenv) would add 0.2 s per call.
    env = dict(
        os.environ,
        PATH=f"{stubs[0]}{os.pathsep}{os.environ['PATH']}",
        PYTHON=os.path.realpath(sys.executable),
        **env_vars,
    )
    return subprocess.run(
        ["bash", str(src / "systemd" / "install.sh"), *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )


def tree_state(root: Path) -> dict[str, tuple[str, int, int]]:
    """path -> (sha256 or 'dir'/'link', mode, mtime_ns) of everything under root."""
    state = {}
    for path in sorted(root.rglob("*")):
        st = path.lstat()
        if path.is_symlink():
            kind = "link:" + os.readlink(path)
        elif path.is_dir():
            kind = "dir"
        else:
            kind = hashlib.sha256(path.read_bytes()).hexdigest()
        state[str(path.relative_to(root))] = (kind, st.st_mode, st.st_mtime_ns)
    return state


def test_staged_install_lays_down_every_file(tmp_path, src, stubs):
    root = make_root(tmp_path)
    result = install(src, stubs, "--root", str(root), "--no-apt")
    assert result.returncode == 0, result.stderr

    unit = root / "etc/systemd/system/convlens.service"
    assert unit.read_bytes() == (src / "systemd/convlens.service").read_bytes()
    assert oct(unit.stat().st_mode & 0o777) == "0o644"
    config = root / "etc/convlens/config.toml"
    assert config.read_bytes() == (src / "config.example.toml").read_bytes()
    models = root / "opt/convlens/models"
    assert sorted(p.name for p in models.iterdir()) == ["lenet.npz", "lenet.tflite"]
    assert (models / "lenet.tflite").read_bytes() == b"stand-in tflite"
    assert (root / "opt/convlens/README.md").read_text() == "# convlens\n"

    pyvenv = (root / "opt/convlens/venv/pyvenv.cfg").read_text()
    assert "include-system-site-packages = true" in pyvenv
    assert (root / "opt/convlens/venv/bin/python").exists()

    out = result.stdout
    assert "operating system: bookworm" in out
    assert "not run (staging root): useradd --system" in out
    assert "--groups video,render,input convlens" in out
    assert "requirements-bookworm.txt" in out
    assert "systemctl is not called" in out
    # Under --root no host command runs, queries included.
    assert stubs[1].read_text() == ""


def test_second_run_changes_nothing_and_says_so(tmp_path, src, stubs):
    root = make_root(tmp_path)
    first = install(src, stubs, "--root", str(root), "--no-apt")
    assert first.returncode == 0, first.stderr
    assert "done: " in first.stdout
    before = tree_state(root)

    second = install(src, stubs, "--root", str(root), "--no-apt")
    assert second.returncode == 0, second.stderr
    assert "nothing changed" in second.stdout
    assert "installed " not in second.stdout
    assert tree_state(root) == before


def test_changed_model_and_unit_are_updated(tmp_path, src, stubs):
    root = make_root(tmp_path)
    assert install(src, stubs, "--root", str(root), "--no-apt").returncode == 0
    (src / "models/lenet.tflite").write_bytes(b"retrained")
    result = install(src, stubs, "--root", str(root), "--no-apt")
    assert result.returncode == 0, result.stderr
    assert "updated /opt/convlens/models/lenet.tflite" in result.stdout
    assert "done: 1 change(s)" in result.stdout
    assert (root / "opt/convlens/models/lenet.tflite").read_bytes() == b"retrained"


def test_existing_config_is_never_overwritten(tmp_path, src, stubs):
    root = make_root(tmp_path)
    config = root / "etc/convlens/config.toml"
    config.parent.mkdir(parents=True)
    config.write_text('[web]\nhost = "0.0.0.0"\n')
    result = install(src, stubs, "--root", str(root), "--no-apt")
    assert result.returncode == 0, result.stderr
    assert "keeping /etc/convlens/config.toml" in result.stdout
    assert config.read_text() == '[web]\nhost = "0.0.0.0"\n'


def test_dry_run_in_staging_root_changes_nothing(tmp_path, src, stubs):
    root = make_root(tmp_path)
    before = tree_state(root)
    result = install(src, stubs, "--root", str(root), "--no-apt", "--dry-run")
    assert result.returncode == 0, result.stderr
    assert tree_state(root) == before
    out = result.stdout
    assert "would install /etc/systemd/system/convlens.service" in out
    assert "would install /etc/convlens/config.toml" in out
    assert "would create directory /opt/convlens/models" in out
    assert "-m venv --system-site-packages --without-pip" in out
    assert "dry run: nothing was changed" in out
    assert stubs[1].read_text() == ""


def test_dry_run_on_the_real_system_only_queries(tmp_path, src, stubs):
    """Without --root the plan names apt, useradd, pip and systemctl, and runs none."""
    if Path("/opt/convlens").exists() or Path("/etc/systemd/system/convlens.service").exists():
        pytest.skip("convlens is installed on this machine; its plan would differ")
    result = install(src, stubs, "--dry-run")
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "would run: apt-get update" in out
    assert (
        "would run: env DEBIAN_FRONTEND=noninteractive apt-get install -y "
        "--no-install-recommends python3-picamera2 python3-venv python3-numpy" in out
    )
    assert "would run: useradd --system --user-group --home-dir /var/lib/convlens" in out
    assert "-m venv --system-site-packages /opt/convlens/venv" in out
    assert "--only-binary=:all: --requirement" in out
    assert "would run: systemctl daemon-reload" in out
    assert "would run: systemctl enable --now convlens.service" in out
    assert not Path("/opt/convlens").exists()
    calls = stubs[1].read_text().splitlines()
    mutating = [c for c in calls if c.split()[0] in ("apt-get", "useradd", "usermod", "userdel")]
    assert mutating == []
    assert {c.split()[1] for c in calls if c.startswith("systemctl")} <= {
        "is-enabled",
        "is-active",
        "get-default",
    }


@pytest.mark.parametrize(
    ("codename", "warning"),
    [("sid", "'sid' is neither bookworm nor trixie"), (None, "no VERSION_CODENAME")],
)
def test_unknown_release_warns_and_uses_trixie_rules(tmp_path, src, stubs, codename, warning):
    root = make_root(tmp_path, codename)
    result = install(src, stubs, "--root", str(root), "--no-apt", "--dry-run")
    assert result.returncode == 0, result.stderr
    assert warning in result.stderr
    assert "requirements-trixie.txt" in result.stdout


def test_trixie_uses_its_pins_and_apt_is_printed_not_run(tmp_path, src, stubs):
    root = make_root(tmp_path, "trixie")
    result = install(src, stubs, "--root", str(root), "--dry-run")
    assert result.returncode == 0, result.stderr
    assert "operating system: trixie" in result.stdout
    assert "requirements-trixie.txt" in result.stdout
    assert "not run (staging root): apt-get update" in result.stdout
    assert stubs[1].read_text() == ""


def test_uninstall_keeps_config_and_state_unless_purged(tmp_path, src, stubs):
    root = make_root(tmp_path)
    assert install(src, stubs, "--root", str(root), "--no-apt").returncode == 0
    snapshot = root / "var/lib/convlens/snapshots/0001/composite.png"
    snapshot.parent.mkdir(parents=True)
    snapshot.write_bytes(b"png")

    result = install(src, stubs, "--root", str(root), "--uninstall")
    assert result.returncode == 0, result.stderr
    assert not (root / "etc/systemd/system/convlens.service").exists()
    assert not (root / "opt/convlens").exists()
    assert (root / "etc/convlens/config.toml").exists()
    assert snapshot.exists()
    assert "kept /etc/convlens" in result.stdout

    again = install(src, stubs, "--root", str(root), "--uninstall")
    assert again.returncode == 0, again.stderr
    assert "nothing changed" in again.stdout

    purge = install(src, stubs, "--root", str(root), "--uninstall", "--purge")
    assert purge.returncode == 0, purge.stderr
    assert not (root / "etc/convlens").exists()
    assert not (root / "var/lib/convlens").exists()
    assert "not run (staging root): userdel convlens" in purge.stdout
    assert stubs[1].read_text() == ""


def test_uninstall_dry_run_removes_nothing(tmp_path, src, stubs):
    root = make_root(tmp_path)
    assert install(src, stubs, "--root", str(root), "--no-apt").returncode == 0
    before = tree_state(root)
    result = install(src, stubs, "--root", str(root), "--uninstall", "--purge", "--dry-run")
    assert result.returncode == 0, result.stderr
    assert "would remove /opt/convlens" in result.stdout
    assert "would remove /etc/convlens" in result.stdout
    assert tree_state(root) == before


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--purge"], "--purge only goes with --uninstall"),
        (["--frobnicate"], "unknown option '--frobnicate'"),
        (["--root"], "--root needs a directory"),
        (["--root", "/nonexistent/convlens-root"], "is not a directory"),
    ],
)
def test_bad_arguments_fail_with_one_line(src, stubs, args, message):
    result = install(src, stubs, *args)
    assert result.returncode != 0
    assert message in result.stderr


def test_missing_config_example_is_an_error(tmp_path, src, stubs):
    (src / "config.example.toml").unlink()
    root = make_root(tmp_path)
    result = install(src, stubs, "--root", str(root), "--no-apt")
    assert result.returncode == 1
    assert "config.example.toml is missing" in result.stderr


@pytest.mark.skipif(
    shutil.which("shellcheck") is None,
    reason="shellcheck not found: apt-get install shellcheck (CI's .ci/run does)",
)
@pytest.mark.parametrize(
    "script", ["systemd/install.sh", "tests/pios/run.sh", "tests/pios/checks.sh"]
)
def test_installer_and_its_arm64_test_bed_are_shellcheck_clean(script):
    result = subprocess.run(
        ["shellcheck", str(REPO / script)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stdout


def test_dry_run_on_the_real_system_asks_dpkg_for_the_architecture(src, stubs):
    """`uname -m` says aarch64 on a 32-bit Pi OS with the 64-bit kernel; dpkg does not."""
    result = install(src, stubs, "--dry-run")
    assert result.returncode == 0, result.stderr
    assert "architecture: arm64" in result.stdout
    assert "dpkg --print-architecture" in stubs[1].read_text()


@pytest.mark.parametrize("arch", ["armhf", "armel"])
def test_32_bit_userland_is_refused_in_one_line_before_any_change(src, stubs, arch):
    result = install(src, stubs, "--dry-run", STUB_DPKG_ARCH=arch)
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert f"32-bit Raspberry Pi OS ({arch})" in lines[0] and "64-bit" in lines[0]
    assert "would run" not in result.stdout
    assert "installed" not in result.stdout


def test_amd64_installs_with_a_warning(src, stubs):
    result = install(src, stubs, "--dry-run", STUB_DPKG_ARCH="amd64")
    assert result.returncode == 0, result.stderr
    assert "architecture amd64: not a Raspberry Pi" in result.stderr


def test_missing_groups_are_created_for_the_unit(src, stubs):
    """The unit names video, render and input; systemd will not start it (216/GROUP) if
    one does not exist, so the installer makes the missing ones."""
    result = install(src, stubs, "--dry-run", STUB_MISSING_GROUPS="render input")
    assert result.returncode == 0, result.stderr
    assert "would run: groupadd --system render" in result.stdout
    assert "would run: groupadd --system input" in result.stdout
    assert "groupadd --system video" not in result.stdout
    assert "--groups video,render,input convlens" in result.stdout


def failing_cp(stubs: tuple[Path, Path], name: str) -> None:
    """A `cp` that writes half of a file called ``name`` and fails, as on a full disk."""
    real_cp = shutil.which("cp")
    script = stubs[0] / "cp"
    script.write_text(
        "#!/bin/sh\n"
        "for last; do :; done\n"
        f'case "$*" in *"/{name} "*)\n'
        '    for src; do case "$src" in -*) ;; *) break ;; esac; done\n'
        '    head -c 5 "$src" > "$last"; echo "cp: error writing: No space left on device" >&2\n'
        "    exit 1 ;;\n"
        "esac\n"
        f'exec {real_cp} "$@"\n'
    )
    script.chmod(0o755)


def test_a_failed_write_leaves_the_old_file_and_never_says_installed(tmp_path, src, stubs):
    root = make_root(tmp_path)
    assert install(src, stubs, "--root", str(root), "--no-apt").returncode == 0
    (src / "models/lenet.tflite").write_bytes(b"retrained, larger model")
    failing_cp(stubs, "lenet.tflite")
    result = install(src, stubs, "--root", str(root), "--no-apt")
    assert result.returncode == 1
    assert "could not write" in result.stderr and "lenet.tflite" in result.stderr
    model = root / "opt/convlens/models/lenet.tflite"
    assert model.read_bytes() == b"stand-in tflite"
    assert "updated /opt/convlens/models/lenet.tflite" not in result.stdout
    assert "done:" not in result.stdout
    assert [p.name for p in model.parent.iterdir() if "tmp" in p.name] == []


def test_a_failed_config_write_leaves_no_config_to_keep(tmp_path, src, stubs):
    """A truncated config left behind would be kept as "yours" by every later run."""
    root = make_root(tmp_path)
    failing_cp(stubs, "config.example.toml")
    result = install(src, stubs, "--root", str(root), "--no-apt")
    assert result.returncode == 1
    assert list((root / "etc/convlens").iterdir()) == []
    assert "installed /etc/convlens/config.toml" not in result.stdout


def desktop_root(tmp_path: Path, user: str = "pi") -> Path:
    """A staging root of the desktop image: lightdm as the display manager, a home."""
    root = make_root(tmp_path)
    units = root / "etc/systemd/system"
    units.mkdir(parents=True)
    (root / "lib/systemd/system").mkdir(parents=True)
    (root / "lib/systemd/system/lightdm.service").write_text("[Unit]\n")
    (units / "display-manager.service").symlink_to("/lib/systemd/system/lightdm.service")
    (root / "etc/passwd").write_text(
        f"root:x:0:0:root:/root:/bin/bash\n{user}:x:1000:1000::/home/{user}:/bin/bash\n"
    )
    (root / f"home/{user}").mkdir(parents=True)
    return root


def test_the_media_class_is_loaded_before_the_service(tmp_path, src, stubs):
    """char-media is resolved from /proc/devices when the unit starts: mc must be loaded."""
    root = make_root(tmp_path)
    assert install(src, stubs, "--root", str(root), "--no-apt").returncode == 0
    modules = (root / "etc/modules-load.d/convlens.conf").read_text().splitlines()
    assert [line for line in modules if not line.startswith("#")] == ["mc"]
    unit = (src / "systemd/convlens.service").read_text()
    allowed = [
        line.split("=", 1)[1] for line in unit.splitlines() if line.startswith("DeviceAllow=")
    ]
    # Fixed majors need no driver loaded; the dynamic ones are built in, or loaded above.
    assert "char-81 rw" in allowed and "char-226 rw" in allowed and "char-media rw" in allowed
    assert not [a for a in allowed if a.startswith(("char-video4linux", "char-drm"))]
    assert install(src, stubs, "--root", str(root), "--uninstall").returncode == 0
    assert not (root / "etc/modules-load.d/convlens.conf").exists()


def test_desktop_image_opens_convlens_full_screen_at_the_users_login(tmp_path, src, stubs):
    root = desktop_root(tmp_path)
    result = install(src, stubs, "--root", str(root), "--no-apt", SUDO_USER="pi")
    assert result.returncode == 0, result.stderr
    entry = root / "home/pi/.config/autostart/convlens-kiosk.desktop"
    text = entry.read_text()
    assert "Type=Application" in text
    assert "Exec=/opt/convlens/venv/bin/convlens kiosk --config /etc/convlens/config.toml" in text
    assert oct(entry.stat().st_mode & 0o777) == "0o644"
    # Owned by the user: the home's new folders and the entry (chown runs on the host).
    assert f"not run (staging root): chown pi: {root}/home/pi/.config" in result.stdout
    again = install(src, stubs, "--root", str(root), "--no-apt", SUDO_USER="pi")
    assert "nothing changed" in again.stdout
    removed = install(src, stubs, "--root", str(root), "--uninstall", SUDO_USER="pi")
    assert removed.returncode == 0 and not entry.exists()
    assert (root / "home/pi/.config/autostart").is_dir()  # the user's folder stays


def test_desktop_user_by_option_and_none_on_the_console_image(tmp_path, src, stubs):
    root = desktop_root(tmp_path / "desktop", user="teacher")
    result = install(src, stubs, "--root", str(root), "--no-apt", "--desktop-user", "teacher")
    assert result.returncode == 0, result.stderr
    assert (root / "home/teacher/.config/autostart/convlens-kiosk.desktop").exists()
    nobody = desktop_root(tmp_path / "nobody")
    result = install(src, stubs, "--root", str(nobody), "--no-apt", SUDO_USER="")
    assert result.returncode == 0 and "no desktop user" in result.stderr
    assert not (nobody / "home/pi/.config").exists()
    lite = make_root(tmp_path / "lite")
    (lite / "home/pi").mkdir(parents=True)
    result = install(src, stubs, "--root", str(lite), "--no-apt", SUDO_USER="pi")
    assert result.returncode == 0 and not (lite / "home/pi/.config").exists()
