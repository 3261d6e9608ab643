"""Test doubles for hardware libraries; put this folder first on ``sys.path`` to use them.

``tests/fakes/picamera2`` is importable as ``picamera2``. In a test module::

    @pytest.fixture
    def fake(monkeypatch):
        with use_fake_picamera2(monkeypatch) as control:
            yield control  # control is picamera2._fake: control.state holds the hooks
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import ModuleType

import pytest

FAKES_DIR = Path(__file__).resolve().parent


def _drop_cached(prefix: str) -> None:
    for name in [m for m in sys.modules if m == prefix or m.startswith(prefix + ".")]:
        del sys.modules[name]


@contextmanager
def use_fake_picamera2(monkeypatch: pytest.MonkeyPatch) -> Iterator[ModuleType]:
    """Make ``import picamera2`` load the fake, reset; yield its control module ``picamera2._fake``.

    Afterwards the fake's modules are dropped from ``sys.modules`` so no other test sees
    them (``monkeypatch`` restores ``sys.path`` itself).
    """
    monkeypatch.syspath_prepend(str(FAKES_DIR))
    _drop_cached("picamera2")
    control = importlib.import_module("picamera2._fake")
    control.reset()
    try:
        yield control
    finally:
        control.reset()
        _drop_cached("picamera2")


def without_picamera2(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make ``import picamera2`` raise ImportError, as on a machine without the library."""
    _drop_cached("picamera2")
    monkeypatch.setitem(sys.modules, "picamera2", None)
