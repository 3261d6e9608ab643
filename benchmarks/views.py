"""Per-frame cost of drawing each view's overlay at a projector's size: medians and p99 in ms.

Usage::

    python benchmarks/views.py [--frames 120] [--size 1920x1080] [--view NAME ...] [--json]

Demo frames go through the real stages once per frame (not timed); then the overlay of
each view is drawn for every frame (``OverlayRenderer.render``, header, footer and the
view) and timed in CPU time of the drawing thread (``time.thread_time``: the machine is
shared, and wall-clock medians swing with the other jobs' load). The first frames fill
the drawing caches and are not counted. The camera view (transparent) and a blank
opaque view (the layer, header and footer only: the floor of every opaque view) are
the baselines: every line shows its ratio to them, measured in the same process. The
budget for a Raspberry Pi 4, scaled to the development machine, is a median of 3.3 ms
per frame at 1920x1080.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from app import views
from app.config import config_from_dict
from app.sources.demo import DemoSource
from app.stages.pipeline import build_pipeline
from app.stages.results import FrameResults
from app.state import ViewState
from app.status import Figures, frame_status
from app.views import stages_for, view_names
from app.views.base import View
from app.views.renderer import OverlayRenderer

WARMUP = 10


def mode_variants() -> dict[str, dict[str, Any]]:
    """Every view's other modes (the inspector's 1-D formula, LeNet's dense layers...),
    labelled ``"<view> mode <i>"``: timed after the views in their first mode."""
    return {
        f"{view.name} mode {mode}": {"view": view.name, "mode": mode}
        for view in views.VIEWS
        for mode in range(1, len(view.modes))
    }


class BlankView(View):
    """An opaque view that draws nothing: the floor every opaque view stands on (the
    layer, the header and the footer)."""

    name = "blank"
    title = "BLANK"
    key = "Z"
    description = "blank"

    def draw(self, canvas: Any, layer: Any, state: Any, results: Any, body: Any) -> None:
        return None


def time_view(
    state: ViewState,
    frames: list[Any],
    pipeline: Any,
    size: tuple[int, int],
    clock: Any = time.thread_time,
) -> list[float]:
    """CPU seconds to draw each frame's overlay for ``state`` (after ``WARMUP`` frames)."""
    renderer = OverlayRenderer(size, [("h", "help")])
    needed = set(stages_for(state.view, state.mode))
    figures = Figures(fps=30.0, stage_ms=(("kernel", 1.0),), runtime="bench")
    times = []
    for i, frame in enumerate(frames):
        results = FrameResults()
        for stage in pipeline.stages:
            if stage.name in needed:
                stage.process(frame, state, results)
        status = frame_status(state, results.digit, figures, "")
        start = clock()
        renderer.render(status, results)
        if i >= WARMUP:
            times.append(clock() - start)
    return times


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--frames", type=int, default=120)
    parser.add_argument("--size", default="1920x1080")
    parser.add_argument("--view", action="append", default=None)
    parser.add_argument("--json", action="store_true")
    parser.add_argument(
        "--wall", action="store_true", help="time wall-clock seconds instead of CPU time"
    )
    args = parser.parse_args(argv)
    w, h = (int(v) for v in args.size.lower().split("x"))
    config = config_from_dict({"model": {"backend": "numpy"}})
    pipeline = build_pipeline(config)
    source = DemoSource(size=(w, h), seed=0, realtime=False)
    source.open()
    frames = [source.read() for _ in range(args.frames + WARMUP)]
    source.close()
    cases = {name: {"view": name} for name in (args.view or view_names())}
    if not args.view:
        cases.update(mode_variants())
    clock = time.perf_counter if args.wall else time.thread_time
    report = {}
    views.VIEWS = (*views.VIEWS, BlankView())
    cases = {"blank (opaque floor)": {"view": "blank"}, **cases}
    for label, changes in cases.items():
        times = np.asarray(time_view(ViewState(**changes), frames, pipeline, (w, h), clock)) * 1000
        report[label] = {
            "median_ms": float(np.median(times)),
            "p99_ms": float(np.percentile(times, 99)),
        }
    base = report.get("camera", {}).get("median_ms")
    floor = report["blank (opaque floor)"]["median_ms"]
    if args.json:
        print(json.dumps({"size": [w, h], "frames": args.frames, "views": report}, indent=2))
        return 0
    kind = "wall-clock" if args.wall else "CPU time"
    print(f"overlay per frame ({kind}) at {w}x{h}, {args.frames} frames (after {WARMUP} warm-up)")
    print(f"{'view':<22}{'median ms':>10}{'p99 ms':>10}{'x camera':>10}{'x blank':>10}")
    for label, row in report.items():
        ratio = f"{row['median_ms'] / base:.2f}" if base else "-"
        over = f"{row['median_ms'] / floor:.2f}"
        print(f"{label:<22}{row['median_ms']:>10.2f}{row['p99_ms']:>10.2f}{ratio:>10}{over:>10}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
