"""compose(): straight-alpha blend of an RGBA overlay onto a BGR frame."""

from __future__ import annotations

import numpy as np
import pytest

from app.display.compose import _blend, compose, covered_row_bands
from app.errors import DisplayError


def reference(frame: np.ndarray, overlay: np.ndarray) -> np.ndarray:
    alpha = overlay[..., 3:4].astype(np.float64) / 255.0
    rgb_as_bgr = overlay[..., 2::-1].astype(np.float64)
    return np.round(rgb_as_bgr * alpha + frame * (1.0 - alpha)).astype(np.uint8)


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(7)


def test_random_alpha_matches_float_reference_within_one(rng):
    frame = rng.integers(0, 256, (48, 64, 3), dtype=np.uint8)
    overlay = rng.integers(0, 256, (48, 64, 4), dtype=np.uint8)
    out = compose(frame, overlay)
    assert out.shape == (48, 64, 3) and out.dtype == np.uint8
    diff = np.abs(out.astype(int) - reference(frame, overlay).astype(int))
    assert diff.max() <= 1
    # Not a trivial pass: the blend differs from both inputs.
    assert not np.array_equal(out, frame)


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
    assert tuple(out[1, 1]) in {(0, 0, 128), (0, 0, 127)}
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
    diff = np.abs(compose(frame, overlay).astype(int) - reference(frame, overlay).astype(int))
    assert diff.max() <= 1


@pytest.mark.parametrize(
    ("frame", "overlay", "word"),
    [
        (np.zeros((4, 4), np.uint8), np.zeros((4, 4, 4), np.uint8), "frame"),
        (np.zeros((4, 4, 3), np.float32), np.zeros((4, 4, 4), np.uint8), "frame"),
        (np.zeros((4, 4, 3), np.uint8), np.zeros((4, 5, 4), np.uint8), "overlay"),
        (np.zeros((4, 4, 3), np.uint8), np.zeros((4, 4, 3), np.uint8), "overlay"),
        (np.zeros((4, 4, 3), np.uint8), None, "overlay"),
    ],
)
def test_bad_shapes_raise_one_line_display_error(frame, overlay, word):
    with pytest.raises(DisplayError, match=word) as info:
        compose(frame, overlay)
    assert "\n" not in str(info.value)


def test_row_bands_hold_every_covered_row_and_merge_close_ones():
    alpha = np.zeros((160, 8), np.uint8)
    alpha[0:5, 2] = 1  # a panel at the top
    alpha[12:14, 0] = 255  # 7 rows below it: merged (gaps under 160 / 16 rows)
    alpha[100, 7] = 9  # far below: a band of its own
    alpha[159] = 200  # the last row
    assert covered_row_bands(alpha) == [(0, 14), (100, 101), (159, 160)]
    assert covered_row_bands(np.zeros((10, 4), np.uint8)) == []


def test_sparse_overlay_blends_only_its_bands_and_equals_the_full_blend(rng):
    frame = rng.integers(0, 256, (120, 90, 3), dtype=np.uint8)
    overlay = rng.integers(0, 256, (120, 90, 4), dtype=np.uint8)
    overlay[..., 3] = 0
    overlay[:10, :40, 3] = 170  # settings panel
    overlay[60:62, 20:70, 3] = 255  # a box edge
    overlay[-8:, :, 3] = 90  # status line
    out = compose(frame, overlay)
    alpha = np.ascontiguousarray(overlay[..., 3])
    np.testing.assert_array_equal(out, _blend(frame, overlay, alpha))
    np.testing.assert_array_equal(out[20:50], frame[20:50])  # rows with nothing: the frame
    diff = np.abs(out.astype(int) - reference(frame, overlay).astype(int))
    assert diff.max() <= 1
