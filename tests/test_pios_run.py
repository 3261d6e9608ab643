"""The test bed's runner (tests/pios/run.sh), sourced in bash: each container gets a
cgroup of its own in every hierarchy systemd-nspawn uses, below the runner's own
cgroup, so two containers at once (CONVLENS_PIOS_JOBS=2) never share the "payload"
cgroup their systemd treats as its root; and those cgroups go when the container ends.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
RUN = REPO / "tests" / "pios" / "run.sh"

pytestmark = pytest.mark.skipif(shutil.which("bash") is None, reason="no bash")

# /proc/self/cgroup of a runner on a hybrid host, in a session's cgroup.
SELF_CGROUP = """\
9:name=systemd:/user.slice/session-3.scope
4:memory:/user.slice
0::/user.slice/session-3.scope
"""
SESSION = "user.slice/session-3.scope"


def container_dirs(tmp_path: Path, name: str, under: str = SESSION) -> list[str]:
    """A container's cgroup directories as run.sh prints them: cgroup2, then name=systemd."""
    parent = f"/{under}" if under else ""
    return [f"{tmp_path}/{hierarchy}{parent}/{name}" for hierarchy in ("unified", "systemd")]


def source_run(tmp_path: Path, script: str) -> subprocess.CompletedProcess:
    """Source run.sh with stand-in hierarchies under ``tmp_path``, then run ``script``."""
    unified, named = tmp_path / "unified", tmp_path / "systemd"
    (tmp_path / "self_cgroup").write_text(SELF_CGROUP)
    env = dict(
        os.environ,
        PIOS_CGROUP_HIERARCHIES=f"{unified} \n{named} name=systemd",
        PIOS_SELF_CGROUP=str(tmp_path / "self_cgroup"),
        # Sourcing reads its settings; a service's environment (the test bed's suite)
        # has no HOME to derive the cache from.
        CONVLENS_PIOS_CACHE=str(tmp_path / "cache"),
        CONVLENS_PIOS_WORK=str(tmp_path / "work"),
    )
    return subprocess.run(
        ["bash", "-c", f'source "{RUN}"\n{script}'],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_sourcing_the_runner_runs_nothing(tmp_path):
    done = source_run(tmp_path, "echo sourced")
    assert done.returncode == 0, done.stderr
    assert done.stdout == "sourced\n"
    assert "pios:" not in done.stderr


def test_each_container_gets_its_own_cgroup_below_the_runners_in_every_hierarchy(tmp_path):
    done = source_run(
        tmp_path,
        "container_cgroup convlens-pios-bookworm-1; container_cgroup convlens-pios-trixie-1",
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == container_dirs(
        tmp_path, "convlens-pios-bookworm-1"
    ) + container_dirs(tmp_path, "convlens-pios-trixie-1")
    for line in done.stdout.splitlines():
        assert Path(line).is_dir()


def test_a_runner_in_the_root_cgroup_makes_children_of_the_root(tmp_path):
    done = source_run(
        tmp_path,
        f'printf "9:name=systemd:/\\n0::/\\n" >"{tmp_path}/self_cgroup"; '
        "container_cgroup convlens-pios-trixie-7",
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == container_dirs(tmp_path, "convlens-pios-trixie-7", under="")


def test_removing_a_containers_cgroups_takes_what_its_systemd_left_below_them(tmp_path):
    done = source_run(
        tmp_path,
        "cg=$(container_cgroup convlens-pios-trixie-1)\n"
        'while read -r d; do mkdir -p "$d/payload/system.slice/convlens.service" '
        '"$d/supervisor"; done <<<"$cg"\n'
        "other=$(container_cgroup convlens-pios-bookworm-1)\n"
        'remove_cgroup "$cg"\n'
        'printf "%s\\n%s\\n" "$cg" "$other" | while read -r d; do\n'
        '    [[ -d $d ]] && echo "left $d"\n'
        "done\n"
        "true",
    )
    assert done.returncode == 0, done.stderr
    # The trixie container's cgroups are gone; the other container's are untouched.
    assert done.stdout.splitlines() == [
        f"left {d}" for d in container_dirs(tmp_path, "convlens-pios-bookworm-1")
    ]
    assert "could not remove" not in done.stderr


def test_no_cgroup2_hierarchy_is_a_one_line_reason(tmp_path):
    done = source_run(
        tmp_path,
        "cgroup_hierarchies() { return 1; }\ncontainer_cgroup x || echo refused",
    )
    assert done.stdout == "refused\n"
    assert done.stderr.strip() == (
        "pios: no cgroup2 hierarchy under /sys/fs/cgroup: "
        "systemd-nspawn cannot give the container the unified hierarchy"
    )
