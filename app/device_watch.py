"""Looking again, every few seconds, for the camera and the screen a run fell back without.

Probing may block (a USB camera is opened for a frame, picamera2 lists its cameras), so
it runs on a thread of its own; the switch itself happens on the loop's thread, between
two frames, when the loop polls (``app.loop.LoopOptions.watch``).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from app.display.switching import SwitchingDisplay
from app.errors import one_line
from app.run_devices import Plan, RunDevices
from app.source_keeper import SourceKeeper

log = logging.getLogger(__name__)

#: Seconds between two looks while on a fallback.
PROBE_INTERVAL_S = 3.0
#: After a display failed to open: the first and the longest wait before trying a display
#: again (a camera that appears meanwhile is still switched to).
RETRY_AFTER_FAILURE_S = (30.0, 300.0)


class DeviceWatch:
    """Probes on a thread (``start``/``stop``); ``poll`` applies what it found.

    Args:
        devices: the run's devices: ``plan`` says what to switch to, ``apply`` does it.
        display: the loop's display, which a switch swaps.
        interval: seconds between probes.
        clock: monotonic seconds (tests step it).
        wait: waits up to the given seconds, returning True when stopped; defaults to
            the stop event's wait (tests pass one that advances their clock).
    """

    def __init__(
        self,
        devices: RunDevices,
        display: SwitchingDisplay,
        *,
        interval: float = PROBE_INTERVAL_S,
        clock: Callable[[], float] = time.monotonic,
        wait: Callable[[float], bool] | None = None,
    ) -> None:
        self.devices = devices
        self.display = display
        self.interval = interval
        self._clock = clock
        self._stop = threading.Event()
        self._wait = wait or self._stop.wait
        self._lock = threading.Lock()
        self._plan: Plan | None = None
        self._thread: threading.Thread | None = None
        self._failures = 0
        self._not_before = 0.0
        #: Completed probes (tests wait on it).
        self.probes = 0

    def start(self) -> None:
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="device-watch")
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None

    def probe_once(self) -> None:
        """Look once and keep what there is to switch to (``poll`` takes it)."""
        try:
            plan = self.devices.plan(displays=self._clock() >= self._not_before)
        except Exception as exc:  # a probe must never end the watch
            log.warning("looking for a camera and a screen failed: %s", one_line(exc))
            plan = None
        with self._lock:
            self._plan = plan
        self.probes += 1

    def _run(self) -> None:
        while not self._stop.is_set():
            self.probe_once()
            if self._wait(self.interval):
                return

    def poll(self, camera: SourceKeeper) -> str | None:
        """On the loop's thread: switch as the last probe found; the message, or None."""
        with self._lock:
            plan, self._plan = self._plan, None
        if plan is None:
            return None
        try:
            message = self.devices.apply(plan, camera, self.display)
        except Exception:
            if plan.display is None:
                raise
            self._failures += 1
            first, longest = RETRY_AFTER_FAILURE_S
            delay = min(longest, first * 2 ** (self._failures - 1))
            self._not_before = self._clock() + delay
            log.info("trying another display again in %.0f s", delay)
            raise
        self._failures = 0
        log.info("switched: %s", message)
        return message
