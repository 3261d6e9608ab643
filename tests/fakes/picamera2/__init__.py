"""A faithful fake of the picamera2 library for tests (import it as ``picamera2``).

Made from reading raspberrypi/picamera2 at commit 3e6dff0 (May 2026). Each piece names
the real file it mirrors:
    picamera2.py        <- picamera2/picamera2.py: Picamera2, Preview
    request.py          <- picamera2/request.py: CompletedRequest, Helpers._make_array_shared
    previews/*.py       <- picamera2/previews/null_preview.py, drm_preview.py
    TimeoutError, CancelledError <- picamera2/__init__.py re-exports concurrent.futures'
    _fake.py            not in the real library: the camera list, fault hooks, records
                        and the synthetic pictures; see its docstring.
"""

from concurrent.futures import CancelledError, TimeoutError

from . import _fake

if _fake.state.import_error is not None:  # fault hook, not in the real library
    raise _fake.state.import_error

from .picamera2 import Picamera2, Preview
from .request import CompletedRequest

__all__ = ["CancelledError", "CompletedRequest", "Picamera2", "Preview", "TimeoutError"]
