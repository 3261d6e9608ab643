"""The kernel and pooling views on a projector (issue 12): the kernel view shows its input
beside its output at one scale, padding is drawn as padding (tinted band, its width in
pixels, the corner enlarged), and the room under the settings holds a worked example."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from app.config import config_from_dict
from app.i18n import language, tr
from app.loop import CaptureLoop, LoopOptions
from app.sources.demo import DemoSource
from app.stages.pipeline import build_pipeline
from app.state import ViewState
from app.views import chrome
from app.views import padding as padding_view
from app.views.base import MARGIN, Canvas
from app.views.cells import PAD_HATCH
from app.views.draw import CYAN, VIEW_BG
from app.views.maps import COLUMN_W
from app.views.renderer import OverlayRenderer
from app.views.text import recording_text
from tests.loop_fakes import RecordingDisplay

SCREEN = (1920, 1080)


def run(view: str, **settings):
    """The demo scene through the real stages; the last frame's status and results."""
    config = config_from_dict({"model": {"backend": "numpy"}})
    display = RecordingDisplay()
    loop = CaptureLoop(
        DemoSource(size=(640, 480), seed=0, realtime=False),
        display,
        build_pipeline(config),
        state=ViewState(view=view, **settings),
        options=LoopOptions(),
    )
    loop.run(max_frames=3)
    return display.statuses[-1], loop.last_results


def draw(monkeypatch, status, results, screen=SCREEN):
    """Render, recording every picture drawn by show_scaled: (image shape, box, scale)."""
    drawn = []
    real = Canvas.show_scaled

    def record(self, layer, image, where, scale):
        box = real(self, layer, image, where, scale)
        drawn.append((image.shape, box, scale))
        return box

    monkeypatch.setattr(Canvas, "show_scaled", record)
    layer = OverlayRenderer(screen, frame_size=(640, 480)).render(status, results)
    return layer, drawn


@pytest.mark.parametrize(("stride", "padding"), [(1, "zero"), (2, "zero"), (3, "valid")])
def test_the_kernel_view_shows_its_input_beside_its_output_at_one_scale(
    monkeypatch, stride, padding
) -> None:
    status, results = run("kernel", stride=stride, padding=padding)
    _, drawn = draw(monkeypatch, status, results)
    kernel = results.kernel
    p = kernel.padding
    (in_shape, in_box, in_scale), (out_shape, out_box, out_scale) = drawn[:2]
    # The input as the kernel slid over it: its padding around it.
    assert in_shape == (kernel.in_shape[0] + 2 * p, kernel.in_shape[1] + 2 * p)
    assert out_shape == kernel.out_shape
    # One output pixel covers `stride` input pixels: the same scale for both pictures.
    assert out_scale == pytest.approx(in_scale * stride)
    assert in_box[0] + in_box[2] <= out_box[0]  # side by side, input first
    # Each output pixel sits level with the input pixels it covers (window centres).
    assert out_box[1] == in_box[1] + round(kernel.matrices[0].shape[0] // 2 * in_scale)


def test_zero_padding_is_a_tinted_band_with_its_width_written_and_its_corner_enlarged(
    monkeypatch,
) -> None:
    status, results = run("kernel", padding="zero")
    with recording_text() as texts:
        layer, drawn = draw(monkeypatch, replace(status, language="es"), results)
    lines = {t.text for t in texts}
    with language("es"):
        caption = tr("input {rows}x{cols} + {p} px of padding (zeros)")
    assert caption.format(rows=240, cols=320, p=1) in lines
    _, (x, y, w, _), scale = drawn[0]
    # The band: zero padding (black) seen through the padding tint, a scale wide.
    band = layer[y + 1 : y + 1 + max(1, int(scale) - 1), x + w // 2, :3].astype(int)
    tinted = (np.array(PAD_HATCH) * 0.55).round()
    assert (np.abs(band - tinted) <= 2).all(), band
    # Inside the band, the picture itself (light paper), not tinted.
    inside = layer[y + 1 + 2 * round(scale) + 2, x + w // 2, :3]
    assert inside.min() > 120
    # The enlarged corner: padding cells tinted, the first window outlined in cyan.
    corner_shape, (cx, cy, cw, ch), cell = drawn[-1]
    assert corner_shape == (5, 5) and cell >= SCREEN[1] / 60
    side = round(cell)
    padding_cell = layer[cy + 1 + side // 2, cx + 1 + 4 * side + side // 2, :3].astype(int)
    picture_cell = layer[cy + 1 + 4 * side + side // 2, cx + 1 + 4 * side + side // 2, :3]
    assert (np.abs(padding_cell - tinted) <= 2).all() and picture_cell.min() > 120
    assert (layer[cy + 1 : cy + ch, cx + 1 : cx + cw, :3] == CYAN).all(axis=2).any()


def test_without_padding_the_picture_has_no_band_and_the_corner_says_what_is_lost(
    monkeypatch,
) -> None:
    status, results = run("kernel", padding="valid")
    with recording_text() as texts:
        layer, drawn = draw(monkeypatch, status, results)
    lines = " ".join(t.text for t in texts)
    assert "no padding" in lines and "2 px" in lines
    _, (x, y, w, _), _ = drawn[0]
    assert drawn[0][0] == results.kernel.in_shape
    # The edge row is the picture's own (light paper), not the padding colour.
    assert layer[y + 1, x + w // 2, :3].min() > 120


@pytest.mark.parametrize("mode", ["max", "avg"])
def test_the_pooling_view_works_one_window_out_under_the_settings(monkeypatch, mode) -> None:
    status, results = run("pooling", pool_mode=mode, pool_size=2)
    with recording_text() as texts:
        layer, drawn = draw(monkeypatch, status, results)
    window = results.pool.window
    lines = [t.text for t in texts]
    for value in window.values.ravel():
        assert padding_view.cells.value_text(float(value)) in lines
    word = "max" if mode == "max" else "average"
    assert f"{word} = {padding_view.cells.value_text(window.value)}" in lines
    assert any(line.startswith("of these 4 values") for line in lines), lines
    # The window is outlined on both pictures, at the same place and size.
    (_, before, scale), (_, after, _) = drawn[:2]
    r, c = window.unit
    for box in (before, after):
        x0 = round(box[0] + 1 + c * 2 * scale)
        y0 = round(box[1] + 1 + r * 2 * scale)
        ring = layer[y0 - 3 : y0 + round(2 * scale) + 3, x0 - 3 : x0 + round(2 * scale) + 3, :3]
        assert (ring == (255, 190, 60)).all(axis=2).any()


@pytest.mark.parametrize("view", ["kernel", "pooling"])
def test_the_column_starts_under_a_header_that_would_reach_it(view) -> None:
    """Spanish at 640x480: the header is wider than the room left of the column, which
    then starts under it instead of covering its end."""
    status, results = run(view)
    status = replace(status, language="es")
    renderer = OverlayRenderer((640, 480), frame_size=(640, 480))
    layer = renderer.render(status, results)
    with language("es"):
        top, right = chrome.header(renderer.canvas, layer.copy(), status, "X", True)
    col_x = 640 - renderer.canvas.px(COLUMN_W) - renderer.canvas.px(MARGIN)
    assert right > col_x  # the case this test is about
    # Right of the header's end and above its bottom: the view's background only.
    assert (layer[:top, right + 1 :, :3] == VIEW_BG).all()
