"""Framebuffer display cost per frame at 1920x1080, RGB565 and XRGB8888: medians and ratios.

Usage::

    python benchmarks/display_fb.py [--frames 200] [--json]

Each case shows camera frames with an overlay on a 1920x1080 framebuffer stood in for
by a file in /dev/shm (mapped like the device: the writes are memory writes). One
``show`` is the whole path: compose, scale to the letterboxed picture, convert to the
pixel format, write. The baseline is the previous ``FramebufferDisplay.show`` (compose,
scale into a new array, convert into another, copy into a screen-sized buffer, ``pwrite``
the picture's rows), run in the same process, interleaved frame by frame with the
current one so both see the same machine load. Medians of wall time and of process CPU
time (all threads) are printed: on a machine shared with other work the wall time
includes waiting for a core, the CPU time does not.

Overlays: ``camera`` is mostly transparent with a few panels (the camera view),
``opaque`` covers everything (the processed views); at the frame's size (the ratio
against the previous path) and at the screen's (what the loop now draws for this display,
which reports its mode as ``screen_size``; the previous path could not take those).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from app.display.compose import _blend, compose
from app.display.fb import FramebufferDisplay, letterbox_rect
from app.frame import Frame
from benchmarks.report import print_report

SCREEN = (1920, 1080)
FORMATS = {"RGB565": 16, "XRGB8888": 32}
SOURCES = [(640, 480), (1280, 720)]


def previous_compose(frame_bgr: np.ndarray, overlay_rgba: np.ndarray) -> np.ndarray:
    """compose() before it blended only the covered row bands: a partial overlay, every row.

    The blend arithmetic is today's (``_blend``), so the ratio measures the display path
    and the banding, not a change of rounding made since.
    """
    alpha = np.ascontiguousarray(overlay_rgba[..., 3])
    covered = cv2.countNonZero(alpha)
    if covered == 0:
        return frame_bgr.copy()
    if covered == alpha.size and cv2.countNonZero(cv2.bitwise_not(alpha)) == 0:
        return cv2.cvtColor(overlay_rgba, cv2.COLOR_RGBA2BGR)
    return _blend(frame_bgr, overlay_rgba, alpha)


class PreviousFramebuffer:
    """The show path before this benchmark's change, for the ratio (same steps, same calls)."""

    def __init__(self, fd: int, bits_per_pixel: int, stride: int) -> None:
        self.fd, self.bpp, self.stride = fd, bits_per_pixel, stride
        self.screen = np.zeros((SCREEN[1], stride), np.uint8)

    def show(self, frame: Frame, overlay: np.ndarray) -> None:
        picture = previous_compose(frame.array, overlay)
        src_h, src_w = picture.shape[:2]
        x, y, w, h = letterbox_rect(src_w, src_h, *SCREEN)
        interpolation = cv2.INTER_AREA if w < src_w else cv2.INTER_LINEAR
        picture = cv2.resize(picture, (w, h), interpolation=interpolation)
        code = cv2.COLOR_BGR2BGR565 if self.bpp == 16 else cv2.COLOR_BGR2BGRA
        bytes_pp = self.bpp // 8
        pixels = cv2.cvtColor(picture, code).reshape(h, w * bytes_pp)
        self.screen[y : y + h, x * bytes_pp : (x + w) * bytes_pp] = pixels
        rows = self.screen[y : y + h]
        os.pwrite(self.fd, rows.data, y * self.stride)


def make_frames(
    size: tuple[int, int],
    count: int,
    overlay_kind: str,
    overlay_size: tuple[int, int] | None = None,
) -> list[tuple[Frame, Any]]:
    """``count`` distinct camera-like frames, each with its overlay (frame-sized by default)."""
    rng = np.random.default_rng(0)
    base = cv2.resize(rng.integers(0, 256, (size[1] // 8, size[0] // 8, 3), np.uint8), size)
    width, height = overlay_size or size
    frames = []
    for i in range(count):
        array = np.roll(base, i * 3, axis=1)
        overlay = np.zeros((height, width, 4), np.uint8)
        if overlay_kind == "camera":
            overlay[: height // 12, : width // 2] = (20, 20, 20, 170)  # settings panel
            overlay[-height // 12 :, :] = (20, 20, 20, 170)  # status line
            cv2.rectangle(overlay, (width // 3, height // 3), (width // 2, height // 2),
                          (0, 255, 0, 255), 2)  # fmt: skip
        else:
            overlay[:] = (30, 30, 30, 255)
            quarter = (width // 4, height // 4)
            overlay[height // 4 : height // 2, width // 4 : width // 2, :3] = cv2.resize(
                array, quarter
            )
        frames.append((Frame(array, array[..., 0], i, i / 30), overlay))
    return frames


def fake_device(folder: Path, bpp: int) -> tuple[str, Path, int]:
    stride = SCREEN[0] * bpp // 8
    sysfs = folder / f"sys{bpp}"
    sysfs.mkdir(exist_ok=True)
    (sysfs / "virtual_size").write_text(f"{SCREEN[0]},{SCREEN[1]}\n")
    (sysfs / "bits_per_pixel").write_text(f"{bpp}\n")
    (sysfs / "stride").write_text(f"{stride}\n")
    device = folder / f"fb{bpp}"
    device.write_bytes(bytes(stride * SCREEN[1]))
    return str(device), sysfs, stride


def run_case(folder: Path, bpp: int, frames: list) -> dict[str, Any]:
    device, sysfs, stride = fake_device(folder, bpp)
    current = FramebufferDisplay(device, sysfs_dir=sysfs, console=None)
    current.open()
    fd = os.open(device, os.O_RDWR)
    previous = PreviousFramebuffer(fd, bpp, stride)
    steps = {
        "previous": previous.show,
        "current": current.show,
        "compose": lambda frame, overlay: compose(frame.array, overlay),
    }
    frame, overlay = frames[0]
    if overlay.shape[:2] != frame.array.shape[:2]:
        del steps["previous"]  # the previous path took frame-sized overlays only
    wall: dict[str, list[float]] = {name: [] for name in steps}
    cpu: dict[str, list[float]] = {name: [] for name in steps}
    try:
        for frame, overlay in frames[:5]:  # warm-up: allocations, first-touch page faults
            for step in steps.values():
                step(frame, overlay)
        for frame, overlay in frames:
            for name, step in steps.items():
                start_cpu, start = time.process_time(), time.perf_counter()
                step(frame, overlay)
                wall[name].append(time.perf_counter() - start)
                cpu[name].append(time.process_time() - start_cpu)
    finally:
        current.close()
        os.close(fd)
        # Both paths showed the same last frame: the screens must be equal, byte for byte.
        same_picture = Path(device).read_bytes() == previous.screen.tobytes()
        os.unlink(device)

    def median_ms(values: list[float]) -> float:
        return round(float(np.median(values)) * 1000, 3)

    if "previous" not in steps:
        return {
            "current_wall_ms": median_ms(wall["current"]),
            "current_cpu_ms": median_ms(cpu["current"]),
            "compose_wall_ms": median_ms(wall["compose"]),
        }
    return {
        "previous_wall_ms": median_ms(wall["previous"]),
        "current_wall_ms": median_ms(wall["current"]),
        "wall_speedup": round(median_ms(wall["previous"]) / median_ms(wall["current"]), 2),
        "previous_cpu_ms": median_ms(cpu["previous"]),
        "current_cpu_ms": median_ms(cpu["current"]),
        "cpu_speedup": round(median_ms(cpu["previous"]) / median_ms(cpu["current"]), 2),
        "compose_wall_ms": median_ms(wall["compose"]),
        "same_picture": same_picture,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=200)
    parser.add_argument(
        "--threads", type=int, default=None, help="OpenCV threads (default: OpenCV's choice)"
    )
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    if args.threads is not None:
        cv2.setNumThreads(args.threads)
    report: dict[str, Any] = {
        "screen": f"{SCREEN[0]}x{SCREEN[1]}",
        "frames": args.frames,
        "opencv_threads": cv2.getNumThreads(),
        "cpus": os.cpu_count(),
    }
    shm = "/dev/shm" if os.path.isdir("/dev/shm") else None
    with tempfile.TemporaryDirectory(dir=shm) as folder:
        for source in SOURCES:
            for overlay_kind in ("camera", "opaque"):
                frames = make_frames(source, args.frames, overlay_kind)
                for format_name, bpp in FORMATS.items():
                    key = f"{format_name} {source[0]}x{source[1]} {overlay_kind}"
                    report[key] = run_case(Path(folder), bpp, frames)
        # The overlay drawn at the screen's size, as the loop now asks of this display.
        for overlay_kind in ("camera", "opaque"):
            frames = make_frames(SOURCES[0], args.frames, overlay_kind, SCREEN)
            for format_name, bpp in FORMATS.items():
                key = f"{format_name} 640x480 {overlay_kind}, overlay 1920x1080"
                report[key] = run_case(Path(folder), bpp, frames)
    print_report(report, args.json)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
