"""The background fine-tune: progress lines become one progress value; the end says why."""

from __future__ import annotations

import sys
import textwrap
import time

import pytest

from app.learn.job import FinetuneJob
from app.learn.results import DONE, FAILED, IDLE, RUNNING, STOPPED, FinetuneProgress


def script(body: str) -> list[str]:
    """A command that runs ``body`` in Python, printing as convlens finetune does."""
    prelude = "import json, os, signal, sys, time\n"
    prelude += "def say(**event):\n    print(json.dumps(event), flush=True)\n"
    return [sys.executable, "-c", prelude + textwrap.dedent(body)]


def wait_until_ended(job: FinetuneJob, timeout: float = 30.0) -> FinetuneProgress:
    deadline = time.monotonic() + timeout
    while job.running and time.monotonic() < deadline:
        time.sleep(0.02)
    job.join()
    return job.progress


def test_progress_lines_and_the_result_make_a_finished_fine_tune():
    job = FinetuneJob(
        script("""
        say(event="start", samples=40, held_back=10, before=0.5, mnist_before=0.99, epochs=3)
        for e in (1, 2, 3):
            say(event="epoch", epoch=e, epochs=3, loss=1.0 / e, held_back_accuracy=0.5 + e / 10)
        say(event="checked", tflite_parity_max_abs=1e-7)
        say(samples=40, held_back=10, before=0.5, after=0.8, mnist_before=0.99,
            mnist_after=0.988, installed=True, model="/m/finetuned-20261130T150412Z")
    """)
    )
    assert job.progress.state == IDLE
    job.start()
    progress = wait_until_ended(job)
    assert progress.state == DONE and progress.reason == ""
    assert progress.model == "/m/finetuned-20261130T150412Z"
    assert (progress.epoch, progress.epochs) == (3, 3)
    assert progress.losses == pytest.approx((1.0, 0.5, 1 / 3))
    assert progress.held_back == pytest.approx((0.6, 0.7, 0.8))
    assert (progress.before, progress.after) == (0.5, 0.8)
    assert (progress.mnist_before, progress.mnist_after) == (0.99, 0.988)
    assert (progress.samples, progress.held_back_count) == (40, 10)
    assert progress.seconds > 0


def test_a_failed_fine_tune_says_the_commands_own_error():
    job = FinetuneJob(
        script("""
        print("some warning", file=sys.stderr)
        print("convlens finetune: error: 4 usable samples; fine-tuning needs at least 10",
              file=sys.stderr)
        sys.exit(1)
    """)
    )
    job.start()
    progress = wait_until_ended(job)
    assert progress.state == FAILED
    assert progress.reason == "4 usable samples; fine-tuning needs at least 10"


def test_a_crash_says_how_the_process_ended():
    job = FinetuneJob(script("os._exit(3)"))
    job.start()
    assert wait_until_ended(job).reason == (
        "the fine-tune process exited with status 3; nothing installed"
    )
    job = FinetuneJob(script("os.kill(os.getpid(), signal.SIGKILL)"))
    job.start()
    assert "ended by SIGKILL" in wait_until_ended(job).reason


@pytest.mark.parametrize("handles_sigterm", [True, False])
def test_an_interrupted_fine_tune_is_stopped_and_installs_nothing(handles_sigterm):
    handler = "signal.signal(signal.SIGTERM, lambda *a: sys.exit(130))" if handles_sigterm else ""
    job = FinetuneJob(
        script(f"""
        {handler}
        say(event="start", samples=40, held_back=10, before=0.5, mnist_before=0.99, epochs=500)
        time.sleep(60)
    """)
    )
    job.start()
    deadline = time.monotonic() + 30
    while job.progress.epochs == 0 and time.monotonic() < deadline:
        time.sleep(0.02)
    assert job.progress.state == RUNNING and job.progress.epochs == 500
    job.interrupt()
    progress = wait_until_ended(job)
    assert progress.state == STOPPED and progress.reason == "interrupted; nothing installed"
    assert progress.before == 0.5  # what was known stays on screen


def test_stop_kills_a_fine_tune_that_ignores_sigterm():
    job = FinetuneJob(
        script("""
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        say(event="start", samples=1, held_back=1, before=0.0, mnist_before=0.9, epochs=1)
        time.sleep(60)
    """)
    )
    job.start()
    while job.progress.epochs == 0:
        time.sleep(0.02)
    started = time.monotonic()
    job.stop(timeout=0.5)
    assert time.monotonic() - started < 10
    assert job.progress.state == STOPPED


def test_a_command_that_does_not_start_fails_in_one_line(tmp_path):
    job = FinetuneJob([str(tmp_path / "no-such-program")])
    with pytest.raises(OSError):
        job.start()
    assert job.progress.state == FAILED and job.progress.reason.startswith("cannot start")
    assert "no-such-program" in job.progress.reason and job.pid is None


def test_a_file_that_is_not_executable_does_not_start(tmp_path):
    # Found before Popen: where posix_spawn runs as a plain fork (qemu-user), Popen itself
    # would not raise and the failure would only show as exit 127.
    program = tmp_path / "not-executable"
    program.write_text("#!/bin/sh\nexit 0\n")
    program.chmod(0o644)
    job = FinetuneJob([str(program)])
    with pytest.raises(FileNotFoundError, match="no such program"):
        job.start()
    assert job.progress.state == FAILED and "not-executable" in job.progress.reason
