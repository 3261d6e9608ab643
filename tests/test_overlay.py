"""Overlay: golden frames of hand-made results pin the edge cases; behaviour checks on alpha,
caching, sizes.

Regenerate the goldens after a deliberate layout change with
``CONVLENS_UPDATE_GOLDEN=1 .venv/bin/python -m pytest tests/test_overlay.py`` and look at
the PNGs before committing them (do it under each OpenCV major version you have:
``tests/golden/opencv4`` and ``tests/golden/opencv5``; see ``tests/goldens.py``).
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from app.controls.actions import key_legend
from app.display.compose import compose
from app.i18n import Message, language, tr
from app.stages.results import FrameResults
from app.status import MESSAGE_SEPARATOR, FrameStatus
from app.views import chrome
from app.views.chrome import draw_help
from app.views.draw import Line, fit_image
from app.views.renderer import OverlayRenderer, footer_figures
from app.views.text import recording_text
from tests import overlay_samples as samples
from tests.goldens import check_golden


def render_case(name: str) -> np.ndarray:
    status, results = samples.CASES[name]
    renderer = OverlayRenderer((samples.WIDTH, samples.HEIGHT), key_legend())
    overlay = renderer.render(status, results)
    return compose(samples.camera_frame(), overlay)


@pytest.mark.parametrize("name", sorted(samples.CASES))
def test_golden_frame(name: str) -> None:
    check_golden(f"overlay_{name}", render_case(name))


def test_goldens_differ_between_views() -> None:
    """A guard against a golden test that cannot fail: the views really look different."""
    camera = render_case("camera_digit")
    for other in ("kernel_stride2", "pooling", "features", "help", "camera_no_digit"):
        diff = np.abs(camera.astype(np.int16) - render_case(other).astype(np.int16))
        assert diff.mean() > 2.0, other


def test_camera_view_is_transparent_outside_its_panels() -> None:
    status, results = samples.CASES["camera_digit"]
    overlay = OverlayRenderer((640, 480)).render(status, results)
    assert overlay.shape == (480, 640, 4) and overlay.dtype == np.uint8
    # The ROI's inside and the middle of the frame show the camera.
    assert overlay[240, 320, 3] == 0 and overlay[200, 260, 3] == 0
    # The ROI box is drawn opaque in the "digit" colour (green) at its pixels.
    x0 = results.digit.roi_px[0]
    assert overlay[240, x0, 3] == 255 and overlay[240, x0, 1] > 200


def test_processed_views_are_opaque() -> None:
    for name in ("kernel_stride2", "pooling", "features"):
        status, results = samples.CASES[name]
        overlay = OverlayRenderer((640, 480)).render(status, results)
        assert (overlay[:, :, 3] == 255).all(), name


def test_processed_image_is_scaled_up_by_whole_blocks() -> None:
    image = np.arange(12, dtype=np.uint8).reshape(3, 4) * 20
    fitted = fit_image(image, 100, 100)
    assert fitted.shape == (75, 100)
    assert (fitted[:25, :25] == image[0, 0]).all() and (fitted[50:, 75:] == image[2, 3]).all()
    # Shrinking keeps the aspect ratio.
    assert fit_image(np.zeros((480, 640), np.uint8), 320, 320).shape == (240, 320)


def test_kernel_view_shows_the_output_at_the_true_size_ratio(monkeypatch) -> None:
    """Stride 2: an output pixel covers 2x2 input pixels on screen, beside the input."""
    from app.views.base import Canvas

    status, results = samples.CASES["kernel_stride2"]
    drawn = []
    real = Canvas.show_scaled

    def record(self, layer, image, where, scale):
        box = real(self, layer, image, where, scale)
        drawn.append((image, box, scale))
        return box

    monkeypatch.setattr(Canvas, "show_scaled", record)
    overlay = OverlayRenderer((640, 480)).render(status, results)
    (_, in_box, in_scale), (image, out_box, out_scale) = drawn[:2]
    assert image is results.kernel.image  # 120 x 160 at stride 2
    assert out_scale == pytest.approx(2 * in_scale)
    # The map covers the input's area (less its 1-px padding): the same size on screen.
    assert abs(out_box[2] - (in_box[2] - 2 * in_scale)) <= 2
    # Its pixels are the map's, scaled: the first row's grey levels, in order.
    x, y = out_box[0] + 1, out_box[1] + 1
    row = overlay[y, x : x + out_box[2] - 2, 0]
    assert set(np.unique(row)) <= set(np.unique(image[0]))


def test_static_parts_come_from_the_cache() -> None:
    status, results = samples.CASES["camera_digit"]
    renderer = OverlayRenderer((640, 480))
    renderer.render(status, results)
    misses = renderer.canvas.cache.misses
    for _ in range(5):
        digit = replace(results.digit, probs=results.digit.probs * 0.99)
        results = replace(results, digit=digit)
        renderer.render(status, results)
    assert renderer.canvas.cache.misses == misses  # bars changed, nothing was redrawn from scratch


def test_changed_text_is_redrawn() -> None:
    status, results = samples.CASES["camera_digit"]
    renderer = OverlayRenderer((640, 480))
    a = renderer.render(replace(status, fps=10.0), results)
    b = renderer.render(replace(status, fps=25.0), results)
    assert not np.array_equal(a, b)
    c = renderer.render(replace(status, fps=25.0, stride=3), results)
    assert not np.array_equal(b, c)


@pytest.mark.parametrize("size", [(320, 240), (1280, 720), (1920, 1080)])
def test_other_sizes_render_every_view(size: tuple[int, int]) -> None:
    renderer = OverlayRenderer(size)
    for name, (status, results) in samples.CASES.items():
        overlay = renderer.render(status, results)
        assert overlay.shape == (size[1], size[0], 4), name


def test_missing_results_still_render() -> None:
    renderer = OverlayRenderer((640, 480))
    for view in ("camera", "kernel", "pooling", "features"):
        overlay = renderer.render(FrameStatus(view=view, show_help=True), FrameResults())
        assert overlay.shape == (480, 640, 4)


def test_message_frame_is_a_bgr_picture_of_the_size() -> None:
    frame = OverlayRenderer((320, 240)).message_frame("no camera", "retrying in 2 s")
    assert frame.shape == (240, 320, 3) and frame.dtype == np.uint8
    assert frame.std() > 5  # there is text on it


def test_changing_figures_do_not_fill_the_static_cache() -> None:
    status, results = samples.CASES["camera_digit"]
    renderer = OverlayRenderer((640, 480))
    renderer.render(status, results)
    static = len(renderer.canvas.cache)
    for i in range(300):
        figures = replace(status, fps=10 + i / 10, stage_ms=(("digit", i / 7),), message=f"{i} s")
        conf = replace(results, digit=replace(results.digit, confidence=(i % 100) / 100))
        renderer.render(figures, conf)
    assert len(renderer.canvas.cache) == static
    assert len(renderer.canvas.volatile_cache) <= renderer.canvas.volatile_cache.capacity


@pytest.mark.parametrize("size", [(640, 480), (320, 240), (800, 480), (1920, 1080)])
def test_help_table_fits_the_frame_whatever_the_font_widths(size: tuple[int, int]) -> None:
    renderer = OverlayRenderer(size)
    panel = draw_help(renderer.canvas, key_legend(), opaque=False)
    assert panel.shape[1] <= size[0] - 2 * renderer.canvas.px(8)
    assert panel.shape[0] <= size[1]


@pytest.mark.parametrize("size", [(640, 480), (1024, 768), (1280, 720), (1920, 1080)])
@pytest.mark.parametrize("lang", ["en", "es"])
def test_the_help_table_leaves_the_header_and_the_message_whole(size, lang) -> None:
    """The table sits between the header and the footer's message (Spanish settings,
    longer, ran on under it at 1920x1080), even with the FROZEN line and a message: the
    header's rows are as without the help, the message's as the footer alone draws them,
    and the table's rows lie between."""
    renderer = OverlayRenderer(size, key_legend)
    message = "snapshot saved: snapshots/x"
    status = replace(samples.status(), language=lang, frozen=True, message=message)
    results = samples.digit_results()
    plain = renderer.render(status, results)
    helped = renderer.render(replace(status, show_help=True), results)
    alone = np.zeros_like(plain)
    with language(lang):
        top, _ = chrome.header(renderer.canvas, alone, status, "CAMERA", False)
        bottom = chrome.footer(renderer.canvas, alone, [], tr(message), False)
    np.testing.assert_array_equal(helped[:top], plain[:top])
    np.testing.assert_array_equal(helped[bottom:], alone[bottom:])
    table = np.flatnonzero((helped[top:bottom] != plain[top:bottom]).any(axis=(1, 2)))
    assert table.size > (bottom - top) // 2  # the table is drawn, in the band


THREE_PROBLEMS = (
    "camera lost (SourceError: picamera2: no frame within 2 s (the camera stopped delivering))",
    "stage 'features' switched off after 20 failures in a row (ValueError: broke)",
    "snapshot saved: snapshots/20261130-212233-camera.png",
)


@pytest.mark.parametrize("size", [(320, 240), (640, 480), (1920, 1080)])
def test_a_three_part_message_stays_on_the_screen_one_part_a_line(size) -> None:
    """The status message's parts (joined as the status board joins them) ran off the
    right edge on one line: each has a line of its own now, wrapped when it is long;
    every word is drawn and nothing reaches the right margin."""
    message = Message.joined(MESSAGE_SEPARATOR, list(THREE_PROBLEMS))
    renderer = OverlayRenderer(size, key_legend)
    status = replace(samples.status(), message=message)
    with recording_text() as drawn:
        overlay = renderer.render(status, samples.digit_results())
    m = renderer.canvas.px(8)
    alone = np.zeros_like(overlay)
    top = chrome.footer(renderer.canvas, alone, footer_figures(status), message, False)
    assert top > size[1] // 3  # the footer keeps to the bottom of the screen
    assert not overlay[top:, size[0] - m + 1 :, 3].any()  # nothing in the right margin
    words = " ".join(d.text for d in drawn).split()
    for part in THREE_PROBLEMS:
        assert " ".join(part.split()) in " ".join(words), part
    starts = [next(i for i, d in enumerate(drawn) if d.text.startswith(p[:12])) for p in
              THREE_PROBLEMS]  # fmt: skip
    assert starts == sorted(starts) and len(set(starts)) == 3  # three lines, in order


def test_a_column_panel_with_long_text_is_shrunk_to_its_column() -> None:
    renderer = OverlayRenderer((640, 480))

    long = [Line("NumPy ref 12.5 ms, diff 2e-07, and then some more words", 0.55)]
    panel = renderer.canvas.panel(long, opaque=True, width=200)
    assert panel.shape[1] <= 200
    short = renderer.canvas.panel([Line("in 240x320", 0.55)], opaque=True, width=200)
    assert short.shape[1] == 200  # width is also the minimum: columns stay aligned
