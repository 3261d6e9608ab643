"""Frames from a Raspberry Pi camera through picamera2: BGR main stream, grey from lores Y.

The sensor runs in a mode that sees the whole scene at the frame rate asked for
(``app.sources.camera_modes``), held there with ``FrameDurationLimits``; the lores stream
has the main stream's aspect ratio. USB webcams, which picamera2 lists too, are refused:
they have one stream (no lores) and go through OpenCV instead.
"""

from __future__ import annotations

import importlib
import logging
import time
from types import ModuleType
from typing import Any

import numpy as np

from app.errors import SourceError
from app.frame import Frame
from app.sources.base import Source
from app.sources.camera_modes import (
    choose_sensor_mode,
    describe_mode,
    frame_duration_limits,
    lores_size_for,
)

log = logging.getLogger(__name__)

PREVIEWS = ("null", "drm")


def import_picamera2() -> ModuleType:
    """Import picamera2 lazily: only this module needs it, and only on a Pi.

    Raises ImportError (also for a broken install, e.g. libcamera's bindings missing).
    """
    try:
        return importlib.import_module("picamera2")
    except (OSError, RuntimeError) as e:
        raise ImportError(f"picamera2 cannot be imported: {e}") from e


def is_usb_camera(info: dict[str, Any]) -> bool:
    """True for a ``global_camera_info`` entry of a USB (UVC) camera.

    libcamera's UVC pipeline names a camera after its USB controller's firmware path, so
    the Id contains "/usb"; picamera2 sorts these to the back with the same test.
    """
    return "/usb" in str(info.get("Id", ""))


def _one_line(error: BaseException) -> str:
    text = str(error).strip().splitlines()
    return f"{type(error).__name__}: {text[0]}" if text else type(error).__name__


class Picamera2Source(Source):
    """A Raspberry Pi camera: ``main`` (RGB888, BGR byte order) for display, the Y plane of a
    small ``lores`` YUV420 stream as ``Frame.gray`` for processing.

    ``read`` runs in the caller's thread (``capture_request``, never a camera callback),
    copies both streams and always releases the request. With ``preview="drm"`` the DRM
    preview runs (started before the camera), so a display can put an RGBA overlay on
    the HDMI picture with ``self.camera.set_overlay(rgba)``.

    Args:
        fps: the sensor's frame rate, held with ``FrameDurationLimits``; 0 leaves it to
            picamera2 (12 fps to as fast as the mode goes).
        lores_size: the box the lores stream fits in, with the main stream's aspect.

    Attributes:
        camera: the ``Picamera2`` object while open, else None.
        main_size: (width, height) of ``Frame.array`` as the camera configured it.
        lores_size: (width, height) of ``Frame.gray``.
        sensor_mode: the ``sensor_modes`` entry the camera runs in, or None.
    """

    def __init__(
        self,
        *,
        camera_num: int = 0,
        size: tuple[int, int] = (640, 480),
        lores_size: tuple[int, int] = (320, 240),
        fps: float = 30.0,
        preview: str = "null",
        drm_window: tuple[int, int, int, int] | None = None,
        buffer_count: int = 4,
        capture_timeout: float = 2.0,
    ) -> None:
        if preview not in PREVIEWS:
            raise SourceError(f"picamera2 preview {preview!r} unknown; expected one of {PREVIEWS}")
        if lores_size[0] > size[0] or lores_size[1] > size[1]:
            raise SourceError(
                f"picamera2: lores size {lores_size} is larger than main size {size}; "
                "expected lores <= main"
            )
        if fps < 0:
            raise SourceError(f"picamera2: fps must be >= 0 (0: the camera's own), got {fps}")
        self.camera_num = camera_num
        self.fps = float(fps)
        self.requested_size = (int(size[0]), int(size[1]))
        self.requested_lores_size = (int(lores_size[0]), int(lores_size[1]))
        self.preview = preview
        self.drm_window = drm_window
        # The DRM overlay needs two or more buffers (DrmPreview holds one while shown).
        self.buffer_count = max(2, buffer_count)
        self.capture_timeout = capture_timeout
        self.description = f"picamera2 camera {camera_num}"
        self.camera: Any = None
        self.main_size = self.requested_size
        self.lores_size = self.requested_lores_size
        self.sensor_mode: dict[str, Any] | None = None
        self._sensor_modes: dict[str, list[dict[str, Any]]] = {}
        self._seq = 0
        self._timeout_error: type[BaseException] = TimeoutError

    def open(self) -> None:
        if self.camera is not None:
            return
        try:
            picamera2 = import_picamera2()
        except ImportError as e:
            raise SourceError(f"picamera2: library not available ({e})") from e
        self._timeout_error = getattr(picamera2, "TimeoutError", TimeoutError)
        try:
            camera = picamera2.Picamera2(self.camera_num)
        except IndexError as e:
            raise SourceError(
                f"picamera2: no camera {self.camera_num} listed by libcamera "
                "(check the ribbon cable and `rpicam-hello --list-cameras`)"
            ) from e
        except RuntimeError as e:
            raise SourceError(
                f"picamera2: cannot open camera {self.camera_num} ({_one_line(e)})"
            ) from e
        if "ColorFilterArrangement" not in camera.camera_properties:
            self._close_quietly(camera)
            raise SourceError(
                f"picamera2: camera {self.camera_num} "
                f"({camera.camera_properties.get('Model', '?')}) is a USB camera: it has no "
                "lores stream; use source 'auto' or '/dev/videoN' (read through OpenCV)"
            )
        try:
            self._start(picamera2, camera)
        except (RuntimeError, ValueError, OSError) as e:
            self._close_quietly(camera)
            raise SourceError(
                f"picamera2: cannot start camera {self.camera_num} ({_one_line(e)})"
            ) from e
        self.camera = camera
        log.info(
            "picamera2: camera %d (%s) sensor mode %s, main %dx%d RGB888, lores %dx%d "
            "YUV420, %s, preview %s",
            self.camera_num,
            camera.camera_properties.get("Model", "?"),
            describe_mode(self.sensor_mode) if self.sensor_mode else "chosen by libcamera",
            *self.main_size,
            *self.lores_size,
            f"{self.fps:g} fps" if self.fps else "frame rate free",
            self.preview,
        )

    def _choose_mode(self, camera: Any) -> dict[str, Any] | None:
        # sensor_modes configures the camera once per mode (about a second on a Pi):
        # read once per camera model, not at every reconnection.
        model = str(camera.camera_properties.get("Model", "?"))
        if model not in self._sensor_modes:
            self._sensor_modes[model] = list(camera.sensor_modes)
        mode = choose_sensor_mode(self._sensor_modes[model], self.requested_size, self.fps)
        if mode is not None and self.fps and float(mode.get("fps", 0.0)) < self.fps - 0.01:
            log.warning(
                "picamera2: %s gives at most %s fps with its whole field of view; %g fps asked",
                model,
                mode.get("fps"),
                self.fps,
            )
        return mode

    def _start(self, picamera2: ModuleType, camera: Any) -> None:
        self.sensor_mode = mode = self._choose_mode(camera)
        sensor = {}
        if mode is not None:
            sensor = {"output_size": tuple(mode["size"]), "bit_depth": int(mode["bit_depth"])}
        controls = {}
        limits = frame_duration_limits(self.fps)
        if limits is not None and "FrameDurationLimits" in camera.camera_controls:
            controls["FrameDurationLimits"] = limits
        lores = lores_size_for(self.requested_size, self.requested_lores_size)
        config = camera.create_preview_configuration(
            main={"size": self.requested_size, "format": "RGB888"},
            lores={"size": lores, "format": "YUV420"},
            buffer_count=self.buffer_count,
            controls=controls,
            sensor=sensor,
        )
        camera.configure(config)
        self.main_size = tuple(camera.stream_configuration("main")["size"])
        self.lores_size = tuple(camera.stream_configuration("lores")["size"])
        if self.preview == "drm":
            # Before start(): start() would otherwise launch its own NullPreview loop.
            kwargs = {}
            if self.drm_window is not None:
                x, y, width, height = self.drm_window
                kwargs = {"x": x, "y": y, "width": width, "height": height}
            camera.start_preview(picamera2.Preview.DRM, **kwargs)
        camera.start()

    def read(self) -> Frame:
        camera = self.camera
        if camera is None:
            raise SourceError("picamera2: read before open (or after close)")
        try:
            request = camera.capture_request(wait=self.capture_timeout)
        except self._timeout_error as e:
            # The job stays queued after a timeout; cancel it so close() returns promptly.
            camera.cancel_all_and_flush()
            raise SourceError(
                f"picamera2: no frame within {self.capture_timeout:g} s "
                "(camera stopped delivering; check the ribbon cable)"
            ) from e
        except RuntimeError as e:
            raise SourceError(f"picamera2: capture failed ({_one_line(e)})") from e
        try:
            bgr = request.make_array("main")
            yuv = request.make_array("lores")
        except RuntimeError as e:
            raise SourceError(f"picamera2: cannot read the frame ({_one_line(e)})") from e
        finally:
            request.release()
        width, height = self.lores_size
        # YUV420 comes as (h * 3 / 2, stride): the first h rows are Y, and each row may be
        # padded past the width to the ISP's alignment.
        gray = np.ascontiguousarray(yuv[:height, :width])
        frame = Frame(array=bgr, gray=gray, seq=self._seq, timestamp=time.monotonic())
        self._seq += 1
        return frame

    def close(self) -> None:
        camera, self.camera = self.camera, None
        if camera is not None:
            self._close_quietly(camera)

    @staticmethod
    def _close_quietly(camera: Any) -> None:
        try:
            # close() stops the preview and the camera, then releases it for the next open.
            camera.close()
        except RuntimeError as e:
            log.warning("picamera2: error while closing camera: %s", _one_line(e))
