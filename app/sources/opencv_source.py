"""Frames through OpenCV's VideoCapture: live USB/V4L2 cameras and video files."""

from __future__ import annotations

import logging
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from app.errors import SourceError
from app.frame import Frame
from app.sources.base import Pacer, Source
from app.sources.images import IMAGE_SUFFIXES, letterbox

log = logging.getLogger(__name__)

#: A callable that opens a capture like ``cv2.VideoCapture(device)``; tests pass a fake.
CaptureFactory = Callable[[Any], Any]


def open_v4l2(device: int | str) -> Any:
    """Open a live device; on Linux ask for V4L2 directly (GStreamer may hang probing)."""
    if sys.platform.startswith("linux"):
        return cv2.VideoCapture(device, cv2.CAP_V4L2)
    return cv2.VideoCapture(device)


def _to_frame(image: np.ndarray, size: tuple[int, int], seq: int, timestamp: float) -> Frame:
    image = letterbox(image, size)
    return Frame(
        array=image,
        gray=cv2.cvtColor(image, cv2.COLOR_BGR2GRAY),
        seq=seq,
        timestamp=timestamp,
    )


class DeviceSource(Source):
    """A live camera (``usb:N`` or ``/dev/videoN``).

    A grab thread reads continuously and keeps only the newest picture, so ``read``
    returns the newest frame not yet returned and nothing queues up behind a slow
    reader (``seq`` counts every grabbed picture, so skipped ones show as gaps).
    """

    def __init__(
        self,
        device: int | str,
        *,
        size: tuple[int, int] = (640, 480),
        fps: float = 30.0,
        read_timeout: float = 2.0,
        capture_factory: CaptureFactory = open_v4l2,
    ) -> None:
        self.device = device
        self.size = (int(size[0]), int(size[1]))
        self.fps = float(fps)
        self.read_timeout = read_timeout
        self.capture_factory = capture_factory
        self.name = f"usb:{device}" if isinstance(device, int) else str(device)
        self.description = f"camera {self.name}"
        self._capture: Any = None
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._ready = threading.Condition()
        self._newest: np.ndarray | None = None
        self._newest_seq = -1
        self._newest_time = 0.0
        self._returned_seq = -1
        self._error: str | None = None

    def open(self) -> None:
        if self._thread is not None:
            return
        capture = self.capture_factory(self.device)
        if capture is None or not capture.isOpened():
            if capture is not None:
                capture.release()
            raise SourceError(f"{self.name}: cannot open the camera; expected a V4L2 device")
        capture.set(cv2.CAP_PROP_FRAME_WIDTH, self.size[0])
        capture.set(cv2.CAP_PROP_FRAME_HEIGHT, self.size[1])
        capture.set(cv2.CAP_PROP_FPS, self.fps)
        # A driver-side queue would hand us stale pictures; we keep our own newest one.
        capture.set(cv2.CAP_PROP_BUFFERSIZE, 1)
        self._capture = capture
        self._stop.clear()
        self._newest = None
        # seq carries on across a reopen, so the loop never sees it go backwards.
        self._returned_seq = self._newest_seq
        self._error = None
        self._thread = threading.Thread(target=self._grab_loop, name=f"grab-{self.name}")
        self._thread.start()
        log.info("%s: opened", self.name)

    def _grab_loop(self) -> None:
        failures = 0
        seq = self._newest_seq
        while not self._stop.is_set():
            ok, image = self._capture.read()
            if not ok or image is None:
                failures += 1
                # A few failed reads happen while a camera settles; many mean it is gone.
                if failures >= 10:
                    with self._ready:
                        self._error = f"{self.name}: the camera stopped delivering frames"
                        self._ready.notify_all()
                    return
                self._stop.wait(0.01)
                continue
            failures = 0
            seq += 1
            with self._ready:
                self._newest = image
                self._newest_seq = seq
                self._newest_time = time.monotonic()
                self._ready.notify_all()

    def read(self) -> Frame:
        if self._thread is None:
            raise SourceError(f"{self.name}: read before open")
        with self._ready:
            got = self._ready.wait_for(
                lambda: self._newest_seq > self._returned_seq or self._error is not None,
                timeout=self.read_timeout,
            )
            if self._newest_seq > self._returned_seq:
                image, seq, stamp = self._newest, self._newest_seq, self._newest_time
                self._returned_seq = seq
            elif self._error is not None:
                raise SourceError(self._error)
            else:
                assert not got
                raise SourceError(f"{self.name}: no frame within {self.read_timeout:g} s")
        assert image is not None
        return _to_frame(image, self.size, seq, stamp)

    def close(self) -> None:
        thread, self._thread = self._thread, None
        if thread is not None:
            self._stop.set()
            thread.join()
        if self._capture is not None:
            self._capture.release()
            self._capture = None


class VideoFileSource(Source):
    """A video file (``file:PATH``), paced to its own frame rate when ``realtime``.

    At the end it starts again when ``loop``, else ``read`` returns None.
    """

    def __init__(
        self,
        path: str | Path,
        *,
        size: tuple[int, int] = (640, 480),
        loop: bool = True,
        realtime: bool = True,
        capture_factory: CaptureFactory = cv2.VideoCapture,
    ) -> None:
        self.path = Path(path)
        self.size = (int(size[0]), int(size[1]))
        self.loop = loop
        self.realtime = realtime
        self.capture_factory = capture_factory
        self.description = f"file {self.path.name}"
        #: Frames per second from the file (30 when it does not say).
        self.fps = 30.0
        self._capture: Any = None
        self._pending: np.ndarray | None = None
        self._ended = False
        self._seq = 0
        self._pacer = Pacer(self.fps)

    def _open_capture(self) -> tuple[Any, np.ndarray]:
        capture = self.capture_factory(str(self.path))
        image = None
        if capture is not None and capture.isOpened():
            ok, image = capture.read()
            if not ok:
                image = None
        if image is None or image.ndim != 3:
            if capture is not None:
                capture.release()
            raise SourceError(f"file:{self.path}: cannot decode it as a video (e.g. .mp4, .avi)")
        return capture, image

    def open(self) -> None:
        if self._capture is not None:
            return
        if not self.path.is_file():
            raise SourceError(f"file:{self.path}: no such file; expected a video file")
        if self.path.suffix.lower() in IMAGE_SUFFIXES:
            # FFmpeg would open a photo as a one-frame video; a slideshow is what is meant.
            raise SourceError(f"file:{self.path}: a photo, not a video; use images:FOLDER")
        capture, first = self._open_capture()
        frame_count = max(0, int(capture.get(cv2.CAP_PROP_FRAME_COUNT)))
        fps = capture.get(cv2.CAP_PROP_FPS)
        self.fps = float(fps) if 1.0 <= fps <= 240.0 else 30.0
        self._capture = capture
        self._pending = first
        self._ended = False
        self._pacer = Pacer(self.fps)
        self._pacer.restart()
        log.info("file %s: %.3g fps, %d frames", self.path, self.fps, frame_count)

    def _next_image(self) -> np.ndarray | None:
        if self._pending is not None:
            image, self._pending = self._pending, None
            return image
        ok, image = self._capture.read()
        if ok and image is not None:
            return image
        if not self.loop:
            return None
        # Reopening is the one rewind every backend supports (seeking is not).
        self._capture.release()
        self._capture = None
        try:
            self._capture, image = self._open_capture()
        except SourceError as e:
            raise SourceError(f"file:{self.path}: cannot start the video again") from e
        return image

    def read(self) -> Frame | None:
        if self._capture is None and not self._ended:
            raise SourceError(f"file:{self.path}: read before open")
        if self._ended:
            return None
        if self.realtime:
            self._pacer.wait()
        image = self._next_image()
        if image is None:
            self._ended = True
            return None
        frame = _to_frame(image, self.size, self._seq, time.monotonic())
        self._seq += 1
        return frame

    def close(self) -> None:
        if self._capture is not None:
            self._capture.release()
            self._capture = None
        self._pending = None
