"""compose(): straight-alpha blend of an RGBA overlay onto a BGR frame."""

from __future__ import annotations

import numpy as np
import pytest

from app.display.compose import compose
from app.display.compose_tiles import covered_boxes
from app.errors import DisplayError


def reference(frame: np.ndarray, overlay: np.ndarray) -> np.ndarray:
    """The exactly rounded blend, in integers: round(n / 255) = (n + 127) // 255 (255 is
    odd, so n / 255 is never a half)."""
    alpha = overlay[..., 3:4].astype(np.int64)
    blend = overlay[..., 2::-1].astype(np.int64) * alpha + frame.astype(np.int64) * (255 - alpha)
    return ((blend + 127) // 255).astype(np.uint8)


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(7)


def test_random_alpha_matches_the_exact_blend(rng):
    frame = rng.integers(0, 256, (48, 64, 3), dtype=np.uint8)
    overlay = rng.integers(0, 256, (48, 64, 4), dtype=np.uint8)
    out = compose(frame, overlay)
    assert out.shape == (48, 64, 3) and out.dtype == np.uint8
    assert np.array_equal(out, reference(frame, overlay))
    # Not a trivial pass: the blend differs from both inputs.
    assert not np.array_equal(out, frame)


def test_every_overlay_frame_and_alpha_value_blends_exactly():
    """All 256**3 (overlay, frame, alpha) values, on the CPU the suite runs on (the arm64
    test bed runs it too): the same picture on a Pi as on a laptop."""
    values = np.arange(256, dtype=np.uint8)
    over, alpha = (v.reshape(256, 256) for v in np.meshgrid(values, values, indexing="ij"))
    overlay = np.stack([over, over, over, alpha], axis=-1)
    for start in range(0, 256, 32):
        frame_values = values[start : start + 32]
        tiled = np.broadcast_to(overlay, (32, 256, 256, 4)).reshape(32 * 256, 256, 4)
        frame = np.repeat(frame_values, 256 * 256 * 3).reshape(32 * 256, 256, 3)
        out = compose(frame, np.ascontiguousarray(tiled))
        assert np.array_equal(out, reference(frame, tiled)), f"frame values {start}-{start + 31}"


def test_transparent_overlay_gives_the_frame_and_opaque_gives_the_overlay(rng):
    frame = rng.integers(0, 256, (10, 12, 3), dtype=np.uint8)
    overlay = rng.integers(0, 256, (10, 12, 4), dtype=np.uint8)
    overlay[..., 3] = 0
    assert np.array_equal(compose(frame, overlay), frame)
    overlay[..., 3] = 255
    assert np.array_equal(compose(frame, overlay), overlay[..., 2::-1])


def test_channel_order_red_overlay_lands_in_bgr_red_channel():
    frame = np.zeros((4, 4, 3), np.uint8)
    overlay = np.zeros((4, 4, 4), np.uint8)
    overlay[1, 1] = (255, 0, 0, 128)  # half-transparent red
    out = compose(frame, overlay)
    assert tuple(out[1, 1]) == (0, 0, 128)
    assert out[0, 0].tolist() == [0, 0, 0]


def test_inputs_are_not_modified_and_output_is_new(rng):
    frame = rng.integers(0, 256, (8, 8, 3), dtype=np.uint8)
    overlay = rng.integers(0, 256, (8, 8, 4), dtype=np.uint8)
    frame_before, overlay_before = frame.copy(), overlay.copy()
    overlay_clear = overlay.copy()
    overlay_clear[..., 3] = 0
    out = compose(frame, overlay_clear)
    out[:] = 0
    compose(frame, overlay)
    assert np.array_equal(frame, frame_before) and np.array_equal(overlay, overlay_before)


def test_non_contiguous_frame_is_accepted(rng):
    big = rng.integers(0, 256, (20, 40, 3), dtype=np.uint8)
    frame = big[:, ::2]
    overlay = rng.integers(0, 256, (20, 20, 4), dtype=np.uint8)
    assert np.array_equal(compose(frame, overlay), reference(frame, overlay))


@pytest.mark.parametrize(
    ("frame", "overlay", "word"),
    [
        (np.zeros((4, 4), np.uint8), np.zeros((4, 4, 4), np.uint8), "frame"),
        (np.zeros((4, 4, 3), np.float32), np.zeros((4, 4, 4), np.uint8), "frame"),
        (np.zeros((4, 4, 3), np.uint8), np.zeros((0, 5, 4), np.uint8), "overlay"),
        (np.zeros((4, 4, 3), np.uint8), np.zeros((4, 4, 3), np.uint8), "overlay"),
        (np.zeros((4, 4, 3), np.uint8), None, "overlay"),
    ],
)
def test_bad_shapes_raise_one_line_display_error(frame, overlay, word):
    with pytest.raises(DisplayError, match=word) as info:
        compose(frame, overlay)
    assert "\n" not in str(info.value)


def with_alpha(alpha: np.ndarray) -> np.ndarray:
    """An (H, W, 4) RGBA overlay of (H, W) ``alpha``, its colour channels set everywhere
    (a transparent pixel's colour must not count as covered)."""
    overlay = np.full((*alpha.shape, 4), 255, np.uint8)
    overlay[..., 3] = alpha
    return overlay


def test_boxes_hold_every_covered_pixel_in_the_tiles_it_touches():
    alpha = np.zeros((100, 70), np.uint8)  # not a multiple of the tile: edges clipped
    alpha[0:5, 2] = 1  # a panel at the top left
    alpha[40:60, 40] = alpha[40:60, 59] = 255  # a box's two sides, 19 columns apart
    alpha[99, 69] = 200  # the last pixel
    boxes = covered_boxes(with_alpha(alpha), tile=16)
    assert boxes == [(0, 16, 0, 16), (32, 64, 32, 64), (96, 100, 64, 70)]
    assert covered_boxes(with_alpha(np.zeros((10, 4), np.uint8))) == []
    assert covered_boxes(with_alpha(np.full((10, 4), 7, np.uint8))) == [(0, 10, 0, 4)]


def test_an_outline_is_blended_along_its_sides_not_inside():
    alpha = np.zeros((256, 256), np.uint8)
    alpha[64:192, 64:192] = 255
    alpha[72:184, 72:184] = 0  # a hollow square, 8 px thick
    boxes = covered_boxes(with_alpha(alpha), tile=32)
    area = sum((bottom - top) * (right - left) for top, bottom, left, right in boxes)
    assert area == 128 * 128 - 64 * 64  # the four tiles inside are left out
    inside = np.zeros_like(alpha, bool)
    for top, bottom, left, right in boxes:
        assert not inside[top:bottom, left:right].any()  # disjoint
        inside[top:bottom, left:right] = True
    assert inside[alpha > 0].all()


@pytest.mark.parametrize("shape", [(120, 90), (37, 250), (1080, 1920)])
def test_random_sparse_overlays_equal_the_whole_blend(rng, shape):
    height, width = shape
    frame = rng.integers(0, 256, (height, width, 3), dtype=np.uint8)
    overlay = rng.integers(0, 256, (height, width, 4), dtype=np.uint8)
    overlay[..., 3] = 0
    for _ in range(12):  # panels, lines and dots of any alpha
        top, left = rng.integers(0, height), rng.integers(0, width)
        bottom = min(height, top + int(rng.integers(1, 60)))
        right = min(width, left + int(rng.integers(1, 300)))
        overlay[top:bottom, left:right, 3] = rng.integers(1, 256)
    np.testing.assert_array_equal(compose(frame, overlay), reference(frame, overlay))


def test_sparse_overlay_blends_only_its_boxes_and_equals_the_full_blend(rng):
    frame = rng.integers(0, 256, (120, 90, 3), dtype=np.uint8)
    overlay = rng.integers(0, 256, (120, 90, 4), dtype=np.uint8)
    overlay[..., 3] = 0
    overlay[:10, :40, 3] = 170  # settings panel
    overlay[60:62, 20:70, 3] = 255  # a box edge
    overlay[-8:, :, 3] = 90  # status line
    out = compose(frame, overlay)
    np.testing.assert_array_equal(out, reference(frame, overlay))
    np.testing.assert_array_equal(out[20:50], frame[20:50])  # rows with nothing: the frame


def test_an_overlay_at_the_screens_size_gets_the_frame_fitted_and_centred():
    """--screen 1920x1080 with a 640x480 camera: the picture is scaled to 1440x1080 in
    the middle (black bars), where app.screen.picture_box says the views drew around it."""
    from app.screen import picture_box

    frame = np.full((480, 640, 3), (10, 20, 30), np.uint8)
    overlay = np.zeros((1080, 1920, 4), np.uint8)
    overlay[0:10, 0:10] = (255, 255, 255, 255)
    out = compose(frame, overlay)
    assert out.shape == (1080, 1920, 3)
    assert picture_box((640, 480), (1920, 1080)) == (240, 0, 1440, 1080)
    assert out[540, 239].tolist() == [0, 0, 0] and out[540, 240].tolist() == [10, 20, 30]
    assert out[540, 1679].tolist() == [10, 20, 30] and out[540, 1680].tolist() == [0, 0, 0]
    assert out[5, 5].tolist() == [255, 255, 255]
