"""Evdev keycodes to key names with the console's keyboard layout, through libxkbcommon.

The layout is the one Debian's keyboard-configuration writes for the console (and the
desktop) in ``/etc/default/keyboard``: ``XKBLAYOUT``, ``XKBVARIANT``, ``XKBMODEL``,
``XKBOPTIONS``. libxkbcommon (apt: ``libxkbcommon0``, with the keymap data ``xkb-data``)
compiles it; it is reached through ctypes, so no Python package is needed. Each keyboard
keeps its own modifier state (Shift, AltGr, Caps Lock), fed with every press and release,
so a Spanish ``+`` key gives ``+`` and AltGr+``+`` gives ``]``. Without the library, or
with a layout it cannot compile, keys are mapped with the kernel's default US layout and
one log line says so.

Key names are the action table's (``app.controls.actions``): the character a key types,
or ``Escape``, ``Tab``, ``Shift+Tab``, ``Enter``, ``ArrowUp`` ... for the others.
"""

from __future__ import annotations

import ctypes
import logging
import shlex
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

log = logging.getLogger(__name__)

KEYBOARD_CONFIG = Path("/etc/default/keyboard")
LIBRARY = "libxkbcommon.so.0"

KEY_RELEASE, KEY_PRESS, KEY_REPEAT = 0, 1, 2
KEY_LEFTSHIFT, KEY_RIGHTSHIFT = 42, 54
#: xkbcommon numbers keys as X11 does: the evdev keycode plus 8.
_XKB_KEYCODE_OFFSET = 8

#: Keysyms that type nothing (or a control character), by their xkb name.
_NAMED_KEYSYMS = {
    "Escape": "Escape",
    "Tab": "Tab",
    "ISO_Left_Tab": "Shift+Tab",
    "Return": "Enter",
    "KP_Enter": "Enter",
    "BackSpace": "Backspace",
    "Delete": "Delete",
    "Up": "ArrowUp",
    "Down": "ArrowDown",
    "Left": "ArrowLeft",
    "Right": "ArrowRight",
    "KP_Up": "ArrowUp",
    "KP_Down": "ArrowDown",
    "KP_Left": "ArrowLeft",
    "KP_Right": "ArrowRight",
}


@dataclass(frozen=True)
class KeyboardLayout:
    """XKB rule names, as ``/etc/default/keyboard`` gives them (comma lists allowed)."""

    layout: str = "us"
    variant: str = ""
    model: str = ""
    options: str = ""

    def describe(self) -> str:
        return f"{self.layout}({self.variant})" if self.variant else self.layout


def read_keyboard_layout(path: Path = KEYBOARD_CONFIG) -> KeyboardLayout:
    """The layout in a keyboard-configuration file (shell ``KEY="value"`` lines).

    Raises:
        OSError: the file cannot be read.
        ValueError: it has no ``XKBLAYOUT``, or a line is not valid shell quoting.
    """
    values: dict[str, str] = {}
    for number, line in enumerate(Path(path).read_text().splitlines(), 1):
        try:
            words = shlex.split(line, comments=True)
        except ValueError as exc:
            raise ValueError(f'{path}:{number}: {exc}; expected KEY="value"') from exc
        for word in words:
            key, sep, value = word.partition("=")
            if sep:
                values[key] = value
    layout = values.get("XKBLAYOUT", "").strip()
    if not layout:
        raise ValueError(f'{path} sets no XKBLAYOUT; expected a line such as XKBLAYOUT="es"')
    return KeyboardLayout(
        layout=layout,
        variant=values.get("XKBVARIANT", "").strip(),
        model=values.get("XKBMODEL", "").strip(),
        options=values.get("XKBOPTIONS", "").strip(),
    )


class KeyState(Protocol):
    """One keyboard's modifier state."""

    def feed(self, code: int, value: int) -> str | None:
        """Take one EV_KEY event (value 0 release, 1 press, 2 repeat); the key name it types."""

    def close(self) -> None:
        """Free the state."""


class Keymap(Protocol):
    """A compiled layout; ``new_state`` for each keyboard."""

    description: str

    def new_state(self) -> KeyState: ...


# --- the fallback: the kernel's default (US) console keymap ----------------------------------

_US_ROWS = {2: "1234567890-=", 16: "qwertyuiop[]", 30: "asdfghjkl;'`", 43: "\\zxcvbnm,./"}
_US_SHIFTED = dict(zip("1234567890-=[];'`\\,./", '!@#$%^&*()_+{}:"~|<>?', strict=True))
_US_NAMED = {
    1: "Escape",
    14: "Backspace",
    15: "Tab",
    28: "Enter",
    55: "*",
    57: " ",
    74: "-",
    78: "+",
    96: "Enter",
    98: "/",
    103: "ArrowUp",
    105: "ArrowLeft",
    106: "ArrowRight",
    108: "ArrowDown",
    111: "Delete",
}


def _us_name(code: int, shift: bool) -> str | None:
    for start, chars in _US_ROWS.items():
        if start <= code < start + len(chars):
            char = chars[code - start]
            return (_US_SHIFTED.get(char) or char.upper()) if shift else char
    name = _US_NAMED.get(code)
    if name == "Tab" and shift:
        return "Shift+Tab"
    return name


class _UsKeyState:
    def __init__(self) -> None:
        self.shift = 0  # shift keys held

    def feed(self, code: int, value: int) -> str | None:
        if code in (KEY_LEFTSHIFT, KEY_RIGHTSHIFT):
            if value == KEY_PRESS:
                self.shift += 1
            elif value == KEY_RELEASE:
                self.shift = max(0, self.shift - 1)
            return None
        if value == KEY_RELEASE:
            return None
        return _us_name(code, self.shift > 0)

    def close(self) -> None:
        pass


class UsKeymap:
    """The US layout the Linux console uses by default (Shift only; no AltGr, no Caps Lock)."""

    description = "us (built in)"

    def new_state(self) -> KeyState:
        return _UsKeyState()


# --- libxkbcommon ----------------------------------------------------------------------------


class _RuleNames(ctypes.Structure):
    # struct xkb_rule_names (xkbcommon/xkbcommon.h)
    _fields_ = [
        ("rules", ctypes.c_char_p),
        ("model", ctypes.c_char_p),
        ("layout", ctypes.c_char_p),
        ("variant", ctypes.c_char_p),
        ("options", ctypes.c_char_p),
    ]


_XKB_CONTEXT_NO_ENVIRONMENT_NAMES = 1 << 1  # the file decides, not XKB_DEFAULT_* variables
_XKB_LOG_LEVEL_CRITICAL = 10  # compile errors are reported by us, in one line
_XKB_KEY_UP, _XKB_KEY_DOWN = 0, 1


def _bind(lib: ctypes.CDLL) -> ctypes.CDLL:
    """Declare the prototypes used here (pointers as c_void_p, keycodes and keysyms u32)."""
    p, u32 = ctypes.c_void_p, ctypes.c_uint32
    prototypes = {
        "xkb_context_new": (p, [ctypes.c_int]),
        "xkb_context_set_log_level": (None, [p, ctypes.c_int]),
        "xkb_context_unref": (None, [p]),
        "xkb_keymap_new_from_names": (p, [p, ctypes.POINTER(_RuleNames), ctypes.c_int]),
        "xkb_keymap_unref": (None, [p]),
        "xkb_state_new": (p, [p]),
        "xkb_state_unref": (None, [p]),
        "xkb_state_update_key": (ctypes.c_int, [p, u32, ctypes.c_int]),
        "xkb_state_key_get_one_sym": (u32, [p, u32]),
        "xkb_state_key_get_utf8": (ctypes.c_int, [p, u32, ctypes.c_char_p, ctypes.c_size_t]),
        "xkb_keysym_get_name": (ctypes.c_int, [u32, ctypes.c_char_p, ctypes.c_size_t]),
    }
    for name, (restype, argtypes) in prototypes.items():
        function = getattr(lib, name)
        function.restype = restype
        function.argtypes = argtypes
    return lib


class _XkbKeyState:
    def __init__(self, keymap: XkbKeymap) -> None:
        self._keymap = keymap  # keeps the compiled keymap alive while the state is
        self._lib = keymap.lib
        self._state = self._lib.xkb_state_new(keymap.handle)
        if not self._state:
            raise MemoryError("xkb_state_new failed")
        self._text = ctypes.create_string_buffer(16)
        self._name = ctypes.create_string_buffer(64)

    def feed(self, code: int, value: int) -> str | None:
        if self._state is None:
            return None
        key = code + _XKB_KEYCODE_OFFSET
        if value == KEY_RELEASE:
            self._lib.xkb_state_update_key(self._state, key, _XKB_KEY_UP)
            return None
        # The name is read before a press updates the state, as xkbcommon documents:
        # a modifier key then reports itself, and the key after it is modified.
        name = self._key_name(key)
        if value == KEY_PRESS:  # repeats do not change the modifiers
            self._lib.xkb_state_update_key(self._state, key, _XKB_KEY_DOWN)
        return name

    def _key_name(self, key: int) -> str | None:
        size = self._lib.xkb_state_key_get_utf8(self._state, key, self._text, len(self._text))
        if 0 < size < len(self._text):
            text = self._text.value.decode("utf-8", "replace")
            if len(text) == 1 and text.isprintable():
                return text
        keysym = self._lib.xkb_state_key_get_one_sym(self._state, key)
        if not keysym:
            return None
        self._lib.xkb_keysym_get_name(keysym, self._name, len(self._name))
        return _NAMED_KEYSYMS.get(self._name.value.decode("ascii", "replace"))

    def close(self) -> None:
        if self._state is not None:
            self._lib.xkb_state_unref(self._state)
            self._state = None


class XkbKeymap:
    """A layout compiled by libxkbcommon.

    Raises:
        OSError: the library cannot be loaded.
        ValueError: libxkbcommon cannot compile the layout (unknown name, no xkb-data).
    """

    def __init__(self, layout: KeyboardLayout, *, library: str = LIBRARY) -> None:
        self.lib = _bind(ctypes.CDLL(library))
        self.description = layout.describe()
        context = self.lib.xkb_context_new(_XKB_CONTEXT_NO_ENVIRONMENT_NAMES)
        if not context:
            raise ValueError("xkb_context_new failed (is xkb-data installed?)")
        try:
            self.lib.xkb_context_set_log_level(context, _XKB_LOG_LEVEL_CRITICAL)
            names = _RuleNames(
                b"evdev",
                layout.model.encode() or None,
                layout.layout.encode(),
                layout.variant.encode() or None,
                layout.options.encode() or None,
            )
            self.handle = self.lib.xkb_keymap_new_from_names(context, ctypes.byref(names), 0)
        finally:
            self.lib.xkb_context_unref(context)  # the keymap keeps its own reference
        if not self.handle:
            raise ValueError(
                f"libxkbcommon cannot compile layout {layout.describe()!r} "
                f"(model {layout.model or '-'}, options {layout.options or '-'})"
            )

    def new_state(self) -> KeyState:
        return _XkbKeyState(self)

    def __del__(self) -> None:
        handle = getattr(self, "handle", None)
        if handle:
            self.lib.xkb_keymap_unref(handle)
            self.handle = None


def load_keymap(config: Path = KEYBOARD_CONFIG, *, library: str = LIBRARY) -> Keymap:
    """The console's layout through libxkbcommon, else the US fallback; one log line either way.

    A missing ``config`` means the US layout (Debian's default), still through libxkbcommon.
    """
    try:
        layout = read_keyboard_layout(config)
        where = str(config)
    except FileNotFoundError:
        layout, where = KeyboardLayout(), f"default; no {config}"
    except (OSError, ValueError) as exc:
        log.warning("keyboard layout: %s; keys use the US layout", exc)
        return UsKeymap()
    try:
        keymap = XkbKeymap(layout, library=library)
    except OSError as exc:
        log.warning(
            "keyboard layout %s (%s): libxkbcommon not available (%s; apt install "
            "libxkbcommon0 xkb-data); keys use the US layout",
            layout.describe(),
            where,
            exc,
        )
        return UsKeymap()
    except ValueError as exc:
        log.warning("keyboard layout: %s; keys use the US layout", exc)
        return UsKeymap()
    log.info("keyboard layout %s (%s) through libxkbcommon", layout.describe(), where)
    return keymap
