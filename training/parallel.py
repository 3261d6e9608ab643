"""One training step on several cores: the batch split into parts, one part on the caller's
thread and each other part on a worker (a process of its own, or a thread), the parts'
gradients summed.

Processes by default. A LeNet-5 step on 64 images is some 150 NumPy calls, most on
arrays of a few thousand values, and about 0.4 ms of it is Python and per-call overhead
whatever the batch (a one-image step costs 0.4 of the 5.4 ms of a 64-image one, CPU
time on x86-64). Threads share the GIL: between every two calls each thread needs it
back, so two threads hand it to each other some 300 times a step, and the calls too
small for NumPy to release it run on one core at a time. Split over two threads the
step gained only 1.15x on a quiet 2-core machine (0.84 -> 0.73 s/epoch) for 25 % more
CPU time. A worker process has an interpreter of its own, so the parts run side by
side; what is left on the caller's core is copying the parameters and the worker's
images in and its gradients out (shared memory, about a quarter of a megabyte each
way), two pipe messages and the sum. Quiet, 2 cores: 0.56 s/epoch against the
threads' 0.72 (``benchmarks/train_speed.py`` times both).

A worker costs a start (a fresh interpreter importing NumPy: about 1 s on x86-64 at
load 11, more on a Pi; once per splitter) and about 26 MB of private memory (45 MB
resident, the rest shared libraries). ``threads=1`` starts no worker at all: the
background fine-tune on a Pi keeps to one core and leaves the others to the live loop.

The result is the same step as ``network.loss_and_grads`` on the whole batch: each
part's loss and gradients are means over the part, so the whole batch's are the parts'
weighted by their share of it (exactly, up to float32 rounding of the sums).
"""

from __future__ import annotations

import contextlib
import ctypes
import itertools
import multiprocessing as mp
import os
import platform
import time
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from multiprocessing.shared_memory import SharedMemory

import numpy as np

from training import network
from training.spec import Spec, param_shapes

#: Below this many samples a part costs more in overhead than it saves.
MIN_PART = 8
#: The most images a worker takes in one part (its shared input buffer's size).
MAX_PART = 512
#: The network input's shape per image.
IMAGE_SHAPE = (28, 28, 1)
#: glibc's ``mallopt`` parameters (malloc.h) and the values a worker sets: freed blocks
#: up to 16 MB stay in the heap (16 MB is the largest 32-bit glibc accepts), and up to
#: 32 MB of free heap top is kept.
M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3
KEEP_MMAP_BYTES, KEEP_TOP_BYTES = 16 << 20, 32 << 20


def default_threads() -> int:
    """The cores this process may run on (its CPU affinity), at least 1."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


@dataclass
class _Buffers:
    """A worker's shared memory as arrays: the parameters in, the images and labels of its
    part in, its gradients and loss out. Parameters and gradients are one flat float32
    vector each, sliced per parameter in ``param_shapes`` order."""

    blocks: list[SharedMemory]
    params: dict[str, np.ndarray]
    grads: dict[str, np.ndarray]
    x: np.ndarray  # (MAX_PART, 28, 28, 1) float32
    labels: np.ndarray  # (MAX_PART,) int64

    @classmethod
    def open(cls, spec: Spec, blocks: list[SharedMemory]) -> _Buffers:
        shapes = param_shapes(spec)
        return cls(
            blocks,
            _views(shapes, blocks[0]),
            _views(shapes, blocks[1]),
            np.ndarray((MAX_PART, *IMAGE_SHAPE), np.float32, blocks[2].buf),
            np.ndarray((MAX_PART,), np.int64, blocks[3].buf),
        )

    @staticmethod
    def sizes(spec: Spec) -> list[int]:
        """Bytes of each block: parameters, gradients, images, labels."""
        values = sum(int(np.prod(shape)) for shape in param_shapes(spec).values())
        return [4 * values, 4 * values, 4 * MAX_PART * int(np.prod(IMAGE_SHAPE)), 8 * MAX_PART]

    def close(self) -> None:
        """Drop the arrays, then the blocks (an array still pointing in would keep them)."""
        self.params, self.grads = {}, {}
        del self.x, self.labels
        for block in self.blocks:
            block.close()


def _views(shapes: dict[str, tuple[int, ...]], block: SharedMemory) -> dict[str, np.ndarray]:
    views, start = {}, 0
    for name, shape in shapes.items():
        size = int(np.prod(shape))
        views[name] = np.ndarray(shape, np.float32, block.buf, offset=4 * start)
        start += size
    return views


def _worker(conn: Connection, spec: Spec, names: list[str]) -> None:
    """A worker process: for each part (its size, sent by the caller) the loss and
    gradients from the shared parameters and images; answers (loss, CPU s, error)."""
    # Attached, not created: the caller unlinks the blocks. (With spawn, a worker shares the
    # caller's resource tracker, so attaching registers nothing new.)
    _keep_freed_memory()
    buffers = _Buffers.open(spec, [SharedMemory(name) for name in names])
    try:
        while (n := _next_part(conn)) is not None:
            try:
                loss, grads, _ = network.loss_and_grads(
                    spec, buffers.params, buffers.x[:n], buffers.labels[:n]
                )
                for name, grad in grads.items():
                    buffers.grads[name][...] = grad
                conn.send((loss, time.process_time(), None))
            except Exception as exc:  # the caller raises it, with this text
                conn.send((0.0, time.process_time(), f"{type(exc).__name__}: {exc}"))
    finally:
        buffers.close()


def _keep_freed_memory() -> None:
    """Let glibc keep the memory a step frees for the next step (elsewhere: nothing).

    glibc gives the top of its heap back to the kernel once more than its trim threshold
    is free, and maps blocks above its mmap threshold one by one; both thresholds start
    at 128 kB and grow only when a mapped block is freed (to that block's size, and
    twice it). A fresh worker never frees a big block, so every step gave back the few
    megabytes the step before had used and page-faulted them in again: measured 134,000
    minor faults and 0.3 s of system time an epoch (a third of the worker's CPU time,
    more under load, where each fault costs more on a virtual machine). With these
    thresholds: no faults. The caller's process had freed its tens of megabytes of
    MNIST temporaries, which raised its thresholds the same way.
    """
    if platform.system() != "Linux" or platform.libc_ver()[0] != "glibc":
        return
    mallopt = ctypes.CDLL(None).mallopt
    mallopt(M_MMAP_THRESHOLD, KEEP_MMAP_BYTES)
    mallopt(M_TRIM_THRESHOLD, KEEP_TOP_BYTES)


def _next_part(conn: Connection) -> int | None:
    """The next part's size, or None to stop (also when the caller has gone)."""
    try:
        return conn.recv()
    except (EOFError, OSError):
        return None


class _WorkerGoneError(RuntimeError):
    """A worker process ended (killed, crashed) while the caller waited on it."""


@dataclass
class _Worker:
    process: BaseProcess
    conn: Connection
    buffers: _Buffers
    cpu: float = 0.0

    def send_part(self, params: network.Params, x: np.ndarray, labels: np.ndarray) -> None:
        """Copy the parameters and this part into shared memory and start the worker on it."""
        for name, value in params.items():
            self.buffers.params[name][...] = value
        self.buffers.x[: len(x)] = x
        self.buffers.labels[: len(x)] = labels
        try:
            self.conn.send(len(x))
        except OSError as exc:
            raise self._gone() from exc

    def answer(self) -> tuple[float, str | None]:
        """Wait for the part's (loss, error text or None); its gradients are in ``buffers``."""
        try:
            loss, self.cpu, error = self.conn.recv()
        except (EOFError, OSError) as exc:
            raise self._gone() from exc
        return loss, error

    def _gone(self) -> _WorkerGoneError:
        self.process.join(timeout=1)
        return _WorkerGoneError(
            f"training worker {self.process.pid} ended mid-step (exit code "
            f"{self.process.exitcode}; killed for lack of memory?): expected an answer "
            "for every part; try fewer threads"
        )

    def stop(self) -> None:
        """Ask it to stop, join it (kill it after 10 s), free the shared memory."""
        with contextlib.suppress(OSError):  # it may have died already
            self.conn.send(None)
        self.process.join(timeout=10)
        if self.process.is_alive():
            self.process.kill()
            self.process.join()
        self.conn.close()
        blocks = self.buffers.blocks
        self.buffers.close()
        for block in blocks:
            block.unlink()


class BatchSplitter:
    """Computes ``network.loss_and_grads`` with the batch split across ``threads`` cores:
    the caller's thread and ``threads - 1`` workers, worker processes (the default) or,
    with ``processes=False``, threads; started at the first split step (processes: for
    that spec; another spec starts them again).

    Use as a context manager (or call ``close``): the workers are stopped and joined.

    Args:
        threads: parts per step; 1 computes on the caller's thread, with no worker.
        processes: the other parts in worker processes (True, the faster: no GIL between
            the parts) or in threads of this process (False).
    Raises (from ``loss_and_grads``): RuntimeError when a part fails, or a worker
    process ends mid-step (its exit code in the message; the next step starts the
    workers again).
    """

    def __init__(self, threads: int = 1, processes: bool = True) -> None:
        if threads < 1:
            raise ValueError(f"threads must be at least 1, got {threads}")
        self.threads = threads
        self.processes = processes
        self._spec: Spec | None = None
        self._workers: list[_Worker] = []
        self._pool: ThreadPoolExecutor | None = None

    def __enter__(self) -> BatchSplitter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def worker_cpu_seconds(self) -> float:
        """CPU seconds the running workers have used (not in the caller's process time)."""
        return sum(worker.cpu for worker in self._workers)

    def close(self) -> None:
        """Stop and join the workers (and free their shared memory)."""
        for worker in self._workers:
            worker.stop()
        self._workers, self._spec = [], None
        if self._pool is not None:
            self._pool.shutdown(wait=True)
            self._pool = None

    def _start(self, spec: Spec) -> None:
        self.close()
        context = mp.get_context("spawn")  # never fork a process that may run threads
        for _ in range(self.threads - 1):
            blocks = [SharedMemory(create=True, size=size) for size in _Buffers.sizes(spec)]
            here, there = context.Pipe()
            names = [block.name for block in blocks]
            process = context.Process(target=_worker, args=(there, spec, names), name="train")
            process.start()
            there.close()
            self._workers.append(_Worker(process, here, _Buffers.open(spec, blocks)))
        self._spec = spec

    def loss_and_grads(
        self, spec: Spec, params: network.Params, x: np.ndarray, labels: np.ndarray
    ) -> tuple[float, network.Params]:
        """Mean loss and gradients of the whole batch.

        Args:
            x: (N, 28, 28, 1) float32 network input; labels: (N,) int64.
        Returns:
            the mean cross-entropy over the N samples and each parameter's gradient
            (float32, the parameter's shape), as ``network.loss_and_grads`` gives them.
            A batch too small to split is computed whole here; so, with processes, is
            one in another dtype or too large for the shared buffers.
        """
        n = len(x)
        parts = min(self.threads, max(1, n // MIN_PART))
        float32 = x.dtype == np.float32 and all(p.dtype == np.float32 for p in params.values())
        shared = not self.processes or (float32 and -(-n // parts) <= MAX_PART)
        if parts == 1 or not shared:
            loss, grads, _ = network.loss_and_grads(spec, params, x, labels)
            return loss, grads
        bounds = np.linspace(0, n, parts + 1).astype(int)
        if not self.processes:
            return self._on_threads(spec, params, x, labels, bounds)
        return self._on_processes(spec, params, x, labels, bounds)

    def _on_processes(
        self,
        spec: Spec,
        params: network.Params,
        x: np.ndarray,
        labels: np.ndarray,
        bounds: np.ndarray,
    ) -> tuple[float, network.Params]:
        """The parts after the first in the worker processes, the first on the caller's."""
        if spec != self._spec:
            self._start(spec)
        busy = list(zip(self._workers, bounds[1:-1], bounds[2:], strict=False))
        try:
            for worker, a, b in busy:
                worker.send_part(params, x[a:b], labels[a:b])
            # The caller's own part while the workers compute theirs.
            first = bounds[1]
            try:
                loss, grads, _ = network.loss_and_grads(spec, params, x[:first], labels[:first])
            finally:  # every worker's answer is read, so none is left for the next step
                answers = [worker.answer() for worker, _, _ in busy]
        except _WorkerGoneError:
            self.close()  # the next step starts them again
            raise
        n = len(x)
        loss *= first / n
        total = {name: grad * np.float32(first / n) for name, grad in grads.items()}
        for (worker, a, b), (part_loss, error) in zip(busy, answers, strict=True):
            if error is not None:
                raise RuntimeError(f"training worker {worker.process.pid}: {error}")
            share = (b - a) / n
            loss += share * part_loss
            for name, grad in worker.buffers.grads.items():
                total[name] += grad * np.float32(share)
        return float(loss), total

    def _on_threads(
        self,
        spec: Spec,
        params: network.Params,
        x: np.ndarray,
        labels: np.ndarray,
        bounds: np.ndarray,
    ) -> tuple[float, network.Params]:
        """The parts after the first on the pool's threads, the first on the caller's."""
        if self._pool is None:
            self._pool = ThreadPoolExecutor(self.threads - 1, "train")
        futures: list[Future] = [
            self._pool.submit(network.loss_and_grads, spec, params, x[a:b], labels[a:b])
            for a, b in itertools.pairwise(bounds[1:])
        ]
        n, first = len(x), bounds[1]
        try:
            loss, grads, _ = network.loss_and_grads(spec, params, x[:first], labels[:first])
        finally:  # every part is waited for, so none still runs after a failure
            errors = [future.exception() for future in futures]
        loss *= first / n
        total = {name: grad * np.float32(first / n) for name, grad in grads.items()}
        for future, error, size in zip(futures, errors, np.diff(bounds[1:]), strict=True):
            if error is not None:
                raise error
            part_loss, part, _ = future.result()
            share = size / n
            loss += share * part_loss
            for name, grad in part.items():
                total[name] += grad * np.float32(share)
        return float(loss), total
