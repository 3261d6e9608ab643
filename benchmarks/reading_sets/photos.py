"""Synthetic phone photos of a digit on paper, in colour: pencil, coloured inks, marker,
coloured paper, light gradients, shadows, noise and JPEG, at any size and place.

Used by the ``classify`` tests and by ``benchmarks/reading.py`` (still-photo path against
the live path).
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

INK_COLOURS = {  # BGR
    "ballpoint": (120, 50, 30),
    "black": (30, 30, 30),
    "red": (40, 40, 200),
    "green": (60, 140, 40),
    "pencil": (95, 95, 100),
    # A yellow highlighter: about 7 % darker than white paper in luminance, 75 % in blue.
    "highlighter": (60, 235, 250),
}
PAPERS = {
    "white": (235, 240, 245),
    "grey": (150, 150, 150),
    "yellow": (150, 230, 240),
    "blue": (240, 205, 175),
}


@dataclass(frozen=True)
class Photo:
    """How one synthetic photo is made."""

    size: tuple[int, int] = (640, 480)  # (width, height)
    digit_height: float = 0.4  # of the shorter side
    position: tuple[float, float] = (0.5, 0.5)  # centre, fractions of width and height
    ink: str = "ballpoint"
    opacity: float = 0.9
    stroke: float = 1.0  # < 1 thinner (pencil), > 1 thicker (marker)
    paper: str = "white"
    gradient: float = 0.2  # brightness falloff across the picture
    shadow: float = 0.0  # darkening of a soft-edged shadow over part of the picture
    noise: float = 3.0
    jpeg: int = 85


def render_photo(digit: np.ndarray, spec: Photo, rng: np.random.Generator) -> np.ndarray:
    """(H, W, 3) uint8 BGR photo of a 28x28 MNIST digit written on paper."""
    width, height = spec.size
    # Light varies slowly: compute it on a coarse grid and scale it up.
    gw, gh = max(2, width // 8), max(2, height // 8)
    ys, xs = np.mgrid[0:gh, 0:gw].astype(np.float32)
    xs *= width / gw
    ys *= height / gh
    angle = rng.uniform(0, 2 * np.pi)
    ramp = (np.cos(angle) * xs / width + np.sin(angle) * ys / height) + 1.0
    light = 1.0 - spec.gradient * ramp / 2.0
    if spec.shadow:
        # A soft-edged shadow (a hand or the phone) over one side of the picture.
        edge = rng.uniform(0.2, 0.8) * width + (ys - height / 2) * rng.uniform(-0.5, 0.5)
        soft = max(2.0, 0.03 * width)
        light *= 1.0 - spec.shadow / (1.0 + np.exp((xs - edge) / soft))
    light = cv2.resize(light, (width, height), interpolation=cv2.INTER_LINEAR)
    picture = light[:, :, None] * np.array(PAPERS[spec.paper], np.float32)
    box = spec.digit_height * min(width, height) * 28 / 20
    side = max(4, round(box))
    alpha = cv2.resize(
        digit.astype(np.float32) / 255.0, (side, side), interpolation=cv2.INTER_CUBIC
    )
    stroke_px = 2.5 * side / 28  # an MNIST stroke is about 2.5 of 28 px
    change = round(abs(spec.stroke - 1.0) * stroke_px)
    if change >= 1:
        element = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (change + 1, change + 1))
        alpha = cv2.dilate(alpha, element) if spec.stroke > 1 else cv2.erode(alpha, element)
    alpha = np.clip(alpha, 0, 1) * spec.opacity
    cx, cy = spec.position[0] * width, spec.position[1] * height
    x0, y0 = round(cx - side / 2), round(cy - side / 2)
    sx0, sy0 = max(0, -x0), max(0, -y0)
    x0c, y0c = max(0, x0), max(0, y0)
    x1c, y1c = min(width, x0 + side), min(height, y0 + side)
    a = alpha[sy0 : sy0 + y1c - y0c, sx0 : sx0 + x1c - x0c, None]
    region = picture[y0c:y1c, x0c:x1c]
    ink = np.array(INK_COLOURS[spec.ink], np.float32) * light[y0c:y1c, x0c:x1c, None]
    picture[y0c:y1c, x0c:x1c] = region * (1 - a) + ink * a
    noise = np.empty((height, width), np.float32)
    cv2.setRNGSeed(int(rng.integers(0, 2**31 - 1)))
    cv2.randn(noise, 0.0, spec.noise)
    picture += noise[:, :, None]
    photo = np.clip(picture, 0, 255).astype(np.uint8)
    ok, data = cv2.imencode(".jpg", photo, [cv2.IMWRITE_JPEG_QUALITY, spec.jpeg])
    if not ok:  # pragma: no cover - OpenCV encodes any uint8 picture
        raise RuntimeError("JPEG encoding failed")
    return cv2.imdecode(data, cv2.IMREAD_COLOR)


CONDITIONS = {
    "plain": Photo(),
    "faint_pencil": Photo(ink="pencil", opacity=0.35, stroke=0.5, noise=4),
    "blue_ballpoint_thin": Photo(stroke=0.6),
    "red_ink": Photo(ink="red"),
    "yellow_highlighter": Photo(ink="highlighter", opacity=0.7, stroke=1.6),
    "green_ink_on_yellow": Photo(ink="green", paper="yellow"),
    "thick_marker": Photo(ink="black", stroke=2.2, opacity=1.0),
    "grey_paper": Photo(paper="grey", ink="black"),
    "blue_paper": Photo(paper="blue", ink="black"),
    "strong_gradient": Photo(gradient=0.6),
    "shadow": Photo(shadow=0.55, gradient=0.3),
    "noisy_low_jpeg": Photo(noise=8, jpeg=35),
    "small_digit_off_centre": Photo(digit_height=0.15, position=(0.25, 0.7)),
    "corner": Photo(digit_height=0.3, position=(0.8, 0.25)),
    "tiny_photo": Photo(size=(60, 60), digit_height=0.7, noise=2),
    "tight_crop": Photo(size=(120, 140), digit_height=0.95, noise=2),
    "portrait": Photo(size=(480, 900), digit_height=0.5, position=(0.5, 0.4)),
}
