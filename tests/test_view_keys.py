"""Keys a view lays over the table (the teach view's digits), from every input: a key press
is queued as typed and means what it means in the view shown when the loop takes it."""

from __future__ import annotations

import json

import pytest

from app.controls.actions import ActionQueue, action_for_key, apply_action
from app.display.web import WebViewer
from app.state import ViewState
from tests.web_support import post_json, request


def test_a_key_press_takes_the_meaning_of_the_view_it_lands_in():
    queue = ActionQueue()
    for key in ("3", "e", "3", "Backspace", "Enter", "r", "Tab", "3", "Backspace"):
        assert queue.put_key(key) is not None, key
    assert queue.drain("camera") == [
        "view_why", "view_teach", "label_3", "undo_sample", "toggle_finetune",
        "use_shipped_model", "next_view", "view_why",
    ]  # fmt: skip
    assert queue.put_key("F13") is None and queue.drain("teach") == []


def test_a_held_digit_key_saves_once_but_still_repeats_where_it_switches_views():
    queue = ActionQueue()
    queue.put_key("4")
    queue.put_key("4", repeat=True)
    queue.put_key("4", repeat=True)
    assert queue.drain("teach") == ["label_4"]
    queue.put_key("4")
    queue.put_key("4", repeat=True)
    assert queue.drain("camera") == ["view_inspector", "view_inspector"]
    assert queue.put_key(" ", repeat=True) is None  # snapshots: once per press everywhere


def test_without_a_view_the_usual_table_applies():
    queue = ActionQueue()
    queue.put_key("e")
    queue.put_key("1")
    assert queue.drain() == ["view_teach", "view_camera"]
    assert action_for_key("1", "teach") == "label_1" and action_for_key("1") == "view_camera"


def test_the_teach_views_actions_leave_the_settings_alone():
    state = ViewState(view="teach")
    for action in ("label_0", "undo_sample", "toggle_finetune", "use_shipped_model"):
        assert apply_action(state, action, kernel_names=()) == state


@pytest.fixture
def web():
    queue = ActionQueue()
    viewer = WebViewer("127.0.0.1", 0, actions=queue)
    viewer.open()
    try:
        yield viewer, queue
    finally:
        viewer.close()


def test_the_web_page_gets_the_views_keys_and_its_keys_are_queued_as_typed(web):
    viewer, queue = web
    viewer.update_status({"view": "teach", "language": "es"})
    legend = json.loads(request(viewer, "GET", "/api/legend")[1])
    assert legend["view"] == "teach" and legend["keys"]["7"] == "label_7"
    assert legend["keys"]["Backspace"] == "undo_sample"
    assert ["0-9", "etiquetar el dígito del cuadro"] in legend["legend"]
    assert legend["actions"]["label_7"] == "guardar como 7"
    assert {"label_7", "snapshot"} <= set(legend["once_per_press"])
    code, body, _ = post_json(viewer, "/api/key", {"key": "7"})
    assert code == 200 and json.loads(body) == {"key": "7", "action": "label_7"}
    assert queue.drain("teach") == ["label_7"]
    viewer.update_status({"view": "camera", "language": "en"})
    legend = json.loads(request(viewer, "GET", "/api/legend")[1])
    assert legend["keys"]["7"] == "view_pooling" and "label_7" not in legend["actions"]
    assert post_json(viewer, "/api/key", {"key": "Backspace"})[0] == 400
    assert post_json(viewer, "/api/action", {"action": "undo_sample"})[0] == 200
    assert queue.drain("camera") == ["undo_sample"]
