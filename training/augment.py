"""Random, mild distortions of MNIST digits that prepare the network for camera digits.

A camera ROI differs from MNIST by a small tilt, size, position and slant, by a thicker
or thinner pen and by focus blur. Each image gets one ``cv2.warpAffine`` (rotation,
scale, shear and shift together) and, sometimes, a grey dilation or erosion and a
Gaussian blur. The distortions stay small enough that MNIST test accuracy does not
suffer. Everything is drawn from the ``np.random.Generator`` passed in, so a run is
reproducible from its seed.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

_KERNEL_2X2 = np.ones((2, 2), np.uint8)


@dataclass(frozen=True)
class AugmentConfig:
    """Ranges of the random distortions (uniform in ``[-x, x]`` unless stated)."""

    rotate_deg: float = 10.0
    scale: float = 0.10  # size factor in [1 - scale, 1 + scale]
    shear: float = 0.15  # x += shear * y, about the centre
    shift_px: float = 2.0
    p_thicken: float = 0.15  # grey dilation with a 2x2 kernel: a thicker pen
    p_thin: float = 0.10  # grey erosion with a 2x2 kernel: a thinner pen
    p_blur: float = 0.20  # Gaussian blur, sigma in [0.5, 1.0]: an out-of-focus camera


def random_affines(
    rng: np.random.Generator, n: int, cfg: AugmentConfig, size: int = 28
) -> np.ndarray:
    """``n`` random 2x3 affine matrices about the image centre, (n, 2, 3) float64.

    Each is rotation * scale * shear, then a shift: what ``cv2.warpAffine`` takes.
    """
    angle = np.deg2rad(rng.uniform(-cfg.rotate_deg, cfg.rotate_deg, n))
    scale = rng.uniform(1 - cfg.scale, 1 + cfg.scale, n)
    shear = rng.uniform(-cfg.shear, cfg.shear, n)
    shift = rng.uniform(-cfg.shift_px, cfg.shift_px, (n, 2))
    cos, sin = np.cos(angle) * scale, np.sin(angle) * scale
    # [[cos, -sin], [sin, cos]] @ [[1, shear], [0, 1]]
    linear = np.stack(
        [np.stack([cos, cos * shear - sin], -1), np.stack([sin, sin * shear + cos], -1)], 1
    )
    centre = np.full(2, (size - 1) / 2)
    offset = centre - linear @ centre + shift
    return np.concatenate([linear, offset[:, :, None]], axis=2)


def augment_batch(
    images: np.ndarray, rng: np.random.Generator, cfg: AugmentConfig | None = None
) -> np.ndarray:
    """Distorted copies of a batch of digits.

    Args:
        images: (N, H, W) uint8, ink bright on a black background.
        rng: the source of randomness (advanced by this call).
        cfg: distortion ranges; ``AugmentConfig()`` when None.
    Returns:
        (N, H, W) uint8, a new array; ``images`` is not changed.
    """
    cfg = cfg or AugmentConfig()
    n, h, w = images.shape
    out = np.empty_like(images)
    # Every random number is drawn up front, in one call per kind, so the per-image loop
    # is only OpenCV calls.
    affines = random_affines(rng, n, cfg, size=w)
    coins = rng.random((n, 3))
    sigmas = rng.uniform(0.5, 1.0, size=n)
    for i in range(n):
        img = cv2.warpAffine(
            images[i], affines[i], (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT
        )
        if coins[i, 0] < cfg.p_thicken:
            img = cv2.dilate(img, _KERNEL_2X2)
        elif coins[i, 1] < cfg.p_thin:
            img = cv2.erode(img, _KERNEL_2X2)
        if coins[i, 2] < cfg.p_blur:
            img = cv2.GaussianBlur(img, (3, 3), sigmas[i])
        out[i] = img
    return out
