"""One typed configuration, read from a TOML file, with one-line errors for bad keys and values.

Every setting is declared once, as a dataclass field with its default and its rule
(``app.settings.setting``); the sections, their keys and their checks all come from
those fields.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from types import MappingProxyType
from typing import Any

from app.errors import ConfigError
from app.settings import (
    allowed,
    bad,
    flat_values,
    float_range,
    from_flat,
    int_range,
    non_empty,
    one_of,
    rules,
    setting,
)
from app.stages.kernel_specs import check_kernel
from app.state import ViewState

LOG_LEVELS = ("debug", "info", "warning", "error")
FALLBACK_DISPLAYS = ("web", "null", "none")
#: ``[ui] language``: "auto" follows the environment's locale (``app.i18n``).
UI_LANGUAGES = ("auto", "es", "en")


def _screen_text(v: str) -> str | None:
    if not v:
        return None
    try:
        parse_size(v)
    except ConfigError:
        return 'WIDTHxHEIGHT from 16x16 to 4096x4096, e.g. "1920x1080", or "" for automatic'
    return None


def _known_backend(v: str) -> str | None:
    # The runtimes are listed once, with the TFLite runner; importing it costs NumPy,
    # so only a config that names a backend pays for it.
    from app.classifier import BACKENDS

    return None if v in BACKENDS else allowed(BACKENDS)


@dataclass(frozen=True)
class SourceConfig:
    """``[source]``: where frames come from."""

    spec: str = setting("auto", str, non_empty)
    width: int = setting(640, int, int_range(16, 4096))
    height: int = setting(480, int, int_range(16, 4096))
    fps: float = setting(30.0, (int, float), float_range(0.0, 240.0, open_low=True))
    seed: int = setting(0, int, int_range(0, 2**31 - 1))
    loop: bool = setting(True, bool)

    @property
    def size(self) -> tuple[int, int]:
        """(width, height) in pixels."""
        return (self.width, self.height)


@dataclass(frozen=True)
class DisplayConfig:
    """``[display]``: where the picture goes, and what to use when that fails to open."""

    spec: str = setting("auto", str, non_empty)
    fallback: str = setting("web", str, one_of(FALLBACK_DISPLAYS))
    #: "WxH": draw the overlay at this resolution (the projector's); "": the display's
    #: own, else the camera frame's.
    screen: str = setting("", str, _screen_text)

    @property
    def screen_size(self) -> tuple[int, int] | None:
        """``screen`` as (width, height), or None."""
        return parse_size(self.screen, "[display] screen") if self.screen else None


@dataclass(frozen=True)
class WebConfig:
    """``[web]``: the browser viewer's address."""

    host: str = setting("127.0.0.1", str, non_empty)
    port: int = setting(8000, int, int_range(0, 65535))


@dataclass(frozen=True)
class ControlsConfig:
    """``[controls]``: which key inputs to start (each is skipped when unavailable)."""

    terminal: bool = setting(True, bool)
    evdev: bool = setting(True, bool)


@dataclass(frozen=True)
class UiConfig:
    """``[ui]``: the language on screen and on the web page ("auto": the locale's)."""

    language: str = setting("auto", str, one_of(UI_LANGUAGES))


@dataclass(frozen=True)
class ModelConfig:
    """``[model]``: the digit classifier file (empty = the shipped model) and runtime."""

    path: str = setting("", str)
    backend: str = setting("auto", str, _known_backend)


@dataclass(frozen=True)
class SnapshotConfig:
    """``[snapshot]``: where snapshot folders are written."""

    directory: str = setting("snapshots", str, non_empty)


@dataclass(frozen=True)
class LearnConfig:
    """``[learn]``: the teach view's collection and fine-tunes. An empty folder is the
    service's state directory's (``$STATE_DIRECTORY``, else /var/lib/convlens when
    writable, else ~/.local/state/convlens): ``collection/``, ``models/``, ``mnist/``."""

    collect_dir: str = setting("", str)
    model_dir: str = setting("", str)
    #: The MNIST files the fine-tune mixes in and checks against ("" : ``mnist/`` in the
    #: state directory when it is there, else ``$CONVLENS_MNIST_DIR`` or the checkout's).
    mnist_dir: str = setting("", str)
    epochs: int = setting(40, int, int_range(1, 1000))


@dataclass(frozen=True)
class LoggingConfig:
    """``[logging]``: the log level."""

    level: str = setting("info", str, one_of(LOG_LEVELS))


@dataclass(frozen=True)
class FaultsConfig:
    """``[faults]``: camera retry back-off and when a failing stage is switched off."""

    retry_initial_s: float = setting(0.5, (int, float), float_range(0.0, 60.0, open_low=True))
    retry_max_s: float = setting(8.0, (int, float), float_range(0.0, 600.0, open_low=True))
    stage_max_consecutive: int = setting(20, int, int_range(1, 100000))
    stage_max_failure_ratio: float = setting(
        0.5, (int, float), float_range(0.0, 1.0, open_low=True)
    )
    stage_window: int = setting(100, int, int_range(1, 100000))
    log_interval_s: float = setting(10.0, (int, float), float_range(0.0, 3600.0))

    def __post_init__(self) -> None:
        if self.retry_max_s < self.retry_initial_s:
            raise bad(
                "[faults] retry_max_s",
                self.retry_max_s,
                f">= retry_initial_s ({self.retry_initial_s:g})",
            )


#: The ``[section]`` tables of plain settings, and the dataclass each becomes.
SECTIONS: dict[str, type] = {
    "source": SourceConfig,
    "display": DisplayConfig,
    "web": WebConfig,
    "controls": ControlsConfig,
    "ui": UiConfig,
    "model": ModelConfig,
    "snapshot": SnapshotConfig,
    "learn": LearnConfig,
    "logging": LoggingConfig,
    "faults": FaultsConfig,
    "view": ViewState,
}
_TOP_LEVEL = (*SECTIONS, "kernels", "stages")


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
    learn: LearnConfig = field(default_factory=LearnConfig)
    logging: LoggingConfig = field(default_factory=LoggingConfig)
    faults: FaultsConfig = field(default_factory=FaultsConfig)

    def with_section(self, section: str, **changes: Any) -> Config:
        """A copy with fields of one section replaced (command-line overrides), re-checked."""
        updated = replace(getattr(self, section), **changes)
        values = flat_values(updated)
        for key, rule in rules(SECTIONS[section]).items():
            rule.apply(f"[{section}] {key}", values[key])
        return replace(self, **{section: updated})


def _parse_section(section: str, raw: object) -> Any:
    if not isinstance(raw, dict):
        raise bad(f"[{section}]", raw, "a table")
    section_rules = rules(SECTIONS[section])
    values = {}
    for key, value in raw.items():
        if key not in section_rules:
            expected = ", ".join(section_rules)
            raise ConfigError(f"[{section}] {key}: unknown key; expected one of {expected}")
        values[key] = section_rules[key].apply(f"[{section}] {key}", value)
    return from_flat(SECTIONS[section], values)


def _parse_kernels(raw: object) -> dict[str, tuple[tuple[float, ...], ...]]:
    if not isinstance(raw, dict):
        raise bad("[kernels]", raw, "a table")
    for key in raw:
        if key != "custom":
            raise ConfigError(f"[kernels] {key}: unknown key; expected custom")
    custom = raw.get("custom", {})
    if not isinstance(custom, dict):
        raise bad("[kernels.custom]", custom, "a table of name = [[row], [row], ...]")
    return {name: check_kernel(name, rows) for name, rows in custom.items()}


def _parse_stages(raw: object) -> dict[str, Mapping[str, Any]]:
    # The pipeline imports every stage (OpenCV, the network): only a config with
    # [stages.NAME] sections pays for it here; each stage checks its own keys later.
    from app.stages.pipeline import STAGE_ORDER

    if not isinstance(raw, dict):
        raise bad("[stages]", raw, "a table of [stages.NAME] sections")
    stages = {}
    for name, params in raw.items():
        if name not in STAGE_ORDER:
            raise ConfigError(
                f"[stages.{name}]: unknown stage; expected one of {', '.join(STAGE_ORDER)}"
            )
        if not isinstance(params, dict):
            raise bad(f"[stages.{name}]", params, "a table")
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
        else:
            changes[section] = _parse_section(section, value)
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
        data = path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read config file ({exc.strerror or exc})") from exc
    text = _decode_config(data, path)
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML ({exc})") from exc
    except RecursionError as exc:
        raise ConfigError(f"{path}: arrays or tables nest too deeply; not a config") from exc
    try:
        return config_from_dict(raw)
    except ConfigError as exc:
        raise ConfigError(f"{path}: {exc}") from exc
    except RecursionError as exc:
        raise ConfigError(f"{path}: values nest too deeply; not a convlens config") from exc


def _decode_config(data: bytes, path: Path) -> str:
    """The file as text: TOML is UTF-8 (a UTF-8 byte-order mark is tolerated)."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise ConfigError(f"{path}: saved as UTF-16; expected UTF-8 text (save it as UTF-8)")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise ConfigError(
            f"{path}: line {line}: byte 0x{data[exc.start]:02x} is not UTF-8; "
            "expected UTF-8 text (save it as UTF-8)"
        ) from exc


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
        raise bad("[view] kernel", config.view.kernel, allowed(tuple(known)))
