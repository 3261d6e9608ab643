"""The course's slide on the live picture: the input, the horizontal- and vertical-edge outputs.

Both kernels slide over the kernel stage's input (the grey frame at processing size)
with the current stride, padding, operation and activation, and are shown on one
grey scale, so the two answers can be compared side by side.
"""

from __future__ import annotations

import logging

import cv2

from app.frame import Frame
from app.stages.activation import display_range, to_display
from app.stages.base import Stage
from app.stages.kernels import KERNEL_PRESETS, applied_kernels, apply_kernel
from app.stages.results import EdgesResult, FrameResults
from app.state import ViewState

log = logging.getLogger(__name__)

#: The slide's two kernels, as written.
HORIZONTAL, VERTICAL = KERNEL_PRESETS["horizontal_edge"], KERNEL_PRESETS["vertical_edge"]


class EdgesStage(Stage):
    """Horizontal and vertical edge kernels on the kernel stage's input."""

    name = "edges"

    def __init__(self) -> None:
        self._warned = False

    def process(self, frame: Frame, state: ViewState, results: FrameResults) -> None:
        kernel = results.kernel
        if kernel is None or kernel.input is None:
            if not self._warned:
                log.warning("edges: no kernel input; is the kernel stage first?")
                self._warned = True
            return
        image = kernel.input
        if state.padding == "valid" and min(image.shape) < 3:
            return
        how = {
            "stride": state.stride,
            "padding": state.padding,
            "activation": state.activation,
            "operation": state.operation,
        }
        # Both kernels have the same strongest answer, so one scale serves both.
        lo, hi = display_range(HORIZONTAL, state.activation)
        horizontal = to_display(apply_kernel(image, HORIZONTAL, **how), lo, hi)
        vertical = to_display(apply_kernel(image, VERTICAL, **how), lo, hi)
        original = cv2.convertScaleAbs(image, alpha=255.0)
        results.edges = EdgesResult(
            original=original,
            horizontal=horizontal,
            vertical=vertical,
            value_range=(lo, hi),
            kernels=(
                applied_kernels(HORIZONTAL, state.operation)[0],
                applied_kernels(VERTICAL, state.operation)[0],
            ),
        )
