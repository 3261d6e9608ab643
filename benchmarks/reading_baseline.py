"""The digit reading as it was before issue 15 (app/stages/mnist_preprocess.py at commit
c05fbd7), kept unchanged so ``benchmarks/reading.py`` measures the new reading against
it in the same run. Not used by the app.

Its own description follows.

Find the handwritten digit in a grey picture and normalise it the way MNIST was made.

MNIST's recipe (LeCun et al.): the ink's bounding box scaled to fit a 20x20 box with its
aspect ratio kept, anti-aliased (grey levels kept), then placed in a 28x28 field so the
centre of mass of the ink is at the centre (pixel (14, 14), the mean of MNIST itself).
Ink is bright (1.0) on a black (0.0) background.

Finding the ink works at any resolution: every size below is a fraction of the picture's
shorter side, every grey-level threshold is relative to the paper's brightness and the
measured noise.

1. Paper: a morphological closing (max then min filter) wider than any pen stroke
   removes the dark strokes and keeps the smooth light falloff and shadows, and regions
   too large to be ink (a desk, a hand). ``ink strength = paper - pixel`` is then
   independent of uneven light. It is an adaptive threshold against a local *maximum*
   rather than ``cv2.adaptiveThreshold``'s local mean, which hollows out thick marker
   strokes as wide as its block and fires on noise on blank paper.
2. Threshold with hysteresis: Otsu's threshold of the strength (but at least 4 noise
   sigmas and 5 % of the paper's brightness) marks stroke cores; pixels above half of it
   that are connected to a core are ink too (faint pencil, anti-aliased edges).
3. Connected components: specks are dropped, components touching the border are
   dropped (ruled lines, the edge of the sheet, a shadow reaching in), the component with
   the most ink is the digit, and nearby pieces (a broken 5 or 7) are merged into it.
4. Grey-level ink ``clip((paper - pixel) / contrast)`` in the digit's bounding box; very
   thin (pencil) or very thick (marker) strokes are brought towards MNIST's stroke width
   by a grey dilation or erosion, then the MNIST recipe above.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

#: MNIST geometry: the digit fits a 20x20 box; its centre of mass sits at (14, 14)
#: (row, column), the mean over MNIST itself (measured: 13.99, 14.01).
BOX = 20
SIZE = 28
CENTRE = 14.0

#: Reasons returned instead of a tensor (the overlay shows them).
NO_INK = "no ink"
TOO_MUCH_INK = "too much ink"
TOUCHES_EDGE = "ink touches the edge"
TOO_SMALL = "ROI too small"

#: Ink covering more of the ROI than this is not one digit (scribbles, text, a patterned
#: cloth); a thick-marker digit covers about 30 %.
MAX_INK_FRACTION = 0.38
#: A digit is at least this fraction of the picture's shorter side tall or wide.
MIN_DIGIT_SIDE = 0.06
#: Closing element (paper estimate) as a fraction of the shorter side: wider than a
#: thick marker stroke (about 12 %), narrow enough to follow a shadow's edge.
PAPER_KERNEL = 0.2
#: A component's mean ink strength, in units of the noise floor, to count as ink.
MIN_MEAN_STRENGTH = 1.25
#: Pieces whose bounding box is within this fraction of the digit's size are merged.
MERGE_GAP = 0.3
#: MNIST strokes are about 2-3 px wide in the 20 px box (bold ones up to 5); thinner
#: strokes are thickened to THIN_TARGET, thicker ones thinned to THICK_TARGET.
THIN_STROKE, THICK_STROKE = 1.6, 4.5
THIN_TARGET, THICK_TARGET = 2.4, 3.6


@dataclass(frozen=True)
class InkMap:
    """The ink found in a picture.

    Attributes:
        ink: (h, w) float32 in [0, 1], 1 = full ink, only inside the digit's pieces.
        box: (x0, y0, x1, y1) of the digit in picture pixels, end exclusive.
        stroke: estimated stroke width in picture pixels.
    """

    ink: np.ndarray
    box: tuple[int, int, int, int]
    stroke: float


def _odd(n: float) -> int:
    k = max(1, round(n))
    return k if k % 2 else k + 1


def paper_estimate(gray: np.ndarray) -> tuple[np.ndarray, float]:
    """The paper's brightness under every pixel, strokes removed: (h, w) float32.

    Computed on a copy about 64 px on its shorter side (the light varies slowly), with a
    closing wider than a stroke, smoothed and scaled back. Also returns the paper's
    typical brightness (90th percentile).
    """
    h, w = gray.shape
    factor = max(1.0, min(h, w) / 64.0)
    small_size = (max(1, round(w / factor)), max(1, round(h / factor)))
    small = cv2.resize(gray, small_size, interpolation=cv2.INTER_AREA) if factor > 1 else gray
    k = _odd(PAPER_KERNEL * min(small.shape))
    element = cv2.getStructuringElement(cv2.MORPH_RECT, (k, k))
    # A closing overestimates a light gradient near the borders (the window reaches only
    # brighter paper there): extend the picture by point reflection (2 * edge - mirror),
    # which continues a gradient linearly, and cut the extension off again.
    pad = k
    mirror = cv2.copyMakeBorder(small, pad, pad, pad, pad, cv2.BORDER_REFLECT_101)
    edge = cv2.copyMakeBorder(small, pad, pad, pad, pad, cv2.BORDER_REPLICATE)
    extended = cv2.addWeighted(edge, 2.0, mirror, -1.0, 0.0)
    closed = cv2.morphologyEx(extended, cv2.MORPH_CLOSE, element)
    closed = cv2.GaussianBlur(closed, (0, 0), k / 4.0 + 0.5)[pad:-pad, pad:-pad]
    level = float(np.percentile(closed, 90))
    if factor > 1:
        closed = cv2.resize(closed, (w, h), interpolation=cv2.INTER_LINEAR)
    return closed, level


def noise_sigma(image: np.ndarray) -> float:
    """Robust standard deviation of pixel noise: MAD of a 3x3 high-pass, on a subsample."""
    hp = image - cv2.blur(image, (3, 3))
    sample = np.abs(hp[::2, ::2]).ravel()
    # 1.4826 * MAD = sigma for Gaussian noise; (9/8)^0.5 undoes the box filter's share.
    return float(np.median(sample)) * 1.4826 * 1.06


def _otsu(values: np.ndarray) -> float:
    """Otsu's threshold of non-negative float values (clipped to 0..255)."""
    u8 = cv2.convertScaleAbs(values)
    t, _ = cv2.threshold(u8, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    return float(t)


def _box_gap(a: np.ndarray, b: np.ndarray) -> float:
    """Distance between two boxes (x0, y0, x1, y1); 0 when they overlap."""
    dx = max(0.0, float(max(a[0], b[0]) - min(a[2], b[2])))
    dy = max(0.0, float(max(a[1], b[1]) - min(a[3], b[3])))
    return float(np.hypot(dx, dy))


def stroke_width(mask: np.ndarray) -> float:
    """Mean stroke width of a binary (h, w) uint8 mask: 2 * area / perimeter.

    For a stroke of width W and length L >> W the perimeter is about 2L, so this is W;
    the inner outlines of loops (0, 6, 8, 9) count too.
    """
    contours, _ = cv2.findContours(mask, cv2.RETR_LIST, cv2.CHAIN_APPROX_NONE)
    perimeter = sum(cv2.arcLength(c, True) for c in contours)
    area = float(np.count_nonzero(mask))
    return 2.0 * area / perimeter if perimeter > 0 else 1.0


def find_ink(gray: np.ndarray, work_side: int = 0) -> tuple[InkMap | None, str | None]:
    """Locate the digit's ink in a grey picture (dark ink on lighter paper).

    Args:
        gray: (h, w) uint8, any size from 8 px.
        work_side: when > 0, pictures whose shorter side is larger are first
            downscaled (area, by the smallest integer factor that brings the shorter side
            to at most ``work_side``); the InkMap is then in those working pixels.
    Returns:
        (InkMap, None) or (None, reason) with reason one of NO_INK, TOO_MUCH_INK,
        TOUCHES_EDGE, TOO_SMALL.
    """
    if min(gray.shape) < 8:
        return None, TOO_SMALL
    if work_side and min(gray.shape) > work_side:
        # An integer factor (cropping the few rows and columns that do not fit) takes
        # OpenCV's fast exact path for area averaging.
        k = -(-min(gray.shape) // work_side)
        h, w = (gray.shape[0] // k) * k, (gray.shape[1] // k) * k
        gray = cv2.resize(gray[:h, :w], (w // k, h // k), interpolation=cv2.INTER_AREA)
    h, w = gray.shape
    side = min(h, w)
    image = gray.astype(np.float32)
    sigma = max(0.6, side / 300.0)
    image = cv2.GaussianBlur(image, (0, 0), sigma)
    paper, paper_level = paper_estimate(image)
    strength = paper - image
    np.maximum(strength, 0.0, out=strength)
    noise = noise_sigma(image)
    floor = max(4.0 * noise, 0.05 * paper_level, 3.0)
    high = max(_otsu(strength), floor)
    low = max(0.5 * high, 0.75 * floor)

    # Scribbles, text or a patterned cloth: far more ink than a digit. (A shadow, a hand
    # or a desk is larger than the closing and so counts as paper, not as ink.)
    weak = (strength > low).astype(np.uint8)
    if np.count_nonzero(weak) > MAX_INK_FRACTION * weak.size:
        return None, TOO_MUCH_INK

    count, labels, stats, _ = cv2.connectedComponentsWithStats(weak, connectivity=8)
    if count <= 1:
        return None, NO_INK
    # Ink mass (sum of strength) per component; which ones hold a stroke core.
    mass = np.bincount(labels.ravel(), weights=strength.ravel(), minlength=count)
    cores = np.bincount(labels[strength > high], minlength=count)
    x0, y0 = stats[:, cv2.CC_STAT_LEFT], stats[:, cv2.CC_STAT_TOP]
    x1, y1 = x0 + stats[:, cv2.CC_STAT_WIDTH], y0 + stats[:, cv2.CC_STAT_HEIGHT]
    boxes = np.stack([x0, y0, x1, y1], axis=1)
    area = stats[:, cv2.CC_STAT_AREA]
    touches = (x0 == 0) | (y0 == 0) | (x1 == w) | (y1 == h)
    # Real strokes are well above the floor on average (faint pencil about 1.7x); what a
    # closing leaves of a shadow's soft edge or of a gradient is at about 0.8x.
    valid = (cores > 0) & (mass >= MIN_MEAN_STRENGTH * floor * np.maximum(area, 1))
    valid[0] = False
    size = np.maximum(x1 - x0, y1 - y0)
    big_enough = (size >= MIN_DIGIT_SIDE * side) & (area >= 12)
    interior = np.flatnonzero(valid & ~touches)
    edge = np.flatnonzero(valid & touches & big_enough)
    if interior.size == 0:
        return None, TOUCHES_EDGE if edge.size else NO_INK
    main = int(interior[np.argmax(mass[interior])])
    if not big_enough[main]:
        return None, TOUCHES_EDGE if edge.size else NO_INK
    box = boxes[main].astype(float)
    for e in edge:
        # The digit runs into the border: a large piece of it touches the edge.
        if mass[e] > 0.5 * mass[main] and _box_gap(box, boxes[e]) <= 0.1 * size[main]:
            return None, TOUCHES_EDGE

    selected = [main]
    candidates = [int(c) for c in interior if c != main and mass[c] >= 0.03 * mass[main]]
    changed = True
    while changed and candidates:
        changed = False
        digit_size = max(box[2] - box[0], box[3] - box[1])
        for c in list(candidates):
            if _box_gap(box, boxes[c]) <= MERGE_GAP * digit_size:
                selected.append(c)
                candidates.remove(c)
                box = np.array(
                    [
                        min(box[0], boxes[c][0]),
                        min(box[1], boxes[c][1]),
                        max(box[2], boxes[c][2]),
                        max(box[3], boxes[c][3]),
                    ],
                    dtype=float,
                )
                changed = True

    bx0, by0, bx1, by1 = (int(v) for v in box)
    # Work inside the digit's box (plus a 2 px rim for the anti-aliased edge).
    cx0, cy0 = max(0, bx0 - 2), max(0, by0 - 2)
    cx1, cy1 = min(w, bx1 + 2), min(h, by1 + 2)
    crop_labels = labels[cy0:cy1, cx0:cx1]
    chosen = np.zeros(count, np.uint8)
    chosen[selected] = 1
    mask = chosen[crop_labels]
    crop_strength = strength[cy0:cy1, cx0:cx1]
    core = crop_strength[mask > 0]
    contrast = float(np.partition(core, int(0.9 * (core.size - 1)))[int(0.9 * (core.size - 1))])
    cut = 0.5 * low
    rim = cv2.dilate(mask, np.ones((3, 3), np.uint8))
    ink = (crop_strength - cut) * (1.0 / max(contrast - cut, 1e-3))
    np.clip(ink, 0.0, 1.0, out=ink)
    ink *= rim
    full = np.zeros((h, w), np.float32)
    full[cy0:cy1, cx0:cx1] = ink
    return InkMap(full, (bx0, by0, bx1, by1), stroke_width(mask)), None


def _adjust_stroke(ink: np.ndarray, stroke: float, scale: float) -> np.ndarray:
    """Grey dilation (thin strokes) or erosion (thick ones) towards MNIST's stroke width.

    ``stroke`` is in source pixels and ``scale`` maps source pixels to the 20 px box.
    """
    width_in_box = stroke * scale
    if THIN_STROKE <= width_in_box <= THICK_STROKE:
        return ink
    target = THIN_TARGET if width_in_box < THIN_STROKE else THICK_TARGET
    change = target / scale - stroke  # source pixels to add (or remove if < 0)
    k = _odd(abs(change) + 1)
    if k < 3:
        return ink
    element = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (k, k))
    if change > 0:
        return cv2.dilate(ink, element)
    return cv2.erode(ink, element)


def ink_to_mnist(ink: np.ndarray, box: tuple[int, int, int, int], stroke: float) -> np.ndarray:
    """MNIST normalisation of the ink inside ``box``: (28, 28) float32 in [0, 1], ink = 1."""
    x0, y0, x1, y1 = box
    bw, bh = x1 - x0, y1 - y0
    scale = BOX / max(bw, bh)
    h, w = ink.shape
    # Thickening needs room around the box; take the rim the dilation reaches.
    margin = max(2, round(abs(THIN_TARGET / scale - stroke)) + 2)
    cx0, cy0 = max(0, x0 - margin), max(0, y0 - margin)
    cx1, cy1 = min(w, x1 + margin), min(h, y1 + margin)
    region = _adjust_stroke(ink[cy0:cy1, cx0:cx1], stroke, scale)
    crop = region[y0 - cy0 : y1 - cy0, x0 - cx0 : x1 - cx0]
    if crop.shape[0] != bh or crop.shape[1] != bw:  # pragma: no cover - box inside ink
        raise ValueError("ink box outside the ink map")
    out_w, out_h = max(1, round(bw * scale)), max(1, round(bh * scale))
    interpolation = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
    patch = cv2.resize(crop, (out_w, out_h), interpolation=interpolation)
    np.clip(patch, 0.0, 1.0, out=patch)
    total = float(patch.sum())
    if total <= 0:
        return np.zeros((SIZE, SIZE), np.float32)
    rows, cols = np.arange(out_h, dtype=np.float64), np.arange(out_w, dtype=np.float64)
    com_y = float(patch.sum(axis=1) @ rows) / total
    com_x = float(patch.sum(axis=0) @ cols) / total
    top, left = round(CENTRE - com_y), round(CENTRE - com_x)
    tensor = np.zeros((SIZE, SIZE), np.float32)
    # Paste with clipping: an extreme shape may lose a sliver beyond the 28 px field.
    ty0, tx0 = max(0, top), max(0, left)
    ty1, tx1 = min(SIZE, top + out_h), min(SIZE, left + out_w)
    if ty1 > ty0 and tx1 > tx0:
        tensor[ty0:ty1, tx0:tx1] = patch[ty0 - top : ty1 - top, tx0 - left : tx1 - left]
    peak = float(tensor.max())
    if peak > 0:
        tensor *= 1.0 / peak
    return tensor


def roi_to_mnist_tensor(
    gray_roi: np.ndarray, *, work_side: int = 160
) -> tuple[np.ndarray | None, str | None]:
    """The digit in a grey ROI as the network's input.

    Args:
        gray_roi: (h, w) uint8, dark ink on lighter paper.
        work_side: ROIs with a larger shorter side are downscaled to it first (the
            live loop's time budget; 160 px leaves a digit about 100 px tall, five
            times MNIST's 20 px box). Still photos pass a larger value.
    Returns:
        ((28, 28) float32 in [0, 1] with ink = 1 (MNIST polarity), None), or
        (None, reason): "no ink", "too much ink", "ink touches the edge", "ROI too small".
    """
    gray_roi = np.asarray(gray_roi)
    if gray_roi.ndim != 2 or gray_roi.dtype != np.uint8:
        raise ValueError(f"gray_roi must be (h, w) uint8, got {gray_roi.shape} {gray_roi.dtype}")
    found, reason = find_ink(gray_roi, work_side)
    if found is None:
        return None, reason
    return ink_to_mnist(found.ink, found.box, found.stroke), None
