"""Keeping the text console off the screen: KDSETMODE through a stand-in ioctl, or a pty."""

from __future__ import annotations

import errno
import logging
import os

import pytest

from app.display import vt as vt_module
from app.display.vt import KD_GRAPHICS, KD_TEXT, ConsoleGraphicsMode
from tests.fakes.vt import FakeVt, terminals

NO_SYSFS = "/nonexistent/sys/class/tty/tty0/active"
NO_NOTE = "/nonexistent/run/convlens-console"


def test_enter_switches_the_active_vt_to_graphics_and_leave_restores_text(tmp_path, caplog):
    caplog.set_level(logging.INFO)
    vt = FakeVt(active=3)
    console = ConsoleGraphicsMode(terminals(tmp_path), active_vt=NO_SYSFS, note=NO_NOTE, ioctl=vt)
    assert console.enter()
    assert console.terminal == str(tmp_path / "tty3")
    assert vt.calls == [("tty3", KD_GRAPHICS)]
    assert console.enter()  # twice is harmless
    console.leave()
    assert vt.calls == [("tty3", KD_GRAPHICS), ("tty3", KD_TEXT)]
    # The cursor is hidden while drawing and shown again afterwards.
    assert (tmp_path / "tty3").read_bytes() == b"\x1b[?25l\x1b[?25h"
    assert (tmp_path / "tty1").read_bytes() == b""
    assert "tty3 in graphics mode" in caplog.text and "tty3 back in text mode" in caplog.text
    console.leave()  # and so is leaving twice
    assert len(vt.calls) == 2


def test_a_vt_already_in_graphics_mode_is_left_that_way(tmp_path):
    vt = FakeVt(active=1, mode=KD_GRAPHICS)
    console = ConsoleGraphicsMode(terminals(tmp_path), active_vt=NO_SYSFS, note=NO_NOTE, ioctl=vt)
    console.enter()
    console.leave()
    assert vt.calls == [("tty1", KD_GRAPHICS), ("tty1", KD_GRAPHICS)]


def test_refused_ioctl_is_one_line_naming_the_vt_and_the_fix(tmp_path, caplog):
    vt = FakeVt(active=2, refuse=errno.EPERM)
    console = ConsoleGraphicsMode(terminals(tmp_path), active_vt=NO_SYSFS, note=NO_NOTE, ioctl=vt)
    assert not console.enter()
    console.leave()
    [line] = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert "tty2" in line and "Operation not permitted" in line
    assert "CAP_SYS_TTY_CONFIG" in line
    assert console.terminal is None


def test_no_console_device_is_one_line(tmp_path, caplog):
    console = ConsoleGraphicsMode(tmp_path, active_vt=NO_SYSFS, note=NO_NOTE, ioctl=FakeVt())
    assert not console.enter()
    [line] = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert "tty0" in line and "No such file or directory" in line


def test_a_pseudo_terminal_is_not_a_vt_and_the_real_ioctl_says_so(tmp_path, caplog):
    # The real fcntl.ioctl on a pty (an SSH session's terminal): VT ioctls fail (ENOTTY).
    leader, follower = os.openpty()
    try:
        (tmp_path / "tty0").symlink_to(os.ttyname(follower))
        console = ConsoleGraphicsMode(tmp_path, active_vt=NO_SYSFS, note=NO_NOTE)
        assert not console.enter()
    finally:
        os.close(leader)
        os.close(follower)
    assert "cannot switch" in caplog.text


def test_the_active_vt_is_read_from_sysfs_without_opening_tty0(tmp_path):
    # /dev/tty0 is root:tty 0620: a service in the tty group cannot open it for VT_GETSTATE,
    # but /sys/class/tty/tty0/active says which VT is in front.
    vt = FakeVt(active=9)  # VT_GETSTATE would say tty9: it must not be asked
    terminals(tmp_path)
    (tmp_path / "tty0").unlink()
    active = tmp_path / "active"
    active.write_text("tty2\n")
    console = ConsoleGraphicsMode(tmp_path, active_vt=active, ioctl=vt, note=NO_NOTE)
    assert console.enter()
    console.leave()
    assert vt.calls == [("tty2", KD_GRAPHICS), ("tty2", KD_TEXT)]


def test_under_the_service_the_switch_made_as_root_is_recognised(tmp_path, caplog):
    # The main process may not switch the VT (EPERM here), but the service's privileged
    # step did, and left its note: no warning that the console may show through.
    caplog.set_level(logging.INFO)
    note = tmp_path / "note"
    note.write_text(f"{tmp_path / 'tty1'}\n")
    vt = FakeVt(active=1, refuse=errno.EPERM)
    console = ConsoleGraphicsMode(terminals(tmp_path), active_vt=NO_SYSFS, ioctl=vt, note=note)
    assert console.enter()
    assert "tty1 kept in graphics mode by the service" in caplog.text
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]
    console.leave()  # the service's stop step gives it back, not the main process
    assert vt.calls == []


@pytest.mark.parametrize("noted", ["tty2", "not a terminal", ""])
def test_a_note_for_another_vt_or_garbage_still_warns(tmp_path, caplog, noted):
    note = tmp_path / "note"
    note.write_text(f"{tmp_path / noted}\n" if noted else "")
    vt = FakeVt(active=1, refuse=errno.EPERM)
    console = ConsoleGraphicsMode(terminals(tmp_path), active_vt=NO_SYSFS, ioctl=vt, note=note)
    assert not console.enter()
    [line] = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert "cannot switch" in line and "convlens console graphics" in line


def test_the_service_note_is_root_s_in_run():
    # The privileged stop step trusts the note: never in a directory the service may write.
    assert vt_module.SERVICE_NOTE.parent == vt_module.Path("/run")
