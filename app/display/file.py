"""Record the composed picture to a video file (.mp4/.avi/.mkv) or a numbered PNG sequence."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import cv2
import numpy as np

from app.display.base import Display
from app.display.compose import compose
from app.errors import DisplayError
from app.frame import Frame

log = logging.getLogger(__name__)

#: Extension -> FourCC OpenCV's bundled FFmpeg writes without extra codecs.
VIDEO_FOURCC = {".mp4": "mp4v", ".avi": "MJPG", ".mkv": "MJPG"}


def _png_pattern(path: str) -> str | None:
    """The printf-style pattern for a PNG sequence spec, or None when it is not one."""
    if "%" in path:
        if not path.lower().endswith(".png"):
            raise DisplayError(
                f"file display: pattern {path!r} must end in .png, e.g. out/%05d.png"
            )
        try:
            path % 0
        except (TypeError, ValueError) as exc:
            raise DisplayError(
                f"file display: {path!r} is not a valid frame-number pattern such as %05d.png"
            ) from exc
        return path
    if path.endswith(os.sep) or Path(path).is_dir():
        return os.path.join(path, "%05d.png")
    return None


class FileDisplay(Display):
    """Writes each composed frame to a video or to ``pattern % frame_index`` PNG files.

    Args:
        path: ``clip.mp4`` / ``clip.avi`` / ``clip.mkv``, a directory (``out/``), or a
            pattern such as ``out/%05d.png``. A directory is created when missing.
        fps: the frame rate written into a video's header.
    """

    def __init__(self, path: str, *, fps: float = 30.0) -> None:
        if not path:
            raise DisplayError(
                "file display needs a path: file:clip.mp4, file:out/ or file:%05d.png"
            )
        if fps <= 0:
            raise DisplayError(f"file display: fps must be > 0, got {fps}")
        self.path = path
        self.fps = fps
        self._pattern = _png_pattern(path)
        if self._pattern is None and Path(path).suffix.lower() not in VIDEO_FOURCC:
            raise DisplayError(
                f"file display: unsupported file {path!r}; expected .mp4, .avi, .mkv, "
                "a directory or a %05d.png pattern"
            )
        self._writer: cv2.VideoWriter | None = None
        self._size: tuple[int, int] | None = None
        self._resize_logged = False
        self.frames_written = 0
        self.description = f"file {path}"

    def open(self) -> None:
        if self._pattern is not None:
            Path(self._pattern).parent.mkdir(parents=True, exist_ok=True)
        else:
            parent = Path(self.path).parent
            if not parent.is_dir():
                raise DisplayError(f"file display: directory {str(parent)!r} does not exist")
        self.frames_written = 0

    def show(self, frame: Frame, overlay: np.ndarray) -> None:
        picture = compose(frame.array, overlay)
        if self._pattern is not None:
            name = self._pattern % self.frames_written
            if not cv2.imwrite(name, picture):
                raise DisplayError(f"file display: could not write {name!r}")
        else:
            self._write_video(picture)
        self.frames_written += 1

    def _write_video(self, picture: np.ndarray) -> None:
        height, width = picture.shape[:2]
        if self._writer is None:
            # The size is fixed by the first frame: a video cannot change it later.
            fourcc = cv2.VideoWriter_fourcc(*VIDEO_FOURCC[Path(self.path).suffix.lower()])
            writer = cv2.VideoWriter(self.path, fourcc, self.fps, (width, height))
            if not writer.isOpened():
                raise DisplayError(f"file display: OpenCV could not open {self.path!r} for writing")
            self._writer = writer
            self._size = (width, height)
        if (width, height) != self._size:
            if not self._resize_logged:
                log.warning("frame size changed to %dx%d; scaling to %s", width, height, self._size)
                self._resize_logged = True
            picture = cv2.resize(picture, self._size, interpolation=cv2.INTER_AREA)
        self._writer.write(picture)

    def close(self) -> None:
        if self._writer is not None:
            self._writer.release()
            self._writer = None
            log.info("wrote %d frames to %s", self.frames_written, self.path)
