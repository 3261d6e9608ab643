"""Per-stage cost of the processing stages on 640x480 demo frames: medians and p99 in ms.

Usage::

    python benchmarks/stages.py [--frames 300] [--size 640x480] [--model PATH] [--json]

Frames come from the demo source (MNIST digits on unevenly lit paper), rendered before
timing. Each configuration runs the stages the loop would run for its view; the
``kernel+pool+digit`` line is the budget the live loop gives the stages (about 3 ms
median on the development machine). Figures also show ``processing_width`` 320 (the
default) against the full 640 px grey frame, and the NumPy reference paths, as ratios
measured in the same process.
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
    ("features view", {}, ViewState(view="features")),
]  # fmt: skip


def _stats(seconds: list[float]) -> dict[str, float]:
    return summarize([1000.0 * v for v in seconds])


def run_case(
    frames: list[Frame], config: dict[str, Any], state: ViewState, factory: Any
) -> dict[str, dict[str, float]]:
    """Time every stage the view needs on every frame (after a warm-up pass)."""
    stages = build_stages(config_from_dict(config), factory)
    active = [s for s in stages if s.name in stages_for(state.view) or s.name == "digit"]
    times: dict[str, list[float]] = {s.name: [] for s in active}
    totals: list[float] = []
    for warm in (True, False):
        for frame in frames:
            results = FrameResults()
            total = 0.0
            for stage in active:
                start = time.perf_counter()
                stage.process(frame, state, results)
                spent = time.perf_counter() - start
                if not warm:
                    times[stage.name].append(spent)
                if stage.name in ("kernel", "pool", "digit"):
                    total += spent
            if not warm:
                totals.append(total)
    result = {name: _stats(values) for name, values in times.items()}
    result["kernel+pool+digit"] = _stats(totals)
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=300)
    parser.add_argument("--size", default="640x480")
    parser.add_argument("--model", default=str(shipped_model()))
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    width, height = (int(v) for v in args.size.lower().split("x"))
    factory = functools.partial(load_classifier, args.model)
    try:
        description = factory().description
    except ModelError as e:
        description = f"unavailable ({e})"
    source = DemoSource(size=(width, height), realtime=False, digit_seconds=0.2)
    source.open()
    frames = [source.read() for _ in range(args.frames)]
    source.close()
    report = {"size": args.size, "frames": args.frames, "classifier": description, "cases": {}}
    for name, config, state in CASES:
        report["cases"][name] = run_case(frames, config, state, factory)
    if args.json:
        print(json.dumps(report, indent=2))
        return 0
    print(f"{args.size}, {args.frames} frames, classifier: {description}")
    for name, result in report["cases"].items():
        print(f"\n{name}")
        for stage, s in result.items():
            print(f"  {stage:18s} median {s['median_ms']:6.2f} ms   p99 {s['p99_ms']:6.2f} ms")
    base = report["cases"][CASES[0][0]]["kernel"]["median_ms"]
    full = report["cases"][CASES[4][0]]["kernel"]["median_ms"]
    ref = report["cases"][CASES[5][0]]["kernel"]["median_ms"]
    print(
        f"\nkernel at 640 px vs 320 px: x{full / base:.1f}; with NumPy reference: x{ref / base:.1f}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
