"""What ``[source] fps`` / ``--fps`` paces, as config.example.toml and the flag's help say:
the demo and images: sources at that rate, a video file at its own rate whatever is asked."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from app.cli import main
from app.sources.factory import make_source


class StoppedClock:
    """Stands in for the ``time`` module of ``app.sources.base``: sleeping advances it."""

    def __init__(self) -> None:
        self.now, self.slept = 100.0, []

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


@pytest.fixture
def clock(monkeypatch):
    clock = StoppedClock()
    monkeypatch.setattr("app.sources.base.time", clock)
    return clock


def paced_interval(spec: str, fps: float, clock: StoppedClock, frames: int = 6) -> float:
    """The median wait between frames of the source ``spec`` opened with ``fps``."""
    source = make_source(spec, size=(160, 120), fps=fps, realtime=True)
    source.open()
    try:
        for _ in range(frames):
            assert source.read() is not None
    finally:
        source.close()
    return float(np.median(clock.slept))


@pytest.fixture
def clip(tmp_path):
    """A 50 fps MJPG .avi of 8 frames."""
    path = tmp_path / "clip.avi"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 50.0, (160, 120))
    for i in range(8):
        writer.write(np.full((120, 160, 3), 20 + 25 * i, np.uint8))
    writer.release()
    return path


def test_a_video_file_plays_at_its_own_rate_whatever_fps_asks(clip, clock):
    assert paced_interval(f"file:{clip}", 5.0, clock) == pytest.approx(1 / 50)
    clock.slept.clear()
    assert paced_interval(f"file:{clip}", 120.0, clock) == pytest.approx(1 / 50)


def test_the_demo_and_images_are_paced_to_fps(tmp_path, clock):
    assert paced_interval("demo", 12.0, clock) == pytest.approx(1 / 12)
    for i in range(3):
        cv2.imwrite(str(tmp_path / f"{i}.png"), np.full((60, 80, 3), 80 * i, np.uint8))
    clock.slept.clear()
    assert paced_interval(f"images:{tmp_path}", 4.0, clock) == pytest.approx(1 / 4)


def test_the_fps_flag_says_so(capsys):
    with pytest.raises(SystemExit):
        main(["run", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "the pace of demo and images: sources (a video file plays at its own rate)" in text
