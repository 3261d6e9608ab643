"""The evaluation sets, made from a seed and cached on disk.

- ``sizes``: every digit at 25/40/55/70/90 % of the ROI's height (the same digit, pen,
  light and noise at each size).
- ``rotations``: every digit at -15..+15 degrees in steps of 5 (same for the rest).
- ``slants``: every digit written leaning further by each of SLANTS (MNIST digits
  re-drawn along their skeleton with a pen about MNIST's width).
- ``numbers``: 2-4 digit numbers on one baseline, some touching.
- ``nondigits``: letters, scribbles, shapes, faces, textures and blank paper.

Digits come half from MNIST and half from the handwriting generator. ``split="test"``
takes MNIST test digits (the figures we report); ``split="dev"`` takes the 5,000
training digits that training held out for validation, for tuning the reading
algorithms without looking at the test set. The handwriting generator's seed differs
between the two as well.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass, replace
from pathlib import Path

import cv2
import numpy as np

from benchmarks.reading_sets import nondigits
from benchmarks.reading_sets.camera import (
    FINE,
    ROI_SIDE,
    SEARCH_SIDE,
    Scene,
    Shot,
    photograph,
    random_scene,
)
from benchmarks.reading_sets.glyphs import Drawn, Glyph, draw_glyph, mnist_glyph, sheared
from benchmarks.reading_sets.handwriting import handwritten_digit
from benchmarks.reading_sets.numbers import draw_number

#: Bump when a generator changes, so old caches are not used.
VERSION = 2
SIZES = (0.25, 0.40, 0.55, 0.70, 0.90)
ANGLES = (-15, -10, -5, 0, 5, 10, 15)
#: Extra lean of the writing (x per unit of height; 0.35 is 19 degrees, 0.6 is 31).
SLANTS = (-0.35, 0.0, 0.35, 0.6)
#: Pen for handwriting when the scene asks for MNIST's own pen: about MNIST's width.
NATURAL_PEN = 0.11
MAX_MARKS = 4


def cache_dir() -> Path:
    """Where generated sets are kept: $CONVLENS_READING_CACHE or a folder in the temp dir."""
    env = os.environ.get("CONVLENS_READING_CACHE")
    return Path(env) if env else Path(tempfile.gettempdir()) / "convlens-reading-sets"


@dataclass(frozen=True)
class ReadingSet:
    """Photographed marks and what they are.

    Attributes:
        lores: (N, 130, 130) uint8 search squares from the lores plane.
        main: (N, 260, 260) uint8, the same from the main stream (None unless asked for:
            it is four times the size).
        labels: (N,) str: the digits written ("7", "407"), "" when not a digit.
        boxes: (N, 4, 4) float32 (x0, y0, x1, y1) of each mark in lores px, NaN-padded.
        attrs: per-sample figures, each (N,): "group" (the size, angle or kind), "source"
            ("mnist", "hand", or the non-digit kind), "height", "angle", "pen_px" (0 for
            MNIST's own pen), "contrast", "shadow", "blur", "noise", "jpeg", "touching".
    """

    lores: np.ndarray
    main: np.ndarray | None
    labels: np.ndarray
    boxes: np.ndarray
    attrs: dict[str, np.ndarray]

    def __len__(self) -> int:
        return len(self.labels)


class _Builder:
    def __init__(self) -> None:
        self.lores: list[np.ndarray] = []
        self.main: list[np.ndarray] = []
        self.labels: list[str] = []
        self.boxes: list[np.ndarray] = []
        self.attrs: dict[str, list] = {}

    def add(self, shot: Shot, label: str, scene: Scene, **extra: object) -> None:
        self.lores.append(shot.lores)
        self.main.append(shot.main)
        self.labels.append(label)
        boxes = np.full((MAX_MARKS, 4), np.nan, np.float32)
        boxes[: len(shot.boxes)] = shot.boxes[:MAX_MARKS]
        self.boxes.append(boxes)
        pen = scene.pen_px()
        row = {
            "height": scene.height, "angle": scene.angle, "pen_px": pen or 0.0,
            "contrast": scene.contrast, "shadow": scene.shadow, "blur": scene.blur,
            "noise": scene.noise, "jpeg": scene.jpeg, "touching": False, **extra,
        }  # fmt: skip
        for key, value in row.items():
            self.attrs.setdefault(key, []).append(value)

    def build(self) -> ReadingSet:
        return ReadingSet(
            np.stack(self.lores),
            np.stack(self.main),
            np.array(self.labels),
            np.stack(self.boxes),
            {k: np.array(v) for k, v in self.attrs.items()},
        )


def digit_glyphs(split: str, n_per_source: int, seed: int) -> list[tuple[Glyph, str]]:
    """``n_per_source`` MNIST digits (test, or the held-out training digits for "dev") and
    as many generated handwritten ones, alternating; each with its source name."""
    from training.mnist import load_split
    from training.train import split_train_val

    rng = np.random.default_rng([seed, 1])
    if split == "test":
        images, labels = load_split("test", verify=False)
    elif split == "dev":
        all_images, all_labels = load_split("train", verify=False)
        _, _, images, labels = split_train_val(all_images, all_labels, 5000, 0)
    else:
        raise ValueError(f"split {split!r}: expected 'test' or 'dev'")
    index = rng.choice(len(images), n_per_source, replace=False)
    hand_rng = np.random.default_rng([seed, 2, 0 if split == "test" else 1])
    out = []
    for k, i in enumerate(index):
        out.append((mnist_glyph(images[i], int(labels[i])), "mnist"))
        out.append((handwritten_digit(k % 10, hand_rng), "hand"))
    return out


def shoot(glyph: Glyph, scene: Scene) -> Shot:
    """Photograph one glyph as ``scene`` says (a handwriting glyph with no pen gets
    NATURAL_PEN)."""
    if scene.pen is None and glyph.image28 is None:
        scene = replace(scene, pen=NATURAL_PEN)
    pen = scene.pen_px()
    drawn = draw_glyph(
        glyph, scene.height * ROI_SIDE * FINE, None if pen is None else pen * FINE, supersample=1
    )
    return photograph(drawn.alpha, [drawn.box], scene)


def sizes_set(split: str, n_per_source: int, seed: int) -> ReadingSet:
    """Every digit at each of SIZES, all else equal (angles within +-5 degrees)."""
    rng = np.random.default_rng([seed, 3])
    out = _Builder()
    for glyph, source in digit_glyphs(split, n_per_source, seed):
        base = random_scene(rng)
        if base.pen is None and glyph.image28 is None:
            base = replace(base, pen=NATURAL_PEN)
        for size in SIZES:
            scene = replace(base, height=size)
            out.add(shoot(glyph, scene), glyph.label, scene, group=size, source=source)
    return out.build()


def rotations_set(split: str, n_per_source: int, seed: int) -> ReadingSet:
    """Every digit at each of ANGLES, all else equal (sizes 40-70 % of the ROI)."""
    rng = np.random.default_rng([seed, 4])
    out = _Builder()
    for glyph, source in digit_glyphs(split, n_per_source, seed + 1):
        base = random_scene(rng)
        if base.pen is None and glyph.image28 is None:
            base = replace(base, pen=NATURAL_PEN)
        for angle in ANGLES:
            scene = replace(base, angle=float(angle))
            out.add(shoot(glyph, scene), glyph.label, scene, group=angle, source=source)
    return out.build()


def slants_set(split: str, n_per_source: int, seed: int) -> ReadingSet:
    """Every digit leaning further by each of SLANTS, all else equal."""
    rng = np.random.default_rng([seed, 7])
    out = _Builder()
    for glyph, source in digit_glyphs(split, n_per_source, seed + 3):
        base = random_scene(rng)
        if base.pen is None:
            base = replace(base, pen=NATURAL_PEN)
        for lean in SLANTS:
            out.add(shoot(sheared(glyph, lean), base), glyph.label, base, group=lean, source=source)
    return out.build()


def numbers_set(
    split: str, n: int, seed: int, heights: tuple[float, float] = (0.22, 0.45)
) -> ReadingSet:
    """``n`` numbers, a third each of 2, 3 and 4 digits, each all MNIST or all handwriting.

    The number's ink is ``heights`` (22-45 %) of the ROI tall (less when it would not fit
    across it);
    gaps between digits from -6 % to 30 % of its height (some touch), tilt within 5 degrees.
    """
    rng = np.random.default_rng([seed, 5])
    pool = digit_glyphs(split, 2 * n, seed + 2)
    out = _Builder()
    for k in range(n):
        length = 2 + k % 3
        source = "mnist" if k % 2 == 0 else "hand"
        picks = [g for g, s in pool if s == source]
        glyphs = [picks[int(i)] for i in rng.choice(len(picks), length, replace=False)]
        scene = random_scene(rng, height=rng.uniform(*heights), angle=rng.uniform(-5, 5))
        if scene.pen is None and source == "hand":
            scene = replace(scene, pen=NATURAL_PEN)
        # Fit across the ROI: a digit is about 0.7 of its height wide.
        scene = replace(scene, height=min(scene.height, 0.9 / (0.8 * length)))
        pen = scene.pen_px()
        alpha, boxes, touching = draw_number(
            glyphs, scene.height * ROI_SIDE * FINE, None if pen is None else pen * FINE, rng
        )
        # Wide digits (0, 2 from MNIST) can still overflow: shrink to 90 % of the ROI.
        span = max(b[2] for b in boxes) - min(b[0] for b in boxes)
        shrink = min(1.0, 0.9 * ROI_SIDE * FINE / span)
        if shrink < 1.0:
            alpha = cv2.resize(alpha, None, fx=shrink, fy=shrink, interpolation=cv2.INTER_AREA)
            boxes = [tuple(v * shrink for v in b) for b in boxes]
            scene = replace(scene, height=scene.height * shrink)
        label = "".join(g.label for g in glyphs)
        shot = photograph(alpha, boxes, scene)
        out.add(shot, label, scene, group=length, source=source, touching=touching)
    return out.build()


def nondigits_set(n: int, seed: int) -> ReadingSet:
    """``n`` marks that are not digits, cycling through nondigits.KINDS."""
    rng = np.random.default_rng([seed, 6])
    out = _Builder()
    for k in range(n):
        kind = nondigits.KINDS[k % len(nondigits.KINDS)]
        scene = random_scene(rng, angle=rng.uniform(-15, 15))
        if scene.pen is None:
            scene = replace(scene, pen=NATURAL_PEN)
        drawn, name = _nondigit(kind, scene, rng)
        shot = photograph(drawn.alpha, [drawn.box], scene)
        out.add(shot, "", scene, group=kind, source=name)
    return out.build()


def _nondigit(kind: str, scene: Scene, rng: np.random.Generator) -> tuple[Drawn, str]:
    height = scene.height * ROI_SIDE * FINE
    pen = (scene.pen_px() or 1.0) * FINE
    if kind == "letter":
        char = nondigits.LETTERS[int(rng.integers(len(nondigits.LETTERS)))]
        return nondigits.letter(char, height, scene.pen or NATURAL_PEN, rng), f"letter:{char}"
    if kind == "scribble":
        return draw_glyph(nondigits.scribble(rng), height, pen, supersample=1), "scribble"
    if kind == "shape":
        name = nondigits.SHAPES[int(rng.integers(len(nondigits.SHAPES)))]
        return draw_glyph(nondigits.shape(name, rng), height, pen, supersample=1), name
    if kind == "face":
        if rng.random() < 0.5:
            return draw_glyph(nondigits.smiley(rng), height, pen, supersample=1), "smiley"
        return nondigits.filled_face(height, rng), "filled face"
    if kind == "texture":
        name = nondigits.TEXTURES[int(rng.integers(len(nondigits.TEXTURES)))]
        return nondigits.texture(name, SEARCH_SIDE * FINE, rng), name
    return Drawn(np.zeros((8, 8), np.float32), (0.0, 0.0, 8.0, 8.0)), "blank"


BUILDERS = {
    "sizes": lambda split, n, seed: sizes_set(split, n, seed),
    "rotations": lambda split, n, seed: rotations_set(split, n, seed),
    "slants": lambda split, n, seed: slants_set(split, n, seed),
    "numbers": lambda split, n, seed: numbers_set(split, n, seed),
    # Digits 11-17 lores px tall: where the number stage reads the main stream instead.
    "small_numbers": lambda split, n, seed: numbers_set(split, n, seed, heights=(0.1, 0.16)),
    "nondigits": lambda split, n, seed: nondigits_set(n, seed),
}


def load_set(
    name: str, split: str = "test", n: int = 100, seed: int = 0, main: bool = False
) -> ReadingSet:
    """The set ``name`` (one of BUILDERS) from the cache, generating it the first time.

    ``n`` is digits per source for sizes, rotations and slants, numbers or marks
    otherwise; ``main`` also loads the main-stream pictures.
    """
    path = cache_dir() / f"{name}-v{VERSION}-{split}-n{n}-s{seed}.npz"
    if path.is_file():
        with np.load(path, allow_pickle=False) as data:
            attrs = {k[6:]: data[k] for k in data.files if k.startswith("attrs.")}
            pictures = data["main"] if main else None
            return ReadingSet(data["lores"], pictures, data["labels"], data["boxes"], attrs)
    made = BUILDERS[name](split, n, seed)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp.npz")
    arrays = {f"attrs.{k}": v for k, v in made.attrs.items()}
    np.savez(tmp, lores=made.lores, main=made.main, labels=made.labels, boxes=made.boxes, **arrays)
    tmp.replace(path)
    return made if main else replace(made, main=None)
