"""Configure the root logger: journal-friendly lines under systemd, timestamped lines otherwise.

Under systemd, stderr is a stream to journald, which stamps every line with its own
time and reads a leading ``<N>`` as the syslog priority (sd-daemon(3)). So there the
lines are ``<3>app.sources.picam: camera lost`` and ``journalctl -p warning`` works.
Elsewhere (a terminal, CI) they are ``2026-01-01 12:00:00,123 WARNING app.x: ...``.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Mapping
from typing import TextIO

from app.errors import ConfigError

LEVELS = ("debug", "info", "warning", "error", "critical")

# logging level -> syslog priority (sd-daemon.h's SD_DEBUG ... SD_CRIT).
_SYSLOG_PRIORITY = {
    logging.DEBUG: 7,
    logging.INFO: 6,
    logging.WARNING: 4,
    logging.ERROR: 3,
    logging.CRITICAL: 2,
}

TERMINAL_FORMAT = "%(asctime)s %(levelname)-7s %(name)s: %(message)s"
JOURNAL_FORMAT = "%(name)s: %(message)s"


def syslog_priority(levelno: int) -> int:
    """The syslog priority (0-7) for a logging level; custom levels round down to a known one."""
    for threshold in sorted(_SYSLOG_PRIORITY, reverse=True):
        if levelno >= threshold:
            return _SYSLOG_PRIORITY[threshold]
    return _SYSLOG_PRIORITY[logging.DEBUG]


class JournalFormatter(logging.Formatter):
    """Prefixes every line of a record (tracebacks too) with ``<N>``, no timestamp."""

    def __init__(self) -> None:
        super().__init__(JOURNAL_FORMAT)

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        prefix = f"<{syslog_priority(record.levelno)}>"
        # journald splits the stream at newlines and reads a prefix per line: without
        # one, a traceback's lines would be stored at the default priority (info).
        return "\n".join(prefix + line for line in text.split("\n"))


def stderr_is_journal(stream: TextIO, environ: Mapping[str, str]) -> bool:
    """True if ``stream`` is the journal stream systemd announced in ``JOURNAL_STREAM``.

    systemd sets ``JOURNAL_STREAM=<dev>:<ino>`` of the socket it connected to stderr;
    comparing it with the stream's own device and inode tells a redirect (e.g.
    ``convlens run 2>file`` in an ExecStart shell) from the real journal.
    """
    value = environ.get("JOURNAL_STREAM", "")
    dev_text, sep, ino_text = value.partition(":")
    if not sep:
        return False
    try:
        expected = (int(dev_text), int(ino_text))
        st = os.fstat(stream.fileno())
    except (ValueError, OSError):
        # Not numbers, or a stream without a file descriptor (pytest's capture).
        return False
    return (st.st_dev, st.st_ino) == expected


class _CurrentStderrHandler(logging.StreamHandler):
    """Writes to whatever ``sys.stderr`` is when a record is emitted.

    Why: a handler bound to the stderr object of the moment keeps writing to it after
    it is replaced and closed (a test runner's capture, a daemoniser), and logging then
    prints "I/O operation on closed file" tracebacks instead of the message.
    """

    def __init__(self) -> None:
        super().__init__(sys.stderr)

    @property  # type: ignore[override]
    def stream(self) -> TextIO:
        return sys.stderr

    @stream.setter
    def stream(self, value: TextIO) -> None:
        """Ignore: the stream is always the current ``sys.stderr``."""


def configure_logging(
    level: str,
    *,
    stream: TextIO | None = None,
    environ: Mapping[str, str] | None = None,
) -> None:
    """Send all log records at ``level`` and above to ``stream`` (default: stderr).

    Args:
        level: one of "debug", "info", "warning", "error", "critical" (any case).
        stream: where lines go; the default is ``sys.stderr`` at call time.
        environ: where to read ``JOURNAL_STREAM`` (default ``os.environ``).

    Raises:
        ConfigError: ``level`` is not one of the names above.

    Calling it again replaces the handler it installed before (no duplicate lines).
    """
    name = level.strip().lower()
    if name not in LEVELS:
        raise ConfigError(f"log level {level!r} is not one of {', '.join(LEVELS)}")
    out = sys.stderr if stream is None else stream
    env = os.environ if environ is None else environ

    handler = logging.StreamHandler(out) if stream is not None else _CurrentStderrHandler()
    if stderr_is_journal(out, env):
        handler.setFormatter(JournalFormatter())
    else:
        handler.setFormatter(logging.Formatter(TERMINAL_FORMAT))
    handler.set_name("convlens")

    root = logging.getLogger()
    for old in list(root.handlers):
        if old.get_name() == "convlens":
            root.removeHandler(old)
            old.close()
    root.addHandler(handler)
    root.setLevel(getattr(logging, name.upper()))
