"""``convlens console graphics|text``: the service's privileged steps that keep the text
console off the screen while convlens may draw on it, and give it back.

Switching a VT to graphics mode needs ``CAP_SYS_TTY_CONFIG`` or the VT as the caller's
terminal (drivers/tty/vt/vt_ioctl.c); the service's main process has neither, and should
not. So the unit runs these two commands with systemd's ``+`` prefix (``ExecStartPre=``
and ``ExecStopPost=``): as root, without the unit's user, capability and namespace
settings, while the main process keeps its sandbox. ``ExecStopPost=`` runs after every
end of the main process (a stop, an exit, a crash, a watchdog abort, SIGKILL), so the
console always comes back. Both steps never fail the unit: whatever stops them is one
log line, and convlens starts (or stops) as without them.

``graphics`` leaves the console as it is when convlens will not draw on the screen: a
desktop holds it (app/display/machine.py decides, as the display factory does) or
``[display] spec`` is not ``auto``, ``drm`` or ``fb``. With ``auto`` it switches even
before an HDMI screen is connected: the mode is the VT's own kernel state, so a screen
plugged in later shows convlens's picture, not the console, once convlens finds it.

systemd's ``getty@ttyN.service`` resets its VT to text mode (``TTYReset=yes``) when it
starts, and at boot its start is held back by ``Type=idle`` for up to 5 s, so a switch
made before that would be undone: ``graphics`` first waits (at most
:data:`GETTY_WAIT_S`) until that getty has started its program.
"""

from __future__ import annotations

import argparse
import fcntl
import logging
import os
import subprocess
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from app.display import vt
from app.display.machine import SYSTEM, MachinePaths, desktop_reason

#: Named, not ``__name__``: run as ``python -m`` the module is ``__main__``, and the
#: journal lines should say whose they are.
log = logging.getLogger("app.console_mode")

#: ``[display] spec`` values under which convlens draws on the HDMI screen.
SCREEN_SPECS = ("auto", "drm", "fb")
#: How long ``graphics`` waits for the VT's getty to finish resetting it.
GETTY_WAIT_S = 10.0


def leave_alone_reason(spec: str, paths: MachinePaths = SYSTEM) -> str | None:
    """Why the console must stay as it is, or None when convlens may draw over it."""
    reason = desktop_reason(paths)
    if reason is not None:
        return reason
    if spec.partition(":")[0] not in SCREEN_SPECS:
        return f"[display] spec is {spec!r}: convlens does not draw on the screen"
    return None


def _systemctl(args: Sequence[str]) -> str:
    try:
        done = subprocess.run(
            ["systemctl", *args], capture_output=True, text=True, timeout=5, check=False
        )
    except (OSError, subprocess.SubprocessError):
        return ""
    return done.stdout


@dataclass
class Getty:
    """Whether systemd's getty on a VT has yet to reset it to text mode."""

    systemctl: Callable[[Sequence[str]], str] = _systemctl
    proc: Path = field(default_factory=lambda: Path("/proc"))

    def settling(self, terminal: str) -> bool:
        """True while ``getty@<vt>.service`` has a job queued or has not run agetty yet.

        Until its program runs, systemd's child is ``systemd`` (just forked),
        ``systemd-executor`` (systemd 255 and later, cut to 15 characters in
        ``/proc/PID/comm``), then ``(agetty)`` while it sets up, waits out
        ``Type=idle`` and resets the VT; then it runs agetty (or, with autologin, login
        and a shell).
        """
        unit = f"getty@{os.path.basename(terminal)}.service"
        props = {}
        for line in self.systemctl(
            ["show", unit, "-p", "Job", "-p", "ActiveState", "-p", "MainPID"]
        ).splitlines():
            key, _, value = line.partition("=")
            props[key] = value.strip()
        if props.get("Job") or props.get("ActiveState") == "activating":
            return True
        pid = props.get("MainPID", "0")
        if props.get("ActiveState") != "active" or not pid.isdigit() or pid == "0":
            return False
        try:
            comm = (self.proc / pid / "comm").read_text()
        except OSError:
            return False
        return comm.startswith(("(", "systemd"))


@dataclass
class Console:
    """The two steps, with every system interface injectable for tests."""

    tty_dir: Path = field(default_factory=lambda: Path("/dev"))
    active_vt: Path = vt.ACTIVE_VT
    note: Path = vt.SERVICE_NOTE
    paths: MachinePaths = SYSTEM
    ioctl: vt.Ioctl = fcntl.ioctl
    getty: Getty = field(default_factory=Getty)
    sleep: Callable[[float], None] = time.sleep
    clock: Callable[[], float] = time.monotonic

    def graphics(self, spec: str) -> None:
        """Graphics mode on the VT the screen shows, unless convlens will not draw there."""
        reason = leave_alone_reason(spec, self.paths)
        if reason is not None:
            self.note.unlink(missing_ok=True)
            log.info("console: left as it is: %s", reason)
            return
        if not (self.tty_dir / "tty0").exists():
            log.info(
                "console: no virtual terminal here (no %s): nothing to switch",
                self.tty_dir / "tty0",
            )
            return
        try:
            terminal = vt.active_terminal(self.tty_dir, self.active_vt, self.ioctl)
        except OSError as exc:
            log.warning("console: cannot tell which virtual terminal is shown (%s)", exc)
            return
        self._wait_for_getty(terminal)
        try:
            # The note first: if this step dies after the switch, the stop step still
            # knows which VT to give back.
            self.note.write_text(terminal + "\n")
            self.note.chmod(0o644)  # the unit's UMask=0077; the main process reads it
            vt.switch_terminal(terminal, vt.KD_GRAPHICS, self.ioctl)
        except OSError as exc:
            self.note.unlink(missing_ok=True)
            log.warning(
                "console: cannot switch %s to graphics mode (%s); its text may show through",
                terminal,
                vt.error_text(exc),
            )
            return
        log.info(
            "console: %s in graphics mode while convlens runs (no login prompt, "
            "boot text or cursor over the picture)",
            terminal,
        )

    def _wait_for_getty(self, terminal: str) -> None:
        started = self.clock()
        while self.getty.settling(terminal):
            waited = self.clock() - started
            if waited >= GETTY_WAIT_S:
                log.warning(
                    "console: the getty on %s is still starting after %.0f s; "
                    "switching anyway (it may bring the text back)",
                    terminal,
                    waited,
                )
                return
            self.sleep(0.2)
        if self.clock() - started >= 0.2:
            log.info(
                "console: waited %.1f s for the getty on %s to reset it first",
                self.clock() - started,
                terminal,
            )

    def text(self) -> None:
        """Text mode again on the VT ``graphics`` switched; nothing when it switched none."""
        terminal = vt.read_note(self.note)
        if terminal is not None and Path(terminal).parent != self.tty_dir:
            terminal = None  # only a VT in /dev, whatever the note says
        if terminal is None:
            log.info("console: nothing to give back (convlens did not switch it)")
            return
        try:
            vt.switch_terminal(terminal, vt.KD_TEXT, self.ioctl)
        except OSError as exc:
            log.warning(
                "console: cannot give %s back to text mode (%s)", terminal, vt.error_text(exc)
            )
        else:
            log.info("console: %s back in text mode", terminal)
        self.note.unlink(missing_ok=True)


def _add_arguments(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    parser.add_argument(
        "mode",
        choices=("graphics", "text"),
        help="graphics: before convlens starts; text: after it stops",
    )
    return parser


def add_console_parser(sub: argparse._SubParsersAction, common: Callable) -> None:
    """``convlens console graphics|text``: the same steps, for a person (with sudo)."""
    help_text = "keep the text console off the screen (the service runs it as root)"
    _add_arguments(common(sub.add_parser("console", help=help_text)))


def command_console(args: argparse.Namespace, console: Console | None = None) -> int:
    """Run one step; 0 whatever happened to the console (it never fails the unit)."""
    console = console or Console()
    if args.mode == "text":
        console.text()
        return 0
    from app.config import load_config  # only here: the stop step does without it
    from app.errors import ConfigError

    try:
        spec = load_config(args.config).display.spec
    except ConfigError:
        # convlens run stops on the same error in a moment and names it; once is enough.
        log.info("console: left as it is: the config has an error (convlens run says which)")
        return 0
    console.graphics(spec)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """``python -I -m app.console_mode graphics|text``: what the unit runs, as root.

    Not through ``convlens``: this imports only what the steps need (the stop step runs
    within the unit's TimeoutStopSec=, on a Pi Zero too), and ``-I`` keeps the current
    directory (the service's writable /var/lib/convlens) and PYTHON* variables out of
    the path of a process that runs as root.
    """
    from app.logging_setup import configure_logging

    parser = argparse.ArgumentParser(
        prog="python -I -m app.console_mode",
        description="Keep the text console off the screen while convlens runs.",
    )
    parser.add_argument("--config", metavar="FILE", help="convlens's TOML config")
    args = _add_arguments(parser).parse_args(argv)
    configure_logging("info")
    return command_console(args)


if __name__ == "__main__":
    raise SystemExit(main())
