"""``convlens bench``: per-stage and total milliseconds per frame on the demo source."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from app.config import Config
from app.display.null import NullDisplay
from app.loop import CaptureLoop, LoopOptions
from app.sources.base import Source
from app.stages.pipeline import Pipeline

log = logging.getLogger(__name__)

#: What the "total" figure measures (written into the JSON so nobody has to guess).
TOTAL_COVERS = (
    "stages+overlay+display: from a frame in hand (after source.read returned) to "
    "display.show returned; excludes the source's own frame generation"
)
#: Frames run and discarded first (caches, allocator, interpreter warm-up).
WARMUP_FRAMES = 20


def summarize(samples: Sequence[float]) -> dict[str, float]:
    """``{"median_ms", "p99_ms", "max_ms"}`` of millisecond samples (rounded to 0.001)."""
    values = np.asarray(samples, np.float64)
    if values.size == 0:
        return {"median_ms": 0.0, "p99_ms": 0.0, "max_ms": 0.0}
    return {
        "median_ms": round(float(np.median(values)), 3),
        "p99_ms": round(float(np.percentile(values, 99)), 3),
        "max_ms": round(float(values.max()), 3),
    }


def _mode_report(recorder: Mapping[str, list[float]], stage_names: Sequence[str]) -> dict:
    stages = {
        name: {
            **summarize(recorder[name][WARMUP_FRAMES:]),
            "frames": len(recorder[name]) - WARMUP_FRAMES,
        }
        for name in stage_names
        if len(recorder.get(name, ())) > WARMUP_FRAMES
    }
    return {
        "total": summarize(recorder.get("total", [])[WARMUP_FRAMES:]),
        "stages": stages,
        "overlay": summarize(recorder.get("overlay", [])[WARMUP_FRAMES:]),
        "display": summarize(recorder.get("display", [])[WARMUP_FRAMES:]),
    }


def run_bench(
    *,
    frames: int,
    config: Config,
    pipeline: Pipeline,
    source_factory: Callable[[], Source],
    view: str = "camera",
    runtime: str = "",
) -> dict[str, Any]:
    """Run ``frames`` frames in the current-view mode, then in the all-views mode.

    Returns the JSON-ready report: ``{"current_view": {"total": {...}, "stages": {...},
    "overlay", "display"}, "all_views": {...}, "covers", "frames", "view", ...}``.
    """
    report: dict[str, Any] = {
        "frames": frames,
        "warmup_frames": WARMUP_FRAMES,
        "view": view,
        "covers": TOTAL_COVERS,
        "size": list(config.source.size),
        "runtime": runtime,
    }
    names = [stage.name for stage in pipeline.stages]
    for mode, all_views in (("current_view", False), ("all_views", True)):
        display = NullDisplay()
        display.open()
        options = LoopOptions(
            faults=config.faults,
            all_views=all_views,
            runtime=runtime,
            size=config.source.size,
            record=True,
        )
        state = config.view.with_changes(view=view)
        loop = CaptureLoop(source_factory(), display, pipeline, state=state, options=options)
        result = loop.run(max_frames=frames + WARMUP_FRAMES)
        display.close()
        report[mode] = _mode_report(loop.timer.recorded or {}, names)
        report[mode]["frames_processed"] = result.frames - WARMUP_FRAMES
        digit = loop.last_results.digit
        report["runtime"] = (digit.runtime if digit is not None else "") or report["runtime"]
    return report


def format_table(report: Mapping[str, Any]) -> str:
    """The report as aligned text lines for a terminal."""
    lines = [
        f"bench: {report['frames']} frames at {report['size'][0]}x{report['size'][1]}, "
        f"view {report['view']}, runtime {report['runtime'] or '-'}",
        f"total covers {report['covers']}",
        "",
        f"{'mode':<13}{'part':<12}{'median ms':>10}{'p99 ms':>10}",
    ]
    for mode in ("current_view", "all_views"):
        part = report[mode]
        rows = [(name, figures) for name, figures in part["stages"].items()]
        rows += [
            ("overlay", part["overlay"]),
            ("display", part["display"]),
            ("total", part["total"]),
        ]
        for name, figures in rows:
            lines.append(
                f"{mode:<13}{name:<12}{figures['median_ms']:>10.3f}{figures['p99_ms']:>10.3f}"
            )
    return "\n".join(lines)
