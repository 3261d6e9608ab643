"""Which digit model the live app uses, and a pipeline for another one built off the loop.

The model in use is the configured one (``[model] path``, by default the shipped model)
unless a fine-tuned model is current (``training.model_store``: ``MODEL_DIR/current``).
At start the app takes ``MODEL_DIR/current`` when it is there and loads, else the
configured model, and says which in one log line. A fine-tuned folder holds the same
file names as the shipped models, so the configured file's name picks the same kind of
model there (float32 by default, int8 when configured).

A swap builds every stage again for the new model (``build_pipeline(config, model)``:
the digit classifier, the NumPy reference, the features' kernels and colour scales,
the network's weights and figures) on a worker thread, then the loop takes the new
pipeline between two frames with one assignment: no frame sees half of each model.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from app.classifier import classifier_factory, model_path
from app.config import Config
from app.errors import ModelError, one_line
from app.model_paths import SHIPPED_MODEL
from app.stages.pipeline import Pipeline, build_pipeline
from training import model_store
from training.model_io import ModelFileError, load_model

log = logging.getLogger(__name__)

SHIPPED = "shipped"
CARD_NAME = "model_card.json"
#: The card's figures the teach view shows for a fine-tuned model.
CARD_SCORES = ("before", "after", "mnist_before", "mnist_after")


@dataclass(frozen=True)
class ModelChoice:
    """A model the app can use.

    Attributes:
        name: ``"shipped"`` (the configured model) or the fine-tuned model's folder name.
        path: the classifier file (``.tflite``, or ``.npz`` for the NumPy backend).
        scores: a fine-tuned model's figures from its card (held-back before/after,
            MNIST before/after); empty for the configured model.
    """

    name: str
    path: Path
    scores: Mapping[str, float] = field(default_factory=dict)

    @property
    def finetuned(self) -> bool:
        return self.name != SHIPPED


def configured_choice(config: Config) -> ModelChoice:
    """The configured model (``[model] path``, else the shipped one)."""
    return ModelChoice(SHIPPED, model_path(config))


def finetuned_choice(config: Config, folder: Path) -> ModelChoice:
    """The fine-tuned model in ``folder``, the same kind of file as the configured one."""
    folder = Path(folder)
    path = folder / model_path(config).name
    if not path.is_file():
        path = folder / SHIPPED_MODEL
    return ModelChoice(folder.name, path, read_scores(folder))


def read_scores(folder: Path) -> dict[str, float]:
    """The before/after figures of ``folder/model_card.json`` (empty when unreadable)."""
    try:
        card = json.loads((Path(folder) / CARD_NAME).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    if not isinstance(card, dict):
        return {}
    return {k: float(card[k]) for k in CARD_SCORES if isinstance(card.get(k), (int, float))}


def check_choice(config: Config, choice: ModelChoice) -> None:
    """Load the classifier and ``lenet.npz`` of ``choice`` once, or raise ModelError (one line)."""
    classifier_factory(config, choice.path)()
    try:
        load_model(choice.path.parent / "lenet.npz")
    except ModelFileError as exc:
        raise ModelError(str(exc)) from exc


def start_choice(config: Config, model_dir: Path) -> ModelChoice:
    """``model_dir/current`` when it is there and loads, else the configured model.

    Logs one line saying which model is used and why.
    """
    configured = configured_choice(config)
    folder = model_store.current_model(model_dir)
    if folder is None:
        log.info("model: %s (no fine-tuned model in %s)", configured.path, model_dir)
        return configured
    choice = finetuned_choice(config, folder)
    try:
        check_choice(config, choice)
    except ModelError as exc:
        log.warning(
            "model: %s, not the fine-tuned %s, which does not load (%s)",
            configured.path, folder, one_line(exc),
        )  # fmt: skip
        return configured
    log.info("model: fine-tuned %s (%s)", choice.name, choice.path)
    return choice


def pipeline_for(config: Config, choice: ModelChoice) -> Pipeline:
    """Every stage built for ``choice``'s model (raises ModelError when it does not load)."""
    check_choice(config, choice)
    return build_pipeline(config, choice.path if choice.finetuned else None)


@dataclass(frozen=True)
class Swap:
    """A finished swap: the model, and its pipeline or why there is none."""

    choice: ModelChoice
    pipeline: Pipeline | None
    error: str | None = None


class PipelineSwap:
    """Builds the pipeline for another model on a worker thread; ``take`` hands it over.

    Args:
        build: ``build(choice) -> Pipeline``, raising ModelError (``pipeline_for`` bound
            to the config).
    """

    def __init__(self, build: Callable[[ModelChoice], Pipeline]) -> None:
        self.build = build
        self._thread: threading.Thread | None = None
        self._done: Swap | None = None
        self._lock = threading.Lock()

    @property
    def busy(self) -> bool:
        """True while a pipeline is being built."""
        return self._thread is not None and self._thread.is_alive()

    def request(self, choice: ModelChoice) -> bool:
        """Start building for ``choice``; False (nothing started) while one is being built."""
        if self.busy:
            return False
        self.join()
        self._thread = threading.Thread(target=self._build, args=(choice,), name="model-swap")
        self._thread.start()
        return True

    def take(self) -> Swap | None:
        """The finished swap, once (None while building or when none was asked for)."""
        with self._lock:
            done, self._done = self._done, None
        if done is not None:
            self.join()
        return done

    def join(self) -> None:
        """Wait for the worker thread, if any."""
        if self._thread is not None:
            self._thread.join()
            self._thread = None

    def _build(self, choice: ModelChoice) -> None:
        try:
            swap = Swap(choice, self.build(choice))
        except Exception as exc:  # any failure leaves the model in use as it is
            log.warning("model %s not swapped in: %s", choice.name, one_line(exc))
            swap = Swap(choice, None, one_line(exc))
        with self._lock:
            self._done = swap
