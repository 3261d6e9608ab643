"""Keycodes to key names with real keymap data: libxkbcommon and xkb-data for es, de, fr, gb, us.

Keycodes are linux/input-event-codes.h's: they name the key's position on a US keyboard,
whatever is printed on it. The expected characters are what each layout's keycaps show.
"""

from __future__ import annotations

import logging

import pytest

from app.controls.actions import action_for_key
from app.controls.keymap import (
    KeyboardLayout,
    UsKeymap,
    XkbKeymap,
    load_keymap,
    read_keyboard_layout,
)
from tests.keyboards import type_keys, xkb_keymap

KEY_ESC, KEY_1, KEY_2, KEY_3, KEY_6, KEY_8, KEY_9 = 1, 2, 3, 4, 7, 9, 10
KEY_MINUS, KEY_EQUAL, KEY_TAB, KEY_Q, KEY_W, KEY_Y = 12, 13, 15, 16, 17, 21
KEY_LEFTBRACE, KEY_RIGHTBRACE, KEY_ENTER, KEY_A, KEY_SEMICOLON = 26, 27, 28, 30, 39
KEY_APOSTROPHE, KEY_BACKSLASH, KEY_Z, KEY_V, KEY_M, KEY_SLASH = 40, 43, 44, 47, 50, 53
KEY_SPACE, KEY_CAPSLOCK, KEY_KPMINUS, KEY_KPPLUS, KEY_102ND = 57, 58, 74, 78, 86
KEY_UP, KEY_LEFT, KEY_RIGHT, KEY_DOWN = 103, 105, 106, 108
SHIFT, ALTGR = 42, 100  # KEY_LEFTSHIFT, KEY_RIGHTALT

# (keys pressed, what the keycaps of that layout say they type)
LAYOUTS = {
    "es": [
        (KEY_RIGHTBRACE, "+"),  # the + key, right of P
        ((SHIFT, KEY_RIGHTBRACE), "*"),
        ((ALTGR, KEY_RIGHTBRACE), "]"),
        ((ALTGR, KEY_LEFTBRACE), "["),
        (KEY_SLASH, "-"),
        ((SHIFT, KEY_SLASH), "_"),
        (KEY_MINUS, "'"),
        ((SHIFT, KEY_MINUS), "?"),
        (KEY_LEFTBRACE, None),  # a dead key (grave accent) types nothing by itself
        (KEY_Q, "q"),
    ],
    "de": [
        (KEY_Y, "z"),  # QWERTZ
        (KEY_Z, "y"),
        (KEY_RIGHTBRACE, "+"),
        (KEY_MINUS, "ß"),
        ((SHIFT, KEY_MINUS), "?"),
        (KEY_SLASH, "-"),
        ((ALTGR, KEY_8), "["),
        ((ALTGR, KEY_9), "]"),
    ],
    "fr": [
        (KEY_Q, "a"),  # AZERTY
        (KEY_A, "q"),
        (KEY_W, "z"),
        (KEY_Z, "w"),
        (KEY_SEMICOLON, "m"),
        (KEY_1, "&"),  # digits need shift
        ((SHIFT, KEY_1), "1"),
        (KEY_6, "-"),
        (KEY_EQUAL, "="),
        ((SHIFT, KEY_EQUAL), "+"),
        ((SHIFT, KEY_M), "?"),
    ],
    "gb": [
        ((SHIFT, KEY_3), "£"),
        ((SHIFT, KEY_2), '"'),
        ((SHIFT, KEY_APOSTROPHE), "@"),
        (KEY_BACKSLASH, "#"),
        (KEY_102ND, "\\"),
        ((SHIFT, KEY_102ND), "|"),
    ],
    "us": [
        (KEY_RIGHTBRACE, "]"),
        ((SHIFT, KEY_RIGHTBRACE), "}"),
        (KEY_LEFTBRACE, "["),
        ((SHIFT, KEY_SLASH), "?"),
        ((SHIFT, KEY_EQUAL), "+"),
        (KEY_MINUS, "-"),
        (KEY_Q, "q"),
    ],
}
NAMED_KEYS = [
    (KEY_ESC, "Escape"),
    (KEY_TAB, "Tab"),
    ((SHIFT, KEY_TAB), "Shift+Tab"),
    (KEY_ENTER, "Enter"),
    (KEY_SPACE, " "),
    (KEY_UP, "ArrowUp"),
    (KEY_DOWN, "ArrowDown"),
    (KEY_LEFT, "ArrowLeft"),
    (KEY_RIGHT, "ArrowRight"),
    (KEY_KPPLUS, "+"),
    (KEY_KPMINUS, "-"),
]


@pytest.mark.parametrize("layout", sorted(LAYOUTS))
def test_layout_types_what_its_keycaps_show(layout):
    keys, expected = zip(*LAYOUTS[layout], strict=True)
    assert type_keys(xkb_keymap(layout), list(keys)) == list(expected)


@pytest.mark.parametrize("layout", sorted(LAYOUTS))
def test_named_keys_are_the_same_on_every_layout(layout):
    keys, expected = zip(*NAMED_KEYS, strict=True)
    assert type_keys(xkb_keymap(layout), list(keys)) == list(expected)


def test_spanish_keycaps_do_the_documented_actions():
    # The course is in Spanish: + - ? [ ] act as printed on the Spanish keyboard.
    typed = type_keys(
        xkb_keymap("es"),
        [KEY_RIGHTBRACE, KEY_SLASH, (SHIFT, KEY_MINUS), (ALTGR, KEY_LEFTBRACE),
         (ALTGR, KEY_RIGHTBRACE)],
    )  # fmt: skip
    actions = [action_for_key(name) for name in typed]
    assert actions == ["roi_grow", "roi_shrink", "toggle_help", "pool_size_down", "pool_size_up"]


def test_variant_is_used():
    # fr(bepo) puts b where a US keyboard has q.
    assert type_keys(xkb_keymap("fr", "bepo"), [KEY_Q]) == ["b"]


def test_caps_lock_and_repeats_follow_the_modifier_state():
    keymap = xkb_keymap("us")
    state = keymap.new_state()
    try:
        assert state.feed(KEY_V, 1) == "v"
        assert state.feed(KEY_V, 2) == "v"  # auto-repeat
        state.feed(KEY_V, 0)
        state.feed(KEY_CAPSLOCK, 1)
        state.feed(KEY_CAPSLOCK, 0)
        assert state.feed(KEY_V, 1) == "V"
        state.feed(KEY_V, 0)
        assert state.feed(SHIFT, 1) is None  # a modifier types nothing
        assert state.feed(SHIFT, 2) is None
        state.feed(SHIFT, 0)
        assert state.feed(KEY_V, 0) is None  # releases type nothing
    finally:
        state.close()


def test_each_keyboard_has_its_own_shift():
    keymap = xkb_keymap("us")
    one, two = keymap.new_state(), keymap.new_state()
    one.feed(SHIFT, 1)
    assert one.feed(KEY_V, 1) == "V"
    assert two.feed(KEY_V, 1) == "v"
    one.close()
    two.close()
    assert one.feed(KEY_V, 1) is None  # a closed state is inert, not a crash


def write_config(tmp_path, text: str):
    path = tmp_path / "keyboard"
    path.write_text(text)
    return path


DEBIAN_FILE = """# KEYBOARD CONFIGURATION FILE

# Consult the keyboard(5) manual page.

XKBMODEL="pc105"
XKBLAYOUT="es"
XKBVARIANT=""
XKBOPTIONS=""

BACKSPACE="guess"
"""


def test_reads_the_file_keyboard_configuration_writes(tmp_path):
    layout = read_keyboard_layout(write_config(tmp_path, DEBIAN_FILE))
    assert layout == KeyboardLayout(layout="es", variant="", model="pc105", options="")
    unquoted = read_keyboard_layout(write_config(tmp_path, "XKBLAYOUT=de\nXKBVARIANT=nodeadkeys\n"))
    assert unquoted.describe() == "de(nodeadkeys)"


@pytest.mark.parametrize(
    ("text", "message"),
    [("XKBMODEL=pc105\n", "no XKBLAYOUT"), ('XKBLAYOUT="es\n', r"keyboard:1: .*KEY=")],
)
def test_bad_files_are_named(tmp_path, text, message):
    with pytest.raises(ValueError, match=message):
        read_keyboard_layout(write_config(tmp_path, text))


def test_load_keymap_uses_the_console_layout_and_says_so(tmp_path, caplog):
    xkb_keymap("es")  # skip here too when there is no libxkbcommon
    caplog.set_level(logging.INFO)
    keymap = load_keymap(write_config(tmp_path, DEBIAN_FILE))
    assert isinstance(keymap, XkbKeymap) and keymap.description == "es"
    assert type_keys(keymap, [KEY_RIGHTBRACE]) == ["+"]
    assert "keyboard layout es" in caplog.text and "libxkbcommon" in caplog.text


def test_no_config_file_means_us_through_libxkbcommon(tmp_path, caplog):
    xkb_keymap("us")
    caplog.set_level(logging.INFO)
    keymap = load_keymap(tmp_path / "missing")
    assert isinstance(keymap, XkbKeymap) and keymap.description == "us"
    assert "default; no" in caplog.text


def test_missing_library_falls_back_to_us_in_one_line(tmp_path, caplog):
    keymap = load_keymap(write_config(tmp_path, DEBIAN_FILE), library="libxkbcommon-absent.so.0")
    assert isinstance(keymap, UsKeymap)
    [line] = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert "libxkbcommon not available" in line.getMessage()
    assert "keys use the US layout" in line.getMessage()


def test_unknown_layout_falls_back_to_us_in_one_line(tmp_path, caplog):
    xkb_keymap("us")
    keymap = load_keymap(write_config(tmp_path, 'XKBLAYOUT="xx"\n'))
    assert isinstance(keymap, UsKeymap)
    [line] = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert "cannot compile layout 'xx'" in line.getMessage()


def test_us_fallback_tracks_shift_and_names_keys():
    keys = [KEY_V, (SHIFT, KEY_V), (SHIFT, KEY_TAB), KEY_UP, (SHIFT, KEY_EQUAL), KEY_2,
            (SHIFT, KEY_SLASH), KEY_RIGHTBRACE, KEY_KPPLUS, 240]  # fmt: skip
    typed = type_keys(UsKeymap(), keys)
    assert typed == ["v", "V", "Shift+Tab", "ArrowUp", "+", "2", "?", "]", "+", None]


def test_us_fallback_agrees_with_libxkbcommon_us():
    # The typing block, the arrows and the keypad's + - * / (the keys the fallback knows).
    modifiers = {29, 42, 54, 56}  # ctrl, shifts, alt
    codes = [c for c in range(1, 58) if c not in modifiers]
    codes += [KEY_UP, KEY_LEFT, KEY_RIGHT, KEY_DOWN, KEY_KPMINUS, KEY_KPPLUS, 98]
    xkb = xkb_keymap("us")
    for shift in (False, True):
        keys = [(SHIFT, c) if shift else c for c in codes]
        assert type_keys(UsKeymap(), keys) == type_keys(xkb, keys), f"shift={shift}"
