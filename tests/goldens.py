"""Golden pictures: compare a rendered BGR picture with the stored one for this OpenCV major.

OpenCV 5 draws its Hershey fonts with new outlines and different widths, so each OpenCV
major version (4 on Raspberry Pi OS Bookworm's pins, 5 from PyPI today) has its own
goldens: ``tests/golden/opencv4`` and ``tests/golden/opencv5``. Regenerate after a
deliberate change with ``CONVLENS_UPDATE_GOLDEN=1`` and look at the PNGs before
committing them.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import cv2
import numpy as np
import pytest

GOLDEN = Path(__file__).resolve().parent / "golden" / f"opencv{cv2.__version__.split('.')[0]}"
UPDATE = os.environ.get("CONVLENS_UPDATE_GOLDEN") == "1"
#: Anti-aliased text differs slightly between OpenCV builds: allow a small mean
#: difference and a few strongly different pixels, nothing more.
MAX_MEAN_ABS_DIFF = 1.0
MAX_FRACTION_OVER_40 = 0.005


def check_golden(name: str, picture: np.ndarray) -> None:
    """Assert ``picture`` matches ``golden/opencvN/<name>.png`` (or rewrite it when updating).

    A failing picture is written to the temp dir and named in the message.
    """
    path = GOLDEN / f"{name}.png"
    if UPDATE:
        GOLDEN.mkdir(exist_ok=True)
        cv2.imwrite(str(path), picture)
        pytest.skip(f"golden {path.name} rewritten")
    golden = cv2.imread(str(path))
    assert golden is not None, f"missing {path}; run with CONVLENS_UPDATE_GOLDEN=1"
    assert golden.shape == picture.shape
    diff = np.abs(golden.astype(np.int16) - picture.astype(np.int16)).max(axis=2)
    mean = float(diff.mean())
    over = float((diff > 40).mean())
    failed = Path(tempfile.gettempdir()) / f"convlens_failed_{name}.png"
    if mean >= MAX_MEAN_ABS_DIFF or over >= MAX_FRACTION_OVER_40:
        cv2.imwrite(str(failed), picture)
    assert mean < MAX_MEAN_ABS_DIFF, f"mean abs diff {mean:.3f}; the new picture is {failed}"
    assert over < MAX_FRACTION_OVER_40, f"{over:.2%} of pixels differ by > 40; see {failed}"
