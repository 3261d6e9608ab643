"""Drawing primitives for the views: text panels, a patch cache, blits, images, legends on RGBA.

Layers and patches are (h, w, 4) uint8 RGBA with straight alpha; sizes are in pixels of
the layer, font scales at a 480-row screen times the layout scale ``s``. Text is drawn
in DejaVu Sans by ``app.views.text`` (any Unicode, accents included).
"""

from __future__ import annotations

import math
from collections import OrderedDict
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass, replace
from functools import lru_cache
from typing import Any

import cv2
import numpy as np

from app.views.text import Face, face

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

#: A Line's ``scale`` times the layout scale ``s`` times this is its font size (em) in
#: pixels: scale 0.42 at 480 rows is a 12 px font, 1/40 of the screen's height.
PX_PER_SCALE = 480 / 16.8


@dataclass(frozen=True)
class Line:
    """One line of a text panel: text, font scale (at 480 rows), RGB colour, bold."""

    text: str
    scale: float = 0.55
    color: tuple[int, int, int] = WHITE
    bold: bool = False


def font_px(scale: float, s: float) -> int:
    """The font size (em, pixels) of a Line of ``scale`` at layout scale ``s``."""
    return max(1, round(scale * s * PX_PER_SCALE))


def line_face(line: Line, s: float) -> Face:
    """The face ``line`` is drawn with at layout scale ``s``."""
    return face(font_px(line.scale, s), line.bold)


def text_size(line: Line, s: float) -> tuple[int, int, int]:
    """(width, height above baseline, depth below) of ``line`` at layout scale ``s``."""
    f = line_face(line, s)
    return f.width(line.text), f.ascent, f.descent


def wrap_lines(lines: Sequence[Line], s: float, max_width: int) -> list[Line]:
    """``lines`` with any line wider than ``max_width`` pixels broken at spaces.

    The pieces keep the line's style; a single word wider than ``max_width`` stays
    whole (the caller shrinks what still does not fit).
    """
    out: list[Line] = []
    for line in lines:
        f = line_face(line, s)
        if f.width(line.text) <= max_width or " " not in line.text.strip():
            out.append(line)
            continue
        current = ""
        for word in line.text.split(" "):
            trial = f"{current} {word}" if current else word
            if current and f.width(trial) > max_width:
                out.append(replace(line, text=current))
                current = word
            else:
                current = trial
        out.append(replace(line, text=current))
    return out


def render_panel(
    lines: Sequence[Line],
    s: float,
    *,
    width: int | None = None,
    max_width: int | None = None,
    pad: int = 6,
    gap: int = 5,
    bg: tuple[int, int, int] = PANEL_BG,
    bg_alpha: int = 185,
    flatten_on: tuple[int, int, int] | None = None,
) -> np.ndarray:
    """A box of text lines: (h, w, 4) uint8 RGBA, anti-aliased, text opaque on a dark box.

    ``width`` is the least width; with ``max_width`` long lines wrap at spaces to fit.
    ``flatten_on`` pre-blends the box onto that opaque colour (for opaque views), so
    the panel can be copied over a layer of that colour without alpha maths.
    """
    pad = max(2, round(pad * s))
    gap = max(1, round(gap * s))
    if max_width is not None:
        lines = wrap_lines(lines, s, max_width - 2 * pad)
    masks = [line_face(line, s).line(line.text) for line in lines]
    inner_w = max((m.shape[1] for m in masks), default=0)
    w = max(width or 0, inner_w + 2 * pad)
    h = 2 * pad + sum(m.shape[0] for m in masks) + gap * max(0, len(lines) - 1)
    out = np.empty((h, w, 4), np.uint8)
    fill(out, (*bg, bg_alpha))
    y = pad
    for line, mask in zip(lines, masks, strict=True):
        # The box is one colour under each line: a 256-entry table maps coverage to RGBA.
        out[y : y + mask.shape[0], pad : pad + mask.shape[1]] = _ramp(bg, bg_alpha, line.color)[
            mask
        ]
        y += mask.shape[0] + gap
    if flatten_on is not None:
        flatten(out, flatten_on)
    return out


def fill(rgba_array: np.ndarray, rgba: tuple[int, int, int, int]) -> None:
    """Fill an (h, w, 4) uint8 array (a whole layer or a rectangle of one) with one RGBA
    colour, in place. One 32-bit store per pixel: NumPy's broadcast of a 4-tuple into
    the pixels is ~50x slower (6.5 ms for a 1200x120 panel here)."""
    value = np.array(rgba, np.uint8).view(np.uint32)[0]
    rgba_array.view(np.uint32)[...] = value


def frame_rect(layer: np.ndarray, box: tuple[int, int, int, int], rgba: tuple) -> None:
    """A 1-px frame of colour ``rgba`` just inside box (x, y, w, h) of ``layer``."""
    x, y, w, h = box
    for part in (
        layer[y : y + 1, x : x + w],
        layer[y + h - 1 : y + h, x : x + w],
        layer[y : y + h, x : x + 1],
        layer[y : y + h, x + w - 1 : x + w],
    ):
        fill(part, rgba)


@lru_cache(maxsize=256)
def _ramp(bg: tuple[int, int, int], bg_alpha: int, color: tuple[int, int, int]) -> np.ndarray:
    """(256, 4) uint8: coverage 0..255 of ``color`` text over the box, straight alpha."""
    m = np.arange(256, dtype=np.float64)[:, None] / 255.0
    start = np.array((*bg, bg_alpha), np.float64)
    end = np.array((*color, 255), np.float64)
    ramp = np.clip(start + (end - start) * m + 0.5, 0, 255).astype(np.uint8)
    ramp.flags.writeable = False
    return ramp


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
    fill(out, (*bg, 255))
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
