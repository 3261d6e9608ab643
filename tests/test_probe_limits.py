"""The teaching views' movable point: where it starts (the inspector on the picture's
structure, not on blank paper) and where it stops (the real limits of the picture and the
mode, said on screen when an arrow cannot move it)."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from app.config import config_from_dict
from app.controls.actions import ActionQueue, apply_action, probe_blocked
from app.frame import Frame
from app.i18n import translate
from app.loop import CaptureLoop, LoopOptions
from app.sources.demo import DemoSource
from app.stages.inspect import (
    FLAT_EDGE,
    REFRESH_FRAMES,
    InspectStage,
    home_unit,
    strongest_edge,
    structure,
)
from app.stages.kernels import KERNEL_PRESETS, KernelStage
from app.stages.network_results import FeedforwardResult
from app.stages.pipeline import build_pipeline
from app.stages.results import FrameResults
from app.state import Roi, ViewState
from app.views.receptive import LENET_HOME
from tests.loop_fakes import RecordingDisplay

HORIZONTAL = (KERNEL_PRESETS["horizontal_edge"].astype(np.float32),)


def paper(bar: tuple[int, int, int, int] | None = None, seed: int = 0) -> np.ndarray:
    """A (60, 80) uint8 sheet of paper (200, with camera noise), a dark bar (x0, y0, x1, y1)."""
    rng = np.random.default_rng(seed)
    image = np.clip(200 + rng.normal(0, 2, (60, 80)), 0, 255).astype(np.uint8)
    if bar is not None:
        x0, y0, x1, y1 = bar
        image[y0:y1, x0:x1] = 40
    return image


def inspect(stage_pair, image: np.ndarray, state: ViewState, seq: int = 0) -> FrameResults:
    kernel, inspector = stage_pair
    frame = Frame(array=cv2.cvtColor(image, cv2.COLOR_GRAY2BGR), gray=image, seq=seq, timestamp=0)
    results = FrameResults()
    kernel.process(frame, state, results)
    inspector.process(frame, state, results)
    return results


@pytest.fixture
def stages():
    kernel = KernelStage()
    kernel.configure({"processing_width": 0})
    return kernel, InspectStage()


def test_the_window_starts_where_the_kernel_answers_most_near_the_roi_centre(stages) -> None:
    # A horizontal bar a little off the centre: the horizontal-edge kernel answers on its
    # top and bottom edges (rows 24 and 35), nowhere else.
    res = inspect(stages, paper((34, 25, 56, 35)), ViewState())
    row, col = res.inspect.home
    assert row in (23, 24, 25, 34, 35, 36) and 34 <= col < 56
    assert abs(res.inspect.window.sums[0]) > 1.0  # an edge, not paper
    # On blank paper: the output unit at the ROI's centre.
    res = inspect(stages, paper(), ViewState(), seq=REFRESH_FRAMES)
    assert res.inspect.home == home_unit((30.0, 40.0), 3, 1, 1, (60, 80))


def test_kernels_that_answer_on_paper_start_on_the_pictures_edges(stages) -> None:
    """A blur answers everywhere on white paper: the picture's own edges are used instead."""
    picture = paper((34, 25, 56, 35)).astype(np.float32) / 255
    blur = (KERNEL_PRESETS["box_blur"].astype(np.float32),)
    assert structure(picture, blur).max() == pytest.approx(
        structure(picture, (np.eye(3, dtype=np.float32),)).max(), rel=0.01
    )
    res = inspect(stages, paper((34, 25, 56, 35)), ViewState(kernel="box_blur"))
    row, col = res.inspect.home
    on_edge = row in (23, 24, 25, 34, 35, 36) or col in (33, 34, 35, 55, 56, 57)
    assert on_edge and 22 <= row <= 37 and 32 <= col <= 58


def test_a_near_equal_edge_never_takes_the_window_over(stages) -> None:
    picture = paper((10, 20, 70, 40)).astype(np.float32) / 255
    roi = Roi(0.5, 0.5, 0.9)
    first = strongest_edge(picture, roi, HORIZONTAL)
    assert first is not None
    other = (39 if first[0] < 30 else 19, first[1])  # the bar's other edge, as strong
    assert strongest_edge(picture, roi, HORIZONTAL, current=other) == other
    # A blank point is no edge to keep.
    assert strongest_edge(picture, roi, HORIZONTAL, current=(5, 5)) == first
    assert structure(picture, HORIZONTAL)[5, 5] < FLAT_EDGE


def test_once_moved_the_point_keeps_its_home_while_the_picture_changes(stages) -> None:
    at_home = ViewState()
    first = inspect(stages, paper((34, 25, 56, 35)), at_home).inspect.home
    moved = inspect(stages, paper((10, 8, 30, 16)), ViewState(probe_x=1), seq=1).inspect
    assert moved.home == first and moved.window.unit == (first[0], first[1] + 1)
    # Back home, the next refresh looks again: the window follows the new bar.
    later = inspect(stages, paper((10, 8, 30, 16)), at_home, seq=1 + REFRESH_FRAMES).inspect
    assert later.home != first


def test_the_arrows_stop_at_the_pictures_edge_and_say_so(stages) -> None:
    res = inspect(stages, paper((34, 25, 56, 35)), ViewState(view="inspector"))
    (x0, x1), (y0, y1) = res.inspect.probe_range
    home = res.inspect.home
    assert (home[1] + x0, home[1] + x1, home[0] + y0, home[0] + y1) == (0, 79, 0, 59)
    state = ViewState(view="inspector", probe_x=x1 - 1)
    state = apply_action(state, "roi_right", kernel_names=(), results=res)
    assert state.probe_x == x1 and probe_blocked(state, "roi_right", res) is not None
    assert apply_action(state, "roi_right", kernel_names=(), results=res) == state
    assert probe_blocked(state, "roi_left", res) is None
    # A point set far past the edge answers the first press back.
    far = ViewState(view="inspector", probe_x=300)
    assert apply_action(far, "roi_left", kernel_names=(), results=res).probe_x == x1 - 1
    assert probe_blocked(far, "roi_right", res) is not None


def test_in_lenet_mode_every_press_moves_the_point_one_pixel_to_the_inputs_edge() -> None:
    """The point sat on 13.5: rounding to even moved conv1's unit by 0 or 2 per press."""
    from app.stages.network import read_network
    from app.views import find_view
    from training.receptive_field import Field, nested_units

    network = read_network(Path(__file__).resolve().parents[1] / "models")
    fields = [(n, Field(*f)) for n, f in network.fields if n == "conv1"]
    view = find_view("receptive")
    state = ViewState(view="receptive", mode=1)
    bounds = view.probe_bounds(state, FrameResults())
    assert bounds == ((-LENET_HOME, 27 - LENET_HOME), (-LENET_HOME, 27 - LENET_HOME))
    units = []
    for _ in range(40):
        units.append(nested_units(fields, LENET_HOME + state.probe_x, {"conv1": 28})["conv1"])
        if probe_blocked(state, "roi_right", None):
            break
        state = apply_action(state, "roi_right", kernel_names=())
    assert units == list(range(LENET_HOME, 28))


def test_the_lenet_view_moves_the_roi_in_its_strip_and_a_neuron_in_feedforward() -> None:
    strip = apply_action(ViewState(view="lenet"), "roi_left", kernel_names=())
    assert strip.probe == (0, 0) and strip.roi.cx < 0.5
    ff = FeedforwardResult(
        tensor=np.zeros((28, 28), np.float32), source="pool2", source_shape=(5, 5, 16), runs=(),
        probs=np.zeros(10, np.float32), layer=0, neuron=0, rank=0,
        products=np.zeros(400, np.float32), order=np.arange(400), probe_range=((0, 2), (0, 119)),
    )  # fmt: skip
    results = FrameResults(dense=ff)
    state = ViewState(view="lenet", mode=1)
    assert probe_blocked(state, "roi_left", results) is not None  # fc1 is the first layer
    state = apply_action(state, "roi_right", kernel_names=(), results=results)
    state = apply_action(state, "roi_down", kernel_names=(), results=results)
    assert state.probe == (1, 1) and state.roi == ViewState().roi
    # Without a digit there is no neuron to pick: the arrows move the ROI onto one.
    assert apply_action(state, "roi_up", kernel_names=()).roi.cy < 0.5


def test_entering_a_view_puts_its_point_home() -> None:
    state = ViewState(view="inspector", probe_x=7, probe_y=-3)
    assert apply_action(state, "view_why", kernel_names=()).probe == (0, 0)
    assert apply_action(state, "next_view", kernel_names=()).probe == (0, 0)


def test_the_loop_says_on_screen_when_an_arrow_cannot_move_the_point() -> None:
    actions = ActionQueue()
    display = RecordingDisplay()
    loop = CaptureLoop(
        DemoSource(size=(320, 240), seed=0, realtime=False),
        display,
        build_pipeline(config_from_dict({"model": {"backend": "numpy"}})),
        state=ViewState(view="receptive", mode=1, probe_x=27 - LENET_HOME, language="es"),
        actions=actions,
        options=LoopOptions(),
    )
    loop.run(max_frames=2)
    actions.put("roi_right")
    loop.run(max_frames=3)
    # The status (JSON, systemd) stays English; the overlay says it in the frame's language.
    message = display.statuses[-1].message
    assert "the point is at the edge of the picture" in message
    assert "el punto está en el borde de la imagen" in translate(message, "es")
    assert loop.state.probe_x == 27 - LENET_HOME
