"""One frame's status: the live settings plus what the loop measured and the stages found.

The loop builds one ``FrameStatus`` per frame; the overlay's header and footer, the web
page's ``/api/status`` and systemd's status line (``app.status_board``) all read that
one value, so the same facts are never assembled twice.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

from app.stages.results import DigitResult, NumberResult
from app.state import ViewState

#: Between the parts of one status message ("camera lost (...)  |  snapshot saved: ...");
#: the overlay's footer puts each part on a line of its own.
MESSAGE_SEPARATOR = "  |  "


@dataclass(frozen=True)
class Figures:
    """The slowly refreshed figures: frames/s, per-part moving medians, runtime, source."""

    fps: float | None = None
    #: (name, median milliseconds) in pipeline order, then ``overlay``.
    stage_ms: tuple[tuple[str, float], ...] = ()
    runtime: str = ""
    source: str = ""
    #: Where the picture goes (``Display.description``) and why that display was chosen.
    display: str = ""
    display_reason: str = ""
    #: The digit model in use: "shipped" or a fine-tuned model's folder name ("": unknown).
    model: str = ""


@dataclass(frozen=True)
class FrameStatus(ViewState):
    """A ``ViewState`` (every setting, same names) plus this frame's facts.

    ``prediction``, ``confidence`` and ``probabilities`` (10 floats) are the digit
    stage's, None when it did not run; ``number`` is the number stage's ("407", None
    when it shows none or did not run); ``reason`` says why no digit (or, without the
    digit stage, no number) is shown ("no ink", "not a digit", "settling", ...), ``hint``
    when the digit is too small or too large for a good reading; ``seq`` is the number
    of the frame this status describes;
    ``model`` the digit model in use ("shipped" or a fine-tuned one's folder name);
    ``message`` is what is wrong or was just done ("no camera - retrying in 2 s",
    "snapshot saved: ..."), empty when all is well.
    """

    seq: int | None = None
    prediction: int | None = None
    confidence: float | None = None
    probabilities: tuple[float, ...] | None = None
    number: str | None = None
    reason: str | None = None
    hint: str | None = None
    fps: float | None = None
    stage_ms: tuple[tuple[str, float], ...] = ()
    runtime: str = ""
    source: str = ""
    display: str = ""
    display_reason: str = ""
    model: str = ""
    message: str = ""


def frame_status(
    state: ViewState,
    digit: DigitResult | None,
    figures: Figures,
    message: str,
    seq: int | None = None,
    number: NumberResult | None = None,
) -> FrameStatus:
    """The status of frame ``seq`` with ``state``, its digit and number results, the
    figures and the message."""
    settings = {f.name: getattr(state, f.name) for f in fields(ViewState)}
    facts: dict[str, object] = {}
    if number is not None:
        facts = {"number": number.number, "reason": number.reason}
    if digit is not None:
        facts |= {
            "prediction": digit.prediction,
            "confidence": digit.confidence,
            "probabilities": tuple(float(p) for p in digit.probs.ravel()),
            "reason": digit.reason,
            "hint": digit.hint,
        }
    return FrameStatus(
        **settings,
        **facts,
        seq=seq,
        fps=figures.fps,
        stage_ms=figures.stage_ms,
        runtime=figures.runtime,
        source=figures.source,
        display=figures.display,
        display_reason=figures.display_reason,
        model=figures.model,
        message=message,
    )
