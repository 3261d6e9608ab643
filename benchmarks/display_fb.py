"""Framebuffer display cost per frame at 1920x1080, RGB565 and XRGB8888: medians and ratios.

Usage::

    python benchmarks/display_fb.py [--frames 200] [--views camera,kernel,features] [--json]

Each case shows camera frames with an overlay on a 1920x1080 framebuffer stood in for
by a file in /dev/shm (mapped like the device: the writes are memory writes). One
``show`` is the whole path: compose, scale to the letterboxed picture, convert to the
pixel format, write. The baseline is the previous ``FramebufferDisplay.show``
(benchmarks/display_fb_previous.py: main before the composer kept its buffers), run in
the same process on a second stand-in file, interleaved frame by frame with the current
one so both see the same machine load; ``same_picture`` says whether the two files are
equal byte for byte after the last frame. Medians of wall time and of process CPU time
(all threads) are printed: on a machine shared with other work the wall time includes
waiting for a core, the CPU time does not; the load average is printed before and after.

Overlays: ``camera`` is mostly transparent with a few panels (the camera view),
``opaque`` covers everything (the processed views); at the frame's size, and at the
screen's (what the loop draws for this display, which reports its mode as
``screen_size``); and the overlays the loop draws for real views (``--views``) on the
demo scene.
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

from app.config import Config
from app.display.compose import compose
from app.display.fb import FramebufferDisplay
from app.display.null import NullDisplay
from app.frame import Frame
from app.loop import CaptureLoop, LoopOptions
from app.sources.demo import DemoSource
from app.stages.pipeline import build_pipeline
from benchmarks.display_fb_previous import PreviousFramebuffer
from benchmarks.report import print_report

SCREEN = (1920, 1080)
FORMATS = {"RGB565": 16, "XRGB8888": 32}
SOURCES = [(640, 480), (1280, 720)]


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


class Recorder(NullDisplay):
    """Keeps a copy of every frame and overlay the loop shows (the loop reuses its layers)."""

    def __init__(self) -> None:
        super().__init__()
        self.shown: list[tuple[Frame, np.ndarray]] = []

    def show(self, frame: Frame, overlay: np.ndarray) -> None:
        copy = Frame(frame.array.copy(), frame.gray, frame.seq, frame.timestamp)
        self.shown.append((copy, overlay.copy()))


def view_frames(view: str, count: int) -> list[tuple[Frame, np.ndarray]]:
    """``count`` demo frames with the overlays ``view`` draws at the screen's size, as the
    loop draws them for this display (it reports the framebuffer's mode as screen_size)."""
    config = Config()
    recorder = Recorder()
    recorder.open()
    options = LoopOptions(faults=config.faults, size=(640, 480), screen=SCREEN)
    source = DemoSource(size=(640, 480), seed=0, realtime=False)
    state = config.view.with_changes(view=view)
    loop = CaptureLoop(source, recorder, build_pipeline(config), state=state, options=options)
    loop.run(max_frames=count + 5)
    return recorder.shown[5:]


def fake_device(folder: Path, bpp: int, name: str) -> tuple[Path, Path]:
    """A 1920x1080 framebuffer stood in for by ``folder/name`` and its sysfs directory."""
    stride = SCREEN[0] * bpp // 8
    sysfs = folder / f"sys{bpp}"
    sysfs.mkdir(exist_ok=True)
    (sysfs / "virtual_size").write_text(f"{SCREEN[0]},{SCREEN[1]}\n")
    (sysfs / "bits_per_pixel").write_text(f"{bpp}\n")
    (sysfs / "stride").write_text(f"{stride}\n")
    device = folder / name
    device.write_bytes(bytes(stride * SCREEN[1]))
    return device, sysfs


def run_case(folder: Path, bpp: int, frames: list) -> dict[str, Any]:
    """Median wall and CPU ms of the previous and current ``show`` (and of ``compose``)."""
    current_file, sysfs = fake_device(folder, bpp, f"fb{bpp}")
    previous_file, _ = fake_device(folder, bpp, f"fb{bpp}-previous")
    current = FramebufferDisplay(str(current_file), sysfs_dir=sysfs, console=None)
    previous = PreviousFramebuffer(str(previous_file), sysfs_dir=sysfs, console=None)
    steps = {
        "previous": previous.show,
        "current": current.show,
        "compose": lambda frame, overlay: compose(frame.array, overlay),
    }
    wall: dict[str, list[float]] = {name: [] for name in steps}
    cpu: dict[str, list[float]] = {name: [] for name in steps}
    current.open()
    previous.open()
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
        previous.close()
        # Both showed the same last frame: the screens must be equal, byte for byte.
        same_picture = current_file.read_bytes() == previous_file.read_bytes()
        current_file.unlink()
        previous_file.unlink()

    def median_ms(values: list[float]) -> float:
        return round(float(np.median(values)) * 1000, 3)

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
    parser.add_argument(
        "--views",
        default="camera,kernel,features",
        help="views whose real overlays (drawn at 1920x1080 on the demo) are timed too; "
        "comma-separated, '' for none",
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
        "load_average_before": _load_average(),
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
        # The views' own overlays, as the loop draws them for this display.
        for view in filter(None, args.views.split(",")):
            frames = view_frames(view.strip(), args.frames)
            for format_name, bpp in FORMATS.items():
                key = f"{format_name} demo 640x480, {view} view at 1920x1080"
                report[key] = run_case(Path(folder), bpp, frames)
    report["load_average_after"] = _load_average()
    print_report(report, args.json)
    return 0


def _load_average() -> str:
    """The 1, 5 and 15 minute load averages, as ``uptime`` prints them."""
    return ", ".join(f"{load:.2f}" for load in os.getloadavg())


if __name__ == "__main__":
    raise SystemExit(main())
