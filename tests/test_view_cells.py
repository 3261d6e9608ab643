"""The teaching views' drawing helpers: grey pictures into the layer, numbers, wrapping."""

from __future__ import annotations

import numpy as np

from app.i18n import language
from app.views import cells
from app.views.base import SMALL, Canvas
from app.views.draw import Line
from app.views.text import recording_text


def test_put_grey_writes_opaque_grey_and_clips_at_the_edges() -> None:
    layer = np.zeros((20, 30, 4), np.uint8)
    grey = (np.arange(10 * 12) % 251).astype(np.uint8).reshape(10, 12)
    cells.put_grey(layer, grey, 25, -4)  # sticks out right and above
    part = layer[0:6, 25:30]
    assert np.array_equal(part[:, :, 0], grey[4:10, 0:5])
    assert np.array_equal(part[:, :, 1], part[:, :, 2]) and (part[:, :, 3] == 255).all()
    assert not layer[6:, :].any() and not layer[:, :25].any()


def test_numbers_are_short_and_counts_marked_per_language() -> None:
    assert [cells.value_text(v) for v in (0.58, -0.4, 1.0, -0.001, 0.125)] == [
        "0.58", "-0.4", "1", "0", "0.12"
    ]  # fmt: skip
    with language("en"):
        assert cells.count_text(61706) == "61,706"
    with language("es"):
        assert cells.count_text(61706) == "61 706"


def test_long_text_wraps_instead_of_shrinking_below_the_smallest_size() -> None:
    canvas = Canvas((1280, 720))
    sentence = "one pooled value depends on 4x4 input pixels: 3 + (2 - 1) x 1 = 4 " * 3
    with recording_text() as drawn:
        panel = cells.text(canvas, [Line(sentence, SMALL)], width=300)
    assert panel.shape[1] <= 300
    assert len(drawn) > 3 and min(d.size_px for d in drawn) >= 720 / 45
    # A number cell too small for its text keeps the smallest size and is clipped.
    with recording_text() as drawn:
        cells.cell(canvas, "-0.123456", (20, 20), (60, 60, 60))
    assert min(d.size_px for d in drawn) >= 720 / 45
