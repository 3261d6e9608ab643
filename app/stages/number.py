"""The number stage: every digit in the ROI read left to right, the number smoothed over frames."""

from __future__ import annotations

from collections import Counter, deque
from collections.abc import Mapping
from dataclasses import replace
from typing import Any, ClassVar

import cv2
import numpy as np

from app.frame import Frame
from app.reading.number import NumberRead, read_number
from app.reading.rejection import prediction_logits
from app.stages.base import Param, Stage
from app.stages.digit import DEFAULT_MARGIN, SETTLING, roi_pixels
from app.stages.mnist_preprocess import working_factor
from app.stages.results import DIGIT, NO_DIGIT, UNAVAILABLE, FrameResults, NumberDigit, NumberResult
from app.state import ViewState

#: A number whose digits' median height is under this many grey pixels is read again from
#: the main stream, as is one with a piece that does not read as a digit. Measured on the
#: dev sets (``benchmarks/reading.py``, "numbers: lores or main stream"): numbers at
#: 10-16 % of the ROI 22 -> 47 % right, the numbers set (22-45 %) 80 -> 83 % with 10 %
#: of its frames read twice; the digit stage's 17 px gave 34 % and 83 %.
MAIN_STREAM_BELOW_PX = 24


def wants_main_stream(read: NumberRead, factor: int) -> bool:
    """Whether a number read from the grey plane should be read again from the sharper
    main stream; ``factor``: the grey picture's pixels per working pixel."""
    if not read.digits:
        return False  # no ink, ink touching the edge: the main stream will not differ
    heights = [(d.box[3] - d.box[1]) / factor for d in read.digits]
    return read.number is None or float(np.median(heights)) < MAIN_STREAM_BELOW_PX


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

    @property
    def runtime(self) -> str:
        """What runs the network, for the screen (as the digit stage says it)."""
        clf = self.classifier
        return str(getattr(clf, "description", getattr(clf, "backend", ""))) if clf else ""

    def setup(self, values: Mapping[str, Any]) -> None:
        self.work_side, self.margin = int(values["work_side"]), float(values["margin"])
        self.smoother = NumberSmoother(int(values["window"]), int(values["agree"]))

    def process(self, frame: Frame, state: ViewState, results: FrameResults) -> None:
        ah, aw = frame.array.shape[:2]
        roi_px = roi_pixels(state.roi, aw, ah)
        if self.classifier is None:
            results.number = NumberResult(
                status=UNAVAILABLE, reason=self.error, number=None, digits=(), roi_px=roi_px
            )
            return
        read, (x0, y0), scale = self._read(frame, state)
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
        with self.step("smooth"):
            shown = self.smoother.update(read.number)
        reason = None if shown is not None else (read.reason or SETTLING)
        results.number = NumberResult(
            status=DIGIT if shown is not None else NO_DIGIT,
            reason=reason,
            number=shown,
            digits=digits,
            roi_px=roi_px,
            runtime=self.runtime,
        )

    def _read(self, frame: Frame, state: ViewState) -> tuple[NumberRead, tuple[int, int], float]:
        """The number in the ROI (plus its margin) read from Frame.gray, or again from the
        sharper Frame.array when its digits are too few grey pixels tall (as the digit
        stage does); returns the read, its picture's origin on that picture and the
        factor from that picture's pixels to Frame.array's."""
        gh, gw = frame.gray.shape[:2]
        ah, aw = frame.array.shape[:2]
        search = replace(state.roi, size=state.roi.size * (1.0 + 2.0 * self.margin))
        x0, y0, x1, y1 = roi_pixels(search, gw, gh)
        gray = frame.gray[y0:y1, x0:x1]
        read = read_number(gray, self._logits, work_side=self.work_side, step=self.step)
        if aw <= gw or not wants_main_stream(read, working_factor(gray.shape, self.work_side)):
            return read, (x0, y0), aw / gw
        ax0, ay0, ax1, ay1 = roi_pixels(search, aw, ah)
        with self.step("small: main stream"):
            crop = cv2.cvtColor(frame.array[ay0:ay1, ax0:ax1], cv2.COLOR_BGR2GRAY)
            sharp = read_number(crop, self._logits, work_side=round(self.work_side * aw / gw))
        if not sharp.digits:
            return read, (x0, y0), aw / gw
        return sharp, (ax0, ay0), 1.0

    def _logits(self, tensor: np.ndarray) -> np.ndarray:
        return prediction_logits(self.classifier.predict(tensor))
