"""Marks that are not digits, for the false-digit rate.

Kinds (each an alpha picture FINE times finer than lores, with its ink box):
- letters: capital and small letters in OpenCV's six Hershey fonts (upright and italic),
  without the ones a reader could take for a digit (O o Q D I l i j Z z S s B b G g q);
- scribbles: one pen trajectory through 6-12 random points;
- shapes: triangle, square, five-pointed star, cross, plus sign, arrow, heart;
- faces: a smiley (outline, eyes, mouth) and a filled head with light eyes;
- textures filling the whole square: woven cloth, stripes, graph-paper grid, dots and
  lines of small printed text;
- blank paper (the shadow and the light gradient of the scene only).
"""

from __future__ import annotations

import math

import cv2
import numpy as np

from benchmarks.reading_sets.glyphs import Drawn, Glyph
from benchmarks.reading_sets.pen import catmull_rom

LETTERS = "ACEFHJKLMNPRTUVWXYacdefhkmnprtuvwxy"
FONTS = (
    cv2.FONT_HERSHEY_SIMPLEX,
    cv2.FONT_HERSHEY_DUPLEX,
    cv2.FONT_HERSHEY_COMPLEX,
    cv2.FONT_HERSHEY_TRIPLEX,
    cv2.FONT_HERSHEY_SCRIPT_SIMPLEX,
    cv2.FONT_HERSHEY_SCRIPT_COMPLEX,
)
KINDS = ("letter", "scribble", "shape", "face", "texture", "blank")
SHAPES = ("triangle", "square", "star", "cross", "plus", "arrow", "heart")
TEXTURES = ("cloth", "stripes", "grid", "dots", "text")


def letter(char: str, height_px: float, pen_frac: float, rng: np.random.Generator) -> Drawn:
    """``char`` in a random Hershey font (italic half of the time), ink ``height_px`` tall."""
    font = FONTS[int(rng.integers(len(FONTS)))] | (cv2.FONT_ITALIC if rng.random() < 0.5 else 0)
    scale = 4.0
    (tw, th), base = cv2.getTextSize(char, font, scale, 1)
    thickness = max(1, round(pen_frac * th))
    pad = 4 * thickness + 8
    canvas = np.zeros((th + base + 2 * pad, tw + 2 * pad), np.uint8)
    cv2.putText(canvas, char, (pad, pad + th), font, scale, 255, thickness, cv2.LINE_AA)
    ys, xs = np.nonzero(canvas > 60)
    crop = canvas[ys.min() : ys.max() + 1, xs.min() : xs.max() + 1].astype(np.float32) / 255.0
    factor = height_px / crop.shape[0]
    size = (max(1, round(crop.shape[1] * factor)), max(1, round(height_px)))
    alpha = np.clip(cv2.resize(crop, size, interpolation=cv2.INTER_AREA), 0, 1)
    alpha = np.pad(alpha, 4)
    return Drawn(alpha, (4.0, 4.0, 4.0 + size[0], 4.0 + size[1]))


def scribble(rng: np.random.Generator) -> Glyph:
    """One tangled pen trajectory through 6-12 random points."""
    points = rng.uniform(0.0, 1.0, (int(rng.integers(6, 13)), 2)) * (rng.uniform(0.6, 1.4), 1.0)
    return _normalised("scribble", [catmull_rom(points)])


def shape(name: str, rng: np.random.Generator) -> Glyph:
    """A drawn geometric shape, corners jittered by 3 % of its size."""
    if name == "triangle":
        pts = [[(0.5, 0.0), (1.0, 1.0), (0.0, 1.0), (0.5, 0.0)]]
    elif name == "square":
        pts = [[(0.0, 0.0), (1.0, 0.0), (1.0, 1.0), (0.0, 1.0), (0.0, 0.0)]]
    elif name == "star":
        angles = -math.pi / 2 + np.arange(6) * 4 * math.pi / 5
        pts = [[(0.5 + 0.5 * math.cos(a), 0.5 + 0.5 * math.sin(a)) for a in angles]]
    elif name == "cross":
        pts = [[(0.0, 0.0), (1.0, 1.0)], [(1.0, 0.0), (0.0, 1.0)]]
    elif name == "plus":
        pts = [[(0.5, 0.0), (0.5, 1.0)], [(0.0, 0.5), (1.0, 0.5)]]
    elif name == "arrow":
        pts = [[(0.0, 0.5), (1.0, 0.5)], [(0.65, 0.15), (1.0, 0.5), (0.65, 0.85)]]
    elif name == "heart":
        t = np.linspace(0, 2 * math.pi, 40)
        x = 16 * np.sin(t) ** 3
        y = -(13 * np.cos(t) - 5 * np.cos(2 * t) - 2 * np.cos(3 * t) - np.cos(4 * t))
        pts = [list(zip((x + 17) / 34, (y + 17) / 30, strict=True))]
    else:
        raise ValueError(f"unknown shape {name!r}")
    curves = [np.array(p) + rng.normal(0, 0.03, (len(p), 2)) for p in pts]
    return _normalised(f"shape:{name}", curves)


def smiley(rng: np.random.Generator) -> Glyph:
    """A drawn face: round outline, two eyes, a smiling mouth."""
    t = np.linspace(0, 2 * math.pi, 48)
    r = 0.5 + rng.normal(0, 0.02, t.size)
    outline = np.stack([0.5 + r * np.cos(t), 0.5 + r * np.sin(t)], 1)
    eye = rng.uniform(0.03, 0.06)
    left = np.array([[0.33, 0.38], [0.33, 0.38 + eye]])
    right = np.array([[0.67, 0.38], [0.67, 0.38 + eye]])
    m = np.linspace(0.2 * math.pi, 0.8 * math.pi, 16)
    mouth = np.stack([0.5 + 0.25 * np.cos(m), 0.55 + 0.18 * np.sin(m)], 1)
    return _normalised("face:smiley", [outline, left, right, mouth])


def filled_face(height_px: float, rng: np.random.Generator) -> Drawn:
    """A head as a filled ellipse with lighter eyes and mouth (a photo of a face, roughly)."""
    h = round(height_px)
    w = round(h * rng.uniform(0.7, 0.85))
    alpha = np.zeros((h + 8, w + 8), np.float32)
    cv2.ellipse(alpha, (w // 2 + 4, h // 2 + 4), (w // 2, h // 2), 0, 0, 360, 0.8, -1, cv2.LINE_AA)
    for ex in (0.32, 0.68):
        cv2.circle(alpha, (round(4 + ex * w), round(4 + 0.42 * h)), max(1, h // 14), 0.2, -1)
    cv2.ellipse(alpha, (w // 2 + 4, round(4 + 0.7 * h)), (w // 5, h // 16), 0, 0, 360, 0.3, -1)
    return Drawn(alpha, (4.0, 4.0, 4.0 + w, 4.0 + h))


def texture(name: str, side_px: int, rng: np.random.Generator) -> Drawn:
    """A pattern filling a ``side_px`` square (the whole search square)."""
    n = side_px
    if name == "cloth":
        period = rng.uniform(0.03, 0.08) * n
        ys, xs = np.mgrid[0:n, 0:n].astype(np.float32)
        weave = np.sin(2 * math.pi * xs / period) * np.sin(2 * math.pi * ys / period)
        grain = cv2.GaussianBlur(rng.standard_normal((n, n)).astype(np.float32), (0, 0), 2)
        alpha = np.clip(0.35 + 0.3 * weave + 0.6 * grain, 0, 1)
    elif name in ("stripes", "grid"):
        period = rng.uniform(0.06, 0.15) * n
        alpha = np.zeros((n, n), np.float32)
        pen = max(1, round(rng.uniform(0.1, 0.3) * period))
        for k in range(-n, 2 * n, max(2, round(period))):
            cv2.line(alpha, (k, -n), (k, 2 * n), 1.0, pen, cv2.LINE_AA)
            if name == "grid":
                cv2.line(alpha, (-n, k), (2 * n, k), 1.0, pen, cv2.LINE_AA)
        centre = (n / 2, n / 2)
        m = cv2.getRotationMatrix2D(centre, rng.uniform(0, 180), 1.0)
        alpha = cv2.warpAffine(alpha, m, (n, n), borderMode=cv2.BORDER_WRAP)
    elif name == "dots":
        alpha = np.zeros((n, n), np.float32)
        step = rng.uniform(0.08, 0.16) * n
        for y in np.arange(step / 2, n, step):
            for x in np.arange(step / 2, n, step):
                cv2.circle(alpha, (round(x), round(y)), max(1, round(step / 5)), 1.0, -1)
    elif name == "text":
        alpha = _printed_text(n, rng)
    else:
        raise ValueError(f"unknown texture {name!r}")
    return Drawn(alpha.astype(np.float32), (0.0, 0.0, float(n), float(n)))


def _printed_text(n: int, rng: np.random.Generator) -> np.ndarray:
    canvas = np.zeros((n, n), np.uint8)
    line = rng.uniform(0.08, 0.14) * n
    scale = line / 40.0
    words = ["the", "quick", "brown", "fox", "jumps", "over", "a", "lazy", "dog", "in", "class"]
    y = line
    while y < n + line:
        text = " ".join(rng.choice(words, 8))
        x = -int(rng.integers(0, n // 2))
        cv2.putText(canvas, text, (x, round(y)), cv2.FONT_HERSHEY_SIMPLEX, scale, 255,
                    max(1, round(scale * 2)), cv2.LINE_AA)  # fmt: skip
        y += line
    return canvas.astype(np.float32) / 255.0


def _normalised(label: str, curves: list[np.ndarray]) -> Glyph:
    """Curves moved and scaled so their extent is 1 tall, from x = 0."""
    points = np.concatenate(curves)
    low, high = points.min(axis=0), points.max(axis=0)
    height = max(1e-6, float(high[1] - low[1]))
    return Glyph(label, tuple((c - low) / height for c in curves), float(high[0] - low[0]) / height)
