"""Drawing primitives for the views: text panels, a patch cache, blits, images, legends on RGBA.

Layers and patches are (h, w, 4) uint8 RGBA with straight alpha; sizes are in pixels of
the layer, font scales at a 480-row screen times the layout scale ``s``.
"""

from __future__ import annotations

import math
import unicodedata
from collections import OrderedDict
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np

FONT = cv2.FONT_HERSHEY_SIMPLEX
FONT_BOLD = cv2.FONT_HERSHEY_DUPLEX

# Colours are RGB (the layer is RGBA).
WHITE = (245, 245, 245)
GREY = (170, 170, 175)
DIM = (120, 120, 128)
GREEN = (90, 230, 110)
AMBER = (255, 190, 60)
RED = (255, 90, 80)
CYAN = (90, 210, 255)
PANEL_BG = (12, 12, 16)
#: Background of the opaque processed views.
VIEW_BG = (28, 30, 36)

# Hershey fonts draw ASCII only: spell out the few other characters the app uses.
_ASCII = {"←": "Left", "→": "Right", "↑": "Up", "↓": "Down", "·": "|", "×": "x", "—": "-", "–": "-"}
_ASCII.update({"¿": "", "¡": "", "°": " deg", "√": "sqrt", "²": "^2", "…": "..."})


def ascii_text(text: str) -> str:
    """``text`` with the characters the fonts cannot draw replaced (accents dropped)."""
    if text.isascii():
        return text
    out = "".join(_ASCII.get(ch, ch) for ch in text)
    out = "".join(ch for ch in unicodedata.normalize("NFKD", out) if not unicodedata.combining(ch))
    return out.encode("ascii", "replace").decode("ascii")


@dataclass(frozen=True)
class Line:
    """One line of a text panel: text, font scale (at 480 rows), RGB colour, bold."""

    text: str
    scale: float = 0.55
    color: tuple[int, int, int] = WHITE
    bold: bool = False


def _thickness(scale: float, bold: bool) -> int:
    return max(1, round(scale * (2.4 if bold else 1.8)))


def text_size(line: Line, s: float) -> tuple[int, int, int]:
    """(width, height above baseline, depth below) of ``line`` at layout scale ``s``."""
    font = FONT_BOLD if line.bold else FONT
    thick = _thickness(line.scale * s, line.bold)
    (w, h), base = cv2.getTextSize(ascii_text(line.text), font, line.scale * s, thick)
    return w, h, base


def render_panel(
    lines: Sequence[Line],
    s: float,
    *,
    width: int | None = None,
    pad: int = 6,
    gap: int = 5,
    bg: tuple[int, int, int] = PANEL_BG,
    bg_alpha: int = 185,
    flatten_on: tuple[int, int, int] | None = None,
) -> np.ndarray:
    """A box of text lines: (h, w, 4) uint8 RGBA, anti-aliased, text opaque on a dark box.

    ``flatten_on`` pre-blends the box onto that opaque colour (for opaque views), so
    the panel can be copied over a layer of that colour without alpha maths.
    """
    pad = max(2, round(pad * s))
    gap = max(1, round(gap * s))
    sizes = [text_size(line, s) for line in lines]
    inner_w = max((w for w, _, _ in sizes), default=0)
    w = max(width or 0, inner_w + 2 * pad)
    h = 2 * pad + sum(th + base for _, th, base in sizes) + gap * max(0, len(lines) - 1)
    rgb = np.empty((h, w, 3), np.float32)
    rgb[:] = bg
    mask = np.zeros((h, w), np.float32)
    y = pad
    for line, (_, th, base) in zip(lines, sizes, strict=True):
        one = np.zeros((h, w), np.uint8)
        font = FONT_BOLD if line.bold else FONT
        thick = _thickness(line.scale * s, line.bold)
        cv2.putText(
            one, ascii_text(line.text), (pad, y + th), font, line.scale * s, 255, thick, cv2.LINE_AA
        )
        m = one.astype(np.float32) / 255.0
        rgb += (np.array(line.color, np.float32) - rgb) * m[:, :, None]
        np.maximum(mask, m, out=mask)
        y += th + base + gap
    alpha = bg_alpha + (255 - bg_alpha) * mask
    if flatten_on is not None:
        a = alpha[:, :, None] / 255.0
        rgb = rgb * a + np.array(flatten_on, np.float32) * (1.0 - a)
        alpha[:] = 255
    out = np.empty((h, w, 4), np.uint8)
    out[:, :, :3] = np.clip(rgb + 0.5, 0, 255)
    out[:, :, 3] = np.clip(alpha + 0.5, 0, 255)
    return out


class PatchCache:
    """A bounded least-recently-used cache of drawn patches (text panels, legends, matrices)."""

    def __init__(self, capacity: int = 192) -> None:
        self.capacity = capacity
        self._items: OrderedDict[Hashable, Any] = OrderedDict()
        self.hits = 0
        self.misses = 0

    def get(self, key: Hashable, make: Callable[[], Any]) -> Any:
        """The patch (or any drawn value) for ``key``, drawing it with ``make`` on a miss."""
        patch = self._items.get(key)
        if patch is not None:
            self._items.move_to_end(key)
            self.hits += 1
            return patch
        self.misses += 1
        patch = make()
        if isinstance(patch, np.ndarray):
            patch.flags.writeable = False
        self._items[key] = patch
        if len(self._items) > self.capacity:
            self._items.popitem(last=False)
        return patch

    def __len__(self) -> int:
        return len(self._items)


def blit(layer: np.ndarray, patch: np.ndarray, x: int, y: int) -> tuple[int, int, int, int]:
    """Copy ``patch`` (h, w, 4) into ``layer`` at (x, y), clipped; return the box drawn."""
    H, W = layer.shape[:2]
    h, w = patch.shape[:2]
    x0, y0 = max(0, x), max(0, y)
    x1, y1 = min(W, x + w), min(H, y + h)
    if x1 > x0 and y1 > y0:
        layer[y0:y1, x0:x1] = patch[y0 - y : y1 - y, x0 - x : x1 - x]
    return x0, y0, x1, y1


def fit_image(
    image: np.ndarray, max_w: int, max_h: int, *, integer_zoom: bool = True
) -> np.ndarray:
    """Scale an image to fit (max_w, max_h) keeping its aspect ratio.

    Enlarging uses INTER_NEAREST by a whole factor when ``integer_zoom`` (every
    output pixel becomes an equal block, so stride and pooling steps stay
    visible); shrinking uses INTER_AREA.
    """
    h, w = image.shape[:2]
    if h == 0 or w == 0 or max_w <= 0 or max_h <= 0:
        return image[:0, :0]
    f = min(max_w / w, max_h / h)
    if f >= 1.0:
        if integer_zoom:
            f = math.floor(f)
        if f == 1:
            return image
        size = (max(1, int(w * f)), max(1, int(h * f)))
        return cv2.resize(image, size, interpolation=cv2.INTER_NEAREST)
    size = (max(1, int(w * f)), max(1, int(h * f)))
    return cv2.resize(image, size, interpolation=cv2.INTER_AREA)


def to_rgba(image: np.ndarray, *, bgr: bool = False) -> np.ndarray:
    """(h, w) grey or (h, w, 3) BGR/RGB uint8 -> (h, w, 4) opaque RGBA."""
    if image.ndim == 2:
        return cv2.cvtColor(image, cv2.COLOR_GRAY2RGBA)
    if bgr:
        return cv2.cvtColor(image, cv2.COLOR_BGR2RGBA)
    return cv2.cvtColor(image, cv2.COLOR_RGB2RGBA)


def fmt_num(v: float) -> str:
    """Short number text: integers as such, others to 3 significant digits."""
    if not math.isfinite(v):
        return str(v)
    if float(v).is_integer() and abs(v) < 1e6:
        return str(int(v))
    return f"{v:.3g}"


def legend_bar(
    width: int,
    height: int,
    lo: float,
    hi: float,
    s: float,
    *,
    palette: np.ndarray | None = None,
    labels: bool = True,
    bg: tuple[int, int, int] = VIEW_BG,
) -> np.ndarray:
    """A colour-scale legend: gradient strip from black (``lo``) to white (``hi``).

    Returns an opaque (h, width, 4) RGBA patch. ``palette`` (a (256, 3) BGR table from
    ``app.colormaps``) draws the strip in that map instead of grey;
    ``labels`` writes ``lo`` and ``hi`` under its ends (else the caller shows them).
    """
    ramp = np.linspace(0, 255, max(2, width - 2)).astype(np.uint8)[None, :]
    ramp = np.repeat(ramp, max(2, height), axis=0)
    strip = (
        cv2.cvtColor(palette[ramp], cv2.COLOR_BGR2RGB)
        if palette is not None
        else cv2.cvtColor(ramp, cv2.COLOR_GRAY2RGB)
    )
    text = render_panel(
        [Line(f"{fmt_num(lo)}", 0.4, GREY)], s, pad=2, bg=bg, bg_alpha=255, flatten_on=bg
    )
    text_hi = render_panel(
        [Line(fmt_num(hi), 0.4, GREY)], s, pad=2, bg=bg, bg_alpha=255, flatten_on=bg
    )
    th = text.shape[0] if labels else 0
    out = np.empty((strip.shape[0] + 2 + th, width, 4), np.uint8)
    out[:] = (*bg, 255)
    out[0 : strip.shape[0] + 2, 0:width] = (*GREY, 255)
    out[1 : strip.shape[0] + 1, 1 : 1 + strip.shape[1], :3] = strip
    if labels:
        y = strip.shape[0] + 2
        blit(out, text, 0, y)
        blit(out, text_hi, width - text_hi.shape[1], y)
    return out


def over(dst: np.ndarray, src: np.ndarray, x: int, y: int) -> None:
    """Alpha-composite ``src`` (h, w, 4) over ``dst`` at (x, y), clipped (for cached drawings)."""
    H, W = dst.shape[:2]
    h, w = src.shape[:2]
    x0, y0, x1, y1 = max(0, x), max(0, y), min(W, x + w), min(H, y + h)
    if x1 <= x0 or y1 <= y0:
        return
    s = src[y0 - y : y1 - y, x0 - x : x1 - x].astype(np.float32) / 255.0
    d = dst[y0:y1, x0:x1].astype(np.float32) / 255.0
    sa, da = s[:, :, 3:4], d[:, :, 3:4]
    out_a = sa + da * (1 - sa)
    rgb = (s[:, :, :3] * sa + d[:, :, :3] * da * (1 - sa)) / np.maximum(out_a, 1e-6)
    dst[y0:y1, x0:x1, :3] = np.clip(rgb * 255 + 0.5, 0, 255)
    dst[y0:y1, x0:x1, 3:4] = np.clip(out_a * 255 + 0.5, 0, 255)


def flatten(patch: np.ndarray, bg: tuple[int, int, int]) -> None:
    """Blend ``patch`` onto the opaque colour ``bg`` in place: it becomes fully opaque."""
    a = patch[:, :, 3:4].astype(np.float32) / 255.0
    patch[:, :, :3] = np.clip(
        patch[:, :, :3] * a + np.array(bg, np.float32) * (1 - a) + 0.5, 0, 255
    )
    patch[:, :, 3] = 255


def shape_text(shape: Any) -> str:
    """``(240, 320)`` -> ``"240x320"``."""
    try:
        return "x".join(str(int(v)) for v in shape)
    except (TypeError, ValueError):
        return str(shape)
