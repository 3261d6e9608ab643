"""The kernel inspector's 1-D mode: ``(x ∗ v)[n] = Σᵢ x[i] · v[n − i]`` on one picture row.

The row's values around ``n`` in cells, the kernel under them as the formula places it
(reversed for convolution: ``v[1]`` under ``x[n - 1]``), the products and their sum,
then the whole row and its filtered version as curves, ``n`` marked.
"""

from __future__ import annotations

import cv2
import numpy as np

from app.i18n import tr
from app.stages.results import InspectResult, KernelResult, RowConvolution
from app.state import ViewState
from app.views import cells
from app.views.base import BODY, SMALL, Canvas
from app.views.draw import AMBER, CYAN, GREEN, GREY, VIEW_BG, WHITE, Line, blit, fit_image

#: Row cells shown on each side of ``n``.
SIDE = 2
#: Colours of the row's curve and of the filtered row's.
X_COLOUR = (235, 235, 235)
Y_COLOUR = GREEN


def draw_row_formula(
    canvas: Canvas,
    layer: np.ndarray,
    state: ViewState,
    inspect: InspectResult,
    kernel: KernelResult,
    area: tuple[int, int, int, int],
) -> None:
    """The formula, the worked sum and the row's curves in ``area`` (x, y, w, h)."""
    x, y, w, h = area
    row = inspect.row
    head = cells.text(canvas, _formula_lines(row), width=w)
    blit(layer, head[:, :w], x, y)
    y += head.shape[0] + canvas.px(4)
    left_w = w * 56 // 100
    # Five rows of cells, a gap and two lines of sum under them.
    rows_h = area[1] + h - y - canvas.px(10) - canvas.px(62)
    step = (
        min(canvas.px(90), (left_w - canvas.px(96)) // (2 * SIDE + 1)),
        min(canvas.px(56), rows_h // 5),
    )
    _worked_sum(canvas, layer, row, (x, y, left_w), step)
    rx = x + left_w + canvas.px(10)
    rw, bottom = area[0] + w - rx, area[1] + h
    pic_h = (bottom - y) * 45 // 100
    _row_on_picture(canvas, layer, row, kernel, (rx, y, rw, pic_h))
    cy = y + pic_h + canvas.px(6)
    _curves(canvas, layer, row, (rx, cy, rw, bottom - cy))


def _formula_lines(row: RowConvolution) -> list[Line]:
    if row.flipped:
        formula = Line("(x ∗ v)[n] = Σᵢ x[i] · v[n − i]", 0.85, CYAN, True)
        note = Line(tr("convolution: the kernel is reversed under the row"), BODY, AMBER)
    else:
        formula = Line("(x ⋆ v)[n] = Σᵢ x[i] · v[i − n]", 0.85, CYAN, True)
        note = Line(tr("cross-correlation (what CNN layers compute): no reversal"), BODY, AMBER)
    where = tr("x = picture row {r} (1 = white); c: convolution / correlation").format(r=row.row)
    return [formula, note, Line(where, SMALL, GREY)]


def _worked_sum(
    canvas: Canvas,
    layer: np.ndarray,
    row: RowConvolution,
    where: tuple[int, int, int],
    step: tuple[int, int],
) -> None:
    """v as written; then rows of cells: i, x[i], v under x[i], products; then the sum."""
    x, y, w = where
    sx, sy = step
    label_w = canvas.px(96)
    peak = float(np.abs(row.v).max()) or 1.0
    written = [
        (f"v[{row.v_first + i}]\n{cells.value_text(float(v))}", cells.signed_colour(float(v), peak))
        for i, v in enumerate(row.v)
    ]
    _label(canvas, layer, tr("v as written"), (x, y, label_w), sy)
    for c, (text, colour) in enumerate(written):
        patch = cells.cell(canvas, text, (sx - 2, sy - 2), colour, font=0.45)
        blit(layer, patch, x + label_w + c * sx, y)
    y += sy + canvas.px(10)
    n, width = row.n, row.x.size
    taps = {term[0]: term for term in row.terms}
    labels = ["i", "x[i]", "v[n − i]" if row.flipped else "v[i − n]", tr("product")]
    for r, label in enumerate(labels):
        _label(canvas, layer, label, (x, y + r * sy, label_w), sy)
    for c, i in enumerate(range(n - SIDE, n + SIDE + 1)):
        inside = 0 <= i < width
        xi = float(row.x[i]) if inside else 0.0
        column = [
            ("n" if i == n else f"n{i - n:+d}", (44, 46, 54)),
            (cells.value_text(xi), cells.grey_of(xi) if inside else cells.PAD_BG),
        ]
        term = taps.get(i)
        if term is None:
            column += [("", VIEW_BG), ("", VIEW_BG)]
        else:
            _, _, t, vt, product = term
            column += [
                (f"v[{t}]\n{cells.value_text(vt)}", cells.signed_colour(vt, peak)),
                (cells.value_text(product), cells.signed_colour(product, peak)),
            ]
        for r, (text, colour) in enumerate(column):
            patch = cells.cell(canvas, text, (sx - 2, sy - 2), colour, font=0.45)
            blit(layer, patch, x + label_w + c * sx, y + r * sy)
    y += 4 * sy + canvas.px(4)
    terms = " + ".join(_term(t[4]) for t in row.terms)
    value = cells.value_text(float(row.y[n]), 3)
    lines = [
        Line(f"({'x ∗ v' if row.flipped else 'x ⋆ v'})[n] = {terms}", BODY, WHITE),
        Line(tr("= {v}").format(v=value), 0.8, GREEN, True),
    ]
    blit(layer, cells.text(canvas, lines, volatile=True)[:, :w], x, y)


def _label(
    canvas: Canvas, layer: np.ndarray, text: str, where: tuple[int, int, int], step: int
) -> None:
    x, y, w = where
    head = cells.text(canvas, [Line(text, BODY, CYAN, True)], width=w)
    blit(layer, head[:, :w], x, y + (step - head.shape[0]) // 2)


def _term(v: float) -> str:
    text = cells.value_text(v)
    return f"({text})" if text.startswith("-") else text


def _row_on_picture(
    canvas: Canvas,
    layer: np.ndarray,
    row: RowConvolution,
    kernel: KernelResult,
    area: tuple[int, int, int, int],
) -> None:
    """The picture with the row drawn across it and ``n`` marked."""
    x, y, w, h = area
    assert kernel.input is not None
    picture = (np.clip(kernel.input, 0, 1) * 255).astype(np.uint8)
    fitted = fit_image(picture, w, h, integer_zoom=False)
    fh, fw = fitted.shape[:2]
    if fh == 0 or fw == 0:
        return
    cells.put_grey(layer, fitted, x, y)
    f = fw / picture.shape[1]
    ry = y + round((row.row + 0.5) * f)
    cv2.line(layer, (x, ry), (x + fw - 1, ry), (*AMBER, 255), canvas.px(1))
    nx = x + round((row.n + 0.5) * f)
    cv2.circle(layer, (nx, ry), canvas.px(4), (*CYAN, 255), canvas.px(2), cv2.LINE_AA)


def _curves(
    canvas: Canvas, layer: np.ndarray, row: RowConvolution, area: tuple[int, int, int, int]
) -> None:
    """x along the row (0..1) above, (x ∗ v) below (-1..1), same columns, n marked; each
    curve under its caption (a white paper's row runs along the top of its box)."""
    x, y, w, h = area
    if w < 20 or h < 40:
        return
    gap = canvas.px(4)
    half = (h - gap) // 2
    for values, (lo, hi), colour, caption, top in (
        (row.x, (0.0, 1.0), X_COLOUR, tr("x: the row"), y),
        (row.y, (-1.0, 1.0), Y_COLOUR, "(x ∗ v)" if row.flipped else "(x ⋆ v)", y + half + gap),
    ):
        # The row changes when the inspector's numbers do (a few times a second): the
        # anti-aliased curve is drawn then, and copied in between.
        key = ("curve", caption, values.tobytes(), row.n, w, half, colour)

        def make(values=values, lo=lo, hi=hi, colour=colour, caption=caption) -> np.ndarray:
            box = _plot_box(canvas, caption, (0, 0, w, half), (lo, hi), colour).copy()
            top = min(half // 2, _caption(canvas, caption, colour).shape[0] + canvas.px(2))
            _polyline(box, values, (lo, hi), (0, top, w, half - top), colour, canvas.px(2))
            nx = round((row.n + 0.5) * w / max(1, values.size))
            cv2.line(box, (nx, 0), (nx, half - 1), (*CYAN, 255), canvas.px(1))
            return box

        blit(layer, cells.cached(canvas, key, make), x, top)


def _plot_box(
    canvas: Canvas,
    caption: str,
    area: tuple[int, int, int, int],
    value_range: tuple[float, float],
    colour: tuple[int, int, int],
) -> np.ndarray:
    """The static part of a curve's box: frame, zero line, caption; cached."""
    _, _, w, h = area

    def make() -> np.ndarray:
        out = np.empty((h, w, 4), np.uint8)
        out[:] = (*VIEW_BG, 255)
        cv2.rectangle(out, (0, 0), (w - 1, h - 1), (*GREY, 255), 1)
        lo, hi = value_range
        label = _caption(canvas, caption, colour)
        if lo < 0 < hi:
            top = min(h // 2, label.shape[0] + canvas.px(2))
            zy = top + round((h - 1 - top) * hi / (hi - lo))
            cv2.line(out, (0, zy), (w - 1, zy), (70, 72, 80, 255), 1)
        blit(out, label[:h, :w], canvas.px(3), 1)
        return out

    return cells.cached(canvas, ("plot_box", caption, w, h, value_range, colour), make)


def _polyline(
    layer: np.ndarray,
    values: np.ndarray,
    value_range: tuple[float, float],
    area: tuple[int, int, int, int],
    colour: tuple[int, int, int],
    thickness: int,
) -> None:
    x, y, w, h = area
    lo, hi = value_range
    n = values.size
    if n < 2:
        return
    xs = x + (np.arange(n) + 0.5) * (w / n)
    ys = y + (hi - np.clip(values, lo, hi)) * ((h - 1) / (hi - lo))
    points = np.stack([xs, ys], axis=1).round().astype(np.int32)
    cv2.polylines(layer, [points], False, (*colour, 255), thickness, cv2.LINE_AA)


def _caption(canvas: Canvas, caption: str, colour: tuple[int, int, int]) -> np.ndarray:
    """A curve box's caption (cached): its height is the strip the curve stays under."""
    return cells.text(canvas, [Line(caption, SMALL, colour, True)])
