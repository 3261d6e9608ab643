"""The digit card with all-zero probabilities (no digit for a while) highlights no class:
issue 12 saw the label "0" highlighted, the argmax of ten zeros."""

from __future__ import annotations

import numpy as np

from app.stages.results import NO_DIGIT
from app.views.base import Canvas
from app.views.card import prediction_card
from tests.overlay_samples import digit_result


def _card(probs: np.ndarray) -> np.ndarray:
    canvas = Canvas((640, 480))
    layer = np.zeros((480, 640, 4), np.uint8)
    digit = digit_result(NO_DIGIT, probs=np.asarray(probs, np.float32))
    prediction_card(canvas, layer, digit, (10, 20), opaque=True)
    return layer


def test_all_zero_probabilities_highlight_no_class() -> None:
    zeros = _card(np.zeros(10))
    # Probabilities too small to draw a bar still pick a class: the label of the one
    # picked is what the card highlights. Ten zeros must look like neither 0 nor 5 picked.
    tiny = np.zeros(10)
    picked = {}
    for best in (0, 5):
        tiny[:] = 0.0
        tiny[best] = 1e-9
        picked[best] = _card(tiny)
    assert not np.array_equal(picked[0], picked[5])  # the highlight is visible at all
    assert not np.array_equal(zeros, picked[0])
    assert not np.array_equal(zeros, picked[5])
