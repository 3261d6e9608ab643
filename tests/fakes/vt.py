"""A stand-in for the kernel's VT ioctls, and regular files standing in for /dev/ttyN."""

from __future__ import annotations

import errno
import os
import struct
from pathlib import Path

from app.display.vt import KD_TEXT, KDGETMODE, KDSETMODE, VT_GETSTATE


class FakeVt:
    """Answers the VT ioctls as the kernel would for VT ``active``; records KDSETMODE.

    Each call names the file the descriptor is open on, so a test sees which VT was
    switched; ``refuse`` makes KDSETMODE fail with that errno (EPERM: no capability).
    ``on_set`` runs before a KDSETMODE is answered (to look at the world at that moment).
    """

    def __init__(self, active: int = 3, mode: int = KD_TEXT, refuse: int | None = None):
        self.active, self.mode, self.refuse = active, mode, refuse
        self.calls: list[tuple[str, int | None]] = []
        self.on_set = None

    def __call__(self, fd: int, request: int, arg):
        name = os.readlink(f"/proc/self/fd/{fd}").rsplit("/", 1)[-1]
        if request == VT_GETSTATE:
            return struct.pack("=HHH", self.active, 0, 0b1110)
        if request == KDGETMODE:
            return struct.pack("=i", self.mode)
        if request == KDSETMODE:
            if self.on_set is not None:
                self.on_set(name, arg)
            if self.refuse is not None:
                raise OSError(self.refuse, os.strerror(self.refuse))
            self.calls.append((name, arg))
            self.mode = arg
            return 0
        raise OSError(errno.ENOTTY, "unexpected ioctl")


def terminals(directory: Path, count: int = 4) -> Path:
    """``tty0`` .. ``tty<count-1>`` as empty files in ``directory``."""
    for n in range(count):
        (directory / f"tty{n}").write_bytes(b"")
    return directory
