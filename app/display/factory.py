"""Build a display from one spec string: auto, drm, fb[:/dev/fbN], web, file:PATH, null."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from app.controls.actions import ActionQueue
from app.display.base import Display
from app.display.machine import (
    SYSTEM,
    MachinePaths,
    connected_hdmi,
    desktop_reason,
    is_raspberry_pi,
)
from app.errors import DisplayError

log = logging.getLogger(__name__)

DISPLAY_SPECS = ("auto", "drm", "fb[:/dev/fbN]", "web", "file:PATH", "null")


@dataclass(frozen=True)
class DisplayChoice:
    """The display ``auto`` (or a fallback) chose, and why, in words for the log and status."""

    name: str
    reason: str


def source_has_camera(source: Any) -> bool:
    """True for the picamera2 source: it exposes its ``Picamera2`` as ``source.camera``."""
    return source is not None and hasattr(source, "camera")


def choose_auto_display(picamera2: bool, paths: MachinePaths = SYSTEM) -> DisplayChoice:
    """What ``auto`` means on this machine now, with the reason.

    On a Raspberry Pi with an HDMI screen and no desktop: ``drm`` for the picamera2
    source (its preview shows the camera, the overlay on top), ``fb`` for any other
    source (a USB webcam, the demo). With a desktop on the screen, or no screen: ``web``
    (the desktop shows the viewer's presentation page full screen). Decide before
    opening the source: picamera2 starts its DRM preview when the answer is ``drm``.

    Args:
        picamera2: the source is (or will be) the picamera2 camera.
        paths: where the machine's facts are read (``app.display.machine``).
    """
    if not is_raspberry_pi(paths):
        return DisplayChoice("web", "not a Raspberry Pi")
    desktop = desktop_reason(paths)
    if desktop is not None:
        return DisplayChoice("web", f"{desktop}: its browser shows the viewer page")
    if not connected_hdmi(paths):
        return DisplayChoice("web", "no HDMI screen connected")
    if picamera2:
        return DisplayChoice("drm", "Raspberry Pi camera and an HDMI screen, no desktop")
    if paths.fb_device.exists():
        return DisplayChoice("fb", "an HDMI screen, no desktop, a camera other than picamera2")
    return DisplayChoice("web", f"an HDMI screen but no {paths.fb_device}")


def desktop_refusal(name: str, paths: MachinePaths = SYSTEM) -> str | None:
    """Why ``drm``/``fb`` must not open here (a desktop holds the screen), else None."""
    if name not in ("drm", "fb"):
        return None
    desktop = desktop_reason(paths)
    if desktop is None:
        return None
    return f"display {name}: {desktop}, which owns the HDMI screen; the web viewer shows there"


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
    paths: MachinePaths = SYSTEM,
) -> Display:
    """Construct (not open) the display named by ``spec``; its ``reason`` says why.

    Args:
        spec: ``auto``, ``drm``, ``fb`` / ``fb:/dev/fb1``, ``web``, ``file:PATH``
            (``.mp4``/``.avi``/``.mkv``, a directory or ``%05d.png``), or ``null``.
        source: the frame source; ``drm`` reads its ``camera`` and window.
        host, port, actions, token: for ``web`` (``actions`` receives the page's keys).
        fps: frame rate written into ``file`` videos.
        max_overlay_fps: ``drm`` overlay update bound (default in ``app.display.drm``).
        paths: where ``auto`` looks, and the framebuffer under ``drm``.

    Raises:
        DisplayError: the spec names no known display. (A desktop holding the screen is
            ``desktop_refusal``'s to say, when the display is about to open.)
    """
    name, _, argument = spec.strip().partition(":")
    name = name.lower()
    reason = "[display] spec"
    if name == "auto" and not argument:
        choice = choose_auto_display(source_has_camera(source), paths)
        name, reason = choice.name, choice.reason
        log.info("display auto -> %s: %s", name, reason)
    wanted = _Wanted(source, host, port, actions, token, fps, max_overlay_fps, paths)
    build = _BUILDERS.get(name)
    display = build(argument, wanted) if build is not None else None
    if display is None:
        raise DisplayError(f"unknown display {spec!r}; expected one of: {', '.join(DISPLAY_SPECS)}")
    display.reason = reason
    return display


@dataclass(frozen=True)
class _Wanted:
    """``make_display``'s arguments, for the builders."""

    source: Any
    host: str
    port: int
    actions: ActionQueue | None
    token: str | None
    fps: float
    max_overlay_fps: float | None
    paths: MachinePaths


def _drm(argument: str, wanted: _Wanted) -> Display | None:
    if argument:
        return None
    from app.display.drm import DEFAULT_MAX_OVERLAY_FPS, DrmOverlayDisplay
    from app.display.fb import FramebufferDisplay

    paths = wanted.paths
    console = None
    if paths.fb_device.exists():
        console = FramebufferDisplay(str(paths.fb_device), sysfs_dir=paths.fb_sysfs)
    return DrmOverlayDisplay(
        source=wanted.source,
        console=console,
        max_overlay_fps=wanted.max_overlay_fps or DEFAULT_MAX_OVERLAY_FPS,
    )


def _web(argument: str, wanted: _Wanted) -> Display | None:
    if argument:
        return None
    from app.display.web import WebViewer

    return WebViewer(host=wanted.host, port=wanted.port, actions=wanted.actions, token=wanted.token)


def _fb(argument: str, wanted: _Wanted) -> Display:
    from app.display.fb import FramebufferDisplay

    if argument:
        return FramebufferDisplay(argument)
    return FramebufferDisplay(str(wanted.paths.fb_device), sysfs_dir=wanted.paths.fb_sysfs)


def _file(argument: str, wanted: _Wanted) -> Display:
    from app.display.file import FileDisplay

    return FileDisplay(argument, fps=wanted.fps)


def _null(argument: str, wanted: _Wanted) -> Display | None:
    if argument:
        return None
    from app.display.null import NullDisplay

    return NullDisplay()


_BUILDERS = {"drm": _drm, "web": _web, "fb": _fb, "file": _file, "null": _null}
