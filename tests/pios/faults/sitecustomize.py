"""A fault for the arm64 test bed (tests/pios/checks.sh), loaded by the service through
PYTHONPATH: the next ``PIOS_CAMERA_OPEN_FAILURES`` calls of ``Picamera2()`` raise the
PermissionError that real picamera2 lets escape when ``/dev/dma_heap`` cannot be opened,
through the fake's own fault hook (``state.open_errors``, tests/fakes/picamera2/_fake.py),
which also keeps the camera acquired afterwards, as the real library does."""

import os

_FAILURES = int(os.environ.get("PIOS_CAMERA_OPEN_FAILURES", "0") or 0)

if _FAILURES:
    from picamera2 import _fake

    _fake.state.open_errors.extend(
        PermissionError(13, "Permission denied", "/dev/dma_heap/vidbuf_cached")
        for _ in range(_FAILURES)
    )
