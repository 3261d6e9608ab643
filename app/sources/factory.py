"""Turn a source spec (``auto``, ``picamera2``, ``usb:0``, ``file:clip.mp4``, ...) into a Source."""

from __future__ import annotations

import logging
import os
from pathlib import Path

from app.errors import SourceError, one_line
from app.sources.base import Source
from app.sources.demo import DemoSource
from app.sources.images import ImageFolderSource
from app.sources.opencv_source import DeviceSource, VideoFileSource
from app.sources.picamera2_source import Picamera2Source, import_picamera2, is_usb_camera

log = logging.getLogger(__name__)

ACCEPTED = (
    "auto, picamera2, picamera2:N, usb:N, /dev/videoN, file:PATH, images:DIR, demo, demo:SEED"
)
V4L2_SYSFS = Path("/sys/class/video4linux")
#: How many USB video nodes ``auto`` tries (each UVC camera also has a metadata node).
MAX_USB_PROBES = 4


def _parse_int(text: str, spec: str, what: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = -1
    if value < 0:
        raise SourceError(f"source {spec!r}: {what} must be a whole number >= 0, got {text!r}")
    return value


def make_source(
    spec: str = "auto",
    *,
    size: tuple[int, int] = (640, 480),
    fps: float = 30.0,
    seed: int = 0,
    loop: bool = True,
    realtime: bool = True,
    picamera2_preview: str = "null",
    drm_window: tuple[int, int, int, int] | None = None,
) -> Source:
    """Construct (not open) the source a spec names.

    Args:
        spec: one of ``auto``, ``picamera2`` (``picamera2:N`` for camera N), ``usb:N``,
            a device path such as ``/dev/video0``, ``file:PATH`` (a video), ``images:DIR``
            (a slideshow), ``demo`` or ``demo:SEED``.
        size: (width, height) of the frames.
        fps: frame rate asked of cameras; the pace of demo and slideshow frames.
        seed: the demo's seed when the spec does not give one.
        loop: files and slideshows start again at the end (else ``read`` returns None).
        realtime: synthetic and file sources pace to their frame rate; False returns
            frames as fast as they are asked for.
        picamera2_preview: "null" or "drm" (the HDMI preview a display can overlay).
        drm_window: (x, y, w, h) of that preview on the screen (default picamera2's).

    Raises:
        SourceError: an unknown spec, with the accepted forms.
    """
    spec = spec.strip()
    kind, _, arg = spec.partition(":")
    if spec in ("", "auto"):
        return choose_auto(
            size=size, fps=fps, seed=seed, realtime=realtime,
            picamera2_preview=picamera2_preview, drm_window=drm_window,
        )  # fmt: skip
    if kind == "picamera2":
        number = _parse_int(arg, spec, "the camera number") if arg else 0
        return Picamera2Source(
            camera_num=number, size=size, fps=fps, preview=picamera2_preview, drm_window=drm_window
        )
    if kind == "usb" and arg:
        return DeviceSource(_parse_int(arg, spec, "the camera index"), size=size, fps=fps)
    if spec.startswith("/dev/"):
        return DeviceSource(spec, size=size, fps=fps)
    if kind == "file" and arg:
        return VideoFileSource(arg, size=size, loop=loop, realtime=realtime)
    if kind == "images" and arg:
        return ImageFolderSource(arg, size=size, fps=fps, loop=loop, realtime=realtime)
    if kind == "demo":
        demo_seed = _parse_int(arg, spec, "the seed") if arg else seed
        return DemoSource(size=size, fps=fps, seed=demo_seed, realtime=realtime)
    raise SourceError(f"unknown source {spec!r}; expected one of: {ACCEPTED}")


def _picamera2_skip_reason() -> str | None:
    """None when picamera2 imports and lists a camera, else why not.

    Any exception is a reason, not a crash: apt's picamera2 importing a pip NumPy of
    another ABI raises ValueError, a broken libcamera RuntimeError or OSError.
    """
    try:
        picamera2 = import_picamera2()
    except Exception as e:  # see the docstring
        return f"library not available ({one_line(e)})"
    try:
        cameras = picamera2.Picamera2.global_camera_info()
    except Exception as e:  # see the docstring
        return f"cannot list cameras ({one_line(e)})"
    if not cameras:
        return "no camera listed"
    if all(is_usb_camera(camera) for camera in cameras):  # listed last: camera 0 is not USB
        return "it lists only USB cameras (read through OpenCV)"
    return None


def usb_video_devices(sysfs: Path = V4L2_SYSFS) -> list[str]:
    """``/dev/videoN`` paths of USB video devices, lowest N first.

    The Pi's own video nodes (ISP, codecs, CSI receiver) are not USB and are skipped:
    opening them as cameras is slow or fails.
    """
    if not sysfs.is_dir():
        return []
    found = []
    for node in sysfs.iterdir():
        if not node.name.startswith("video") or not node.name[5:].isdigit():
            continue
        if "/usb" in os.path.realpath(node / "device"):
            found.append((int(node.name[5:]), f"/dev/{node.name}"))
    return [path for _, path in sorted(found)]


def _probe_device(path: str, size: tuple[int, int], fps: float) -> str | None:
    """None when the device opens and gives a frame, else why not."""
    probe = DeviceSource(path, size=size, fps=fps, read_timeout=1.5)
    try:
        probe.open()
        probe.read()
    except SourceError as e:
        return str(e)
    finally:
        probe.close()
    return None


def find_camera(
    size: tuple[int, int] = (640, 480), fps: float = 30.0, usb_devices: list[str] | None = None
) -> tuple[str | None, list[str]]:
    """The camera ``auto`` would read now: ("picamera2" or "/dev/videoN", []) , or (None, why
    each candidate was skipped). A USB camera is opened for a frame to be sure of it."""
    skipped = []
    reason = _picamera2_skip_reason()
    if reason is None:
        return "picamera2", skipped
    skipped.append(f"picamera2: {reason}")
    devices = usb_video_devices() if usb_devices is None else usb_devices
    if not devices:
        skipped.append("usb: no USB video devices")
    for path in devices[:MAX_USB_PROBES]:
        why = _probe_device(path, size, fps)
        if why is None:
            return path, skipped
        skipped.append(f"{path}: {why}")
    return None, skipped


def choose_auto(
    *,
    size: tuple[int, int] = (640, 480),
    fps: float = 30.0,
    seed: int = 0,
    realtime: bool = True,
    picamera2_preview: str = "null",
    drm_window: tuple[int, int, int, int] | None = None,
    usb_devices: list[str] | None = None,
) -> Source:
    """picamera2 if it lists a camera, else the first USB camera that gives a frame, else demo.

    The choice and why each skipped option was skipped are logged at INFO.
    """
    found, skipped = find_camera(size, fps, usb_devices)
    why = f" (skipped {'; '.join(skipped)})" if skipped else ""
    if found == "picamera2":
        log.info("source auto: picamera2 (a camera is listed)")
        return Picamera2Source(size=size, fps=fps, preview=picamera2_preview, drm_window=drm_window)
    if found is not None:
        log.info("source auto: %s%s", found, why)
        return DeviceSource(found, size=size, fps=fps)
    log.info("source auto: demo%s", why)
    return DemoSource(size=size, fps=fps, seed=seed, realtime=realtime)
