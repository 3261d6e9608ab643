"""The loop with the real picamera2 source on the fake library: a camera that stops
delivering mid-run, refuses to reopen twice, then comes back; and none at start."""

from __future__ import annotations

import threading

import pytest

from app.config import FaultsConfig
from app.loop import CaptureLoop
from app.sources.picamera2_source import Picamera2Source
from tests.fakes import use_fake_picamera2
from tests.loop_fakes import FakeNotifier, RecordingDisplay

FAST = FaultsConfig(retry_initial_s=0.01, retry_max_s=0.05, log_interval_s=0.0)


@pytest.fixture
def fake(monkeypatch):
    with use_fake_picamera2(monkeypatch) as control:
        yield control


def factory() -> Picamera2Source:
    return Picamera2Source(size=(320, 240), capture_timeout=0.05)


def test_camera_lost_mid_run_comes_back_and_is_released_at_the_end(fake) -> None:
    fake.state.fail_after_frames = 10
    fake.state.recover_after_attempts = 2
    display = RecordingDisplay()
    notifier = FakeNotifier()
    loop = CaptureLoop(factory, display, [], faults=FAST, notifier=notifier)
    result = loop.run(max_frames=25)
    assert result.frames == 25
    assert result.source_failures == 1
    messages = [s["message"] for s in display.statuses if s["message"]]
    assert any("camera lost" in m for m in messages)
    assert any("no camera" in m for m in messages)  # the two refused reopenings
    assert display.statuses[-1]["message"] == ""
    assert fake.state.acquired == set()  # the camera was released
    assert sum(1 for name, _ in notifier.events if name == "watchdog") > 25


def test_no_camera_at_all_keeps_serving_the_waiting_screen(fake) -> None:
    fake.state.cameras = []
    display = RecordingDisplay()
    loop = CaptureLoop(factory, display, [], faults=FAST, size=(320, 240))
    timer = threading.Timer(0.5, loop.stop)
    timer.start()
    result = loop.run()
    timer.join()
    assert result.frames == 0 and len(display.shown) >= 2
    assert display.last_frame.array.shape == (240, 320, 3)
    assert "no camera" in display.statuses[-1]["message"]
