"""Keep the Linux text console off the screen while convlens draws on it, and give it back.

The kernel's console (fbcon) draws the login prompt, boot messages and a blinking cursor
on the same framebuffer convlens writes to. ``KDSETMODE KD_GRAPHICS`` on the active
virtual terminal stops it drawing (cursor included) until the mode is set back to text,
as X servers and Wayland compositors do. The ioctl needs the VT as the caller's
controlling terminal or ``CAP_SYS_TTY_CONFIG`` (drivers/tty/vt/vt_ioctl.c), and opening
``/dev/ttyN`` needs the ``tty`` group; without them one log line says the console may
show through, and convlens carries on.
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
_HIDE_CURSOR, _SHOW_CURSOR = b"\x1b[?25l", b"\x1b[?25h"

Ioctl = Callable[[int, int, Any], Any]


#: Names the foreground VT ("tty1"); world-readable, unlike /dev/tty0 (root:tty 0620).
ACTIVE_VT = Path("/sys/class/tty/tty0/active")


class ConsoleGraphicsMode:
    """Switches the active VT to graphics mode on ``enter`` and restores it on ``leave``.

    The VT is opened write-only: ``/dev/ttyN`` is ``root:tty`` mode 0620, so a member of
    the ``tty`` group may write to it (the ioctls work on such a descriptor too).

    Args:
        tty_dir: where ``tty0`` (the current console) and ``ttyN`` are.
        active_vt: the sysfs file naming the foreground VT; when it cannot be read, the
            ``VT_GETSTATE`` ioctl on ``tty0`` answers.
        ioctl: ``fcntl.ioctl``; injectable so tests need no real terminal.
    """

    def __init__(
        self,
        tty_dir: str | os.PathLike = "/dev",
        *,
        active_vt: str | os.PathLike = ACTIVE_VT,
        ioctl: Ioctl = fcntl.ioctl,
    ):
        self.tty_dir = Path(tty_dir)
        self.active_vt = Path(active_vt)
        self._ioctl = ioctl
        self._fd: int | None = None
        self._saved_mode = KD_TEXT
        #: The VT switched to graphics mode (e.g. ``/dev/tty1``), or None.
        self.terminal: str | None = None

    def enter(self) -> bool:
        """Graphics mode on the active VT; False (after one log line) when it cannot be."""
        if self._fd is not None:
            return True
        path = str(self.tty_dir / "tty0")
        fd = None
        try:
            path = self._active_terminal()
            fd = os.open(path, os.O_WRONLY | os.O_NOCTTY | getattr(os, "O_CLOEXEC", 0))
            raw = self._ioctl(fd, KDGETMODE, bytes(_INT.size))
            self._saved_mode = _INT.unpack(raw)[0]
            os.write(fd, _HIDE_CURSOR)
            self._ioctl(fd, KDSETMODE, KD_GRAPHICS)
        except OSError as exc:
            if fd is not None:
                os.close(fd)
            reason = os.strerror(exc.errno) if exc.errno else str(exc)
            log.warning(
                "console: cannot switch %s to graphics mode (%s); its text and cursor may "
                "show through (needs the tty group, and CAP_SYS_TTY_CONFIG or the VT as the "
                "service's terminal)",
                path,
                reason,
            )
            return False
        self._fd, self.terminal = fd, path
        log.info("console %s in graphics mode while convlens draws", path)
        return True

    def _active_terminal(self) -> str:
        try:
            name = self.active_vt.read_text().strip()
        except OSError:
            name = ""
        if name.startswith("tty") and name[3:].isdigit():
            return str(self.tty_dir / name)
        flags = os.O_WRONLY | os.O_NOCTTY | getattr(os, "O_CLOEXEC", 0)
        fd = os.open(self.tty_dir / "tty0", flags)
        try:
            raw = self._ioctl(fd, VT_GETSTATE, bytes(_VT_STAT.size))
        finally:
            os.close(fd)
        active = _VT_STAT.unpack(raw)[0]
        return str(self.tty_dir / f"tty{active}")

    def leave(self) -> None:
        """Back to the mode the VT had (text), cursor shown; harmless when not entered."""
        fd, self._fd = self._fd, None
        if fd is None:
            return
        try:
            self._ioctl(fd, KDSETMODE, self._saved_mode)
            os.write(fd, _SHOW_CURSOR)
        except OSError as exc:
            log.warning("console: cannot restore %s to text mode (%s)", self.terminal, exc)
        finally:
            os.close(fd)
        log.info("console %s back in text mode", self.terminal)
        self.terminal = None
