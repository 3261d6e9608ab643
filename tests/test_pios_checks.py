"""The test bed's own logic (tests/pios/checks.sh), sourced in bash with stand-ins for the
system: `checked` runs a failed check once more only after the unit lost its cgroup
(systemd's "Failed at step CGROUP" line, which journald files outside the unit), and
journal-no-traceback counts the deliberate faults of a check that ran twice.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
CHECKS = REPO / "tests" / "pios" / "checks.sh"
ARTEFACT = (
    "convlens.service: Failed at step CGROUP spawning /opt/convlens/venv/bin/python: "
    "No such file or directory"
)

pytestmark = pytest.mark.skipif(shutil.which("bash") is None, reason="no bash")

# journalctl reads the journal from $STUB_JOURNAL; `journalctl -u UNIT` shows none of it,
# as on the test bed, where the artefact's line is not filed under the unit.
JOURNALCTL = """#!/bin/sh
case " $* " in
    *" --sync "*) exit 0 ;;
    *" -u "*) exit 0 ;;
esac
cat "$STUB_JOURNAL"
"""


def run_checks(tmp_path: Path, script: str, journal: str = "") -> tuple[list[str], str]:
    """Source checks.sh, run ``script``; the verdict lines it kept and its whole output."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    (bin_dir / "journalctl").write_text(JOURNALCTL)
    (bin_dir / "journalctl").chmod(0o755)
    (tmp_path / "journal.txt").write_text(journal)
    results = tmp_path / "checks.log"
    results.write_text("")
    # checks.sh sets PATH to the system's; the stand-in comes first again after sourcing.
    program = f'source "{CHECKS}"\nexport PATH="{bin_dir}:$PATH"\n{script}\n'
    env = dict(
        os.environ,
        PIOS_RELEASE="bookworm",
        PIOS_RESULTS=str(results),
        STUB_JOURNAL=str(tmp_path / "journal.txt"),
    )
    done = subprocess.run(
        ["bash", "-c", program], env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    return results.read_text().splitlines(), done.stdout


FLAKY = """
attempts=0
flaky() {
    attempts=$((attempts + 1))
    echo "try number $attempts"
    if ((attempts <= FAILS)); then fail flaky "attempt $attempts failed"; else pass flaky; fi
}
"""


def test_a_fail_with_the_cgroup_artefact_runs_once_more_and_its_second_verdict_stands(tmp_path):
    kept, out = run_checks(tmp_path, FLAKY + "FAILS=1\nchecked flaky", journal=ARTEFACT + "\n")
    assert kept == ["PASS bookworm.flaky"]
    assert out.count("try number ") == 2
    assert "flaky: systemd could not attach a process of convlens.service" in out


def test_a_check_failing_twice_with_the_artefact_is_a_fail_after_two_attempts(tmp_path):
    kept, out = run_checks(tmp_path, FLAKY + "FAILS=9\nchecked flaky", journal=ARTEFACT + "\n")
    assert kept == ["FAIL bookworm.flaky: attempt 2 failed"]
    assert out.count("try number ") == 2


def test_a_fail_without_the_artefact_stands_at_once(tmp_path):
    other = "convlens.service: Main process exited, code=exited, status=1/FAILURE\n"
    kept, out = run_checks(tmp_path, FLAKY + "FAILS=1\nchecked flaky", journal=other)
    assert kept == ["FAIL bookworm.flaky: attempt 1 failed"]
    assert out.count("try number ") == 1


def test_a_pass_is_kept_and_not_repeated_even_after_the_artefact(tmp_path):
    kept, out = run_checks(tmp_path, FLAKY + "FAILS=0\nchecked flaky", journal=ARTEFACT + "\n")
    assert kept == ["PASS bookworm.flaky"]
    assert out.count("try number ") == 1


def test_every_verdict_of_a_check_is_kept_in_order(tmp_path):
    script = "two() { pass first; fail second 'why'; }\nchecked two"
    kept, _ = run_checks(tmp_path, script)
    assert kept == ["PASS bookworm.first", "FAIL bookworm.second: why"]


def test_fresh_start_starts_again_after_the_artefact_only(tmp_path):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    calls = tmp_path / "systemctl.calls"
    (bin_dir / "systemctl").write_text(f'#!/bin/sh\necho "$*" >>"{calls}"\n')
    (bin_dir / "systemctl").chmod(0o755)
    script = "sleep() { :; }\nfresh_start"
    run_checks(tmp_path, script, journal=ARTEFACT + "\n")
    assert calls.read_text().count("restart convlens.service") == 2
    calls.unlink()
    run_checks(tmp_path, script, journal="convlens.service: Started.\n")
    assert calls.read_text().count("restart convlens.service") == 1


FAULTS = (
    "Fatal Python error: Segmentation fault\n"
    "Fatal Python error: Aborted\n"
    "Fatal Python error: Segmentation fault\n"
)


@pytest.mark.parametrize(
    ("ran_again", "journal", "verdict"),
    [
        ("", "Fatal Python error: Segmentation fault\nFatal Python error: Aborted\n", "PASS"),
        ("", FAULTS, "FAIL"),
        (" check_crash_restarts ", FAULTS, "PASS"),
        (" check_crash_restarts ", FAULTS.replace("Aborted", "Bus error"), "FAIL"),
        (" check_watchdog_restarts ", FAULTS, "FAIL"),
        ("", "Traceback (most recent call last):\n  x\n  y\nValueError: z\n", "FAIL"),
    ],
)
def test_journal_accepts_the_deliberate_faults_of_checks_that_ran_again(
    tmp_path, ran_again, journal, verdict
):
    kept, _ = run_checks(tmp_path, f'RAN_AGAIN="{ran_again}"\ncheck_journal', journal=journal)
    assert len(kept) == 1 and kept[0].startswith(f"{verdict} bookworm.journal-no-traceback")
