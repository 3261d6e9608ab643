"""The teach view's actions, carried out for the live loop: collect, fine-tune, swap, go back.

The loop hands over the teach view's actions after each frame (``act``, with that frame's
digit result), asks once per frame whether a new model is ready (``poll``, which returns
the pipeline to use from the next frame on) and draws ``result()``. Nothing here blocks
the loop: the fine-tune is a background process (``app.learn.job``), a new model's
pipeline is built on a worker thread (``app.learn.models``), and a sample is two small
PNG files and a line of CSV.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

import cv2
import numpy as np

from app.config import Config
from app.errors import one_line
from app.i18n import N_, Message
from app.learn.collector import Collector, CollectQuota, SampleRefusedError
from app.learn.job import FinetuneJob
from app.learn.models import (
    ModelChoice,
    PipelineSwap,
    configured_choice,
    finetuned_choice,
    pipeline_for,
)
from app.learn.results import DONE, FAILED, RUNNING, STOPPED, FinetuneProgress, Note, TeachResult
from app.stages.pipeline import Pipeline
from app.stages.results import FrameResults
from training import model_store
from training.collection import CollectionError
from training.finetune import MIN_SAMPLES

log = logging.getLogger(__name__)

#: The teach view's actions: ``label_0`` ... ``label_9`` save the ROI's digit.
LABEL = "label_"
UNDO, FINETUNE, SHIPPED_MODEL = "undo_sample", "toggle_finetune", "use_shipped_model"
ACTIONS = frozenset({*(f"{LABEL}{d}" for d in range(10)), UNDO, FINETUNE, SHIPPED_MODEL})
#: How many of the newest samples the view shows.
RECENT = 8
#: The fine-tune's lower priority (nice, and SCHED_IDLE: only CPU time the loop leaves) and
#: threads: the live loop keeps its cores and its frame rate.
NICE, THREADS = 10, 1


@dataclass(frozen=True)
class TeachSettings:
    """Where the teacher keeps things and how it fine-tunes.

    Attributes:
        collect_dir: the collection folder (``samples.csv`` and the pictures).
        model_dir: where fine-tuned models go (``training.model_store``).
        epochs: fine-tune passes over the samples.
        mnist_dir: the MNIST files' folder for the fine-tune, or None (its default).
        quota: the collection's rate limit and quota.
    """

    collect_dir: Path
    model_dir: Path
    epochs: int = 40
    mnist_dir: Path | None = None
    quota: CollectQuota = field(default_factory=CollectQuota)


def teach_settings(config: Config) -> TeachSettings:
    """The ``[learn]`` settings, empty folders resolved in the state directory (the parent of
    ``training.model_store.default_model_dir``, the rule ``convlens finetune`` uses too)."""
    learn = config.learn
    state = model_store.default_model_dir().parent
    mnist = Path(learn.mnist_dir) if learn.mnist_dir else state / "mnist"
    return TeachSettings(
        collect_dir=Path(learn.collect_dir) if learn.collect_dir else state / "collection",
        model_dir=Path(learn.model_dir) if learn.model_dir else state / "models",
        epochs=learn.epochs,
        mnist_dir=mnist if learn.mnist_dir or mnist.is_dir() else None,
    )


class Teacher:
    """Collects samples, runs the fine-tune, swaps the model in, goes back to the shipped one.

    Args:
        config: the run's configuration (the stages are built from it for a new model).
        settings: folders and the fine-tune's settings.
        model: the model in use at start (``app.learn.models.start_choice``).
        source_name: returns the description of the frames' source (the index's source).
        build: ``build(choice) -> Pipeline`` (default ``pipeline_for`` with ``config``).
    """

    def __init__(
        self,
        config: Config,
        settings: TeachSettings,
        model: ModelChoice,
        source_name: Callable[[], str] = lambda: "",
        build: Callable[[ModelChoice], Pipeline] | None = None,
    ) -> None:
        self.config = config
        self.settings = settings
        self.model = model
        self.source_name = source_name
        self.swap = PipelineSwap(build or partial(pipeline_for, config))
        self.job: FinetuneJob | None = None
        self.note: Note | None = None
        self.problem: str | None = None
        self.collector: Collector | None = None
        try:
            self.collector = Collector(settings.collect_dir, settings.quota)
        except (CollectionError, OSError) as exc:
            self.problem = one_line(exc)
            log.warning("collecting is off: %s", self.problem)
        self._recent = self._read_recent()
        self._handled: FinetuneJob | None = None  # the job whose end was dealt with

    # ---- the loop's side ------------------------------------------------------------

    @staticmethod
    def handles(action: str) -> bool:
        """True for the teach view's own actions."""
        return action in ACTIONS

    def after_frame(
        self, actions: list[str], results: FrameResults
    ) -> tuple[Pipeline | None, list[Message]]:
        """The loop's call after each frame: this view's ``actions`` carried out with the
        frame's ``results``, then ``poll``. Returns the pipeline to use from the next frame
        on (None: keep it) and what to tell the user (each said in the frame's language).
        """
        notes = [self.act(action, results) for action in actions if self.handles(action)]
        pipeline, note = self.poll()
        return pipeline, [Message(n.message, **n.fields) for n in (*notes, note) if n is not None]

    def act(self, action: str, results: FrameResults) -> Note | None:
        """Carry out one action with a frame's results; return what to tell the user."""
        if action.startswith(LABEL):
            self.note = self._save(int(action.removeprefix(LABEL)), results)
        elif action == UNDO:
            self.note = self._undo()
        elif action == FINETUNE:
            self.note = self._stop() if self.running else self._start()
        elif action == SHIPPED_MODEL:
            self.note = self._back_to_shipped()
        return self.note

    def poll(self) -> tuple[Pipeline | None, Note | None]:
        """Once per frame, between frames: the pipeline to use from now on (a new model is
        ready) and a note, each None when there is nothing new."""
        note = self._job_ended()
        swap = self.swap.take()
        if swap is None:
            return None, note
        if swap.pipeline is None:
            self.note = Note(N_("the model {name} does not load: {reason}"),
                             {"name": swap.choice.name, "reason": swap.error or ""})  # fmt: skip
            return None, self.note
        self.model = swap.choice
        log.info("model in use: %s (%s)", swap.choice.name, swap.choice.path)
        if swap.choice.finetuned:
            self.note = Note(
                N_("now using the fine-tuned model {name}"), {"name": swap.choice.name}
            )
        else:
            self.note = Note(N_("now using the shipped model"))
        return swap.pipeline, self.note

    def result(self) -> TeachResult:
        """What the teach view shows now."""
        job = self.job
        collector = self.collector
        return TeachResult(
            counts=collector.counts() if collector is not None else (0,) * 10,
            folder=str(self.settings.collect_dir),
            recent=tuple(self._recent),
            progress=job.progress if job is not None else FinetuneProgress(),
            model=self.model.name,
            model_scores=dict(self.model.scores),
            problem=self.problem,
        )

    @property
    def running(self) -> bool:
        """True while a fine-tune runs."""
        return self.job is not None and self.job.running

    def close(self) -> None:
        """Stop a running fine-tune (nothing is installed) and join every thread."""
        if self.job is not None:
            self.job.stop()
        self.swap.join()

    # ---- actions --------------------------------------------------------------------

    def _save(self, label: int, results: FrameResults) -> Note:
        digit = results.digit
        if self.collector is None:
            return Note(N_("not saved: {reason}"), {"reason": self.problem or ""})
        if digit is None or digit.tensor is None or digit.crop is None:
            reason = (digit.reason if digit is not None else None) or "no ink"
            return Note(N_("not saved: no digit in the square ({reason})"), {"reason": reason})
        try:
            self.collector.add(digit.crop, digit.tensor, label, self.source_name())
        except (SampleRefusedError, ValueError, OSError) as exc:
            log.warning("sample not saved: %s", one_line(exc))
            return Note(N_("not saved: {reason}"), {"reason": one_line(exc)})
        image = np.clip(digit.tensor * 255.0 + 0.5, 0, 255).astype(np.uint8)
        self._recent = [(label, image), *self._recent][:RECENT]
        count = self.collector.counts()[label]
        return Note(N_("saved as {digit} ({count} of them)"), {"digit": label, "count": count})

    def _undo(self) -> Note:
        removed = self.collector.undo() if self.collector is not None else None
        if removed is None:
            return Note(N_("nothing to undo"))
        self._recent = self._read_recent()
        return Note(N_("removed the last sample (a {digit})"), {"digit": removed.label})

    def _start(self) -> Note:
        counts = self.collector.counts() if self.collector is not None else (0,) * 10
        if sum(counts) < MIN_SAMPLES or max(counts) < 2:
            return Note(N_("collect at least {n} samples first, two of one digit ({have} so far)"),
                        {"n": MIN_SAMPLES, "have": sum(counts)})  # fmt: skip
        self.job = FinetuneJob(self.command())
        try:
            self.job.start()
        except OSError as exc:
            return Note(N_("the fine-tune did not start: {reason}"), {"reason": one_line(exc)})
        return Note(N_("fine-tuning on {n} samples: {epochs} epochs"),
                    {"n": sum(counts), "epochs": self.settings.epochs})  # fmt: skip

    def _stop(self) -> Note:
        assert self.job is not None
        self.job.interrupt()
        return Note(N_("stopping the fine-tune: nothing is installed"))

    def _back_to_shipped(self) -> Note:
        try:
            model_store.revert(self.settings.model_dir)
        except OSError as exc:
            return Note(
                N_("cannot go back to the shipped model: {reason}"), {"reason": one_line(exc)}
            )
        if not self.model.finetuned:
            return Note(N_("the shipped model is already in use"))
        if not self.swap.request(configured_choice(self.config)):
            return Note(N_("a model is being loaded; try again in a moment"))
        return Note(N_("going back to the shipped model"))

    # ---- inside -----------------------------------------------------------------------

    def command(self) -> list[str]:
        """The ``convlens finetune`` command line for this collection."""
        base = configured_choice(self.config).path.parent / "lenet.npz"
        s = self.settings
        command = [
            sys.executable, "-m", "app", "finetune", str(s.collect_dir),
            "--out", str(s.model_dir), "--base", str(base), "--epochs", str(s.epochs),
            "--threads", str(THREADS), "--nice", str(NICE), "--idle", "--json", "--progress",
        ]  # fmt: skip
        if s.mnist_dir is not None:
            command += ["--data-dir", str(s.mnist_dir)]
        return command

    def _job_ended(self) -> Note | None:
        """A note (once) when the fine-tune has ended; a finished one starts the swap."""
        job = self.job
        if job is None or job is self._handled or job.progress.state == RUNNING:
            return None
        self._handled = job
        job.join()
        progress = job.progress
        if progress.state == DONE:
            choice = finetuned_choice(self.config, Path(progress.model))
            self.swap.request(choice)
            self.note = Note(N_("fine-tune done: held back {before}% → {after}%; loading it"),
                             {"before": _percent(progress.before),
                              "after": _percent(progress.after)})  # fmt: skip
        elif progress.state == STOPPED:
            self.note = Note(N_("fine-tune stopped: nothing installed"))
        elif progress.state == FAILED:
            self.note = Note(N_("fine-tune failed: {reason}"), {"reason": progress.reason})
        return self.note

    def _read_recent(self) -> list[tuple[int, np.ndarray]]:
        """The newest samples' tensors from disk, newest first."""
        if self.collector is None:
            return []
        recent = []
        for sample in reversed(self.collector.samples):
            if len(recent) == RECENT:
                break
            image = cv2.imread(str(self.settings.collect_dir / sample.tensor), cv2.IMREAD_GRAYSCALE)
            if sample.label is not None and image is not None and image.shape == (28, 28):
                recent.append((sample.label, image))
        return recent


def _percent(value: float | None) -> str:
    return "-" if value is None else str(round(100 * value))
