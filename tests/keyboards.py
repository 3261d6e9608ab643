"""Keymaps compiled by the real libxkbcommon for tests, or a skip saying why there is none.

CI sets CONVLENS_REQUIRE_XKBCOMMON=1 (it installs libxkbcommon0 and xkb-data): there a
missing library fails the tests instead of skipping them.
"""

from __future__ import annotations

import os

import pytest

from app.controls.keymap import KeyboardLayout, XkbKeymap


def xkb_keymap(layout: str, variant: str = "") -> XkbKeymap:
    """``layout`` compiled by libxkbcommon; skips (or fails in CI) when it cannot be."""
    try:
        return XkbKeymap(KeyboardLayout(layout, variant))
    except OSError as exc:
        if os.environ.get("CONVLENS_REQUIRE_XKBCOMMON"):
            raise
        pytest.skip(f"libxkbcommon not available ({exc}); apt install libxkbcommon0 xkb-data")


def type_keys(keymap, keys: list) -> list[str | None]:
    """Press and release each key; a (modifier, key) pair holds the modifier around the key.

    Returns the key name each press typed (None for keys that type nothing).
    """
    state = keymap.new_state()
    typed = []
    try:
        for key in keys:
            modifier, code = key if isinstance(key, tuple) else (None, key)
            if modifier is not None:
                state.feed(modifier, 1)
            typed.append(state.feed(code, 1))
            state.feed(code, 0)
            if modifier is not None:
                state.feed(modifier, 0)
    finally:
        state.close()
    return typed
