"""Keys from every keyboard attached to the Pi, read from /dev/input/event* without python-evdev.

Each read gives whole ``struct input_event`` records (a ``struct timeval``, then
u16 type, u16 code, s32 value, in native sizes). Keyboards are found through
sysfs (``/sys/class/input/eventN/device/capabilities/key``), reopened on a
periodic rescan (hot-plug), and dropped when they vanish (ENODEV or end of file).
Reading needs membership of the ``input`` group, not root. Keycodes are mapped
with a US layout, the same as the Linux console's default.
"""

from __future__ import annotations

import errno
import logging
import os
import select
import struct
import threading
import time
from pathlib import Path

from app.controls.actions import ActionQueue

log = logging.getLogger(__name__)

#: struct input_event with native long sizes: 24 bytes on 64-bit, 16 on 32-bit.
INPUT_EVENT = struct.Struct("@llHHi")
EV_KEY = 1
KEY_RELEASE, KEY_PRESS, KEY_REPEAT = 0, 1, 2

# Linux keycodes (include/uapi/linux/input-event-codes.h).
KEY_ESC = 1
KEY_TAB = 15
KEY_LEFTSHIFT = 42
KEY_RIGHTSHIFT = 54
KEY_SPACE = 57
KEY_UP, KEY_LEFT, KEY_RIGHT, KEY_DOWN = 103, 105, 106, 108
KEY_KPMINUS, KEY_KPPLUS = 74, 78

_ROWS = {2: "1234567890", 16: "qwertyuiop", 30: "asdfghjkl", 44: "zxcvbnm"}
_SHIFTED_DIGITS = dict(zip("1234567890", "!@#$%^&*()", strict=True))
#: keycode -> (key name, key name with shift).
KEYMAP: dict[int, tuple[str, str]] = {}
for _start, _chars in _ROWS.items():
    for _offset, _char in enumerate(_chars):
        _shifted = _SHIFTED_DIGITS.get(_char, _char.upper())
        KEYMAP[_start + _offset] = (_char, _shifted)
KEYMAP.update(
    {
        KEY_ESC: ("Escape", "Escape"),
        12: ("-", "_"),
        13: ("=", "+"),
        KEY_TAB: ("Tab", "Shift+Tab"),
        26: ("[", "{"),
        27: ("]", "}"),
        28: ("Enter", "Enter"),
        53: ("/", "?"),
        KEY_SPACE: (" ", " "),
        KEY_KPMINUS: ("-", "-"),
        KEY_KPPLUS: ("+", "+"),
        KEY_UP: ("ArrowUp", "ArrowUp"),
        KEY_LEFT: ("ArrowLeft", "ArrowLeft"),
        KEY_RIGHT: ("ArrowRight", "ArrowRight"),
        KEY_DOWN: ("ArrowDown", "ArrowDown"),
    }
)
#: Keys every keyboard has in the lowest capability word (bits 0-31, whatever the
#: kernel's word size): Esc, Q, W, E, A, S.
_KEYBOARD_BITS = (KEY_ESC, 16, 17, 18, 30, 31)


def is_keyboard_capability(text: str) -> bool:
    """True when a sysfs ``capabilities/key`` bitmap (hex words, highest first) has letter keys."""
    words = text.split()
    if not words:
        return False
    try:
        lowest = int(words[-1], 16)
    except ValueError:
        return False
    return all(lowest >> bit & 1 for bit in _KEYBOARD_BITS)


def key_name(code: int, shift: bool) -> str | None:
    """The key name for a keycode (US layout), or None for keys convlens does not use."""
    names = KEYMAP.get(code)
    if names is None:
        return None
    return names[1] if shift else names[0]


class _Device:
    def __init__(self, path: str, fd: int) -> None:
        self.path = path
        self.fd = fd
        self.buffer = b""
        self.shift = 0  # number of shift keys held on this keyboard


def _read(fd: int) -> bytes:
    """One read from a device; a separate function so tests can make a device vanish."""
    return os.read(fd, INPUT_EVENT.size * 64)


class EvdevInput:
    """Reads every keyboard on a thread and puts the actions of pressed keys on ``queue``.

    Args:
        queue: where actions go.
        dev_dir: where ``eventN`` device nodes are.
        sysfs_dir: ``/sys/class/input``; keyboards are the ``eventN`` whose
            ``device/capabilities/key`` has letter keys. When it does not exist,
            every ``eventN`` the user can open is read.
        rescan_interval: seconds between looks for new or vanished keyboards.

    Key presses and auto-repeats act (holding an arrow keeps moving the ROI);
    releases only track shift.
    """

    def __init__(
        self,
        queue: ActionQueue,
        *,
        dev_dir: str | os.PathLike = "/dev/input",
        sysfs_dir: str | os.PathLike = "/sys/class/input",
        rescan_interval: float = 2.0,
    ) -> None:
        self.queue = queue
        self.dev_dir = Path(dev_dir)
        self.sysfs_dir = Path(sysfs_dir)
        self.rescan_interval = rescan_interval
        self._devices: dict[str, _Device] = {}
        self._refused: set[str] = set()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def device_paths(self) -> list[str]:
        """Paths of the keyboards being read now."""
        return sorted(self._devices)

    def start(self) -> None:
        """Open the keyboards there are now and start reading them (and looking for more)."""
        self._stop.clear()
        self.rescan()
        if not self._devices:
            log.info(
                "no keyboard under %s yet; looking again every %.0f s",
                self.dev_dir,
                self.rescan_interval,
            )
        self._thread = threading.Thread(target=self._run, name="evdev-keys")
        self._thread.start()

    def stop(self) -> None:
        """Stop the thread and close every device."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        for device in list(self._devices.values()):
            self._drop(device, "stopping")

    def __enter__(self) -> EvdevInput:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # --- discovery -----------------------------------------------------------

    def keyboard_names(self) -> list[str]:
        """``eventN`` names that are keyboards (by sysfs, or every node when sysfs is absent)."""
        if self.sysfs_dir.is_dir():
            names = []
            for entry in sorted(self.sysfs_dir.glob("event*")):
                try:
                    caps = (entry / "device" / "capabilities" / "key").read_text()
                except OSError:
                    continue
                if is_keyboard_capability(caps):
                    names.append(entry.name)
            return names
        return sorted(p.name for p in self.dev_dir.glob("event*"))

    def rescan(self) -> None:
        """Open new keyboards; close ones whose device node is gone."""
        for path, device in list(self._devices.items()):
            if not os.path.exists(path):
                self._drop(device, "removed")
        for name in self.keyboard_names():
            path = str(self.dev_dir / name)
            if path in self._devices or not os.path.exists(path):
                continue
            try:
                fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
            except PermissionError:
                if path not in self._refused:
                    self._refused.add(path)
                    log.warning(
                        "cannot read keyboard %s: permission denied (add the user to the "
                        "'input' group)",
                        path,
                    )
                continue
            except OSError as exc:
                log.debug("cannot open %s: %s", path, exc)
                continue
            self._refused.discard(path)
            self._devices[path] = _Device(path, fd)
            log.info("reading keyboard %s", path)

    def _drop(self, device: _Device, why: str) -> None:
        self._devices.pop(device.path, None)
        try:
            os.close(device.fd)
        except OSError as exc:
            log.debug("closing %s: %s", device.path, exc)
        log.info("keyboard %s closed (%s)", device.path, why)

    # --- reading -------------------------------------------------------------

    def _run(self) -> None:
        next_scan = time.monotonic() + self.rescan_interval
        while not self._stop.is_set():
            if time.monotonic() >= next_scan:
                self.rescan()
                next_scan = time.monotonic() + self.rescan_interval
            devices = list(self._devices.values())
            if not devices:
                self._stop.wait(min(0.2, self.rescan_interval))
                continue
            timeout = max(0.0, min(0.2, next_scan - time.monotonic()))
            try:
                readable, _, _ = select.select([d.fd for d in devices], [], [], timeout)
            except OSError as exc:
                log.debug("select failed (%s); rescanning", exc)
                next_scan = 0.0
                continue
            for device in devices:
                if device.fd in readable:
                    self._read_device(device)

    def _read_device(self, device: _Device) -> None:
        try:
            data = _read(device.fd)
        except BlockingIOError:
            return
        except OSError as exc:
            if exc.errno == errno.ENODEV:
                self._drop(device, "unplugged")
            else:
                self._drop(device, os.strerror(exc.errno or 0))
            return
        if not data:
            self._drop(device, "end of file")
            return
        buffer = device.buffer + data
        whole = len(buffer) - len(buffer) % INPUT_EVENT.size
        device.buffer = buffer[whole:]
        for _sec, _usec, ev_type, code, value in INPUT_EVENT.iter_unpack(buffer[:whole]):
            if ev_type == EV_KEY:
                self._key_event(device, code, value)

    def _key_event(self, device: _Device, code: int, value: int) -> None:
        if code in (KEY_LEFTSHIFT, KEY_RIGHTSHIFT):
            if value == KEY_PRESS:
                device.shift += 1
            elif value == KEY_RELEASE:
                device.shift = max(0, device.shift - 1)
            return
        if value not in (KEY_PRESS, KEY_REPEAT):
            return
        name = key_name(code, device.shift > 0)
        if name is None:
            return
        action = self.queue.put_key(name)
        log.debug("keyboard %s: key %r -> %s", device.path, name, action)
