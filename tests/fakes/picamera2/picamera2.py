"""Fake of picamera2/picamera2.py: the Picamera2 class and the Preview enum.

Mirrors (raspberrypi/picamera2 @ 3e6dff0, picamera2/picamera2.py), same names, parameter
names and defaults:
    Preview: enum whose values are the preview classes (NULL, DRM, QT, QTGL).
    Picamera2.global_camera_info(): list of {Model, Location, Rotation, Id, Num} dicts
        (no Rotation for a USB camera), sorted by Id with USB cameras ("/usb" in the Id)
        last; Num is the camera's index in libcamera's list.
    Picamera2(camera_num=0, verbose_console=None, tuning=None, allocator=None): indexes
        global_camera_info() (IndexError when no camera is attached); acquiring a camera
        that is already acquired raises RuntimeError("Camera __init__ sequence did not
        complete.") as the real ``camera.acquire()`` failure does. sensor_resolution and
        sensor_format are the native mode's (the largest; deeper bits on a tie).
    camera_properties, camera_controls ({name: (min, max, default)}, following the
        configured sensor mode), sensor_modes (format, unpacked, bit_depth, size, fps,
        crop_limits for each Bayer mode; {"format": name} for a USB camera's formats; it
        configures the camera once per mode, so a started camera raises),
        camera_config, stream_configuration(name), camera_configuration().
    create_preview/still/video_configuration(main, lores, raw, transform, colour_space,
        buffer_count, controls, display, encode, queue, sensor, use_case): the same dicts
        (defaults: preview XBGR8888 640x480 4 buffers; still BGR888 sensor size 1 buffer;
        video XBGR8888 1280x720 6 buffers; lores YUV420 of main's size; sizes aligned to
        even numbers; NoiseReductionMode and FrameDurationLimits (preview (100, 83333),
        still (100, 1e9), video (33333, 33333)) under the caller's controls when the camera
        has them; raw and sensor None for a USB camera); bad stream keys -> ValueError.
    configure(camera_config=None) -> check_camera_config's RuntimeErrors (bad format, odd
        size, lores larger than main, lores not YUV on VC4, sensor keys other than
        bit_depth/output_size), then strides filled in. A Raspberry Pi camera's sensor mode
        is chosen as _make_libcamera_config does (sensor config, else raw, else main size
        and bit depth, scored like libcamera) and reported in camera_config["sensor"].
        A USB camera has one stream: a lores stream is refused with RuntimeError (the
        real library would index past libcamera's one-stream configuration, undefined
        behaviour), and main's format becomes the webcam's own (MJPEG).
    start(config=None, show_preview=False): starts a NullPreview unless an event loop (a
        preview) is already running; stop(); close() (stops the preview, stops, releases
        the camera; the object cannot be used again).
    start_preview(preview=None, **kwargs), stop_preview(), attach/detach_preview().
    set_overlay(overlay): RuntimeError("No preview specified.") without a preview,
        RuntimeError("Overlay must be a 4-channel image") unless ndim 3 and 4 channels;
        then the preview's set_overlay.
    capture_request(wait=None, signal_function=None, flush=None): with ``wait`` a number,
        a camera that delivers nothing raises concurrent.futures.TimeoutError after that
        many seconds (Job.get_result -> Future.result(timeout)). captured_request(),
        capture_array(name="main", ...), cancel_all_and_flush().
    A camera delivers no new frame while all ``buffer_count`` requests are held by the
    application (not released): capture_request then times out, as on the real camera.

Not modelled: asynchronous jobs (wait=False / signal_function), encoders, controls'
effect on the image and the frame rate (see state.frame_interval), raw streams' content,
sensor_modes' exposure_limits.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from concurrent.futures import TimeoutError
from enum import Enum
from typing import Any

import cv2

from . import _fake, _sensors
from .previews import DrmPreview, NullPreview, QtGlPreview, QtPreview
from .request import CompletedRequest

_log = logging.getLogger(__name__)

#: FrameDurationLimits each create_*_configuration puts under the caller's controls (µs).
_DEFAULT_FRAME_DURATIONS = {"preview": (100, 83333), "still": (100, 1000000 * 1000),
                            "video": (33333, 33333)}  # fmt: skip
YUV_FORMATS = {"NV21", "NV12", "YUV420", "YVU420", "YVYU", "YUYV", "UYVY", "VYUY"}
RGB_FORMATS = {"BGR888", "RGB888", "XBGR8888", "XRGB8888", "RGB161616", "BGR161616"}


class Preview(Enum):
    """Enum that applications can pass to the start_preview method."""

    NULL = NullPreview
    DRM = DrmPreview
    QT = QtPreview
    QTGL = QtGlPreview


class Transform:
    """Stands in for libcamera.Transform."""

    def __init__(self, hflip=0, vflip=0, transpose=0):
        self.hflip, self.vflip, self.transpose = hflip, vflip, transpose


class ColorSpace:
    """Stands in for libcamera.ColorSpace."""

    def __init__(self, name):
        self.name = name

    @staticmethod
    def Sycc():  # noqa: N802 - libcamera's name
        return ColorSpace("sYCC")


class Picamera2:
    """Welcome to the (fake) PiCamera2 class."""

    @staticmethod
    def global_camera_info() -> list[dict[str, Any]]:
        """Return Id string and Model name for all attached cameras, one dict per camera."""
        cameras = [camera.info(num) for num, camera in enumerate(_fake.state.cameras)]
        # As the real one: by Id, USB cameras at the back.
        return sorted(cameras, key=lambda c: ("/usb" not in c["Id"], c["Id"]), reverse=True)

    def __init__(self, camera_num=0, verbose_console=None, tuning=None, allocator=None):
        state = _fake.state
        state.open_attempts += 1
        self._preview = None
        self.is_open = False
        self.camera = None
        self._event_loop_running = False
        # The real library indexes this list first: IndexError when nothing is attached.
        camera_num = self.global_camera_info()[camera_num]["Num"]
        self.camera_idx = camera_num
        self.request_lock = threading.Lock()
        self._reset_flags()
        if state.open_errors:
            self._raise_open_error(state.open_errors.pop(0), camera_num)
        if state.failed:
            if (
                state.recover_after_attempts is None
                or state.attempts_since_failure < state.recover_after_attempts
            ):
                state.attempts_since_failure += 1
                _log.error("Camera __init__ sequence did not complete.")
                raise RuntimeError("Camera __init__ sequence did not complete.")
            state.failed = False
            state.fail_after_frames = None
        with _fake._lock:
            if camera_num in state.acquired:
                _log.error("Camera __init__ sequence did not complete.")
                raise RuntimeError("Camera __init__ sequence did not complete.")
            state.acquired.add(camera_num)
        self.camera = f"fake-camera-{camera_num}"
        self.is_open = True
        self._model = state.cameras[camera_num]
        self.camera_properties_ = dict(self._model.properties)
        self._mode = self._native_mode()
        if self._mode is None:
            self.sensor_resolution = tuple(self._model.properties["PixelArraySize"])
            self.sensor_format = self._model.other_formats[0]
        else:
            self.sensor_resolution = self._mode.size
            self.sensor_format = self._mode.format
        self.sensor_modes_ = []
        state.instances.append(self)
        state.log("open")

    @staticmethod
    def _raise_open_error(error: BaseException, camera_num: int) -> None:
        """Raise an injected error where the real __init__ raises it (see _fake)."""
        if isinstance(error, PermissionError):
            with _fake._lock:
                _fake.state.acquired.add(camera_num)  # left acquired, as the real one is
            raise error
        _log.error("Camera __init__ sequence did not complete.")
        raise RuntimeError("Camera __init__ sequence did not complete.") from error

    def _reset_flags(self):
        self.camera_config = {}
        self.started = False
        self.stop_count = 0
        self.configure_count = 0
        self.frames = 0
        self.camera_properties_ = {}
        self.pre_callback = None
        self.post_callback = None
        self.display_stream_name = None
        self._held = 0
        self._next_frame_time = 0.0

    @property
    def camera_properties(self) -> dict[str, Any]:
        return {} if self.camera is None else self.camera_properties_

    @property
    def camera_controls(self) -> dict[str, tuple[Any, Any, Any]]:
        return {} if self.camera is None else _sensors.camera_controls(self._model, self._mode)

    def _is_rpi_camera(self) -> bool:
        """Is this camera handled by Raspberry Pi code or not (e.g. a USB cam)"""
        return "ColorFilterArrangement" in self.camera_properties

    def _native_mode(self):
        """The largest mode (deeper bits on a tie), as _select_native_mode picks it."""
        modes = self._model.modes
        if not modes:
            return None
        return max(modes, key=lambda m: (m.size[0] * m.size[1], m.bit_depth))

    @property
    def sensor_modes(self) -> list[dict[str, Any]]:
        """The available sensor modes (configuring the camera once for each, as the real one)."""
        if self.sensor_modes_:
            return [dict(mode) for mode in self.sensor_modes_]
        modes: list[dict[str, Any]] = [{"format": name} for name in self._model.other_formats]
        for mode in self._model.modes:
            raw = {"format": mode.format, "size": mode.size}
            self.configure(self.create_preview_configuration(raw=raw))
            modes.append(mode.as_picamera2())
        self.sensor_modes_ = modes
        return [dict(mode) for mode in modes]

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc_val, exc_traceback):
        self.close()

    # Previews -------------------------------------------------------------------------

    def attach_preview(self, preview) -> None:
        if self._preview:
            raise RuntimeError("Preview is already running")
        self._preview = preview
        self._event_loop_running = True

    def start_preview(self, preview=None, **kwargs) -> None:
        """Start the given preview which drives the camera processing."""
        if self._event_loop_running:
            raise RuntimeError("An event loop is already running")
        if preview is True:
            preview = Preview.DRM.value(**kwargs)
        elif preview is False or preview is None:
            preview = Preview.NULL.value(**kwargs)
        elif isinstance(preview, Preview):
            preview = preview.value(**kwargs)
        preview.start(self)

    def detach_preview(self) -> None:
        self._preview = None
        self._event_loop_running = False

    def stop_preview(self) -> None:
        """Stop preview"""
        if self._preview is None:
            raise RuntimeError("No preview specified.")
        try:
            self._preview.stop()
        except Exception as e:
            raise RuntimeError("Unable to stop preview.") from e

    def set_overlay(self, overlay) -> None:
        """Display an overlay on the camera image."""
        if self._preview is None:
            raise RuntimeError("No preview specified.")
        if overlay is not None and (overlay.ndim != 3 or overlay.shape[2] != 4):
            raise RuntimeError("Overlay must be a 4-channel image")
        self._preview.set_overlay(overlay)

    # Configuration --------------------------------------------------------------------

    @staticmethod
    def _make_initial_stream_config(stream_config, updates, ignore_list=()):
        if updates is None:
            return updates
        valid = ("format", "size", "stride", "preserve_ar")
        for key, value in updates.items():
            if key in valid:
                stream_config[key] = value
            elif key not in ignore_list:
                raise ValueError(f"Bad key {key!r}: valid stream configuration keys are {valid}")
        return stream_config

    @staticmethod
    def align_stream(stream_config, optimal=True) -> None:
        if optimal:
            align = 32 if _fake.state.platform == "VC4" else 64
            if stream_config["format"] in ("YUV420", "YVU420"):
                align *= 2
            elif stream_config["format"] in ("XBGR8888", "XRGB8888"):
                align //= 2
        else:
            align = 2
        size = stream_config["size"]
        stream_config["size"] = (size[0] - size[0] % align, size[1] - size[1] % 2)

    def _make_config(
        self, defaults, main, lores, raw, transform, colour_space, buffer_count, controls,
        display, encode, queue, sensor, use_case,
    ) -> dict[str, Any]:  # fmt: skip
        if self.camera is None:
            raise RuntimeError("Camera not opened")
        if not self._is_rpi_camera():  # USB cams can't deliver a raw stream
            raw = None
            sensor = None
        limits = self.camera_controls
        if "NoiseReductionMode" in limits and "FrameDurationLimits" in limits:
            durations = _DEFAULT_FRAME_DURATIONS.get(use_case, (100, 83333))
            controls = {"NoiseReductionMode": 1, "FrameDurationLimits": durations} | controls
        main = self._make_initial_stream_config(dict(defaults), dict(main))
        self.align_stream(main, optimal=False)
        lores = self._make_initial_stream_config(
            {"format": "YUV420", "size": main["size"], "preserve_ar": False},
            None if lores is None else dict(lores),
        )
        if lores is not None:
            self.align_stream(lores, optimal=False)
        raw = self._make_initial_stream_config(
            {"format": self.sensor_format, "size": main["size"]},
            None if raw is None else dict(raw),
            ["bit_depth", "crop_limits", "exposure_limits", "fps", "unpacked"],
        )
        config = {
            "use_case": use_case,
            "transform": transform if transform is not None else Transform(),
            "colour_space": colour_space,
            "buffer_count": buffer_count,
            "queue": queue,
            "main": main,
            "lores": lores,
            "raw": raw,
            "controls": dict(controls),
            "sensor": None if sensor is None else dict(sensor),
        }
        for name, value in (("Display", display), ("Encode", encode)):
            if value is not None and config.get(value) is None:
                raise RuntimeError(f"{name} stream {value} was not defined")
        config["display"] = display
        config["encode"] = encode
        return config

    def create_preview_configuration(
        self,
        main={},  # noqa: B006 - the real signature
        lores=None,
        raw={},  # noqa: B006
        transform=None,
        colour_space=None,
        buffer_count=4,
        controls={},  # noqa: B006
        display="main",
        encode="main",
        queue=True,
        sensor={},  # noqa: B006
        use_case="preview",
    ) -> dict[str, Any]:
        """Make a configuration suitable for camera preview."""
        defaults = {"format": "XBGR8888", "size": (640, 480), "preserve_ar": True}
        return self._make_config(
            defaults, main, lores, raw, transform, colour_space or ColorSpace.Sycc(),
            buffer_count, controls, display, encode, queue, sensor, use_case,
        )  # fmt: skip

    def create_still_configuration(
        self,
        main={},  # noqa: B006
        lores=None,
        raw={},  # noqa: B006
        transform=None,
        colour_space=None,
        buffer_count=1,
        controls={},  # noqa: B006
        display=None,
        encode=None,
        queue=True,
        sensor={},  # noqa: B006
        use_case="still",
    ) -> dict[str, Any]:
        """Make a configuration suitable for still image capture."""
        defaults = {"format": "BGR888", "size": self.sensor_resolution, "preserve_ar": True}
        return self._make_config(
            defaults, main, lores, raw, transform, colour_space or ColorSpace.Sycc(),
            buffer_count, controls, display, encode, queue, sensor, use_case,
        )  # fmt: skip

    def create_video_configuration(
        self,
        main={},  # noqa: B006
        lores=None,
        raw={},  # noqa: B006
        transform=None,
        colour_space=None,
        buffer_count=6,
        controls={},  # noqa: B006
        display="main",
        encode="main",
        queue=True,
        sensor={},  # noqa: B006
        use_case="video",
    ) -> dict[str, Any]:
        """Make a configuration suitable for video recording."""
        defaults = {"format": "XBGR8888", "size": (1280, 720), "preserve_ar": True}
        return self._make_config(
            defaults, main, lores, raw, transform, colour_space or ColorSpace("Smpte170m"),
            buffer_count, controls, display, encode, queue, sensor, use_case,
        )  # fmt: skip

    @staticmethod
    def check_stream_config(stream_config, name) -> None:
        """Raise RuntimeError if one stream's configuration is invalid."""
        if type(stream_config) is not dict:
            raise RuntimeError(name + " stream should be a dictionary")
        if "format" not in stream_config:
            raise RuntimeError("format not found in " + name + " stream")
        if "size" not in stream_config:
            raise RuntimeError("size not found in " + name + " stream")
        fmt = stream_config["format"]
        if type(fmt) is not str:
            raise RuntimeError("format in " + name + " stream should be a string")
        if name != "raw" and fmt not in YUV_FORMATS and fmt not in RGB_FORMATS and fmt != "MJPEG":
            raise RuntimeError("Bad format " + fmt + " in stream " + name)
        size = stream_config["size"]
        if type(size) is not tuple or len(size) != 2:
            raise RuntimeError("size in " + name + " stream should be (width, height)")
        if size[0] % 2 or size[1] % 2:
            raise RuntimeError("width and height should be even")

    def check_camera_config(self, camera_config) -> None:
        for name in ["colour_space", "transform", "main", "lores", "raw"]:
            if name not in camera_config:
                raise RuntimeError(f"{name!r} key expected in camera configuration")
        if camera_config.get("sensor") is not None:
            bad_keys = set(camera_config["sensor"]).difference({"bit_depth", "output_size"})
            if bad_keys:
                raise RuntimeError(f"Unexpected keys {bad_keys} in sensor configuration")
        self.check_stream_config(camera_config["main"], "main")
        if camera_config["lores"] is not None:
            self.check_stream_config(camera_config["lores"], "lores")
            main_w, main_h = camera_config["main"]["size"]
            lores_w, lores_h = camera_config["lores"]["size"]
            if lores_w > main_w or lores_h > main_h:
                raise RuntimeError("lores stream dimensions may not exceed main stream")
            lores_format = camera_config["lores"]["format"]
            if _fake.state.platform == "VC4" and lores_format not in YUV_FORMATS:
                raise RuntimeError("lores stream must be YUV")
        if camera_config["raw"] is not None:
            self.check_stream_config(camera_config["raw"], "raw")

    def configure(self, camera_config=None) -> None:
        """Configure the camera system with the given configuration."""
        if self.started:
            raise RuntimeError("Camera must be stopped before configuring")
        if camera_config is None or isinstance(camera_config, str):
            camera_config = self.create_preview_configuration()
        if not isinstance(camera_config, dict):
            raise TypeError("Invalid type for `camera_config` given")
        camera_config = {
            k: (dict(v) if isinstance(v, dict) else v) for k, v in camera_config.items()
        }
        self.camera_config = {}
        if not self._is_rpi_camera():
            camera_config["raw"] = None  # as the real configure_
        self.check_camera_config(camera_config)
        if self._is_rpi_camera():
            self._mode = self._choose_mode(camera_config)
            camera_config["sensor"] = {
                "bit_depth": self._mode.bit_depth,
                "output_size": self._mode.size,
            }
            if camera_config["raw"] is not None:  # libcamera sets raw to the sensor mode
                camera_config["raw"] = dict(camera_config["raw"], size=self._mode.size)
        else:
            self._check_usb_config(camera_config)
        for name in ("main", "lores"):
            stream = camera_config[name]
            if stream is not None:
                stream["stride"] = _fake.stride_for(stream["format"], stream["size"][0])
                height = stream["size"][1]
                rows = height * 3 // 2 if stream["format"] in YUV_FORMATS else height
                stream["framesize"] = stream["stride"] * rows
        self.display_stream_name = camera_config["display"]
        self.camera_config = camera_config
        self.configure_count += 1
        _fake.state.log("configure")

    def _choose_mode(self, camera_config):
        """The sensor mode libcamera would pick, by picamera2's score (lower is better).

        Wanted bit depth and size: the ``sensor`` entry, else the raw stream's, else main's
        size and the sensor format's depth. Each mode is scored by how far its width and
        height are from the wanted ones (a bigger mode costs a quarter per pixel, a smaller
        one double), 1500 per unit of aspect-ratio difference scored the same way, and 500
        per bit of depth difference.
        """
        sensor = camera_config.get("sensor") or {}
        raw = camera_config.get("raw") or {}
        depth = sensor.get("bit_depth") or _bit_depth(raw.get("format") or self.sensor_format)
        size = sensor.get("output_size") or raw.get("size") or camera_config["main"]["size"]

        def score(mode) -> float:
            aspect, mode_aspect = size[0] / size[1], mode.size[0] / mode.size[1]
            return (
                2 * _asymmetric(size[0], mode.size[0])
                + 2 * _asymmetric(size[1], mode.size[1])
                + 1500 * 2 * _asymmetric(aspect, mode_aspect)
                + 500 * abs(depth - mode.bit_depth)
            )

        return min(self._model.modes, key=score)

    def _check_usb_config(self, camera_config) -> None:
        if camera_config["lores"] is not None:
            raise RuntimeError(
                "fake picamera2: a USB camera has one stream; the real library would read "
                "libcamera_config.at(lores_index) past it (undefined behaviour)"
            )
        main = camera_config["main"]
        if main["format"] not in self._model.other_formats:
            main["format"] = self._model.other_formats[0]  # UVC validate() adjusts it

    def camera_configuration(self) -> dict[str, Any]:
        """Return the camera configuration."""
        return self.camera_config

    def stream_configuration(self, name="main") -> dict[str, Any]:
        """Return the stream configuration for the named stream."""
        return self.camera_config[name]

    # Running --------------------------------------------------------------------------

    def start(self, config=None, show_preview=False) -> None:
        """Start the camera system running."""
        if not self.camera_config and config is None:
            config = "preview"
        if config is not None:
            self.configure(config)
        if not self.camera_config:
            raise RuntimeError("Camera has not been configured")
        if show_preview is not None and not self._event_loop_running:
            self.start_preview(show_preview)
        if self.started:
            return
        self.started = True
        self._held = 0  # a fresh set of requests is queued at each start
        self._next_frame_time = time.monotonic()
        _fake.state.log("start")

    def stop(self) -> None:
        """Stop the camera."""
        if not self.started:
            return
        self.stop_count += 1
        self.started = False
        _fake.state.log("stop")

    def close(self) -> None:
        """Close camera."""
        if self._preview:
            self.stop_preview()
        if not self.is_open:
            return
        self.stop()
        with _fake._lock:
            _fake.state.acquired.discard(self.camera_idx)
        self.is_open = False
        self.camera = None
        self.camera_config = {}
        _fake.state.log("close")

    def cancel_all_and_flush(self) -> None:
        """Clear the camera system queue of pending jobs and cancel them."""
        _fake.state.log("cancel_all_and_flush")

    def _return_buffers(self, request: CompletedRequest) -> None:
        if request.stop_count == self.stop_count and self.started:
            self._held -= 1

    def _deliverable(self) -> bool:
        state = _fake.state
        if state.failed:
            return False
        limit = state.fail_after_frames
        if limit is not None and state.frames_delivered >= limit:
            state.failed = True
            state.attempts_since_failure = 0
            return False
        # All buffers are with the application: the camera cannot complete a request.
        return self._held < self.camera_config["buffer_count"]

    def capture_request(self, wait=None, signal_function=None, flush=None) -> CompletedRequest:
        """Fetch the next completed request from the camera system."""
        if wait is False or signal_function is not None:
            raise NotImplementedError("fake picamera2: asynchronous jobs are not modelled")
        state = _fake.state
        if state.capture_error is not None:
            error, state.capture_error = state.capture_error, None
            raise error
        if not self.started:
            # Nothing completes on a stopped camera: the job never finishes.
            self._wait_for_nothing(wait, "the camera is not started")
        if not self._deliverable():
            self._wait_for_nothing(wait, "the camera delivers no frames")
        if state.frame_interval > 0:
            now = time.monotonic()
            if self._next_frame_time > now:
                time.sleep(self._next_frame_time - now)
            self._next_frame_time = max(self._next_frame_time, now) + state.frame_interval
        with _fake._lock:
            number = state.frames_delivered
            state.frames_delivered += 1
            state.requests_captured += 1
        self._held += 1
        self.frames += 1
        buffers = {}
        main = self.camera_config["main"]
        bgr = _fake.synthesize_bgr(number, main["size"])
        for name in ("main", "lores"):
            stream = self.camera_config.get(name)
            if stream is None:
                continue
            picture = bgr
            if stream["size"] != main["size"]:
                picture = cv2.resize(bgr, stream["size"], interpolation=cv2.INTER_AREA)
            buffers[name] = _fake.make_buffer(
                stream["format"], stream["size"], stream["stride"], picture
            )
        metadata = {"SensorTimestamp": time.monotonic_ns(), "FrameNumber": number}
        request = CompletedRequest(buffers, self, metadata)
        if self._preview is not None:
            self._preview.render_request(request)
        return request

    def _wait_for_nothing(self, wait, why: str) -> None:
        if wait is None or wait is True:
            time.sleep(_fake.state.block_forever_limit)
            raise AssertionError(
                f"fake picamera2: capture_request(wait={wait!r}) would block for ever: {why}"
            )
        time.sleep(float(wait))
        raise TimeoutError()

    @contextlib.contextmanager
    def captured_request(self, wait=None, flush=None):
        """Capture a completed request using the context manager which guarantees its release."""
        request = self.capture_request(wait=wait, flush=flush)
        try:
            yield request
        finally:
            request.release()

    def capture_array(self, name="main", wait=None, signal_function=None):
        """Make a 2d image from the next frame in the named stream."""
        request = self.capture_request(wait=wait, signal_function=signal_function)
        try:
            return request.make_array(name)
        finally:
            request.release()


def _bit_depth(sensor_format: str) -> int:
    """Bits per pixel of a raw format name (PISP-compressed formats count as 16)."""
    pixels, _, packing = sensor_format.partition("_")
    if packing in ("PISP_COMP1", "PISP_COMP2"):
        return 16
    digits = pixels.lstrip("SRGB")
    return int(digits) if digits.isdigit() else 16


def _asymmetric(wanted: float, actual: float) -> float:
    """How far ``actual`` is from ``wanted``: falling short costs 1 per unit, overshooting 1/8."""
    return wanted - actual if wanted >= actual else (actual - wanted) / 8
