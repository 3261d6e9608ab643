"""The action table, apply_action and ActionQueue."""

from __future__ import annotations

import threading

import pytest

from app.controls.actions import (
    SIDE_EFFECT_ACTIONS,
    ActionQueue,
    action_for_key,
    action_table,
    apply_action,
    key_legend,
    key_table,
    legend_markdown,
    view_actions,
)
from app.state import ACTIVATIONS, PADDINGS, POOL_SIZES, STRIDES, Roi, ViewState
from app.views import view_names

VIEWS = view_names()

KERNELS = ("horizontal_edge", "vertical_edge", "sobel_x", "blur")


def apply(state: ViewState, *actions: str) -> ViewState:
    for action in actions:
        state = apply_action(state, action, kernel_names=KERNELS)
    return state


def test_every_key_maps_to_a_known_action_and_every_action_has_a_key():
    assert set(key_table().values()) <= set(action_table())
    # A view's own actions have keys in that view (the teach view's digit keys).
    for view in VIEWS:
        assert set(key_table(view).values()) <= set(action_table(view)), view
    keyed = set(key_table().values()).union(*(key_table(view).values() for view in VIEWS))
    assert set(action_table()) == keyed


def test_required_actions_exist():
    required = {
        "next_view", "prev_view", "next_kernel", "prev_kernel", "stride_up", "stride_down",
        "cycle_padding", "cycle_activation", "toggle_operation", "cycle_pool_mode",
        "pool_size_up", "pool_size_down", "roi_left", "roi_right", "roi_up", "roi_down",
        "roi_grow", "roi_shrink", "toggle_freeze", "snapshot", "toggle_numpy_reference",
        "toggle_help", "quit",
    }  # fmt: skip
    assert required <= set(action_table())


def test_views_cycle_both_ways_and_direct_keys():
    state = ViewState()
    seen = [state.view]
    for _ in VIEWS:
        state = apply(state, "next_view")
        seen.append(state.view)
    assert seen == [*VIEWS, VIEWS[0]]
    assert apply(ViewState(), "prev_view").view == VIEWS[-1]
    for key, view in zip("1234567890", VIEWS, strict=False):
        assert apply(ViewState(), action_for_key(key)).view == view
    assert action_for_key("Tab") == "next_view" and action_for_key("Shift+Tab") == "prev_view"


def test_kernel_cycles_through_given_names_and_recovers_from_unknown():
    state = ViewState(kernel=KERNELS[0])
    assert apply(state, "next_kernel").kernel == KERNELS[1]
    assert apply(state, "prev_kernel").kernel == KERNELS[-1]
    assert apply(ViewState(kernel="gone"), "next_kernel").kernel == KERNELS[0]
    assert apply_action(state, "next_kernel", kernel_names=()) is state


def test_stride_and_pool_size_clamp_at_the_ends():
    state = ViewState(stride=STRIDES[0])
    assert apply(state, "stride_down").stride == STRIDES[0]
    top = apply(state, *["stride_up"] * (len(STRIDES) + 2))
    assert top.stride == max(STRIDES)
    assert apply(top, "stride_down").stride == sorted(STRIDES)[-2]
    state = ViewState(pool_size=min(POOL_SIZES))
    assert apply(state, "pool_size_up").pool_size == sorted(POOL_SIZES)[1]
    assert apply(state, "pool_size_down").pool_size == min(POOL_SIZES)


def test_cycles_and_toggles():
    state = ViewState()
    paddings = [apply(state, *["cycle_padding"] * i).padding for i in range(len(PADDINGS) + 1)]
    assert set(paddings) == set(PADDINGS) and paddings[0] == paddings[-1]
    acts = [apply(state, *["cycle_activation"] * i).activation for i in range(len(ACTIVATIONS))]
    assert sorted(acts) == sorted(ACTIVATIONS)
    assert apply(state, "toggle_operation").operation != state.operation
    assert apply(state, "toggle_operation", "toggle_operation").operation == state.operation
    assert apply(state, "cycle_pool_mode").pool_mode != state.pool_mode
    assert apply(state, "toggle_freeze").frozen is (not state.frozen)
    assert apply(state, "toggle_numpy_reference").numpy_reference is (not state.numpy_reference)
    assert apply(state, "toggle_help").show_help is (not state.show_help)


def test_roi_moves_resizes_and_stays_inside():
    state = ViewState(roi=Roi(cx=0.5, cy=0.5, size=0.4))
    moved = apply(state, "roi_right", "roi_down")
    assert moved.roi.cx > 0.5 and moved.roi.cy > 0.5 and moved.roi.size == 0.4
    assert apply(state, "roi_left", "roi_up").roi.cx < 0.5
    far = apply(state, *["roi_left"] * 50, *["roi_up"] * 50)
    assert far.roi.cx == pytest.approx(0.2) and far.roi.cy == pytest.approx(0.2)
    grown = apply(state, "roi_grow")
    assert grown.roi.size > 0.4
    huge = apply(state, *["roi_grow"] * 40)
    assert huge.roi.size == pytest.approx(1.0) and huge.roi.cx == pytest.approx(0.5)
    tiny = apply(state, *["roi_shrink"] * 60)
    assert tiny.roi.size == pytest.approx(0.1)


def test_side_effect_actions_leave_state_unchanged_and_input_is_not_mutated():
    state = ViewState()
    for action in SIDE_EFFECT_ACTIONS:
        assert apply(state, action) == state
    after = apply(state, "next_view")
    assert state.view == "camera" and after.view != state.view


def test_unknown_action_is_a_value_error():
    with pytest.raises(ValueError, match="unknown action 'fly'"):
        apply(ViewState(), "fly")


def test_queue_keeps_order_drains_and_rejects_unknown():
    queue = ActionQueue()
    queue.put("next_view")
    assert queue.put_key("k") == "next_kernel"
    assert queue.put_key("F13") is None
    assert queue.drain() == ["next_view", "next_kernel"]
    assert queue.drain() == []
    with pytest.raises(ValueError):
        queue.put("nope")


def test_queue_is_bounded_and_thread_safe():
    queue = ActionQueue(maxlen=10)
    for _ in range(25):
        queue.put("snapshot")
    assert len(queue.drain()) == 10

    big = ActionQueue(maxlen=100_000)

    def push():
        for _ in range(2000):
            big.put("next_view")

    threads = [threading.Thread(target=push) for _ in range(4)]
    for t in threads:
        t.start()
    drained = []
    while any(t.is_alive() for t in threads):
        drained += big.drain()
    for t in threads:
        t.join()
    drained += big.drain()
    assert len(drained) == 8000


def test_legend_covers_every_action_and_renders_markdown():
    descriptions = [description for _, description in key_legend()]
    own = view_actions()  # the views' own actions are in their own view's legend
    assert descriptions == [d for a, d in action_table().items() if a not in own]
    teach = dict((d, k) for k, d in key_legend("teach"))
    assert teach["label the digit in the square"] == "0-9"
    assert {teach[own[a]] for a in own if not a.startswith("label_")} == {"Backspace", "Enter", "r"}
    labels = dict((d, k) for k, d in key_legend())
    assert labels[action_table()["next_view"]] == "v / Tab"
    assert labels[action_table()["snapshot"]] == "space / x"
    table = legend_markdown()
    lines = table.strip().splitlines()
    assert lines[0] == "| Key | Action |" and len(lines) == 2 + len(key_legend())
    assert "| `[` | pool size -1 |" in lines
    assert "| `v` / `Tab` | next view |" in lines
