"""The views table: one module per view, one line each; everything else follows from it."""

from __future__ import annotations

import importlib
import json
import sys
import textwrap

import numpy as np
import pytest

from app import views
from app.config import Config
from app.controls.actions import (
    ActionQueue,
    action_for_key,
    action_table,
    apply_action,
    key_legend,
    key_table,
    legend_markdown,
)
from app.display.web import WebViewer
from app.loop import CaptureLoop
from app.stages.kernels import KernelStage
from app.stages.pipeline import STAGE_ORDER, Pipeline
from app.state import ViewState
from tests.loop_fakes import CountingStage, RecordingDisplay, ScriptedSource
from tests.web_support import post_json, request

THROWAWAY = '''
"""A view that exists only for a test: the kernel stage's output size, as text."""

from app.views.base import View
from app.views.draw import Line, blit


class ThrowawayView(View):
    name = "throwaway"
    title = "THROWAWAY"
    key = "Z"
    description = "throwaway view"
    stages = ("kernel",)

    def draw(self, canvas, layer, state, results, body):
        kernel = results.kernel
        text = f"kernel out {kernel.out_shape}" if kernel is not None else "no kernel"
        blit(layer, canvas.panel([Line(text)], opaque=True), 8, body.top + 8)


VIEW = ThrowawayView()
'''


def test_views_have_unique_names_and_keys_and_need_only_known_stages() -> None:
    names = [view.name for view in views.VIEWS]
    keys = [view.key for view in views.VIEWS]
    assert len(set(names)) == len(names) and len(set(keys)) == len(keys)
    for view in views.VIEWS:
        assert key_table()[view.key] == f"view_{view.name}", view.name
        assert set(view.stages) <= set(STAGE_ORDER), view.name
        for mode, stages in view.mode_stages.items():
            assert 0 < mode < len(view.modes) and set(stages) <= set(STAGE_ORDER), view.name
        assert view.title and view.description
    # A view's key must not take another action's key.
    bound = [view.key for view in views.VIEWS]
    assert sum(1 for key in key_table() if key in bound) == len(bound)


def test_the_stages_run_per_frame_come_from_the_views_table() -> None:
    assert views.stages_for("camera") == ("digit",)
    assert set(views.stages_for("pooling")) == {"kernel", "pool"}
    assert views.stages_for("no such view") == ()
    # A mode runs only what it draws: the receptive field on the camera needs no network.
    assert set(views.stages_for("receptive", 0)) == {"kernel", "pool"}
    assert set(views.stages_for("receptive", 1)) == {"digit", "network"}
    assert "dense" in views.stages_for("lenet", 1) and "dense" not in views.stages_for("lenet")


@pytest.fixture
def throwaway(tmp_path, monkeypatch):
    """The throwaway view, written to a temporary module and registered with one line."""
    (tmp_path / "throwaway_view.py").write_text(textwrap.dedent(THROWAWAY))
    monkeypatch.syspath_prepend(str(tmp_path))
    module = importlib.import_module("throwaway_view")
    monkeypatch.setattr(views, "VIEWS", (*views.VIEWS, module.VIEW))  # the one line
    yield module.VIEW
    sys.modules.pop("throwaway_view", None)


def test_a_new_view_joins_the_cycle_the_keys_and_the_legend(throwaway) -> None:
    last = views.view_names()[-2]
    assert apply_action(ViewState(view=last), "next_view", kernel_names=()).view == "throwaway"
    assert apply_action(ViewState(view="throwaway"), "next_view", kernel_names=()).view == "camera"
    assert apply_action(ViewState(), "prev_view", kernel_names=()).view == "throwaway"
    assert action_for_key("Z") == "view_throwaway"
    assert apply_action(ViewState(), "view_throwaway", kernel_names=()).view == "throwaway"
    assert action_table()["view_throwaway"] == "throwaway view"
    assert ("Z", "throwaway view") in key_legend()
    assert "| `Z` | throwaway view |" in legend_markdown()
    assert Config().with_section("view", view="throwaway").view.view == "throwaway"


def test_a_new_view_is_on_the_web_page_and_its_key_works(throwaway) -> None:
    queue = ActionQueue()
    viewer = WebViewer("127.0.0.1", 0, actions=queue)
    viewer.open()
    try:
        code, body, _ = request(viewer, "GET", "/api/legend")
        legend = json.loads(body)
        code_key, _, _ = post_json(viewer, "/api/key", {"key": "Z"})
    finally:
        viewer.close()
    assert code == 200 and legend["keys"]["Z"] == "view_throwaway"
    assert ["Z", "throwaway view"] in legend["legend"]
    assert legend["actions"]["view_throwaway"] == "throwaway view"
    assert code_key == 200 and queue.drain() == ["view_throwaway"]


def test_a_new_view_gets_its_stages_run_and_draws_in_the_loop(throwaway) -> None:
    kernel = KernelStage()
    digit = CountingStage("digit")
    display = RecordingDisplay()
    loop = CaptureLoop(
        ScriptedSource(size=(320, 240)),
        display,
        Pipeline((kernel, digit)),
        state=ViewState(view="throwaway", show_help=True),
    )
    assert loop.run(max_frames=3).frames == 3
    assert loop.last_results.kernel is not None and digit.calls == 0
    assert (display.last_overlay[:, :, 3] == 255).all()  # the view drew, opaque
    # The help table the loop hands to the overlay lists the new key.
    assert ("Z", "throwaway view") in loop._renderer_for((320, 240), (320, 240)).legend("camera")
    plain = CaptureLoop(
        ScriptedSource(size=(320, 240)),
        RecordingDisplay(),
        Pipeline((KernelStage(),)),
        state=ViewState(view="kernel"),
    )
    plain.run(max_frames=3)
    assert not np.array_equal(plain.last_overlay, loop.last_overlay)
