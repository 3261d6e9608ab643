"""Give freed heap memory back to the system now and then, so a long run stays flat."""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
from collections.abc import Callable

log = logging.getLogger(__name__)

#: Frames between trims: 10 s at 30 fps. One trim costs about 1 ms here.
TRIM_EVERY_FRAMES = 300


def glibc_malloc_trim() -> Callable[[], object] | None:
    """glibc's ``malloc_trim(0)`` as a no-argument callable, or None off glibc.

    Why: every frame allocates and frees arrays of tens to hundreds of kilobytes.
    glibc raises its mmap threshold after such frees, so later arrays come from the
    heap, and the freed holes between live blocks stay resident: a 50,000-frame soak
    grew by 8 MB without a single leaked object (tracemalloc showed 3.6 MB of live
    Python memory, steady). ``malloc_trim`` returns those free pages.
    """
    name = ctypes.util.find_library("c")
    if name is None:
        return None
    try:
        libc = ctypes.CDLL(name)
        trim = libc.malloc_trim
    except (OSError, AttributeError):  # musl, macOS: no malloc_trim
        return None
    trim.argtypes = [ctypes.c_size_t]
    trim.restype = ctypes.c_int
    return lambda: trim(0)


class HeapTrimmer:
    """Call ``tick()`` once per frame; every ``every`` frames it trims the heap."""

    def __init__(
        self,
        every: int = TRIM_EVERY_FRAMES,
        trim: Callable[[], object] | None = None,
    ) -> None:
        self.every = every
        self._trim = trim if trim is not None else glibc_malloc_trim()
        self._frames = 0
        self.trims = 0

    def tick(self) -> None:
        """Count a frame; trim when the interval is reached (a no-op without glibc)."""
        self._frames += 1
        if self._trim is None or self._frames < self.every:
            return
        self._frames = 0
        self.trims += 1
        self._trim()
