"""Fake of picamera2/previews/null_preview.py.

Mirrors NullPreview: ``__init__(x=None, y=None, width=None, height=None, transform=None)``,
``start(picam2)`` attaches itself (``picam2.attach_preview``), ``stop()`` detaches,
``set_overlay`` accepts anything (it only exists for interface parity), ``render_request``
does nothing. The real one runs an event-loop thread that completes requests; the fake
produces frames on demand in ``Picamera2.capture_request`` instead, so there is no thread.
"""

from __future__ import annotations

import time

from .. import _fake


class NullPreview:
    """Null Preview"""

    kind = "NULL"

    def __init__(self, x=None, y=None, width=None, height=None, transform=None):
        self.size = (width, height)
        self.picam2 = None
        self.window = (x, y, width, height)
        self.transform = transform

    def start(self, picam2):
        self.picam2 = picam2
        picam2.attach_preview(self)
        _fake.state.log(f"preview_start:{self.kind}")

    def set_overlay(self, overlay):
        # Accepted and ignored, like the real NullPreview; recorded for tests.
        self._record_overlay(overlay)

    def _record_overlay(self, overlay):
        _fake.state.overlay_calls.append(
            _fake.OverlayCall(
                timestamp=time.monotonic(),
                preview=self.kind,
                shape=None if overlay is None else tuple(overlay.shape),
                dtype=None if overlay is None else str(overlay.dtype),
                overlay=None if overlay is None else overlay.copy(),
            )
        )

    def render_request(self, completed_request):
        """Draw the camera image. For the NullPreview, there is nothing to do."""

    def stop(self):
        self.picam2.detach_preview()
        self.picam2 = None
        _fake.state.log(f"preview_stop:{self.kind}")

    def set_title_function(self, function):
        pass
