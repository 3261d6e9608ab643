"""What the teach view shows: the collection, the background fine-tune, the model in use.

Frozen values like the stages' results (``app.stages.results``): the loop hands the
newest one to the view each frame; nobody changes one after it is made.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np

#: ``FinetuneProgress.state`` values.
IDLE, RUNNING, DONE, FAILED, STOPPED = "idle", "running", "done", "failed", "stopped"


@dataclass(frozen=True)
class Note:
    """Something the teacher did or refused, in English (marked ``N_``) with its fields:
    ``Note(N_("saved as {digit}"), {"digit": 3})``, shown as an ``app.i18n.Message``."""

    message: str
    fields: Mapping[str, object] = field(default_factory=dict)


@dataclass(frozen=True, kw_only=True, eq=False)
class FinetuneProgress:
    """A background fine-tune as its progress lines tell it (``app.learn.job``).

    Attributes:
        state: ``IDLE`` (none started), ``RUNNING``, ``DONE`` (installed), ``FAILED`` or
            ``STOPPED`` (interrupted); nothing is installed unless ``DONE``.
        epoch, epochs: the last finished epoch and how many there will be.
        losses: the mean training loss of each finished epoch.
        held_back: each finished epoch's accuracy on the held-back user samples.
        before, after: held-back accuracy of the model it started from and of the result.
        mnist_before, mnist_after: the same on the 10,000 MNIST test images.
        samples, held_back_count: user samples read, and how many were held back.
        reason: why it failed or stopped (one line, English), else "".
        model: the installed model's folder, else "".
        seconds: since it started (until it ended).
    """

    state: str = IDLE
    epoch: int = 0
    epochs: int = 0
    losses: tuple[float, ...] = ()
    held_back: tuple[float, ...] = ()
    before: float | None = None
    after: float | None = None
    mnist_before: float | None = None
    mnist_after: float | None = None
    samples: int = 0
    held_back_count: int = 0
    reason: str = ""
    model: str = ""
    seconds: float = 0.0


@dataclass(frozen=True, kw_only=True, eq=False)
class TeachResult:
    """The teach view's facts.

    Attributes:
        counts: samples collected per digit, 10 ints.
        folder: where the collection is written (on this device only).
        recent: the newest samples, newest first: (label, (28, 28) uint8 tensor with ink
            255) each.
        progress: the fine-tune running, or the last one.
        model: the model in use: ``"shipped"`` or a fine-tuned model's folder name.
        model_scores: the fine-tuned model in use's figures from its card (held-back
            ``before``/``after``, ``mnist_after``); empty for the shipped model.
        problem: why collecting cannot work here (one line), or None.
    """

    counts: tuple[int, ...]
    folder: str
    recent: tuple[tuple[int, np.ndarray], ...] = ()
    progress: FinetuneProgress = field(default_factory=FinetuneProgress)
    model: str = "shipped"
    model_scores: Mapping[str, float] = field(default_factory=dict)
    problem: str | None = None
