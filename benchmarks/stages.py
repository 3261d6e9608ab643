"""Per-stage cost of the processing stages, for kernel settings and for every view in every
mode: medians and p99 in ms.

Usage::

    python benchmarks/stages.py [--frames 240] [--size 640x480] [--model PATH]
                                [--clock cpu|wall] [--json]

Frames come from the demo source (MNIST digits on unevenly lit paper), rendered before
timing; every case runs a warm-up pass over the first frames first (caches, the
interpreter). Two parts:

- Kernel settings: the stages the pooling view runs (kernel, pool) and the digit stage,
  for several kernels, strides, paddings and activations; ``processing_width`` 320 (the
  default) against the full 640 px grey frame and the NumPy reference paths, as ratios
  measured in the same process.
- Views: for every view of ``app.views.VIEWS`` and each of its modes, exactly the stages
  the live loop runs for it (``stages_for(view, mode)``: histogram, why with its two
  forward passes, inspect, edges, network, dense, number...), each stage's median and
  their sum. The whole frame per view (stages, overlay at a projector's size, the loop's
  own work) is ``convlens bench --view all --screen 1920x1080 --cpu``; each mode's
  overlay alone is ``benchmarks/views.py``.

``--clock cpu`` (the default) times CPU seconds of this process (``time.process_time``,
every thread of it): the development machine is shared, and wall-clock medians swing
with the other jobs' load; ``--clock wall`` times ``time.perf_counter``.
"""

from __future__ import annotations

import argparse
import functools
import json
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from app import views
from app.bench import summarize
from app.classifier import load_classifier
from app.config import config_from_dict
from app.errors import ModelError
from app.frame import Frame
from app.model_paths import shipped_model
from app.sources.demo import DemoSource
from app.stages.pipeline import build_stages
from app.stages.results import FrameResults
from app.state import ViewState
from app.views import stages_for

#: Frames of each case run first and not counted.
WARMUP = 12
CLOCKS = {"cpu": time.process_time, "wall": time.perf_counter}

CASES: list[tuple[str, dict[str, Any], ViewState]] = [
    ("edge 3x3, stride 1, zero", {}, ViewState(view="pooling")),
    ("edge 3x3, stride 2, reflect, relu", {},
     ViewState(view="pooling", stride=2, padding="reflect", activation="relu")),
    ("sobel magnitude, valid, sigmoid", {},
     ViewState(view="pooling", kernel="sobel_magnitude", padding="valid", activation="sigmoid")),
    ("custom 7x7, stride 1, zero, tanh", {"kernels": {"custom": {"big": np.ones((7, 7)).tolist()}}},
     ViewState(view="pooling", kernel="big", activation="tanh")),
    ("edge 3x3, processing_width 0 (640 px)", {"stages": {"kernel": {"processing_width": 0}}},
     ViewState(view="pooling")),
    ("edge 3x3 + NumPy reference", {}, ViewState(view="pooling", numpy_reference=True)),
]  # fmt: skip


def view_states() -> list[tuple[str, ViewState]]:
    """Every view in every mode, as the live loop would run it."""
    states = []
    for view in views.VIEWS:
        for mode in range(max(1, len(view.modes))):
            label = view.name if mode == 0 else f"{view.name} mode {mode}"
            states.append((label, ViewState(view=view.name, mode=mode)))
    return states


def run_case(
    frames: list[Frame],
    config: dict[str, Any],
    state: ViewState,
    factory: Any,
    *,
    clock: Any = time.process_time,
    with_digit: bool = True,
) -> dict[str, dict[str, float]]:
    """Time every stage the view needs in its mode on every frame (after a warm-up pass),
    and their sum per frame (``stages``); ``with_digit`` adds the digit stage."""
    stages = build_stages(config_from_dict(config), factory)
    needed = set(stages_for(state.view, state.mode)) | ({"digit"} if with_digit else set())
    active = [s for s in stages if s.name in needed]
    times: dict[str, list[float]] = {s.name: [] for s in active}
    totals: list[float] = []
    for warm, batch in ((True, frames[:WARMUP]), (False, frames)):
        for frame in batch:
            results, spent = FrameResults(), 0.0
            for stage in active:
                start = clock()
                stage.process(frame, state, results)
                took = clock() - start
                spent += took
                if not warm:
                    times[stage.name].append(took)
            if not warm:
                totals.append(spent)
    report = {name: _ms(values) for name, values in times.items()}
    report["stages"] = _ms(totals)
    return report


def _ms(seconds: list[float]) -> dict[str, float]:
    return summarize([1000.0 * v for v in seconds])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=240)
    parser.add_argument("--size", default="640x480")
    parser.add_argument("--model", default=str(shipped_model()))
    parser.add_argument("--clock", choices=sorted(CLOCKS), default="cpu")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    width, height = (int(v) for v in args.size.lower().split("x"))
    clock = CLOCKS[args.clock]
    factory = functools.partial(load_classifier, args.model)
    try:
        description = factory().description
    except ModelError as e:
        description = f"unavailable ({e})"
    source = DemoSource(size=(width, height), realtime=False, digit_seconds=0.2)
    source.open()
    frames = [source.read() for _ in range(args.frames)]
    source.close()
    report: dict[str, Any] = {
        "size": args.size, "frames": args.frames, "clock": args.clock,
        "classifier": description, "cases": {}, "views": {},
    }  # fmt: skip
    for name, config, state in CASES:
        report["cases"][name] = run_case(frames, config, state, factory, clock=clock)
    for label, state in view_states():
        report["views"][label] = run_case(frames, {}, state, factory, clock=clock, with_digit=False)
    if args.json:
        print(json.dumps(report, indent=2))
        return 0
    print(_text(report))
    return 0


def _text(report: dict[str, Any]) -> str:
    clock = "CPU time of the process" if report["clock"] == "cpu" else "wall-clock"
    lines = [
        f"{report['size']} frames, {report['frames']} per case ({clock}), "
        f"classifier: {report['classifier']}",
        "",
        "kernel settings (kernel, pool and digit stages):",
    ]
    for name, result in report["cases"].items():
        parts = "  ".join(f"{s} {r['median_ms']:.2f}" for s, r in result.items() if s != "stages")
        lines.append(f"  {name:<40} {parts}  |  all {result['stages']['median_ms']:.2f} ms")
    cases = report["cases"]
    base = cases[CASES[0][0]]["kernel"]["median_ms"]
    full = cases[CASES[4][0]]["kernel"]["median_ms"]
    ref = cases[CASES[5][0]]["kernel"]["median_ms"]
    lines.append(
        f"  kernel at 640 px vs 320 px: x{full / base:.1f}; with NumPy reference: x{ref / base:.1f}"
    )
    lines += ["", "views, each mode: the stages the loop runs for it (median ms), and their sum:"]
    for label, result in report["views"].items():
        stages = [(s, r) for s, r in result.items() if s != "stages"]
        parts = "  ".join(f"{s} {r['median_ms']:.2f}" for s, r in stages) or "(no stage)"
        total = result["stages"]
        lines.append(
            f"  {label:<20} {parts}  |  all {total['median_ms']:.2f} ms (p99 {total['p99_ms']:.2f})"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    raise SystemExit(main())
