"""Keys from every keyboard attached to the Pi, read from /dev/input/event* without python-evdev.

Each read gives whole ``struct input_event`` records (a ``struct timeval``, then
u16 type, u16 code, s32 value, in native sizes). Keyboards are found through
sysfs (``/sys/class/input/eventN/device/capabilities/key``), reopened on a
periodic rescan (hot-plug), and dropped when they vanish (ENODEV or end of file).
Reading needs membership of the ``input`` group, not root. Keycodes become key
names with the console's layout (``app.controls.keymap``).

While convlens owns the screen (``grab=True``), each keyboard is grabbed with
``EVIOCGRAB``: the kernel then hands its keys to convlens only, so they are not also
typed into the login prompt or a shell behind the picture. Closing the device (or the
process ending) releases the grab.
"""

from __future__ import annotations

import errno
import fcntl
import logging
import os
import select
import struct
import threading
import time
from pathlib import Path

from app.controls.actions import ActionQueue
from app.controls.keymap import KEY_REPEAT, Keymap, KeyState, load_keymap

log = logging.getLogger(__name__)

#: struct input_event with native long sizes: 24 bytes on 64-bit, 16 on 32-bit.
INPUT_EVENT = struct.Struct("@llHHi")
EV_KEY = 1

#: _IOW('E', 0x90, int) from linux/input.h: (1 << 30) | (sizeof(int) << 16) | ('E' << 8) | 0x90;
#: the same number on x86-64 and arm64 (asm-generic/ioctl.h).
EVIOCGRAB = 0x40044590
#: Keys every keyboard has in the lowest capability word (bits 0-31, whatever the
#: kernel's word size): Esc, Q, W, E, A, S.
_KEYBOARD_BITS = (1, 16, 17, 18, 30, 31)


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


class _Device:
    def __init__(self, path: str, fd: int, keys: KeyState) -> None:
        self.path = path
        self.fd = fd
        self.buffer = b""
        self.keys = keys  # this keyboard's modifiers (shift, AltGr, caps lock)
        self.grabbed = False


def _set_grab(fd: int, grab: bool) -> None:
    """EVIOCGRAB on or off; a separate function so tests can stand in for the kernel."""
    fcntl.ioctl(fd, EVIOCGRAB, 1 if grab else 0)


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
        keymap: keycodes to key names; None loads the console's layout at ``start``.
        grab: grab each keyboard (EVIOCGRAB) so its keys reach convlens only; for when
            convlens owns the screen (HDMI, framebuffer), never under a desktop.

    Key presses and auto-repeats act (holding an arrow keeps moving the ROI);
    releases only update the modifiers.
    """

    def __init__(
        self,
        queue: ActionQueue,
        *,
        dev_dir: str | os.PathLike = "/dev/input",
        sysfs_dir: str | os.PathLike = "/sys/class/input",
        rescan_interval: float = 2.0,
        keymap: Keymap | None = None,
        grab: bool = False,
    ) -> None:
        self.queue = queue
        self.dev_dir = Path(dev_dir)
        self.sysfs_dir = Path(sysfs_dir)
        self.rescan_interval = rescan_interval
        self.keymap = keymap
        self.grab = grab
        self._devices: dict[str, _Device] = {}
        self._refused: set[str] = set()
        self._grab_refused: set[str] = set()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def device_paths(self) -> list[str]:
        """Paths of the keyboards being read now."""
        return sorted(self._devices)

    def start(self) -> None:
        """Open the keyboards there are now and start reading them (and looking for more)."""
        self._stop.clear()
        self._keymap()  # the layout's log line comes before the keyboards'
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
            fd = self._open(path)
            if fd is None:
                continue
            self._refused.discard(path)
            device = _Device(path, fd, self._keymap().new_state())
            self._devices[path] = device
            if self.grab:
                self._grab(device)
            log.info("reading keyboard %s%s", path, " (grabbed)" if device.grabbed else "")

    def _keymap(self) -> Keymap:
        if self.keymap is None:
            self.keymap = load_keymap()
        return self.keymap

    def _open(self, path: str) -> int | None:
        flags = os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0)
        try:
            try:
                # Read-write when grabbing, as the unit's DeviceAllow grants; the kernel
                # allows EVIOCGRAB on a read-only descriptor too, so fall back to that.
                return os.open(path, flags | (os.O_RDWR if self.grab else os.O_RDONLY))
            except PermissionError:
                if not self.grab:
                    raise
                return os.open(path, flags | os.O_RDONLY)
        except PermissionError:
            if path not in self._refused:
                self._refused.add(path)
                log.warning(
                    "cannot read keyboard %s: permission denied (add the user to the "
                    "'input' group)",
                    path,
                )
        except OSError as exc:
            log.debug("cannot open %s: %s", path, exc)
        return None

    def set_grab(self, grab: bool) -> None:
        """Grab every keyboard (a display that owns the screen took over) or release them."""
        self.grab = grab
        for device in list(self._devices.values()):
            if grab and not device.grabbed:
                self._grab(device)
            elif not grab and device.grabbed:
                try:
                    _set_grab(device.fd, False)
                except OSError as exc:
                    log.debug("releasing the grab on %s: %s", device.path, exc)
                device.grabbed = False
        log.info("keyboards %s", "grabbed" if grab else "released")

    def _grab(self, device: _Device) -> None:
        try:
            _set_grab(device.fd, True)
        except OSError as exc:
            if device.path not in self._grab_refused:
                self._grab_refused.add(device.path)
                log.warning(
                    "keyboard %s: cannot grab it (%s); its keys also reach the console",
                    device.path,
                    os.strerror(exc.errno) if exc.errno else exc,
                )
            return
        device.grabbed = True

    def _drop(self, device: _Device, why: str) -> None:
        self._devices.pop(device.path, None)
        if device.grabbed:
            try:
                _set_grab(device.fd, False)
            except OSError as exc:  # an unplugged device is released by the kernel anyway
                log.debug("releasing the grab on %s: %s", device.path, exc)
            device.grabbed = False
        device.keys.close()
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
        name = device.keys.feed(code, value)
        if name is None:
            return
        action = self.queue.put_key(name, repeat=value == KEY_REPEAT)
        if action is not None:
            # The action only: the key itself would put what is typed (a password on
            # a shared keyboard) in the journal.
            log.debug("keyboard %s: %s", device.path, action)
