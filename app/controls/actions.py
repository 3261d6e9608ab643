"""The one key -> action table every input uses and the pure state update (the queue from
the inputs to the loop: ``app.controls.queue``).

The per-view actions and number keys come from the views table (``app.views.VIEWS``),
so a new view appears in the key table, the legend and the view cycle by itself. A view
may lay keys of its own over the table while it is shown (``View.keys``): in the teach
view the digit keys save the digit under that label instead of switching views.

Key names follow the browser's ``KeyboardEvent.key``: a printable key is its
character (``"k"``, ``"K"``, ``"+"``, ``" "`` for space), other keys have names
(``"ArrowUp"``, ``"Tab"``, ``"Escape"``); shift+Tab is ``"Shift+Tab"``. The
terminal and evdev inputs translate their bytes and keycodes to these names.
"""

from __future__ import annotations

from collections.abc import Sequence

from app import views
from app.i18n import N_, next_language
from app.stages.results import FrameResults
from app.state import (
    ACTIVATIONS,
    OPERATIONS,
    PADDINGS,
    POOL_MODES,
    POOL_SIZES,
    STRIDES,
    ProbeRange,
    Roi,
    ViewState,
)

#: The view-independent actions around the per-view ones, with their legend texts.
_NAVIGATION = {"next_view": N_("next view"), "prev_view": N_("previous view")}
_SETTINGS = {
    "next_kernel": N_("next kernel"),
    "prev_kernel": N_("previous kernel"),
    "stride_up": N_("stride +1"),
    "stride_down": N_("stride -1"),
    "cycle_padding": N_("padding: valid / zero / reflect"),
    "cycle_activation": N_("activation: none / relu / sigmoid / tanh"),
    "toggle_operation": N_("convolution / correlation"),
    "cycle_pool_mode": N_("pooling: max / avg"),
    "pool_size_up": N_("pool size +1"),
    "pool_size_down": N_("pool size -1"),
    "roi_left": N_("move ROI / point left"),
    "roi_right": N_("move ROI / point right"),
    "roi_up": N_("move ROI / point up"),
    "roi_down": N_("move ROI / point down"),
    "roi_grow": N_("ROI bigger"),
    "roi_shrink": N_("ROI smaller"),
    "toggle_freeze": N_("freeze / unfreeze the frame"),
    "snapshot": N_("save a snapshot"),
    "toggle_numpy_reference": N_("NumPy reference vs TFLite"),
    "toggle_help": N_("show / hide help"),
    "toggle_language": N_("language: English / Spanish"),
    "quit": N_("quit"),
}

#: The teaching views' own action: their modes (the inspector's 1-D formula, ...).
_VIEW_ACTIONS = {"next_mode": N_("next mode of this view")}
_VIEW_KEYS = {"m": "next_mode"}

#: Actions the loop carries out itself; ``apply_action`` returns the state unchanged.
SIDE_EFFECT_ACTIONS = frozenset({"snapshot", "quit"})

#: Actions a held key must not repeat: holding space would otherwise fill the SD card
#: with snapshots. Every input (evdev, terminal, web page) honours this.
ONCE_PER_PRESS = frozenset({"snapshot", "quit"})

_NAVIGATION_KEYS = {
    "v": "next_view",
    "Tab": "next_view",
    "V": "prev_view",
    "Shift+Tab": "prev_view",
}
_SETTING_KEYS = {
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
    "l": "toggle_language",
    "h": "toggle_help",
    "?": "toggle_help",
    "q": "quit",
    "Escape": "quit",
}

_KEY_LABELS = {" ": "space", "ArrowLeft": "←", "ArrowRight": "→", "ArrowUp": "↑", "ArrowDown": "↓"}


def view_actions() -> dict[str, str]:
    """Every view's own actions (``View.actions``, e.g. the teach view's ``label_3``) with
    their descriptions: actions the loop carries out, never a settings change."""
    return {name: text for view in views.VIEWS for name, text in view.actions.items()}


def action_table(view: str | None = None) -> dict[str, str]:
    """Every action name with the legend's description (English, marked with ``N_``:
    translate where shown), in legend order.

    ``view_<name>`` for each view in ``app.views.VIEWS`` (read at each call, so the
    table always matches the views table). The views' own actions: all of them, or with
    ``view`` only that view's (what its legend and the web page's buttons offer).
    """
    per_view = {f"view_{v.name}": v.description for v in views.VIEWS}
    shown = views.find_view(view) if view is not None else None
    own = view_actions() if view is None else dict(shown.actions if shown else {})
    return {**_NAVIGATION, **per_view, **_VIEW_ACTIONS, **own, **_SETTINGS}


def key_table(view: str | None = None) -> dict[str, str]:
    """The one key table, key name -> action: every input and the web page use it.

    With ``view``, that view's own keys (``View.keys``) replace the usual ones.
    """
    per_view = {v.key: f"view_{v.name}" for v in views.VIEWS}
    table = {**_NAVIGATION_KEYS, **per_view, **_VIEW_KEYS, **_SETTING_KEYS}
    shown = views.find_view(view) if view is not None else None
    if shown is not None:
        table.update(shown.keys)
    return table


def key_legend(view: str | None = None) -> list[tuple[str, str]]:
    """(key labels, description) in the order of ``action_table``: for the help overlay,
    the web page and the README; with ``view``, the keys as they are in that view.

    A view's group of actions bound to the digit keys (``View.key_groups``: the teach
    view's ``label_0`` ... ``label_9``) is one row, ``0-9``, with the group's text.
    """
    keys_by_action: dict[str, list[str]] = {}
    for key, action in key_table(view).items():
        keys_by_action.setdefault(action, []).append(_KEY_LABELS.get(key, key))
    shown = views.find_view(view) if view is not None else None
    groups = dict(shown.key_groups) if shown is not None else {}
    rows: list[tuple[str, str]] = []
    for action, description in action_table(view).items():
        if action not in keys_by_action:
            continue
        prefix = next((p for p in groups if action.startswith(p)), None)
        if prefix is None:
            rows.append((" / ".join(keys_by_action[action]), description))
        elif not any(text == groups[prefix] for _, text in rows):
            keys = sorted(k for a, ks in keys_by_action.items() if a.startswith(prefix) for k in ks)
            run = len(keys) > 2 and "".join(keys) in "0123456789"  # digits in a row: "0-9"
            rows.append((f"{keys[0]}-{keys[-1]}" if run else " / ".join(keys), groups[prefix]))
    return rows


#: How far one key press moves the ROI centre, as a fraction of the frame.
ROI_STEP = 0.05
#: Factor one key press grows or shrinks the ROI by, and its size limits.
ROI_SCALE = 1.1
ROI_MIN_SIZE = 0.1
ROI_MAX_SIZE = 1.0


def action_for_key(key: str, view: str | None = None) -> str | None:
    """The action bound to a key name (in ``view``, when given), or None when unbound."""
    return key_table(view).get(key)


def once_per_press(action: str) -> bool:
    """True for actions a held key must not repeat (snapshots, quitting, views' own)."""
    return action in ONCE_PER_PRESS or action in view_actions()


def view_after(view: str, action: str) -> str:
    """The view shown after ``action`` (the same one for any action but the view keys)."""
    return _view_after(view, action) or view


def legend_markdown(view: str | None = None) -> str:
    """The key legend (in ``view``, when given) as a Markdown table (for the README)."""
    lines = ["| Key | Action |", "| --- | --- |"]
    for label, description in key_legend(view):
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


#: Actions that flip one on/off setting of the state.
_TOGGLES = {
    "toggle_freeze": "frozen",
    "toggle_numpy_reference": "numpy_reference",
    "toggle_help": "show_help",
}
_ROI_MOVES = {
    "roi_left": (-ROI_STEP, 0.0),
    "roi_right": (ROI_STEP, 0.0),
    "roi_up": (0.0, -ROI_STEP),
    "roi_down": (0.0, ROI_STEP),
}


def _roi_after(roi: Roi, action: str) -> Roi | None:
    """The ROI after a move or resize action, or None for any other action."""
    if action in _ROI_MOVES:
        dx, dy = _ROI_MOVES[action]
        return _clamp_roi(roi.cx + dx, roi.cy + dy, roi.size)
    if action in ("roi_grow", "roi_shrink"):
        factor = ROI_SCALE if action == "roi_grow" else 1 / ROI_SCALE
        return _clamp_roi(roi.cx, roi.cy, roi.size * factor)
    return None


def _clamp_probe(probe: tuple[int, int], bounds: ProbeRange) -> tuple[int, int]:
    (x0, x1), (y0, y1) = bounds
    return (min(max(probe[0], x0), x1), min(max(probe[1], y0), y1))


def _move_probe(
    probe: tuple[int, int], move: tuple[float, float], bounds: ProbeRange
) -> tuple[int, int]:
    """The probe one step in the direction of ``move``, kept within ``bounds`` (clamped
    first, so a probe set past the picture's edge answers the first key press)."""
    x, y = _clamp_probe(probe, bounds)
    dx = (move[0] > 0) - (move[0] < 0)
    dy = (move[1] > 0) - (move[1] < 0)
    return _clamp_probe((x + dx, y + dy), bounds)


def _probe_bounds(state: ViewState, results: FrameResults | None) -> ProbeRange | None:
    """The current view's point limits for this state (None: it has no point)."""
    view = views.find_view(state.view)
    if view is None:
        return None
    return view.probe_bounds(state, results if results is not None else FrameResults())


def probe_blocked(state: ViewState, action: str, results: FrameResults | None) -> str | None:
    """Why ``action`` cannot move the current view's point (the view's ``probe_edge``,
    marked English: translate where shown), or None when it moves it or is no arrow."""
    if action not in _ROI_MOVES:
        return None
    bounds = _probe_bounds(state, results)
    if bounds is None:
        return None
    if _move_probe(state.probe, _ROI_MOVES[action], bounds) != _clamp_probe(state.probe, bounds):
        return None
    view = views.find_view(state.view)
    return view.probe_edge if view is not None else None


def _moved(state: ViewState, action: str, results: FrameResults | None) -> ViewState | None:
    """The state after an arrow (the view's point, else the ROI) or a ROI resize; None
    for any other action."""
    bounds = _probe_bounds(state, results) if action in _ROI_MOVES else None
    if bounds is not None:
        # The teaching views with a movable point move it instead of the ROI.
        x, y = _move_probe(state.probe, _ROI_MOVES[action], bounds)
        return state.with_changes(probe_x=x, probe_y=y)
    roi = _roi_after(state.roi, action)
    return state.with_changes(roi=roi) if roi is not None else None


def _view_after(current: str, action: str) -> str | None:
    """The view a view action goes to, or None for any other action."""
    if action in ("next_view", "prev_view"):
        return str(_cycle(views.view_names(), current, 1 if action == "next_view" else -1))
    if action.startswith("view_") and action in action_table():
        return action.removeprefix("view_")
    return None


def apply_action(
    state: ViewState,
    action: str,
    *,
    kernel_names: Sequence[str],
    results: FrameResults | None = None,
) -> ViewState:
    """Return the state after one action; ``state`` itself is never modified.

    Args:
        state: the current settings.
        action: a name from ``action_table()``. Side-effect actions (``snapshot``,
            ``quit``) return ``state`` unchanged: the loop handles them.
        kernel_names: the kernels ``next_kernel``/``prev_kernel`` cycle through,
            in order. Empty: kernel actions change nothing.
        results: the last frame's results: where the current view's point may go on
            this picture (``View.probe_bounds``). None: the views' fixed limits.

    Raises:
        ValueError: ``action`` is not a known action name.
    """
    entered = _view_after(state.view, action)
    if entered is not None:
        # A view starts in its first mode with its point at home: the point's steps
        # mean something else in every view (a window, a shift, a neuron).
        return state.with_changes(view=entered, mode=0, probe_x=0, probe_y=0)
    view = views.find_view(state.view)
    if action == "next_mode":
        modes = len(view.modes) if view is not None else 0
        return state.with_changes(mode=(state.mode + 1) % modes if modes else 0)
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
        return state.with_changes(operation=_cycle(OPERATIONS, state.operation, 1))
    if action == "cycle_pool_mode":
        return state.with_changes(pool_mode=_cycle(POOL_MODES, state.pool_mode, 1))
    if action in ("pool_size_up", "pool_size_down"):
        step = 1 if action == "pool_size_up" else -1
        return state.with_changes(pool_size=_clamp_step(POOL_SIZES, state.pool_size, step))
    moved = _moved(state, action, results)
    if moved is not None:
        return moved
    if action in _TOGGLES:
        setting = _TOGGLES[action]
        return state.with_changes(**{setting: not getattr(state, setting)})
    if action == "toggle_language":
        return state.with_changes(language=next_language(state.language))
    if action in SIDE_EFFECT_ACTIONS or action in view_actions():
        return state
    raise ValueError(f"unknown action {action!r}; expected one of: {', '.join(action_table())}")


def __getattr__(name: str) -> object:
    """``ActionQueue`` and ``KeyPress`` live in ``app.controls.queue`` (which reads this
    module's tables); importing them from here still works."""
    if name in ("ActionQueue", "KeyPress"):
        from app.controls import queue

        return getattr(queue, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
