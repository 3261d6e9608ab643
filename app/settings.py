"""Settings declared once: each dataclass field carries its default, its type and its check.

``setting(30.0, (int, float), float_range(0.0, 240.0, open_low=True))`` is a dataclass
field whose rule the config reader applies to the file's value and to command-line
overrides alike, with one-line errors: ``[source] fps = 0: expected a number > 0 and
<= 240``. There is no second table of keys to keep in step with the dataclasses.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field, fields, is_dataclass
from typing import Any

from app.errors import ConfigError

#: What a check returns: None when the value is allowed, else what was expected.
Check = Callable[[Any], "str | None"]

#: A kernel's name (a preset's or a custom one): lower-case letters, digits and _.
KERNEL_NAME = re.compile(r"^[a-z][a-z0-9_]{0,31}$")
_TYPE_NAMES = {str: "a string", int: "an integer", bool: "true or false", float: "a number"}


def fmt(value: object) -> str:
    """A value as TOML writes it: strings quoted, booleans lower-case."""
    if isinstance(value, str):
        return f'"{value}"'
    if isinstance(value, bool):
        return "true" if value else "false"
    return repr(value)


def allowed(values: tuple) -> str:
    """``one of "a", "b"``."""
    return "one of " + ", ".join(fmt(v) for v in values)


def bad(key: str, value: object, expected: str) -> ConfigError:
    """The one-line error: ``[source] fps = 0: expected a number > 0 and <= 240``."""
    return ConfigError(f"{key} = {fmt(value)}: expected {expected}")


@dataclass(frozen=True)
class Rule:
    """A setting's allowed Python types (TOML's) and its check."""

    kinds: tuple[type, ...]
    check: Check

    def apply(self, key: str, value: Any) -> Any:
        """``value`` (ints as floats where floats are meant), or ConfigError naming ``key``."""
        # bool is an int in Python; TOML keeps them apart and so do we.
        if isinstance(value, bool) and bool not in self.kinds:
            raise bad(key, value, _TYPE_NAMES[self.kinds[-1]])
        if not isinstance(value, self.kinds):
            raise bad(key, value, _TYPE_NAMES[self.kinds[-1]])
        problem = self.check(value)
        if problem is not None:
            raise bad(key, value, problem)
        return float(value) if float in self.kinds else value


def setting(default: Any, kinds: type | tuple[type, ...], check: Check | None = None) -> Any:
    """A dataclass field with its default and the rule its values must follow."""
    kinds_t = kinds if isinstance(kinds, tuple) else (kinds,)
    return field(default=default, metadata={"rule": Rule(kinds_t, check or nothing)})


def rules(cls: type) -> dict[str, Rule]:
    """Every setting of a dataclass by key; a nested dataclass field ``roi`` of
    ``Roi(cx, ...)`` gives flat keys ``roi_cx``, ... (as the TOML file writes them)."""
    found: dict[str, Rule] = {}
    for f in fields(cls):
        if "rule" in f.metadata:
            found[f.name] = f.metadata["rule"]
        elif is_dataclass(f.default_factory):
            found.update({f"{f.name}_{k}": r for k, r in rules(f.default_factory).items()})
    return found


def flat_values(obj: Any) -> dict[str, Any]:
    """The values of ``obj``'s settings under ``rules``' flat keys."""
    values: dict[str, Any] = {}
    for f in fields(obj):
        value = getattr(obj, f.name)
        if is_dataclass(value):
            values.update({f"{f.name}_{k}": v for k, v in flat_values(value).items()})
        else:
            values[f.name] = value
    return values


def from_flat(cls: type, values: dict[str, Any]) -> Any:
    """``cls`` built from flat keys (``roi_cx`` -> ``roi=Roi(cx=...)``); others default."""
    changes: dict[str, Any] = {}
    for f in fields(cls):
        if f.name in values:
            changes[f.name] = values[f.name]
        elif is_dataclass(f.default_factory):
            prefix = f"{f.name}_"
            nested = {k.removeprefix(prefix): v for k, v in values.items() if k.startswith(prefix)}
            if nested:
                changes[f.name] = from_flat(f.default_factory, nested)
    return cls(**changes)


# ---- checks -----------------------------------------------------------------------


def nothing(_: object) -> str | None:
    """Any value of the right type."""
    return None


def non_empty(v: str) -> str | None:
    """A string with something other than spaces."""
    return None if v.strip() else "a non-empty string"


def one_of(values: tuple) -> Check:
    """One of ``values``."""
    return lambda v: None if v in values else allowed(values)


def int_range(lo: int, hi: int) -> Check:
    """An integer from ``lo`` to ``hi``."""
    return lambda v: None if lo <= v <= hi else f"an integer from {lo} to {hi}"


def float_range(lo: float, hi: float, *, open_low: bool = False) -> Check:
    """A finite number from ``lo`` (excluded when ``open_low``) to ``hi``."""

    def check(v: float) -> str | None:
        ok = math.isfinite(v) and (v > lo if open_low else v >= lo) and v <= hi
        if ok:
            return None
        return f"a number {'>' if open_low else '>='} {lo:g} and <= {hi:g}"

    return check


def kernel_name(v: str) -> str | None:
    """A kernel name's form (which names exist is known once the pipeline is built)."""
    return None if KERNEL_NAME.match(v) else "a kernel name"


def known_view(v: str) -> str | None:
    """The name of a view in the views table."""
    # The views table imports OpenCV: only a config that names a view pays for it.
    from app.views import view_names

    names = view_names()
    return None if v in names else allowed(names)
