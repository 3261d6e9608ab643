"""The overlay: per-view panels, text, bars and processed images drawn onto an RGBA layer.

Layout is in units of a 640x480 screen scaled by ``scale = min(W / 640, H / 480)``.
Every panel whose content did not change is taken from a cache, so a frame costs
one layer allocation, a few copies and the processed image's resize.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

import cv2
import numpy as np

from app.controls.actions import KEY_LEGEND
from app.overlay_draw import (
    AMBER,
    CYAN,
    DIM,
    GREEN,
    GREY,
    PANEL_BG,
    VIEW_BG,
    WHITE,
    Line,
    PatchCache,
    blit,
    fit_image,
    fmt_num,
    legend_bar,
    render_panel,
    to_rgba,
)
from app.stages.results import (
    DIGIT,
    NO_DIGIT,
    UNAVAILABLE,
    DigitResult,
    FeaturesResult,
    FrameResults,
    MapResult,
    ReferenceRun,
)
from app.state import ViewState

MARGIN = 8
#: Font scales (at 480 rows).
TITLE = 0.8
BODY = 0.5
SMALL = 0.42
VIEW_TITLES = {
    "camera": "CAMERA + DIGIT",
    "kernel": "KERNEL",
    "pooling": "POOLING",
    "features": "FEATURE MAPS",
}


@dataclass(frozen=True)
class OverlayInfo:
    """What the loop knows beyond the stage results: timings, runtime, the status message.

    ``stage_ms`` is (name, moving-median milliseconds) pairs in pipeline order.
    """

    fps: float | None = None
    stage_ms: tuple[tuple[str, float], ...] = ()
    runtime: str = ""
    message: str = ""
    source: str = ""


def _status_color(status: str) -> tuple[int, int, int]:
    return {"digit": GREEN, "no_digit": AMBER}.get(status, GREY)


class OverlayRenderer:
    """Draws one view's overlay for frames of one size.

    Args:
        size: (width, height) of ``Frame.array``; ``render`` returns (height, width, 4).
    """

    def __init__(self, size: tuple[int, int]) -> None:
        self.width, self.height = int(size[0]), int(size[1])
        self.scale = min(self.width / 640.0, self.height / 480.0)
        self.cache = PatchCache()
        # Whole-frame pictures are large: keep only a few (the countdown changes each second).
        self.message_cache = PatchCache(capacity=4)
        self.volatile_cache = PatchCache(capacity=24)

    # ---- helpers -----------------------------------------------------------------

    def _px(self, v: float) -> int:
        return max(1, round(v * self.scale))

    def _panel(
        self,
        lines: Sequence[Line],
        *,
        opaque: bool,
        width: int | None = None,
        bg: tuple[int, int, int] = PANEL_BG,
        bg_alpha: int = 185,
        volatile: bool = False,
    ) -> np.ndarray:
        """A cached text panel. ``volatile`` text (figures that keep changing) goes to a
        small cache of its own, so it never pushes the static panels out nor fills
        the big cache with one-off pictures."""
        lines = tuple(lines)
        key = ("panel", lines, opaque, width, bg, bg_alpha)
        cache = self.volatile_cache if volatile else self.cache

        def draw(text_lines: tuple[Line, ...]) -> np.ndarray:
            return render_panel(
                text_lines,
                self.scale,
                width=width,
                bg=bg,
                bg_alpha=bg_alpha,
                flatten_on=VIEW_BG if opaque else None,
            )

        def draw_fitted() -> np.ndarray:
            panel = draw(lines)
            # A column panel must stay in its column: OpenCV 4's fonts are wider than
            # OpenCV 5's, and a long figure would otherwise run off the screen.
            factor = 1.0
            for _ in range(4):
                if width is None or panel.shape[1] <= width:
                    break
                factor *= 0.98 * width / panel.shape[1]
                panel = draw(tuple(replace(ln, scale=ln.scale * factor) for ln in lines))
            return panel

        return cache.get(key, draw_fitted)

    def _base(self, opaque: bool) -> np.ndarray:
        if not opaque:
            return np.zeros((self.height, self.width, 4), np.uint8)
        base = self.cache.get(
            ("base",),
            lambda: np.full((self.height, self.width, 4), (*VIEW_BG, 255), np.uint8),
        )
        return base.copy()

    # ---- entry points -------------------------------------------------------------

    def render(
        self, state: ViewState, results: FrameResults, info: OverlayInfo | None = None
    ) -> np.ndarray:
        """The overlay for ``state.view``: a new (H, W, 4) uint8 RGBA array (straight alpha).

        The camera view is transparent except for its panels; the processed views are
        opaque (their image replaces the camera picture).
        """
        info = info or OverlayInfo()
        view = state.view
        opaque = view in ("kernel", "pooling", "features")
        layer = self._base(opaque)
        header_h = self._header(layer, state, opaque)
        bottom = self._footer(layer, info, opaque)
        if view == "camera":
            self._camera_view(layer, state, results.digit, header_h)
        elif view in ("kernel", "pooling"):
            self._processed_view(layer, state, results, header_h, bottom)
        elif view == "features":
            self._features_view(layer, results, header_h, bottom)
        if state.show_help:
            self._help(layer, opaque)
        return layer

    def message_frame(self, message: str, detail: str = "") -> np.ndarray:
        """A (H, W, 3) uint8 BGR picture saying ``message``: shown when there is no camera."""
        frame = self.message_cache.get(
            ("message", message, detail),
            lambda: self._draw_message_frame(message, detail),
        )
        return frame.copy()

    def _draw_message_frame(self, message: str, detail: str) -> np.ndarray:
        frame = np.full((self.height, self.width, 3), (40, 30, 28), np.uint8)
        lines = [Line("convlens", TITLE, CYAN, True), Line(message, 0.7, AMBER, True)]
        if detail:
            lines.append(Line(detail, BODY, WHITE))
        panel = render_panel(lines, self.scale, bg=(28, 30, 40), bg_alpha=255, pad=14)
        panel = panel[:, : self.width]
        x = max(0, (self.width - panel.shape[1]) // 2)
        y = max(0, (self.height - panel.shape[0]) // 2)
        region = frame[y : y + panel.shape[0], x : x + panel.shape[1]]
        region[:] = cv2.cvtColor(panel[: region.shape[0], : region.shape[1]], cv2.COLOR_RGBA2BGR)
        return frame

    # ---- shared panels ------------------------------------------------------------

    def _header(self, layer: np.ndarray, state: ViewState, opaque: bool) -> int:
        pool = f"{state.pool_mode} pool {state.pool_size}x{state.pool_size}"
        lines = [
            Line(VIEW_TITLES.get(state.view, state.view.upper()), TITLE, CYAN, True),
            Line(f"kernel {state.kernel}  |  {state.operation}", SMALL, WHITE),
            Line(
                f"stride {state.stride}  |  pad {state.padding}  |  act {state.activation}"
                f"  |  {pool}",
                SMALL,
                WHITE,
            ),
        ]
        flags = [
            name
            for name, on in (("FROZEN", state.frozen), ("NumPy ref", state.numpy_reference))
            if on
        ]
        if flags:
            lines.append(Line("  ".join(flags), SMALL, AMBER, True))
        panel = self._panel(lines, opaque=opaque)
        m = self._px(MARGIN)
        blit(layer, panel, m, m)
        return m + panel.shape[0]

    def _footer(self, layer: np.ndarray, info: OverlayInfo, opaque: bool) -> int:
        """Stats line and status message at the bottom; returns the top y they occupy."""
        m = self._px(MARGIN)
        y = self.height - m
        parts = []
        if info.fps is not None:
            parts.append(f"{info.fps:.1f} fps")
        if info.stage_ms:
            parts.append("  ".join(f"{name} {ms:.1f}" for name, ms in info.stage_ms) + " ms")
        if info.runtime:
            parts.append(info.runtime)
        if parts:
            panel = self._panel(
                [Line("  |  ".join(parts), SMALL, GREY)], opaque=opaque, volatile=True
            )
            y -= panel.shape[0]
            blit(layer, panel, m, y)
        if info.message:
            panel = self._panel(
                [Line(info.message, BODY, AMBER, True)],
                opaque=opaque,
                bg=(40, 20, 10),
                bg_alpha=215,
                volatile=True,
            )
            y -= panel.shape[0] + self._px(3)
            blit(layer, panel, m, y)
        return y

    def _help(self, layer: np.ndarray, opaque: bool) -> None:
        panel = self.cache.get(("help", opaque), lambda: self._draw_help(opaque))
        x = max(0, (self.width - panel.shape[1]) // 2)
        y = max(0, (self.height - panel.shape[0]) // 2)
        blit(layer, panel, x, y)

    def _draw_help(self, opaque: bool) -> np.ndarray:
        # Fonts differ in width between OpenCV versions (4 on the Pi, 5 from PyPI): lay
        # the table out at the normal scale and shrink it once if it does not fit.
        scale = self.scale
        panel = self._help_table(scale)
        room = self.width - 2 * self._px(MARGIN)
        for _ in range(4):  # text width is not quite proportional to scale: refine
            if panel.shape[1] <= room:
                break
            scale *= 0.98 * room / panel.shape[1]
            panel = self._help_table(scale)
        if opaque:
            _flatten(panel, VIEW_BG)
        return panel

    def _help_table(self, scale: float) -> np.ndarray:
        """The key legend in two columns at text scale ``scale``: (h, w, 4) RGBA."""
        half = (len(KEY_LEGEND) + 1) // 2
        columns = (KEY_LEGEND[:half], KEY_LEGEND[half:])
        row_h = max(1, round(17 * scale))
        pad = max(1, round(8 * scale))

        def cell(text: str, color: tuple[int, int, int], bold: bool) -> np.ndarray:
            return render_panel([Line(text, SMALL, color, bold)], scale, bg_alpha=0, pad=2)

        cells = [[(cell(k, CYAN, True), cell(d, WHITE, False)) for k, d in col] for col in columns]
        key_w = [max(k.shape[1] for k, _ in col) for col in cells]
        desc_w = [max(d.shape[1] for _, d in col) for col in cells]
        title = render_panel([Line("KEYS  (h to close)", BODY, CYAN, True)], scale, bg_alpha=0)
        width = pad * 3 + sum(key_w) + sum(desc_w)
        height = min(self.height, title.shape[0] + row_h * half + pad)
        out = np.zeros((height, width, 4), np.uint8)
        out[:] = (*PANEL_BG, 225)
        _over(out, title, pad, 0)
        x = pad
        for col, kw, dw in zip(cells, key_w, desc_w, strict=True):
            for row, (key, desc) in enumerate(col):
                y = title.shape[0] + row * row_h
                _over(out, key, x, y + (row_h - key.shape[0]) // 2)
                _over(out, desc, x + kw, y + (row_h - desc.shape[0]) // 2)
            x += kw + dw + pad
        return out

    # ---- camera view -------------------------------------------------------------

    def _camera_view(
        self, layer: np.ndarray, state: ViewState, digit: DigitResult | None, header_h: int
    ) -> None:
        status = digit.status if digit is not None else UNAVAILABLE
        color = _status_color(status)
        if digit is not None:
            roi = digit.roi_px
        else:
            side = state.roi.size * min(self.width, self.height)
            cx, cy = state.roi.cx * self.width, state.roi.cy * self.height
            roi = (cx - side / 2, cy - side / 2, cx + side / 2, cy + side / 2)
        x0, y0, x1, y1 = (round(float(v)) for v in roi)
        thick = self._px(3)
        # A dark rim under the coloured box keeps it visible on light and dark scenes.
        cv2.rectangle(layer, (x0, y0), (x1, y1), (0, 0, 0, 200), thick + 2 * self._px(1))
        cv2.rectangle(layer, (x0, y0), (x1, y1), (*color, 255), thick)
        label = _digit_label(digit)
        tag = self._panel([Line(label, 0.7, color, True)], opaque=False, volatile=True)
        ty = y0 - tag.shape[0] - self._px(4)
        if ty < header_h:
            ty = y1 + self._px(4)
        blit(layer, tag, x0, ty)
        x = self.width - self._px(190) - self._px(MARGIN)
        card_h = self._prediction_card(layer, digit, (x, self._px(MARGIN)), opaque=False)
        ref = digit.reference if digit is not None else None
        if state.numpy_reference and ref is not None:
            lines = [Line(t, SMALL, AMBER) for t in _reference_text(ref).split("; ")]
            panel = self._panel(lines, opaque=False, width=self._px(190), volatile=True)
            panel = panel[:, : self._px(190)]
            blit(layer, panel, x, self._px(MARGIN) + card_h + self._px(4))

    def _prediction_card(
        self,
        layer: np.ndarray,
        digit: DigitResult | None,
        where: tuple[int, int],
        *,
        opaque: bool,
        width: int = 190,
    ) -> int:
        """Draw the prediction card with its probability bars at ``where``; return its height.

        The card is put together from cached pieces: the background with the bar slots
        and labels (per status), the title (per digit), the highlighted label (per
        digit) and the confidence (per percent); only the bars are drawn each frame.
        A new prediction therefore costs no more than a repeated one.
        """
        status = digit.status if digit is not None else UNAVAILABLE
        values: np.ndarray | None = None
        if digit is not None and status != UNAVAILABLE:
            values = np.clip(np.asarray(digit.probs, np.float32).ravel()[:10], 0.0, 1.0)
            if values.size != 10:
                values = None
        pred = digit.prediction if digit is not None else None
        # All-zero probabilities (no digit for a while) highlight no class.
        best = int(np.argmax(values)) if values is not None and values.max() > 0 else -1
        color = _status_color(status)
        # The card is narrow: the runtime's name and version; the footer has the rest.
        runtime = (digit.runtime if digit is not None else "").split(",")[0]
        reason = (digit.reason if digit is not None else None) or ""
        key = ("card", status, runtime, reason, opaque, width)
        card, geometry = self.cache.get(
            key, lambda: self._draw_card(status, runtime, reason, opaque, width)
        )
        x, y = where
        blit(layer, card, x, y)
        if digit is not None and status == DIGIT and pred is not None:
            title = self._panel([Line(f"digit {int(pred)}", 0.9, color, True)], opaque=opaque)
            blit(layer, title[:, : card.shape[1]], x, y)
            text = self._panel(
                [Line(f"confidence {digit.confidence * 100:.0f}%", SMALL, WHITE)],
                opaque=opaque,
                volatile=True,
            )
            blit(layer, text[:, : card.shape[1]], x, y + geometry["conf_y"])
        if values is None:
            return card.shape[0]
        slots, base_y, bar_h = geometry["slots"], geometry["base_y"], geometry["bar_h"]
        if best >= 0:
            label = self.cache.get(
                ("label", best, opaque),
                lambda: render_panel(
                    [Line(str(best), SMALL, WHITE, True)],
                    self.scale,
                    pad=1,
                    bg_alpha=185,
                    flatten_on=VIEW_BG if opaque else None,
                ),
            )
            bx0, bx1 = slots[best]
            blit(layer, label, x + (bx0 + bx1 - label.shape[1]) // 2, y + base_y + self._px(2))
        for i, (bx0, bx1) in enumerate(slots):
            bh = round(bar_h * float(values[i]))
            if bh > 0:
                fill = color if i == best else (150, 150, 160)
                layer[y + base_y - bh : y + base_y, x + bx0 : x + bx1] = (*fill, 255)
        return card.shape[0]

    def _draw_card(
        self, status: str, runtime: str, reason: str, opaque: bool, width: int
    ) -> tuple[np.ndarray, dict[str, Any]]:
        w = self._px(width)
        color = _status_color(status)
        title = self._panel([Line("digit 0", 0.9, color, True)], opaque=opaque)
        conf = self._panel([Line("confidence 0%", SMALL, WHITE)], opaque=opaque)
        conf_y = title.shape[0] - self._px(6)
        head_h = conf_y + conf.shape[0]
        if status == "no_digit":
            head = [
                Line("no digit", 0.9, color, True),
                Line(reason or "ROI looks empty", SMALL, GREY),
            ]
        elif status != "digit":
            head = [
                Line("no classifier", 0.8, color, True),
                Line(reason or "model unavailable", SMALL, GREY),
            ]
        else:
            head = []
        top = render_panel(head, self.scale, width=w, bg_alpha=0) if head else None
        if top is not None:
            head_h = max(head_h, top.shape[0])
        bars_h, label_h = self._px(70), self._px(16)
        foot = (
            render_panel([Line(runtime, SMALL, DIM)], self.scale, width=w, bg_alpha=0)
            if runtime
            else None
        )
        foot_h = foot.shape[0] if foot is not None else 0
        h = head_h + bars_h + label_h + self._px(6) + foot_h
        out = np.zeros((h, w, 4), np.uint8)
        out[:] = (*PANEL_BG, 185)
        if top is not None:
            _over(out, top, 0, 0)
        pad = self._px(8)
        slot = (w - 2 * pad) / 10.0
        base_y = head_h + bars_h
        slots = []
        for i in range(10):
            bx0 = round(pad + i * slot + slot * 0.15)
            bx1 = round(pad + (i + 1) * slot - slot * 0.15)
            slots.append((bx0, bx1))
            top_y = base_y - bars_h + self._px(4)
            cv2.rectangle(out, (bx0, top_y), (bx1 - 1, base_y - 1), (60, 60, 68, 230), -1)
            digit = render_panel([Line(str(i), SMALL, GREY)], self.scale, bg_alpha=0, pad=1)
            _over(out, digit, (bx0 + bx1 - digit.shape[1]) // 2, base_y + self._px(2))
        if foot is not None:
            _over(out, foot, 0, base_y + label_h + self._px(4))
        if opaque:
            _flatten(out, VIEW_BG)
        out.flags.writeable = False
        geometry = {
            "slots": slots,
            "base_y": base_y,
            "bar_h": bars_h - self._px(4),
            "conf_y": conf_y,
        }
        return out, geometry

    # ---- kernel and pooling views ---------------------------------------------------

    def _processed_view(
        self,
        layer: np.ndarray,
        state: ViewState,
        results: FrameResults,
        header_h: int,
        bottom: int,
    ) -> None:
        m = self._px(MARGIN)
        col_w = self._px(200)
        pooling = state.view == "pooling"
        shown_map: MapResult | None = results.pool if pooling else results.kernel
        # Bottom band: legend and the size formulas.
        formula_lines = _formula_lines(shown_map, pooling)
        formulas = self._panel(formula_lines, opaque=True) if formula_lines else None
        band_top = bottom - (formulas.shape[0] + self._px(4) if formulas is not None else 0)
        if formulas is not None:
            blit(layer, formulas, m, band_top)
        legend_h = self._px(26)
        area = (m, header_h + m, self.width - col_w - 2 * m, band_top - legend_h - header_h - 2 * m)
        self._settings_column(layer, state, results, pooling, (self.width - col_w - m, m, col_w))
        if shown_map is None:
            reason = "kernel stage off or failed" if not pooling else "pooling stage off or failed"
            blit(
                layer,
                self._panel([Line(f"no image: {reason}", BODY, AMBER)], opaque=True),
                *area[:2],
            )
            return
        shown = self._show_image(layer, shown_map.image, area)
        lo, hi = shown_map.value_range
        legend = self.cache.get(
            ("legend", shown[2], float(lo), float(hi)),
            lambda: legend_bar(shown[2], self._px(10), float(lo), float(hi), self.scale),
        )
        blit(layer, legend, shown[0], shown[1] + shown[3] + self._px(3))

    def _show_image(
        self, layer: np.ndarray, image: np.ndarray, area: tuple[int, int, int, int]
    ) -> tuple[int, int, int, int]:
        """Draw an image fitted into area (x, y, w, h), top-left aligned; return its box."""
        x, y, w, h = area
        # Never draw past the layer, whatever the layout asked for.
        w = min(w, self.width - x)
        h = min(h, self.height - y)
        image = np.asarray(image)
        if image.dtype != np.uint8:
            image = np.clip(image, 0, 255).astype(np.uint8)
        fitted = fit_image(image, w - 2, h - 2)
        fh, fw = fitted.shape[:2]
        if fh == 0 or fw == 0 or x < 0 or y < 0:
            return (x, y, 0, 0)
        layer[y : y + fh + 2, x : x + fw + 2] = (*GREY, 255)
        layer[y + 1 : y + 1 + fh, x + 1 : x + 1 + fw] = to_rgba(fitted, bgr=fitted.ndim == 3)
        return (x, y, fw + 2, fh + 2)

    def _settings_column(
        self,
        layer: np.ndarray,
        state: ViewState,
        results: FrameResults,
        pooling: bool,
        where: tuple[int, int, int],
    ) -> None:
        x, y, w = where
        kernel = results.kernel
        ref: ReferenceRun | None
        if pooling:
            lines = [
                Line(f"{state.pool_mode} pooling", BODY, CYAN, True),
                Line(f"window {state.pool_size}x{state.pool_size}, step {state.pool_size}", SMALL),
            ]
            lines += _shape_lines(results.pool)
            ref = results.pool.reference if results.pool is not None else None
        else:
            k = kernel.matrices[0] if kernel is not None else None
            size = f"{k.shape[0]}x{k.shape[1]}" if k is not None else "?"
            convolution = state.operation == "convolution"
            lines = [
                Line(f"kernel {size} (as applied)", BODY, CYAN, True),
            ]
            flip = [
                Line("convolution:" if convolution else "cross-correlation:", SMALL, AMBER, True),
                Line("kernel flipped 180 deg" if convolution else "kernel used as written", SMALL),
            ]
            if kernel is not None and kernel.combine == "magnitude":
                flip.append(Line("|G| = sqrt(Gx^2 + Gy^2)", SMALL))
            lines += flip + _shape_lines(kernel)
            ref = kernel.reference if kernel is not None else None
        if ref is not None:
            text = f"NumPy ref {ref.ms:.1f} ms, diff {ref.max_abs_diff:.1g}"
            lines.append(Line(text, SMALL, AMBER))
        top_lines, rest = lines[:1], lines[1:]
        head = self._panel(top_lines, opaque=True, width=w)
        blit(layer, head, x, y)
        y += head.shape[0]
        if not pooling and kernel is not None:
            matrices = kernel.matrices
            # Sobel magnitude slides two kernels: show both, half the width each.
            each = w if len(matrices) == 1 else (w - self._px(4)) // 2
            height = 0
            for i, matrix in enumerate(matrices[:2]):
                grid = self._matrix(np.asarray(matrix, np.float32), each)
                blit(layer, grid, x + i * (each + self._px(4)), y)
                height = max(height, grid.shape[0])
            y += height + self._px(4)
        elif pooling and kernel is not None:
            thumb = fit_image(kernel.image, w, self._px(90), integer_zoom=False)
            caption = self._panel([Line("before pooling:", SMALL, GREY)], opaque=True, width=w)
            blit(layer, caption, x, y)
            y += caption.shape[0]
            th, tw = thumb.shape[:2]
            if th and tw:
                blit(layer, to_rgba(thumb), x, y)
            y += th + self._px(4)
        body = self._panel(rest, opaque=True, width=w)
        blit(layer, body, x, y)

    def _matrix(self, matrix: np.ndarray, width: int) -> np.ndarray:
        key = ("matrix", matrix.shape, matrix.tobytes(), width)
        return self.cache.get(key, lambda: self._draw_matrix(matrix, width))

    def _draw_matrix(self, matrix: np.ndarray, width: int) -> np.ndarray:
        n_rows, n_cols = matrix.shape
        cell = max(self._px(8), min(self._px(34), (width - self._px(8)) // max(n_rows, n_cols)))
        h = cell * n_rows + self._px(8)
        out = np.zeros((h, width, 4), np.uint8)
        out[:] = (*VIEW_BG, 255)
        peak = float(np.max(np.abs(matrix))) or 1.0
        x0 = (width - cell * n_cols) // 2
        y0 = self._px(4)
        scale = 0.42 if cell >= self._px(30) else 0.32
        show_numbers = cell >= self._px(18)
        for r in range(n_rows):
            for c in range(n_cols):
                v = float(matrix[r, c])
                t = abs(v) / peak
                # Red for positive, blue for negative, grey for zero: the sign is the story.
                rgb = (
                    (int(70 + 170 * t), 60, 60)
                    if v > 0
                    else (60, 80, int(70 + 170 * t))
                    if v < 0
                    else (70, 70, 76)
                )
                cx, cy = x0 + c * cell, y0 + r * cell
                cv2.rectangle(out, (cx, cy), (cx + cell - 2, cy + cell - 2), (*rgb, 255), -1)
                if show_numbers:
                    text = render_panel(
                        [Line(_cell_text(v), scale, WHITE)], self.scale, bg_alpha=0, pad=1
                    )
                    tx = cx + (cell - 2 - text.shape[1]) // 2
                    ty = cy + (cell - 2 - text.shape[0]) // 2
                    _over(out, text, tx, ty)
        return out

    # ---- features view ------------------------------------------------------------

    def _features_view(
        self, layer: np.ndarray, results: FrameResults, header_h: int, bottom: int
    ) -> None:
        m = self._px(MARGIN)
        left_w = self._px(150)
        y = header_h + m
        features = results.features
        tensor = features.tensor_image if features is not None else None
        caption = self._panel([Line("input 28x28", SMALL, CYAN, True)], opaque=True, width=left_w)
        blit(layer, caption, m, y)
        y += caption.shape[0]
        if tensor is not None:
            box = self._show_image(layer, np.asarray(tensor), (m, y, self._px(116), self._px(116)))
            legend = self.cache.get(
                ("legend", box[2], 0.0, 1.0),
                lambda: legend_bar(box[2], self._px(8), 0.0, 1.0, self.scale),
            )
            blit(layer, legend, m, y + box[3] + self._px(2))
            y += box[3] + legend.shape[0] + self._px(6)
        self._prediction_card(layer, results.digit, (m, y), opaque=True, width=150)
        items = _feature_items(features)
        x = m + left_w + m
        if not items:
            note = self._panel(
                [Line("no feature maps: features stage off or failed", BODY, AMBER)], opaque=True
            )
            blit(layer, note, x, header_h + m)
            return
        # Two columns under the header: conv/pool maps (wider), then dense layers and
        # kernels. Each image gets a height in proportion to what it needs at the column
        # width; the caption carries the value range, a thin strip under the image the
        # colours.
        area_w = self.width - x - m
        col_ws = (area_w * 58 // 100, area_w - area_w * 58 // 100 - m)
        spatial = [item for item in items if item.spatial]
        flat = [item for item in items if not item.spatial]
        if not spatial or not flat:
            split = -(-len(items) // 2)
            spatial, flat = items[:split], items[split:]
        top = header_h + m
        ix = x
        for chunk, col_w in zip((spatial, flat), col_ws, strict=True):
            self._feature_column(layer, chunk, ix, top, col_w, bottom - m)
            ix += col_w + m

    def _feature_column(
        self,
        layer: np.ndarray,
        chunk: list[FeatureMap],
        x: int,
        top: int,
        col_w: int,
        bottom: int,
    ) -> None:
        strip_h = self._px(6)
        heads = [self._panel([Line(it.title, SMALL, CYAN, True)], opaque=True) for it in chunk]
        fixed = sum(h.shape[0] + self._px(3) for h in heads)
        fixed += sum(strip_h + 2 + self._px(2) for it in chunk if it.value_range is not None)
        natural = [
            it.image.shape[0] * min(4.0, (col_w - 2) / max(1, it.image.shape[1])) + 2
            for it in chunk
        ]
        factor = min(1.0, (bottom - top - fixed) / max(1.0, sum(natural)))
        y = top
        for item, head, nat in zip(chunk, heads, natural, strict=True):
            blit(layer, head[:, :col_w], x, y)
            y += head.shape[0]
            box = self._show_image(layer, item.image, (x, y, col_w, max(3, int(nat * factor))))
            y += box[3] + self._px(3)
            if item.value_range is not None:
                if box[2] > 0:
                    lo, hi = item.value_range
                    lut = item.colormap
                    legend = self.cache.get(
                        ("strip", box[2], lo, hi, lut is not None),
                        lambda box=box, lo=lo, hi=hi, lut=lut: legend_bar(
                            box[2], strip_h, lo, hi, self.scale, colormap=lut, labels=False
                        ),
                    )
                    blit(layer, legend, x, y - self._px(2))
                y += strip_h + 2 + self._px(2)


@dataclass(frozen=True, eq=False)
class FeatureMap:
    """One picture of the features view: its caption, image, colour scale and column."""

    title: str
    #: (h, w, 3) uint8 BGR.
    image: np.ndarray
    #: The (lo, hi) under a colour strip, or None for no strip.
    value_range: tuple[float, float] | None
    #: A cv2.COLORMAP_* or a (256, 1, 3) lookup table for the strip; None for grey.
    colormap: Any
    #: Conv/pool layers (h, w, c) go in the wide column, dense layers and kernels in the other.
    spatial: bool


def _feature_items(features: FeaturesResult | None) -> list[FeatureMap]:
    """The features view's pictures: every layer's mosaic, then the kernels."""
    if features is None:
        return []
    items = []
    for mosaic in features.mosaics:
        lo, hi = (float(v) for v in mosaic.value_range)
        title = f"{mosaic.name} {_shape_text(mosaic.shape)}  [{fmt_num(lo)}, {fmt_num(hi)}]"
        spatial = len(mosaic.shape) == 3
        items.append(FeatureMap(title, mosaic.image, (lo, hi), _colour_map(lo), spatial))
    if features.learned_kernels is not None:
        rng = features.learned_range
        value_range = (float(rng[0]), float(rng[1])) if rng is not None else None
        span = f"  [{fmt_num(value_range[0])}, {fmt_num(value_range[1])}]" if value_range else ""
        title = f"conv1 kernels{span}"
        items.append(
            FeatureMap(title, features.learned_kernels, value_range, _colour_map(-1), False)
        )
    if features.handmade_kernels is not None:
        items.append(FeatureMap("hand-made kernels", features.handmade_kernels, None, None, False))
    return items


def _colour_map(lo: float) -> Any:
    """The colour map the features stage uses: viridis for lo >= 0, its diverging map else."""
    return cv2.COLORMAP_VIRIDIS if lo >= 0 else _diverging()


@functools.cache
def _diverging() -> np.ndarray:
    from app.stages.features import diverging_lut

    return diverging_lut()


def _reference_text(ref: ReferenceRun) -> str:
    """The NumPy reference network's run: its time and agreement ("; " splits lines)."""
    if ref.error:
        return f"NumPy ref unavailable: {ref.error}"
    said = f", says {ref.prediction}" if ref.prediction is not None else ""
    return f"NumPy ref {ref.ms:.1f} ms{said}; max |diff| {ref.max_abs_diff:.1g}"


def _digit_label(digit: DigitResult | None) -> str:
    if digit is not None and digit.status == DIGIT and digit.prediction is not None:
        return f"{int(digit.prediction)}  {digit.confidence * 100:.0f}%"
    if digit is not None and digit.status == NO_DIGIT:
        return "no digit"
    return "classifier unavailable"


def _formula_lines(shown: MapResult | None, pooling: bool) -> list[Line]:
    if shown is None:
        return []
    lines = [Line(text, SMALL, WHITE) for text in (shown.formula_h, shown.formula_w) if text]
    if lines:
        generic = (
            "H' = floor((H - n) / n) + 1   (window n, step n)"
            if pooling
            else "H' = floor((H + 2p - k) / s) + 1"
        )
        lines.insert(0, Line(generic, SMALL, CYAN))
    return lines


def _shape_text(shape: Any) -> str:
    try:
        return "x".join(str(int(v)) for v in shape)
    except (TypeError, ValueError):
        return str(shape)


def _shape_lines(shown: MapResult | None) -> list[Line]:
    if shown is None:
        return []
    return [
        Line(f"in   {_shape_text(shown.in_shape)}", SMALL),
        Line(f"out  {_shape_text(shown.out_shape)}  (H' x W')", SMALL, GREEN, True),
    ]


def _cell_text(v: float) -> str:
    if float(v).is_integer():
        return str(int(v))
    text = f"{v:.2f}".rstrip("0")
    return text.replace("0.", ".", 1) if abs(v) < 1 else text


def _over(dst: np.ndarray, src: np.ndarray, x: int, y: int) -> None:
    """Alpha-composite ``src`` (h, w, 4) over ``dst`` at (x, y), clipped (for cached drawings)."""
    H, W = dst.shape[:2]
    h, w = src.shape[:2]
    x0, y0, x1, y1 = max(0, x), max(0, y), min(W, x + w), min(H, y + h)
    if x1 <= x0 or y1 <= y0:
        return
    s = src[y0 - y : y1 - y, x0 - x : x1 - x].astype(np.float32) / 255.0
    d = dst[y0:y1, x0:x1].astype(np.float32) / 255.0
    sa, da = s[:, :, 3:4], d[:, :, 3:4]
    out_a = sa + da * (1 - sa)
    rgb = (s[:, :, :3] * sa + d[:, :, :3] * da * (1 - sa)) / np.maximum(out_a, 1e-6)
    dst[y0:y1, x0:x1, :3] = np.clip(rgb * 255 + 0.5, 0, 255)
    dst[y0:y1, x0:x1, 3:4] = np.clip(out_a * 255 + 0.5, 0, 255)


def _flatten(patch: np.ndarray, bg: tuple[int, int, int]) -> None:
    a = patch[:, :, 3:4].astype(np.float32) / 255.0
    patch[:, :, :3] = np.clip(
        patch[:, :, :3] * a + np.array(bg, np.float32) * (1 - a) + 0.5, 0, 255
    )
    patch[:, :, 3] = 255
