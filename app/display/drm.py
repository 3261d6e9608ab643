"""HDMI output on the Pi: picamera2's DRM preview shows the camera, convlens's RGBA overlay on top.

picamera2's ``set_overlay`` allocates a new DRM buffer, copies the whole overlay into it
and commits synchronously (waiting for vblank, with the GIL held: kms++'s binding does not
release it), so this display bounds the cost: at most ``max_overlay_fps`` updates a
second, none when the overlay did not change, and the comparison and the call itself run
on a worker thread, so ``show`` never waits for the screen (it only copies the overlay when
an update is due).

The preview fills ``window`` (the whole screen, see ``app.display.machine.hdmi_mode``)
with the camera picture, aspect kept, and stretches the overlay over the same rectangle:
``screen_size`` is that rectangle's size, so the loop draws the overlay pixel for pixel
(up to ``app.screen.MAX_OVERLAY_SIZE``: beyond, the overlay plane scales it up in
hardware, as it does the camera's).
The preview never touches the console's framebuffer under its planes: this display
blanks it (``app.display.fb``, which also switches the console to graphics mode where
the service may) and draws there while there is no camera, since ``Picamera2.close``
takes the preview, and its planes, off the screen.
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
from app.errors import DisplayError, one_line
from app.frame import Frame
from app.screen import MAX_OVERLAY_SIZE, preview_box, within

log = logging.getLogger(__name__)

DEFAULT_MAX_OVERLAY_FPS = 12.0


class DrmOverlayDisplay(Display):
    """Puts the overlay on picamera2's DRM preview with ``Picamera2.set_overlay``.

    Args:
        camera: a started ``Picamera2`` whose DRM preview is running. When None,
            ``source.camera`` is read at every frame (the picamera2 source exposes it,
            and a new one after a reconnection).
        source: the picamera2 source; used only when ``camera`` is None. Its
            ``main_size`` and ``drm_window`` give ``screen_size``.
        console: the framebuffer under the preview (``FramebufferDisplay``): blanked
            while open, the waiting screen drawn on it while there is no camera.
        max_overlay_fps: overlay updates per second, at most.
        clock: monotonic seconds; injectable for tests.
        threaded: compare and call ``set_overlay`` on a worker thread (the default) or
            inline. Either way ``show`` copies the overlay when an update is due (at most
            ``max_overlay_fps`` times a second): the loop draws into its layers again.
        give_up_after: seconds of failing ``set_overlay`` calls after which ``show``
            raises DisplayError.
    """

    owns_screen = True

    def __init__(
        self,
        camera: Any = None,
        *,
        source: Any = None,
        console: Display | None = None,
        max_overlay_fps: float = DEFAULT_MAX_OVERLAY_FPS,
        clock: Callable[[], float] = time.monotonic,
        threaded: bool = True,
        give_up_after: float = 5.0,
    ) -> None:
        if max_overlay_fps <= 0:
            raise DisplayError(f"drm display: max overlay fps must be > 0, got {max_overlay_fps}")
        self._camera = camera
        self._source = source
        self._console = console
        self._console_open = False
        self._console_drawn = False
        self.min_interval = 1.0 / max_overlay_fps
        self._clock = clock
        self._threaded = threaded
        self._last_check: float | None = None
        self._sent: np.ndarray | None = None
        self._sent_to: Any = None
        self._pending: tuple[Any, np.ndarray] | None = None
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

    @property
    def description(self) -> str:  # type: ignore[override]
        window = getattr(self._source, "drm_window", None)
        where = f" {window[2]}x{window[3]}" if window else ""
        return f"drm (picamera2 preview{where} + overlay)"

    @property
    def screen_size(self) -> tuple[int, int] | None:  # type: ignore[override]
        """The camera picture's rectangle on the screen; the console's size without a camera."""
        window = getattr(self._source, "drm_window", None)
        if self._current_camera() is None:
            if self._console_open:
                return self._console.screen_size
            return within((window[2], window[3]), MAX_OVERLAY_SIZE) if window else None
        main = getattr(self._source, "main_size", None)
        if window is None or main is None:
            return None
        _, _, width, height = preview_box(window, main)
        return within((width, height), MAX_OVERLAY_SIZE)

    def _current_camera(self) -> Any:
        # Read through the source each time: a source reopened after a camera fault
        # holds a new Picamera2 object, and none while it is closed.
        if self._source is not None:
            return getattr(self._source, "camera", None) or self._camera
        return self._camera

    def open(self) -> None:
        camera = self._current_camera()
        if camera is None or not callable(getattr(camera, "set_overlay", None)):
            raise DisplayError(
                "drm display needs the picamera2 source opened with its DRM preview "
                "(--source picamera2); use --display web otherwise"
            )
        self._camera = None if self._source is not None else camera
        self._stop.clear()
        self._error = None
        self._failing_since = None
        self._last_check = None
        self._sent = None
        self._opened = True
        self._open_console()
        if self._threaded:
            self._thread = threading.Thread(target=self._worker, name="drm-overlay")
            self._thread.start()

    def _open_console(self) -> None:
        if self._console is None:
            return
        try:
            self._console.open()  # blanks it: black where the preview does not cover
        except Exception as exc:  # the preview works without it; only the bars show text
            log.warning("drm display: the console under the preview stays as it is: %s",
                        one_line(exc))  # fmt: skip
            return
        self._console_open = True

    def show(self, frame: Frame, overlay: np.ndarray) -> None:
        if not self._opened:
            raise DisplayError("drm display: show() before open()")
        if self._error is not None:
            error, self._error = self._error, None
            raise error
        check_pair(frame.array, overlay)
        camera = self._current_camera()
        if camera is None:
            # No camera, no preview: the console's framebuffer is what the screen shows.
            if self._console_open:
                self._console.show(frame, overlay)
                self._console_drawn = True
            return
        if self._console_drawn:
            self._console_drawn = False
            self._console.clear()
        now = self._clock()
        if self._last_check is not None and now - self._last_check < self.min_interval:
            return
        self._last_check = now
        if self._threaded:
            # Our own copy, at most max_overlay_fps times a second: the loop draws into
            # its layers again (two in turn), and the worker reads this one later.
            with self._lock:
                self._pending = (camera, overlay.copy())
            self._wake.set()
        else:
            self._update(camera, overlay.copy())

    def _update(self, camera: Any, overlay: np.ndarray) -> None:
        """Send ``overlay`` unless ``camera`` shows it already (a new camera shows none)."""
        if camera is not self._sent_to:
            self._sent, self._sent_to, self._failing_since = None, camera, None
        # Comparing costs one pass over the overlay, at most max_overlay_fps times a
        # second; an unchanged overlay (camera view, still settings) costs no DRM work.
        if self._sent is not None and np.array_equal(self._sent, overlay):
            return
        self._sent = overlay  # a contiguous copy of ours: picamera2 reads its memory
        self._send(camera, overlay)

    def _send(self, camera: Any, overlay: np.ndarray | None) -> None:
        try:
            camera.set_overlay(overlay)
        except Exception as exc:  # the worker thread must outlive any error
            # The real preview reserves its overlay plane with the first camera frame,
            # so early calls fail ("Overlays not supported on this device"): retry, and
            # give up only when it keeps failing (no plane, buffer_count < 2). Any other
            # exception is retried the same way: DrmPreview.stop() clears its card,
            # planes and stream map without its lock, so a call racing a camera close
            # fails with AttributeError, TypeError or KeyError, and the next camera works.
            self._failed(exc)
            return
        self._failing_since = None
        if overlay is not None:
            self.overlays_sent += 1

    def _failed(self, exc: BaseException) -> None:
        now = self._clock()
        if self._failing_since is None:
            self._failing_since = now
            log.warning("drm display: set_overlay failed (%s); retrying", one_line(exc))
        self._sent = None
        if now - self._failing_since >= self.give_up_after:
            error = DisplayError(
                f"drm display: set_overlay keeps failing for {self.give_up_after:.0f} s: {exc}"
            )
            if not self._threaded:
                raise error from exc
            self._error = error

    def _worker(self) -> None:
        while not self._stop.is_set():
            if not self._wake.wait(0.5):
                continue
            self._wake.clear()
            with self._lock:
                pending, self._pending = self._pending, None
            if pending is None:
                continue
            try:
                self._update(*pending)
            except Exception as exc:  # the overlay must come back after anything
                # _send already retries set_overlay's own errors; this is the rest (an
                # error that fails even to describe itself): the next overlay is tried.
                self._sent = None
                log.warning("drm display: overlay update failed (%s); going on",
                            type(exc).__name__)  # fmt: skip

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
        camera = self._current_camera()
        try:
            if camera is not None:
                camera.set_overlay(None)
        except Exception as exc:  # a closed preview fails in many ways
            log.debug("drm display: could not clear the overlay: %s", one_line(exc))
        self._sent = None
        if self._console_open:
            self._console_open = False
            self._console.close()
