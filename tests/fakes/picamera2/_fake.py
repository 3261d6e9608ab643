"""Control panel of the fake picamera2: camera list, fault injection, records, frame synthesis.

Not part of the real library. Tests change ``state`` (after ``reset()``) to arrange a
situation and read it afterwards to see what the code under test did.

Cameras (``_sensors.py``): ``state.cameras`` is libcamera's camera list, one
``FakeCamera`` each (default: an imx708); ``attach("imx219", "usb")`` replaces it with those
sensors and/or a USB webcam. ``global_camera_info()`` orders them as picamera2 does (USB
cameras last) and each ``Num`` is the camera's place in ``state.cameras``.

Fault hooks:
    ``state.cameras = []``: nothing attached; ``Picamera2.global_camera_info()`` is empty
        and ``Picamera2()`` raises ``IndexError`` as the real one does (it indexes that list).
    ``state.fail_after_frames = N``: after N frames in total the sensor stops delivering;
        ``capture_request(wait=t)`` then raises ``TimeoutError`` after ``t`` seconds (the
        real ``Job.get_result`` -> ``Future.result(timeout)``), as with a loose cable.
    ``state.recover_after_attempts = M``: after such a failure the next M ``Picamera2()``
        constructions raise ``RuntimeError("Camera __init__ sequence did not complete.")``;
        the one after works and the camera delivers again. ``None``: it never comes back.
    ``state.capture_error = exc``: the next ``capture_request`` raises ``exc`` once.
    ``state.overlay_errors = [exc, ...]``: the next DRM ``set_overlay`` calls raise these, one
        each, after the preview's own checks: the real ``DrmPreview.stop()`` clears its card,
        planes and stream map without taking its lock, so a ``set_overlay`` racing a camera
        close fails with AttributeError, TypeError or KeyError from inside pykms/render_drm.
    ``state.open_errors = [exc, ...]``: the next ``Picamera2()`` constructions raise, one
        each, where the real ``__init__`` would: a ``PermissionError`` at its very end, from
        ``DmaAllocator()`` -> ``DmaHeap()`` opening ``/dev/dma_heap/*`` after the camera was
        acquired (the half-built object stays referenced by atexit and the camera manager,
        so the camera stays acquired); anything else from inside ``_open_camera``, which
        the real library re-raises as ``RuntimeError("Camera __init__ sequence did not
        complete.")`` before acquiring.
    ``state.import_error = exc``: ``import picamera2`` raises it while set (as apt's
        picamera2 does with a pip NumPy of another ABI: ValueError "numpy.dtype size
        changed"); drop ``sys.modules["picamera2"]`` so the next import runs again.
    ``state.platform``: "PISP" (Pi 5) or "VC4" (Pi 4 and earlier); sets stride alignment.
    ``state.frame_interval``: seconds between frames (0: a frame is always ready).
    ``state.commit_seconds``: how long each DRM commit blocks (a camera frame rendered by
        the DRM preview, and each ``set_overlay``): the real ``commit_sync`` returns after
        the flip, up to a vblank (16.7 ms at 60 Hz). ``state.commit_holds_gil``: block
        holding Python's GIL, as kms++'s binding does (``pykms`` declares no
        ``gil_scoped_release``), or releasing it, as the pure-Python ``kms`` binding's
        ``fcntl.ioctl`` does (picamera2 imports ``kms`` first when it is installed).
"""

from __future__ import annotations

import ctypes
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import cv2
import numpy as np

from ._sensors import CAMERAS, USB_WEBCAM, FakeCamera


@dataclass
class OverlayCall:
    """One call of ``set_overlay`` that the preview accepted."""

    timestamp: float
    preview: str
    shape: tuple[int, ...] | None
    dtype: str | None
    overlay: np.ndarray | None


@dataclass
class FakeState:
    cameras: list[FakeCamera] = field(default_factory=lambda: [CAMERAS["imx708"]])
    platform: str = "PISP"
    frame_interval: float = 0.0
    commit_seconds: float = 0.0
    commit_holds_gil: bool = False
    fail_after_frames: int | None = None
    recover_after_attempts: int | None = 0
    capture_error: BaseException | None = None
    overlay_errors: list[BaseException] = field(default_factory=list)
    open_errors: list[BaseException] = field(default_factory=list)
    import_error: BaseException | None = None
    #: capture_request(wait=None) on a stalled camera blocks for ever in the real library;
    #: the fake gives up after this long with an AssertionError naming the mistake.
    block_forever_limit: float = 2.0

    # Records.
    commits: int = 0
    #: Seconds each thread (``threading.get_ident()``) spent blocked in commits.
    commit_seconds_by_thread: dict[int, float] = field(default_factory=dict)
    events: list[tuple[float, str]] = field(default_factory=list)
    overlay_calls: list[OverlayCall] = field(default_factory=list)
    frames_delivered: int = 0
    requests_captured: int = 0
    requests_released: int = 0
    open_attempts: int = 0
    acquired: set[int] = field(default_factory=set)
    instances: list[Any] = field(default_factory=list)
    last_arrays: dict[str, np.ndarray] = field(default_factory=dict)

    # Internal.
    failed: bool = False
    attempts_since_failure: int = 0

    def log(self, event: str) -> None:
        with _lock:
            self.events.append((time.monotonic(), event))

    def event_names(self) -> list[str]:
        return [name for _, name in self.events]

    @property
    def requests_outstanding(self) -> int:
        return self.requests_captured - self.requests_released


_lock = threading.Lock()
state = FakeState()


#: libc through ctypes.PyDLL: its calls keep the GIL, as a C++ binding without a release does.
_LIBC_HOLDING_GIL = ctypes.PyDLL(None)


def commit() -> None:
    """One DRM commit: block for ``state.commit_seconds`` (with or without the GIL)."""
    seconds = state.commit_seconds
    thread = threading.get_ident()
    with _lock:
        state.commits += 1
        waited = state.commit_seconds_by_thread
        waited[thread] = waited.get(thread, 0.0) + seconds
    if seconds <= 0:
        return
    if state.commit_holds_gil:
        _LIBC_HOLDING_GIL.usleep(int(seconds * 1e6))
    else:
        time.sleep(seconds)


def reset() -> None:
    """Back to one attached imx708, no faults and empty records."""
    global state
    state = FakeState()


def attach(*names: str) -> None:
    """Attach these cameras, in this libcamera order: sensor names (``CAMERAS``) or "usb"."""
    state.cameras = [USB_WEBCAM if name == "usb" else CAMERAS[name] for name in names]


def stride_for(fmt: str, width: int) -> int:
    """Bytes per row as libcamera sets them: rows padded to the ISP's alignment.

    YUV420's chroma rows are half the luma stride and must be aligned too, so the luma
    stride is aligned to twice as much (see Picamera2.align_stream).
    """
    align = 64 if state.platform == "PISP" else 32
    bytes_per_pixel = {"RGB888": 3, "BGR888": 3, "XBGR8888": 4, "XRGB8888": 4, "YUV420": 1}
    bpp = bytes_per_pixel.get(fmt, 1)
    if fmt in ("YUV420", "YVU420"):
        align *= 2
    row = width * bpp
    return (row + align - 1) // align * align


def synthesize_bgr(frame_number: int, size: tuple[int, int]) -> np.ndarray:
    """A moving test scene: (H, W, 3) uint8 BGR; a bright square travels left to right."""
    width, height = size
    xs = np.linspace(40, 200, width, dtype=np.float32)[None, :]
    ys = np.linspace(0, 80, height, dtype=np.float32)[:, None]
    image = np.empty((height, width, 3), np.uint8)
    image[:, :, 0] = xs * 0.5 + ys
    image[:, :, 1] = xs
    image[:, :, 2] = 230 - xs * 0.5
    side = max(2, height // 5)
    x = (frame_number * 7) % max(1, width - side)
    y = height // 2 - side // 2
    image[y : y + side, x : x + side] = (250, 250, 250)
    return image


def make_buffer(fmt: str, size: tuple[int, int], stride: int, bgr: np.ndarray) -> np.ndarray:
    """The 1D uint8 buffer libcamera would fill for one stream, padding included.

    Padding bytes are 0xEE so code that forgets to crop to the width shows it.
    """
    width, height = size
    if fmt in ("RGB888", "BGR888"):
        # RGB888 is stored B, G, R in memory (DRM fourcc naming): OpenCV's BGR.
        pixels = bgr if fmt == "RGB888" else bgr[:, :, ::-1]
        rows = np.full((height, stride), 0xEE, np.uint8)
        rows[:, : width * 3] = pixels.reshape(height, width * 3)
        return rows.reshape(-1)
    if fmt in ("XBGR8888", "XRGB8888"):
        rgba = np.full((height, width, 4), 255, np.uint8)
        rgba[:, :, :3] = bgr[:, :, ::-1] if fmt == "XBGR8888" else bgr
        rows = np.full((height, stride), 0xEE, np.uint8)
        rows[:, : width * 4] = rgba.reshape(height, width * 4)
        return rows.reshape(-1)
    if fmt in ("YUV420", "YVU420"):
        i420 = cv2.cvtColor(bgr, cv2.COLOR_BGR2YUV_I420)
        y = i420[:height]
        chroma = i420[height:].reshape(-1)
        quarter = (width // 2) * (height // 2)
        u = chroma[:quarter].reshape(height // 2, width // 2)
        v = chroma[quarter:].reshape(height // 2, width // 2)
        if fmt == "YVU420":
            u, v = v, u
        buffer = np.full(height * 3 // 2 * stride, 0xEE, np.uint8)
        luma_bytes = height * stride
        buffer[:luma_bytes].reshape(height, stride)[:, :width] = y
        half = stride // 2
        chroma_bytes = (height // 2) * half
        buffer[luma_bytes : luma_bytes + chroma_bytes].reshape(height // 2, half)[
            :, : width // 2
        ] = u
        buffer[luma_bytes + chroma_bytes :].reshape(height // 2, half)[:, : width // 2] = v
        return buffer
    raise RuntimeError("Format " + fmt + " not supported")
