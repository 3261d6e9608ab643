"""The on-screen size hint: too small below MIN_HEIGHT_PX, too large near the ROI's side."""

from __future__ import annotations

from dataclasses import replace

from app.reading.size_hint import MAX_HEIGHT, MIN_HEIGHT_PX, TOO_LARGE, TOO_SMALL, size_hint


def test_size_hint():
    assert size_hint(MIN_HEIGHT_PX - 1, 108) == TOO_SMALL
    assert size_hint(MIN_HEIGHT_PX, 108) is None
    assert size_hint(60, 108) is None
    assert size_hint(MAX_HEIGHT * 108, 108) is None
    assert size_hint(MAX_HEIGHT * 108 + 1, 108) == TOO_LARGE
    # Pixels, not the ROI's share, decide "too small": a sharper picture takes smaller digits.
    assert size_hint(20, 216) is None and size_hint(10, 54) == TOO_SMALL


def test_the_camera_view_writes_the_hint_under_the_roi_box():
    """A digit 88 % of the ROI tall: "digit too large" under the box, in Spanish too."""
    from app.controls.actions import key_legend
    from app.stages.digit import DigitStage
    from app.stages.results import FrameResults
    from app.state import ViewState
    from app.status import Figures, frame_status
    from app.views.renderer import OverlayRenderer
    from app.views.text import recording_text
    from tests.digit_support import committed_classifier
    from tests.test_digit_reading import mnist_ink, paper_frame, run

    results = run(DigitStage(committed_classifier()), paper_frame(mnist_ink(1, 190)))
    assert results.digit.hint == TOO_LARGE
    renderer = OverlayRenderer((640, 480), key_legend(), frame_size=(640, 480))
    for language, words in (("en", "digit too large"), ("es", "dígito demasiado grande")):
        status = frame_status(ViewState(language=language), results.digit, Figures(), "")
        with recording_text() as drawn:
            renderer.render(status, results)
        texts = [d for d in drawn if d.text == words]
        assert texts, [d.text for d in drawn]
    # Without a hint, no such line.
    quiet = FrameResults(digit=replace(results.digit, hint=None))
    with recording_text() as drawn:
        renderer.render(frame_status(ViewState(), quiet.digit, Figures(), ""), quiet)
    assert not [d for d in drawn if d.text == "digit too large"]
