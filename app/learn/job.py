"""``convlens finetune`` in a background process: started, followed line by line, stopped.

The fine-tune runs in its own process at a lower priority (``--nice``) with one thread
(``--threads 1``, and one BLAS thread), so the live loop keeps its cores and its frame
rate; its JSON progress lines (``training.finetune_cli``) are read on a thread of
ours and turned into one ``FinetuneProgress`` value the loop reads each frame.
Stopping sends SIGTERM: the fine-tune then removes what it was writing and exits 130,
and the model in use stays as it was. A failure says why in one line (the command's
own error line, or how the process ended).
"""

from __future__ import annotations

import errno
import json
import logging
import os
import shutil
import signal
import subprocess
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any

from app.learn.results import DONE, FAILED, RUNNING, STOPPED, FinetuneProgress

log = logging.getLogger(__name__)

#: ``training.finetune_cli``'s exit statuses.
EXIT_OK, EXIT_INTERRUPTED = 0, 130
#: How long a stopped fine-tune may take to clean up before it is killed.
STOP_TIMEOUT_S = 10.0
#: Environment that keeps the child's BLAS and OpenMP to one thread each.
ONE_THREAD_ENV = {"OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


class FinetuneJob:
    """One background fine-tune.

    Args:
        command: the command line, e.g. ``[sys.executable, "-m", "app", "finetune", DIR,
            "--json", "--progress", ...]``; it must print the JSON lines.
        clock: monotonic seconds (for ``seconds``).
    """

    def __init__(self, command: Sequence[str], clock: Callable[[], float] = time.monotonic) -> None:
        self.command = list(command)
        self.clock = clock
        self._progress = FinetuneProgress()
        self._lock = threading.Lock()
        self._process: subprocess.Popen[str] | None = None
        self._readers: list[threading.Thread] = []
        self._stderr: deque[str] = deque(maxlen=20)
        self._started_at = 0.0
        self._stopping = False

    @property
    def progress(self) -> FinetuneProgress:
        """The newest progress (one reference read: never half-updated)."""
        progress = self._progress
        if progress.state == RUNNING:
            return replace(progress, seconds=self.clock() - self._started_at)
        return progress

    @property
    def pid(self) -> int | None:
        """The fine-tune process's id (None before ``start``)."""
        return self._process.pid if self._process is not None else None

    @property
    def running(self) -> bool:
        """True from ``start`` until the process has ended and its output is read."""
        return self._progress.state == RUNNING

    def start(self) -> None:
        """Start the process and the threads that read its output.

        Raises:
            OSError: the process could not be started (the progress says so too).
        """
        self._started_at = self.clock()
        self._progress = FinetuneProgress(state=RUNNING)
        env = {**os.environ, **ONE_THREAD_ENV}
        try:
            # Looked up first because Popen cannot always say so itself: where posix_spawn
            # runs as a plain fork (qemu-user, the arm64 test bed), a failed exec only shows
            # as exit 127 later, and the reason would be lost.
            if shutil.which(self.command[0], path=env.get("PATH")) is None:
                raise FileNotFoundError(
                    errno.ENOENT, "no such program (expected an executable file)", self.command[0]
                )
            self._process = subprocess.Popen(
                self.command,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
                env=env,
            )
        except OSError as exc:
            self._progress = FinetuneProgress(state=FAILED, reason=f"cannot start: {exc}")
            raise
        log.info("fine-tune started (pid %d): %s", self._process.pid, " ".join(self.command))
        self._readers = [
            threading.Thread(target=self._read_stdout, name="finetune-out"),
            threading.Thread(target=self._read_stderr, name="finetune-err"),
        ]
        for reader in self._readers:
            reader.start()

    def interrupt(self) -> None:
        """Ask a running fine-tune to stop (SIGTERM) without waiting: it removes what it
        was writing and exits 130; nothing is installed."""
        process = self._process
        if process is not None and process.poll() is None:
            self._stopping = True
            process.send_signal(signal.SIGTERM)

    def stop(self, timeout: float = STOP_TIMEOUT_S) -> None:
        """``interrupt``, then wait for the process (SIGKILL after ``timeout``) and the
        reader threads."""
        process = self._process
        if process is not None and process.poll() is None:
            self.interrupt()
            try:
                process.wait(timeout)
            except subprocess.TimeoutExpired:
                log.warning(
                    "fine-tune (pid %d) did not stop in %g s; killing it", process.pid, timeout
                )
                process.kill()
                process.wait()
        self.join()

    def join(self) -> None:
        """Wait for the reader threads (they end when the process's output ends)."""
        for reader in self._readers:
            reader.join()
        self._readers = []

    # ---- reading the process ------------------------------------------------------

    def _read_stdout(self) -> None:
        process = self._process
        assert process is not None and process.stdout is not None
        result: dict[str, Any] | None = None
        for line in process.stdout:
            try:
                event = json.loads(line)
            except json.JSONDecodeError:
                log.debug("fine-tune: not a JSON line: %r", line[:200])
                continue
            if not isinstance(event, dict):
                continue
            if "event" in event:
                self._update(_after_event(self._progress, event))
            else:
                result = event
        status = process.wait()
        for reader in self._readers:
            if reader is not threading.current_thread():
                reader.join()
        self._update(self._finished(status, result))

    def _read_stderr(self) -> None:
        process = self._process
        assert process is not None and process.stderr is not None
        for line in process.stderr:
            if line.strip():
                self._stderr.append(line.strip())

    def _update(self, progress: FinetuneProgress) -> None:
        with self._lock:
            self._progress = progress

    def _finished(self, status: int, result: dict[str, Any] | None) -> FinetuneProgress:
        seconds = self.clock() - self._started_at
        now = replace(self._progress, seconds=seconds)
        if result:
            now = _with_result(now, result)
        if status == EXIT_OK and result and result.get("installed"):
            log.info("fine-tune done in %.1f s: %s", seconds, result.get("model"))
            return replace(now, state=DONE, model=str(result.get("model", "")))
        if status == EXIT_INTERRUPTED or (self._stopping and status < 0):
            log.info("fine-tune stopped after %.1f s; nothing installed", seconds)
            return replace(now, state=STOPPED, reason="interrupted; nothing installed")
        reason = self._error_line() or _exit_text(status)
        log.warning("fine-tune failed: %s", reason)
        return replace(now, state=FAILED, reason=reason)

    def _error_line(self) -> str:
        """The command's own error line (``convlens finetune: error: ...``), if any."""
        for line in reversed(self._stderr):
            if ": error: " in line:
                return line.split(": error: ", 1)[1]
        return self._stderr[-1] if self._stderr else ""


def _after_event(progress: FinetuneProgress, event: dict[str, Any]) -> FinetuneProgress:
    """``progress`` after one progress line (start, epoch, checked)."""
    kind = event.get("event")
    if kind == "start":
        return replace(
            progress,
            epochs=int(event.get("epochs", 0)),
            samples=int(event.get("samples", 0)),
            held_back_count=int(event.get("held_back", 0)),
            before=_number(event.get("before")),
            mnist_before=_number(event.get("mnist_before")),
        )
    if kind == "epoch":
        return replace(
            progress,
            epoch=int(event.get("epoch", progress.epoch)),
            epochs=int(event.get("epochs", progress.epochs)),
            losses=(*progress.losses, float(event.get("loss", float("nan")))),
            held_back=(*progress.held_back, float(event.get("held_back_accuracy", float("nan")))),
        )
    return progress


def _with_result(progress: FinetuneProgress, result: dict[str, Any]) -> FinetuneProgress:
    return replace(
        progress,
        before=_number(result.get("before"), progress.before),
        after=_number(result.get("after")),
        mnist_before=_number(result.get("mnist_before"), progress.mnist_before),
        mnist_after=_number(result.get("mnist_after")),
        samples=int(result.get("samples", progress.samples)),
        held_back_count=int(result.get("held_back", progress.held_back_count)),
    )


def _number(value: object, default: float | None = None) -> float | None:
    return float(value) if isinstance(value, (int, float)) else default


def _exit_text(status: int) -> str:
    if status < 0:
        try:
            name = signal.Signals(-status).name
        except ValueError:
            name = str(-status)
        return f"the fine-tune process was ended by {name}; nothing installed"
    return f"the fine-tune process exited with status {status}; nothing installed"
