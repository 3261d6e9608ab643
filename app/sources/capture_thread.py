"""Read a source on a thread of its own, so the loop takes the newest frame without waiting.

picamera2 completes a request only after its DRM preview has put the frame on the screen
(``render_request`` commits synchronously, up to a vblank), so ``capture_request`` on the
loop's thread would add that wait to every frame. Here a capture thread waits instead;
the loop gets the newest frame read, and a frame it was too slow for is dropped, not
queued (the picture stays live).
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from app.errors import SourceError
from app.frame import Frame
from app.sources.base import Source

log = logging.getLogger(__name__)


class CaptureThread(Source):
    """Wraps ``inner``: ``open`` starts a thread calling ``inner.read()``; ``read`` returns
    the newest frame it got (waiting for one newer than the last returned).

    An error from ``inner.read()`` ends the thread and is raised by the next ``read``, as
    if read there; ``None`` (end of stream) is returned once the frames before it are
    taken. Other attributes (``camera``, ``main_size``, ``drm_window`` of the picamera2
    source) are the inner source's.

    Args:
        inner: the source to read.
        timeout: seconds ``read`` waits for a frame before raising SourceError (the inner
            source's own timeouts, such as picamera2's 2 s, normally come first).
    """

    def __init__(self, inner: Source, *, timeout: float = 5.0) -> None:
        self.inner = inner
        self.timeout = timeout
        self._ready = threading.Condition()
        self._frame: Frame | None = None
        self._taken = True
        self._error: BaseException | None = None
        self._ended = False
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def __getattr__(self, name: str) -> Any:
        # Only called for attributes this object lacks: the inner source's.
        if name == "inner":
            raise AttributeError(name)
        return getattr(self.inner, name)

    @property
    def description(self) -> str:  # type: ignore[override]
        return self.inner.description

    def open(self) -> None:
        if self._thread is not None:
            return
        self.inner.open()
        self._frame, self._taken, self._error, self._ended = None, True, None, False
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="capture")
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                frame = self.inner.read()
            except Exception as exc:  # handed to the loop's read, which handles it
                with self._ready:
                    self._error = exc
                    self._ready.notify_all()
                return
            with self._ready:
                if frame is None:
                    self._ended = True
                else:
                    self._frame, self._taken = frame, False
                self._ready.notify_all()
            if frame is None:
                return

    def read(self) -> Frame | None:
        if self._thread is None:
            raise SourceError(f"{self.description}: read before open (or after close)")
        with self._ready:
            self._ready.wait_for(
                lambda: not self._taken or self._error is not None or self._ended,
                self.timeout,
            )
            if not self._taken:
                self._taken = True
                return self._frame
            if self._error is not None:
                error, self._error = self._error, None
                raise error
            if self._ended:
                return None
        raise SourceError(f"{self.description}: no frame within {self.timeout:g} s")

    def close(self) -> None:
        thread, self._thread = self._thread, None
        self._stop.set()
        if thread is not None:
            # The thread's read ends within the inner source's own timeout.
            thread.join()
        self.inner.close()
