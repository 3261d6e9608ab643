"""One typed configuration, read from a TOML file, with one-line errors for bad keys and values."""

from __future__ import annotations

import math
import re
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from types import MappingProxyType
from typing import Any

from app.errors import ConfigError
from app.state import (
    ACTIVATIONS,
    PADDINGS,
    POOL_MODES,
    POOL_SIZES,
    STRIDES,
    Roi,
    ViewState,
)

OPERATIONS = ("correlation", "convolution")
LOG_LEVELS = ("debug", "info", "warning", "error")
MODEL_BACKENDS = ("auto", "litert", "tflite-runtime", "numpy")
FALLBACK_DISPLAYS = ("web", "null", "none")
#: ``[ui] language``: "auto" follows the environment's locale (``app.i18n``).
UI_LANGUAGES = ("auto", "es", "en")
#: Stage sections ``[stages.NAME]`` the pipeline knows; each stage checks its own keys.
STAGE_NAMES = ("kernel", "pool", "digit", "features")
_KERNEL_NAME = re.compile(r"^[a-z][a-z0-9_]{0,31}$")


@dataclass(frozen=True)
class SourceConfig:
    """``[source]``: where frames come from."""

    spec: str = "auto"
    width: int = 640
    height: int = 480
    fps: float = 30.0
    seed: int = 0
    loop: bool = True

    @property
    def size(self) -> tuple[int, int]:
        """(width, height) in pixels."""
        return (self.width, self.height)


@dataclass(frozen=True)
class DisplayConfig:
    """``[display]``: where the picture goes, and what to use when that fails to open."""

    spec: str = "auto"
    fallback: str = "web"
    #: "WxH": draw the overlay at this resolution (the projector's); "": the display's
    #: own, else the camera frame's.
    screen: str = ""

    @property
    def screen_size(self) -> tuple[int, int] | None:
        """``screen`` as (width, height), or None."""
        return parse_size(self.screen, "[display] screen") if self.screen else None


@dataclass(frozen=True)
class WebConfig:
    """``[web]``: the browser viewer's address."""

    host: str = "127.0.0.1"
    port: int = 8000


@dataclass(frozen=True)
class ControlsConfig:
    """``[controls]``: which key inputs to start (each is skipped when unavailable)."""

    terminal: bool = True
    evdev: bool = True


@dataclass(frozen=True)
class UiConfig:
    """``[ui]``: the language on screen and on the web page ("auto": the locale's)."""

    language: str = "auto"


@dataclass(frozen=True)
class ModelConfig:
    """``[model]``: the digit classifier file (empty = the shipped model) and runtime."""

    path: str = ""
    backend: str = "auto"


@dataclass(frozen=True)
class SnapshotConfig:
    """``[snapshot]``: where snapshot folders are written."""

    directory: str = "snapshots"


@dataclass(frozen=True)
class LoggingConfig:
    """``[logging]``: the log level."""

    level: str = "info"


@dataclass(frozen=True)
class FaultsConfig:
    """``[faults]``: camera retry back-off and when a failing stage is switched off."""

    retry_initial_s: float = 0.5
    retry_max_s: float = 8.0
    stage_max_consecutive: int = 20
    stage_max_failure_ratio: float = 0.5
    stage_window: int = 100
    log_interval_s: float = 10.0


@dataclass(frozen=True)
class Config:
    """The whole configuration. ``view`` is the initial live state."""

    source: SourceConfig = field(default_factory=SourceConfig)
    display: DisplayConfig = field(default_factory=DisplayConfig)
    web: WebConfig = field(default_factory=WebConfig)
    controls: ControlsConfig = field(default_factory=ControlsConfig)
    ui: UiConfig = field(default_factory=UiConfig)
    view: ViewState = field(default_factory=ViewState)
    #: name -> kernel rows (tuples of floats), from ``[kernels.custom]``.
    custom_kernels: Mapping[str, tuple[tuple[float, ...], ...]] = field(
        default_factory=lambda: MappingProxyType({})
    )
    #: stage name -> its parameters, from ``[stages.NAME]``; checked by each stage.
    stages: Mapping[str, Mapping[str, Any]] = field(default_factory=lambda: MappingProxyType({}))
    model: ModelConfig = field(default_factory=ModelConfig)
    snapshot: SnapshotConfig = field(default_factory=SnapshotConfig)
    logging: LoggingConfig = field(default_factory=LoggingConfig)
    faults: FaultsConfig = field(default_factory=FaultsConfig)

    def with_section(self, section: str, **changes: Any) -> Config:
        """A copy with fields of one section replaced (command-line overrides), re-checked."""
        current = getattr(self, section)
        updated = replace(current, **changes)
        _check_section(section, updated)
        return replace(self, **{section: updated})


def _fmt(value: object) -> str:
    if isinstance(value, str):
        return f'"{value}"'
    if isinstance(value, bool):
        return "true" if value else "false"
    return repr(value)


def _allowed(values: tuple) -> str:
    return "one of " + ", ".join(_fmt(v) for v in values)


def _bad(key: str, value: object, expected: str) -> ConfigError:
    return ConfigError(f"{key} = {_fmt(value)}: expected {expected}")


# Per key: (python type(s), check(value) -> error text or None).
_Check = Callable[[Any], "str | None"]


def _one_of(values: tuple) -> _Check:
    return lambda v: None if v in values else _allowed(values)


def _int_range(lo: int, hi: int) -> _Check:
    return lambda v: None if lo <= v <= hi else f"an integer from {lo} to {hi}"


def _float_range(lo: float, hi: float, *, open_low: bool = False) -> _Check:
    def check(v: float) -> str | None:
        ok = math.isfinite(v) and (v > lo if open_low else v >= lo) and v <= hi
        if ok:
            return None
        return f"a number {'>' if open_low else '>='} {lo:g} and <= {hi:g}"

    return check


def _known_view(v: str) -> str | None:
    # The views table imports OpenCV: only a config that names a view pays for it.
    from app.views import view_names

    names = view_names()
    return None if v in names else _allowed(names)


def _non_empty(v: str) -> str | None:
    return None if v.strip() else "a non-empty string"


def _screen_text(v: str) -> str | None:
    if not v:
        return None
    try:
        parse_size(v)
    except ConfigError:
        return 'WIDTHxHEIGHT from 16x16 to 4096x4096, e.g. "1920x1080", or "" for automatic'
    return None


def _nothing(_: object) -> str | None:
    return None


_SECTIONS: dict[str, dict[str, tuple[type | tuple[type, ...], _Check]]] = {
    "source": {
        "spec": (str, _non_empty),
        "width": (int, _int_range(16, 4096)),
        "height": (int, _int_range(16, 4096)),
        "fps": ((int, float), _float_range(0.0, 240.0, open_low=True)),
        "seed": (int, _int_range(0, 2**31 - 1)),
        "loop": (bool, _nothing),
    },
    "display": {
        "spec": (str, _non_empty),
        "fallback": (str, _one_of(FALLBACK_DISPLAYS)),
        "screen": (str, _screen_text),
    },
    "web": {
        "host": (str, _non_empty),
        "port": (int, _int_range(0, 65535)),
    },
    "controls": {
        "terminal": (bool, _nothing),
        "evdev": (bool, _nothing),
    },
    "ui": {
        "language": (str, _one_of(UI_LANGUAGES)),
    },
    "model": {
        "path": (str, _nothing),
        "backend": (str, _one_of(MODEL_BACKENDS)),
    },
    "snapshot": {
        "directory": (str, _non_empty),
    },
    "logging": {
        "level": (str, _one_of(LOG_LEVELS)),
    },
    "faults": {
        "retry_initial_s": ((int, float), _float_range(0.0, 60.0, open_low=True)),
        "retry_max_s": ((int, float), _float_range(0.0, 600.0, open_low=True)),
        "stage_max_consecutive": (int, _int_range(1, 100000)),
        "stage_max_failure_ratio": ((int, float), _float_range(0.0, 1.0, open_low=True)),
        "stage_window": (int, _int_range(1, 100000)),
        "log_interval_s": ((int, float), _float_range(0.0, 3600.0)),
    },
    "view": {
        "view": (str, _known_view),
        "kernel": (str, lambda v: None if _KERNEL_NAME.match(v) else "a kernel name"),
        "stride": (int, _one_of(STRIDES)),
        "padding": (str, _one_of(PADDINGS)),
        "activation": (str, _one_of(ACTIVATIONS)),
        "operation": (str, _one_of(OPERATIONS)),
        "pool_mode": (str, _one_of(POOL_MODES)),
        "pool_size": (int, _one_of(POOL_SIZES)),
        "roi_cx": ((int, float), _float_range(0.0, 1.0)),
        "roi_cy": ((int, float), _float_range(0.0, 1.0)),
        "roi_size": ((int, float), _float_range(0.05, 1.0)),
        "frozen": (bool, _nothing),
        "numpy_reference": (bool, _nothing),
        "show_help": (bool, _nothing),
    },
}

_CLASSES = {
    "source": SourceConfig,
    "display": DisplayConfig,
    "web": WebConfig,
    "controls": ControlsConfig,
    "ui": UiConfig,
    "model": ModelConfig,
    "snapshot": SnapshotConfig,
    "logging": LoggingConfig,
    "faults": FaultsConfig,
}
_TOP_LEVEL = (*_SECTIONS, "kernels", "stages")
_TYPE_NAMES = {str: "a string", int: "an integer", bool: "true or false", float: "a number"}


def _check_value(key: str, value: Any, kinds: type | tuple[type, ...], check: _Check) -> Any:
    kinds_t = kinds if isinstance(kinds, tuple) else (kinds,)
    # bool is an int in Python; TOML keeps them apart and so do we.
    if isinstance(value, bool) and bool not in kinds_t:
        raise _bad(key, value, _TYPE_NAMES[kinds_t[-1]])
    if not isinstance(value, kinds_t):
        raise _bad(key, value, _TYPE_NAMES[kinds_t[-1]])
    problem = check(value)
    if problem is not None:
        raise _bad(key, value, problem)
    return float(value) if float in kinds_t else value


def _parse_table(section: str, raw: object) -> dict[str, Any]:
    if not isinstance(raw, dict):
        raise _bad(f"[{section}]", raw, "a table")
    spec = _SECTIONS[section]
    values = {}
    for key, value in raw.items():
        if key not in spec:
            raise ConfigError(f"[{section}] {key}: unknown key; expected one of {', '.join(spec)}")
        kinds, check = spec[key]
        values[key] = _check_value(f"[{section}] {key}", value, kinds, check)
    return values


def _check_section(section: str, obj: object) -> None:
    """Re-check a section object built from overrides (same rules as the file)."""
    if section == "view":
        assert isinstance(obj, ViewState)
        flat = _view_to_flat(obj)
    else:
        flat = {f.name: getattr(obj, f.name) for f in fields(obj)}  # type: ignore[arg-type]
    for key, value in flat.items():
        kinds, check = _SECTIONS[section][key]
        _check_value(f"[{section}] {key}", value, kinds, check)
    _check_cross(section, obj)


def _check_cross(section: str, obj: object) -> None:
    if isinstance(obj, FaultsConfig) and obj.retry_max_s < obj.retry_initial_s:
        raise _bad(
            "[faults] retry_max_s", obj.retry_max_s, f">= retry_initial_s ({obj.retry_initial_s:g})"
        )


def _view_to_flat(state: ViewState) -> dict[str, Any]:
    return {
        "view": state.view,
        "kernel": state.kernel,
        "stride": state.stride,
        "padding": state.padding,
        "activation": state.activation,
        "operation": state.operation,
        "pool_mode": state.pool_mode,
        "pool_size": state.pool_size,
        "roi_cx": state.roi.cx,
        "roi_cy": state.roi.cy,
        "roi_size": state.roi.size,
        "frozen": state.frozen,
        "numpy_reference": state.numpy_reference,
        "show_help": state.show_help,
    }


def _view_state(values: Mapping[str, Any]) -> ViewState:
    base = ViewState()
    roi = Roi(
        cx=values.get("roi_cx", base.roi.cx),
        cy=values.get("roi_cy", base.roi.cy),
        size=values.get("roi_size", base.roi.size),
    )
    plain = {k: v for k, v in values.items() if not k.startswith("roi_")}
    return base.with_changes(roi=roi, **plain)


def _parse_kernels(raw: object) -> dict[str, tuple[tuple[float, ...], ...]]:
    if not isinstance(raw, dict):
        raise _bad("[kernels]", raw, "a table")
    for key in raw:
        if key != "custom":
            raise ConfigError(f"[kernels] {key}: unknown key; expected custom")
    custom = raw.get("custom", {})
    if not isinstance(custom, dict):
        raise _bad("[kernels.custom]", custom, "a table of name = [[row], [row], ...]")
    kernels = {}
    for name, rows in custom.items():
        key = f"[kernels.custom] {name}"
        if not _KERNEL_NAME.match(name):
            raise ConfigError(f"{key}: bad name; expected lower-case letters, digits and _")
        shape_text = (
            "a square, odd-sized matrix of numbers from 1x1 to 15x15, e.g. [[0, 1, 0], ...]"
        )
        if not isinstance(rows, list) or not rows or not all(isinstance(r, list) for r in rows):
            raise _bad(key, rows, shape_text)
        n = len(rows)
        if n % 2 == 0 or n > 15 or any(len(r) != n for r in rows):
            raise _bad(key, rows, shape_text)
        matrix = []
        for row in rows:
            for v in row:
                if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
                    raise _bad(key, rows, "finite numbers only")
            matrix.append(tuple(float(v) for v in row))
        kernels[name] = tuple(matrix)
    return kernels


def _parse_stages(raw: object) -> dict[str, Mapping[str, Any]]:
    if not isinstance(raw, dict):
        raise _bad("[stages]", raw, "a table of [stages.NAME] sections")
    stages = {}
    for name, params in raw.items():
        if name not in STAGE_NAMES:
            raise ConfigError(
                f"[stages.{name}]: unknown stage; expected one of {', '.join(STAGE_NAMES)}"
            )
        if not isinstance(params, dict):
            raise _bad(f"[stages.{name}]", params, "a table")
        stages[name] = MappingProxyType(dict(params))
    return stages


def config_from_dict(raw: Mapping[str, Any]) -> Config:
    """Build a Config from parsed TOML (a dict of sections); raise ConfigError on any bad key."""
    changes: dict[str, Any] = {}
    for section, value in raw.items():
        if section not in _TOP_LEVEL:
            raise ConfigError(
                f"[{section}]: unknown section; expected one of {', '.join(_TOP_LEVEL)}"
            )
        if section == "kernels":
            changes["custom_kernels"] = MappingProxyType(_parse_kernels(value))
        elif section == "stages":
            changes["stages"] = MappingProxyType(_parse_stages(value))
        elif section == "view":
            changes["view"] = _view_state(_parse_table(section, value))
        else:
            obj = _CLASSES[section](**_parse_table(section, value))
            _check_cross(section, obj)
            changes[section] = obj
    return Config(**changes)


def load_config(path: str | Path | None) -> Config:
    """Read a TOML config file; ``None`` gives the defaults.

    Raises:
        ConfigError: the file is missing or unreadable, not TOML, or has an unknown
            key or a bad value (the message names the file, key, value and what is allowed).
    """
    if path is None:
        return Config()
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read config file ({exc.strerror or exc})") from exc
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML ({exc})") from exc
    try:
        return config_from_dict(raw)
    except ConfigError as exc:
        raise ConfigError(f"{path}: {exc}") from exc


def parse_size(text: str, what: str = "--size") -> tuple[int, int]:
    """``"640x480"`` -> (640, 480); raise ConfigError naming ``what`` for anything else."""
    match = re.fullmatch(r"\s*(\d{2,4})\s*[xX]\s*(\d{2,4})\s*", text)
    if not match:
        raise ConfigError(f"{what} {text!r}: expected WIDTHxHEIGHT, e.g. 640x480")
    width, height = int(match.group(1)), int(match.group(2))
    if not (16 <= width <= 4096 and 16 <= height <= 4096):
        raise ConfigError(f"{what} {text!r}: width and height must be from 16 to 4096")
    return width, height


def check_kernel_name(config: Config, known: tuple[str, ...] | list[str]) -> None:
    """Raise ConfigError unless ``[view] kernel`` is one of ``known`` (presets + custom)."""
    if config.view.kernel not in known:
        raise _bad("[view] kernel", config.view.kernel, _allowed(tuple(known)))
