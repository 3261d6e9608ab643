"""Keep the Linux text console off the screen while convlens draws on it, and give it back.

The kernel's console (fbcon) draws the login prompt, boot messages and a blinking cursor
on the same framebuffer convlens writes to. ``KDSETMODE KD_GRAPHICS`` on the active
virtual terminal stops it drawing (cursor included) until the mode is set back to text,
as X servers and Wayland compositors do. The mode is the VT's own kernel state: it stays
after the descriptor that set it is closed, until someone sets it back.

The ioctl needs the VT as the caller's controlling terminal or ``CAP_SYS_TTY_CONFIG`` in
the initial user namespace (``vt_ioctl`` in drivers/tty/vt/vt_ioctl.c), and opening
``/dev/ttyN`` needs the ``tty`` group. The service's main process has neither: there the
switch is made by ``convlens console graphics`` (app/console_mode.py), a privileged step
of the unit, which leaves a note in :data:`SERVICE_NOTE` so that the display knows the
console is already off. Run by hand with the rights (root, or the ``tty`` group and the
capability), :class:`ConsoleGraphicsMode` does it itself; without either, one log line
says the console may show through, and convlens carries on.
"""

from __future__ import annotations

import fcntl
import logging
import os
import struct
from collections.abc import Callable
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

# linux/vt.h and linux/kd.h (checked against the headers with a C printf).
VT_GETSTATE = 0x5603
KDGETMODE = 0x4B3B
KDSETMODE = 0x4B3A
KD_TEXT, KD_GRAPHICS = 0, 1
#: struct vt_stat: unsigned short v_active, v_signal, v_state.
_VT_STAT = struct.Struct("=HHH")
_INT = struct.Struct("=i")
HIDE_CURSOR, SHOW_CURSOR = b"\x1b[?25l", b"\x1b[?25h"
# Non-blocking: a console whose output is stopped (Scroll Lock, ^S) would otherwise
# hold a write, and with it the service's start, for ever.
_WRITE_ONLY = os.O_WRONLY | os.O_NOCTTY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0)

Ioctl = Callable[[int, int, Any], Any]

#: Names the foreground VT ("tty1"); world-readable, unlike /dev/tty0 (root:tty 0620).
ACTIVE_VT = Path("/sys/class/tty/tty0/active")
#: Written (root-owned, in /run) by ``convlens console graphics`` before it switches a VT
#: to graphics mode: that VT's path. ``convlens console text`` gives that VT back and
#: removes the note. Not in a directory the service user may write: the privileged
#: step trusts only what root wrote.
SERVICE_NOTE = Path("/run/convlens-console")


def active_terminal(
    tty_dir: str | os.PathLike = "/dev",
    active_vt: str | os.PathLike = ACTIVE_VT,
    ioctl: Ioctl = fcntl.ioctl,
) -> str:
    """The foreground VT's device (``/dev/tty1``).

    Read from sysfs; when that cannot be read, the ``VT_GETSTATE`` ioctl on ``tty0``
    answers. Raises OSError when there is no VT at all (no ``tty0``: a container, a
    kernel without ``CONFIG_VT``).
    """
    tty_dir = Path(tty_dir)
    try:
        name = Path(active_vt).read_text().strip()
    except OSError:
        name = ""
    if name.startswith("tty") and name[3:].isdigit():
        return str(tty_dir / name)
    fd = os.open(tty_dir / "tty0", _WRITE_ONLY)
    try:
        raw = ioctl(fd, VT_GETSTATE, bytes(_VT_STAT.size))
    finally:
        os.close(fd)
    return str(tty_dir / f"tty{_VT_STAT.unpack(raw)[0]}")


def open_terminal(path: str | os.PathLike) -> int:
    """``path`` opened write-only, never as the controlling terminal.

    ``/dev/ttyN`` is ``root:tty`` mode 0620: the ``tty`` group may write to it, and the
    VT ioctls work on such a descriptor too.
    """
    return os.open(path, _WRITE_ONLY)


def get_mode(fd: int, ioctl: Ioctl = fcntl.ioctl) -> int:
    """KD_TEXT or KD_GRAPHICS: the VT's mode now."""
    return _INT.unpack(ioctl(fd, KDGETMODE, bytes(_INT.size)))[0]


def set_mode(fd: int, mode: int, ioctl: Ioctl = fcntl.ioctl) -> None:
    """Switch the VT to ``mode``; the cursor hidden for graphics, shown for text."""
    if mode == KD_GRAPHICS:
        _write_if_possible(fd, HIDE_CURSOR)
        ioctl(fd, KDSETMODE, KD_GRAPHICS)
    else:
        ioctl(fd, KDSETMODE, mode)
        _write_if_possible(fd, SHOW_CURSOR)


def switch_terminal(path: str | os.PathLike, mode: int, ioctl: Ioctl = fcntl.ioctl) -> None:
    """Open the VT at ``path``, switch it to ``mode`` (``set_mode``) and close it.

    Raises:
        OSError: the VT cannot be opened or switched.
    """
    fd = open_terminal(path)
    try:
        set_mode(fd, mode, ioctl)
    finally:
        os.close(fd)


def _write_if_possible(fd: int, data: bytes) -> None:
    """The cursor's escape sequence; skipped when the console's output is stopped."""
    try:
        os.write(fd, data)
    except BlockingIOError:
        log.debug("console: output stopped; cursor sequence %r not written", data)


def read_note(note: str | os.PathLike = SERVICE_NOTE) -> str | None:
    """The VT the service's privileged step switched to graphics mode, or None."""
    try:
        text = Path(note).read_text().strip()
    except (OSError, UnicodeDecodeError):
        return None
    name = os.path.basename(text)
    return text if name.startswith("tty") and name[3:].isdigit() else None


def error_text(exc: OSError) -> str:
    """``exc`` as its system message ("Permission denied")."""
    return os.strerror(exc.errno) if exc.errno else str(exc)


class ConsoleGraphicsMode:
    """Switches the active VT to graphics mode on ``enter`` and restores it on ``leave``.

    Args:
        tty_dir: where ``tty0`` (the current console) and ``ttyN`` are.
        active_vt: the sysfs file naming the foreground VT; when it cannot be read, the
            ``VT_GETSTATE`` ioctl on ``tty0`` answers.
        ioctl: ``fcntl.ioctl``; injectable so tests need no real terminal.
        note: the service's note (:data:`SERVICE_NOTE`): when this process may not
            switch the VT but the note names it, the console is already off.
    """

    def __init__(
        self,
        tty_dir: str | os.PathLike = "/dev",
        *,
        active_vt: str | os.PathLike = ACTIVE_VT,
        ioctl: Ioctl = fcntl.ioctl,
        note: str | os.PathLike = SERVICE_NOTE,
    ):
        self.tty_dir = Path(tty_dir)
        self.active_vt = Path(active_vt)
        self.note = Path(note)
        self._ioctl = ioctl
        self._fd: int | None = None
        self._saved_mode = KD_TEXT
        #: The VT switched to graphics mode (e.g. ``/dev/tty1``), or None.
        self.terminal: str | None = None

    def enter(self) -> bool:
        """Graphics mode on the active VT; False (after one log line) when it is not."""
        if self._fd is not None:
            return True
        path = str(self.tty_dir / "tty0")
        fd = None
        try:
            path = active_terminal(self.tty_dir, self.active_vt, self._ioctl)
            fd = open_terminal(path)
            self._saved_mode = get_mode(fd, self._ioctl)
            set_mode(fd, KD_GRAPHICS, self._ioctl)
        except OSError as exc:
            if fd is not None:
                os.close(fd)
            return self._switched_by_the_service(path, error_text(exc))
        self._fd, self.terminal = fd, path
        log.info("console %s in graphics mode while convlens draws", path)
        return True

    def _switched_by_the_service(self, path: str, reason: str) -> bool:
        if read_note(self.note) == path:
            log.info(
                "console %s kept in graphics mode by the service (convlens console graphics)",
                path,
            )
            return True
        log.warning(
            "console: cannot switch %s to graphics mode (%s); its text and cursor may "
            "show through (needs the tty group, and CAP_SYS_TTY_CONFIG or the VT as the "
            "process's terminal; the service does it with `convlens console graphics`)",
            path,
            reason,
        )
        return False

    def leave(self) -> None:
        """Back to the mode the VT had (text), cursor shown; harmless when not entered."""
        fd, self._fd = self._fd, None
        if fd is None:
            return
        try:
            set_mode(fd, self._saved_mode, self._ioctl)
        except OSError as exc:
            log.warning("console: cannot restore %s to text mode (%s)", self.terminal, exc)
        finally:
            os.close(fd)
        log.info("console %s back in text mode", self.terminal)
        self.terminal = None
