"""Classify the handwritten digit in still photos, through the live loop's ROI-to-tensor path."""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from app.errors import ConvlensError
from app.imageio import PhotoError, read_photo
from app.reading.number import read_number
from app.reading.rejection import NOT_A_DIGIT, is_digit, prediction_logits
from app.stages.mnist_preprocess import (
    TOO_MUCH_INK,
    TOUCHES_EDGE,
    paper_estimate,
    roi_to_mnist_tensor,
)

log = logging.getLogger(__name__)


class PredictError(ConvlensError):
    """The classifier failed on one photo (raised, or gave non-finite probabilities)."""


#: Photos are first downscaled (area) so their longest side is at most this; a digit
#: filling a tenth of the picture is then still 80 px, four times MNIST's 20 px box.
WORK_LONG_SIDE = 800
#: The ink search runs with this shorter side at most (scale-invariant thresholds; the
#: cost is then the same for a 60x60 crop and a 12-megapixel photo).
WORK_SIDE = 320
#: When the digit touches the picture's edge (a tight crop), the picture is padded with
#: paper by this fraction of its shorter side and searched again.
EDGE_PAD = 0.12


def ink_contrast_gray(bgr: np.ndarray) -> np.ndarray:
    """The grey version of a colour photo in which the ink stands out most: (H, W) uint8.

    Candidates: luminance and each of B, G, R. Luminance hides some inks (yellow, light
    red or blue on white keep most of their brightness) and coloured paper tints one
    channel; the candidate with the highest ink contrast relative to its paper (the
    99.5th percentile of paper - pixel, over the paper's brightness, on a small copy)
    wins. A grey photo has four equal candidates and gives its luminance.
    """
    if bgr.ndim == 2:
        return bgr
    luminance = cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY)
    b, g, r = cv2.split(bgr)
    if np.array_equal(b, g) and np.array_equal(g, r):
        return luminance
    scale = min(1.0, 160.0 / min(bgr.shape[:2]))
    best, best_score = luminance, -1.0
    for candidate in (luminance, b, g, r):
        small = candidate
        if scale < 1.0:
            small = cv2.resize(candidate, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
        small = small.astype(np.float32)
        paper, level = paper_estimate(small)
        score = float(np.percentile(paper - small, 99.5)) / max(level, 16.0)
        # Luminance wins ties: it is what the camera path uses.
        if score > best_score * 1.1:
            best, best_score = candidate, score
    return best


def working_gray(bgr: np.ndarray) -> np.ndarray:
    """A photo as the grey picture the ink is looked for in: longest side <= WORK_LONG_SIDE."""
    h, w = bgr.shape[:2]
    factor = WORK_LONG_SIDE / max(h, w)
    if factor < 1.0:
        size = (max(1, round(w * factor)), max(1, round(h * factor)))
        bgr = cv2.resize(bgr, size, interpolation=cv2.INTER_AREA)
    return ink_contrast_gray(bgr)


def border_is_paper(gray: np.ndarray) -> bool:
    """Whether the outer 2 % ring of a grey picture is mostly (85 %) paper-bright."""
    h, w = gray.shape
    ring = max(1, round(0.02 * min(h, w)))
    border = np.concatenate(
        [gray[:ring].ravel(), gray[-ring:].ravel(), gray[:, :ring].ravel(), gray[:, -ring:].ravel()]
    )
    level = float(np.percentile(gray, 90))
    return float(np.mean(border >= 0.7 * level)) >= 0.85


def photo_tensor(gray: np.ndarray) -> tuple[np.ndarray | None, str | None]:
    """The whole photo (``working_gray``) as the ROI: ((28, 28) tensor, None) or (None, reason).

    A digit that touches the picture's edge, or fills so much of it that it reads as
    "too much ink" (a tightly cropped photo), gets a second try on the picture padded
    with paper colour, if the picture's border is paper apart from the digit's strokes
    (not a hand, a desk or a shadow reaching in).
    """
    tensor, reason = roi_to_mnist_tensor(gray, work_side=WORK_SIDE)
    if reason in (TOUCHES_EDGE, TOO_MUCH_INK) and border_is_paper(gray):
        pad = max(2, round(EDGE_PAD * min(gray.shape)))
        paper_level = int(np.percentile(gray, 90))
        padded = cv2.copyMakeBorder(
            gray, pad, pad, pad, pad, cv2.BORDER_CONSTANT, value=paper_level
        )
        tensor, reason = roi_to_mnist_tensor(padded, work_side=WORK_SIDE)
    return tensor, reason


def classify_array(bgr: np.ndarray, classifier: Any) -> dict[str, Any]:
    """Classify one upright (H, W, 3) uint8 BGR photo (or (H, W) grey).

    Returns:
        ``{"digit": int | None, "confidence": float, "probs": [10 floats],
        "reason": str | None, "number": str | None, "digits": [...]}``; ``reason`` says
        why ``digit`` is None ("not a digit" when the ink does not read as one:
        ``app.reading.rejection``). ``digits`` are the digits read left to right as for
        a number, each ``{"digit": int | None, "confidence": float, "box": [x0, y0, x1,
        y1]}`` in the photo's pixels; ``number`` joins them when every one was read.
    Raises:
        PredictError: the classifier raised, or gave anything but 10 finite probabilities.
    """
    gray = working_gray(bgr)
    number = _number(gray, bgr.shape[1] / gray.shape[1], classifier)
    tensor, reason = photo_tensor(gray)
    if tensor is None:
        return {"digit": None, "confidence": 0.0, "probs": [0.0] * 10, "reason": reason,
                **number}  # fmt: skip
    prediction = _predict(classifier, tensor)
    probs = np.asarray(prediction.probs, np.float64)
    digit = int(np.argmax(probs))
    shown = is_digit(prediction_logits(prediction))
    return {
        "digit": digit if shown else None,
        "confidence": float(probs[digit]),
        "probs": [round(float(p), 6) for p in probs],
        "reason": None if shown else NOT_A_DIGIT,
        **number,
    }


def _predict(classifier: Any, tensor: np.ndarray) -> Any:
    """``classifier.predict(tensor)``, its failures and non-finite output as PredictError."""
    try:
        prediction = classifier.predict(tensor)
        probs = np.asarray(prediction.probs, np.float64)
    except (ConvlensError, ValueError, RuntimeError, ArithmeticError, TypeError) as e:
        # LiteRT raises RuntimeError from invoke(), NumPy ValueError or FloatingPointError.
        message = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise PredictError(f"the model failed on this photo: {message}") from e
    if probs.shape != (10,) or not np.isfinite(probs).all():
        raise PredictError(
            f"the model gave {probs.size} probabilities, not all finite; expected 10 finite "
            "values (are its weights NaN or infinite?)"
        )
    return prediction


def _number(gray: np.ndarray, scale: float, classifier: Any) -> dict[str, Any]:
    """The photo read as a number: ``{"number", "digits"}`` (boxes scaled by ``scale``
    from the working picture to the photo)."""
    read = read_number(
        gray, lambda t: prediction_logits(_predict(classifier, t)), work_side=WORK_SIDE
    )
    digits = [
        {
            "digit": d.digit,
            "confidence": round(d.confidence, 6),
            "box": [round(v * scale) for v in d.box],
        }
        for d in read.digits
    ]
    return {"number": read.number, "digits": digits}


def classify_files(paths: Sequence[str | Path], classifier: Any) -> Iterator[dict[str, Any]]:
    """Classify each photo; one dict per path, in order, whatever happens to the others.

    Each dict has ``file``, ``digit`` (int or None), ``confidence``, ``probs`` (10
    finite floats), ``reason`` (why no digit, else None), ``number`` and ``digits`` (the
    photo read as a number, see ``classify_array``) and ``error`` (one line when
    the file could not be read or the classifier failed on it, else None): one bad
    file or one failed prediction never stops the files after it.
    """
    for path in paths:
        name = str(path)
        try:
            result = classify_array(read_photo(path), classifier)
        except PhotoError as e:
            log.warning("%s", e)
            yield _failed(name, str(e))
            continue
        except PredictError as e:
            log.warning("%s: %s", name, e)
            yield _failed(name, f"{name}: {e}")
            continue
        yield {"file": name, **result, "error": None}


def _failed(name: str, error: str) -> dict[str, Any]:
    return {"file": name, "digit": None, "confidence": 0.0, "probs": [0.0] * 10,
            "reason": None, "number": None, "digits": [], "error": error}  # fmt: skip
