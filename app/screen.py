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
