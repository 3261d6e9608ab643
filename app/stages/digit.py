"""The digit stage: the ROI's ink as an MNIST tensor, classified, smoothed, with hysteresis."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import Any, ClassVar

import cv2
import numpy as np

from app.errors import ModelError
from app.frame import Frame
from app.reading.rejection import NOT_A_DIGIT, is_digit, prediction_logits
from app.reading.size_hint import MIN_HEIGHT_PX, size_hint
from app.stages.base import Param, Stage
from app.stages.mnist_preprocess import RoiRead, read_roi
from app.stages.results import (
    DIGIT,
    NO_DIGIT,
    UNAVAILABLE,
    DigitResult,
    FrameResults,
    ReferenceRun,
)
from app.state import Roi, ViewState

log = logging.getLogger(__name__)

NUM_CLASSES = 10
LOW_CONFIDENCE = "low confidence"
#: The ink is searched for in the ROI grown by this fraction of its side on every side.
DEFAULT_MARGIN = 0.1
#: A digit is there but has not yet led for ``switch_frames`` frames.
SETTLING = "settling"
#: No tensor and no reason from the ink search (never expected; a safe default).
NO_INK_REASON = "no ink"

#: A callable that loads the classifier: ``factory()`` for the configured runtime,
#: ``factory(backend="numpy")`` for the NumPy reference (e.g.
#: ``functools.partial(app.classifier.load_classifier, path, backend=configured)``).
#: Raises ModelError.
ClassifierFactory = Callable[..., Any]


def roi_pixels(roi: Roi, width: int, height: int) -> tuple[int, int, int, int]:
    """The ROI (fractions: centre, side of the shorter frame side) in pixels of a picture.

    Returns (x0, y0, x1, y1), end exclusive, clipped to the picture; the same fractions
    give matching boxes on Frame.gray and Frame.array whatever their sizes.
    """
    side = roi.size * min(width, height)
    x0 = round(roi.cx * width - side / 2)
    y0 = round(roi.cy * height - side / 2)
    x1, y1 = x0 + round(side), y0 + round(side)
    return (
        min(max(0, x0), width),
        min(max(0, y0), height),
        min(max(0, x1), width),
        min(max(0, y1), height),
    )


class DigitSmoother:
    """Exponential moving average of the class probabilities, with hysteresis.

    ``update(probs)`` once per frame (``None`` when the frame has no digit). The shown
    digit changes only when another class leads the smoothed probabilities by at least
    ``margin`` for ``switch_frames`` frames in a row; a first digit appears once its
    smoothed probability has been at least ``min_confidence`` for ``switch_frames``
    frames; the display goes back to "no digit" after ``switch_frames`` frames without
    one (and the average restarts, so the next digit does not inherit this one's).
    """

    def __init__(
        self,
        alpha: float = 0.5,
        switch_frames: int = 3,
        margin: float = 0.15,
        min_confidence: float = 0.5,
    ) -> None:
        self.alpha = alpha
        self.switch_frames = switch_frames
        self.margin = margin
        self.min_confidence = min_confidence
        self.reset()

    def reset(self) -> None:
        """Forget everything: no digit shown, zero probabilities."""
        self.smoothed = np.zeros(NUM_CLASSES, np.float32)
        self.shown: int | None = None
        self._candidate: int | None = None
        self._candidate_frames = 0
        self._missing = 0
        self._fresh = True

    @property
    def confidence(self) -> float:
        """Smoothed probability of the shown digit (0.0 when none is shown)."""
        return float(self.smoothed[self.shown]) if self.shown is not None else 0.0

    def update(self, probs: np.ndarray | None) -> int | None:
        """Take this frame's probabilities (10,) or None; return the digit to show or None."""
        if probs is None:
            self._missing += 1
            self._candidate, self._candidate_frames = None, 0
            if self._missing >= self.switch_frames:
                self.reset()
            return self.shown
        self._missing = 0
        probs = np.asarray(probs, np.float32)
        if self._fresh:
            self.smoothed = probs.copy()
            self._fresh = False
        else:
            self.smoothed = (1.0 - self.alpha) * self.smoothed + self.alpha * probs
        leader = int(np.argmax(self.smoothed))
        lead = float(self.smoothed[leader])
        if self.shown is None:
            wants_switch = lead >= self.min_confidence
        elif leader == self.shown:
            wants_switch = False
        else:
            wants_switch = lead - float(self.smoothed[self.shown]) >= self.margin
        if not wants_switch:
            self._candidate, self._candidate_frames = None, 0
            return self.shown
        if leader != self._candidate:
            self._candidate, self._candidate_frames = leader, 0
        self._candidate_frames += 1
        if self._candidate_frames >= self.switch_frames:
            self.shown = leader
            self._candidate, self._candidate_frames = None, 0
        return self.shown


class DigitStage(Stage):
    """Find the digit in the ROI, classify it, smooth the result.

    The classifier is given (or its load error); a missing or broken model makes every
    frame report status ``UNAVAILABLE`` with the error as the reason, and the
    tensor is still computed, so the features view shows what the network would see.
    """

    name = "digit"
    params: ClassVar[Mapping[str, Param]] = {
        "ema_alpha": Param(0.5, (int, float), 0.01, 1.0, "weight of the newest frame, 0.01-1"),
        "switch_frames": Param(3, int, 1, 60, "frames a new digit must lead, 1-60"),
        "switch_margin": Param(0.15, (int, float), 0.0, 1.0, "lead in probability, 0-1"),
        "min_confidence": Param(
            0.5, (int, float), 0.0, 1.0, "probability to show a first digit, 0-1"
        ),
        "work_side": Param(160, int, 32, 1024, "ROI side in px the ink is looked for at, 32-1024"),
        "margin": Param(
            DEFAULT_MARGIN, (int, float), 0.0, 0.5,
            "extra search border as a fraction of the ROI side, 0-0.5",
        ),
    }  # fmt: skip

    def __init__(
        self,
        classifier: Any | None = None,
        error: str | None = None,
        factory: ClassifierFactory | None = None,
    ) -> None:
        self.classifier = classifier
        self.error = error if classifier is None else None
        if classifier is None and error is None:
            self.error = "no classifier loaded"
        self.factory = factory
        self.work_side = 160
        self.margin = DEFAULT_MARGIN
        self.smoother = DigitSmoother()
        self._reference: Any | None = None
        self._reference_error: str | None = None
        self._layers: dict[str, np.ndarray] = {}
        self._layers_tensor: np.ndarray | None = None

    def setup(self, values: Mapping[str, Any]) -> None:
        self.work_side = int(values["work_side"])
        self.margin = float(values["margin"])
        self.smoother = DigitSmoother(
            alpha=float(values["ema_alpha"]),
            switch_frames=int(values["switch_frames"]),
            margin=float(values["switch_margin"]),
            min_confidence=float(values["min_confidence"]),
        )

    @property
    def runtime(self) -> str:
        """What runs the network, for the screen."""
        if self.classifier is None:
            return "unavailable"
        return str(getattr(self.classifier, "description", getattr(self.classifier, "backend", "")))

    def _reference_classifier(self) -> Any | None:
        if self.classifier is not None and getattr(self.classifier, "backend", "") == "numpy":
            return self.classifier
        if self._reference is None and self._reference_error is None:
            if self.factory is None:
                self._reference_error = "no NumPy reference model"
            else:
                try:
                    self._reference = self.factory(backend="numpy")
                except ModelError as e:
                    self._reference_error = str(e)
                    log.warning("digit: NumPy reference unavailable: %s", e)
        return self._reference

    def process(self, frame: Frame, state: ViewState, results: FrameResults) -> None:
        ah, aw = frame.array.shape[:2]
        roi_px = roi_pixels(state.roi, aw, ah)
        read, box, hint, crop = self._read(frame, state)
        if self.classifier is None:
            results.digit = DigitResult(
                status=UNAVAILABLE,
                reason=self.error,
                prediction=None,
                confidence=0.0,
                probs=np.zeros(NUM_CLASSES, np.float32),
                runtime=self.runtime,
                roi_px=roi_px,
                tensor=read.tensor,
                box=box,
                hint=hint,
                crop=crop,
            )
            return
        probs, reference, reason = None, None, read.reason
        if read.tensor is not None:
            with self.step("classify"):
                prediction = self.classifier.predict(read.tensor)
            self._layers, self._layers_tensor = prediction.layers, read.tensor
            with self.step("not a digit?"):
                digit = is_digit(prediction_logits(prediction))
            if digit:
                probs = prediction.probs
            else:
                reason = NOT_A_DIGIT
            if state.numpy_reference:
                reference = self._reference_result(read.tensor, prediction.probs)
        with self.step("smooth"):
            shown = self.smoother.update(probs)
        if shown is None and read.tensor is None and self.smoother.smoothed.max() == 0:
            self._layers, self._layers_tensor = {}, None
        results.digit = DigitResult(
            status=DIGIT if shown is not None else NO_DIGIT,
            reason=None if shown is not None else self._no_digit_reason(probs, reason),
            prediction=shown,
            confidence=self.smoother.confidence,
            probs=self.smoother.smoothed.copy(),
            runtime=self.runtime,
            roi_px=roi_px,
            tensor=read.tensor,
            layers=self._layers,
            layers_tensor=self._layers_tensor,
            reference=reference,
            box=box,
            hint=hint,
            crop=crop,
        )

    def _no_digit_reason(self, probs: np.ndarray | None, reason: str | None) -> str:
        """Why no digit is shown: the ink's reason, else low confidence or settling."""
        if probs is None:
            return reason or NO_INK_REASON
        if self.smoother.smoothed.max() < self.smoother.min_confidence:
            return LOW_CONFIDENCE
        return SETTLING

    def _read(
        self, frame: Frame, state: ViewState
    ) -> tuple[RoiRead, tuple[int, int, int, int] | None, str | None, np.ndarray]:
        """The ROI (plus its margin) read from Frame.gray, or again from the sharper
        Frame.array when the digit is too few grey pixels tall; returns the read, the
        digit's box on Frame.array, the size hint and the grey picture read."""
        gh, gw = frame.gray.shape[:2]
        ah, aw = frame.array.shape[:2]
        # The ink is looked for in the ROI plus a margin: a digit whose stroke just
        # reaches the drawn square is still whole, not "touching the edge".
        search = replace(state.roi, size=state.roi.size * (1.0 + 2.0 * self.margin))
        x0, y0, x1, y1 = roi_pixels(search, gw, gh)
        picture = frame.gray[y0:y1, x0:x1]
        read = read_roi(picture, work_side=self.work_side, step=self.step)
        scale, roi_side = aw / gw, state.roi.size * min(gw, gh)
        if read.tensor is not None and read.height_px < MIN_HEIGHT_PX and aw > gw:
            # Measured (benchmarks/reading_sets, digits at 10 % and 14 % of the ROI):
            # 81 % and 97 % right from lores, 93 % and 99 % from the main stream twice as
            # fine; at 25 % and more no difference, so the main stream is read only here.
            ax0, ay0, ax1, ay1 = roi_pixels(search, aw, ah)
            with self.step("small: main stream"):
                crop = cv2.cvtColor(frame.array[ay0:ay1, ax0:ax1], cv2.COLOR_BGR2GRAY)
                sharp = read_roi(crop, work_side=round(self.work_side * aw / gw))
            if sharp.tensor is not None:
                read, picture, (x0, y0), scale = sharp, crop, (ax0, ay0), 1.0
                roi_side = state.roi.size * min(aw, ah)
        if read.box is None:
            return read, None, None, picture
        box = tuple(round(float(v) * scale) for v in np.add(read.box, (x0, y0, x0, y0)))
        hint = size_hint(read.height_px, roi_side / read.factor)
        return read, box, hint, picture  # type: ignore[return-value]

    def _reference_result(self, tensor: np.ndarray, probs: np.ndarray) -> ReferenceRun:
        reference = self._reference_classifier()
        if reference is None:
            return ReferenceRun(max_abs_diff=float("nan"), error=self._reference_error)
        start = time.perf_counter()
        ref = reference.predict(tensor)
        ms = (time.perf_counter() - start) * 1000.0
        return ReferenceRun(
            ms=ms,
            max_abs_diff=float(np.max(np.abs(ref.probs - probs))),
            prediction=int(np.argmax(ref.probs)),
        )
