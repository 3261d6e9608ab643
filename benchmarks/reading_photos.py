"""Still photos and the live camera read ink differently; is the difference worth two paths?

``classify`` (app/photos.py) takes the colour channel with the most ink contrast and
retries a digit that touches the picture's edge on the picture padded with paper; the
live stage reads the luminance (the lores Y plane) of an ROI with a margin. This measures
each difference on the synthetic phone photos of the classify tests (coloured inks and
papers, tight crops), 40 MNIST test digits per condition.
"""

from __future__ import annotations

import cv2
import numpy as np

from app import photos
from app.stages.mnist_preprocess import roi_to_mnist_tensor
from benchmarks.reading_sets.photos import CONDITIONS, render_photo
from training.mnist import load_split

PER_CONDITION = 40


def _luminance_tensor(bgr: np.ndarray, retry: bool) -> tuple[np.ndarray | None, str | None]:
    gray = cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY)
    return _tensor(gray, retry)


def _channel_tensor(bgr: np.ndarray, retry: bool) -> tuple[np.ndarray | None, str | None]:
    return _tensor(photos.working_gray(bgr), retry)


def _tensor(gray: np.ndarray, retry: bool) -> tuple[np.ndarray | None, str | None]:
    h, w = gray.shape
    factor = photos.WORK_LONG_SIDE / max(h, w)
    if factor < 1.0:
        gray = cv2.resize(
            gray, (round(w * factor), round(h * factor)), interpolation=cv2.INTER_AREA
        )
    tensor, reason = roi_to_mnist_tensor(gray, work_side=photos.WORK_SIDE)
    if (
        retry
        and reason in (photos.TOUCHES_EDGE, photos.TOO_MUCH_INK)
        and photos.border_is_paper(gray)
    ):
        pad = max(2, round(photos.EDGE_PAD * min(gray.shape)))
        level = int(np.percentile(gray, 90))
        gray = cv2.copyMakeBorder(gray, pad, pad, pad, pad, cv2.BORDER_CONSTANT, value=level)
        tensor, reason = roi_to_mnist_tensor(gray, work_side=photos.WORK_SIDE)
    return tensor, reason


VARIANTS = {
    "still path (ink channel + retry)": lambda bgr: _channel_tensor(bgr, True),
    "luminance + retry": lambda bgr: _luminance_tensor(bgr, True),
    "ink channel, no retry": lambda bgr: _channel_tensor(bgr, False),
    "live path (luminance, no retry)": lambda bgr: _luminance_tensor(bgr, False),
}


def photo_paths_table(seed: int, net=None) -> list[dict]:
    """% right per photo condition for each variant of the still path."""
    from benchmarks.reading import Batch

    net = net or Batch()
    images, labels = load_split("test", verify=False)
    pick = np.random.default_rng([seed, 8]).choice(len(images), PER_CONDITION, replace=False)
    rows = []
    for k, (name, spec) in enumerate(CONDITIONS.items()):
        rng = np.random.default_rng([seed, 9, k])
        shots = [render_photo(images[i], spec, rng) for i in pick]
        row = {"photo condition": name}
        for variant, fn in VARIANTS.items():
            tensors = [fn(bgr)[0] for bgr in shots]
            found = np.array([t is not None for t in tensors])
            stack = np.stack(
                [t if t is not None else np.zeros((28, 28), np.float32) for t in tensors]
            )
            ok = found & (net.logits(stack).argmax(axis=1) == labels[pick])
            row[variant] = int(ok.sum())
        rows.append(row)
    totals = {"photo condition": f"all ({len(rows) * PER_CONDITION})"}
    for variant in VARIANTS:
        totals[variant] = sum(r[variant] for r in rows)
    return [*rows, totals]
