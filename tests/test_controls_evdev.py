"""Keyboard input from /dev/input/event*: real input_event bytes through FIFOs standing in."""

from __future__ import annotations

import errno
import os
import struct
import time
from pathlib import Path

import pytest

from app.controls import evdev_input
from app.controls.actions import ActionQueue
from app.controls.evdev_input import (
    EV_KEY,
    INPUT_EVENT,
    KEY_LEFTSHIFT,
    KEY_TAB,
    KEY_UP,
    EvdevInput,
    is_keyboard_capability,
    key_name,
)
from tests.waiting import drain_until, wait_for

EV_SYN = 0
KEY_V, KEY_K, KEY_Q = 47, 37, 16
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


def make_input(fake: FakeInput, queue: ActionQueue) -> EvdevInput:
    return EvdevInput(queue, dev_dir=fake.dev, sysfs_dir=fake.sys, rescan_interval=0.05)


def test_event_struct_is_the_kernel_layout():
    long_size = struct.calcsize("l")
    assert INPUT_EVENT.size == 2 * long_size + 8


def test_capability_detection():
    assert is_keyboard_capability(KEYBOARD_CAPS)
    assert is_keyboard_capability("fffffffe")  # a 32-bit kernel's lowest word
    assert not is_keyboard_capability(MOUSE_CAPS)
    assert not is_keyboard_capability("")
    assert not is_keyboard_capability("zz")


def test_keymap_with_shift():
    assert key_name(KEY_V, False) == "v" and key_name(KEY_V, True) == "V"
    assert key_name(KEY_TAB, True) == "Shift+Tab" and key_name(KEY_UP, False) == "ArrowUp"
    assert key_name(13, True) == "+" and key_name(2, False) == "1"
    assert key_name(240, False) is None


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
