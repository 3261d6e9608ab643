"""The "why a CNN" view's live facts: the picture's size, and the digit's shift test.

The 28x28 digit the network saw is moved by a few pixels (``HOME_SHIFT`` plus the probe)
and classified again. The conv1 maps of the moved digit are the maps of the digit,
moved (a convolution commutes with a shift, away from the borders), and the answer
usually stays: the shift test of the course's "translation invariance".
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np

from app.frame import Frame
from app.stages.base import Stage
from app.stages.inspect import REFRESH_FRAMES
from app.stages.results import FrameResults, WhyCnnResult
from app.state import ViewState

log = logging.getLogger(__name__)

#: The shift shown before any key is pressed: far enough to see, small enough for the
#: digit (20 px of ink in the 28 px picture) to stay whole.
HOME_SHIFT = (4, 0)


def shift_image(image: np.ndarray, dx: int, dy: int) -> np.ndarray:
    """(h, w) moved right by ``dx`` and down by ``dy`` pixels; what comes in is 0."""
    h, w = image.shape
    out = np.zeros_like(image)
    if abs(dx) >= w or abs(dy) >= h:
        return out
    ys, yd = (slice(0, h - dy), slice(dy, h)) if dy >= 0 else (slice(-dy, h), slice(0, h + dy))
    xs, xd = (slice(0, w - dx), slice(dx, w)) if dx >= 0 else (slice(-dx, w), slice(0, w + dx))
    out[yd, xd] = image[ys, xs]
    return out


class WhyCnnStage(Stage):
    """The picture's size every frame; with a classifier, the digit shifted and classified.

    Args:
        classifier: the loaded digit classifier (``predict``), or None.
    """

    name = "why"

    def __init__(self, classifier: Any | None = None) -> None:
        self.classifier = classifier
        self._last: tuple[tuple, int, WhyCnnResult] | None = None

    def process(self, frame: Frame, state: ViewState, results: FrameResults) -> None:
        h, w = frame.array.shape[:2]
        colours = frame.array.shape[2] if frame.array.ndim == 3 else 1
        shift = (HOME_SHIFT[0] + state.probe[0], HOME_SHIFT[1] + state.probe[1])
        # The shift test is run again every REFRESH_FRAMES frames (or at once when the
        # shift changes), as the inspector's numbers: readable, and the view redraws its
        # twelve maps only then.
        key = (shift, (h, w, colours))
        if self._last is not None:
            last_key, at, last = self._last
            if last_key == key and 0 <= frame.seq - at < REFRESH_FRAMES:
                results.why = last
                return
        digit = results.digit
        tensor = None
        if digit is not None:
            tensor = digit.layers_tensor if digit.layers_tensor is not None else digit.tensor
        if self.classifier is None or tensor is None:
            results.why = WhyCnnResult(picture=(h, w, colours), shift=shift)
            return
        tensor = np.asarray(tensor, np.float32)
        shifted = shift_image(tensor, *shift)
        # Both through the same forward pass (the digit stage's probabilities are
        # smoothed over frames, so they would not compare).
        still, moved = self.classifier.predict(tensor), self.classifier.predict(shifted)
        results.why = WhyCnnResult(
            picture=(h, w, colours),
            shift=shift,
            tensor=tensor,
            shifted=shifted,
            maps=np.asarray(still.layers["conv1"], np.float32),
            shifted_maps=np.asarray(moved.layers["conv1"], np.float32),
            probs=np.asarray(still.probs, np.float32),
            shifted_probs=np.asarray(moved.probs, np.float32),
        )
        self._last = (key, frame.seq, results.why)
