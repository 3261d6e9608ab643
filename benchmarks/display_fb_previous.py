"""The framebuffer path on main before the persistent-buffer compose (eaac7b5), for the
ratio in benchmarks/display_fb.py: run in the same process, on the same frames.

Per frame it extracted the overlay's alpha plane, fitted the frame onto a new
screen-sized picture, found the covered 32x32 tiles on a padded copy of the alpha, blended
each box into new arrays, and for XRGB8888 converted the picture into a kept array
before copying it into the screen. Copied here unchanged (code that is no longer in app/).
"""

from __future__ import annotations

import cv2
import numpy as np

from app.display.compose import check_pair
from app.display.fb import FramebufferDisplay, _into, _pixel_code, _rgba_code, letterbox_rect
from app.errors import DisplayError
from app.frame import Frame
from app.screen import picture_box

TILE = 32


def previous_compose(frame_bgr: np.ndarray, overlay_rgba: np.ndarray) -> np.ndarray:
    """compose() as it was: a new picture per call."""
    check_pair(frame_bgr, overlay_rgba)
    alpha = cv2.extractChannel(overlay_rgba, 3)
    covered = cv2.countNonZero(alpha)
    if covered == alpha.size and is_opaque(alpha):
        return cv2.cvtColor(overlay_rgba, cv2.COLOR_RGBA2BGR)
    fitted = overlay_rgba.shape[:2] != frame_bgr.shape[:2]
    if fitted:
        frame_bgr = fit_frame(frame_bgr, (overlay_rgba.shape[1], overlay_rgba.shape[0]))
    if covered == 0:
        return frame_bgr if fitted else frame_bgr.copy()
    boxes = covered_boxes(alpha)
    if boxes == [(0, alpha.shape[0], 0, alpha.shape[1])]:
        return _blend(frame_bgr, overlay_rgba, alpha)
    out = frame_bgr if fitted else frame_bgr.copy()
    for top, bottom, left, right in boxes:
        box = (slice(top, bottom), slice(left, right))
        out[box] = _blend(frame_bgr[box], overlay_rgba[box], alpha[box])
    return out


def is_opaque(alpha: np.ndarray) -> bool:
    return cv2.countNonZero(cv2.bitwise_not(alpha)) == 0


def fit_frame(frame_bgr: np.ndarray, screen_size: tuple[int, int]) -> np.ndarray:
    width, height = screen_size
    x, y, w, h = picture_box((frame_bgr.shape[1], frame_bgr.shape[0]), screen_size)
    out = np.zeros((height, width, 3), np.uint8)
    cv2.resize(frame_bgr, (w, h), dst=out[y : y + h, x : x + w], interpolation=cv2.INTER_LINEAR)
    return out


def covered_boxes(alpha: np.ndarray, tile: int = TILE) -> list[tuple[int, int, int, int]]:
    height, width = alpha.shape
    covered = _covered_tiles(alpha, tile)
    boxes = []
    open_boxes: dict[tuple[int, int], int] = {}
    for row in range(covered.shape[0] + 1):
        runs = _runs(covered[row]) if row < covered.shape[0] else set()
        for run in [run for run in open_boxes if run not in runs]:
            top = open_boxes.pop(run)
            bottom, right = min(height, row * tile), min(width, run[1] * tile)
            boxes.append((top * tile, bottom, run[0] * tile, right))
        for run in runs:
            open_boxes.setdefault(run, row)
    return sorted(boxes)


def _covered_tiles(alpha: np.ndarray, tile: int) -> np.ndarray:
    height, width = alpha.shape
    rows, columns = -(-height // tile), -(-width // tile)
    if (rows * tile, columns * tile) != (height, width):
        pad = (0, rows * tile - height, 0, columns * tile - width)
        alpha = cv2.copyMakeBorder(alpha, *pad, cv2.BORDER_CONSTANT, value=0)
    per_row_of_tiles = alpha.reshape(rows, tile, columns * tile).max(axis=1)
    return per_row_of_tiles.reshape(rows, columns, tile).max(axis=2) > 0


def _runs(covered: np.ndarray) -> set[tuple[int, int]]:
    edges = np.flatnonzero(np.diff(np.concatenate(([0], covered.view(np.int8), [0]))))
    return set(zip(edges[::2].tolist(), edges[1::2].tolist(), strict=True))


def _blend(frame_bgr: np.ndarray, overlay_rgba: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    alpha3 = cv2.merge([alpha, alpha, alpha])
    overlay16 = cv2.cvtColor(overlay_rgba, cv2.COLOR_RGBA2BGR).astype(np.uint16)
    front = cv2.multiply(overlay16, alpha3.astype(np.uint16))
    back = cv2.multiply(frame_bgr.astype(np.uint16), cv2.bitwise_not(alpha3).astype(np.uint16))
    return cv2.convertScaleAbs(cv2.add(front, back), alpha=1 / 255)


def _hides_the_frame(overlay: np.ndarray, size: tuple[int, int]) -> bool:
    if overlay.shape[:2] != (size[1], size[0]):
        return False
    corners = overlay[[0, 0, -1, -1], [0, -1, 0, -1], 3]
    return bool((corners == 255).all()) and is_opaque(cv2.extractChannel(overlay, 3))


class PreviousFramebuffer(FramebufferDisplay):
    """FramebufferDisplay with the previous ``show`` (open, geometry, clearing: today's)."""

    def show(self, frame: Frame, overlay: np.ndarray) -> None:
        if self._fd is None or self.geometry is None or self._screen is None:
            raise DisplayError("framebuffer: show() before open()")
        g = self.geometry
        check_pair(frame.array, overlay)
        direct = _hides_the_frame(overlay, (g.width, g.height))
        picture = overlay if direct else previous_compose(frame.array, overlay)
        src_h, src_w = picture.shape[:2]
        if self._source_size != (src_w, src_h):
            self._source_size = (src_w, src_h)
            self._rect = letterbox_rect(src_w, src_h, g.width, g.height)
            x, y, w, h = self._rect
            scaling = (w, h) != (src_w, src_h)
            packed = g.bits_per_pixel == 16
            self._scaled = np.empty((h, w, 3), np.uint8) if scaling and packed else None
            self._scaling = scaling
            self._converted = None
            self._clear()
        x, y, w, h = self._rect
        bpp = g.bytes_per_pixel
        target = self._screen[y : y + h, x * bpp : (x + w) * bpp].reshape(h, w, bpp)
        if direct:
            code = _rgba_code(g)
            if code is None:
                np.copyto(target, picture)
            else:
                _into(cv2.cvtColor(picture, code, dst=target), target)
        else:
            self._previous_draw(picture, target)
        self._flush(y, h)

    def _previous_draw(self, picture: np.ndarray, target: np.ndarray) -> None:
        h, w = target.shape[:2]
        interpolation = cv2.INTER_AREA if w < picture.shape[1] else cv2.INTER_LINEAR
        code = _pixel_code(self.geometry)
        if self.geometry.bits_per_pixel == 16:
            if self._scaling:
                picture = cv2.resize(picture, (w, h), dst=self._scaled, interpolation=interpolation)
            _into(cv2.cvtColor(picture, code, dst=target), target)
            return
        if code is not None:
            picture = cv2.cvtColor(picture, code, dst=self._converted)
            self._converted = picture
        if self._scaling:
            _into(cv2.resize(picture, (w, h), dst=target, interpolation=interpolation), target)
        else:
            np.copyto(target, picture)
