"""Values as strict JSON: the one conversion the status page, snapshots and the CLI share."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np

#: Deeper structures are written as their text (a status is never this deep).
MAX_DEPTH = 4


def to_jsonable(value: Any, depth: int = 0) -> Any:
    """``value`` with NumPy arrays and scalars as Python lists and numbers, tuples and sets
    as lists, NaN and infinities as None, and anything else unknown (a Path) as text."""
    if depth > MAX_DEPTH:
        return str(value)
    if isinstance(value, np.ndarray):
        value = value.tolist()
    elif isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, Mapping):
        return {str(k): to_jsonable(v, depth + 1) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [to_jsonable(v, depth + 1) for v in value]
    return str(value)
