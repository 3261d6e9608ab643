"""Fake of picamera2/previews/drm_preview.py.

Mirrors DrmPreview: ``__init__(x=0, y=0, width=640, height=480, transform=None)`` and the
checks in ``set_overlay``, in the real order:
    not started -> RuntimeError("Preview must be started before setting an overlay")
    camera not configured -> RuntimeError("Preview must be configured before setting an overlay")
    buffer_count < 2 -> RuntimeError("Need at least buffer_count=2 to set overlay")
    no overlay plane yet -> RuntimeError("Overlays not supported on this device"): the real
        preview reserves its overlay plane when it renders the first camera frame, so an
        overlay set between ``start()`` and the first frame fails. The fake reserves it when
        the first request of a started camera is produced.
    more bytes than w*h*4 (e.g. a float array) -> ValueError("data out of range"), which is
        what the real ``mmap.write`` of the overlay raises.
"""

from __future__ import annotations

from .. import _fake
from .null_preview import NullPreview


class DrmPreview(NullPreview):
    kind = "DRM"

    def __init__(self, x=0, y=0, width=640, height=480, transform=None):
        super().__init__(x=x, y=y, width=width, height=height, transform=transform)
        self.overlay_plane = None
        self.current = None

    def render_request(self, completed_request):
        """Called for each displayed frame; the first one reserves the planes. Each frame is
        one synchronous commit (``_fake.commit``), as ``render_drm``'s ``commit_sync``."""
        if self.overlay_plane is None:
            self.overlay_plane = "overlay-plane"
        _fake.commit()

    def set_overlay(self, overlay):
        if self.picam2 is None:
            raise RuntimeError("Preview must be started before setting an overlay")
        if not self.picam2.camera_config:
            raise RuntimeError("Preview must be configured before setting an overlay")
        if self.picam2.camera_config["buffer_count"] < 2:
            raise RuntimeError("Need at least buffer_count=2 to set overlay")
        if self.overlay_plane is None:
            raise RuntimeError("Overlays not supported on this device")
        if _fake.state.overlay_errors:
            raise _fake.state.overlay_errors.pop(0)
        if overlay is not None:
            h, w, _channels = overlay.shape
            if overlay.nbytes > w * h * 4:
                raise ValueError("data out of range")
        self._record_overlay(overlay)
        _fake.commit()  # the real set_overlay renders (commits) at once

    def stop(self):
        super().stop()
        self.current = None
        self.overlay_plane = None
