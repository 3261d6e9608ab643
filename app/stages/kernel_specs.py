"""The kernel presets as numbers, and the one rule a custom kernel's name and matrix follow.

Plain Python (no NumPy, no OpenCV): the config file checks ``[kernels.custom]`` with
``check_kernel`` when it is read, and the kernel stage applies the same function to
what it is given, so there is one rule and one message for both.
"""

from __future__ import annotations

import math
from collections.abc import Collection

from app.errors import ConfigError
from app.settings import KERNEL_NAME

_SOBEL_X = ((-1, 0, 1), (-2, 0, 2), (-1, 0, 1))
_SOBEL_Y = ((-1, -2, -1), (0, 0, 0), (1, 2, 1))

#: The presets in the order the kernel key cycles through them, as rows of numbers.
#: ``sobel_magnitude`` is a pair (Sobel x, Sobel y) whose responses are combined as
#: sqrt(gx^2 + gy^2); every other preset is one square kernel.
PRESET_ROWS: dict[str, tuple] = {
    # The course's edge kernels: dark above / bright below gives a positive response.
    "horizontal_edge": ((-1, -1, -1), (0, 0, 0), (1, 1, 1)),
    "vertical_edge": ((-1, 0, 1), (-1, 0, 1), (-1, 0, 1)),
    "sobel_x": _SOBEL_X,
    "sobel_y": _SOBEL_Y,
    "sobel_magnitude": (_SOBEL_X, _SOBEL_Y),
    "laplacian": ((0, 1, 0), (1, -4, 1), (0, 1, 0)),
    "sharpen": ((0, -1, 0), (-1, 5, -1), (0, -1, 0)),
    "box_blur": ((1 / 9,) * 3,) * 3,
    "gaussian_blur": ((1 / 16, 2 / 16, 1 / 16), (2 / 16, 4 / 16, 2 / 16), (1 / 16, 2 / 16, 1 / 16)),
    "emboss": ((-2, -1, 0), (-1, 1, 1), (0, 1, 2)),
    "identity": ((0, 0, 0), (0, 1, 0), (0, 0, 0)),
}

MAX_CUSTOM_SIZE = 15
#: Largest kernel entry: beyond it every response saturates an 8-bit picture anyway, and
#: 1e308 (finite as a float64) would become infinity in the float32 stage.
MAX_KERNEL_VALUE = 1000.0
_SHAPE = (
    f"a square, odd-sized matrix of numbers from 1x1 to {MAX_CUSTOM_SIZE}x{MAX_CUSTOM_SIZE}, "
    "e.g. [[0, 1, 0], [1, -4, 1], [0, 1, 0]]"
)


def check_kernel(
    name: object, rows: object, taken: Collection[str] = PRESET_ROWS
) -> tuple[tuple[float, ...], ...]:
    """Check one custom kernel from ``[kernels.custom]``: its name and its matrix.

    Returns:
        The rows as tuples of floats.
    Raises:
        ConfigError: ``[kernels.custom] NAME: ...`` saying what is wrong and what is expected
            (a name in ``taken``, a preset's, is refused too).
    """
    key = f"[kernels.custom] {name}"
    if not isinstance(name, str) or not KERNEL_NAME.match(name):
        raise ConfigError(f"{key}: bad name; expected lower-case letters, digits and _")
    if name in taken:
        raise ConfigError(f"{key}: the name is taken by a preset; choose another")
    if (
        not isinstance(rows, (list, tuple))
        or not rows
        or not all(isinstance(r, (list, tuple)) for r in rows)
    ):
        raise ConfigError(f"{key} = {rows!r:.60}: expected {_SHAPE}")
    n = len(rows)
    if n % 2 == 0 or n > MAX_CUSTOM_SIZE or any(len(r) != n for r in rows):
        size = f"{n}x{len(rows[0])}" if all(len(r) == len(rows[0]) for r in rows) else "ragged"
        raise ConfigError(f"{key} is {size}: expected {_SHAPE}")
    for row in rows:
        for v in row:
            if isinstance(v, bool) or not isinstance(v, (int, float)):
                raise ConfigError(f"{key}: {v!r:.40} is not a number; expected numbers only")
            if not math.isfinite(v) or abs(v) > MAX_KERNEL_VALUE:
                raise ConfigError(
                    f"{key}: {v!r:.40}; expected finite numbers from {-MAX_KERNEL_VALUE:g} "
                    f"to {MAX_KERNEL_VALUE:g}"
                )
    return tuple(tuple(float(v) for v in row) for row in rows)
