"""The one key -> action table every input uses, the pure state update, and the action queue.

Key names follow the browser's ``KeyboardEvent.key``: a printable key is its
character (``"k"``, ``"K"``, ``"+"``, ``" "`` for space), other keys have names
(``"ArrowUp"``, ``"Tab"``, ``"Escape"``); shift+Tab is ``"Shift+Tab"``. The
terminal and evdev inputs translate their bytes and keycodes to these names.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Sequence

from app.state import ACTIVATIONS, PADDINGS, POOL_MODES, POOL_SIZES, STRIDES, VIEWS, Roi, ViewState

#: Every action name with the description the legend shows.
ACTIONS: dict[str, str] = {
    "next_view": "next view",
    "prev_view": "previous view",
    "view_camera": "camera view",
    "view_kernel": "kernel view",
    "view_pooling": "pooling view",
    "view_features": "feature maps view",
    "next_kernel": "next kernel",
    "prev_kernel": "previous kernel",
    "stride_up": "stride +1",
    "stride_down": "stride -1",
    "cycle_padding": "padding: " + " / ".join(PADDINGS),
    "cycle_activation": "activation: " + " / ".join(ACTIVATIONS),
    "toggle_operation": "convolution / correlation",
    "cycle_pool_mode": "pooling: " + " / ".join(POOL_MODES),
    "pool_size_up": "pool size +1",
    "pool_size_down": "pool size -1",
    "roi_left": "move ROI left",
    "roi_right": "move ROI right",
    "roi_up": "move ROI up",
    "roi_down": "move ROI down",
    "roi_grow": "ROI bigger",
    "roi_shrink": "ROI smaller",
    "toggle_freeze": "freeze / unfreeze the frame",
    "snapshot": "save a snapshot",
    "toggle_numpy_reference": "NumPy reference vs TFLite",
    "toggle_help": "show / hide help",
    "quit": "quit",
}

#: Actions the loop carries out itself; ``apply_action`` returns the state unchanged.
SIDE_EFFECT_ACTIONS = frozenset({"snapshot", "quit"})

#: The one key table (key name -> action).
KEY_ACTIONS: dict[str, str] = {
    "v": "next_view",
    "Tab": "next_view",
    "V": "prev_view",
    "Shift+Tab": "prev_view",
    "1": "view_camera",
    "2": "view_kernel",
    "3": "view_pooling",
    "4": "view_features",
    "k": "next_kernel",
    "K": "prev_kernel",
    "s": "stride_up",
    "S": "stride_down",
    "p": "cycle_padding",
    "a": "cycle_activation",
    "c": "toggle_operation",
    "o": "cycle_pool_mode",
    "]": "pool_size_up",
    "[": "pool_size_down",
    "ArrowLeft": "roi_left",
    "ArrowRight": "roi_right",
    "ArrowUp": "roi_up",
    "ArrowDown": "roi_down",
    "+": "roi_grow",
    "=": "roi_grow",
    "-": "roi_shrink",
    "_": "roi_shrink",
    "f": "toggle_freeze",
    " ": "snapshot",
    "x": "snapshot",
    "n": "toggle_numpy_reference",
    "h": "toggle_help",
    "?": "toggle_help",
    "q": "quit",
    "Escape": "quit",
}

_KEY_LABELS = {" ": "space", "ArrowLeft": "←", "ArrowRight": "→", "ArrowUp": "↑", "ArrowDown": "↓"}


def _legend() -> list[tuple[str, str]]:
    keys_by_action: dict[str, list[str]] = {}
    for key, action in KEY_ACTIONS.items():
        keys_by_action.setdefault(action, []).append(_KEY_LABELS.get(key, key))
    return [
        (" / ".join(keys_by_action[action]), description)
        for action, description in ACTIONS.items()
        if action in keys_by_action
    ]


#: (key label, description) in the order of ``ACTIONS``: for the help overlay,
#: the web page and the README.
KEY_LEGEND: list[tuple[str, str]] = _legend()

#: How far one key press moves the ROI centre, as a fraction of the frame.
ROI_STEP = 0.05
#: Factor one key press grows or shrinks the ROI by, and its size limits.
ROI_SCALE = 1.1
ROI_MIN_SIZE = 0.1
ROI_MAX_SIZE = 1.0


def action_for_key(key: str) -> str | None:
    """The action bound to a key name, or None when the key is not bound."""
    return KEY_ACTIONS.get(key)


def legend_markdown() -> str:
    """The key legend as a Markdown table (for the README)."""
    lines = ["| Key | Action |", "| --- | --- |"]
    for label, description in KEY_LEGEND:
        keys = " / ".join(f"`{key}`" for key in label.split(" / "))
        keys = keys.replace("|", "\\|")  # a literal pipe would end the cell
        lines.append(f"| {keys} | {description} |")
    return "\n".join(lines) + "\n"


def _cycle(values: Sequence, current: object, step: int) -> object:
    try:
        index = list(values).index(current)
    except ValueError:
        return values[0]
    return values[(index + step) % len(values)]


def _clamp_step(values: Sequence[int], current: int, step: int) -> int:
    ordered = sorted(values)
    if current not in ordered:
        return ordered[0]
    index = min(max(ordered.index(current) + step, 0), len(ordered) - 1)
    return ordered[index]


def _clamp_roi(cx: float, cy: float, size: float) -> Roi:
    # size is a fraction of the shorter side, so half of it bounds the centre
    # along the shorter axis exactly and conservatively along the longer one.
    size = min(max(size, ROI_MIN_SIZE), ROI_MAX_SIZE)
    half = size / 2
    cx = min(max(cx, half), 1 - half)
    cy = min(max(cy, half), 1 - half)
    return Roi(cx=round(cx, 4), cy=round(cy, 4), size=round(size, 4))


def apply_action(state: ViewState, action: str, *, kernel_names: Sequence[str]) -> ViewState:
    """Return the state after one action; ``state`` itself is never modified.

    Args:
        state: the current settings.
        action: a name from ``ACTIONS``. Side-effect actions (``snapshot``,
            ``quit``) return ``state`` unchanged: the loop handles them.
        kernel_names: the kernels ``next_kernel``/``prev_kernel`` cycle through,
            in order. Empty: kernel actions change nothing.

    Raises:
        ValueError: ``action`` is not a known action name.
    """
    roi = state.roi
    if action == "next_view":
        return state.with_changes(view=_cycle(VIEWS, state.view, 1))
    if action == "prev_view":
        return state.with_changes(view=_cycle(VIEWS, state.view, -1))
    if action.startswith("view_") and action in ACTIONS:
        return state.with_changes(view=action.removeprefix("view_"))
    if action in ("next_kernel", "prev_kernel"):
        if not kernel_names:
            return state
        step = 1 if action == "next_kernel" else -1
        return state.with_changes(kernel=_cycle(kernel_names, state.kernel, step))
    if action in ("stride_up", "stride_down"):
        step = 1 if action == "stride_up" else -1
        return state.with_changes(stride=_clamp_step(STRIDES, state.stride, step))
    if action == "cycle_padding":
        return state.with_changes(padding=_cycle(PADDINGS, state.padding, 1))
    if action == "cycle_activation":
        return state.with_changes(activation=_cycle(ACTIVATIONS, state.activation, 1))
    if action == "toggle_operation":
        operation = "correlation" if state.operation == "convolution" else "convolution"
        return state.with_changes(operation=operation)
    if action == "cycle_pool_mode":
        return state.with_changes(pool_mode=_cycle(POOL_MODES, state.pool_mode, 1))
    if action in ("pool_size_up", "pool_size_down"):
        step = 1 if action == "pool_size_up" else -1
        return state.with_changes(pool_size=_clamp_step(POOL_SIZES, state.pool_size, step))
    moves = {
        "roi_left": (-ROI_STEP, 0.0),
        "roi_right": (ROI_STEP, 0.0),
        "roi_up": (0.0, -ROI_STEP),
        "roi_down": (0.0, ROI_STEP),
    }
    if action in moves:
        dx, dy = moves[action]
        return state.with_changes(roi=_clamp_roi(roi.cx + dx, roi.cy + dy, roi.size))
    if action in ("roi_grow", "roi_shrink"):
        factor = ROI_SCALE if action == "roi_grow" else 1 / ROI_SCALE
        return state.with_changes(roi=_clamp_roi(roi.cx, roi.cy, roi.size * factor))
    if action == "toggle_freeze":
        return state.with_changes(frozen=not state.frozen)
    if action == "toggle_numpy_reference":
        return state.with_changes(numpy_reference=not state.numpy_reference)
    if action == "toggle_help":
        return state.with_changes(show_help=not state.show_help)
    if action in SIDE_EFFECT_ACTIONS:
        return state
    raise ValueError(f"unknown action {action!r}; expected one of: {', '.join(ACTIONS)}")


class ActionQueue:
    """Thread-safe FIFO of action names: inputs ``put``, the loop ``drain``s once per frame.

    Bounded: when the loop stalls, the oldest actions are dropped rather than
    letting key repeat pile up work for later.
    """

    def __init__(self, maxlen: int = 64) -> None:
        self._items: deque[str] = deque(maxlen=maxlen)
        self._lock = threading.Lock()

    def put(self, action: str) -> None:
        """Queue one action.

        Raises:
            ValueError: ``action`` is not a known action name.
        """
        if action not in ACTIONS:
            raise ValueError(f"unknown action {action!r}; expected one of: {', '.join(ACTIONS)}")
        with self._lock:
            self._items.append(action)

    def put_key(self, key: str) -> str | None:
        """Queue the action bound to ``key``; return it, or None when the key is unbound."""
        action = action_for_key(key)
        if action is not None:
            self.put(action)
        return action

    def drain(self) -> list[str]:
        """Return every queued action, oldest first, and empty the queue."""
        with self._lock:
            items = list(self._items)
            self._items.clear()
        return items

    def __len__(self) -> int:
        with self._lock:
            return len(self._items)
