"""The teaching views through the real pipeline (demo source, real stages, real loop), in
both languages, against their goldens; and the keys that drive them."""

from __future__ import annotations

import logging
from functools import cache
from typing import Any

import numpy as np
import pytest

from app import views
from app.config import config_from_dict
from app.controls.actions import apply_action, key_table
from app.display.compose import compose
from app.loop import CaptureLoop, LoopOptions
from app.sources.demo import DemoSource
from app.stages.pipeline import build_pipeline
from app.state import ViewState
from tests.goldens import check_golden
from tests.loop_fakes import RecordingDisplay
from tests.test_pipeline_golden import FRAMES, SteppingClock

#: (golden name, view, state changes): the teaching views' states beyond their defaults
#: (the defaults have their goldens in ``test_pipeline_golden``): a moved point, each mode.
CASES: list[tuple[str, str, dict[str, Any]]] = [
    ("inspector", "inspector", {"probe_x": -6, "probe_y": 4}),
    ("inspector_row", "inspector", {"mode": 1, "operation": "convolution"}),
    # Stride: the next window (dashed) one stride on, the output half the size.
    ("inspector_stride", "inspector", {"stride": 2, "probe_x": 5}),
    # Padding: the point pushed to the picture's corner, the window over padding cells.
    ("inspector_padding", "inspector", {"probe_x": -200, "probe_y": -200}),
    ("pooling_avg", "pooling", {"pool_mode": "avg"}),
    # Convolution against correlation: the kernel shown rotated 180 degrees, as applied.
    ("kernel_convolution", "kernel", {"operation": "convolution"}),
    # Every layer's maps for the digit under the number's cursor.
    ("features_number", "features", {"mode": 1}),
    ("receptive_lenet", "receptive", {"mode": 1, "probe_x": 2, "probe_y": -3}),
    ("activations", "activations", {"kernel": "laplacian", "activation": "sigmoid"}),
    ("layers_conv2", "layers", {"mode": 1}),
    ("lenet_feedforward", "lenet", {"mode": 1}),
    ("lenet_feedforward_fc2", "lenet", {"mode": 1, "probe_x": 1, "probe_y": 70}),
]


def render(view: str, changes: dict[str, Any], size: tuple[int, int] = (640, 480)):
    config = config_from_dict({"model": {"backend": "numpy"}})
    display = RecordingDisplay()
    loop = CaptureLoop(
        DemoSource(size=size, seed=0, realtime=False),
        display,
        build_pipeline(config),
        state=ViewState(view=view, **changes),
        options=LoopOptions(clock=SteppingClock()),
    )
    loop.run(max_frames=FRAMES)
    return loop, compose(display.last_frame.array, display.last_overlay)


@pytest.mark.parametrize("lang", ["en", "es"])
@pytest.mark.parametrize(("name", "view", "changes"), CASES, ids=[c[0] for c in CASES])
def test_teaching_view_matches_its_golden(name, view, changes, lang, caplog) -> None:
    with caplog.at_level(logging.WARNING):
        loop, picture = render(view, {**changes, "language": lang})
    assert not [r for r in caplog.records if "failed" in r.getMessage()], caplog.text
    for stage in views.stages_for(view, changes.get("mode", 0)):
        assert getattr(loop.last_results, stage) is not None, stage
    check_golden(f"teaching_{name}_{lang}", picture)


@pytest.mark.parametrize(("view", "changes"), [(c[1], c[2]) for c in CASES])
@pytest.mark.parametrize("size", [(1280, 720), (1920, 1080)])
def test_teaching_views_draw_at_projector_sizes_without_failing(
    view, changes, size, caplog
) -> None:
    with caplog.at_level(logging.WARNING):
        _, picture = render(view, changes, size)
    assert not [r for r in caplog.records if "failed" in r.getMessage()], caplog.text
    assert picture.shape == (size[1], size[0], 3)


def test_the_views_follow_the_course_and_the_number_keys_follow_the_views() -> None:
    names = views.view_names()
    assert names[0] == "camera" and names.index("activations") < names.index("inspector")
    assert names.index("inspector") < names.index("pooling") < names.index("lenet")
    digits = "1234567890"
    for view, key in zip(views.VIEWS, digits, strict=False):
        assert view.key == key, view.name
    assert key_table()["t"] == "view_layers"


def test_m_cycles_the_modes_and_a_new_view_starts_in_its_first() -> None:
    state = ViewState(view="inspector")
    state = apply_action(state, "next_mode", kernel_names=())
    assert state.mode == 1
    assert apply_action(state, "next_mode", kernel_names=()).mode == 0
    assert apply_action(state, "view_receptive", kernel_names=()).mode == 0
    assert apply_action(state, "next_view", kernel_names=()).mode == 0
    # A view without modes stays in mode 0.
    assert apply_action(ViewState(view="camera"), "next_mode", kernel_names=()).mode == 0


def test_arrows_move_the_point_in_views_with_one_and_the_roi_elsewhere() -> None:
    moved = apply_action(ViewState(view="inspector"), "roi_right", kernel_names=())
    assert moved.probe == (1, 0) and moved.roi == ViewState().roi
    moved = apply_action(ViewState(view="camera"), "roi_right", kernel_names=())
    assert moved.probe == (0, 0) and moved.roi.cx > ViewState().roi.cx
    # Held against the edge of a small view, the point stops; one press back moves it,
    # even when it came from a wider view.
    state = ViewState(view="why", probe_x=40, probe_y=-40)
    assert apply_action(state, "roi_left", kernel_names=()).probe == (5, -6)
    assert apply_action(state, "roi_down", kernel_names=()).probe == (6, -5)


def test_the_inspector_window_moves_one_stride_per_key_press() -> None:
    # Frozen: every frame is the first one, so the numbers (refreshed every 8 frames)
    # and the map are of the same picture.
    before, _ = render("inspector", {"stride": 2, "frozen": True})
    after, _ = render("inspector", {"stride": 2, "probe_x": 1, "probe_y": 0, "frozen": True})
    a, b = before.last_results.inspect.window, after.last_results.inspect.window
    assert b.origin[1] - a.origin[1] == 2 and b.unit[1] - a.unit[1] == 1
    assert np.isclose(b.value, after.last_results.kernel.output[b.unit], atol=1e-5)


@pytest.mark.parametrize("screen", [(1280, 720), (1920, 1080), (1024, 768)])
@pytest.mark.parametrize("lang", ["en", "es"])
@pytest.mark.parametrize(
    ("view", "mode"), [(v.name, m) for v in views.VIEWS for m in range(1, len(v.modes))]
)
def test_every_mode_keeps_its_text_above_a_45th_of_the_screen(view, mode, lang, screen) -> None:
    """The projector test (``test_projector``) for the states a view's first mode hides."""
    from dataclasses import replace

    from app.controls.actions import key_legend
    from app.views.renderer import OverlayRenderer
    from app.views.text import recording_text

    status, results = mode_results(view, mode)
    renderer = OverlayRenderer(screen, key_legend(), frame_size=(640, 480))
    with recording_text() as drawn:
        renderer.render(replace(status, language=lang), results)
    smallest = min(drawn, key=lambda d: d.size_px)
    assert smallest.size_px >= screen[1] / 45, (view, mode, smallest.text, smallest.size_px)


@cache
def mode_results(view: str, mode: int):
    config = config_from_dict({"model": {"backend": "numpy"}})
    display = RecordingDisplay()
    loop = CaptureLoop(
        DemoSource(size=(640, 480), seed=0, realtime=False),
        display,
        build_pipeline(config),
        state=ViewState(view=view, mode=mode),
        options=LoopOptions(),
    )
    loop.run(max_frames=8)
    return display.statuses[-1], loop.last_results
