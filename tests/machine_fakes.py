"""A Raspberry Pi's screen facts in a temporary folder: sysfs, device tree, logind, systemd."""

from __future__ import annotations

import os
from pathlib import Path

from app.display.machine import MachinePaths


def fake_machine(
    root: Path,
    *,
    pi: bool = True,
    hdmi: str | None = "connected",
    modes: tuple[str, ...] = ("1920x1080", "1280x720", "720x576"),
    console: str | None = "1920,1080",
    session: dict[str, str] | None = None,
    display_manager: str | None = None,
    default_target: str | None = None,
) -> MachinePaths:
    """MachinePaths under ``root`` for a machine as described.

    Args:
        pi: the device tree names a Raspberry Pi 5.
        hdmi: ``card1-HDMI-A-1``'s status ("connected", "disconnected"), None: no connector.
        modes: its ``modes`` lines, preferred first.
        console: ``fb0``'s ``virtual_size`` ("W,H"), with a 32-bit stand-in file for
            ``/dev/fb0``; None: no framebuffer at all.
        session: a logind session file's keys (e.g. TYPE=wayland, SEAT=seat0), or None.
        display_manager: the unit ``display-manager.service`` links to, or None.
        default_target: what ``default.target`` links to, or None.
    """
    paths = MachinePaths(
        drm_dir=root / "sys/class/drm",
        fb_sysfs=root / "sys/class/graphics/fb0",
        fb_device=root / "dev/fb0",
        model=root / "proc/device-tree/model",
        sessions_dir=root / "run/systemd/sessions",
        display_manager=root / "etc/systemd/system/display-manager.service",
        default_targets=(root / "etc/systemd/system/default.target",),
    )
    paths.model.parent.mkdir(parents=True, exist_ok=True)
    paths.model.write_bytes(b"Raspberry Pi 5 Model B Rev 1.0\x00" if pi else b"Generic PC")
    paths.drm_dir.mkdir(parents=True, exist_ok=True)
    if hdmi is not None:
        connector = paths.drm_dir / "card1-HDMI-A-1"
        connector.mkdir(parents=True, exist_ok=True)
        (connector / "status").write_text(hdmi + "\n")
        (connector / "modes").write_text(
            "".join(f"{m}\n" for m in modes) if hdmi == "connected" else ""
        )
        other = paths.drm_dir / "card1-HDMI-A-2"
        other.mkdir(exist_ok=True)
        (other / "status").write_text("disconnected\n")
    if console is not None:
        # A 32-bit framebuffer stand-in the size of the console: an ordinary file.
        width, height = (int(v) for v in console.split(","))
        paths.fb_sysfs.mkdir(parents=True, exist_ok=True)
        (paths.fb_sysfs / "virtual_size").write_text(console + "\n")
        (paths.fb_sysfs / "bits_per_pixel").write_text("32\n")
        (paths.fb_sysfs / "stride").write_text(f"{width * 4}\n")
        paths.fb_device.parent.mkdir(parents=True, exist_ok=True)
        paths.fb_device.write_bytes(bytes(width * 4 * height))
    paths.sessions_dir.mkdir(parents=True, exist_ok=True)
    if session is not None:
        text = "".join(f"{key}={value}\n" for key, value in session.items())
        (paths.sessions_dir / "2").write_text("# This is private data. Do not parse.\n" + text)
    units = root / "lib/systemd/system"
    units.mkdir(parents=True, exist_ok=True)
    paths.display_manager.parent.mkdir(parents=True, exist_ok=True)
    if display_manager is not None:
        (units / display_manager).write_text("[Unit]\n")
        os.symlink(units / display_manager, paths.display_manager)
    if default_target is not None:
        (units / default_target).write_text("[Unit]\n")
        os.symlink(units / default_target, paths.default_targets[0])
    return paths


def connect_hdmi(paths: MachinePaths, status: str = "connected") -> None:
    """Plug the screen in (or out) after the fact."""
    (paths.drm_dir / "card1-HDMI-A-1" / "status").write_text(status + "\n")
    (paths.drm_dir / "card1-HDMI-A-1" / "modes").write_text("1920x1080\n1280x720\n")
