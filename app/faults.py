"""Keeping the loop alive: stage failure tracking, rate-limited warnings and retry back-off."""

from __future__ import annotations

import logging
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

from app.i18n import N_, Message

log = logging.getLogger(__name__)


class RateLimitedLog:
    """Logs a repeating problem at most once per key per ``interval`` seconds, with a count.

    The first occurrence is logged at once; later ones within the interval are
    counted and reported with the next line ("... (37 more since the last report)").
    """

    def __init__(
        self,
        logger: logging.Logger,
        interval: float = 10.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._logger = logger
        self.interval = interval
        self._clock = clock
        self._last: dict[str, float] = {}
        self._suppressed: dict[str, int] = {}

    def log(self, key: str, level: int, message: str, *, exc_info: bool = False) -> bool:
        """Log ``message`` under ``key`` unless one was logged less than ``interval`` ago.

        Returns True when a line was written.
        """
        now = self._clock()
        last = self._last.get(key)
        if last is not None and now - last < self.interval:
            self._suppressed[key] = self._suppressed.get(key, 0) + 1
            return False
        more = self._suppressed.pop(key, 0)
        suffix = f" ({more} more since the last report)" if more else ""
        self._last[key] = now
        self._logger.log(level, "%s%s", message, suffix, exc_info=exc_info)
        return True

    def suppressed(self, key: str) -> int:
        """How many messages under ``key`` were counted but not logged since the last line."""
        return self._suppressed.get(key, 0)


@dataclass
class _StageRecord:
    window: deque[bool]
    consecutive: int = 0
    total_failures: int = 0
    disabled_reason: str | None = None


@dataclass
class StageFaults:
    """Tracks each stage's failures; switches a stage off when it keeps failing.

    A stage is switched off after ``max_consecutive`` failures in a row, or when
    more than ``max_ratio`` of its last ``window`` runs failed (once the window is
    full), so one bad frame never costs a stage but a broken one stops costing the
    frame budget.
    """

    max_consecutive: int = 20
    max_ratio: float = 0.5
    window: int = 100
    log_interval: float = 10.0
    clock: Callable[[], float] = time.monotonic
    _records: dict[str, _StageRecord] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._log = RateLimitedLog(log, self.log_interval, self.clock)

    def _record(self, name: str) -> _StageRecord:
        record = self._records.get(name)
        if record is None:
            record = _StageRecord(window=deque(maxlen=self.window))
            self._records[name] = record
        return record

    def is_enabled(self, name: str) -> bool:
        """False once the stage has been switched off."""
        record = self._records.get(name)
        return record is None or record.disabled_reason is None

    def success(self, name: str) -> None:
        """The stage processed a frame."""
        record = self._record(name)
        record.consecutive = 0
        record.window.append(False)

    def failure(self, name: str, exc: BaseException) -> bool:
        """The stage raised ``exc``; log (rate-limited). Returns True if it is now switched off."""
        record = self._record(name)
        record.consecutive += 1
        record.total_failures += 1
        record.window.append(True)
        self._log.log(
            name,
            logging.WARNING,
            f"stage {name} failed: {type(exc).__name__}: {exc}",
            exc_info=log.isEnabledFor(logging.DEBUG),
        )
        failed = sum(record.window)
        reason: Message | None = None
        if record.consecutive >= self.max_consecutive:
            reason = Message(N_("failed {n} frames in a row"), n=record.consecutive)
        elif len(record.window) == record.window.maxlen and failed > self.max_ratio * len(
            record.window
        ):
            template = N_("failed {failed} of the last {n} frames")
            reason = Message(template, failed=failed, n=len(record.window))
        if reason is None:
            return False
        # The stage's name is its msgid too (``app.views.words.STAGE_NAMES`` marks them).
        record.disabled_reason = Message(
            N_("stage {name} switched off: {reason} ({error})"),
            name=Message(name),
            reason=reason,
            error=f"{type(exc).__name__}: {exc}",
        )
        log.error("%s", record.disabled_reason)
        return True

    def disabled(self) -> dict[str, str]:
        """Switched-off stages: name -> the one-line reason shown on screen."""
        return {
            name: record.disabled_reason
            for name, record in self._records.items()
            if record.disabled_reason is not None
        }

    def failures(self, name: str) -> int:
        """Total failures of a stage so far."""
        record = self._records.get(name)
        return 0 if record is None else record.total_failures


class Backoff:
    """Retry delays: ``initial``, doubling, capped at ``maximum``; ``reset`` after a success."""

    def __init__(self, initial: float = 0.5, maximum: float = 8.0, factor: float = 2.0) -> None:
        if initial <= 0 or maximum < initial or factor < 1:
            raise ValueError(
                f"back-off needs 0 < initial <= maximum and factor >= 1, "
                f"got {initial}, {maximum}, {factor}"
            )
        self.initial = initial
        self.maximum = maximum
        self.factor = factor
        self._next = initial
        self.attempts = 0

    def next_delay(self) -> float:
        """The delay before the next attempt; each call doubles the following one."""
        delay = self._next
        self._next = min(self._next * self.factor, self.maximum)
        self.attempts += 1
        return delay

    def reset(self) -> None:
        """Back to ``initial`` (after a success)."""
        self._next = self.initial
        self.attempts = 0
