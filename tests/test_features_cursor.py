"""The features view follows the digit of a number under a cursor (its second mode): the
arrows move the cursor along the digits, the maps and the 28x28 input are that digit's."""

from __future__ import annotations

import numpy as np

from app.config import config_from_dict
from app.controls.actions import ActionQueue
from app.frame import Frame
from app.loop import CaptureLoop
from app.stages.pipeline import build_pipeline
from app.state import Roi, ViewState
from app.views import stages_for
from app.views.base import Canvas
from app.views.draw import CYAN
from app.views.number_cursor import number_card
from tests.loop_fakes import RecordingDisplay
from tests.test_bench_steps import PaperSource
from tests.test_number_stage import small_number_frame

CONFIG = config_from_dict({"model": {"backend": "numpy"}})


class KeysAt(PaperSource):
    """The sheet every frame; before frame ``n`` is read, the keys ``script[n]`` are pressed."""

    def __init__(self, frame: Frame, queue: ActionQueue, script: dict[int, list[str]]) -> None:
        super().__init__(frame)
        self.queue, self.script = queue, script

    def read(self) -> Frame:
        for action in self.script.get(self.seq, []):
            self.queue.put(action)
        return super().read()


def run_features(script: dict[int, list[str]], frames: int, mode: int = 1) -> CaptureLoop:
    queue = ActionQueue()
    state = ViewState(view="features", mode=mode, roi=Roi(0.5, 0.5, 0.6))
    display = RecordingDisplay()
    display.open()
    source = KeysAt(small_number_frame(60), queue, script)
    loop = CaptureLoop(source, display, build_pipeline(CONFIG), state=state, actions=queue)
    loop.run(max_frames=frames)
    return loop


def test_the_number_stage_runs_only_in_the_number_mode():
    assert "number" not in stages_for("features", 0)
    assert "number" in stages_for("features", 1)
    loop = run_features({}, 3, mode=0)
    assert loop.last_results.number is None
    assert loop.last_results.features.number_index is None  # the digit stage's digit


def test_the_arrows_move_the_cursor_and_the_maps_follow_it():
    loop = run_features({4: ["roi_right"], 6: ["roi_right", "roi_right", "roi_right"]}, 5)
    results = loop.last_results
    assert [d.digit for d in results.number.digits] == [4, 0, 7]
    assert loop.state.probe_x == 1 and loop.state.roi == Roi(0.5, 0.5, 0.6)  # ROI stays
    features = results.features
    assert features.number_index == 1
    zero = np.rint(results.number.digits[1].tensor * 255)
    assert np.abs(features.tensor_image.astype(int) - zero).max() <= 1  # the 0's input
    assert not np.array_equal(features.tensor_image, results.digit.tensor * 255)

    loop = run_features({4: ["roi_right"], 6: ["roi_right", "roi_right", "roi_right"]}, 8)
    assert loop.state.probe_x == 2 and loop.last_results.features.number_index == 2
    assert "no digit further that way" in loop.board.message("")


def test_the_card_frames_the_digit_under_the_cursor():
    loop = run_features({}, 4)
    number = loop.last_results.number
    canvas = Canvas((640, 480))
    cyan_columns = []
    for index in (0, 2):
        layer = np.zeros((480, 640, 4), np.uint8)
        height = number_card(canvas, layer, number, index, (10, 20), 150)
        assert height == number_card(canvas, None, number, index, (10, 20), 150)
        cyan = np.all(layer[..., :3] == CYAN, axis=-1) & (layer[..., 3] == 255)
        ys, xs = np.nonzero(cyan)
        assert ys.size and ys.min() >= 20 and ys.max() < 20 + height
        cyan_columns.append(xs.mean())
    assert cyan_columns[1] > cyan_columns[0] + 40  # the frame moved right with the cursor
