"""A new web viewer's first picture is fresh (app/display/web_frames.py): nothing is encoded
while nobody watches, so the newest JPEG may be from before a quiet spell. It goes out at
once only when under FRESH_S old; otherwise the viewer gets the next frame, and the old
one only when the loop has stalled (none within FIRST_WAIT_S)."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator

import cv2
import numpy as np
import pytest

from app.display import web_frames
from app.display.web import WebViewer
from app.display.web_frames import FrameHub
from tests.waiting import wait_for
from tests.web_support import W, make_frame, read_mjpeg


@pytest.fixture
def web_viewer() -> Iterator[WebViewer]:
    display = WebViewer("127.0.0.1", 0)
    display.open()
    try:
        yield display
    finally:
        display.close()


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_a_fresh_jpeg_goes_out_at_once():
    clock = FakeClock()
    hub = FrameHub(clock)
    hub.publish(3, b"fresh")
    clock.now += web_frames.FRESH_S * 0.9

    async def first():
        return await asyncio.wait_for(hub.first(), 0.05)

    assert asyncio.run(first()) == (3, b"fresh")


def test_a_stale_jpeg_waits_for_the_next_frame():
    clock = FakeClock()
    hub = FrameHub(clock)
    hub.publish(3, b"from before the quiet spell")
    clock.now += web_frames.FRESH_S + 5

    async def first():
        waiting = asyncio.create_task(hub.first())
        await asyncio.sleep(0.05)
        assert not waiting.done()  # the old picture was not sent
        hub.publish(4, b"now")
        return await waiting

    assert asyncio.run(first()) == (4, b"now")


def test_a_stalled_loop_gives_the_old_jpeg_after_the_wait(monkeypatch):
    monkeypatch.setattr(web_frames, "FIRST_WAIT_S", 0.2)
    clock = FakeClock()
    hub = FrameHub(clock)
    hub.publish(3, b"old")
    clock.now += 60

    async def first():
        started = time.monotonic()
        got = await hub.first()
        return got, time.monotonic() - started

    got, waited = asyncio.run(first())
    assert got == (3, b"old") and waited >= 0.19


def test_no_jpeg_yet_and_none_coming_is_none(monkeypatch):
    monkeypatch.setattr(web_frames, "FIRST_WAIT_S", 0.05)
    assert asyncio.run(FrameHub(FakeClock()).first()) is None


def _grey(jpeg: bytes) -> float:
    """The grey of make_frame's right half: 10 x its seq."""
    picture = cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_COLOR)
    return float(picture[:, W // 2 :, 0].mean())


def test_a_viewer_after_a_quiet_spell_sees_the_loop_of_now(web_viewer):
    web = web_viewer
    first_viewer: list[bytes] = []
    watching = threading.Thread(target=lambda: first_viewer.extend(read_mjpeg(web, 1)))
    watching.start()
    assert wait_for(lambda: web.stream_clients == 1)
    web.show(*make_frame(1))  # grey 10, encoded for the viewer
    watching.join()
    assert _grey(first_viewer[0]) < 30
    assert wait_for(lambda: web.stream_clients == 0)
    time.sleep(web_frames.FRESH_S + 0.2)  # nobody watches; the loop goes on

    stop = threading.Event()

    def loop() -> None:
        while not stop.is_set():
            web.show(*make_frame(20))  # grey 200: what the loop shows now
            stop.wait(0.01)

    running = threading.Thread(target=loop)
    running.start()
    try:
        (jpeg,) = read_mjpeg(web, 1)
    finally:
        stop.set()
        running.join()
    assert _grey(jpeg) > 170
