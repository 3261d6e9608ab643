"""Fake of picamera2/previews: the Null and DRM previews (Qt previews are not modelled)."""

from .drm_preview import DrmPreview
from .null_preview import NullPreview

__all__ = ["DrmPreview", "NullPreview", "QtGlPreview", "QtPreview"]


class QtPreview:
    """Stands in for the Qt preview, which needs a desktop: constructing it fails."""

    def __init__(self, x=0, y=0, width=640, height=480, transform=None):
        raise RuntimeError("fake picamera2: Qt previews are not available (no display)")


class QtGlPreview(QtPreview):
    """Stands in for the Qt OpenGL preview; constructing it fails."""
