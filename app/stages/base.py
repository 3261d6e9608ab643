"""The shape every processing stage has (after rpicam-apps' post-processing stages)."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from typing import Any

from app.frame import Frame
from app.stages.results import FrameResults
from app.state import ViewState


class Stage(ABC):
    """A named step of the pipeline.

    A stage reads its own parameters once in ``configure`` (raising ``ConfigError``
    with its name in the message for a bad one), then ``process`` runs on every
    frame whose view needs it (each view in ``app.views`` names its stages). Its
    result is one frozen dataclass from ``app.stages.results``, stored in its own
    field of the frame's ``FrameResults`` (``results.kernel``); it reads earlier
    stages' fields, never the stages themselves.
    """

    #: Unique name, used in config sections, its ``FrameResults`` field and timing tables.
    name: str = ""

    def configure(self, params: Mapping[str, Any]) -> None:  # noqa: B027 - optional hook
        """Read this stage's config section; the default takes no parameters."""

    @abstractmethod
    def process(self, frame: Frame, state: ViewState, results: FrameResults) -> None:
        """Compute this stage's result for ``frame`` into its field of ``results``."""
