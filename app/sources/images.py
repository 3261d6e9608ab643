"""A slideshow source: the photos of a folder, each shown for a few seconds."""

from __future__ import annotations

import logging
import time
from pathlib import Path

import cv2
import numpy as np

from app.errors import SourceError
from app.frame import Frame
from app.imageio import PhotoError, read_photo
from app.sources.base import Pacer, Source

log = logging.getLogger(__name__)

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".webp")


def letterbox(image: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Fit ``image`` (h, w, 3) uint8 into ``size`` (width, height), keeping its aspect ratio.

    Returns (height, width, 3) uint8 with black bars; the input itself if it already fits.
    """
    width, height = size
    h, w = image.shape[:2]
    if (w, h) == (width, height):
        return image
    scale = min(width / w, height / h)
    new_w, new_h = max(1, round(w * scale)), max(1, round(h * scale))
    interpolation = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
    resized = cv2.resize(image, (new_w, new_h), interpolation=interpolation)
    out = np.zeros((height, width, 3), np.uint8)
    x0, y0 = (width - new_w) // 2, (height - new_h) // 2
    out[y0 : y0 + new_h, x0 : x0 + new_w] = resized
    return out


def list_images(folder: Path) -> list[Path]:
    """The photos in ``folder`` (not recursive), sorted by name."""
    return sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)


class ImageFolderSource(Source):
    """Shows each photo of a folder for ``seconds_per_image`` (counted in frames at ``fps``).

    Photos are read when their turn comes by ``app.imageio.read_photo`` (regular files
    only, size checked from the header before decoding, EXIF orientation applied),
    letterboxed to ``size``; unreadable or oversized ones are skipped with a warning. ``loop=False``
    ends (``read`` returns None) after the last photo.
    """

    def __init__(
        self,
        folder: str | Path,
        *,
        size: tuple[int, int] = (640, 480),
        fps: float = 30.0,
        seconds_per_image: float = 3.0,
        loop: bool = True,
        realtime: bool = True,
    ) -> None:
        if fps <= 0 or seconds_per_image <= 0:
            raise SourceError(
                f"images:{folder}: fps {fps} and seconds per image {seconds_per_image} "
                "must be positive"
            )
        self.folder = Path(folder)
        self.size = (int(size[0]), int(size[1]))
        self.fps = float(fps)
        self.frames_per_image = max(1, round(seconds_per_image * fps))
        self.loop = loop
        self.realtime = realtime
        self.description = f"images {self.folder}"
        #: Path of the photo on the last frame returned.
        self.current_path: Path | None = None
        self._paths: list[Path] = []
        self._unreadable: set[Path] = set()
        self._position = -1
        self._shown = 0
        self._picture: np.ndarray | None = None
        self._gray: np.ndarray | None = None
        self._seq = 0
        self._pacer = Pacer(self.fps)

    def open(self) -> None:
        if self._paths:
            return
        if not self.folder.is_dir():
            raise SourceError(f"images:{self.folder}: not a folder; expected a folder of photos")
        self._paths = list_images(self.folder)
        if not self._paths:
            raise SourceError(
                f"images:{self.folder}: no photos; expected files ending in "
                + "/".join(IMAGE_SUFFIXES)
            )
        self._unreadable = set()
        self._position = -1
        self._shown = 0
        self._picture = None
        self._pacer.restart()
        log.info("images: %d photos in %s", len(self._paths), self.folder)

    def _advance(self) -> bool:
        """Load the next readable photo; False at the end (or when none can be read)."""
        for _ in range(len(self._paths)):
            position = self._position + 1
            if position >= len(self._paths):
                if not self.loop:
                    return False
                position = 0
            self._position = position
            path = self._paths[position]
            if path in self._unreadable:
                continue
            try:
                image = read_photo(path)
            except PhotoError as exc:
                self._unreadable.add(path)
                log.warning("images: skipping %s", exc)
                continue
            self._picture = letterbox(image, self.size)
            self._gray = cv2.cvtColor(self._picture, cv2.COLOR_BGR2GRAY)
            self.current_path = path
            self._shown = 0
            return True
        raise SourceError(f"images:{self.folder}: none of the {len(self._paths)} files is readable")

    def read(self) -> Frame | None:
        if not self._paths:
            raise SourceError(f"images:{self.folder}: read before open")
        if (self._picture is None or self._shown >= self.frames_per_image) and not self._advance():
            return None
        if self.realtime:
            self._pacer.wait()
        assert self._picture is not None and self._gray is not None
        self._shown += 1
        # Copies: stages may draw on a frame; the next frame must not show it.
        frame = Frame(
            array=self._picture.copy(),
            gray=self._gray.copy(),
            seq=self._seq,
            timestamp=time.monotonic(),
        )
        self._seq += 1
        return frame

    def close(self) -> None:
        self._paths = []
        self._picture = None
        self._gray = None
