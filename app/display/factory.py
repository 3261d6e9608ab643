"""Build a display from one spec string: auto, drm, fb[:/dev/fbN], web, file:PATH, null."""

from __future__ import annotations

import glob
import logging
import os
from pathlib import Path
from typing import Any

from app.controls.actions import ActionQueue
from app.display.base import Display
from app.errors import DisplayError

log = logging.getLogger(__name__)

DISPLAY_SPECS = ("auto", "drm", "fb[:/dev/fbN]", "web", "file:PATH", "null")


def hdmi_connected(drm_dir: str | os.PathLike = "/sys/class/drm") -> bool:
    """True when any ``card*-HDMI-A-*/status`` under ``drm_dir`` reads ``connected``."""
    for status in sorted(glob.glob(os.path.join(os.fspath(drm_dir), "card*-HDMI-A-*", "status"))):
        try:
            if Path(status).read_text().strip() == "connected":
                return True
        except OSError:
            continue
    return False


def is_raspberry_pi(model_path: str | os.PathLike = "/proc/device-tree/model") -> bool:
    """True when the device-tree model names a Raspberry Pi."""
    try:
        return "Raspberry Pi" in Path(model_path).read_bytes().decode(errors="replace")
    except OSError:
        return False


def source_has_camera(source: Any) -> bool:
    """True for the picamera2 source: it exposes its ``Picamera2`` as ``source.camera``."""
    return source is not None and hasattr(source, "camera")


def choose_auto_display(
    source: Any = None,
    *,
    drm_dir: str | os.PathLike = "/sys/class/drm",
    model_path: str | os.PathLike = "/proc/device-tree/model",
) -> tuple[str, str]:
    """What ``auto`` means here: (``"drm"`` or ``"web"``, the reason in words).

    Call it before opening the source: the picamera2 source must start its DRM
    preview (``picamera2_preview="drm"``) when the answer is ``drm``.
    """
    if not is_raspberry_pi(model_path):
        return "web", "not a Raspberry Pi"
    if not hdmi_connected(drm_dir):
        return "web", "no HDMI screen connected"
    if not source_has_camera(source):
        return "web", "the source is not picamera2 (the DRM preview needs its camera)"
    return "drm", "Raspberry Pi with an HDMI screen and the picamera2 source"


def make_display(
    spec: str,
    *,
    source: Any = None,
    host: str = "127.0.0.1",
    port: int = 8000,
    actions: ActionQueue | None = None,
    token: str | None = None,
    fps: float = 30.0,
    max_overlay_fps: float | None = None,
    drm_dir: str | os.PathLike = "/sys/class/drm",
    model_path: str | os.PathLike = "/proc/device-tree/model",
) -> Display:
    """Construct (not open) the display named by ``spec``.

    Args:
        spec: ``auto``, ``drm``, ``fb`` / ``fb:/dev/fb1``, ``web``, ``file:PATH``
            (``.mp4``/``.avi``/``.mkv``, a directory or ``%05d.png``), or ``null``.
        source: the frame source; ``drm`` reads its ``camera`` at open.
        host, port, actions, token: for ``web`` (``actions`` receives the page's keys).
        fps: frame rate written into ``file`` videos.
        max_overlay_fps: ``drm`` overlay update bound (default in ``app.display.drm``).
        drm_dir, model_path: where ``auto`` looks (injectable for tests).

    Raises:
        DisplayError: the spec names no known display.
    """
    name, _, argument = spec.strip().partition(":")
    name = name.lower()
    if name == "auto" and not argument:
        name, reason = choose_auto_display(source, drm_dir=drm_dir, model_path=model_path)
        log.info("display auto -> %s: %s", name, reason)
    if name == "drm" and not argument:
        from app.display.drm import DEFAULT_MAX_OVERLAY_FPS, DrmOverlayDisplay

        return DrmOverlayDisplay(
            source=source, max_overlay_fps=max_overlay_fps or DEFAULT_MAX_OVERLAY_FPS
        )
    if name == "web" and not argument:
        from app.display.web import WebViewer

        return WebViewer(host=host, port=port, actions=actions, token=token)
    if name == "fb":
        from app.display.fb import FramebufferDisplay

        return FramebufferDisplay(argument or "/dev/fb0")
    if name == "file":
        from app.display.file import FileDisplay

        return FileDisplay(argument, fps=fps)
    if name == "null" and not argument:
        from app.display.null import NullDisplay

        return NullDisplay()
    raise DisplayError(f"unknown display {spec!r}; expected one of: {', '.join(DISPLAY_SPECS)}")
