"""Where fine-tuned models live: one folder per model and an atomically switched ``current`` link.

Layout of a model directory::

    MODEL_DIR/
      finetuned-20261130T150412Z/   lenet.npz, lenet_float32.tflite, lenet_int8.tflite,
                                    model_card.json (the same names as the shipped models)
      current -> finetuned-20261130T150412Z

A new model is written into a hidden staging folder, flushed to disk, renamed to its
final name (atomic), and only then is ``current`` re-pointed, by renaming a new link
over the old one (atomic too). A fine-tune that fails or is interrupted at any point
leaves ``current`` and every finished model as they were; a staging folder left by a
killed process is removed by the next ``install``. ``revert`` removes the link: the
app then uses the shipped models. The shipped ``models/`` files are never written.
"""

from __future__ import annotations

import logging
import os
import shutil
import time
from collections.abc import Mapping
from pathlib import Path

log = logging.getLogger(__name__)

CURRENT = "current"
PREFIX = "finetuned-"
STAGING_PREFIX = ".staging-"
#: Finished models kept besides the current one (older ones are removed).
KEEP = 3


def default_model_dir() -> Path:
    """The service's state directory's ``models`` folder, else a per-user one.

    ``$STATE_DIRECTORY`` (systemd sets it for the service: /var/lib/convlens), else
    /var/lib/convlens when it exists and is writable, else
    ``$XDG_STATE_HOME/convlens`` (``~/.local/state/convlens``); ``/models`` below it.
    """
    state = os.environ.get("STATE_DIRECTORY", "").split(":")[0]
    if state:
        return Path(state) / "models"
    service = Path("/var/lib/convlens")
    if service.is_dir() and os.access(service, os.W_OK):
        return service / "models"
    xdg = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(xdg) / "convlens" / "models"


def current_model(model_dir: Path) -> Path | None:
    """The folder of the model in use, or None (no fine-tuned model, or reverted)."""
    link = Path(model_dir) / CURRENT
    if not link.is_symlink():
        return None
    target = link.resolve()
    return target if target.is_dir() else None


def install(model_dir: Path, files: Mapping[str, bytes], stamp: str | None = None) -> Path:
    """Write ``files`` (name -> contents) as a new model folder and make it current.

    Returns:
        the new model's folder.
    Raises:
        OSError: the directory cannot be written; nothing is installed then.
    """
    model_dir = Path(model_dir)
    model_dir.mkdir(parents=True, exist_ok=True)
    remove_stale_staging(model_dir)
    stamp = stamp or time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    final = _unique(model_dir / f"{PREFIX}{stamp}")
    staging = model_dir / f"{STAGING_PREFIX}{final.name}.{os.getpid()}"
    try:
        staging.mkdir()
        for name, data in files.items():
            with open(staging / name, "wb") as f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
        _fsync_dir(staging)
        staging.rename(final)
        point_current(model_dir, final)
    except BaseException:  # interrupted too: remove what was written, then re-raise
        shutil.rmtree(staging, ignore_errors=True)
        raise
    prune(model_dir)
    return final


def point_current(model_dir: Path, target: Path) -> None:
    """Re-point ``model_dir/current`` to ``target`` (a folder inside it) atomically."""
    link = model_dir / CURRENT
    tmp = model_dir / f"{STAGING_PREFIX}{CURRENT}.{os.getpid()}"
    tmp.unlink(missing_ok=True)
    tmp.symlink_to(target.name)  # relative: the directory can move
    tmp.replace(link)
    _fsync_dir(model_dir)


def revert(model_dir: Path) -> bool:
    """Stop using fine-tuned models (the shipped ones apply again); True if one was current."""
    link = Path(model_dir) / CURRENT
    if not link.is_symlink():
        return False
    link.unlink()
    _fsync_dir(Path(model_dir))
    return True


def prune(model_dir: Path, keep: int = KEEP) -> None:
    """Remove all but the newest ``keep`` finished models, never the current one."""
    current = current_model(model_dir)
    folders = sorted(p for p in Path(model_dir).glob(f"{PREFIX}*") if p.is_dir())
    for old in folders[:-keep] if keep > 0 else folders:
        if current is None or old.resolve() != current:
            shutil.rmtree(old, ignore_errors=True)


def remove_stale_staging(model_dir: Path) -> None:
    """Remove staging folders and links left by processes that no longer run."""
    for path in Path(model_dir).glob(f"{STAGING_PREFIX}*"):
        pid = path.name.rsplit(".", 1)[-1]
        if pid.isdigit() and _alive(int(pid)):
            continue
        log.info("removing %s, left by an interrupted fine-tune", path)
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)


def _unique(path: Path) -> Path:
    candidate, n = path, 1
    while candidate.exists():
        n += 1
        candidate = path.with_name(f"{path.name}-{n}")
    return candidate


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _fsync_dir(path: Path) -> None:
    """Flush a directory's entries (renames) to disk; a no-op where unsupported."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
