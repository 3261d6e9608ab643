"""The machine's screen facts: HDMI and its mode, a desktop running or about to run."""

from __future__ import annotations

from app.display.machine import (
    connected_hdmi,
    default_target,
    desktop_reason,
    graphical_session,
    hdmi_mode,
    is_raspberry_pi,
)
from tests.machine_fakes import fake_machine

WAYLAND = {"UID": "1000", "USER": "pi", "ACTIVE": "1", "TYPE": "wayland", "CLASS": "user",
           "SEAT": "seat0", "VTNR": "7", "DEVICES": "226:1 13:64"}  # fmt: skip


def test_a_pi_with_a_connected_hdmi_screen(tmp_path):
    paths = fake_machine(tmp_path)
    assert is_raspberry_pi(paths)
    assert connected_hdmi(paths) == ["card1-HDMI-A-1"]
    assert not is_raspberry_pi(fake_machine(tmp_path / "pc", pi=False))
    assert connected_hdmi(fake_machine(tmp_path / "off", hdmi="disconnected")) == []
    assert connected_hdmi(fake_machine(tmp_path / "none", hdmi=None)) == []


def test_the_mode_is_the_consoles_when_the_screen_lists_it_else_the_preferred(tmp_path):
    mode = hdmi_mode(fake_machine(tmp_path / "a"))
    assert (mode.size, mode.source, mode.connector) == ((1920, 1080), "fb0", "card1-HDMI-A-1")
    # video=1280x720 on the kernel command line: the console runs at the smaller mode.
    mode = hdmi_mode(fake_machine(tmp_path / "b", console="1280,720"))
    assert (mode.size, mode.source) == ((1280, 720), "fb0")
    # A console size the screen does not list (set before the screen was plugged in).
    mode = hdmi_mode(fake_machine(tmp_path / "c", console="1024,768"))
    assert (mode.size, mode.source) == ((1920, 1080), "preferred")
    mode = hdmi_mode(fake_machine(tmp_path / "d", console=None, modes=("3840x2160", "1920x1080")))
    assert (mode.size, mode.source) == ((3840, 2160), "preferred")
    assert hdmi_mode(fake_machine(tmp_path / "e", hdmi="disconnected")) is None


def test_interlaced_and_bad_mode_lines(tmp_path):
    paths = fake_machine(tmp_path, console=None, modes=("1920x1080i", "junk", "1280x720"))
    assert hdmi_mode(paths).size == (1920, 1080)
    paths = fake_machine(tmp_path / "x", console=None, modes=("junk",))
    assert hdmi_mode(paths) is None


def test_a_running_graphical_session_on_seat0_is_a_desktop(tmp_path):
    paths = fake_machine(tmp_path, session=WAYLAND)
    assert graphical_session(paths) == "session 2 (wayland, user pi)"
    assert "desktop is running" in desktop_reason(paths)
    greeter = {**WAYLAND, "TYPE": "x11", "CLASS": "greeter", "USER": "lightdm"}
    assert "x11, user lightdm" in desktop_reason(fake_machine(tmp_path / "g", session=greeter))


def test_console_logins_and_other_seats_are_not_a_desktop(tmp_path):
    tty = {**WAYLAND, "TYPE": "tty", "DEVICES": ""}
    assert desktop_reason(fake_machine(tmp_path / "tty", session=tty)) is None
    ssh = {"USER": "pi", "TYPE": "tty", "REMOTE": "1", "CLASS": "user"}
    assert desktop_reason(fake_machine(tmp_path / "ssh", session=ssh)) is None
    seat1 = {**WAYLAND, "SEAT": "seat1"}
    assert desktop_reason(fake_machine(tmp_path / "seat1", session=seat1)) is None


def test_booting_to_the_desktop_counts_before_the_desktop_has_started(tmp_path):
    """At boot convlens can start before lightdm: the boot target says what is coming."""
    paths = fake_machine(
        tmp_path, display_manager="lightdm.service", default_target="graphical.target"
    )
    assert default_target(paths) == "graphical.target"
    assert desktop_reason(paths) == (
        "the system boots to the desktop (lightdm.service, graphical.target)"
    )
    # raspi-config's "boot to console" sets multi-user.target; lightdm stays installed.
    console_boot = fake_machine(
        tmp_path / "b1", display_manager="lightdm.service", default_target="multi-user.target"
    )
    assert desktop_reason(console_boot) is None
    # Lite: graphical.target is Debian's default, but there is no display manager.
    lite = fake_machine(tmp_path / "lite", default_target="graphical.target")
    assert desktop_reason(lite) is None


def test_nothing_to_read_is_no_desktop_and_no_screen(tmp_path):
    paths = fake_machine(tmp_path, hdmi=None, console=None)
    (paths.sessions_dir).rmdir()
    assert desktop_reason(paths) is None and hdmi_mode(paths) is None
