"""Marks on paper as the live camera sees them: the digit stage's search square, from the
320x240 lores plane and from the 640x480 main stream of the same scene.

A scene is drawn four times finer than lores and then reduced, in this order: paper
brightness, a light gradient and a soft-edged shadow; ink (the glyph's alpha, rotated,
darkening the paper by ``contrast``); lens blur; area reduction to lores and to main;
sensor noise; optionally JPEG. Sizes follow the live defaults: ROI side 0.45 of the
shorter frame side (108 px in lores) and a 10 % search margin on each side, so the
square the stage reads is 130 px in lores, 260 px in main.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

#: Supersampling of the scene relative to lores.
FINE = 4
#: The live geometry: lores frame, ROI side as a fraction of its height, search margin.
LORES_HEIGHT = 240
ROI_FRACTION = 0.45
MARGIN = 0.1
ROI_SIDE = ROI_FRACTION * LORES_HEIGHT  # 108 px in lores
SEARCH_SIDE = round(ROI_SIDE * (1 + 2 * MARGIN))  # 130 px in lores
MAIN_SCALE = 2  # main 640x480 against lores 320x240
#: Pen widths as fractions of the ink height (log-uniform between them).
PENS = (0.025, 0.12)


@dataclass(frozen=True)
class Scene:
    """How one mark is photographed. Lengths are in lores pixels unless said otherwise.

    Attributes:
        height: the mark's ink height as a fraction of the ROI side.
        angle: rotation in degrees, counter-clockwise (a tilted sheet).
        pen: pen width as a fraction of the ink height, or None (MNIST's own pen).
        contrast: how much the ink darkens the paper, 0-1.
        paper: paper brightness, grey levels.
        gradient: brightness change across the square (lamp to one side), fraction.
        light_dir: direction of the gradient, radians.
        shadow: darkening inside a soft-edged shadow, 0 = none.
        shadow_soft: width of the shadow's edge in lores px.
        shadow_dir: direction the shadow comes from, radians.
        shadow_gap: distance of the shadow's edge from the mark's centre, in ink heights.
        blur: lens blur sigma in lores px.
        noise: sensor noise sigma, grey levels.
        jpeg: JPEG quality, 0 = none.
        dx, dy: the mark's centre offset from the ROI's centre, fractions of its side.
        seed: the noise's seed.
    """

    height: float = 0.55
    angle: float = 0.0
    pen: float | None = None
    contrast: float = 0.7
    paper: float = 200.0
    gradient: float = 0.1
    light_dir: float = 0.0
    shadow: float = 0.0
    shadow_soft: float = 3.0
    shadow_dir: float = 0.0
    shadow_gap: float = 0.8
    blur: float = 0.6
    noise: float = 2.5
    jpeg: int = 0
    dx: float = 0.0
    dy: float = 0.0
    seed: int = 0

    def pen_px(self) -> float | None:
        """The pen width in lores pixels (at least 0.7), or None for MNIST's own pen."""
        if self.pen is None:
            return None
        return max(0.7, self.pen * self.height * ROI_SIDE)


def random_scene(rng: np.random.Generator, **fixed: object) -> Scene:
    """A camera scene drawn from the ranges a classroom gives; ``fixed`` overrides fields.

    Pens: a quarter MNIST's own (about 12 % of the ink height), the rest 2.5-12 % of the
    ink height, log-uniform (ballpoint to felt pen; a ballpoint digit at 25 % of the ROI
    has strokes about 1 px wide, as in phone photos of handwriting placed in the ROI).
    Ink contrast 0.45-0.85, a quarter low (0.15-0.3, faint pencil); a third under a
    shadow whose edge passes 0.4-1.2 ink heights from the centre; blur 0.3-1.2 px; noise
    1.5-4.5; a quarter JPEG 50-90.
    """
    low = rng.random() < 0.25
    values: dict[str, object] = {
        "height": rng.uniform(0.4, 0.7),
        "angle": rng.uniform(-5.0, 5.0),
        "pen": None if rng.random() < 0.25 else float(np.exp(rng.uniform(*np.log(PENS)))),
        "contrast": rng.uniform(0.15, 0.3) if low else rng.uniform(0.45, 0.85),
        "paper": rng.uniform(140.0, 225.0),
        "gradient": rng.uniform(0.0, 0.25),
        "light_dir": rng.uniform(0, 2 * math.pi),
        "shadow": rng.uniform(0.15, 0.45) if rng.random() < 1 / 3 else 0.0,
        "shadow_soft": rng.uniform(1.0, 6.0),
        "shadow_dir": rng.uniform(0, 2 * math.pi),
        "shadow_gap": rng.uniform(0.4, 1.2),
        "blur": rng.uniform(0.3, 1.2),
        "noise": rng.uniform(1.5, 4.5),
        "jpeg": int(rng.integers(50, 91)) if rng.random() < 0.25 else 0,
        "dx": rng.uniform(-0.04, 0.04),
        "dy": rng.uniform(-0.04, 0.04),
        "seed": int(rng.integers(0, 2**31 - 1)),
    }
    values.update(fixed)
    return Scene(**values)  # type: ignore[arg-type]


@dataclass(frozen=True)
class Shot:
    """One photographed scene.

    Attributes:
        lores: (130, 130) uint8, the search square from the lores plane.
        main: (260, 260) uint8, the same square from the main stream.
        boxes: (k, 4) float32 (x0, y0, x1, y1) of each mark in lores pixels.
    """

    lores: np.ndarray
    main: np.ndarray
    boxes: np.ndarray


def photograph(
    alpha: np.ndarray, boxes: list[tuple[float, float, float, float]], scene: Scene
) -> Shot:
    """Put an alpha picture drawn FINE times finer than lores on paper and photograph it.

    Args:
        alpha: (h, w) float32 ink coverage in [0, 1], FINE px per lores px.
        boxes: the marks' boxes (x0, y0, x1, y1) in ``alpha``'s pixels; their union is
            centred on the ROI (plus the scene's offset).
    """
    n = SEARCH_SIDE * FINE
    union = np.array(boxes, np.float64)
    cx = (union[:, 0].min() + union[:, 2].max()) / 2
    cy = (union[:, 1].min() + union[:, 3].max()) / 2
    tx = n / 2 + scene.dx * ROI_SIDE * FINE
    ty = n / 2 + scene.dy * ROI_SIDE * FINE
    m = cv2.getRotationMatrix2D((cx, cy), scene.angle, 1.0)
    m[:, 2] += (tx - cx, ty - cy)
    ink = cv2.warpAffine(alpha, m, (n, n), flags=cv2.INTER_LINEAR)
    light = _light(scene, n, (tx, ty), float(union[:, 3].max() - union[:, 1].min()))
    fine = light * (1.0 - scene.contrast * ink)
    if scene.blur > 0:
        fine = cv2.GaussianBlur(fine, (0, 0), scene.blur * FINE)
    rng = np.random.default_rng(scene.seed)
    lores = _sensor(fine, SEARCH_SIDE, scene, rng)
    main = _sensor(fine, SEARCH_SIDE * MAIN_SCALE, scene, rng)
    return Shot(lores, main, _moved_boxes(boxes, m) / FINE)


def _light(scene: Scene, n: int, centre: tuple[float, float], ink_height: float) -> np.ndarray:
    """Paper brightness under uneven light and an optional shadow: (n, n) float32."""
    coarse = 65
    ys, xs = np.mgrid[0:coarse, 0:coarse].astype(np.float32) * (n / (coarse - 1))
    u = (xs - n / 2) / n
    v = (ys - n / 2) / n
    light = 1.0 + scene.gradient * (math.cos(scene.light_dir) * u + math.sin(scene.light_dir) * v)
    if scene.shadow > 0:
        # Signed distance from the shadow's straight edge, which passes shadow_gap ink
        # heights from the mark's centre; positive inside the shadow.
        nx, ny = math.cos(scene.shadow_dir), math.sin(scene.shadow_dir)
        along = (xs - centre[0]) * nx + (ys - centre[1]) * ny
        inside = (along - scene.shadow_gap * ink_height) / (scene.shadow_soft * FINE)
        light = light * (1.0 - scene.shadow / (1.0 + np.exp(-np.clip(inside, -30, 30))))
    big = cv2.resize(light.astype(np.float32), (n, n), interpolation=cv2.INTER_LINEAR)
    return big * np.float32(scene.paper)


def _sensor(fine: np.ndarray, side: int, scene: Scene, rng: np.random.Generator) -> np.ndarray:
    """Area-reduce to ``side`` px, add noise, quantise, optionally JPEG: (side, side) uint8."""
    picture = cv2.resize(fine, (side, side), interpolation=cv2.INTER_AREA)
    picture = picture + rng.normal(0.0, scene.noise, picture.shape).astype(np.float32)
    out = np.clip(np.round(picture), 0, 255).astype(np.uint8)
    if scene.jpeg:
        ok, data = cv2.imencode(".jpg", out, [cv2.IMWRITE_JPEG_QUALITY, scene.jpeg])
        if not ok:  # pragma: no cover - OpenCV encodes any uint8 picture
            raise RuntimeError("JPEG encoding failed")
        out = cv2.imdecode(data, cv2.IMREAD_GRAYSCALE)
    return out


def _moved_boxes(boxes: list[tuple[float, float, float, float]], m: np.ndarray) -> np.ndarray:
    """Each box's corners through the affine ``m``, as their bounding box: (k, 4) float32."""
    out = []
    for x0, y0, x1, y1 in boxes:
        corners = np.array([[x0, y0, 1], [x1, y0, 1], [x0, y1, 1], [x1, y1, 1]])
        moved = corners @ m.T
        out.append([*moved.min(axis=0), *moved.max(axis=0)])
    return np.array(out, np.float32).reshape(-1, 4)
