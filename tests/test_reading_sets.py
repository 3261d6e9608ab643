"""The evaluation sets: made from a seed alone, marks where their boxes say, cached."""

from __future__ import annotations

import numpy as np
import pytest

from benchmarks.reading_sets import sets
from benchmarks.reading_sets.camera import SEARCH_SIDE, Scene, photograph
from benchmarks.reading_sets.glyphs import draw_glyph, sheared
from benchmarks.reading_sets.handwriting import handwritten_digit
from benchmarks.reading_sets.pen import zhang_suen_skeleton


def test_the_same_seed_gives_the_same_set_and_another_seed_another():
    a = sets.numbers_set("dev", 6, seed=1)
    b = sets.numbers_set("dev", 6, seed=1)
    c = sets.numbers_set("dev", 6, seed=2)
    assert np.array_equal(a.lores, b.lores) and np.array_equal(a.labels, b.labels)
    assert not np.array_equal(a.lores, c.lores)
    assert a.lores.shape == (6, SEARCH_SIDE, SEARCH_SIDE) and a.main.shape == (6, 260, 260)
    assert [len(label) for label in a.labels] == [2, 3, 4, 2, 3, 4]


def test_sizes_are_what_they_say():
    data = sets.sizes_set("dev", 2, seed=3)
    assert len(data) == 2 * 2 * len(sets.SIZES)
    heights = data.boxes[:, 0, 3] - data.boxes[:, 0, 1]
    # The ink height as a share of the 108 px ROI (rotated by at most 5 degrees).
    np.testing.assert_allclose(heights / 108.0, data.attrs["height"], rtol=0.12)
    for picture, box in zip(data.lores, data.boxes[:, 0], strict=True):
        x0, y0, x1, y1 = np.round(box).astype(int)
        inside = picture[max(0, y0) : y1, max(0, x0) : x1].astype(float)
        # The darkest pixels are inside the box: the mark is where the box says.
        assert inside.min() <= np.percentile(picture, 1) + 1


def test_a_glyph_photographed_dark_on_light_and_sharper_in_main():
    glyph = handwritten_digit(4, np.random.default_rng(0))
    drawn = draw_glyph(glyph, 0.5 * 108 * 4, 2.0 * 4, supersample=1)
    shot = photograph(drawn.alpha, [drawn.box], Scene(noise=0.0, blur=0.3, contrast=0.8))
    assert shot.lores.min() < 0.4 * shot.lores.max()
    # The main stream is the same scene at twice the resolution.
    half = shot.main.reshape(SEARCH_SIDE, 2, SEARCH_SIDE, 2).mean(axis=(1, 3))
    assert np.abs(half - shot.lores).mean() < 2.0


def test_shear_leans_the_top_right():
    glyph = sheared(handwritten_digit(1, np.random.default_rng(1)), 0.5)
    points = np.concatenate(glyph.curves)
    top, bottom = points[points[:, 1] < 0.1], points[points[:, 1] > 0.9]
    assert top[:, 0].mean() > bottom[:, 0].mean() + 0.3


def test_skeleton_of_a_bar_is_one_pixel_wide():
    bar = np.zeros((20, 40), bool)
    bar[8:13, 5:35] = True
    skeleton = zhang_suen_skeleton(bar)
    assert skeleton.sum(axis=0)[10:30].max() == 1
    assert skeleton[:, 10:30].any(axis=0).all()


def test_the_cache_returns_what_was_made(tmp_path, monkeypatch):
    monkeypatch.setenv("CONVLENS_READING_CACHE", str(tmp_path))
    made = sets.load_set("nondigits", "dev", 6, seed=4, main=True)
    again = sets.load_set("nondigits", "dev", 6, seed=4)
    assert len(list(tmp_path.glob("nondigits-*.npz"))) == 1
    assert np.array_equal(made.lores, again.lores) and again.main is None
    assert list(again.attrs["group"]) == list(sets.nondigits.KINDS)
    with pytest.raises(ValueError, match="split"):
        sets.digit_glyphs("train", 1, 0)
