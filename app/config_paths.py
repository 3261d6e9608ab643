"""Refuse, at start, config paths this process cannot reach: the service's sandbox hides /home.

The systemd unit runs convlens with ``ProtectHome=yes`` (``/home``, ``/root`` and
``/run/user`` are empty, inaccessible folders for it) and ``ProtectSystem=strict`` (all
of the file system read-only except ``/var/lib/convlens``). A model, video or image
folder under ``/home`` would otherwise fail later as "does not exist", which is false
and sends the user looking in the wrong place; a snapshot folder on a read-only mount
would fail only when someone presses the snapshot key. Each such setting is checked
once, before anything opens, and gives one line naming the setting, the folder that
is out of reach and the places that work.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

from app.config import Config
from app.errors import ConfigError

#: Folders ProtectHome=yes hides from the service.
HOME_FOLDERS = (Path("/home"), Path("/root"), Path("/run/user"))
SERVICE_READS = "/opt/convlens, /etc/convlens, /var/lib/convlens (anywhere but /home, /root)"
SERVICE_WRITES = "/var/lib/convlens (where relative paths land)"

Access = Callable[[Path, int], bool]


def _access(path: Path, mode: int) -> bool:
    return os.access(path, mode)


def config_paths(config: Config) -> Iterator[tuple[str, str, bool]]:
    """(setting, path, needs write) for every file or folder the config names."""
    if config.model.path:
        yield "[model] path", config.model.path, False
    kind, _, arg = config.source.spec.strip().partition(":")
    if kind in ("file", "images") and arg:
        yield "[source] spec", arg, False
    if config.snapshot.directory:
        yield "[snapshot] directory", config.snapshot.directory, True
    for key, write in (("collect_dir", True), ("model_dir", True), ("mnist_dir", False)):
        if getattr(config.learn, key):
            yield f"[learn] {key}", getattr(config.learn, key), write


def _unreachable_folder(path: Path, access: Access) -> Path | None:
    """The first folder on the way to ``path`` this process may not enter, if any."""
    for folder in reversed(path.parents):
        try:
            if not folder.is_dir():
                return None  # missing: the code that opens it says so
        except OSError:
            return folder
        if not access(folder, os.X_OK):
            return folder
    return None


def _nearest_existing(path: Path) -> Path:
    for candidate in (path, *path.parents):
        if candidate.exists():
            return candidate
    return Path("/")


def check_config_paths(config: Config, *, access: Access | None = None) -> None:
    """Raise ConfigError for the first path the config names that this process cannot use.

    Relative paths count from the working directory (``/var/lib/convlens`` under the
    service). ``access`` defaults to ``os.access``; tests pass a stand-in.
    """
    access = access or _access
    cwd = Path.cwd()
    for setting, text, write in config_paths(config):
        path = cwd / Path(text).expanduser()
        blocked = _unreachable_folder(path, access)
        if blocked is not None:
            # /home itself is enterable on any normal system: only a sandbox hides it.
            why = (
                "hidden by the service's ProtectHome=yes"
                if blocked in HOME_FOLDERS
                else "no permission"
            )
            places = SERVICE_WRITES if write else SERVICE_READS
            raise ConfigError(
                f"{setting} {text!r}: cannot enter {blocked} ({why}); use a path under {places}"
            )
        if write:
            existing = _nearest_existing(path)
            if not access(existing, os.W_OK):
                raise ConfigError(
                    f"{setting} {text!r}: {existing} is not writable here; "
                    f"the convlens service writes only under {SERVICE_WRITES}"
                )
