"""The teach view in the live loop: the digit keys save samples, the fine-tune runs in the
background, a finished model is swapped in between frames, r goes back to the shipped one,
and the app starts on the current fine-tuned model when it loads."""

from __future__ import annotations

import json
import logging
import sys
import textwrap
import time

import cv2
import numpy as np
import pytest

from app.controls.actions import ActionQueue
from app.learn.models import configured_choice, start_choice
from app.learn.results import DONE, FAILED, STOPPED
from app.learn.teacher import ACTIONS
from app.sources.demo import load_demo_digits
from app.views import find_view
from tests import new_writer
from tests.teach_support import (
    PictureSource,
    install_shipped_copy,
    make_loop,
    make_teacher,
    numpy_config,
    step,
)
from training import model_store


def demo_crops(count: int = 4) -> tuple[list[np.ndarray], list[int]]:
    """Camera-like grey crops of the bundled demo digits, and their labels."""
    images, labels = load_demo_digits()
    rng = np.random.default_rng(0)
    crops = [
        new_writer.camera_crop(cv2.resize(image, (new_writer.SIZE, new_writer.SIZE)), rng)
        for image in images[:count]
    ]
    return crops, [int(label) for label in labels[:count]]


def blank_paper() -> np.ndarray:
    return np.full((200, 200), 205, np.uint8)


def fake_finetune(body: str) -> list[str]:
    prelude = "import json, signal, sys, time\nfrom pathlib import Path\n"
    prelude += "def say(**event):\n    print(json.dumps(event), flush=True)\n"
    return [sys.executable, "-c", prelude + textwrap.dedent(body)]


def wait_for(condition, loop, timeout: float = 60.0) -> None:
    """Run frames until ``condition()`` holds."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        step(loop)
        time.sleep(0.01)


def test_the_teach_views_actions_are_the_teachers():
    assert set(find_view("teach").actions) == ACTIONS


def test_digit_keys_save_the_roi_digit_in_the_teach_view_and_switch_views_elsewhere(tmp_path):
    crops, labels = demo_crops(2)
    source = PictureSource(crops)
    teacher = make_teacher(tmp_path)
    queue = ActionQueue()
    loop, display = make_loop(source, teacher, queue)
    step(loop)
    queue.put_key(str(labels[0]))
    step(loop)
    assert loop.state.view == "teach"
    assert teacher.collector.counts()[labels[0]] == 1
    sample = teacher.collector.samples[-1]
    crop = cv2.imread(str(tmp_path / "collection" / sample.file), cv2.IMREAD_GRAYSCALE)
    assert crop is not None and crop.shape[0] > 200  # the ROI and its margin, as read
    tensor = cv2.imread(str(tmp_path / "collection" / sample.tensor), cv2.IMREAD_GRAYSCALE)
    expected = np.clip(loop.last_results.digit.tensor * 255 + 0.5, 0, 255).astype(np.uint8)
    assert np.array_equal(tensor, expected)
    assert sample.source == "test pictures"
    step(loop)  # the note shows from the next frame on
    assert display.statuses[-1].message == f"saved as {labels[0]} (1 of them)"
    # One key typed after Tab: it means what it means in the view it lands in.
    source.shown = 1
    queue.put_key("Tab")
    queue.put_key("3")
    step(loop)
    assert loop.state.view == "why" and sum(teacher.collector.counts()) == 1
    queue.put_key("e")
    queue.put_key(str(labels[1]))
    queue.put_key(str(labels[1]), repeat=True)  # a held key saves one sample
    step(loop)
    assert loop.state.view == "teach" and sum(teacher.collector.counts()) == 2
    queue.put_key("Backspace")
    queue.put_key("Escape")
    step(loop)
    assert sum(teacher.collector.counts()) == 1 and loop.state.view == "camera"
    assert teacher.result().recent[0][0] == labels[0]
    teacher.close()


def test_a_label_without_a_digit_saves_nothing_and_says_why(tmp_path):
    teacher = make_teacher(tmp_path)
    queue = ActionQueue()
    loop, display = make_loop(PictureSource([blank_paper()]), teacher, queue)
    queue.put_key("4")
    step(loop, 2)
    assert sum(teacher.collector.counts()) == 0
    assert not (tmp_path / "collection").exists()
    assert "not saved: no digit in the square (no ink)" in [s.message for s in display.statuses]
    queue.put_key("Enter")
    step(loop, 2)
    assert display.statuses[-1].message.startswith("collect at least 10 samples first")
    assert teacher.job is None


def collect(loop, source, queue, labels, times: int) -> None:
    for _ in range(times):
        for i, label in enumerate(labels):
            source.shown = i
            queue.put_key(str(label))
            step(loop)


INSTALLS = """
    from training import model_store
    models = Path(sys.argv[1]) if len(sys.argv) > 1 else None
    say(event="start", samples=12, held_back=4, before=0.25, mnist_before=0.995, epochs=2)
    for e in (1, 2):
        say(event="epoch", epoch=e, epochs=2, loss=0.5 / e, held_back_accuracy=0.5 + e / 4)
    repo = Path({repo!r})
    files = {{n: (repo / "models" / n).read_bytes()
             for n in ("lenet.npz", "lenet_float32.tflite", "lenet_int8.tflite")}}
    files["model_card.json"] = json.dumps({{"before": 0.25, "after": 1.0}}).encode()
    folder = model_store.install(Path({models!r}), files)
    say(samples=12, held_back=4, before=0.25, after=1.0, mnist_before=0.995,
        mnist_after=0.995, installed=True, model=str(folder))
"""


def test_a_finished_fine_tune_is_swapped_in_between_frames_and_r_goes_back(tmp_path, monkeypatch):
    from tests.teach_support import REPO

    crops, labels = demo_crops(4)
    source = PictureSource(crops)
    teacher = make_teacher(tmp_path)
    queue = ActionQueue()
    loop, display = make_loop(source, teacher, queue)
    collect(loop, source, queue, labels, times=3)
    assert sum(teacher.collector.counts()) == 12
    body = INSTALLS.format(repo=str(REPO), models=str(tmp_path / "models"))
    monkeypatch.setattr(teacher, "command", lambda: fake_finetune(body))
    shipped_pipeline = loop.pipeline
    queue.put_key("Enter")
    wait_for(lambda: teacher.model.finetuned, loop)
    progress = teacher.result().progress
    assert progress.state == DONE and progress.held_back == (0.75, 1.0)
    current = model_store.current_model(tmp_path / "models")
    assert teacher.model.name == current.name and teacher.model.scores["after"] == 1.0
    assert loop.pipeline is not shipped_pipeline
    digit_stage = next(s for s in loop.pipeline.stages if s.name == "digit")
    network_stage = next(s for s in loop.pipeline.stages if s.name == "network")
    assert current.name in digit_stage.classifier.description or network_stage.folder == current
    assert network_stage.folder == current
    step(loop)
    assert display.statuses[-1].model == current.name
    messages = [s.message for s in display.statuses]
    assert any(m.startswith("fine-tune done: held back 25% → 100%") for m in messages)
    assert any(m.startswith(f"now using the fine-tuned model {current.name}") for m in messages)
    # r: back to the shipped model, the link removed, the folder kept.
    queue.put_key("r")
    wait_for(lambda: not teacher.model.finetuned, loop)
    assert model_store.current_model(tmp_path / "models") is None and current.is_dir()
    step(loop)
    assert display.statuses[-1].model == "shipped"
    teacher.close()


def test_a_failed_or_stopped_fine_tune_keeps_the_model_and_says_why(tmp_path, monkeypatch):
    crops, labels = demo_crops(4)
    source = PictureSource(crops)
    teacher = make_teacher(tmp_path)
    queue = ActionQueue()
    loop, display = make_loop(source, teacher, queue)
    collect(loop, source, queue, labels, times=3)
    pipeline = loop.pipeline
    failing = fake_finetune("""
        print("convlens finetune: error: the int8 model reads MNIST at 98.00%, more than 0.5 "
              "points below the shipped 99.50%; not installed", file=sys.stderr)
        sys.exit(1)
    """)
    monkeypatch.setattr(teacher, "command", lambda: failing)
    queue.put_key("Enter")
    wait_for(lambda: teacher.result().progress.state == FAILED, loop)
    step(loop, 2)  # the frame that learns of the end, then the one that shows the note
    assert teacher.result().progress.reason.startswith("the int8 model reads MNIST at 98.00%")
    print("MSGS", [s.message for s in display.statuses][-12:])
    assert any(s.message.startswith("fine-tune failed: the int8 model") for s in display.statuses)
    assert loop.pipeline is pipeline and not teacher.model.finetuned
    slow = fake_finetune("""
        say(event="start", samples=12, held_back=4, before=0.25, mnist_before=0.99, epochs=9)
        time.sleep(60)
    """)
    monkeypatch.setattr(teacher, "command", lambda: slow)
    queue.put_key("Enter")
    wait_for(lambda: teacher.result().progress.epochs == 9, loop)
    queue.put_key("Enter")
    wait_for(lambda: teacher.result().progress.state == STOPPED, loop)
    assert loop.pipeline is pipeline and model_store.current_model(tmp_path / "models") is None
    teacher.close()


def test_the_app_starts_on_the_current_fine_tuned_model_when_it_loads(tmp_path, caplog):
    config = numpy_config()
    models = tmp_path / "models"
    with caplog.at_level(logging.INFO, logger="app.learn.models"):
        assert start_choice(config, models) == configured_choice(config)
    assert "no fine-tuned model" in caplog.text
    folder = install_shipped_copy(models, {"before": 0.4, "after": 0.9, "mnist_after": 0.99})
    choice = start_choice(config, models)
    assert choice.name == folder.name and choice.path.parent == folder.resolve()
    assert choice.scores == {"before": 0.4, "after": 0.9, "mnist_after": 0.99}
    (folder / "lenet.npz").write_bytes(b"half a model")
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="app.learn.models"):
        assert start_choice(config, models) == configured_choice(config)
    assert "which does not load" in caplog.text and len(caplog.records) == 1


def test_tflite_config_picks_the_same_kind_of_file_in_the_fine_tuned_folder(tmp_path):
    pytest.importorskip("ai_edge_litert")
    from app.config import config_from_dict

    folder = install_shipped_copy(tmp_path)
    int8 = config_from_dict({"model": {"path": "models/lenet_int8.tflite"}})
    assert start_choice(int8, tmp_path).path.name == "lenet_int8.tflite"
    assert start_choice(config_from_dict({}), tmp_path).path == folder.resolve() / (
        "lenet_float32.tflite"
    )
    assert json.loads((folder / "model_card.json").read_text())["after"] == 0.8
