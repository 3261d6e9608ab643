"""One JPEG per frame for every viewer: an encoder thread and an asynchronous newest-frame hub.

The capture loop hands (frame, overlay) to ``JpegEncoder.offer`` (two copies, no
waiting); the encoder thread composes and encodes the newest pending pair once and
publishes the JPEG to the ``FrameHub`` on the server's event loop. Each viewer asks
the hub for "a frame newer than the one I sent last": a slow viewer gets the newest
when it is ready again and skips the ones in between, never slowing anybody else.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable

import cv2
import numpy as np

from app.display.compose import compose
from app.errors import DisplayError

log = logging.getLogger(__name__)


class JpegEncoder:
    """Encodes the newest offered (frame, overlay) on its own thread; ``publish(seq, jpeg)``.

    Args:
        publish: called on the encoder thread with (sequence number, JPEG bytes).
        quality: JPEG quality 1..100.
    """

    def __init__(self, publish: Callable[[int, bytes], None], quality: int = 80) -> None:
        self._publish = publish
        self._params = [cv2.IMWRITE_JPEG_QUALITY, quality]
        self._pending: tuple[np.ndarray, np.ndarray] | None = None
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._seq = 0
        #: Frames offered and frames encoded (tests and benchmarks read these).
        self.offered = 0
        self.encoded = 0

    def start(self) -> None:
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="web-jpeg")
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None

    def offer(self, frame: np.ndarray, overlay: np.ndarray) -> None:
        """Queue (H, W, 3) uint8 BGR and (H, W, 4) uint8 RGBA; replaces an unencoded pair."""
        # Copies: the loop may reuse its buffers before the encoder runs.
        pair = (frame.copy(), overlay.copy())
        with self._lock:
            self._pending = pair
            self.offered += 1
        self._wake.set()

    def _run(self) -> None:
        while not self._stop.is_set():
            if not self._wake.wait(0.5):
                continue
            self._wake.clear()
            with self._lock:
                pending, self._pending = self._pending, None
            if pending is None:
                continue
            jpeg = self._encode(*pending)
            if jpeg is not None:
                self._seq += 1
                self.encoded += 1
                self._publish(self._seq, jpeg)

    def _encode(self, frame: np.ndarray, overlay: np.ndarray) -> bytes | None:
        try:
            ok, encoded = cv2.imencode(".jpg", compose(frame, overlay), self._params)
        except (cv2.error, DisplayError) as exc:
            log.warning("web viewer: could not encode a frame: %s", exc)
            return None
        if not ok:
            log.warning("web viewer: the JPEG encoder refused a frame")
            return None
        return encoded.tobytes()


class FrameHub:
    """The newest JPEG and a way to wait for a newer one. Lives on the server's event loop."""

    def __init__(self) -> None:
        self.seq = 0
        self.jpeg = b""
        self._next: asyncio.Future[None] | None = None

    def publish(self, seq: int, jpeg: bytes) -> None:
        """Make ``jpeg`` the newest frame and wake every waiting viewer."""
        self.seq, self.jpeg = seq, jpeg
        waiters, self._next = self._next, None
        if waiters is not None and not waiters.done():
            waiters.set_result(None)

    async def newer_than(self, seq: int, timeout: float) -> tuple[int, bytes] | None:
        """The newest (seq, JPEG) once it is newer than ``seq``; None after ``timeout`` s."""
        if self.seq > seq:
            return self.seq, self.jpeg
        if self._next is None:
            self._next = asyncio.get_running_loop().create_future()
        try:
            # shield: one viewer timing out must not cancel the future the others wait on.
            await asyncio.wait_for(asyncio.shield(self._next), timeout)
        except TimeoutError:
            return None
        return self.seq, self.jpeg
