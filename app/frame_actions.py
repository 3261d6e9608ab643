"""The actions the loop carries out once a frame is shown, with what that frame showed: a
snapshot (the picture, the ROI and the 28x28 on screen), and the teach view's (label the
digit in the square, undo, start or stop the fine-tune, back to the shipped model)."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from app.frame import Frame
from app.snapshot import failed_notice, save_snapshot, saved_notice
from app.stages.pipeline import Pipeline
from app.stages.results import FrameResults
from app.state import ViewState
from app.status_board import StatusBoard

if TYPE_CHECKING:
    from app.learn.teacher import Teacher

log = logging.getLogger(__name__)


class FrameActions:
    """Snapshots and the teach view's actions for the loop.

    Args:
        snapshot_dir: where ``snapshot`` writes.
        board: where notices go ("snapshot saved: ...", "saved as 3 (4 of them)").
        snapshots: every snapshot folder written is appended here (``LoopResult``).
        teacher: the teach view's collection and fine-tunes, or None (no collecting).
    """

    def __init__(
        self,
        snapshot_dir: str | Path,
        board: StatusBoard,
        snapshots: list[Path],
        teacher: Teacher | None = None,
    ) -> None:
        self.snapshot_dir = snapshot_dir
        self.board = board
        self.snapshots = snapshots
        self.teacher = teacher

    def handles(self, action: str) -> bool:
        """True for the actions that wait for the frame (``run``)."""
        return action == "snapshot" or (self.teacher is not None and self.teacher.handles(action))

    def run(
        self,
        actions: list[str],
        frame: Frame,
        overlay: np.ndarray,
        results: FrameResults,
        state: ViewState,
    ) -> Pipeline | None:
        """Carry out ``actions`` with the frame just shown; return the pipeline to use from
        the next frame on when the teacher has a new model ready (between frames), else None.
        """
        if "snapshot" in actions:
            self._snapshot(frame, overlay, results, state)
        if self.teacher is None:
            return None
        pipeline, notes = self.teacher.after_frame(actions, results)
        for text in notes:
            self.board.notice(text)
        return pipeline

    def _snapshot(
        self, frame: Frame, overlay: np.ndarray, results: FrameResults, state: ViewState
    ) -> None:
        try:
            folder = save_snapshot(self.snapshot_dir, frame, overlay, results.digit, state)
        except OSError as exc:
            log.warning("snapshot failed: %s", exc)
            self.board.notice(failed_notice(exc))
            return
        log.info("snapshot saved to %s", folder)
        self.snapshots.append(folder)
        self.board.notice(saved_notice(folder))
