"""The on-screen size hint: too small below MIN_HEIGHT_PX, too large near the ROI's side."""

from __future__ import annotations

from app.reading.size_hint import MAX_HEIGHT, MIN_HEIGHT_PX, TOO_LARGE, TOO_SMALL, size_hint


def test_size_hint():
    assert size_hint(MIN_HEIGHT_PX - 1, 108) == TOO_SMALL
    assert size_hint(MIN_HEIGHT_PX, 108) is None
    assert size_hint(60, 108) is None
    assert size_hint(MAX_HEIGHT * 108, 108) is None
    assert size_hint(MAX_HEIGHT * 108 + 1, 108) == TOO_LARGE
    # Pixels, not the ROI's share, decide "too small": a sharper picture takes smaller digits.
    assert size_hint(20, 216) is None and size_hint(10, 54) == TOO_SMALL
