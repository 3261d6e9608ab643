"""HDMI output on the Pi: picamera2's DRM preview shows the camera, convlens's RGBA overlay on top.

picamera2's ``set_overlay`` allocates a new DRM buffer, copies the whole overlay
into it and commits synchronously (waiting for vblank), so this display bounds
the cost: at most ``max_overlay_fps`` updates a second, none when the overlay did
not change, and the call itself runs on a worker thread so ``show`` never waits
for the screen. The preview scales the overlay onto the camera picture, so any
overlay size with the camera's aspect ratio fits.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from app.display.base import Display
from app.display.compose import check_pair
from app.errors import DisplayError
from app.frame import Frame

log = logging.getLogger(__name__)

DEFAULT_MAX_OVERLAY_FPS = 12.0


class DrmOverlayDisplay(Display):
    """Puts the overlay on picamera2's DRM preview with ``Picamera2.set_overlay``.

    Args:
        camera: a started ``Picamera2`` whose DRM preview is running. When None,
            ``source.camera`` is read at ``open`` (the picamera2 source exposes it).
        source: the picamera2 source; used only when ``camera`` is None.
        max_overlay_fps: overlay updates per second, at most.
        clock: monotonic seconds; injectable for tests.
        threaded: call ``set_overlay`` on a worker thread (the default) or inline.
        give_up_after: seconds of failing ``set_overlay`` calls after which ``show``
            raises DisplayError.
    """

    description = "drm (picamera2 preview + overlay)"
    owns_screen = True

    def __init__(
        self,
        camera: Any = None,
        *,
        source: Any = None,
        max_overlay_fps: float = DEFAULT_MAX_OVERLAY_FPS,
        clock: Callable[[], float] = time.monotonic,
        threaded: bool = True,
        give_up_after: float = 5.0,
    ) -> None:
        if max_overlay_fps <= 0:
            raise DisplayError(f"drm display: max overlay fps must be > 0, got {max_overlay_fps}")
        self._camera = camera
        self._source = source
        self.min_interval = 1.0 / max_overlay_fps
        self._clock = clock
        self._threaded = threaded
        self._last_check: float | None = None
        self._sent: np.ndarray | None = None
        self._sent_to: Any = None
        self._pending: np.ndarray | None = None
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._error: DisplayError | None = None
        self._failing_since: float | None = None
        self._opened = False
        self.give_up_after = give_up_after
        #: Overlays handed to ``set_overlay`` (for tests and the status line).
        self.overlays_sent = 0

    def _current_camera(self) -> Any:
        # Read through the source each time: a source reopened after a camera fault
        # holds a new Picamera2 object.
        if self._source is not None:
            camera = getattr(self._source, "camera", None)
            if camera is not None:
                return camera
        return self._camera

    def open(self) -> None:
        camera = self._current_camera()
        if camera is None or not callable(getattr(camera, "set_overlay", None)):
            raise DisplayError(
                "drm display needs the picamera2 source opened with its DRM preview "
                "(--source picamera2); use --display web otherwise"
            )
        self._camera = camera
        self._stop.clear()
        self._error = None
        self._failing_since = None
        self._last_check = None
        self._sent = None
        self._opened = True
        if self._threaded:
            self._thread = threading.Thread(target=self._worker, name="drm-overlay")
            self._thread.start()

    def show(self, frame: Frame, overlay: np.ndarray) -> None:
        if not self._opened:
            raise DisplayError("drm display: show() before open()")
        if self._error is not None:
            error, self._error = self._error, None
            raise error
        check_pair(frame.array, overlay)
        now = self._clock()
        if self._last_check is not None and now - self._last_check < self.min_interval:
            return
        self._last_check = now
        camera = self._current_camera()
        if camera is not self._sent_to:
            # The source reopened the camera in place: a new Picamera2 shows no overlay yet.
            self._sent, self._sent_to, self._failing_since = None, camera, None
        # Comparing costs one pass over the overlay, at most max_overlay_fps times a
        # second; an unchanged overlay (camera view, still settings) costs no DRM work.
        if self._sent is not None and np.array_equal(self._sent, overlay):
            return
        # Our own contiguous copy: the loop may reuse its buffer, and picamera2
        # reads the array's memory when it copies it into the DRM buffer.
        copy = np.ascontiguousarray(overlay).copy()
        self._sent = copy
        if self._threaded:
            with self._lock:
                self._pending = copy
            self._wake.set()
        else:
            self._send(copy)

    def _send(self, overlay: np.ndarray | None) -> None:
        try:
            self._current_camera().set_overlay(overlay)
        except Exception as exc:  # the worker thread must outlive any error
            # The real preview reserves its overlay plane with the first camera frame,
            # so early calls fail ("Overlays not supported on this device"): retry, and
            # give up only when it keeps failing (no plane, buffer_count < 2). Any other
            # exception is retried the same way: DrmPreview.stop() clears its card,
            # planes and stream map without its lock, so a call racing a camera close
            # fails with AttributeError, TypeError or KeyError, and the next camera works.
            now = self._clock()
            if self._failing_since is None:
                self._failing_since = now
                log.warning(
                    "drm display: set_overlay failed (%s: %s); retrying", type(exc).__name__, exc
                )
            self._sent = None
            if now - self._failing_since >= self.give_up_after:
                error = DisplayError(
                    f"drm display: set_overlay keeps failing for {self.give_up_after:.0f} s: {exc}"
                )
                if not self._threaded:
                    raise error from exc
                self._error = error
            return
        self._failing_since = None
        if overlay is not None:
            self.overlays_sent += 1

    def _worker(self) -> None:
        while not self._stop.is_set():
            if not self._wake.wait(0.5):
                continue
            self._wake.clear()
            with self._lock:
                overlay, self._pending = self._pending, None
            if overlay is not None:
                self._send(overlay)

    def close(self) -> None:
        if not self._opened:
            return
        self._opened = False
        if self._thread is not None:
            self._stop.set()
            self._wake.set()
            self._thread.join()
            self._thread = None
        with self._lock:
            self._pending = None
        # Take our overlay off the screen; the camera preview itself belongs to the source.
        try:
            self._current_camera().set_overlay(None)
        except Exception as exc:  # a closed preview fails in many ways
            log.debug("drm display: could not clear the overlay: %s: %s", type(exc).__name__, exc)
        self._sent = None
