"""Composer: the picture and the overlay's blend terms kept from frame to frame, and every
frame still exactly the blend of its own overlay."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from app.display.compose import Composer, compose
from app.display.compose_tiles import covered_tiles, is_opaque, pixel_words
from app.screen import picture_box
from tests.test_display_compose import reference


def fitted(frame: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """The frame scaled onto a black (h, w, 3) picture of ``size`` (w, h), as views expect."""
    x, y, w, h = picture_box((frame.shape[1], frame.shape[0]), size)
    out = np.zeros((size[1], size[0], 3), np.uint8)
    out[y : y + h, x : x + w] = cv2.resize(frame, (w, h), interpolation=cv2.INTER_LINEAR)
    return out


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(11)


def test_one_overlay_array_redrawn_in_place_frame_after_frame(rng):
    """The loop draws each overlay into one of two arrays it reuses: a change inside the
    covered tiles, a new panel, nothing, everything opaque and back all show up at once."""
    size = (160, 90)  # the screen: a 4:3 frame gets bars at the sides
    layer = np.zeros((90, 160, 4), np.uint8)
    steps = [
        lambda o: o.__setitem__((slice(0, 10), slice(0, 60)), (20, 20, 20, 185)),  # a panel
        lambda o: None,  # the same overlay again
        lambda o: o.__setitem__((slice(2, 5), slice(3, 9)), (250, 250, 250, 255)),  # its text
        lambda o: o.__setitem__((slice(80, 90), slice(0, 160)), (0, 90, 0, 90)),  # a footer
        lambda o: o.__setitem__((slice(80, 90), slice(0, 160), 3), 0),  # the footer gone
        lambda o: o.__setitem__(..., 0),  # nothing
        lambda o: o.__setitem__(..., (1, 2, 3, 255)),  # opaque: hides the frame
        lambda o: o.__setitem__((slice(40, 50), slice(0, 160), 3), 7),  # and partly again
    ]
    composer = Composer()
    for i, step in enumerate(steps):
        step(layer)
        frame = rng.integers(0, 256, (30, 40, 3), np.uint8)
        out = composer.compose(frame, layer)
        expected = reference(fitted(frame, size), layer)
        np.testing.assert_array_equal(out, expected, err_msg=f"step {i}")


@pytest.mark.parametrize(
    ("frame_shape", "screen"),
    [((30, 40), (160, 90)), ((36, 64), (120, 90))],  # bars at the sides, above and below
)
def test_bars_are_black_again_after_a_panel_was_blended_on_them(rng, frame_shape, screen):
    frame = rng.integers(0, 256, (*frame_shape, 3), np.uint8)
    overlay = np.full((screen[1], screen[0], 4), (255, 255, 255, 200), np.uint8)
    composer = Composer()
    composer.compose(frame, overlay)  # blended everywhere, the bars too
    overlay[:] = 0
    out = composer.compose(frame, overlay)
    assert picture_box((frame_shape[1], frame_shape[0]), screen)[:2] != (0, 0)  # bars
    np.testing.assert_array_equal(out, fitted(frame, screen))


def test_the_picture_is_the_composers_and_compose_gives_a_new_one(rng):
    frame = rng.integers(0, 256, (8, 8, 3), np.uint8)
    overlay = np.zeros((8, 8, 4), np.uint8)
    composer = Composer()
    assert composer.compose(frame, overlay) is composer.compose(frame, overlay)
    assert compose(frame, overlay) is not compose(frame, overlay)


def test_a_new_size_gets_a_new_picture(rng):
    composer = Composer()
    for shape in [(8, 8), (6, 10), (8, 8)]:
        frame = rng.integers(0, 256, (*shape, 3), np.uint8)
        overlay = rng.integers(0, 256, (*shape, 4), np.uint8)
        np.testing.assert_array_equal(composer.compose(frame, overlay), reference(frame, overlay))


@pytest.mark.parametrize("shape", [(64, 64), (70, 33), (5, 100), (31, 1)])
def test_covered_tiles_are_the_tiles_with_a_nonzero_alpha(rng, shape):
    overlay = rng.integers(0, 256, (*shape, 4), np.uint8)
    alpha = np.where(rng.random(shape) < 0.01, rng.integers(1, 256, shape), 0)
    overlay[..., 3] = alpha
    tiles = covered_tiles(pixel_words(overlay), 16)
    rows, columns = -(-shape[0] // 16), -(-shape[1] // 16)
    assert tiles.shape == (rows, columns)
    for r in range(rows):
        for c in range(columns):
            assert tiles[r, c] == alpha[r * 16 : r * 16 + 16, c * 16 : c * 16 + 16].any()


def test_pixel_words_of_a_view_and_is_opaque():
    overlay = np.zeros((4, 6, 4), np.uint8)
    overlay[..., 3] = 255
    view = overlay[:, 1:5]  # not contiguous: rows are 6 pixels apart
    assert is_opaque(pixel_words(view))
    overlay[2, 3, 3] = 254
    assert not is_opaque(pixel_words(view))
    assert pixel_words(view)[2, 2] == (254 << 24)
