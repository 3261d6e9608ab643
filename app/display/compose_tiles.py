"""Where an RGBA overlay is not transparent: the square tiles it covers, as a few boxes.

The tiles are found on the overlay itself, read as one little-endian 32-bit word per
pixel: alpha is the word's top byte, so a pixel is covered when its word is at least
``1 << 24``, and a tile is covered when its largest word is. That is one pass over the
overlay and no alpha plane extracted (both cost about as much as the tiles' maxima).
"""

from __future__ import annotations

import numpy as np

#: Side of the square tiles whose covered ones are blended: smaller tiles blend fewer
#: transparent pixels and cost more cv2 calls (32: a 1920x1080 camera view blends 24 %
#: of its pixels in 9 boxes, where its rows' span of columns was 74 %).
TILE = 32

#: The smallest pixel word with a nonzero alpha, and the smallest with alpha 255.
_COVERED = 1 << 24
_OPAQUE = 0xFF << 24


def pixel_words(overlay_rgba: np.ndarray) -> np.ndarray:
    """(H, W) uint32 (little-endian) view of (H, W, 4) uint8 RGBA: alpha in the top byte."""
    if overlay_rgba.strides[-1] != 1 or overlay_rgba.strides[-2] != 4:
        overlay_rgba = np.ascontiguousarray(overlay_rgba)
    return overlay_rgba.view("<u4")[..., 0]


def is_opaque(words: np.ndarray) -> bool:
    """True when every pixel of ``pixel_words`` (H, W) has alpha 255."""
    return bool(words.min() >= _OPAQUE)


def covered_tiles(words: np.ndarray, tile: int = TILE) -> np.ndarray:
    """(ceil(H / tile), ceil(W / tile)) bool: which tiles of ``pixel_words`` (H, W) hold a
    pixel with a nonzero alpha (the last row and column of tiles may be partial)."""
    height, width = words.shape
    rows, columns = -(-height // tile), -(-width // tile)
    whole_rows, whole_columns = height // tile, width // tile
    # Two reductions over reshaped views, each tile's rows then its columns (numpy's
    # maximum over whole rows is fast; a 4-D max over both axes is not); the partial
    # tiles at the bottom and right edges are reduced on their own (no padded copy).
    per_row = np.empty((rows, width), words.dtype)
    whole = words[: whole_rows * tile].reshape(whole_rows, tile, width)
    whole.max(axis=1, out=per_row[:whole_rows])
    if whole_rows < rows:
        words[whole_rows * tile :].max(axis=0, out=per_row[-1])
    per_tile = np.empty((rows, columns), words.dtype)
    whole = per_row[:, : whole_columns * tile].reshape(rows, whole_columns, tile)
    whole.max(axis=2, out=per_tile[:, :whole_columns])
    if whole_columns < columns:
        per_row[:, whole_columns * tile :].max(axis=1, out=per_tile[:, -1])
    return per_tile >= _COVERED


def covered_boxes(overlay_rgba: np.ndarray, tile: int = TILE) -> list[tuple[int, int, int, int]]:
    """(top, bottom, left, right) boxes, disjoint and sorted, that hold every pixel of a
    nonzero alpha of (H, W, 4) uint8 ``overlay_rgba``."""
    return boxes_of(covered_tiles(pixel_words(overlay_rgba), tile), overlay_rgba.shape[:2], tile)


def boxes_of(
    covered: np.ndarray, size: tuple[int, int], tile: int = TILE
) -> list[tuple[int, int, int, int]]:
    """The (top, bottom, left, right) pixel boxes, disjoint and sorted, of the ``covered``
    tiles of an (H, W) = ``size`` picture: a run of tiles in a row of tiles is one box,
    stacked while the next row has the same run (clipped at the picture's edges)."""
    height, width = size
    boxes = []
    open_boxes: dict[tuple[int, int], int] = {}  # a run's (first, end) tile -> top tile row
    for row in range(covered.shape[0] + 1):
        runs = _runs(covered[row]) if row < covered.shape[0] else set()
        for run in [run for run in open_boxes if run not in runs]:
            top = open_boxes.pop(run)
            bottom, right = min(height, row * tile), min(width, run[1] * tile)
            boxes.append((top * tile, bottom, run[0] * tile, right))
        for run in runs:
            open_boxes.setdefault(run, row)
    return sorted(boxes)


def _runs(covered: np.ndarray) -> set[tuple[int, int]]:
    """(first, end) of each run of True in a 1-D bool array."""
    edges = np.flatnonzero(np.diff(np.concatenate(([0], covered.view(np.int8), [0]))))
    return set(zip(edges[::2].tolist(), edges[1::2].tolist(), strict=True))
