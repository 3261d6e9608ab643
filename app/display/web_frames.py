"""One JPEG per frame for every viewer: an encoder thread and an asynchronous newest-frame hub.

The capture loop hands (frame, overlay) to ``JpegEncoder.offer`` (two copies, no
waiting); the encoder thread composes and encodes the newest pending pair once and
publishes the JPEG to the ``FrameHub`` on the server's event loop. Each viewer asks
the hub for "a frame newer than the one I sent last": a slow viewer gets the newest
when it is ready again and skips the ones in between, never slowing anybody else.
``send_frames`` is one viewer's stream; its first picture is a fresh one.
"""

from __future__ import annotations

import asyncio
import logging
import math
import threading
import time
from collections.abc import Callable
from typing import Any

import cv2
import numpy as np

from app.display.compose import compose
from app.errors import DisplayError

log = logging.getLogger(__name__)

#: The multipart boundary of ``/stream.mjpg``.
BOUNDARY = "convlensframe"
#: A JPEG younger than this goes to a new viewer at once. Nothing is encoded while
#: nobody watches, so an older one may be from before a quiet spell: another digit,
#: another view or language than /api/status shows now.
FRESH_S = 0.5
#: How long a new viewer waits for a fresh JPEG before it gets the old one (the loop has
#: stalled; the old picture is still better than none).
FIRST_WAIT_S = 1.0


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
    """The newest JPEG and a way to wait for a newer one. Lives on the server's event loop.

    Args:
        clock: monotonic seconds (tests pass a fake one).
    """

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.seq = 0
        self.jpeg = b""
        self.published_at = -math.inf
        self._clock = clock
        self._next: asyncio.Future[None] | None = None

    def publish(self, seq: int, jpeg: bytes) -> None:
        """Make ``jpeg`` the newest frame and wake every waiting viewer."""
        self.seq, self.jpeg = seq, jpeg
        self.published_at = self._clock()
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

    async def first(self) -> tuple[int, bytes] | None:
        """A new viewer's first (seq, JPEG): the newest when under FRESH_S old, else the
        next one; the old one only when none comes within FIRST_WAIT_S; None when no
        JPEG was ever made."""
        if self.seq > 0 and self._clock() - self.published_at < FRESH_S:
            return self.seq, self.jpeg
        got = await self.newer_than(self.seq, FIRST_WAIT_S)
        if got is not None or self.seq == 0:
            return got
        return self.seq, self.jpeg


async def send_frames(hub: FrameHub, request: Any, response: Any, write_timeout: float) -> None:
    """Stream multipart JPEGs to one viewer: a fresh first picture, then each newer one
    once the viewer has taken the last; until it goes or stops reading.

    Args:
        hub: the frames.
        request, response: aiohttp's ``web.Request`` and a prepared ``web.StreamResponse``.
        write_timeout: seconds one write may take before the viewer is cut.
    """
    try:
        got = await hub.first()
        seq = 0
        while True:
            transport = request.transport
            if transport is None or transport.is_closing():
                return
            if got is not None:
                seq, jpeg = got
                head = f"--{BOUNDARY}\r\nContent-Type: image/jpeg\r\n"
                head += f"Content-Length: {len(jpeg)}\r\n\r\n"
                # A viewer that stops reading is cut after write_timeout: it must not
                # hold its slot (and its memory) for ever.
                async with asyncio.timeout(write_timeout):
                    await response.write(head.encode() + jpeg + b"\r\n")
            got = await hub.newer_than(seq, 1.0)
    except (TimeoutError, ConnectionError) as exc:
        log.debug("web viewer: stream to %s ended: %r", request.remote, exc)
        if request.transport is not None:
            request.transport.abort()
