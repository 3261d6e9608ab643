"""Cost of drawing the overlay per frame, per view, at the camera's size and at projector sizes.

Usage::

    python benchmarks/overlay.py [--frames 200] [--screens 640x480,1280x720,1920x1080] [--json]

Each view's results come from the demo scene through the real stages and loop; then
``OverlayRenderer.render`` is timed alone, frame after frame, with the figures the
footer shows changing twice a second (every 15th frame at 30 fps) and the confidence
changing every frame, as live. The 640x480 row (the overlay at the camera's size) is
the baseline of the ratios, measured in the same process. Also: the text pieces (a
line composed from kept glyphs, a panel drawn uncached, a glyph rasterised).
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from app.config import config_from_dict, parse_size
from app.controls.actions import key_legend
from app.loop import CaptureLoop, LoopOptions
from app.sources.demo import DemoSource
from app.stages.pipeline import build_pipeline
from app.state import ViewState
from app.views import view_names
from app.views.draw import Line, render_panel
from app.views.renderer import OverlayRenderer
from app.views.text import Face
from benchmarks.report import print_report
from tests.loop_fakes import RecordingDisplay


def live_results(view: str, lang: str) -> tuple[Any, Any]:
    config = config_from_dict({"model": {"backend": "numpy"}})
    display = RecordingDisplay()
    loop = CaptureLoop(
        DemoSource(size=(640, 480), seed=0, realtime=False),
        display,
        build_pipeline(config),
        state=ViewState(view=view, language=lang),
        options=LoopOptions(),
    )
    loop.run(max_frames=8)
    return display.statuses[-1], loop.last_results


def time_view(view: str, lang: str, screen: tuple[int, int], frames: int) -> list[float]:
    status, results = live_results(view, lang)
    renderer = OverlayRenderer(screen, key_legend(), frame_size=(640, 480))
    samples = []
    for i in range(frames + 10):
        fps = 29.0 + (i // 15) % 10 * 0.1  # the footer's figures: new twice a second
        frame_status = replace(status, fps=fps, confidence=0.5 + (i % 50) / 100)
        start = time.perf_counter()
        renderer.render(frame_status, results)
        if i >= 10:  # the first frames fill the caches
            samples.append((time.perf_counter() - start) * 1e3)
    return samples


def median_p99(samples: list[float]) -> tuple[float, float]:
    return float(np.median(samples)), float(np.percentile(samples, 99))


def text_costs() -> dict[str, str]:
    lines = [
        "núcleo borde horizontal  |  correlación cruzada",
        "paso 1  |  relleno ceros  |  activación ninguna  |  agrupamiento máximo 2x2",
        "29.8 fps  |  kernel 1.2  digit 0.4 ms  |  LiteRT 2.3",
    ]
    face = Face(27, False)
    for ch in set("".join(lines)):
        face.glyph(ch)

    def timed(fn: Any, n: int = 300) -> float:
        fn()
        samples = []
        for _ in range(n):
            start = time.perf_counter()
            fn()
            samples.append((time.perf_counter() - start) * 1e3)
        return float(np.median(samples))

    fresh = Face(27, False)
    start = time.perf_counter()
    for ch in "abcdefghijklmnopqrstuvwxyzáéíóúñ¿":
        fresh.glyph(ch)
    glyph_ms = (time.perf_counter() - start) * 1e3 / 33
    line_ms = timed(lambda: face.line(lines[0]))
    panel_ms = timed(lambda: render_panel([Line(t, 0.42) for t in lines], 2.25))
    return {
        "text: one 45-char line from kept glyphs, 27 px (ms)": f"{line_ms:.3f}",
        "text: 3-line panel uncached at 1080p (ms)": f"{panel_ms:.3f}",
        "text: one glyph rasterised by FreeType, 27 px (ms)": f"{glyph_ms:.3f}",
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--frames", type=int, default=200)
    parser.add_argument("--screens", default="640x480,1280x720,1920x1080")
    parser.add_argument("--lang", default="es")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    screens = [parse_size(s, "--screens") for s in args.screens.split(",")]
    report: dict[str, Any] = {}
    for view in view_names():
        base = None
        for screen in screens:
            med, p99 = median_p99(time_view(view, args.lang, screen, args.frames))
            base = base or med
            key = f"{view} {screen[0]}x{screen[1]} median / p99 ms (x baseline)"
            report[key] = f"{med:.2f} / {p99:.2f} (x{med / base:.1f})"
    report.update(text_costs())
    print_report(report, args.json)


if __name__ == "__main__":
    main()
