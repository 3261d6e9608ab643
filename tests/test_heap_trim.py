"""The heap trimmer trims on its interval, and glibc's malloc_trim is found here."""

import platform

import pytest

from app.heap_trim import HeapTrimmer, glibc_malloc_trim


def test_trims_once_every_interval() -> None:
    calls = []
    trimmer = HeapTrimmer(every=3, trim=lambda: calls.append(1))
    for _ in range(10):
        trimmer.tick()
    assert len(calls) == 3 and trimmer.trims == 3


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="malloc_trim is glibc's")
def test_glibc_malloc_trim_is_callable_here() -> None:
    trim = glibc_malloc_trim()
    assert trim is not None
    assert trim() in (0, 1)  # 1: memory was released, 0: there was none to release
