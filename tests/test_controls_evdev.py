"""Keyboard input from /dev/input/event*: real input_event bytes through FIFOs standing in."""

from __future__ import annotations

import errno
import fcntl
import logging
import os
import struct
import time
from pathlib import Path

import pytest

from app.controls import evdev_input
from app.controls.actions import ActionQueue
from app.controls.evdev_input import (
    EV_KEY,
    EVIOCGRAB,
    INPUT_EVENT,
    EvdevInput,
    is_keyboard_capability,
)
from app.controls.keymap import UsKeymap
from tests.keyboards import xkb_keymap
from tests.waiting import drain_until, wait_for

EV_SYN = 0
KEY_V, KEY_K, KEY_Q, KEY_Z, KEY_W = 47, 37, 16, 44, 17
KEY_LEFTSHIFT, KEY_UP = 42, 103
# A real keyboard's capabilities/key (64-bit kernel words) and a mouse's (buttons only).
KEYBOARD_CAPS = "1000000000007 ff9f207ac14057ff febeffdfffefffff fffffffffffffffe\n"
MOUSE_CAPS = "1f0000 0 0 0 0\n"


def event(ev_type: int, code: int, value: int) -> bytes:
    return INPUT_EVENT.pack(1_700_000_000, 123456, ev_type, code, value)


def press(code: int) -> bytes:
    """A key press as the kernel reports it: EV_KEY down, SYN, EV_KEY up, SYN."""
    return (
        event(EV_KEY, code, 1) + event(EV_SYN, 0, 0) + event(EV_KEY, code, 0) + event(EV_SYN, 0, 0)
    )


class FakeInput:
    """A /dev/input and /sys/class/input pair in tmp_path whose devices are FIFOs."""

    def __init__(self, root: Path) -> None:
        self.dev = root / "dev" / "input"
        self.sys = root / "sys" / "class" / "input"
        self.dev.mkdir(parents=True)
        self.sys.mkdir(parents=True)
        self.writers: dict[str, int] = {}

    def add(self, name: str, caps: str = KEYBOARD_CAPS) -> None:
        caps_dir = self.sys / name / "device" / "capabilities"
        caps_dir.mkdir(parents=True)
        (caps_dir / "key").write_text(caps)
        path = self.dev / name
        os.mkfifo(path)
        # O_RDWR never blocks on a FIFO and keeps a writer present, so the reader
        # sees data, not end-of-file, until the "device" is unplugged.
        self.writers[name] = os.open(path, os.O_RDWR)

    def send(self, name: str, data: bytes) -> None:
        os.write(self.writers[name], data)

    def unplug(self, name: str) -> None:
        os.close(self.writers.pop(name))
        (self.dev / name).unlink()
        for sub in sorted((self.sys / name).rglob("*"), reverse=True):
            sub.unlink() if sub.is_file() else sub.rmdir()
        (self.sys / name).rmdir()

    def close(self) -> None:
        for fd in self.writers.values():
            os.close(fd)


@pytest.fixture
def fake(tmp_path):
    fake = FakeInput(tmp_path)
    yield fake
    fake.close()


def make_input(fake: FakeInput, queue: ActionQueue, **kwargs) -> EvdevInput:
    kwargs.setdefault("keymap", UsKeymap())
    return EvdevInput(queue, dev_dir=fake.dev, sysfs_dir=fake.sys, rescan_interval=0.05, **kwargs)


def test_event_struct_is_the_kernel_layout():
    long_size = struct.calcsize("l")
    assert INPUT_EVENT.size == 2 * long_size + 8


def test_eviocgrab_is_iow_e_0x90_int():
    # asm-generic/ioctl.h: dir << 30 | size << 14+2 | type << 8 | nr, _IOC_WRITE = 1.
    iow = (1 << 30) | (struct.calcsize("i") << 16) | (ord("E") << 8) | 0x90
    assert EVIOCGRAB == iow == 0x40044590  # 0x40044590: printf of EVIOCGRAB from linux/input.h


def test_capability_detection():
    assert is_keyboard_capability(KEYBOARD_CAPS)
    assert is_keyboard_capability("fffffffe")  # a 32-bit kernel's lowest word
    assert not is_keyboard_capability(MOUSE_CAPS)
    assert not is_keyboard_capability("")
    assert not is_keyboard_capability("zz")


def test_only_keyboards_are_opened_and_keys_become_actions(fake):
    fake.add("event0", MOUSE_CAPS)
    fake.add("event3")
    queue = ActionQueue()
    keys = make_input(fake, queue)
    keys.start()
    try:
        assert keys.device_paths == [str(fake.dev / "event3")]
        fake.send("event3", press(KEY_V) + press(KEY_K))
        # shift held: K and V become previous kernel / previous view; repeat acts too.
        fake.send(
            "event3",
            event(EV_KEY, KEY_LEFTSHIFT, 1)
            + press(KEY_K)
            + event(EV_KEY, KEY_V, 1)
            + event(EV_KEY, KEY_V, 2)
            + event(EV_KEY, KEY_V, 0)
            + event(EV_KEY, KEY_LEFTSHIFT, 0),
        )
        fake.send("event3", press(KEY_UP))
        got = drain_until(queue, 6)
    finally:
        keys.stop()
    assert got == ["next_view", "next_kernel", "prev_kernel", "prev_view", "prev_view", "roi_up"]
    assert keys.device_paths == []


def test_events_split_across_reads(fake):
    fake.add("event1")
    queue = ActionQueue()
    with make_input(fake, queue):
        data = press(KEY_Q)
        fake.send("event1", data[:5])
        time.sleep(0.05)
        fake.send("event1", data[5:])
        assert drain_until(queue, 1) == ["quit"]


def test_hot_plug_and_unplug(fake):
    queue = ActionQueue()
    keys = make_input(fake, queue)
    keys.start()
    try:
        assert keys.device_paths == []
        fake.add("event5")
        assert wait_for(lambda: keys.device_paths == [str(fake.dev / "event5")])
        fake.send("event5", press(KEY_K))
        assert drain_until(queue, 1) == ["next_kernel"]
        fake.unplug("event5")  # end of file, node and sysfs entry gone
        assert wait_for(lambda: keys.device_paths == [])
        fake.add("event6")
        assert wait_for(lambda: keys.device_paths == [str(fake.dev / "event6")])
        fake.send("event6", press(KEY_V))
        assert drain_until(queue, 1) == ["next_view"]
    finally:
        keys.stop()


def test_enodev_closes_the_device(fake, monkeypatch):
    fake.add("event2")
    queue = ActionQueue()
    keys = make_input(fake, queue)
    keys.rescan_interval = 60.0  # no rescan: the device would be reopened
    real_read = evdev_input._read

    def vanishing_read(fd: int) -> bytes:
        real_read(fd)
        raise OSError(errno.ENODEV, "No such device")

    monkeypatch.setattr(evdev_input, "_read", vanishing_read)
    keys.start()
    try:
        fake.send("event2", press(KEY_V))
        assert wait_for(lambda: keys.device_paths == [])
        assert queue.drain() == []
    finally:
        keys.stop()


def test_unreadable_device_is_skipped_with_a_hint(fake, caplog, monkeypatch):
    fake.add("event4")
    real_open = os.open

    def refusing_open(path, flags, *args):
        if str(path).endswith("event4"):
            raise PermissionError(errno.EACCES, "Permission denied")
        return real_open(path, flags, *args)

    monkeypatch.setattr(evdev_input.os, "open", refusing_open)
    keys = make_input(fake, ActionQueue())
    keys.rescan()
    keys.rescan()
    monkeypatch.undo()
    assert keys.device_paths == []
    assert caplog.text.count("'input' group") == 1


class GrabRecorder:
    """Stands in for the EVIOCGRAB ioctl: records (fd, on) and can refuse like the kernel."""

    def __init__(self, error: int | None = None) -> None:
        self.calls: list[tuple[int, bool]] = []
        self.error = error

    def __call__(self, fd: int, grab: bool) -> None:
        if grab and self.error is not None:
            raise OSError(self.error, os.strerror(self.error))
        self.calls.append((fd, grab))


def test_grab_takes_each_keyboard_read_write_and_releases_it_on_stop(fake, monkeypatch):
    fake.add("event3")
    grabs = GrabRecorder()
    monkeypatch.setattr(evdev_input, "_set_grab", grabs)
    queue = ActionQueue()
    keys = make_input(fake, queue, grab=True)
    keys.start()
    try:
        [device] = keys._devices.values()
        assert device.grabbed
        assert fcntl.fcntl(device.fd, fcntl.F_GETFL) & os.O_ACCMODE == os.O_RDWR
        assert grabs.calls == [(device.fd, True)]
        fake.send("event3", press(KEY_K))
        assert drain_until(queue, 1) == ["next_kernel"]
    finally:
        keys.stop()
    assert grabs.calls == [(device.fd, True), (device.fd, False)]


def test_unplugged_keyboard_is_released_and_a_new_one_grabbed(fake, monkeypatch):
    grabs = GrabRecorder()
    monkeypatch.setattr(evdev_input, "_set_grab", grabs)
    keys = make_input(fake, ActionQueue(), grab=True)
    keys.start()
    try:
        fake.add("event5")
        assert wait_for(lambda: len(grabs.calls) == 1)
        fake.unplug("event5")
        assert wait_for(lambda: keys.device_paths == [])
        fd = grabs.calls[0][0]
        assert grabs.calls == [(fd, True), (fd, False)]
    finally:
        keys.stop()


def test_no_grab_unless_asked(fake, monkeypatch):
    fake.add("event3")
    grabs = GrabRecorder()
    monkeypatch.setattr(evdev_input, "_set_grab", grabs)
    keys = make_input(fake, ActionQueue())
    keys.start()
    keys.stop()
    assert grabs.calls == []


def test_a_refused_grab_is_one_log_line_and_keys_still_work(fake, caplog):
    # The real ioctl on a FIFO fails (ENOTTY), as a grab held by another program would
    # (EBUSY): one warning per keyboard, and the keys still act.
    fake.add("event3")
    queue = ActionQueue()
    keys = make_input(fake, queue, grab=True)
    keys.start()
    try:
        keys.rescan()
        fake.send("event3", press(KEY_V))
        assert drain_until(queue, 1) == ["next_view"]
        assert not keys._devices[str(fake.dev / "event3")].grabbed
    finally:
        keys.stop()
    assert caplog.text.count("cannot grab it") == 1
    assert "its keys also reach the console" in caplog.text


def test_grab_refused_with_ebusy_is_reported_by_name(fake, monkeypatch, caplog):
    fake.add("event3")
    monkeypatch.setattr(evdev_input, "_set_grab", GrabRecorder(errno.EBUSY))
    keys = make_input(fake, ActionQueue(), grab=True)
    keys.rescan()
    keys.stop()
    assert "cannot grab it (Device or resource busy)" in caplog.text


def test_debug_log_names_actions_never_the_keys_typed(fake, caplog):
    fake.add("event3")
    queue = ActionQueue()
    keys = make_input(fake, queue)
    caplog.set_level(logging.DEBUG, logger="app.controls.evdev_input")
    keys.start()
    try:
        # "zw" is bound to nothing, like most of a password; k is bound.
        fake.send("event3", press(KEY_Z) + press(KEY_W) + press(KEY_K))
        assert drain_until(queue, 1) == ["next_kernel"]
        time.sleep(0.05)
    finally:
        keys.stop()
    path = fake.dev / "event3"
    key_lines = [
        r.getMessage()
        for r in caplog.records
        if r.name == "app.controls.evdev_input" and r.levelno == logging.DEBUG
    ]
    assert key_lines == [f"keyboard {path}: next_kernel"]


def test_layout_reaches_the_actions(fake, tmp_path):
    # A Spanish keyboard: the key labelled + (KEY_RIGHTBRACE) grows the ROI, and
    # AltGr with it types ] (pool size +1), as printed on the keycap.
    fake.add("event3")
    queue = ActionQueue()
    keys = make_input(fake, queue, keymap=xkb_keymap("es"))
    keys.start()
    try:
        altgr = 100
        fake.send(
            "event3",
            press(27) + event(EV_KEY, altgr, 1) + press(27) + event(EV_KEY, altgr, 0),
        )
        assert drain_until(queue, 2) == ["roi_grow", "pool_size_up"]
    finally:
        keys.stop()


def test_auto_repeat_never_repeats_snapshot_or_quit(fake):
    """Holding space (value 2 repeats) takes one snapshot; a held arrow keeps moving."""
    fake.add("event3")
    queue = ActionQueue()
    keys = make_input(fake, queue)
    keys.start()
    try:
        space, escape = 57, 1
        held = event(EV_KEY, space, 1) + event(EV_KEY, space, 2) * 20 + event(EV_KEY, space, 0)
        fake.send("event3", held)
        fake.send("event3", event(EV_KEY, escape, 1) + event(EV_KEY, escape, 2) * 5)
        fake.send("event3", event(EV_KEY, KEY_UP, 1) + event(EV_KEY, KEY_UP, 2) * 3)
        got = drain_until(queue, 6)
        time.sleep(0.2)  # a repeated snapshot would arrive by now
        got += queue.drain()
    finally:
        keys.stop()
    assert got == ["snapshot", "quit", "roi_up", "roi_up", "roi_up", "roi_up"]


def test_a_display_switch_grabs_the_keyboards_and_a_later_one_releases_them(fake, monkeypatch):
    """The web viewer (no grab) gave way to HDMI: from then on keys reach convlens only."""
    fake.add("event3")
    grabs = GrabRecorder()
    monkeypatch.setattr(evdev_input, "_set_grab", grabs)
    keys = make_input(fake, ActionQueue())
    keys.start()
    try:
        device = keys._devices[str(fake.dev / "event3")]
        assert grabs.calls == [] and not device.grabbed
        keys.set_grab(True)
        assert grabs.calls == [(device.fd, True)] and device.grabbed
        keys.set_grab(True)  # already grabbed: nothing more
        keys.set_grab(False)
        assert grabs.calls == [(device.fd, True), (device.fd, False)] and not device.grabbed
    finally:
        keys.stop()
