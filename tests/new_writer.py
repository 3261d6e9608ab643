"""A "new writer" for the fine-tuning tests: MNIST digits in one hand, as the camera sees them.

The style is one fixed, smooth displacement field applied to every digit: the same
bends and bulges in every stroke, as one person's hand has them (uniform noise, seed
3, Gaussian-smoothed with sigma 12 px and scaled so the largest shift is 26 px, at 4x
MNIST resolution: 6.5 MNIST pixels). The app's preprocessing straightens the slant,
re-centres, re-scales and re-thickens the digits, so slant, size and pen do not make
a new writer for it (a 39-degree backslant with narrow letters was still read at
97.5 %); this distortion survives it, and the shipped model reads it clearly worse
than the same digits drawn plainly (the test states both). Each digit is drawn as a
camera ROI: a 200 x 200 grey crop of light, unevenly lit paper with dark ink, a
little blur and sensor noise.
"""

from __future__ import annotations

import csv
from functools import cache
from pathlib import Path

import cv2
import numpy as np

SCALE = 4  # drawn at 4x MNIST resolution
SIZE = 28 * SCALE
FIELD_SEED = 3
FIELD_SMOOTH = 12.0
FIELD_AMPLITUDE = 26.0
CROP = 200


@cache
def _field() -> tuple[np.ndarray, np.ndarray]:
    """The writer's displacement field as ``cv2.remap`` maps, (SIZE, SIZE) float32 each."""
    rng = np.random.default_rng(FIELD_SEED)
    shifts = []
    for _ in range(2):
        noise = rng.uniform(-1.0, 1.0, (SIZE, SIZE)).astype(np.float32)
        smooth = cv2.GaussianBlur(noise, (0, 0), FIELD_SMOOTH)
        shifts.append(FIELD_AMPLITUDE * smooth / np.abs(smooth).max())
    gx, gy = np.meshgrid(np.arange(SIZE, dtype=np.float32), np.arange(SIZE, dtype=np.float32))
    return gx + shifts[0], gy + shifts[1]


def restyle(digit: np.ndarray) -> np.ndarray:
    """(28, 28) uint8 MNIST digit (ink bright) -> (112, 112) uint8 ink in the new hand."""
    big = cv2.resize(digit, (SIZE, SIZE), interpolation=cv2.INTER_CUBIC)
    map_x, map_y = _field()
    return cv2.remap(big, map_x, map_y, cv2.INTER_LINEAR)


def camera_crop(ink: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """(112, 112) ink map -> (200, 200) uint8 grey crop: dark ink on light, uneven paper."""
    gy, gx = np.mgrid[0:CROP, 0:CROP] / CROP
    paper = rng.uniform(170, 225) + rng.uniform(-15, 15) * gx + rng.uniform(-15, 15) * gy
    ink_map = np.zeros((CROP, CROP), np.float32)
    at = (CROP - ink.shape[0]) // 2 + int(rng.integers(-12, 13))
    left = (CROP - ink.shape[1]) // 2 + int(rng.integers(-12, 13))
    ink_map[at : at + ink.shape[0], left : left + ink.shape[1]] = ink / 255.0
    ink_map = cv2.GaussianBlur(ink_map, (0, 0), 1.0)  # focus
    dark = rng.uniform(30, 70)
    picture = paper - (paper - dark) * ink_map + rng.normal(0.0, 3.0, (CROP, CROP))
    return np.clip(picture, 0, 255).astype(np.uint8)


def pick_digits(
    images: np.ndarray, labels: np.ndarray, per_digit: int, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """``per_digit`` images of each digit, seeded: (10 * per_digit, 28, 28) and labels."""
    rng = np.random.default_rng(seed)
    chosen = np.concatenate(
        [rng.choice(np.flatnonzero(labels == d), per_digit, replace=False) for d in range(10)]
    )
    return images[chosen], labels[chosen].astype(np.int64)


def write_collection(
    folder: Path, digits: np.ndarray, labels: np.ndarray, seed: int = 0, styled: bool = True
) -> Path:
    """Camera crops of ``digits`` as PNG files plus ``samples.csv`` (file,label,time,source)."""
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / "samples.csv", "w", newline="") as f:
        out = csv.writer(f)
        out.writerow(["file", "label", "time", "source"])
        for i, (digit, label) in enumerate(zip(digits, labels, strict=True)):
            ink = restyle(digit) if styled else cv2.resize(digit, (SIZE, SIZE))
            name = f"crops/{i:04d}_{label}.png"
            (folder / name).parent.mkdir(exist_ok=True)
            cv2.imwrite(str(folder / name), camera_crop(ink, rng))
            out.writerow([name, int(label), f"2026-11-30T15:{i // 60:02d}:{i % 60:02d}Z", "test"])
    return folder
