"""Terminal keys: the escape-sequence decoder, and the input thread on a real pty."""

from __future__ import annotations

import os
import termios
import time

import pytest

from app.controls.actions import ActionQueue
from app.controls.terminal_input import KeyDecoder, RepeatGuess, TerminalInput
from tests.waiting import drain_until


def test_decoder_plain_keys_arrows_and_backtab():
    decoder = KeyDecoder()
    keys = decoder.feed(b"kK1 +\t\x1b[A\x1b[B\x1b[C\x1b[D\x1bOA\x1b[Z")
    assert keys == [
        "k", "K", "1", " ", "+", "Tab",
        "ArrowUp", "ArrowDown", "ArrowRight", "ArrowLeft", "ArrowUp", "Shift+Tab",
    ]  # fmt: skip
    assert not decoder.pending


def test_decoder_sequence_split_across_reads():
    decoder = KeyDecoder()
    assert decoder.feed(b"v\x1b") == ["v"]
    assert decoder.pending
    assert decoder.feed(b"[") == []
    assert decoder.feed(b"D") == ["ArrowLeft"]


def test_decoder_lone_escape_and_unknown_sequences():
    decoder = KeyDecoder()
    assert decoder.feed(b"\x1b") == []
    assert decoder.flush() == ["Escape"]
    # F5 (ESC [ 1 5 ~) and ctrl+arrow (ESC [ 1 ; 5 C) are skipped whole.
    assert decoder.feed(b"\x1b[15~x\x1b[1;5Cq") == ["x", "q"]
    assert decoder.feed(b"\x1bq") == ["Escape", "q"]  # ESC followed by a plain key


def test_not_a_tty_does_not_start():
    read_end, write_end = os.pipe()
    try:
        terminal = TerminalInput(ActionQueue(), fd=read_end)
        assert terminal.start() is False
        terminal.stop()
    finally:
        os.close(read_end)
        os.close(write_end)


@pytest.fixture
def pty():
    master, slave = os.openpty()
    yield master, slave
    os.close(master)
    os.close(slave)


def test_pty_keys_become_actions_and_mode_is_restored(pty):
    master, slave = pty
    before = termios.tcgetattr(slave)
    assert before[3] & termios.ICANON
    queue = ActionQueue()
    terminal = TerminalInput(queue, fd=slave, escape_timeout=0.05)
    assert terminal.start()
    try:
        during = termios.tcgetattr(slave)
        assert not during[3] & termios.ICANON and not during[3] & termios.ECHO
        os.write(master, b"v")
        os.write(master, b"k\x1b[C")
        os.write(master, b"\x1b")  # lone ESC: Escape after the timeout
        got = drain_until(queue, 4)
    finally:
        terminal.stop()
    assert got == ["next_view", "next_kernel", "roi_right", "quit"]
    assert termios.tcgetattr(slave) == before
    assert terminal._thread is None


def test_unbound_keys_are_ignored(pty):
    master, slave = pty
    queue = ActionQueue()
    with TerminalInput(queue, fd=slave):
        os.write(master, b"zZ\x1b[15~h")
        got = drain_until(queue, 1)
    assert got == ["toggle_help"]


def test_a_held_key_in_a_terminal_takes_one_snapshot(pty):
    """A terminal sends a held space as spaces ~30 times a second: one snapshot; held
    arrows still move the ROI; a press after a pause counts again."""
    master, slave = pty
    queue = ActionQueue()
    terminal = TerminalInput(queue, fd=slave, escape_timeout=0.05)
    assert terminal.start()
    try:
        for _ in range(10):
            os.write(master, b" ")
            time.sleep(0.03)
        for _ in range(3):
            os.write(master, b"\x1b[C")
            time.sleep(0.03)
        got = drain_until(queue, 4)
        time.sleep(0.8)  # released, then pressed again
        os.write(master, b" ")
        got += drain_until(queue, 1)
    finally:
        terminal.stop()
    assert got == ["snapshot", "roi_right", "roi_right", "roi_right", "snapshot"]


def test_repeat_guess_uses_the_gap_since_the_last_arrival():
    now = [0.0]
    guess = RepeatGuess(gap=0.7, clock=lambda: now[0])
    arrivals = [0.0, 0.5, 0.53, 0.56, 1.5, 2.5, 2.6]
    seen = []
    for t in arrivals:
        now[0] = t
        seen.append(guess.is_repeat(" "))
    assert seen == [False, True, True, True, False, False, True]
