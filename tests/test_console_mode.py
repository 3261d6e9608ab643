"""``convlens console graphics|text``, the service's privileged console steps, against
stand-in terminals (regular files), a fake VT ioctl, fake systemctl and logind state."""

from __future__ import annotations

import errno
import logging
import os
import shlex
import stat
import subprocess
import sys

import pytest

from app.cli import build_parser
from app.console_mode import GETTY_WAIT_S, Console, Getty, command_console, leave_alone_reason
from app.display.machine import MachinePaths
from app.display.vt import (
    HIDE_CURSOR,
    KD_GRAPHICS,
    KD_TEXT,
    SERVICE_NOTE,
    SHOW_CURSOR,
    ConsoleGraphicsMode,
)
from tests.fakes.vt import FakeVt, terminals


def console_image(tmp_path) -> MachinePaths:
    """A machine that boots to the console: no session, no display manager."""
    return MachinePaths(
        sessions_dir=tmp_path / "sessions",
        display_manager=tmp_path / "display-manager.service",
        default_targets=(tmp_path / "default.target",),
    )


class FakeClock:
    def __init__(self):
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def no_getty(_args):
    return "Job=\nActiveState=inactive\nMainPID=0\n"


@pytest.fixture
def setup(tmp_path):
    """A Console on tty1 of a console image, with every system path in tmp_path."""
    dev = tmp_path / "dev"
    dev.mkdir()
    terminals(dev)
    active = tmp_path / "active"
    active.write_text("tty1\n")
    clock = FakeClock()
    vt = FakeVt(active=1)
    console = Console(
        tty_dir=dev,
        active_vt=active,
        note=tmp_path / "convlens-console",
        paths=console_image(tmp_path),
        ioctl=vt,
        getty=Getty(systemctl=no_getty, proc=tmp_path / "proc"),
        sleep=clock.sleep,
        clock=clock,
    )
    return console, vt, clock


def warnings(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]


def test_start_switches_the_shown_vt_and_stop_gives_it_back(setup, caplog):
    caplog.set_level(logging.INFO)
    console, vt, _ = setup
    console.graphics("auto")
    tty1 = console.tty_dir / "tty1"
    assert vt.calls == [("tty1", KD_GRAPHICS)]
    assert console.note.read_text() == f"{tty1}\n"
    # Readable by the main process (it runs as another user), although the unit's
    # UMask=0077 applies to this step too.
    assert stat.S_IMODE(console.note.stat().st_mode) == 0o644
    assert "tty1 in graphics mode while convlens runs" in caplog.text
    assert tty1.read_bytes() == HIDE_CURSOR
    console.text()
    assert vt.calls == [("tty1", KD_GRAPHICS), ("tty1", KD_TEXT)]
    assert tty1.read_bytes() == SHOW_CURSOR  # written over the same bytes of the stand-in
    assert not console.note.exists()
    assert "tty1 back in text mode" in caplog.text
    assert warnings(caplog) == []


def test_the_stop_step_after_a_crash_needs_only_the_note(setup):
    # ExecStopPost= is a new process after the main one died (SIGKILL, crash, watchdog):
    # all it has is the note the start step left.
    console, vt, _ = setup
    console.graphics("fb:/dev/fb0")
    after_crash = Console(note=console.note, ioctl=vt, tty_dir=console.tty_dir)
    after_crash.text()
    assert vt.calls == [("tty1", KD_GRAPHICS), ("tty1", KD_TEXT)]
    assert not console.note.exists()


def test_the_note_is_written_before_the_switch(setup):
    # If the start step dies between the two, the stop step still gives the VT back.
    console, vt, _ = setup
    seen = []
    vt.on_set = lambda name, mode: seen.append(console.note.exists())
    console.graphics("drm")
    assert seen == [True]


def test_the_vt_shown_is_the_one_switched_not_tty1(setup):
    console, vt, _ = setup
    console.active_vt.write_text("tty3\n")
    console.graphics("auto")
    console.active_vt.write_text("tty2\n")  # someone switched VTs meanwhile
    console.text()
    assert vt.calls == [("tty3", KD_GRAPHICS), ("tty3", KD_TEXT)]


def test_a_desktop_keeps_its_console(setup, caplog):
    caplog.set_level(logging.INFO)
    console, vt, _ = setup
    sessions = console.paths.sessions_dir
    sessions.mkdir()
    (sessions / "2").write_text("TYPE=wayland\nSEAT=seat0\nUSER=pi\n")
    console.note.write_text("/dev/tty1\n")  # stale, from a run that never stopped
    console.graphics("auto")
    assert vt.calls == []
    assert not console.note.exists()
    assert "left as it is: a desktop is running on the screen" in caplog.text
    console.text()
    assert vt.calls == []


def test_booting_to_the_desktop_counts_before_it_has_started(setup):
    console, vt, _ = setup
    paths = console.paths
    (paths.display_manager).symlink_to("/usr/lib/systemd/system/lightdm.service")
    paths.default_targets[0].symlink_to("/usr/lib/systemd/system/graphical.target")
    console.graphics("auto")
    assert vt.calls == []


@pytest.mark.parametrize("spec", ["web", "null", "file:out.mp4", "file:frames/"])
def test_displays_that_do_not_draw_on_the_screen_leave_it(setup, caplog, spec):
    caplog.set_level(logging.INFO)
    console, vt, _ = setup
    console.graphics(spec)
    assert vt.calls == []
    assert f"[display] spec is {spec!r}" in caplog.text


def test_leave_alone_reason_for_the_screen_displays(tmp_path):
    paths = console_image(tmp_path)
    for spec in ("auto", "drm", "fb", "fb:/dev/fb1"):
        assert leave_alone_reason(spec, paths) is None


def test_no_virtual_terminal_is_one_line_and_nothing_else(setup, caplog):
    # A container (systemd-nspawn), or a kernel without CONFIG_VT: no /dev/tty0.
    caplog.set_level(logging.INFO)
    console, vt, _ = setup
    (console.tty_dir / "tty0").unlink()
    console.graphics("auto")
    console.text()
    assert vt.calls == []
    assert not console.note.exists()
    lines = [r.getMessage() for r in caplog.records]
    assert lines[0].startswith("console: no virtual terminal here")
    assert lines[1] == "console: nothing to give back (convlens did not switch it)"
    assert warnings(caplog) == []


def test_a_refused_switch_is_one_warning_and_leaves_no_note(setup, caplog):
    console, vt, _ = setup
    vt.refuse = errno.EPERM
    console.graphics("auto")
    [line] = warnings(caplog)
    assert "cannot switch" in line and "tty1" in line and "Operation not permitted" in line
    assert not console.note.exists()


def test_a_vanished_vt_at_stop_is_one_warning_and_the_note_goes(setup, caplog):
    console, _vt, _ = setup
    console.graphics("auto")
    (console.tty_dir / "tty1").unlink()
    console.text()
    [line] = warnings(caplog)
    assert "cannot give" in line and "No such file or directory" in line
    assert not console.note.exists()


def test_a_garbage_note_is_not_trusted(setup, tmp_path):
    console, vt, _ = setup
    for garbage in ("/etc/passwd", f"{tmp_path}/tty1", "tty1", ""):
        console.note.write_text(garbage + "\n")
        console.text()
    assert vt.calls == []


def test_waits_for_the_getty_that_would_reset_the_vt(setup, caplog):
    # At boot getty@tty1 (Type=idle) runs agetty up to 5 s late, and systemd resets the
    # VT to text mode just before: switching earlier would be undone.
    caplog.set_level(logging.INFO)
    console, vt, clock = setup
    proc = console.getty.proc
    (proc / "812").mkdir(parents=True)
    answers = iter(
        ["Job=41\nActiveState=inactive\nMainPID=0\n"] * 5  # queued
        + ["Job=\nActiveState=active\nMainPID=812\n"] * 10  # forked, not yet agetty
    )

    def systemctl(args):
        assert args[:2] == ["show", "getty@tty1.service"]
        answer = next(answers, "Job=\nActiveState=active\nMainPID=812\n")
        (proc / "812" / "comm").write_text("(agetty)\n" if answer in seen else "agetty\n")
        seen.append(answer)
        return answer

    seen: list[str] = []
    console.getty = Getty(systemctl=systemctl, proc=proc)
    switched_at = []
    vt.on_set = lambda name, mode: switched_at.append(clock.now)
    console.graphics("auto")
    assert vt.calls == [("tty1", KD_GRAPHICS)]
    assert 0.2 <= switched_at[0] < GETTY_WAIT_S
    assert "waited" in caplog.text and "getty on" in caplog.text
    assert warnings(caplog) == []


def test_a_getty_that_never_starts_delays_the_switch_at_most_the_limit(setup, caplog):
    console, vt, clock = setup
    console.getty = Getty(systemctl=lambda args: "Job=7\nActiveState=inactive\nMainPID=0\n")
    console.graphics("auto")
    assert vt.calls == [("tty1", KD_GRAPHICS)]
    assert GETTY_WAIT_S <= clock.now < GETTY_WAIT_S + 0.5
    [line] = warnings(caplog)
    assert "still starting" in line


@pytest.mark.parametrize(
    ("shown", "comm", "settling"),
    [
        ("Job=12\nActiveState=inactive\nMainPID=0\n", None, True),
        ("Job=\nActiveState=activating\nMainPID=0\n", None, True),
        ("Job=\nActiveState=active\nMainPID=300\n", "systemd", True),  # just forked
        ("Job=\nActiveState=active\nMainPID=300\n", "systemd-executo", True),  # 255+
        ("Job=\nActiveState=active\nMainPID=300\n", "(agetty)", True),
        ("Job=\nActiveState=active\nMainPID=300\n", "agetty", False),
        ("Job=\nActiveState=active\nMainPID=300\n", "login", False),  # autologin
        ("Job=\nActiveState=active\nMainPID=300\n", None, False),  # gone meanwhile
        ("Job=\nActiveState=inactive\nMainPID=0\n", None, False),  # masked, or none
        ("", None, False),  # no systemctl (not systemd)
    ],
)
def test_getty_settling(tmp_path, shown, comm, settling):
    if comm is not None:
        (tmp_path / "300").mkdir()
        (tmp_path / "300" / "comm").write_text(comm + "\n")
    getty = Getty(systemctl=lambda args: shown, proc=tmp_path)
    assert getty.settling("/dev/tty1") is settling


def test_the_main_process_sees_the_switch_the_start_step_made(setup, caplog):
    # End to end through the note: the framebuffer display's ConsoleGraphicsMode in the
    # sandboxed main process may not switch the VT itself (EPERM), and need not.
    caplog.set_level(logging.INFO)
    console, vt, _ = setup
    console.graphics("auto")
    vt.refuse = errno.EPERM
    in_main = ConsoleGraphicsMode(
        console.tty_dir, active_vt=console.active_vt, ioctl=vt, note=console.note
    )
    assert in_main.enter()
    assert warnings(caplog) == []


def parse(*argv: str):
    return build_parser().parse_args(["console", *argv])


def test_command_line(setup, tmp_path):
    console, vt, _ = setup
    config = tmp_path / "config.toml"
    config.write_text('[display]\nspec = "fb"\n')
    assert command_console(parse("graphics", "--config", str(config)), console) == 0
    assert command_console(parse("text"), console) == 0
    assert vt.calls == [("tty1", KD_GRAPHICS), ("tty1", KD_TEXT)]
    with pytest.raises(SystemExit):
        parse("blank")


def test_a_broken_config_leaves_the_console_and_never_fails_the_start(setup, tmp_path, caplog):
    caplog.set_level(logging.INFO)
    console, vt, _ = setup
    config = tmp_path / "config.toml"
    config.write_text("[display]\nspec = 5\n")
    assert command_console(parse("graphics", "--config", str(config)), console) == 0
    assert vt.calls == []
    assert warnings(caplog) == []  # the main process names the error, once
    assert "left as it is: the config has an error" in caplog.text


def unit_steps() -> tuple[str, str]:
    from tests.test_systemd_unit import UNIT, unit_settings

    settings = unit_settings(UNIT)
    assert "char-tty w" in settings["DeviceAllow"]  # the device filter covers "+" steps too
    [start] = settings["ExecStartPre"]
    [stop] = settings["ExecStopPost"]
    return start, stop


def test_the_unit_runs_both_steps_as_root_and_ignores_their_failure():
    start, stop = unit_steps()
    step = "/opt/convlens/venv/bin/python -I -m app.console_mode"
    # "+": as root, outside User=/capabilities/namespaces; "-": a failure never fails the unit.
    assert start == f"-+{step} graphics --config /etc/convlens/config.toml"
    assert stop.startswith("-+/bin/sh -c '") and stop.endswith(f"exec {step} text'")
    assert str(SERVICE_NOTE) in stop


@pytest.mark.parametrize("noted", [False, True])
def test_the_stop_step_starts_python_only_when_a_vt_was_switched(tmp_path, noted):
    # The unit's own shell line, run with the note and the program moved into tmp_path.
    _, stop = unit_steps()
    script = shlex.split(stop[len("-+") :])[2]
    note = tmp_path / "convlens-console"
    ran = tmp_path / "ran"
    program = tmp_path / "python"
    program.write_text(f'#!/bin/sh\necho "$@" > {ran}\n')
    program.chmod(0o755)
    if noted:
        note.write_text("/dev/tty1\n")
    script = script.replace(str(SERVICE_NOTE), str(note))
    script = script.replace("/opt/convlens/venv/bin/python", str(program))
    done = subprocess.run(["/bin/sh", "-c", script], capture_output=True, text=True, timeout=30)
    assert done.returncode == 0, done.stderr
    assert ran.exists() is noted
    if noted:
        assert ran.read_text() == "-I -m app.console_mode text\n"


def test_isolated_python_keeps_the_services_writable_directory_out_of_roots_imports(tmp_path):
    # The unit's working directory is /var/lib/convlens, which the service user may
    # write: without -I, "python -m" would import an app/ package planted there, as root.
    planted = tmp_path / "app"
    planted.mkdir()
    (planted / "__init__.py").write_text(f"open({str(tmp_path / 'ran')!r}, 'w').close()\n")
    (planted / "console_mode.py").write_text("raise SystemExit(3)\n")
    env = dict(os.environ, PYTHONPATH=str(tmp_path))
    done = subprocess.run(
        [sys.executable, "-I", "-m", "app.console_mode", "--help"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "graphics,text" in done.stdout
    assert not (tmp_path / "ran").exists()
    # The check can fail: without -I the planted package is what runs.
    done = subprocess.run(
        [sys.executable, "-m", "app.console_mode", "--help"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 3 and (tmp_path / "ran").exists()


def test_a_console_with_its_output_stopped_never_holds_the_start(setup):
    # Scroll Lock or ^S on the console stops its output: a blocking write of the cursor
    # sequence would wait for ever, and the unit's start with it. A pty stands in.
    import termios
    import threading

    console, vt, _ = setup
    leader, follower = os.openpty()
    name = os.path.basename(os.ttyname(follower))
    try:
        termios.tcflow(follower, termios.TCOOFF)
        (console.tty_dir / "tty1").unlink()
        (console.tty_dir / "tty1").symlink_to(os.ttyname(follower))
        for step in (lambda: console.graphics("auto"), console.text):
            worker = threading.Thread(target=step, daemon=True)
            worker.start()
            worker.join(10)
            assert not worker.is_alive()
    finally:
        os.close(leader)
        os.close(follower)
    assert vt.calls == [(name, KD_GRAPHICS), (name, KD_TEXT)]


def test_run_as_a_module_the_lines_are_named_for_it(tmp_path):
    # The unit runs "python -I -m app.console_mode": its journal lines must still say
    # app.console_mode (the test bed's check finds them by that name), not __main__.
    done = subprocess.run(
        [sys.executable, "-I", "-c",
         "import runpy, logging, sys; logging.basicConfig(format='%(name)s: %(message)s');"
         "sys.argv = ['x', 'graphics', '--config', sys.argv[1]];"
         "runpy.run_module('app.console_mode', run_name='__main__')",
         str(tmp_path / "config.toml")],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert "app.console_mode: console: left as it is" in done.stderr, done.stderr
