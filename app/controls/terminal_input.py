"""Keys typed in the terminal (stdin as a TTY in cbreak mode) turned into actions.

Escape sequences for the arrow keys (``ESC [ A`` and ``ESC O A``) and shift+Tab
(``ESC [ Z``) become key names; a lone ESC that no sequence follows within
``escape_timeout`` is the Escape key.
"""

from __future__ import annotations

import logging
import os
import select
import sys
import termios
import threading
import time
import tty
from collections.abc import Callable

from app.controls.actions import ActionQueue

log = logging.getLogger(__name__)

ESC = 0x1B
#: Final byte of ``ESC [ x`` / ``ESC O x`` -> key name.
_CSI_KEYS = {
    ord("A"): "ArrowUp",
    ord("B"): "ArrowDown",
    ord("C"): "ArrowRight",
    ord("D"): "ArrowLeft",
    ord("Z"): "Shift+Tab",
}
_CONTROL_KEYS = {0x09: "Tab", 0x0D: "Enter", 0x0A: "Enter", 0x7F: "Backspace"}


class KeyDecoder:
    """Turns terminal bytes into key names; keeps an unfinished escape sequence for later."""

    def __init__(self) -> None:
        self._pending = b""

    @property
    def pending(self) -> bool:
        """True while an escape sequence may still be completed by the next bytes."""
        return bool(self._pending)

    def feed(self, data: bytes) -> list[str]:
        """Decode ``data`` (plus any pending bytes); return the complete keys in order."""
        buf = self._pending + data
        self._pending = b""
        keys: list[str] = []
        i = 0
        while i < len(buf):
            byte = buf[i]
            if byte == ESC:
                if i + 1 >= len(buf):
                    self._pending = buf[i:]
                    break
                introducer = buf[i + 1]
                if introducer not in (ord("["), ord("O")):
                    keys.append("Escape")
                    i += 1
                    continue
                # CSI: parameter bytes 0x30-0x3F, then one final byte 0x40-0x7E.
                j = i + 2
                while j < len(buf) and 0x30 <= buf[j] <= 0x3F:
                    j += 1
                if j >= len(buf):
                    self._pending = buf[i:]
                    break
                final = buf[j]
                key = _CSI_KEYS.get(final)
                if key is not None and j == i + 2:
                    keys.append(key)
                i = j + 1  # unknown sequences (F-keys, modifiers) are skipped whole
                continue
            if byte in _CONTROL_KEYS:
                keys.append(_CONTROL_KEYS[byte])
            elif 0x20 <= byte < 0x7F:
                keys.append(chr(byte))
            i += 1
        return keys

    def flush(self) -> list[str]:
        """The pending bytes as keys when no more are coming (a lone ESC is Escape)."""
        pending, self._pending = self._pending, b""
        return ["Escape"] if pending.startswith(b"\x1b") else []


class RepeatGuess:
    """Tells a held key from presses, as well as a terminal allows.

    A terminal has no key-up and no repeat flag: a held key is the same bytes again,
    first after the auto-repeat delay (250-660 ms on the console and common terminals)
    then 25-30 times a second. A key that arrives again within ``gap`` seconds of its
    previous arrival is taken for a repeat. A deliberate second press within ``gap``
    counts as a repeat too, which only matters for the once-per-press actions.
    """

    def __init__(self, gap: float = 0.7, clock: Callable[[], float] = time.monotonic) -> None:
        self.gap = gap
        self._clock = clock
        self._last: dict[str, float] = {}

    def is_repeat(self, key: str) -> bool:
        now = self._clock()
        last = self._last.get(key)
        self._last[key] = now
        return last is not None and now - last < self.gap


class TerminalInput:
    """Reads keys from a TTY on a thread and puts their actions on ``queue``.

    Args:
        queue: where actions go.
        fd: the terminal's file descriptor (default: stdin).
        escape_timeout: seconds to wait for the rest of an escape sequence.

    ``start`` does nothing (and returns False) when ``fd`` is not a TTY, as under
    systemd. ``stop`` ends the thread and restores the terminal's mode.
    """

    def __init__(
        self, queue: ActionQueue, *, fd: int | None = None, escape_timeout: float = 0.05
    ) -> None:
        self.queue = queue
        self.fd = sys.stdin.fileno() if fd is None else fd
        self.escape_timeout = escape_timeout
        self._saved: list | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> bool:
        """Switch the TTY to cbreak mode and start reading; False when ``fd`` is no TTY."""
        if not os.isatty(self.fd):
            log.info("terminal keys off: stdin is not a terminal")
            return False
        self._saved = termios.tcgetattr(self.fd)
        # cbreak: keys arrive one by one without Enter and are not echoed; Ctrl-C
        # still raises SIGINT in the main thread.
        tty.setcbreak(self.fd, termios.TCSANOW)
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="terminal-keys")
        self._thread.start()
        return True

    def stop(self) -> None:
        """Stop the thread and restore the terminal."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        if self._saved is not None:
            try:
                termios.tcsetattr(self.fd, termios.TCSADRAIN, self._saved)
            except termios.error as exc:
                log.warning("could not restore the terminal mode: %s", exc)
            self._saved = None

    def __enter__(self) -> TerminalInput:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def _run(self) -> None:
        decoder = KeyDecoder()
        repeats = RepeatGuess()
        escape_deadline: float | None = None
        while not self._stop.is_set():
            timeout = 0.1
            if escape_deadline is not None:
                timeout = max(0.0, min(timeout, escape_deadline - time.monotonic()))
            try:
                readable, _, _ = select.select([self.fd], [], [], timeout)
            except (OSError, ValueError) as exc:
                log.warning("terminal keys stopped: %s", exc)
                return
            if readable:
                try:
                    data = os.read(self.fd, 64)
                except OSError as exc:
                    log.warning("terminal keys stopped: %s", exc)
                    return
                if not data:
                    log.info("terminal keys stopped: end of input")
                    return
                keys = decoder.feed(data)
            elif escape_deadline is not None and time.monotonic() >= escape_deadline:
                keys = decoder.flush()
            else:
                continue
            escape_deadline = time.monotonic() + self.escape_timeout if decoder.pending else None
            for key in keys:
                action = self.queue.put_key(key, repeat=repeats.is_repeat(key))
                log.debug("terminal key %r -> %s", key, action)
