"""Tell systemd the service's state (READY, WATCHDOG, STATUS, STOPPING) over $NOTIFY_SOCKET.

The protocol is the one of sd_notify(3): newline-separated ``KEY=value`` assignments in
one datagram on an AF_UNIX socket whose address systemd passes in ``NOTIFY_SOCKET``
(a path, or ``@name`` for the abstract namespace). Outside systemd (no
``NOTIFY_SOCKET``) every method does nothing, so the loop calls them unconditionally.

How the capture loop uses it::

    notifier = SystemdNotifier()
    ...first frame shown...      notifier.ready()
    every loop iteration:        notifier.watchdog()   # also while waiting for a camera
    on a state change:           notifier.status("camera lost, retrying")
    on exit:                     notifier.stopping()

``watchdog()`` may be called every frame: it sends at most one ``WATCHDOG=1`` per
third of the interval systemd asked for (``WatchdogSec=``), and nothing when no
watchdog is configured.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from collections.abc import Callable, Mapping

log = logging.getLogger(__name__)

# Ping three times per watchdog interval: one late frame or a slow model load then
# never costs a restart, and systemd's own docs advise pinging at half the interval.
PINGS_PER_INTERVAL = 3


def _socket_address(raw: str) -> str | None:
    """Turn ``NOTIFY_SOCKET`` into a ``sendto`` address; None if it is not an AF_UNIX one."""
    if raw.startswith("@"):
        # Abstract namespace: the kernel name starts with a NUL byte instead of "@".
        return "\0" + raw[1:]
    if raw.startswith("/"):
        return raw
    return None


def _watchdog_interval_from(environ: Mapping[str, str], pid: int) -> float | None:
    """Seconds from ``WATCHDOG_USEC`` if the watchdog is meant for process ``pid``."""
    usec_text = environ.get("WATCHDOG_USEC")
    if not usec_text:
        return None
    pid_text = environ.get("WATCHDOG_PID")
    if pid_text:
        try:
            if int(pid_text) != pid:
                # Set for our parent (e.g. a wrapper script); pinging would be wrong.
                return None
        except ValueError:
            log.warning("ignoring WATCHDOG_PID=%r: expected a process id", pid_text)
            return None
    try:
        usec = int(usec_text)
    except ValueError:
        log.warning("ignoring WATCHDOG_USEC=%r: expected microseconds", usec_text)
        return None
    if usec <= 0:
        return None
    return usec / 1_000_000


class SystemdNotifier:
    """Sends sd_notify messages; a no-op when not started by systemd with Type=notify.

    Args:
        environ: where to read ``NOTIFY_SOCKET``, ``WATCHDOG_USEC`` and ``WATCHDOG_PID``
            (default ``os.environ``, read once here).
        clock: monotonic seconds, for the watchdog rate limit (tests pass a fake one).
    """

    def __init__(
        self,
        environ: Mapping[str, str] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        env = os.environ if environ is None else environ
        raw = env.get("NOTIFY_SOCKET", "")
        self._address = _socket_address(raw) if raw else None
        if raw and self._address is None:
            log.warning("NOTIFY_SOCKET=%r is not an AF_UNIX address; not notifying systemd", raw)
        self._interval = (
            _watchdog_interval_from(env, os.getpid()) if self._address is not None else None
        )
        self._clock = clock
        self._last_ping: float | None = None
        self._lock = threading.Lock()
        self._warned = False

    @property
    def enabled(self) -> bool:
        """True when there is a notification socket to send to."""
        return self._address is not None

    def watchdog_interval(self) -> float | None:
        """The watchdog timeout systemd set for this process, in seconds, or None."""
        return self._interval

    def ready(self) -> None:
        """Start-up finished (the first frame is on screen): systemd marks the unit active."""
        self._send("READY=1")

    def watchdog(self) -> None:
        """Keep-alive; call it every loop iteration. Sends at most every interval/3."""
        if self._interval is None:
            return
        with self._lock:
            now = self._clock()
            due = (
                self._last_ping is None
                or now - self._last_ping >= self._interval / PINGS_PER_INTERVAL
            )
            if not due:
                return
            self._last_ping = now
        self._send("WATCHDOG=1")

    def status(self, text: str) -> None:
        """One line for `systemctl status convlens` ("running: 24.8 fps", "camera lost")."""
        # A newline would start a new assignment (e.g. a forged READY=1): keep one line.
        one_line = " ".join(text.split())
        self._send(f"STATUS={one_line}")

    def stopping(self) -> None:
        """Shutdown has begun: systemd shows "deactivating" and stops expecting pings."""
        self._send("STOPPING=1")

    def _send(self, message: str) -> None:
        if self._address is None:
            return
        # A fresh socket per message, as libsystemd's sd_notify does: nothing to close,
        # nothing inherited, and it costs microseconds at a few messages per second.
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
                sock.sendto(message.encode("utf-8"), self._address)
        except OSError as exc:
            # Never let a notification kill the loop; if READY or WATCHDOG is lost,
            # systemd's own timeout will restart us, and this line says why.
            if not self._warned:
                log.warning("cannot notify systemd (%s): %s", message.split("=", 1)[0], exc)
                self._warned = True
