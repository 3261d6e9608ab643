"""The batch split over the caller's thread and worker threads or processes gives the
whole batch's loss and gradients; the workers are joined (and shared memory freed)."""

from __future__ import annotations

import multiprocessing
import platform
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest

from training import network
from training.parallel import BatchSplitter
from training.spec import lenet5_spec


@pytest.fixture(scope="module")
def batch():
    rng = np.random.default_rng(4)
    spec = lenet5_spec("relu", "max")
    params = network.init_params(spec, seed=2)
    x = rng.random((37, 28, 28, 1), dtype=np.float32)
    labels = rng.integers(0, 10, 37)
    return spec, params, x, labels


def workers() -> list[object]:
    """The splitters' worker processes and threads alive now."""
    processes = [p for p in multiprocessing.active_children() if p.name == "train"]
    return processes + [t for t in threading.enumerate() if t.name.startswith("train")]


@pytest.mark.parametrize("processes", [False, True])
@pytest.mark.parametrize("threads", [2, 3])
def test_split_batch_gives_the_whole_batch_gradients(batch, threads, processes):
    spec, params, x, labels = batch
    loss, grads, _ = network.loss_and_grads(spec, params, x, labels)
    with BatchSplitter(threads, processes) as splitter:
        split_loss, split_grads = splitter.loss_and_grads(spec, params, x, labels)
        if processes:
            assert len(workers()) == threads - 1
        else:  # a thread pool starts a thread only when no idle one can take the part
            assert 1 <= len(workers()) <= threads - 1
        # A second step sees the parameters as they are now, not as they were first sent.
        moved = {name: value * np.float32(0.5) for name, value in params.items()}
        again, _ = splitter.loss_and_grads(spec, moved, x, labels)
        assert again == pytest.approx(network.loss_and_grads(spec, moved, x, labels)[0], rel=1e-5)
        assert (splitter.worker_cpu_seconds > 0) == processes
    assert workers() == []
    assert split_loss == pytest.approx(loss, rel=1e-5)
    assert split_grads.keys() == grads.keys()
    for name, grad in grads.items():
        assert split_grads[name].dtype == np.float32 and split_grads[name].shape == grad.shape
        scale = float(np.abs(grad).max())
        np.testing.assert_allclose(split_grads[name], grad, atol=1e-5 * scale, err_msg=name)


@pytest.mark.parametrize("processes", [False, True])
def test_one_thread_is_the_plain_step_on_the_callers_thread(batch, processes):
    spec, params, x, labels = batch
    with BatchSplitter(1, processes) as splitter:
        loss, grads = splitter.loss_and_grads(spec, params, x, labels)
        assert workers() == []
    plain_loss, plain, _ = network.loss_and_grads(spec, params, x, labels)
    assert loss == plain_loss
    assert all(np.array_equal(grads[k], plain[k]) for k in plain)


def test_small_or_float64_batches_stay_with_the_caller_and_workers_are_joined(batch):
    spec, params, x, labels = batch
    splitter = BatchSplitter(4, processes=True)
    loss, _ = splitter.loss_and_grads(spec, params, x[:7], labels[:7])
    assert loss == network.loss_and_grads(spec, params, x[:7], labels[:7])[0]
    wide = {name: value.astype(np.float64) for name, value in params.items()}
    loss64, _ = splitter.loss_and_grads(spec, wide, x.astype(np.float64), labels)
    assert loss64 == network.loss_and_grads(spec, wide, x.astype(np.float64), labels)[0]
    assert workers() == []  # none started yet
    splitter.loss_and_grads(spec, params, x, labels)
    assert len(workers()) == 3
    splitter.close()
    assert workers() == []
    with pytest.raises(ValueError, match="at least 1"):
        BatchSplitter(0)


@pytest.mark.parametrize("processes", [False, True])
def test_a_failing_part_raises_and_the_next_step_still_works(batch, processes):
    spec, params, x, labels = batch
    with BatchSplitter(2, processes) as splitter:
        bad = labels.copy()
        bad[-1] = 99  # in the worker's part: no such class
        with pytest.raises((RuntimeError, IndexError)):
            splitter.loss_and_grads(spec, params, x, bad)
        loss, _ = splitter.loss_and_grads(spec, params, x, labels)
    assert loss == pytest.approx(network.loss_and_grads(spec, params, x, labels)[0], rel=1e-5)


def test_the_default_split_runs_in_worker_processes(batch):
    spec, params, x, labels = batch
    with BatchSplitter(2) as splitter:
        splitter.loss_and_grads(spec, params, x, labels)
        assert [w.name for w in workers()] == ["train"]
        assert multiprocessing.active_children()[0] in workers()
        assert splitter.worker_cpu_seconds > 0


def test_a_worker_that_dies_is_named_and_the_next_step_starts_a_new_one(batch):
    spec, params, x, labels = batch
    with BatchSplitter(2) as splitter:
        splitter.loss_and_grads(spec, params, x, labels)
        (dead,) = workers()
        dead.kill()  # as the kernel's out-of-memory killer would
        dead.join()
        with pytest.raises(RuntimeError, match=rf"worker {dead.pid} ended mid-step \(exit code -9"):
            splitter.loss_and_grads(spec, params, x, labels)
        assert workers() == []
        loss, _ = splitter.loss_and_grads(spec, params, x, labels)
        assert [w.pid for w in workers()] != [dead.pid]
    assert loss == pytest.approx(network.loss_and_grads(spec, params, x, labels)[0], rel=1e-5)


FAULTS_SCRIPT = """
import resource, sys
import numpy as np
from training import network, parallel
from training.spec import lenet5_spec
if sys.argv[1] == "keep":
    parallel._keep_freed_memory()
spec = lenet5_spec("relu", "max")
params = network.init_params(spec, seed=0)
rng = np.random.default_rng(0)
x = rng.random((32, 28, 28, 1), dtype=np.float32)
labels = rng.integers(0, 10, 32)
network.loss_and_grads(spec, params, x, labels)
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(20):
    network.loss_and_grads(spec, params, x, labels)
print(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
"""


@pytest.mark.skipif(
    platform.system() != "Linux" or platform.libc_ver()[0] != "glibc", reason="glibc's malloc"
)
def test_a_worker_keeps_the_memory_its_steps_free():
    """A fresh process (as a worker is) page-faulted its steps' few megabytes back in
    every step; with the worker's malloc settings it reuses them."""
    root = Path(__file__).resolve().parents[1]

    def faults(mode: str) -> int:
        done = subprocess.run(
            [sys.executable, "-c", FAULTS_SCRIPT, mode],
            capture_output=True, text=True, check=True, cwd=root,
        )  # fmt: skip
        return int(done.stdout)

    # 20 steps after a first that sets up the heap. Measured on x86-64: 4 faults with
    # the settings, 38,807 without (the steps' few megabytes, every step).
    kept, plain = faults("keep"), faults("plain")
    assert plain > 20 * kept, (kept, plain)
