"""Fake of picamera2/request.py: CompletedRequest with reference counting and make_array.

Mirrors (raspberrypi/picamera2 @ 3e6dff0):
    CompletedRequest.acquire/release: ref_count starts at 1; release at 0 hands the buffers
        back to the camera; a negative count raises RuntimeError.
    CompletedRequest.make_array(name): a copy of the stream shaped by
        Helpers._make_array_shared: RGB888/BGR888 -> (h, w, 3) with row padding cut off;
        XBGR8888/XRGB8888 -> (h, w, 4); YUV420 -> (h * 3 // 2, stride) with the padding
        *kept* (the Y plane is ``[:h, :w]``); unknown stream -> RuntimeError.
    CompletedRequest.make_buffer(name), get_metadata().
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from . import _fake

if TYPE_CHECKING:
    from .picamera2 import Picamera2


class CompletedRequest:
    def __init__(self, buffers: dict[str, np.ndarray], picam2: Picamera2, metadata: dict) -> None:
        self.request: dict[str, np.ndarray] | None = buffers
        self.ref_count = 1
        self.lock = picam2.request_lock
        self.picam2 = picam2
        self.stop_count = picam2.stop_count
        self.configure_count = picam2.configure_count
        self.config = picam2.camera_config.copy()
        self.stream_map = {name: name for name in buffers}
        self._metadata = metadata

    def acquire(self) -> None:
        """Acquire a reference to this completed request, which stops it being recycled."""
        with self.lock:
            if self.ref_count == 0:
                raise RuntimeError("CompletedRequest: acquiring lock with ref_count 0")
            self.ref_count += 1

    def release(self) -> None:
        """Release this completed frame back to the camera system (at reference count zero)."""
        with self.lock:
            self.ref_count -= 1
            if self.ref_count < 0:
                raise RuntimeError("CompletedRequest: lock now has negative ref_count")
            if self.ref_count == 0:
                self.picam2._return_buffers(self)
                _fake.state.requests_released += 1
                self.request = None
                self.config = {}
                self.stream_map = {}

    def _buffer(self, name: str) -> np.ndarray:
        if self.stream_map.get(name) is None:
            raise RuntimeError(f"Stream {name!r} is not defined")
        if self.request is None:
            # The real library would read a recycled buffer (or fail on request None).
            raise RuntimeError("fake picamera2: request used after release()")
        return self.request[name]

    def make_buffer(self, name: str) -> np.ndarray:
        """Make a 1D numpy array from the named stream's buffer."""
        return np.array(self._buffer(name), dtype=np.uint8)

    def get_metadata(self) -> dict[str, Any]:
        """Fetch the metadata corresponding to this completed request."""
        if self.request is None:
            raise RuntimeError("fake picamera2: request used after release()")
        return dict(self._metadata)

    def make_array(self, name: str) -> np.ndarray:
        """Make a 2d numpy array from the named stream's buffer."""
        config = self.config.get(name, None)
        if config is None:
            raise RuntimeError(f"Stream {name!r} is not defined")
        array = make_array_shared(self._buffer(name), config)
        result = np.copy(array) if array.data.c_contiguous else np.ascontiguousarray(array)
        _fake.state.last_arrays[name] = result.copy()
        return result


def make_array_shared(buffer: np.ndarray, config: dict[str, Any]) -> np.ndarray:
    """Shape a stream's 1D buffer as Helpers._make_array_shared does (no copy)."""
    fmt = config["format"]
    w, h = config["size"]
    stride = config["stride"]
    array = buffer
    if fmt in ("BGR888", "RGB888"):
        if stride != w * 3:
            array = array.reshape((h, stride))[:, : w * 3]
        return array.reshape((h, w, 3))
    if fmt in ("XBGR8888", "XRGB8888"):
        if stride != w * 4:
            array = array.reshape((h, stride))[:, : w * 4]
        return array.reshape((h, w, 4))
    if fmt in ("YUV420", "YVU420"):
        return array.reshape((h * 3 // 2, stride))
    raise RuntimeError("Format " + fmt + " not supported")
