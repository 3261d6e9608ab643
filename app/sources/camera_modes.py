"""Choosing a Raspberry Pi camera's sensor mode and stream sizes: whole field of view, enough fps.

picamera2 lets libcamera pick the sensor mode closest to the main stream's size, so a
640x480 picture comes from a cropped mode on the Camera Module 2 (IMX219: the middle
1280x960 of 3280x2464) and the Camera Module 3 (IMX708: 3072x1728 of 4608x2592). Here the
mode is chosen from ``Picamera2.sensor_modes`` instead: among the modes that see the
whole sensor, the smallest one at least as big as the picture that can deliver the frame
rate asked for.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

#: A mode whose crop is at least this share of the widest crop, in width and in height,
#: sees the whole scene (OV5647's 640x480 mode reads 2560x1920 of 2592x1944).
FULL_VIEW_SHARE = 0.95


def _area(size: Sequence[int]) -> int:
    return int(size[0]) * int(size[1])


def full_view_modes(modes: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The Bayer modes (with ``size`` and ``crop_limits``) that read the whole sensor."""
    usable = [m for m in modes if "size" in m and "crop_limits" in m]
    if not usable:
        return []
    widest = max(m["crop_limits"][2] for m in usable)
    tallest = max(m["crop_limits"][3] for m in usable)
    return [
        m
        for m in usable
        if m["crop_limits"][2] >= FULL_VIEW_SHARE * widest
        and m["crop_limits"][3] >= FULL_VIEW_SHARE * tallest
    ]


def choose_sensor_mode(
    modes: list[dict[str, Any]], size: tuple[int, int], fps: float
) -> dict[str, Any] | None:
    """The sensor mode for a ``size`` picture at ``fps``, or None when no mode says its crop.

    Args:
        modes: ``Picamera2.sensor_modes`` (dicts with ``size``, ``bit_depth``, ``fps``,
            ``crop_limits``; a USB camera's entries have only ``format``).
        size: (width, height) of the main stream.
        fps: the frame rate wanted; 0 for any.

    Among the full-view modes: those fast enough (else the fastest), then the smallest
    covering ``size`` (else the largest), deeper bits on a tie.
    """
    full = full_view_modes(modes)
    if not full:
        return None
    fast = [m for m in full if float(m.get("fps", 0.0)) >= fps - 0.01]
    if not fast:
        top = max(float(m.get("fps", 0.0)) for m in full)
        fast = [m for m in full if float(m.get("fps", 0.0)) == top]
    covering = [m for m in fast if m["size"][0] >= size[0] and m["size"][1] >= size[1]]
    if covering:
        return min(covering, key=lambda m: (_area(m["size"]), -int(m.get("bit_depth", 0))))
    return max(fast, key=lambda m: (_area(m["size"]), int(m.get("bit_depth", 0))))


def describe_mode(mode: dict[str, Any]) -> str:
    """'1640x1232 10-bit, up to 41.85 fps' for the log."""
    width, height = mode["size"]
    return f"{width}x{height} {mode.get('bit_depth', '?')}-bit, up to {mode.get('fps', '?')} fps"


def lores_size_for(main: tuple[int, int], box: tuple[int, int]) -> tuple[int, int]:
    """The largest even size with ``main``'s aspect ratio that fits in ``box``.

    The ISP scales lores from the same crop as main: a different aspect would stretch the
    grey image, and the ROI drawn on the picture would cover another part of it.
    """
    main_w, main_h = main
    box_w, box_h = box
    if main_w * box_h >= main_h * box_w:  # main is wider than the box: width decides
        width, height = box_w, round(box_w * main_h / main_w)
    else:
        width, height = round(box_h * main_w / main_h), box_h
    return max(2, width - width % 2), max(2, height - height % 2)


def frame_duration_limits(fps: float) -> tuple[int, int] | None:
    """``FrameDurationLimits`` (µs, µs) holding the sensor at ``fps``; None for no limit."""
    if fps <= 0:
        return None
    duration = round(1_000_000 / fps)
    return duration, duration
