"""Config checks that need the machine, made once at start: a problem here is a config error.

``load_config`` checks types and ranges; these look further, before the loop starts:
the ``[source]`` and ``[display]`` specs must name a known source and display, a
``file:`` or ``images:`` source must be able to deliver frames (a typo in a path is
not a camera fault to retry for ever), and a ``[web] host`` name must resolve. An
absent or busy camera stays what the loop retries. Each message names where the value
came from (the file and key, or the command-line flag) and what was expected.
"""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass

from app.config import Config
from app.errors import ConfigError, DisplayError, SourceError, one_line

#: Sources whose failure at start is a config error: they name a path, not a device.
PATH_SOURCES = ("file:", "images:")


@dataclass(frozen=True)
class Origins:
    """Where each checked value came from: ``"--source"`` or ``"config.toml: [source] spec"``."""

    source: str = "[source] spec"
    display: str = "[display] spec"
    host: str = "[web] host"

    @classmethod
    def of(cls, config_path: object, flags: dict[str, bool]) -> Origins:
        """``flags`` says which of source, display, host were given on the command line."""
        prefix = f"{config_path}: " if config_path else ""
        return cls(
            source="--source" if flags.get("source") else f"{prefix}[source] spec",
            display="--display" if flags.get("display") else f"{prefix}[display] spec",
            host="--host" if flags.get("host") else f"{prefix}[web] host",
        )


def check_at_start(config: Config, origins: Origins = Origins()) -> None:
    """Raise ``ConfigError`` (one line) when the source, display or web host cannot work."""
    _check_source(config, origins.source)
    _check_display(config, origins.display)
    _check_host(config, origins.host)


def _check_source(config: Config, where: str) -> None:
    from app.sources.factory import make_source

    spec = config.source.spec
    src = config.source
    try:
        source = make_source(
            spec, size=src.size, fps=src.fps, seed=src.seed, loop=src.loop, realtime=False
        )
    except SourceError as exc:
        raise ConfigError(f"{where} = {spec!r:.80}: {one_line(exc)}") from exc
    if not spec.strip().lower().startswith(PATH_SOURCES):
        return  # cameras and the demo: the loop opens them and retries a missing camera
    try:
        source.open()
        if source.read() is None:
            raise SourceError(f"{spec}: gives no frame")
    except SourceError as exc:
        raise ConfigError(f"{where} = {spec!r:.80}: {one_line(exc)}") from exc
    finally:
        source.close()


def _check_display(config: Config, where: str) -> None:
    from app.display.factory import make_display

    spec = config.display.spec
    if spec.strip().lower() == "auto":
        return  # chosen at start from the hardware, always one that exists
    try:
        make_display(spec, port=0)
    except DisplayError as exc:
        raise ConfigError(f"{where} = {spec!r:.80}: {one_line(exc)}") from exc


def _check_host(config: Config, where: str) -> None:
    uses_web = {config.display.spec.strip().lower(), config.display.fallback} & {"web", "auto"}
    host = config.web.host
    if not uses_web or not host:
        return
    try:
        ipaddress.ip_address(host)
        return
    except ValueError:
        pass  # a name: ask the resolver, as binding will
    try:
        socket.getaddrinfo(host, config.web.port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise ConfigError(
            f"{where} = {host!r:.80}: cannot be resolved ({one_line(exc)}); expected an IP "
            "address (0.0.0.0 for every interface, 127.0.0.1 for this machine only) or a "
            "name of this machine"
        ) from exc
