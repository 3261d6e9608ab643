"""The number stage: every digit in the ROI read left to right, the number smoothed over frames."""

from __future__ import annotations

from collections import Counter, deque
from collections.abc import Mapping
from dataclasses import replace
from typing import Any, ClassVar

from app.frame import Frame
from app.reading.number import read_number
from app.reading.rejection import prediction_logits
from app.stages.base import Param, Stage
from app.stages.digit import DEFAULT_MARGIN, SETTLING, roi_pixels
from app.stages.results import DIGIT, NO_DIGIT, UNAVAILABLE, FrameResults, NumberDigit, NumberResult
from app.state import ViewState


class NumberSmoother:
    """The number shown: a reading must come ``agree`` times in the last ``window`` frames
    to be shown, and "no number" likewise to clear it, so one misread frame (a digit lost
    to a shadow, a cut in the wrong place) does not flicker on screen."""

    def __init__(self, window: int = 5, agree: int = 3) -> None:
        self.window, self.agree = window, agree
        self.recent: deque[str | None] = deque(maxlen=window)
        self.shown: str | None = None

    def update(self, number: str | None) -> str | None:
        """Take this frame's reading ("407" or None); return the number to show."""
        self.recent.append(number)
        best, count = Counter(self.recent).most_common(1)[0]
        if count >= self.agree:
            self.shown = best
        return self.shown


class NumberStage(Stage):
    """Find every digit in the ROI (``app.reading.number``), classify each, smooth the number."""

    name = "number"
    params: ClassVar[Mapping[str, Param]] = {
        "window": Param(5, int, 1, 60, "frames the number is smoothed over, 1-60"),
        "agree": Param(3, int, 1, 60, "frames in the window a number must come, 1-60"),
        # A number is wider than a digit: a larger ROI is kept at lores resolution (the
        # digit stage's 160 would halve an ROI of 0.7, and its digits with it).
        "work_side": Param(240, int, 32, 1024, "ROI side in px the ink is looked for at, 32-1024"),
        "margin": Param(
            DEFAULT_MARGIN, (int, float), 0.0, 0.5,
            "extra search border as a fraction of the ROI side, 0-0.5",
        ),
    }  # fmt: skip

    def __init__(self, classifier: Any | None = None, error: str | None = None) -> None:
        self.classifier = classifier
        self.error = None if classifier is not None else (error or "no classifier loaded")
        self.work_side, self.margin = 240, DEFAULT_MARGIN
        self.smoother = NumberSmoother()

    def setup(self, values: Mapping[str, Any]) -> None:
        self.work_side, self.margin = int(values["work_side"]), float(values["margin"])
        self.smoother = NumberSmoother(int(values["window"]), int(values["agree"]))

    def process(self, frame: Frame, state: ViewState, results: FrameResults) -> None:
        gh, gw = frame.gray.shape[:2]
        ah, aw = frame.array.shape[:2]
        roi_px = roi_pixels(state.roi, aw, ah)
        if self.classifier is None:
            results.number = NumberResult(
                status=UNAVAILABLE, reason=self.error, number=None, digits=(), roi_px=roi_px
            )
            return
        search = replace(state.roi, size=state.roi.size * (1.0 + 2.0 * self.margin))
        x0, y0, x1, y1 = roi_pixels(search, gw, gh)
        read = read_number(
            frame.gray[y0:y1, x0:x1],
            lambda t: prediction_logits(self.classifier.predict(t)),
            work_side=self.work_side,
        )
        scale = aw / gw
        digits = tuple(
            NumberDigit(
                box=tuple(
                    round((v + o) * scale) for v, o in zip(d.box, (x0, y0, x0, y0), strict=True)
                ),
                digit=d.digit,
                confidence=d.confidence,
                tensor=d.tensor,
            )
            for d in read.digits
        )
        shown = self.smoother.update(read.number)
        reason = None if shown is not None else (read.reason or SETTLING)
        results.number = NumberResult(
            status=DIGIT if shown is not None else NO_DIGIT,
            reason=reason,
            number=shown,
            digits=digits,
            roi_px=roi_px,
        )
