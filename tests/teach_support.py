"""Helpers for the teach view's tests: a source that shows chosen pictures in the ROI, a
loop with a teacher, and fine-tuned model folders made from the shipped files."""

from __future__ import annotations

import json
import time
from pathlib import Path

import cv2
import numpy as np

from app.config import Config, config_from_dict
from app.controls.actions import ActionQueue
from app.frame import Frame
from app.learn.collector import CollectQuota
from app.learn.models import configured_choice
from app.learn.teacher import Teacher, TeachSettings
from app.loop import CaptureLoop, LoopOptions
from app.sources.base import Source
from app.stages.pipeline import build_pipeline
from app.state import ViewState
from tests.loop_fakes import RecordingDisplay
from training import model_store

REPO = Path(__file__).resolve().parents[1]
FRAME = (640, 480)
#: The side a picture is drawn at in the middle of the frame: inside the ROI's search
#: square (0.45 of 480 px, plus 10 % each side), so its own paper surrounds the digit.
PICTURE_SIDE = 240


class PictureSource(Source):
    """Frames showing ``pictures[shown]`` in the middle, its paper's edge repeated around it
    (no seam for the ink search to find); ``shown`` is changed by the test."""

    description = "pictures"

    def __init__(self, pictures: list[np.ndarray]) -> None:
        self.frames = [_frame_of(p) for p in pictures]
        self.shown = 0
        self.seq = 0
        self.is_open = False

    def open(self) -> None:
        self.is_open = True

    def read(self) -> Frame | None:
        gray = self.frames[self.shown]
        self.seq += 1
        return Frame(cv2.cvtColor(gray, cv2.COLOR_GRAY2BGR), gray, self.seq, time.monotonic())

    def close(self) -> None:
        self.is_open = False


def _frame_of(picture: np.ndarray) -> np.ndarray:
    big = cv2.resize(picture, (PICTURE_SIDE, PICTURE_SIDE), interpolation=cv2.INTER_AREA)
    w, h = FRAME
    top, left = (h - PICTURE_SIDE) // 2, (w - PICTURE_SIDE) // 2
    return cv2.copyMakeBorder(
        big, top, h - PICTURE_SIDE - top, left, w - PICTURE_SIDE - left, cv2.BORDER_REPLICATE
    )


def numpy_config() -> Config:
    return config_from_dict({"model": {"backend": "numpy"}})


def make_teacher(tmp_path: Path, config: Config | None = None, **settings) -> Teacher:
    config = config or numpy_config()
    learn = TeachSettings(
        collect_dir=tmp_path / "collection",
        model_dir=tmp_path / "models",
        quota=settings.pop("quota", CollectQuota(min_interval=0.0)),
        **settings,
    )
    return Teacher(config, learn, configured_choice(config), source_name=lambda: "test pictures")


def make_loop(
    source: Source, teacher: Teacher, queue: ActionQueue, view: str = "teach"
) -> tuple[CaptureLoop, RecordingDisplay]:
    display = RecordingDisplay()
    loop = CaptureLoop(
        source, display, build_pipeline(teacher.config), state=ViewState(view=view),
        actions=queue, options=LoopOptions(teacher=teacher),
    )  # fmt: skip
    return loop, display


def step(loop: CaptureLoop, frames: int = 1) -> None:
    """Process ``frames`` more frames."""
    loop.run(max_frames=loop.result.frames + frames)


def install_shipped_copy(model_dir: Path, scores: dict[str, float] | None = None) -> Path:
    """A "fine-tuned" model folder holding the shipped files and a card, made current."""
    files = {
        name: (REPO / "models" / name).read_bytes()
        for name in (
            "lenet.npz", "lenet_float32.tflite", "lenet_int8.tflite",
            "lenet_metrics.json", "lenet_top_patches.npz",
        )
    }  # fmt: skip
    card = {"base_model": "lenet.npz", **(scores or {"before": 0.5, "after": 0.8})}
    files["model_card.json"] = json.dumps(card).encode()
    return model_store.install(model_dir, files)
