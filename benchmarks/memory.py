"""Resident memory of the live pipeline after many demo frames, and its growth (leaks).

Runs the demo source (realtime=False) at 640x480 through every stage with a null
display, switching view every 250 frames, and prints the resident set size at frame
1,000 and at the end (default 5,000) and the growth between them.

    .venv/bin/python benchmarks/memory.py [--frames 5000] [--json]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from app.config import Config
from app.controls.actions import ActionQueue
from app.display.null import NullDisplay
from app.loop import CaptureLoop, LoopOptions
from app.sources.factory import make_source
from app.stages.pipeline import build_pipeline
from benchmarks.report import print_report, resident_mb

CHUNK = 250


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=5000)
    parser.add_argument("--baseline", type=int, default=1000, help="frame of the first reading")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    config = Config()
    source = make_source("demo", size=(640, 480), realtime=False)
    actions = ActionQueue()
    display = NullDisplay()
    display.open()
    loop = CaptureLoop(
        source,
        display,
        build_pipeline(config),
        state=config.view,
        actions=actions,
        options=LoopOptions(all_views=True),
    )
    readings = {}
    start = time.perf_counter()
    done = 0
    while done < args.frames:
        step = min(CHUNK, args.frames - done)
        if done < args.baseline < done + step:
            step = args.baseline - done
        actions.put("next_view")
        # One loop: run() closes its source at the end and the next run() reopens it.
        loop.run(max_frames=done + step)
        loop.stop_event.clear()
        done = loop.result.frames
        if done in (args.baseline, args.frames):
            readings[done] = resident_mb()
    elapsed = time.perf_counter() - start
    report = {
        "frames": done,
        "seconds": round(elapsed, 1),
        f"rss_mb_at_{args.baseline}": round(readings.get(args.baseline, float("nan")), 1),
        f"rss_mb_at_{args.frames}": round(readings[args.frames], 1),
        "growth_mb": round(readings[args.frames] - readings.get(args.baseline, float("nan")), 2),
        "targets": {"rss_mb_max": 150, "growth_mb_max": 5},
    }
    print_report(report, args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
