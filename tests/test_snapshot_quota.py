"""Snapshots are rate-limited and under a quota (issue 13, item 6): a held key or a script
cannot fill the SD card; refusals are one line; the JSON stays strict."""

from __future__ import annotations

import json
import time

import numpy as np
import pytest

from app.controls.actions import ActionQueue
from app.snapshot import SnapshotQuota, SnapshotRefusedError, check_quota, save_snapshot
from app.stages.results import DIGIT, DigitResult
from app.state import ViewState
from tests.loop_fakes import ScriptedSource, make_frame
from tests.test_loop import make_loop

NO_WAIT = SnapshotQuota(min_interval=0.0)


def snap(directory, seq: int = 0, quota: SnapshotQuota | None = None, digit=None):
    frame = make_frame(seq, size=(64, 48))
    overlay = np.zeros((48, 64, 4), np.uint8)
    return save_snapshot(directory, frame, overlay, digit, ViewState(), quota)


def test_one_snapshot_per_second(tmp_path):
    written, refused = 0, []
    deadline = time.monotonic() + 1.5
    seq = 0
    while time.monotonic() < deadline:  # a script asking as fast as it can
        try:
            snap(tmp_path, seq)
            written += 1
        except SnapshotRefusedError as exc:
            refused.append(str(exc))
        seq += 1
    assert 1 <= written <= 2 and len(refused) > 10
    assert "one snapshot per 1 s" in refused[0] and "\n" not in refused[0]


def test_count_bytes_and_free_space_quotas(tmp_path):
    for seq in range(3):
        snap(tmp_path, seq, SnapshotQuota(min_interval=0.0, max_count=3))
    with pytest.raises(SnapshotRefusedError, match="holds 3 snapshots"):
        snap(tmp_path, 9, SnapshotQuota(min_interval=0.0, max_count=3))
    with pytest.raises(SnapshotRefusedError, match="MB allowed"):
        check_quota(tmp_path, SnapshotQuota(min_interval=0.0, max_bytes=1000))
    with pytest.raises(SnapshotRefusedError, match="free on the disk"):
        check_quota(tmp_path, SnapshotQuota(min_interval=0.0, min_free_bytes=1 << 60))
    assert len(list(tmp_path.glob("snapshot-*"))) == 3  # nothing removed, nothing more
    check_quota(tmp_path / "not-yet-made", SnapshotQuota())


def test_the_loop_refuses_a_snapshot_within_the_second_and_says_why(tmp_path):
    snap(tmp_path, 0)  # the previous press, a moment ago
    actions = ActionQueue()
    actions.put("snapshot")
    loop = make_loop(ScriptedSource(size=(64, 48)), [], actions=actions, snapshot_dir=tmp_path)
    result = loop.run(max_frames=2)
    assert result.snapshots == []
    assert len(list(tmp_path.glob("snapshot-*"))) == 1
    assert "one snapshot per 1 s" in loop.board.message()


def test_non_finite_values_are_null_in_the_json(tmp_path):
    digit = DigitResult(
        status=DIGIT, reason=None, prediction=3, confidence=float("nan"),
        probs=np.full(10, np.nan, np.float32), runtime="test", roi_px=(1, 1, 20, 20),
        tensor=None,
    )  # fmt: skip
    folder = snap(tmp_path, 0, NO_WAIT, digit)
    record = json.loads((folder / "prediction.json").read_text())
    assert record["confidence"] is None and record["probs"] == [None] * 10
