"""The pacer of the demo, image folders and video files, on a clock the test moves."""

from __future__ import annotations

import itertools

import pytest

from app.sources.base import Pacer

INTERVAL = 0.1  # 10 fps


class Clock:
    """Monotonic seconds that move only when slept on (by ``overshoot`` more than asked,
    as a real sleep does) or when the test says the reader was busy."""

    def __init__(self, overshoot: float = 0.0) -> None:
        self.now = 50.0
        self.overshoot = overshoot

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        assert seconds > 0
        self.now += seconds + self.overshoot


def given_at(clock: Clock, pacer: Pacer, busy: list[float]) -> list[float]:
    """When each frame is given: the reader works ``busy[k]`` seconds after frame k."""
    times = []
    for work in busy:
        pacer.wait()
        times.append(clock.now)
        clock.now += work
    return times


def gaps(times: list[float]) -> list[float]:
    return [round(b - a, 9) for a, b in itertools.pairwise(times)]


def test_a_quick_reader_gets_frames_on_a_grid_that_the_sleeps_overshoot_does_not_move():
    clock = Clock(overshoot=0.004)
    pacer = Pacer(1 / INTERVAL, clock=clock, sleep=clock.sleep)
    pacer.restart()
    start = clock.now
    times = given_at(clock, pacer, [0.01] * 6)
    assert times[0] == start  # the first frame at once
    # Each due one interval after the last was due; only one sleep's overshoot is seen.
    assert [round(t - start, 9) for t in times] == [0.0, 0.104, 0.204, 0.304, 0.404, 0.504]


@pytest.mark.parametrize("stall", [0.03, 0.1, 0.25, 2.0])
def test_a_stalled_reader_gets_the_late_frame_at_once_and_the_next_a_whole_interval_later(stall):
    clock = Clock()
    pacer = Pacer(1 / INTERVAL, clock=clock, sleep=clock.sleep)
    pacer.restart()
    # Frame 1 is read INTERVAL + stall after frame 0: late by ``stall``.
    times = given_at(clock, pacer, [INTERVAL + stall, 0.0, 0.0, 0.0, 0.0])
    assert gaps(times) == [INTERVAL + stall, INTERVAL, INTERVAL, INTERVAL]  # no burst


def test_a_stall_between_open_and_the_first_read_is_no_reason_for_a_burst():
    clock = Clock()
    pacer = Pacer(1 / INTERVAL, clock=clock, sleep=clock.sleep)
    pacer.restart()
    clock.now += 0.35  # the machine was busy elsewhere
    start = clock.now
    times = given_at(clock, pacer, [0.0] * 5)
    assert times[0] == start and gaps(times) == [INTERVAL] * 4


def test_a_reader_slower_than_the_rate_is_never_made_to_wait():
    clock = Clock()
    slept = []
    pacer = Pacer(1 / INTERVAL, clock=clock, sleep=slept.append)
    pacer.restart()
    given_at(clock, pacer, [0.15] * 5)
    assert slept == []
