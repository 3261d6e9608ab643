"""``convlens bench``: per-stage and total milliseconds per frame on the demo source."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractContextManager
from typing import Any

import numpy as np

from app.config import Config
from app.display.null import NullDisplay
from app.loop import CaptureLoop, LoopOptions
from app.sources.base import Source
from app.stages.pipeline import Pipeline
from app.timing import FrameTimer, Step, untimed

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
        "steps": _steps_report(recorder, stages),
        "overlay": summarize(recorder.get("overlay", [])[WARMUP_FRAMES:]),
        "display": summarize(recorder.get("display", [])[WARMUP_FRAMES:]),
    }


def _steps_report(recorder: Mapping[str, list[float]], stages: Mapping[str, Any]) -> dict:
    """The timed steps inside the stages (``Stage.step``: "digit/classify"), each over the
    frames it ran in (a step may run in some frames only: the main-stream re-read)."""
    steps = {}
    for key, samples in recorder.items():
        stage, _, step = key.partition("/")
        if step and stage in stages:
            steps[key] = {**summarize(samples), "frames": len(samples)}
    return steps


def _after_warmup(timer: FrameTimer) -> Step:
    """Times a stage's steps into ``timer`` once the warm-up frames are done (the loop
    records "total" at the end of each frame), like the stages' own figures."""

    def step(name: str) -> AbstractContextManager[None]:
        warm = len((timer.recorded or {}).get("total", ())) >= WARMUP_FRAMES
        return timer.part(name) if warm else untimed(name)

    return step


def _run_mode(
    config: Config,
    pipeline: Pipeline,
    source_factory: Callable[[], Source],
    *,
    frames: int,
    view: str,
    all_views: bool,
    screen: tuple[int, int] | None,
    runtime: str,
    clock: Callable[[], float] | None,
) -> tuple[dict[str, Any], str]:
    """One mode's report (and the classifier's runtime, once the digit stage named it)."""
    display = NullDisplay()
    display.open()
    options = LoopOptions(
        faults=config.faults,
        all_views=all_views,
        runtime=runtime,
        size=config.source.size,
        record=True,
        screen=screen,
        clock=clock,
    )
    state = config.view.with_changes(view=view)
    loop = CaptureLoop(source_factory(), display, pipeline, state=state, options=options)
    for stage in pipeline.stages:
        stage.timer = _after_warmup(loop.timer)  # the reading's steps (Stage.step) too
    try:
        result = loop.run(max_frames=frames + WARMUP_FRAMES)
    finally:
        for stage in pipeline.stages:
            stage.timer = None
    display.close()
    names = [stage.name for stage in pipeline.stages]
    report = _mode_report(loop.timer.recorded or {}, names)
    report["frames_processed"] = result.frames - WARMUP_FRAMES
    digit = loop.last_results.digit
    return report, (digit.runtime if digit is not None else "") or runtime


def run_bench(
    *,
    frames: int,
    config: Config,
    pipeline: Pipeline,
    source_factory: Callable[[], Source],
    view: str = "camera",
    views: Sequence[str] | None = None,
    screen: tuple[int, int] | None = None,
    runtime: str = "",
    cpu_time: bool = False,
) -> dict[str, Any]:
    """Run ``frames`` frames in each of ``views`` (each the current view, only its stages
    run), then in the all-views mode (every stage, ``view`` drawn).

    Args:
        views: the views to time one after the other; default ``[view]``.
        screen: (width, height) the overlay is drawn at (a projector's), else the frame's.
        cpu_time: time with the process's CPU time (every thread) instead of the wall
            clock: on a machine shared with other work, the wall clock also counts the
            time spent waiting for a core.

    Returns the JSON-ready report: ``{"views": {name: {"total": {...}, "stages": {...},
    "overlay", "display", "frames_processed"}}, "current_view": <the first of them>,
    "all_views": {...}, "covers", "frames", "view", "screen", ...}``.
    """
    names = list(views or [view])
    report: dict[str, Any] = {
        "frames": frames,
        "warmup_frames": WARMUP_FRAMES,
        "view": names[0],
        "covers": TOTAL_COVERS,
        "size": list(config.source.size),
        "screen": list(screen) if screen else list(config.source.size),
        "runtime": runtime,
        "clock": "process CPU time" if cpu_time else "wall clock",
        "views": {},
    }
    common = dict(frames=frames, screen=screen, clock=time.process_time if cpu_time else None)
    for name in names:
        report["views"][name], runtime = _run_mode(
            config, pipeline, source_factory, view=name, all_views=False, runtime=runtime, **common
        )
    report["current_view"] = report["views"][names[0]]
    report["all_views"], runtime = _run_mode(
        config, pipeline, source_factory, view=names[0], all_views=True, runtime=runtime, **common
    )
    report["runtime"] = runtime
    return report


def format_table(report: Mapping[str, Any]) -> str:
    """The report as aligned text lines for a terminal: each view's parts, then all views."""
    w, h = report["size"]
    sw, sh = report["screen"]
    lines = [
        f"bench: {report['frames']} frames per view, frames {w}x{h}, overlay {sw}x{sh}, "
        f"runtime {report['runtime'] or '-'}, {report['clock']}",
        f"total covers {report['covers']}",
        "",
        f"{'mode':<22}{'part':<28}{'median ms':>10}{'p99 ms':>10}",
    ]
    modes = [(name, part) for name, part in report["views"].items()]
    modes.append((f"all_views ({report['view']})", report["all_views"]))
    for mode, part in modes:
        rows = []
        for name, figures in part["stages"].items():
            rows.append((name, figures, ""))
            for key, step in part.get("steps", {}).items():
                if key.startswith(name + "/"):
                    ran = step["frames"] < figures["frames"]
                    note = f"  ({step['frames']} of {figures['frames']} frames)" if ran else ""
                    rows.append(("  " + key.partition("/")[2], step, note))
        rows += [
            ("overlay", part["overlay"], ""),
            ("display", part["display"], ""),
            ("total", part["total"], ""),
        ]
        for name, figures, note in rows:
            lines.append(
                f"{mode:<22}{name:<28}{figures['median_ms']:>10.3f}{figures['p99_ms']:>10.3f}{note}"
            )
    return "\n".join(lines)
