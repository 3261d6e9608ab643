"""Where a framebuffer view's milliseconds go at 1920x1080: the steps of one ``show``.

Usage::

    python benchmarks/display_fb_steps.py [--frames 100] [--view camera] [--threads N] [--json]

The loop's real overlays for ``--view`` on the demo scene (drawn at 1920x1080, as for
this display), composed step by step with the calls ``Composer.compose`` makes, in its
order, then converted as ``FramebufferDisplay`` converts them into an RGB565 and an
XRGB8888 screen. Medians per frame of wall time and of process CPU time (all threads),
and the load average. ``same_as_composer`` checks that the steps still make
``Composer.compose``'s picture (else this script has fallen behind it).
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from app.display.compose import Composer, fit_into
from app.display.compose_blend import blend_into
from app.display.compose_boxes import OverlayBoxes
from app.display.compose_tiles import covered_tiles, pixel_words
from benchmarks.display_fb import SCREEN, _load_average, view_frames
from benchmarks.report import print_report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=100)
    parser.add_argument("--view", default="camera")
    parser.add_argument("--threads", type=int, default=None, help="OpenCV threads")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    if args.threads is not None:
        cv2.setNumThreads(args.threads)
    frames = view_frames(args.view, args.frames + 5)
    report: dict[str, Any] = {
        "view": args.view,
        "screen": f"{SCREEN[0]}x{SCREEN[1]}",
        "frames": args.frames,
        "opencv_threads": cv2.getNumThreads(),
        "load_average_before": _load_average(),
    }
    wall: dict[str, list[float]] = defaultdict(list)
    cpu: dict[str, list[float]] = defaultdict(list)
    picture = np.zeros((SCREEN[1], SCREEN[0], 3), np.uint8)
    wide = np.empty(picture.size, np.uint16)
    boxes = OverlayBoxes()
    screens = {
        "RGB565": (np.zeros((SCREEN[1], SCREEN[0], 2), np.uint8), cv2.COLOR_BGR2BGR565),
        "XRGB8888": (np.zeros((SCREEN[1], SCREEN[0], 4), np.uint8), cv2.COLOR_BGR2BGRA),
    }

    def timed(name: str, step: Any, *args_: Any, **kwargs: Any) -> Any:
        start_cpu, start = time.process_time(), time.perf_counter()
        result = step(*args_, **kwargs)
        wall[name].append(time.perf_counter() - start)
        cpu[name].append(time.process_time() - start_cpu)
        return result

    for frame, overlay in frames:
        covered = timed("covered tiles", covered_tiles, pixel_words(overlay))
        terms = timed("overlay terms (kept or made)", boxes.terms, overlay, covered)
        timed("scale the frame, black bars", fit_into, frame.array, picture)
        start_cpu, start = time.process_time(), time.perf_counter()
        for (top, bottom, left, right), box_terms in terms:
            under = picture[top:bottom, left:right]
            blend_into(under, box_terms, wide[: under.size].reshape(under.shape))
        wall["blend the boxes"].append(time.perf_counter() - start)
        cpu["blend the boxes"].append(time.process_time() - start_cpu)
        for name, (screen, code) in screens.items():
            timed(f"convert to {name}", cv2.cvtColor, picture, code, dst=screen)
    for name in wall:
        report[name] = {
            "wall_ms": round(float(np.median(wall[name][5:])) * 1000, 3),
            "cpu_ms": round(float(np.median(cpu[name][5:])) * 1000, 3),
        }
    frame, overlay = frames[-1]
    report["same_as_composer"] = bool(
        np.array_equal(picture, Composer().compose(frame.array, overlay))
    )
    report["load_average_after"] = _load_average()
    print_report(report, args.json)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
