"""Seconds per training epoch of the NumPy LeNet-5 against the same network in PyTorch (CPU).

Usage::

    python benchmarks/train_speed.py [--samples 10000] [--epochs 5] [--batch-size 64] [--json]
    python benchmarks/train_speed.py --threads 1,default,threads   # the default rows

Both train the same LeNet-5 (ReLU, max pooling) on the same MNIST images with Adam, the
same batch size and no augmentation, once per setting: one thread each; each library's
default (PyTorch's own thread count; NumPy's batch split by ``training.parallel`` over
the cores this process may use, one part on the caller's thread and the others in
worker processes, the layers themselves single-threaded; the background fine-tune keeps
to one core); and that default again with NumPy's other parts on worker threads of this
process instead (``threads``: the GIL between the parts). Every epoch of every setting
and library takes its turn in each round, so that load from other processes falls on
all alike; the figures are medians over the epochs, wall and CPU seconds (NumPy's worker
processes' CPU seconds counted in). The first epoch of each is a warm-up, not counted
(it starts NumPy's worker processes). OpenBLAS's own threads stay asleep either way
(the layers' matrix products are below its threshold, ``training.layers``).
PyTorch is a benchmark-only dependency: without it the script reports NumPy alone.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from training import layers, network
from training.layers import softmax_cross_entropy
from training.mnist import DataError, load_split
from training.optim import Adam
from training.parallel import BatchSplitter, default_threads
from training.spec import lenet5_spec


def load_data(samples: int, seed: int) -> tuple[np.ndarray, np.ndarray, str]:
    """(N, 28, 28, 1) float32 in [0, 1] and (N,) int64 labels: MNIST, or noise if absent."""
    try:
        images, labels = load_split("train")
        source = "MNIST"
    except DataError:
        rng = np.random.default_rng(seed)
        images = rng.integers(0, 256, (samples, 28, 28), dtype=np.uint8)
        labels = rng.integers(0, 10, samples, dtype=np.uint8)
        source = "random images (MNIST not found)"
    x = images[:samples, :, :, None].astype(np.float32) / 255.0
    return x, labels[:samples].astype(np.int64), source


class NumpyTrainer:
    """The project's NumPy network and Adam, one epoch at a time, the batch split over
    ``threads`` cores, in worker processes or threads (``training.parallel``; 1: the
    caller's thread alone)."""

    def __init__(self, seed: int, threads: int = 1, processes: bool = True) -> None:
        self.spec = lenet5_spec("relu", "max")
        self.params = network.init_params(self.spec, seed=seed)
        self.opt = Adam(lr=1e-3)
        self.splitter = BatchSplitter(threads, processes)

    def epoch(self, x: np.ndarray, y: np.ndarray, order: np.ndarray, batch: int) -> float:
        """Train one epoch in ``order``; return the mean loss."""
        total = 0.0
        for s in range(0, len(order), batch):
            idx = order[s : s + batch]
            loss, grads = self.splitter.loss_and_grads(self.spec, self.params, x[idx], y[idx])
            self.opt.step(self.params, grads)
            total += loss * len(idx)
        return total / len(order)

    def cpu_seconds(self) -> float:
        """CPU seconds of this process and of the splitter's worker processes."""
        return time.process_time() + self.splitter.worker_cpu_seconds

    def close(self) -> None:
        self.splitter.close()


class TorchTrainer:
    """The same LeNet-5 in PyTorch (NCHW), same init scheme family, Adam."""

    def __init__(self, seed: int, threads: int) -> None:
        import torch
        from torch import nn

        self.torch = torch
        torch.set_num_threads(threads)
        torch.manual_seed(seed)
        self.model = nn.Sequential(
            nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
            nn.Linear(400, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(), nn.Linear(84, 10),
        )  # fmt: skip
        self.opt = torch.optim.Adam(self.model.parameters(), lr=1e-3)
        self.loss_fn = nn.CrossEntropyLoss()

    def cpu_seconds(self) -> float:
        """CPU seconds of this process (all of PyTorch's threads)."""
        return time.process_time()

    def epoch(self, x: np.ndarray, y: np.ndarray, order: np.ndarray, batch: int) -> float:
        """Train one epoch in ``order``; return the mean loss."""
        torch = self.torch
        xt = torch.from_numpy(np.ascontiguousarray(x.transpose(0, 3, 1, 2)))
        yt = torch.from_numpy(y)
        ot = torch.from_numpy(order)
        total = 0.0
        for s in range(0, len(order), batch):
            idx = ot[s : s + batch]
            self.opt.zero_grad(set_to_none=True)
            loss = self.loss_fn(self.model(xt[idx]), yt[idx])
            loss.backward()
            self.opt.step()
            total += loss.item() * len(idx)
        return total / len(order)


def layer_times(x: np.ndarray, y: np.ndarray, seed: int, batch: int, steps: int = 60) -> list[dict]:
    """Median CPU milliseconds of each layer's forward and backward over ``steps`` training steps.

    The steps are real ones (``network.layer_forward`` / ``layer_backward`` in order,
    then Adam) on consecutive batches, so every layer sees the caches and the memory
    traffic that training gives it. CPU time: other processes do not inflate it.
    """
    spec = lenet5_spec("relu", "max")
    params = network.init_params(spec, seed=seed)
    opt = Adam(lr=1e-3)
    deferred = network.relu_after_pool(spec)
    names = [layer["name"] for layer in spec["layers"]]
    fwd: dict[str, list[float]] = {name: [] for name in [*names, "loss", "adam"]}
    bwd: dict[str, list[float]] = {name: [] for name in fwd}
    clock = time.process_time
    for step in range(steps):
        start = step * batch % max(1, len(x) - batch)
        xb, yb = x[start : start + batch], y[start : start + batch]
        h = layers.to_channels_first(xb)
        caches = []
        for index, name in enumerate(names):
            t0 = clock()
            h, cache = network.layer_forward(spec, index, params, h, deferred)
            fwd[name].append(clock() - t0)
            caches.append(cache)
        t0 = clock()
        _, d = softmax_cross_entropy(h, yb)
        fwd["loss"].append(clock() - t0)
        grads = {}
        for index in range(len(names) - 1, -1, -1):
            t0 = clock()
            d, g = network.layer_backward(spec, index, d, caches[index])
            bwd[names[index]].append(clock() - t0)
            grads.update({f"{names[index]}/{k}": v for k, v in g.items()})
        t0 = clock()
        opt.step(params, grads)
        bwd["adam"].append(clock() - t0)
    skip = min(5, steps // 2)  # warm-up steps
    return [
        {
            "layer": name,
            "forward_ms": round(1000 * float(np.median(fwd[name][skip:] or [0.0])), 3),
            "backward_ms": round(1000 * float(np.median(bwd[name][skip:] or [0.0])), 3),
        }
        for name in fwd
    ]


def thread_settings(text: str) -> list[tuple[str, int | None, bool]]:
    """``"1,default,threads"`` -> [("1 thread", 1, True), ("default", None, True),
    ("default, NumPy threads", None, False)]: label, threads (None: each library's
    default), NumPy's other parts in worker processes (``training.parallel``'s default)
    rather than threads. ``processes`` is read as ``default``."""
    settings = []
    for part in text.split(","):
        part = part.strip()
        if part in ("default", "processes"):
            settings.append(("default", None, True))
        elif part == "threads":
            settings.append(("default, NumPy threads", None, False))
        elif part.isdigit() and int(part) >= 1:
            settings.append((f"{part} thread{'s' if int(part) > 1 else ''}", int(part), True))
        else:
            raise argparse.ArgumentTypeError(f"--threads {text!r}: expected e.g. 1,default,threads")
    return settings


def run(args: argparse.Namespace) -> dict:
    """Every thread setting's NumPy and PyTorch epochs, interleaved; the medians and ratios."""
    x, y, source = load_data(args.samples, args.seed)
    rng = np.random.default_rng(args.seed)
    torch_default, torch_note = None, None
    try:
        import torch

        torch_default = torch.get_num_threads()
    except ImportError:
        torch_note = "PyTorch is not installed: pip install torch (benchmark only); NumPy alone"
    rows = []
    for label, threads, processes in args.threads:
        numpy_threads = threads or default_threads()
        split = "none" if numpy_threads == 1 else "processes" if processes else "threads"
        trainers = {"numpy": NumpyTrainer(args.seed, numpy_threads, processes)}
        if torch_default is not None:
            trainers["torch"] = TorchTrainer(args.seed, threads or torch_default)
        rows.append(
            {
                "label": label,
                "trainers": trainers,
                "numpy_threads": numpy_threads,
                "numpy_split": split,
                "torch_threads": (threads or torch_default) if torch_default else None,
                "wall": {n: [] for n in trainers},
                "cpu": {n: [] for n in trainers},
            }
        )
    for _ in range(args.epochs + 1):  # the first epoch of each is a warm-up, not counted
        order = rng.permutation(len(x))
        for row in rows:
            for name, trainer in row["trainers"].items():
                if name == "torch":
                    trainer.torch.set_num_threads(row["torch_threads"])
                t0, c0 = time.perf_counter(), trainer.cpu_seconds()
                row[f"{name}_loss"] = trainer.epoch(x, y, order, args.batch_size)
                row["wall"][name].append(time.perf_counter() - t0)
                row["cpu"][name].append(trainer.cpu_seconds() - c0)
    result = {
        "samples": len(x), "data": source, "batch_size": args.batch_size,
        "epochs_timed": args.epochs, "numpy_version": np.__version__,
        "blas_threads_env": os.environ.get("OPENBLAS_NUM_THREADS", "unset"),
        "cpu_count": os.cpu_count(), "load_average": list(os.getloadavg()),
        "torch_version": torch.__version__ if torch_default is not None else None,
        "rows": [summarise(row) for row in rows],
    }  # fmt: skip
    for row in rows:
        row["trainers"]["numpy"].close()
    if torch_note:
        result["note"] = torch_note
    if args.layers:
        result["numpy_layer_ms"] = layer_times(x, y, args.seed, args.batch_size)
    return result


def summarise(row: dict) -> dict:
    """One thread setting's medians (warm-up epoch dropped) and NumPy/PyTorch ratios."""
    out = {"threads": row["label"], "numpy_threads": row["numpy_threads"],
           "numpy_split": row["numpy_split"], "torch_threads": row["torch_threads"]}  # fmt: skip
    for name in row["wall"]:
        out[f"{name}_s_per_epoch"] = round(float(np.median(row["wall"][name][1:])), 3)
        out[f"{name}_epochs_s"] = [round(t, 3) for t in row["wall"][name][1:]]
        # CPU seconds (all threads of this process, and NumPy's worker processes) are what
        # other processes on a shared machine inflate least; with one thread each they are
        # the fairest comparison.
        out[f"{name}_cpu_s_per_epoch"] = round(float(np.median(row["cpu"][name][1:])), 3)
        out[f"{name}_final_loss"] = round(row[f"{name}_loss"], 4)
    if "torch" in row["wall"]:
        out["ratio"] = round(out["numpy_s_per_epoch"] / out["torch_s_per_epoch"], 2)
        out["cpu_ratio"] = round(out["numpy_cpu_s_per_epoch"] / out["torch_cpu_s_per_epoch"], 2)
    return out


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print the figures (or one JSON object with ``--json``)."""
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--samples", type=int, default=10000)
    p.add_argument("--epochs", type=int, default=5)
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=thread_settings,
                   default=thread_settings("1,default,threads"),
                   help="settings to compare, e.g. 1,default,threads (the default) or "
                   "1,2: N threads each (NumPy: N parts, N - 1 in worker processes), or "
                   "each library's default (PyTorch's own choice, NumPy's batch split over "
                   "the cores this process may use, in worker processes; with threads, "
                   "on worker threads)")  # fmt: skip
    p.add_argument("--layers", action="store_true", help="also time each layer on one batch")
    p.add_argument("--json", action="store_true")
    args = p.parse_args(argv)
    result = run(args)
    if args.json:
        print(json.dumps(result))
        return 0
    print(f"{result['samples']} samples ({result['data']}), batch {args.batch_size}, Adam, "
          f"median of {args.epochs} epochs; load average "
          f"{' '.join(f'{v:.1f}' for v in result['load_average'])}")  # fmt: skip
    for row in result["rows"]:
        split = {"none": "", "processes": " in processes", "threads": " on threads"}
        print(f"{row['threads']} (NumPy {row['numpy_threads']}{split[row['numpy_split']]}, "
              f"PyTorch {row['torch_threads'] or '-'}):")  # fmt: skip
        print(
            f"  NumPy   {row['numpy_s_per_epoch']:7.2f} s/epoch  "
            f"{row['numpy_cpu_s_per_epoch']:7.2f} CPU s/epoch  (epochs {row['numpy_epochs_s']})"
        )
        if "torch_s_per_epoch" in row:
            print(f"  PyTorch {row['torch_s_per_epoch']:7.2f} s/epoch  "
                  f"{row['torch_cpu_s_per_epoch']:7.2f} CPU s/epoch  "
                  f"(epochs {row['torch_epochs_s']})")  # fmt: skip
            print(f"  ratio NumPy/PyTorch: {row['ratio']:.2f} wall, {row['cpu_ratio']:.2f} CPU")
    if "note" in result:
        print(f"  {result['note']}")
    if args.layers:
        print(f"NumPy per layer, batches of {args.batch_size} (median CPU ms of training steps):")
        for row in result["numpy_layer_ms"]:
            print(f"  {row['layer']:8s} forward {row['forward_ms']:7.3f}  "
                  f"backward {row['backward_ms']:7.3f}")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
