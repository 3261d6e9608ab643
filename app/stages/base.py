"""The shape every processing stage has (after rpicam-apps' post-processing stages)."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any, ClassVar

from app.errors import ConfigError
from app.frame import Frame
from app.stages.results import FrameResults
from app.state import ViewState
from app.timing import Step, untimed


@dataclass(frozen=True)
class Param:
    """One stage parameter, declared next to its default (``[stages.NAME] key = value``).

    ``lo`` .. ``hi`` is the allowed range; ``expected`` is what an error says instead.
    """

    default: int | float
    kinds: type | tuple[type, ...]
    lo: float
    hi: float
    expected: str

    def check(self, stage: str, key: str, value: Any) -> int | float:
        """``value`` when it is allowed, else ConfigError naming the stage, key and range."""
        if isinstance(value, bool) or not isinstance(value, self.kinds):
            raise ConfigError(f"stage {stage}: {key} = {value!r}; expected {self.expected}")
        if not self.lo <= value <= self.hi:
            raise ConfigError(f"stage {stage}: {key} = {value!r}; expected {self.expected}")
        return value


class Stage(ABC):
    """A named step of the pipeline.

    A stage declares its parameters (``params``), checked once by ``configure`` (a
    ``ConfigError`` with its name for an unknown key or a bad value) and handed to
    ``setup`` with the defaults filled in; then ``process`` runs on every frame whose
    view needs it (each view in ``app.views`` names its stages). Its result is one
    frozen dataclass from ``app.stages.results``, stored in its own field of the frame's
    ``FrameResults`` (``results.kernel``); it reads earlier stages' fields, never the
    stages themselves.
    """

    #: Unique name, used in config sections, its ``FrameResults`` field and timing tables.
    name: str = ""
    #: The parameters ``[stages.NAME]`` may set.
    params: ClassVar[Mapping[str, Param]] = {}
    #: Times the ``step``s of ``process`` as "<name>/<step>" (``convlens bench`` hands
    #: the loop's ``FrameTimer.part`` here); None in a live run: a step costs nothing.
    timer: Step | None = None

    def step(self, step: str) -> AbstractContextManager[None]:
        """``with self.step("classify"):`` times that part of ``process`` (when timed)."""
        return untimed(step) if self.timer is None else self.timer(f"{self.name}/{step}")

    def configure(self, params: Mapping[str, Any]) -> None:
        """Check this stage's config section against ``params``, then ``setup`` with it."""
        for key in params:
            if key not in self.params:
                expected = f"one of {', '.join(self.params)}" if self.params else "none"
                raise ConfigError(
                    f"stage {self.name}: unknown parameter {key!r}; expected {expected}"
                )
        values = {key: spec.default for key, spec in self.params.items()}
        for key, value in params.items():
            values[key] = self.params[key].check(self.name, key, value)
        self.setup(values)

    def setup(self, values: Mapping[str, Any]) -> None:  # noqa: B027 - optional hook
        """Take every declared parameter's value (defaults filled in)."""

    @abstractmethod
    def process(self, frame: Frame, state: ViewState, results: FrameResults) -> None:
        """Compute this stage's result for ``frame`` into its field of ``results``."""
