"""What this machine's screen is: a Raspberry Pi, an HDMI screen and its mode, a desktop on it.

Everything is read from files (sysfs, the device tree, logind's and systemd's state), never
by opening ``/dev/dri/card*``: the first process to open the card becomes DRM master, and
a probe racing the desktop's compositor at boot would take the screen from it.

A desktop counts as running, or about to run, when logind lists a graphical session
(``TYPE=wayland`` or ``x11``, the greeter's too) on ``seat0`` in ``/run/systemd/sessions``,
or when a display manager is installed (``display-manager.service``) and the boot target
is ``graphical.target``: at boot convlens may start before the display manager does, and
it must not open the card then either.
"""

from __future__ import annotations

import glob
import os
from dataclasses import dataclass
from pathlib import Path

#: Session types of a compositor or X server (logind's session_type_table).
GRAPHICAL_SESSION_TYPES = ("wayland", "x11", "mir")


@dataclass(frozen=True)
class MachinePaths:
    """Where the probes look; tests point them into a temporary folder."""

    drm_dir: Path = Path("/sys/class/drm")
    fb_sysfs: Path = Path("/sys/class/graphics/fb0")
    fb_device: Path = Path("/dev/fb0")
    model: Path = Path("/proc/device-tree/model")
    sessions_dir: Path = Path("/run/systemd/sessions")
    display_manager: Path = Path("/etc/systemd/system/display-manager.service")
    #: ``systemctl get-default`` reads the first of these that exists.
    default_targets: tuple[Path, ...] = (
        Path("/etc/systemd/system/default.target"),
        Path("/usr/lib/systemd/system/default.target"),
        Path("/lib/systemd/system/default.target"),
    )


#: This machine's real paths.
SYSTEM = MachinePaths()


@dataclass(frozen=True)
class ScreenMode:
    """An HDMI screen's resolution and where it was read."""

    width: int
    height: int
    connector: str
    #: "fb0" (the mode the console runs at) or "preferred" (the screen's own first mode).
    source: str

    @property
    def size(self) -> tuple[int, int]:
        return (self.width, self.height)


def is_raspberry_pi(paths: MachinePaths = SYSTEM) -> bool:
    """True when the device-tree model names a Raspberry Pi."""
    try:
        return "Raspberry Pi" in paths.model.read_bytes().decode(errors="replace")
    except OSError:
        return False


def _read(path: str | Path) -> str:
    try:
        return Path(path).read_text().strip()
    except (OSError, UnicodeDecodeError):
        return ""


def connected_hdmi(paths: MachinePaths = SYSTEM) -> list[str]:
    """Names of the HDMI connectors (``card1-HDMI-A-1``) whose status is ``connected``."""
    pattern = os.path.join(os.fspath(paths.drm_dir), "card*-HDMI-A-*", "status")
    found = [status for status in sorted(glob.glob(pattern)) if _read(status) == "connected"]
    return [Path(status).parent.name for status in found]


def _mode_size(text: str) -> tuple[int, int] | None:
    """``"1920x1080"`` (or ``"1920x1080i"``, or fbdev's ``"1920,1080"``) as (w, h)."""
    width, sep, height = text.replace(",", "x").partition("x")
    height = height.rstrip("i")
    if not sep or not width.isdigit() or not height.isdigit():
        return None
    size = (int(width), int(height))
    return size if min(size) >= 16 else None


def hdmi_mode(paths: MachinePaths = SYSTEM) -> ScreenMode | None:
    """The connected HDMI screen's mode, or None when no HDMI screen is connected.

    The kernel lists a connector's modes with the preferred one first (``modes``); the
    mode the screen really runs at is the one the console set, which ``fb0``'s
    ``virtual_size`` gives (a ``video=`` kernel argument can pick another). So the
    console's size wins when it is one of the screen's modes, else the preferred mode.
    """
    connectors = connected_hdmi(paths)
    if not connectors:
        return None
    connector = connectors[0]
    lines = _read(paths.drm_dir / connector / "modes").splitlines()
    modes = [size for size in map(_mode_size, lines) if size is not None]
    console = _mode_size(_read(paths.fb_sysfs / "virtual_size"))
    if console is not None and (console in modes or not modes):
        return ScreenMode(*console, connector=connector, source="fb0")
    if modes:
        return ScreenMode(*modes[0], connector=connector, source="preferred")
    return None


def _session(path: Path) -> dict[str, str]:
    fields = {}
    for line in _read(path).splitlines():
        key, sep, value = line.partition("=")
        if sep:
            fields[key] = value
    return fields


def graphical_session(paths: MachinePaths = SYSTEM) -> str | None:
    """``"session 2 (wayland, user pi)"`` for a graphical session on seat0, else None."""
    try:
        entries = sorted(paths.sessions_dir.iterdir())
    except OSError:
        return None
    for entry in entries:
        if entry.suffix == ".ref" or not entry.is_file():
            continue
        session = _session(entry)
        if session.get("TYPE") in GRAPHICAL_SESSION_TYPES and session.get("SEAT") == "seat0":
            user = session.get("USER") or session.get("CLASS") or "?"
            return f"session {entry.name} ({session['TYPE']}, user {user})"
    return None


def default_target(paths: MachinePaths = SYSTEM) -> str:
    """The boot target's unit name (``graphical.target``), or "" when none is set."""
    for link in paths.default_targets:
        if os.path.lexists(link):
            return os.path.basename(os.path.realpath(link))
    return ""


def desktop_reason(paths: MachinePaths = SYSTEM) -> str | None:
    """Why a desktop holds (or is about to hold) the HDMI screen, or None when none does."""
    session = graphical_session(paths)
    if session is not None:
        return f"a desktop is running on the screen ({session})"
    if os.path.lexists(paths.display_manager) and default_target(paths) == "graphical.target":
        manager = os.path.basename(os.path.realpath(paths.display_manager))
        return f"the system boots to the desktop ({manager}, graphical.target)"
    return None
