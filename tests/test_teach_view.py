"""The teach view on a projector, in both languages: the real loop and stages on the demo
scene, a teacher in the middle of a fine-tune (fixed figures, so the picture is too)."""

from __future__ import annotations

import numpy as np
import pytest

from app.config import config_from_dict
from app.controls.actions import ActionQueue, key_legend
from app.display.compose import compose
from app.learn.results import RUNNING, FinetuneProgress, TeachResult
from app.loop import CaptureLoop, LoopOptions
from app.sources.demo import DemoSource, load_demo_digits
from app.stages.pipeline import build_pipeline
from app.state import ViewState
from tests.goldens import check_golden
from tests.loop_fakes import RecordingDisplay
from tests.test_pipeline_golden import FRAMES, LANGUAGE_SCREENS, SteppingClock


class FixedTeacher:
    """A teacher whose state is fixed: 12 of 40 epochs done, a fine-tuned model in use."""

    class Model:
        name = "finetuned-20261130T150412Z"
        finetuned = True

    model = Model()

    def __init__(self) -> None:
        images, labels = load_demo_digits()
        epochs = np.arange(1, 13)
        self.teach = TeachResult(
            counts=(21, 20, 19, 22, 18, 20, 25, 20, 3, 0),
            folder="/var/lib/convlens/collection",
            recent=tuple((int(labels[i]), images[i]) for i in range(8)),
            progress=FinetuneProgress(
                state=RUNNING,
                epoch=12,
                epochs=40,
                seconds=31.0,
                samples=168,
                held_back_count=42,
                before=0.55,
                mnist_before=0.995,
                losses=tuple(float(v) for v in 0.9 * np.exp(-epochs / 5) + 0.1),
                held_back=tuple(float(v) for v in 0.55 + 0.25 * (1 - np.exp(-epochs / 4))),
            ),
            model="finetuned-20261130T150412Z",
            model_scores={"before": 0.58, "after": 0.78, "mnist_after": 0.9927},
        )

    def handles(self, action: str) -> bool:
        return False

    def result(self) -> TeachResult:
        return self.teach

    def after_frame(self, actions, results):
        return None, []


def run_teach(lang: str, teacher: object, help_on: bool = False) -> tuple[CaptureLoop, np.ndarray]:
    config = config_from_dict({"model": {"backend": "numpy"}})
    display = RecordingDisplay()
    options = LoopOptions(clock=SteppingClock(), screen=LANGUAGE_SCREENS[lang], teacher=teacher)
    state = ViewState(view="teach", language=lang, show_help=help_on)
    source = DemoSource(size=(640, 480), seed=0, realtime=False)
    loop = CaptureLoop(source, display, build_pipeline(config), state=state,
                       actions=ActionQueue(), options=options)  # fmt: skip
    loop.run(max_frames=FRAMES)
    return loop, compose(display.last_frame.array, display.last_overlay)


@pytest.mark.parametrize("lang", sorted(LANGUAGE_SCREENS))
def test_the_teach_view_during_a_fine_tune_matches_its_golden(lang):
    loop, picture = run_teach(lang, FixedTeacher())
    assert loop.last_results.teach is not None
    assert loop.last_results.digit.prediction is not None
    check_golden(f"teach_finetune_{lang}", picture)


def test_the_teach_views_help_lists_its_own_keys():
    legend = dict(key_legend("teach"))
    assert legend["0-9"] == "label the digit in the square"
    assert legend["Backspace"] == "undo the last sample"
    assert legend["Escape"] == "camera view" and "1" not in legend
    assert dict(key_legend())["1"] == "camera view"
