"""The screen an overlay is drawn for, and where the camera picture sits on it.

The overlay is drawn at the screen's resolution when one is known (``[display] screen``,
``--screen WxH`` or the display's own mode), so text is sharp on a projector; the camera
picture is scaled onto it, its aspect ratio kept and centred (black bars on the rest).
The views (to place the ROI box) and the displays (to compose) use this one rule.
"""

from __future__ import annotations


def picture_box(
    frame_size: tuple[int, int], screen_size: tuple[int, int]
) -> tuple[int, int, int, int]:
    """(x, y, w, h) of a ``frame_size`` (w, h) picture fitted, centred, on ``screen_size``."""
    fw, fh = frame_size
    sw, sh = screen_size
    if fw <= 0 or fh <= 0:
        return (0, 0, sw, sh)
    scale = min(sw / fw, sh / fh)
    w, h = min(sw, round(fw * scale)), min(sh, round(fh * scale))
    return ((sw - w) // 2, (sh - h) // 2, w, h)


def preview_box(
    window: tuple[int, int, int, int], frame_size: tuple[int, int]
) -> tuple[int, int, int, int]:
    """(x, y, w, h) where picamera2's DRM preview puts a ``frame_size`` (w, h) camera picture
    (and the overlay over it) inside ``window`` (x, y, w, h): fitted, centred, with the
    preview's whole-pixel rounding down, so the overlay can be drawn at exactly that size."""
    x, y, w, h = window
    fw, fh = frame_size
    if fw <= 0 or fh <= 0:
        return window
    if fw * h > w * fh:
        fitted = w * fh // fw
        return (x, y + (h - fitted) // 2, w, fitted)
    fitted = h * fw // fh
    return (x + (w - fitted) // 2, y, fitted, h)


def frame_size_for_screen(
    requested: tuple[int, int], screen_size: tuple[int, int]
) -> tuple[int, int]:
    """The camera frame size with the screen's aspect ratio: the requested width, the height
    that matches it (even, as the camera's YUV streams need), so the picture fills the
    screen. 640x480 on a 1920x1080 screen gives 640x360."""
    width = requested[0]
    sw, sh = screen_size
    if sw <= 0 or sh <= 0:
        return requested
    height = max(16, round(width * sh / sw / 2) * 2)
    return (width, height)


#: The largest overlay the loop is asked to draw for a screen (w, h): on a larger one (a
#: 4K TV) the DRM overlay plane scales it up in hardware, the framebuffer display in one
#: resize, instead of drawing, blending and copying four times the pixels.
MAX_OVERLAY_SIZE = (1920, 1080)


def within(size: tuple[int, int], limit: tuple[int, int]) -> tuple[int, int]:
    """``size`` (w, h), scaled down with its aspect kept to fit ``limit``; as it is if it fits."""
    width, height = size
    scale = min(1.0, limit[0] / width, limit[1] / height)
    return (max(1, round(width * scale)), max(1, round(height * scale)))
