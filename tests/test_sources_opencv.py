"""Video files and live devices through OpenCV (devices through a fake VideoCapture)."""

from __future__ import annotations

import queue
import threading
import time

import cv2
import numpy as np
import pytest

from app.errors import SourceError
from app.sources.opencv_source import DeviceSource, VideoFileSource

FILE_FRAMES = 8


@pytest.fixture
def clip(tmp_path):
    """An MJPG .avi of 8 frames, 160x120 at 50 fps; frame i is flat grey 20 + 25 * i."""
    path = tmp_path / "clip.avi"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 50.0, (160, 120))
    assert writer.isOpened()
    for i in range(FILE_FRAMES):
        writer.write(np.full((120, 160, 3), 20 + 25 * i, np.uint8))
    writer.release()
    return path


def brightness(frame) -> int:
    return round(float(frame.gray.mean()) / 25.0 - 0.8)


def test_file_loops_by_default(clip):
    source = VideoFileSource(clip, realtime=False)
    source.open()
    try:
        frames = [source.read() for _ in range(2 * FILE_FRAMES + 3)]
    finally:
        source.close()
    assert [brightness(f) for f in frames] == [i % FILE_FRAMES for i in range(len(frames))]
    assert [f.seq for f in frames] == list(range(len(frames)))
    assert source.fps == pytest.approx(50.0)
    frame = frames[0]
    assert frame.array.shape == (480, 640, 3) and frame.array.dtype == np.uint8
    np.testing.assert_array_equal(frame.gray, cv2.cvtColor(frame.array, cv2.COLOR_BGR2GRAY))


def test_file_without_loop_ends_with_none(clip):
    source = VideoFileSource(clip, loop=False, realtime=False)
    source.open()
    try:
        frames = [source.read() for _ in range(FILE_FRAMES)]
        assert all(f is not None for f in frames)
        assert source.read() is None
        assert source.read() is None
    finally:
        source.close()


def test_file_is_letterboxed_to_the_configured_size(tmp_path):
    path = tmp_path / "wide.avi"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 25.0, (320, 120))
    for _ in range(3):
        writer.write(np.full((120, 320, 3), 200, np.uint8))
    writer.release()
    source = VideoFileSource(path, realtime=False, size=(640, 480))
    source.open()
    try:
        frame = source.read()
    finally:
        source.close()
    assert frame.array.shape == (480, 640, 3)
    # 320x120 scaled by 2 is 640x240: black bars of 120 rows above and below.
    assert frame.gray[:110].max() < 10 and frame.gray[-110:].max() < 10
    assert frame.gray[130:350].min() > 180


def test_file_is_paced_to_its_frame_rate(clip):
    source = VideoFileSource(clip, realtime=True)
    source.open()
    try:
        start = time.monotonic()
        for _ in range(6):
            source.read()
        elapsed = time.monotonic() - start
    finally:
        source.close()
    # 50 fps: six frames span at least five frame intervals (a lower bound only).
    assert elapsed >= 5 / 50 - 0.005


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("notes.txt", b"not a video", "cannot decode"),
        ("broken.mp4", b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 64, "cannot decode"),
        ("photo.png", None, "a photo, not a video"),
    ],
)
def test_bad_files_name_the_path(tmp_path, name, content, message):
    path = tmp_path / name
    if content is None:
        cv2.imwrite(str(path), np.zeros((8, 8, 3), np.uint8))
    else:
        path.write_bytes(content)
    with pytest.raises(SourceError, match=message) as info:
        VideoFileSource(path).open()
    assert str(path) in str(info.value) and "\n" not in str(info.value)


def test_missing_file_names_the_path(tmp_path):
    with pytest.raises(SourceError, match="no such file") as info:
        VideoFileSource(tmp_path / "nope.mp4").open()
    assert "nope.mp4" in str(info.value)


class FakeCapture:
    """Stands in for cv2.VideoCapture on a live camera: ``read`` blocks until the test
    ``push``es a picture (up to 50 ms, then a failed read, as a stalled camera does)."""

    def __init__(self, opened: bool = True, fail_always: bool = False):
        self.opened = opened
        self.fail_always = fail_always
        self.pictures: queue.Queue[np.ndarray] = queue.Queue()
        self.consumed = 0
        self.settings: dict[int, float] = {}
        self.released = False
        self.read_threads: set[str] = set()

    def push(self, value: int) -> None:
        self.pictures.put(np.full((480, 640, 3), value, np.uint8))

    def isOpened(self) -> bool:  # noqa: N802 - OpenCV's name
        return self.opened

    def set(self, prop: int, value: float) -> bool:
        self.settings[prop] = value
        return True

    def read(self):
        self.read_threads.add(threading.current_thread().name)
        if self.fail_always:
            return False, None
        try:
            picture = self.pictures.get(timeout=0.05)
        except queue.Empty:
            return False, None
        self.consumed += 1
        return True, picture

    def release(self) -> None:
        self.released = True


def wait_until(condition, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not reached"
        time.sleep(0.002)


def test_device_read_returns_the_newest_frame_and_never_queues():
    capture = FakeCapture()
    source = DeviceSource(0, read_timeout=0.1, capture_factory=lambda device: capture)
    source.open()
    try:
        for value in range(5):
            capture.push(value)
        wait_until(lambda: capture.consumed == 5)
        frame = source.read()
        assert frame.seq == 4 and frame.array[0, 0, 0] == 4  # 0-3 were skipped, not queued
        with pytest.raises(SourceError, match="no frame within"):
            source.read()  # nothing newer: it does not hand out frame 4 again
        pushed = time.monotonic()
        capture.push(9)
        frame = source.read()
        assert frame.seq == 5 and frame.array[0, 0, 0] == 9
        assert pushed <= frame.timestamp <= time.monotonic()  # stamped when grabbed
    finally:
        source.close()
    assert capture.read_threads == {"grab-usb:0"}
    assert capture.released
    assert not any(t.name == "grab-usb:0" for t in threading.enumerate())


def test_device_is_asked_for_size_rate_and_a_short_buffer():
    capture = FakeCapture()
    source = DeviceSource(
        "/dev/video7", size=(320, 240), fps=15.0, capture_factory=lambda d: capture
    )
    source.open()
    source.close()
    assert capture.settings[cv2.CAP_PROP_FRAME_WIDTH] == 320
    assert capture.settings[cv2.CAP_PROP_FRAME_HEIGHT] == 240
    assert capture.settings[cv2.CAP_PROP_FPS] == 15.0
    assert capture.settings[cv2.CAP_PROP_BUFFERSIZE] == 1


def test_device_that_does_not_open_names_itself():
    with pytest.raises(SourceError, match="usb:3: cannot open"):
        DeviceSource(3, capture_factory=lambda d: FakeCapture(opened=False)).open()


def test_device_that_stops_delivering_raises_source_error():
    capture = FakeCapture(fail_always=True)
    source = DeviceSource(1, read_timeout=3.0, capture_factory=lambda d: capture)
    source.open()
    try:
        with pytest.raises(SourceError, match="stopped delivering"):
            source.read()
    finally:
        source.close()
    assert capture.released


def test_device_reopens_and_seq_keeps_increasing():
    captures = []

    def factory(device):
        captures.append(FakeCapture())
        return captures[-1]

    source = DeviceSource(0, read_timeout=1.0, capture_factory=factory)
    source.open()
    captures[-1].push(1)
    first = source.read()
    source.close()
    source.open()
    try:
        captures[-1].push(2)
        second = source.read()
    finally:
        source.close()
    assert second.seq > first.seq and second.array[0, 0, 0] == 2


def test_device_read_before_open():
    with pytest.raises(SourceError, match="read before open"):
        DeviceSource(0).read()
