"""The queue from the inputs (keyboards, terminal, web page) to the loop.

A key press is queued as it was typed (``KeyPress``) and becomes an action only when the
loop takes it, in the view shown at that moment: a view may lay keys of its own over the
key table (the teach view's digit keys label a sample), so "e" then "3" typed within one
frame switch to the teach view and then label a 3, whichever input they came from.
"""

from __future__ import annotations

import threading
from collections import deque
from dataclasses import dataclass

from app import views
from app.controls.actions import action_for_key, action_table, once_per_press, view_after


@dataclass(frozen=True)
class KeyPress:
    """A key as typed (``repeat``: an auto-repeat of a held key); it becomes an action when
    the loop takes it from the queue, in the view shown then."""

    key: str
    repeat: bool = False


class ActionQueue:
    """Thread-safe FIFO of action names and key presses: inputs ``put`` and ``put_key``,
    the loop ``drain``s once per frame.

    Bounded: when the loop stalls, the oldest actions are dropped rather than
    letting key repeat pile up work for later.
    """

    def __init__(self, maxlen: int = 64) -> None:
        self._items: deque[str | KeyPress] = deque(maxlen=maxlen)
        self._lock = threading.Lock()

    def put(self, action: str) -> None:
        """Queue one action.

        Raises:
            ValueError: ``action`` is not a known action name.
        """
        known = action_table()
        if action not in known:
            raise ValueError(f"unknown action {action!r}; expected one of: {', '.join(known)}")
        with self._lock:
            self._items.append(action)

    def put_key(self, key: str, repeat: bool = False) -> str | None:
        """Queue a key press; ``drain`` turns it into the action it has in the view shown.

        Returns the action the key usually has (or has in a view's own keys), for the
        log; None, and nothing queued, when the key is bound nowhere or ``repeat`` (an
        auto-repeat of a held key) asks for a once-per-press action.
        """
        action = action_for_key(key) or next(
            (v.keys[key] for v in views.VIEWS if key in v.keys), None
        )
        if action is None or (repeat and once_per_press(action)):
            return None
        with self._lock:
            self._items.append(KeyPress(key, repeat))
        return action

    def drain(self, view: str | None = None) -> list[str]:
        """Return every queued action, oldest first, and empty the queue.

        Key presses become the action their key has in ``view`` (None: the usual table),
        following the view changes queued before them; a key bound to nothing there, or
        a held key repeating a once-per-press action, gives none.
        """
        with self._lock:
            items = list(self._items)
            self._items.clear()
        actions = []
        for item in items:
            action = item if isinstance(item, str) else action_for_key(item.key, view)
            if isinstance(item, KeyPress) and item.repeat and action and once_per_press(action):
                action = None
            if action is None:
                continue
            actions.append(action)
            if view is not None:
                view = view_after(view, action)
        return actions

    def __len__(self) -> int:
        with self._lock:
            return len(self._items)
