"""Find the handwritten digit in a grey picture and normalise it the way MNIST was made.

MNIST's recipe (LeCun et al.): the ink's bounding box scaled to fit a 20x20 box with its
aspect ratio kept, anti-aliased (grey levels kept), then placed in a 28x28 field so the
centre of mass of the ink is at the centre (pixel (14, 14), the mean of MNIST itself).
Ink is bright (1.0) on a black (0.0) background.

Finding the ink works at any resolution: every size below is a fraction of the picture's
shorter side, every grey-level threshold is relative to the paper's brightness and the
measured noise.

1. Paper: a morphological closing (max then min filter) wider than any pen stroke
   removes the dark strokes and keeps the smooth light falloff and shadows, and regions
   too large to be ink (a desk, a hand); it is smoothed but never raised, so a
   shadow's edge does not turn into a line of ink. ``ink strength = paper - pixel`` is then
   independent of uneven light. It is an adaptive threshold against a local *maximum*
   rather than ``cv2.adaptiveThreshold``'s local mean, which hollows out thick marker
   strokes as wide as its block and fires on noise on blank paper.
2. Threshold with hysteresis: Otsu's threshold of the strength (but at least 4 noise
   sigmas and 4 % of the paper's brightness) marks stroke cores; pixels above half of it
   that are connected to a core are ink too (faint pencil, anti-aliased edges).
3. Connected components: specks are dropped, components touching the border are
   dropped (ruled lines, the edge of the sheet, a shadow reaching in), the component with
   the most ink is the digit, and nearby pieces (a broken 5 or 7) are merged into it.
4. Grey-level ink ``clip((paper - pixel) / contrast)`` in the digit's bounding box, then
   ``app.reading.normalise``: the slant sheared to MNIST's mean, very thin (pencil) or
   very thick (marker) strokes brought towards MNIST's stroke width by a grey dilation or
   erosion, and the MNIST recipe above.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from app.reading.normalise import ink_to_mnist
from app.reading.strokes import odd_size, stroke_width
from app.timing import Step, untimed

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
#: thick marker stroke (about 12 %) and than the dark knot of a small loop (a bold 5 or
#: 9); a closing keeps a shadow's straight edge whatever its width, but fills dark
#: bands narrower than this.
PAPER_KERNEL = 0.25
#: A component's mean ink strength, in units of the noise floor, to count as ink.
MIN_MEAN_STRENGTH = 1.25
#: The faintest stroke core, as a fraction of the paper's brightness.
MIN_INK_DEPTH = 0.04
#: Pieces whose bounding box is within this fraction of the digit's size are merged.
MERGE_GAP = 0.3


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
    k = odd_size(PAPER_KERNEL * min(small.shape))
    element = cv2.getStructuringElement(cv2.MORPH_RECT, (k, k))
    # A closing overestimates a light gradient near the borders (the window reaches only
    # brighter paper there): extend the picture by point reflection (2 * edge - mirror),
    # which continues a gradient linearly, and cut the extension off again.
    pad = k
    mirror = cv2.copyMakeBorder(small, pad, pad, pad, pad, cv2.BORDER_REFLECT_101)
    edge = cv2.copyMakeBorder(small, pad, pad, pad, pad, cv2.BORDER_REPLICATE)
    extended = cv2.addWeighted(edge, 2.0, mirror, -1.0, 0.0)
    closed = cv2.morphologyEx(extended, cv2.MORPH_CLOSE, element)
    # Smooth the closing's blocky plateaus, but never above the closing itself: blurring
    # a shadow's edge would spill bright paper into the shadow, and that band of "ink"
    # along the edge joined digits to the border ("ink touches the edge"; measured on
    # the dev sets: 22 of 1,500 digits lost that way, 5 with the minimum).
    smooth = cv2.GaussianBlur(closed, (0, 0), k / 4.0 + 0.5)
    closed = np.minimum(smooth, closed)[pad:-pad, pad:-pad]
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


@dataclass(frozen=True)
class InkComponents:
    """The ink-like pieces of a grey picture, before one of them is chosen as the digit.

    Attributes:
        strength: (h, w) float32, ``paper - pixel`` clipped at 0, in working pixels.
        labels: (h, w) int32 connected-component labels of ``strength > low``; 0 = paper.
        boxes: (count, 4) int (x0, y0, x1, y1) per label, end exclusive.
        mass: (count,) float64 sum of ``strength`` per label.
        area: (count,) int pixel count per label.
        valid: (count,) bool, the label holds a stroke core and enough mean strength.
        touches: (count,) bool, the label's box reaches the picture's border.
        low: the hysteresis threshold's lower level (grey levels).
        floor: the noise floor the thresholds respect (grey levels).
    """

    strength: np.ndarray
    labels: np.ndarray
    boxes: np.ndarray
    mass: np.ndarray
    area: np.ndarray
    valid: np.ndarray
    touches: np.ndarray
    low: float
    floor: float

    @property
    def size(self) -> np.ndarray:
        """(count,) int, the longer side of each label's box."""
        return np.maximum(self.boxes[:, 2] - self.boxes[:, 0], self.boxes[:, 3] - self.boxes[:, 1])


def working_factor(shape: tuple[int, ...], work_side: int) -> int:
    """The integer reduction ``working_copy`` applies to a picture of ``shape`` (1: none)."""
    if not work_side or min(shape[:2]) <= work_side:
        return 1
    return -(-min(shape[:2]) // work_side)


def working_copy(gray: np.ndarray, work_side: int) -> np.ndarray:
    """``gray`` reduced (area) by the smallest integer factor that brings its shorter side
    to at most ``work_side``; unchanged when ``work_side`` is 0 or already met."""
    k = working_factor(gray.shape, work_side)
    if k == 1:
        return gray
    # An integer factor (cropping the few rows and columns that do not fit) takes
    # OpenCV's fast exact path for area averaging.
    h, w = (gray.shape[0] // k) * k, (gray.shape[1] // k) * k
    return cv2.resize(gray[:h, :w], (w // k, h // k), interpolation=cv2.INTER_AREA)


def ink_components(gray: np.ndarray) -> InkComponents | str:
    """Threshold the ink strength with hysteresis and label its connected pieces.

    Args:
        gray: (h, w) uint8 working picture, at least 8 px on each side.
    Returns:
        InkComponents, or TOO_MUCH_INK when the ink covers more than MAX_INK_FRACTION.
    """
    h, w = gray.shape
    image = gray.astype(np.float32)
    image = cv2.GaussianBlur(image, (0, 0), max(0.6, min(h, w) / 300.0))
    paper, paper_level = paper_estimate(image)
    strength = paper - image
    np.maximum(strength, 0.0, out=strength)
    # 4 % of the paper: a faint 1 px pencil stroke at a quarter of the ROI is about 5 %
    # deep (5 % lost 5 of 600 such dev digits as "no ink"; 4 % and 3 % none, and blank
    # shaded paper stayed blank).
    floor = max(4.0 * noise_sigma(image), MIN_INK_DEPTH * paper_level, 3.0)
    high = max(_otsu(strength), floor)
    low = max(0.5 * high, 0.75 * floor)

    # Scribbles, text or a patterned cloth: far more ink than a digit. (A shadow, a hand
    # or a desk is larger than the closing and so counts as paper, not as ink.)
    weak = (strength > low).astype(np.uint8)
    if np.count_nonzero(weak) > MAX_INK_FRACTION * weak.size:
        return TOO_MUCH_INK
    count, labels, stats, _ = cv2.connectedComponentsWithStats(weak, connectivity=8)
    # Ink mass (sum of strength) per component; which ones hold a stroke core.
    mass = np.bincount(labels.ravel(), weights=strength.ravel(), minlength=count)
    cores = np.bincount(labels[strength > high], minlength=count)
    x0, y0 = stats[:, cv2.CC_STAT_LEFT], stats[:, cv2.CC_STAT_TOP]
    x1, y1 = x0 + stats[:, cv2.CC_STAT_WIDTH], y0 + stats[:, cv2.CC_STAT_HEIGHT]
    area = stats[:, cv2.CC_STAT_AREA]
    # Real strokes are well above the floor on average (faint pencil about 1.7x); what a
    # closing leaves of a shadow's soft edge or of a gradient is at about 0.8x.
    valid = (cores > 0) & (mass >= MIN_MEAN_STRENGTH * floor * np.maximum(area, 1))
    valid[0] = False
    return InkComponents(
        strength=strength,
        labels=labels,
        boxes=np.stack([x0, y0, x1, y1], axis=1),
        mass=mass,
        area=area,
        valid=valid,
        touches=(x0 == 0) | (y0 == 0) | (x1 == w) | (y1 == h),
        low=low,
        floor=floor,
    )


def _choose_digit(comp: InkComponents) -> int | str:
    """The label of the digit's main piece (the most ink away from the border), or a reason.

    NO_INK when nothing qualifies; TOUCHES_EDGE when the best candidates reach the
    border, or a large piece next to the main one does (the digit runs off the picture).
    """
    side = min(comp.labels.shape)
    size = comp.size
    big_enough = (size >= MIN_DIGIT_SIDE * side) & (comp.area >= 12)
    interior = np.flatnonzero(comp.valid & ~comp.touches)
    edge = np.flatnonzero(comp.valid & comp.touches & big_enough)
    if interior.size == 0:
        return TOUCHES_EDGE if edge.size else NO_INK
    main = int(interior[np.argmax(comp.mass[interior])])
    if not big_enough[main]:
        return TOUCHES_EDGE if edge.size else NO_INK
    box = comp.boxes[main].astype(float)
    for e in edge:
        # The digit runs into the border: a large piece of it touches the edge.
        if (
            comp.mass[e] > 0.5 * comp.mass[main]
            and _box_gap(box, comp.boxes[e]) <= 0.1 * size[main]
        ):
            return TOUCHES_EDGE
    return main


def _merge_nearby(comp: InkComponents, main: int) -> tuple[list[int], tuple[int, int, int, int]]:
    """``main`` plus the interior pieces within MERGE_GAP of the growing box (a 5 or 7
    written in two strokes); returns the labels and their joint box (x0, y0, x1, y1)."""
    box = comp.boxes[main].astype(float)
    selected = [main]
    interior = np.flatnonzero(comp.valid & ~comp.touches)
    candidates = [int(c) for c in interior if c != main and comp.mass[c] >= 0.03 * comp.mass[main]]
    changed = True
    while changed and candidates:
        changed = False
        digit_size = max(box[2] - box[0], box[3] - box[1])
        for c in list(candidates):
            other = comp.boxes[c]
            if _box_gap(box, other) <= MERGE_GAP * digit_size:
                selected.append(c)
                candidates.remove(c)
                box = np.concatenate(
                    [np.minimum(box[:2], other[:2]), np.maximum(box[2:], other[2:])]
                )
                changed = True
    x0, y0, x1, y1 = (int(v) for v in box)
    return selected, (x0, y0, x1, y1)


def ink_map(comp: InkComponents, selected: list[int], box: tuple[int, int, int, int]) -> InkMap:
    """Grey-level ink of the ``selected`` pieces: ``clip((strength - cut) / contrast)``.

    ``contrast`` is the pieces' 90th-percentile strength, so faint pencil and black
    marker both reach 1; the anti-aliased rim one pixel around the pieces is kept.
    """
    h, w = comp.labels.shape
    bx0, by0, bx1, by1 = box
    # Work inside the digit's box (plus a 2 px rim for the anti-aliased edge).
    cx0, cy0 = max(0, bx0 - 2), max(0, by0 - 2)
    cx1, cy1 = min(w, bx1 + 2), min(h, by1 + 2)
    chosen = np.zeros(len(comp.mass), np.uint8)
    chosen[selected] = 1
    mask = chosen[comp.labels[cy0:cy1, cx0:cx1]]
    crop_strength = comp.strength[cy0:cy1, cx0:cx1]
    core = crop_strength[mask > 0]
    k = int(0.9 * (core.size - 1))
    contrast = float(np.partition(core, k)[k])
    cut = 0.5 * comp.low
    rim = cv2.dilate(mask, np.ones((3, 3), np.uint8))
    ink = (crop_strength - cut) * (1.0 / max(contrast - cut, 1e-3))
    np.clip(ink, 0.0, 1.0, out=ink)
    ink *= rim
    full = np.zeros((h, w), np.float32)
    full[cy0:cy1, cx0:cx1] = ink
    return InkMap(full, box, stroke_width(mask))


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
    comp = ink_components(working_copy(gray, work_side))
    if isinstance(comp, str):
        return None, comp
    main = _choose_digit(comp)
    if isinstance(main, str):
        return None, main
    selected, box = _merge_nearby(comp, main)
    return ink_map(comp, selected, box), None


@dataclass(frozen=True)
class RoiRead:
    """The digit read from a grey ROI.

    Attributes:
        tensor: (28, 28) float32 in [0, 1], ink = 1 (MNIST polarity), or None.
        reason: why there is no tensor ("no ink", "too much ink", "ink touches the
            edge", "ROI too small"), else None.
        box: the digit's (x0, y0, x1, y1) in the ROI's pixels, end exclusive, or None.
        height_px: the digit's height in the pixels the ink was found in (the ROI
            reduced to ``work_side``; 0.0 without a digit): what decides "too small".
        factor: the ROI's pixels per working pixel.
    """

    tensor: np.ndarray | None
    reason: str | None
    box: tuple[int, int, int, int] | None = None
    height_px: float = 0.0
    factor: int = 1


def read_roi(
    gray_roi: np.ndarray, *, work_side: int = 160, straighten: bool = True, step: Step = untimed
) -> RoiRead:
    """``roi_to_mnist_tensor`` with where the digit is and how many pixels tall it is;
    ``step`` times finding the ink and normalising it (``Stage.step``)."""
    gray_roi = np.asarray(gray_roi)
    if gray_roi.ndim != 2 or gray_roi.dtype != np.uint8:
        raise ValueError(f"gray_roi must be (h, w) uint8, got {gray_roi.shape} {gray_roi.dtype}")
    with step("find ink"):
        found, reason = find_ink(gray_roi, work_side)
    if found is None:
        return RoiRead(None, reason)
    k = working_factor(gray_roi.shape, work_side)
    x0, y0, x1, y1 = found.box
    with step("normalise"):
        tensor = ink_to_mnist(found.ink, found.box, found.stroke, straighten=straighten)
    return RoiRead(tensor, None, (x0 * k, y0 * k, x1 * k, y1 * k), float(y1 - y0), k)


def roi_to_mnist_tensor(
    gray_roi: np.ndarray, *, work_side: int = 160, straighten: bool = True
) -> tuple[np.ndarray | None, str | None]:
    """The digit in a grey ROI as the network's input.

    Args:
        gray_roi: (h, w) uint8, dark ink on lighter paper.
        work_side: ROIs with a larger shorter side are downscaled to it first (the
            live loop's time budget; 160 px leaves a digit about 100 px tall, five
            times MNIST's 20 px box). Still photos pass a larger value.
        straighten: shear a slant beyond MNIST's usual range back to its edge
            (``app.reading.deskew``); False gives MNIST's recipe exactly.
    Returns:
        ((28, 28) float32 in [0, 1] with ink = 1 (MNIST polarity), None), or
        (None, reason): "no ink", "too much ink", "ink touches the edge", "ROI too small".
    """
    read = read_roi(gray_roi, work_side=work_side, straighten=straighten)
    return read.tensor, read.reason
