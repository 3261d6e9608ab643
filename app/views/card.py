"""The prediction card: the digit shown, its confidence and a bar per class, from a DigitResult.

The camera and the features views both show it. It is put together from cached pieces:
the background with the bar slots and labels (per status), the title (per digit), the
highlighted label (per digit) and the confidence (per percent); only the bars are drawn
each frame, so a new prediction costs no more than a repeated one.
"""

from __future__ import annotations

from typing import Any

import cv2
import numpy as np

from app.i18n import N_, current_language, tr
from app.stages.results import DIGIT, NO_DIGIT, UNAVAILABLE, DigitResult, ReferenceRun
from app.views.base import SMALL, Canvas
from app.views.draw import (
    AMBER,
    GREEN,
    GREY,
    PANEL_BG,
    VIEW_BG,
    WHITE,
    Line,
    blit,
    fill,
    flatten,
    over,
    render_panel,
)


def status_color(status: str) -> tuple[int, int, int]:
    """Green for a digit, amber for none, grey when the classifier is unavailable."""
    return {DIGIT: GREEN, NO_DIGIT: AMBER}.get(status, GREY)


def digit_label(digit: DigitResult | None) -> str:
    """The ROI's tag: ``"7  86%"``, ``"no digit"`` or ``"classifier unavailable"``."""
    if digit is not None and digit.status == DIGIT and digit.prediction is not None:
        return f"{int(digit.prediction)}  {digit.confidence * 100:.0f}%"
    if digit is not None and digit.status == NO_DIGIT:
        return tr("no digit")
    return tr("classifier unavailable")


def reference_text(ref: ReferenceRun) -> str:
    """The NumPy reference network's run: its time and agreement ("; " splits lines)."""
    if ref.error:
        return tr("NumPy ref unavailable: {error}").format(error=ref.error)
    ms = f"{ref.ms:.1f}"
    if ref.prediction is not None:
        said = tr("NumPy ref {ms} ms, says {digit}").format(ms=ms, digit=ref.prediction)
    else:
        said = tr("NumPy ref {ms} ms").format(ms=ms)
    return said + "; " + tr("max |diff| {diff}").format(diff=f"{ref.max_abs_diff:.1g}")


def card_height(canvas: Canvas, digit: DigitResult | None, *, opaque: bool, width: int) -> int:
    """The height in pixels ``prediction_card`` will draw (to place it above the footer)."""
    return int(_card(canvas, digit, opaque, width)[0].shape[0])


def _card(
    canvas: Canvas, digit: DigitResult | None, opaque: bool, width: int
) -> tuple[np.ndarray, dict[str, Any]]:
    """The cached card background (slots, labels, runtime) and its geometry."""
    status = digit.status if digit is not None else UNAVAILABLE
    # The card is narrow: the runtime's name and version; the footer has the rest.
    runtime = tr(digit.runtime).split(",")[0] if digit is not None and digit.runtime else ""
    reason = (digit.reason if digit is not None else None) or ""
    key = ("card", status, runtime, reason, opaque, width, current_language())
    return canvas.cache.get(key, lambda: _draw_card(canvas, status, runtime, reason, opaque, width))


def prediction_card(
    canvas: Canvas,
    layer: np.ndarray,
    digit: DigitResult | None,
    where: tuple[int, int],
    *,
    opaque: bool,
    width: int = 190,
) -> int:
    """Draw the card ``width`` units wide with its top left at ``where``; return its height."""
    status = digit.status if digit is not None else UNAVAILABLE
    values: np.ndarray | None = None
    if digit is not None and status != UNAVAILABLE:
        values = np.clip(np.asarray(digit.probs, np.float32).ravel()[:10], 0.0, 1.0)
        if values.size != 10:
            values = None
    # All-zero probabilities (no digit for a while) highlight no class.
    best = int(np.argmax(values)) if values is not None and values.max() > 0 else -1
    color = status_color(status)
    card, geometry = _card(canvas, digit, opaque, width)
    x, y = where
    blit(layer, card, x, y)
    if digit is not None and status == DIGIT and digit.prediction is not None:
        line = Line(tr("digit {n}").format(n=int(digit.prediction)), 0.9, color, True)
        title = canvas.panel([line], opaque=opaque)
        blit(layer, title[:, : card.shape[1]], x, y)
        text = canvas.panel(
            [Line(tr("confidence {p}%").format(p=f"{digit.confidence * 100:.0f}"), SMALL, WHITE)],
            opaque=opaque,
            volatile=True,
        )
        blit(layer, text[:, : card.shape[1]], x, y + geometry["conf_y"])
    if values is not None:
        _bars(canvas, layer, values, best, color, (x, y), geometry, opaque)
    return card.shape[0]


def _bars(
    canvas: Canvas,
    layer: np.ndarray,
    values: np.ndarray,
    best: int,
    color: tuple[int, int, int],
    where: tuple[int, int],
    geometry: dict[str, Any],
    opaque: bool,
) -> None:
    x, y = where
    slots, base_y, bar_h = geometry["slots"], geometry["base_y"], geometry["bar_h"]
    if best >= 0:
        label = canvas.cache.get(
            ("label", best, opaque),
            lambda: render_panel(
                [Line(str(best), SMALL, WHITE, True)],
                canvas.scale,
                pad=1,
                bg_alpha=185,
                flatten_on=VIEW_BG if opaque else None,
            ),
        )
        bx0, bx1 = slots[best]
        blit(layer, label, x + (bx0 + bx1 - label.shape[1]) // 2, y + base_y + canvas.px(2))
    for i, (bx0, bx1) in enumerate(slots):
        bh = round(bar_h * float(values[i]))
        if bh > 0:
            shade = color if i == best else (150, 150, 160)
            layer[y + base_y - bh : y + base_y, x + bx0 : x + bx1] = (*shade, 255)


def _card_head(canvas: Canvas, status: str, reason: str, width_px: int) -> np.ndarray | None:
    color = status_color(status)
    if status == NO_DIGIT:
        head = [
            Line(tr("no digit"), 0.9, color, True),
            Line(tr(reason or N_("ROI looks empty")), SMALL, GREY),
        ]
    elif status != DIGIT:
        head = [
            Line(tr("no classifier"), 0.8, color, True),
            Line(tr(reason or N_("model unavailable")), SMALL, GREY),
        ]
    else:
        return None
    return render_panel(head, canvas.scale, width=width_px, bg_alpha=0)


def _draw_card(
    canvas: Canvas, status: str, runtime: str, reason: str, opaque: bool, width: int
) -> tuple[np.ndarray, dict[str, Any]]:
    px = canvas.px
    w = px(width)
    color = status_color(status)
    title = canvas.panel([Line(tr("digit {n}").format(n=0), 0.9, color, True)], opaque=opaque)
    conf = canvas.panel([Line(tr("confidence {p}%").format(p=0), SMALL, WHITE)], opaque=opaque)
    conf_y = title.shape[0] - px(6)
    head_h = conf_y + conf.shape[0]
    top = _card_head(canvas, status, reason, w)
    if top is not None:
        head_h = max(head_h, top.shape[0])
    bars_h, label_h = px(70), px(16)
    foot = (
        render_panel([Line(runtime, SMALL, GREY)], canvas.scale, width=w, bg_alpha=0)
        if runtime
        else None
    )
    foot_h = foot.shape[0] if foot is not None else 0
    out = np.zeros((head_h + bars_h + label_h + px(6) + foot_h, w, 4), np.uint8)
    fill(out, (*PANEL_BG, 185))
    if top is not None:
        over(out, top, 0, 0)
    pad = px(8)
    slot = (w - 2 * pad) / 10.0
    base_y = head_h + bars_h
    slots = []
    for i in range(10):
        bx0 = round(pad + i * slot + slot * 0.15)
        bx1 = round(pad + (i + 1) * slot - slot * 0.15)
        slots.append((bx0, bx1))
        top_y = base_y - bars_h + px(4)
        cv2.rectangle(out, (bx0, top_y), (bx1 - 1, base_y - 1), (60, 60, 68, 230), -1)
        digit = render_panel([Line(str(i), SMALL, GREY)], canvas.scale, bg_alpha=0, pad=1)
        over(out, digit, (bx0 + bx1 - digit.shape[1]) // 2, base_y + px(2))
    if foot is not None:
        over(out, foot, 0, base_y + label_h + px(4))
    if opaque:
        flatten(out, VIEW_BG)
    out.flags.writeable = False
    geometry = {"slots": slots, "base_y": base_y, "bar_h": bars_h - px(4), "conf_y": conf_y}
    return out, geometry
