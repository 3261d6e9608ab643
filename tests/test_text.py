"""Text on screen: DejaVu Sans through FreeType, any accent, sizes as asked, every line recorded."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

from app.views.draw import Line, font_px, render_panel, text_size, wrap_lines
from app.views.text import face, recording_text

VIEWS_DIR = Path(__file__).resolve().parent.parent / "app" / "views"


def ink_rows(mask: np.ndarray) -> np.ndarray:
    return np.flatnonzero(mask.max(axis=1) > 64)


@pytest.mark.parametrize(("plain", "accented"), [("n", "ñ"), ("a", "á"), ("E", "É"), ("?", "¿")])
def test_accented_letters_are_drawn_not_replaced(plain: str, accented: str) -> None:
    f = face(40)
    assert not np.array_equal(f.line(plain), f.line(accented))
    assert f.line(accented).max() == 255


def test_the_font_size_is_the_size_drawn() -> None:
    """A capital's ink is ~0.73 em (DejaVu's cap height) at every size: the size
    recorded for the tests is the size of the pixels on screen."""
    for size in (12, 24, 48):
        rows = ink_rows(face(size).line("H"))
        assert rows.size == pytest.approx(0.73 * size, abs=1.5)


def test_every_line_drawn_is_recorded_with_its_size() -> None:
    with recording_text() as drawn:
        render_panel([Line("¿Por qué una CNN?", 0.42), Line("núcleo", 0.8, bold=True)], 2.25)
    assert [(d.text, d.size_px, d.bold) for d in drawn] == [
        ("¿Por qué una CNN?", font_px(0.42, 2.25), False),
        ("núcleo", font_px(0.8, 2.25), True),
    ]
    assert font_px(0.42, 2.25) == 27  # 1080 / 40


def test_long_lines_wrap_at_spaces_within_the_width() -> None:
    text = "sin mapas de características: la etapa features está apagada o ha fallado"
    lines = wrap_lines([Line(text, 0.42)], 1.0, 200)
    assert len(lines) > 1 and " ".join(ln.text for ln in lines) == text
    assert all(text_size(ln, 1.0)[0] <= 200 for ln in lines)
    panel = render_panel([Line(text, 0.42)], 1.0, max_width=220)
    assert panel.shape[1] <= 220


def test_views_draw_text_only_through_the_recorded_renderer() -> None:
    """cv2.putText would bypass the font (no accents) and the text-size checks."""
    for path in VIEWS_DIR.glob("*.py"):
        assert not re.search(r"cv2\.putText|FONT_HERSHEY", path.read_text()), path.name
