"""A synthetic camera for machines without one: MNIST digits in ink on unevenly lit paper."""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from app.errors import SourceError
from app.frame import Frame
from app.sources.base import Pacer, Source
from app.state import Roi

log = logging.getLogger(__name__)

DIGITS_PATH = Path(__file__).resolve().parent.parent / "assets" / "demo_digits.npz"

#: BGR colour of a ballpoint pen's ink; dark so the digit reads as MNIST's bright strokes
#: once the classifier inverts the grey ROI.
INK_BGR = np.array([62, 40, 34], dtype=np.uint8)
#: Number of pre-rendered noisy backgrounds cycled through, so sensor noise changes from
#: frame to frame without generating 300k random numbers per frame.
NOISE_VARIANTS = 6


@dataclass(frozen=True)
class _Pose:
    """Where one digit sits: scale of the 28-px MNIST box relative to the ROI side,
    offset of its centre in ROI sides, rotation in degrees, ink opacity."""

    box_scale: float
    dx: float
    dy: float
    angle: float
    ink: float


def _random_pose(rng: np.random.Generator) -> _Pose:
    # The 28-px MNIST box is 0.90-1.02 of the ROI side, so the 20-px ink box covers about
    # 60-73 % of the ROI, framed as MNIST frames its digits when the ROI is scaled to 28.
    return _Pose(
        box_scale=float(rng.uniform(0.9, 1.02)),
        dx=float(rng.uniform(-0.02, 0.02)),
        dy=float(rng.uniform(-0.02, 0.02)),
        angle=float(rng.uniform(-7.0, 7.0)),
        ink=float(rng.uniform(0.82, 0.95)),
    )


def _paper(size: tuple[int, int], rng: np.random.Generator) -> np.ndarray:
    """Noise-free paper under uneven light: (H, W, 3) float32 BGR in 0-255.

    A tilted linear gradient (a lamp to one side), a vignette (lens fall-off) and a
    faint, low-frequency texture (paper fibres, slight creases).
    """
    width, height = size
    # Lighting and coarse texture are smooth: compute them on a quarter-size grid.
    small = (max(2, width // 4), max(2, height // 4))
    xs = np.linspace(-1.0, 1.0, small[0], dtype=np.float32)[None, :]
    ys = np.linspace(-1.0, 1.0, small[1], dtype=np.float32)[:, None] * (height / width)
    direction = float(rng.uniform(0.0, 2.0 * np.pi))
    gradient = float(rng.uniform(0.06, 0.14))
    light = 1.0 + gradient * (math.cos(direction) * xs + math.sin(direction) * ys)
    vignette = float(rng.uniform(0.08, 0.16))
    light = light * (1.0 - vignette * (xs * xs + ys * ys))
    coarse = rng.standard_normal((max(2, height // 40), max(2, width // 40)), dtype=np.float32)
    light += 0.016 * cv2.resize(coarse, small, interpolation=cv2.INTER_CUBIC)
    fine = rng.standard_normal((max(2, height // 3), max(2, width // 3)), dtype=np.float32)
    luminance = cv2.resize(light, (width, height), interpolation=cv2.INTER_LINEAR)
    luminance += 0.012 * cv2.resize(fine, (width, height), interpolation=cv2.INTER_LINEAR)
    paper_bgr = [rng.uniform(196, 212), rng.uniform(208, 220), rng.uniform(214, 228)]
    return cv2.merge([luminance * np.float32(c) for c in paper_bgr])


def _add_sensor_noise(paper: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Paper plus per-pixel sensor noise (sigma 3 grey levels): (H, W, 3) uint8."""
    height, width = paper.shape[:2]
    # OpenCV's generator is about ten times faster than NumPy's for a whole frame; seeding
    # it from ``rng`` keeps the result a function of ``rng`` alone (it is per thread).
    cv2.setRNGSeed(int(rng.integers(0, 2**31 - 1)))
    noise = np.empty((height, width), np.float32)
    cv2.randn(noise, 0.0, 3.0)
    noisy = paper + noise[:, :, None]
    return cv2.convertScaleAbs(noisy)


def _ink_patch(digit: np.ndarray, pixels_per_cell: float) -> tuple[np.ndarray, np.ndarray]:
    """Scale a 28x28 digit's inked area up smoothly.

    Returns the (h, w) float32 alpha patch in 0-1 and the offset (x, y) in output pixels
    of the patch centre from the 28-px box centre.
    """
    rows = np.flatnonzero(digit.max(axis=1))
    cols = np.flatnonzero(digit.max(axis=0))
    if rows.size == 0:
        return np.zeros((1, 1), np.float32), np.zeros(2)
    # One cell of margin keeps the anti-aliased edge of the strokes.
    r0, r1 = max(0, rows[0] - 1), min(28, rows[-1] + 2)
    c0, c1 = max(0, cols[0] - 1), min(28, cols[-1] + 2)
    crop = digit[r0:r1, c0:c1].astype(np.float32) * (1.0 / 255.0)
    out_w = max(1, round((c1 - c0) * pixels_per_cell))
    out_h = max(1, round((r1 - r0) * pixels_per_cell))
    patch = cv2.resize(crop, (out_w, out_h), interpolation=cv2.INTER_CUBIC)
    np.clip(patch, 0.0, 1.0, out=patch)
    offset = np.array([(c0 + c1) / 2 - 14.0, (r0 + r1) / 2 - 14.0]) * pixels_per_cell
    return patch, offset


def _roi_geometry(size: tuple[int, int], roi: Roi) -> tuple[float, float, float]:
    """The ROI's centre (x, y) and side in pixels for a frame of ``size`` (width, height)."""
    width, height = size
    return roi.cx * width, roi.cy * height, roi.size * min(width, height)


def _stamp_ink(
    frame: np.ndarray,
    patch: np.ndarray,
    patch_offset: np.ndarray,
    centre: tuple[float, float],
    angle: float,
    ink: float,
) -> None:
    """Draw the alpha ``patch`` as ink into ``frame`` (H, W, 3) uint8, in place.

    The 28-px box centre lands on ``centre`` (sub-pixel), rotated by ``angle`` degrees.
    Only the bounding box of the rotated patch is touched, so this costs well under a
    millisecond for a 200-px digit.
    """
    ph, pw = patch.shape
    rotation = cv2.getRotationMatrix2D((0.0, 0.0), angle, 1.0)
    # Patch pixel (u, v) -> rotate its position relative to the box centre, then move.
    rel = np.array(
        [
            [1.0, 0.0, patch_offset[0] - (pw - 1) / 2],
            [0.0, 1.0, patch_offset[1] - (ph - 1) / 2],
        ]
    )
    matrix = rotation[:, :2] @ rel
    matrix[:, 2] += centre
    corners = np.array([[0, 0, 1], [pw, 0, 1], [0, ph, 1], [pw, ph, 1]], dtype=np.float64)
    mapped = corners @ matrix.T
    height, width = frame.shape[:2]
    x0, y0 = np.floor(mapped.min(axis=0)).astype(int) - 1
    x1, y1 = np.ceil(mapped.max(axis=0)).astype(int) + 2
    x0, y0, x1, y1 = max(0, x0), max(0, y0), min(width, x1), min(height, y1)
    if x1 <= x0 or y1 <= y0:
        return
    matrix[:, 2] -= (x0, y0)
    alpha = cv2.warpAffine(
        patch,
        matrix,
        (x1 - x0, y1 - y0),
        flags=cv2.INTER_LINEAR,
        borderMode=cv2.BORDER_CONSTANT,
        borderValue=0.0,
    )
    alpha *= ink
    region = frame[y0:y1, x0:x1]
    ink_layer = np.empty_like(region)
    ink_layer[...] = INK_BGR
    # Per-pixel (1 - a) * paper + a * ink, in one OpenCV pass (several times faster than
    # the same in NumPy with its float temporaries).
    region[...] = cv2.blendLinear(region, ink_layer, 1.0 - alpha, alpha)


def render_digit_scene(
    digit: np.ndarray,
    *,
    size: tuple[int, int] = (640, 480),
    rng: np.random.Generator,
    roi: Roi = Roi(),  # noqa: B008 - Roi is frozen, a shared default is safe
) -> np.ndarray:
    """Render one MNIST digit as a camera would see it written on paper inside ``roi``.

    Args:
        digit: (28, 28) uint8 MNIST image (0 = background, 255 = ink).
        size: (width, height) of the frame.
        rng: all randomness (lighting, texture, noise, placement, tremor) comes from it.
        roi: the region the digit is centred in; its 28-px box spans 90-102 % of
            the ROI side, so the ink covers about 60-73 % of it.

    Returns:
        (height, width, 3) uint8 BGR frame: dark ink on light, unevenly lit paper.
    """
    digit = np.asarray(digit)
    if digit.shape != (28, 28) or digit.dtype != np.uint8:
        raise ValueError(f"digit must be a (28, 28) uint8 array, got {digit.shape} {digit.dtype}")
    frame = _add_sensor_noise(_paper(size, rng), rng)
    cx, cy, side = _roi_geometry(size, roi)
    pose = _random_pose(rng)
    patch, offset = _ink_patch(digit, pose.box_scale * side / 28.0)
    tremor = rng.normal(0.0, 0.6, size=3)
    centre = (cx + pose.dx * side + tremor[0], cy + pose.dy * side + tremor[1])
    _stamp_ink(frame, patch, offset, centre, pose.angle + tremor[2], pose.ink)
    return frame


def load_demo_digits(path: Path = DIGITS_PATH) -> tuple[np.ndarray, np.ndarray]:
    """The bundled digits: (N, 28, 28) uint8 images and (N,) uint8 labels."""
    try:
        with np.load(path) as data:
            images, labels = data["images"], data["labels"]
    except (OSError, KeyError, ValueError) as e:
        raise SourceError(f"demo digits {path}: cannot read ({e}); expected an .npz") from e
    if images.ndim != 3 or images.shape[1:] != (28, 28) or len(labels) != len(images):
        raise SourceError(
            f"demo digits {path}: images {images.shape}, labels {labels.shape}; "
            "expected (N, 28, 28) and (N,)"
        )
    return images.astype(np.uint8, copy=False), labels.astype(np.uint8, copy=False)


class DemoSource(Source):
    """Synthetic camera: a new bundled MNIST digit every ``digit_seconds`` of frames.

    Everything is a function of the seed and the frame number (not the clock), so a
    seed always gives the same frames. ``realtime`` paces ``read`` to ``fps``; without
    it frames come as fast as they are asked for (benchmarks).
    """

    def __init__(
        self,
        *,
        size: tuple[int, int] = (640, 480),
        fps: float = 30.0,
        seed: int = 0,
        realtime: bool = True,
        digit_seconds: float = 3.0,
        roi: Roi = Roi(),  # noqa: B008 - Roi is frozen, a shared default is safe
        digits_path: Path = DIGITS_PATH,
    ) -> None:
        if fps <= 0:
            raise SourceError(f"demo: fps must be positive, got {fps}")
        self.size = (int(size[0]), int(size[1]))
        if self.size[0] < 16 or self.size[1] < 16:
            raise SourceError(f"demo: size {size} too small; expected (width, height) >= 16")
        self.fps = float(fps)
        self.seed = int(seed)
        self.realtime = realtime
        self.frames_per_digit = max(1, round(digit_seconds * fps))
        self.roi = roi
        self.digits_path = digits_path
        self.description = f"demo (seed {self.seed})"
        #: True label (0-9) of the digit on the last frame ``read`` returned; None before.
        self.current_label: int | None = None
        self._images: np.ndarray | None = None
        self._labels: np.ndarray | None = None
        self._backgrounds: list[np.ndarray] = []
        self._seq = 0
        self._digit_number = -1
        self._patch = np.zeros((1, 1), np.float32)
        self._patch_offset = np.zeros(2)
        self._pose = _Pose(1.0, 0.0, 0.0, 0.0, 0.0)
        self._tremor_phase = np.zeros((3, 2))
        self._order: dict[int, np.ndarray] = {}
        self._pacer = Pacer(self.fps)

    def open(self) -> None:
        if self._backgrounds:
            return
        self._images, self._labels = load_demo_digits(self.digits_path)
        rng = np.random.default_rng(self.seed)
        paper = _paper(self.size, rng)
        self._backgrounds = [_add_sensor_noise(paper, rng) for _ in range(NOISE_VARIANTS)]
        self._seq = 0
        self._digit_number = -1
        self._order = {}
        self._pacer.restart()
        log.info("demo source: %d digits, %dx%d, seed %d", len(self._labels), *self.size, self.seed)

    def _digit_index(self, number: int) -> int:
        """Index into the bundled set of the ``number``-th digit shown (a shuffled cycle)."""
        assert self._labels is not None
        count = len(self._labels)
        cycle = number // count
        order = self._order.get(cycle)
        if order is None:
            order = np.random.default_rng((self.seed, cycle)).permutation(count)
            self._order = {cycle: order}
        return int(order[number % count])

    def _start_digit(self, number: int) -> None:
        assert self._images is not None and self._labels is not None
        index = self._digit_index(number)
        rng = np.random.default_rng((self.seed, 1, number))
        self._pose = _random_pose(rng)
        side = _roi_geometry(self.size, self.roi)[2]
        self._patch, self._patch_offset = _ink_patch(
            self._images[index], self._pose.box_scale * side / 28.0
        )
        self._tremor_phase = rng.uniform(0.0, 2.0 * np.pi, size=(3, 2))
        self._digit_number = number
        self.current_label = int(self._labels[index])

    def render(self, seq: int) -> np.ndarray:
        """Frame number ``seq``: (H, W, 3) uint8 BGR. Sets ``current_label``."""
        if not self._backgrounds:
            raise SourceError("demo: read before open")
        number = seq // self.frames_per_digit
        if number != self._digit_number:
            self._start_digit(number)
        # Hand tremor: two incommensurate slow sines per axis (about 1 px, 1 degree), so
        # the digit drifts as if held, plus the per-digit placement.
        t = seq / self.fps
        phase = self._tremor_phase
        wobble = np.sin(2.1 * t + phase[:, 0]) * 0.7 + np.sin(5.3 * t + phase[:, 1]) * 0.4
        cx, cy, side = _roi_geometry(self.size, self.roi)
        centre = (cx + self._pose.dx * side + wobble[0], cy + self._pose.dy * side + wobble[1])
        # A different pre-rendered noise pattern every frame (a six-frame cycle at 30 fps
        # is not visible).
        frame = self._backgrounds[seq % NOISE_VARIANTS].copy()
        _stamp_ink(
            frame,
            self._patch,
            self._patch_offset,
            centre,
            self._pose.angle + wobble[2],
            self._pose.ink,
        )
        return frame

    def read(self) -> Frame:
        if self.realtime:
            self._pacer.wait()
        array = self.render(self._seq)
        frame = Frame(
            array=array,
            gray=cv2.cvtColor(array, cv2.COLOR_BGR2GRAY),
            seq=self._seq,
            timestamp=time.monotonic(),
        )
        self._seq += 1
        return frame

    def close(self) -> None:
        self._backgrounds = []
        self._images = None
        self._labels = None
