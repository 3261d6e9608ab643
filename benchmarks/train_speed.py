"""Seconds per training epoch of the NumPy LeNet-5 against the same network in PyTorch (CPU).

Usage::

    python benchmarks/train_speed.py [--samples 10000] [--epochs 5] [--batch-size 64] [--json]
    OPENBLAS_NUM_THREADS=1 python benchmarks/train_speed.py --torch-threads 1   # one core each

Both train the same LeNet-5 (ReLU, max pooling) on the same MNIST images with Adam, the
same batch size and no augmentation. Epochs alternate between the two so that load
from other processes falls on both alike; the figures are medians over the epochs.
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
    """The project's NumPy network and Adam, one epoch at a time."""

    def __init__(self, seed: int) -> None:
        self.spec = lenet5_spec("relu", "max")
        self.params = network.init_params(self.spec, seed=seed)
        self.opt = Adam(lr=1e-3)

    def epoch(self, x: np.ndarray, y: np.ndarray, order: np.ndarray, batch: int) -> float:
        """Train one epoch in ``order``; return the mean loss."""
        total = 0.0
        for s in range(0, len(order), batch):
            idx = order[s : s + batch]
            logits, caches, _ = network.forward(self.spec, self.params, x[idx])
            loss, dlogits = softmax_cross_entropy(logits, y[idx])
            self.opt.step(self.params, network.backward(self.spec, dlogits, caches))
            total += loss * len(idx)
        return total / len(order)


class TorchTrainer:
    """The same LeNet-5 in PyTorch (NCHW), same init scheme family, Adam."""

    def __init__(self, seed: int, threads: int | None) -> None:
        import torch
        from torch import nn

        self.torch = torch
        if threads:
            torch.set_num_threads(threads)
        torch.manual_seed(seed)
        self.model = nn.Sequential(
            nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
            nn.Linear(400, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(), nn.Linear(84, 10),
        )  # fmt: skip
        self.opt = torch.optim.Adam(self.model.parameters(), lr=1e-3)
        self.loss_fn = nn.CrossEntropyLoss()

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


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print the figures (or one JSON object with ``--json``)."""
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--samples", type=int, default=10000)
    p.add_argument("--epochs", type=int, default=5)
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--torch-threads", type=int, default=None,
                   help="PyTorch intra-op threads (default: its own choice); NumPy's BLAS "
                   "threads come from OPENBLAS_NUM_THREADS, read at start-up")  # fmt: skip
    p.add_argument("--layers", action="store_true", help="also time each layer on one batch")
    p.add_argument("--json", action="store_true")
    args = p.parse_args(argv)

    x, y, source = load_data(args.samples, args.seed)
    rng = np.random.default_rng(args.seed)
    trainers: dict[str, NumpyTrainer | TorchTrainer] = {"numpy": NumpyTrainer(args.seed)}
    torch_note = None
    try:
        trainers["torch"] = TorchTrainer(args.seed, args.torch_threads)
    except ImportError:
        torch_note = "PyTorch is not installed: pip install torch (benchmark only); NumPy alone"
    times: dict[str, list[float]] = {name: [] for name in trainers}
    cpu: dict[str, list[float]] = {name: [] for name in trainers}
    losses: dict[str, float] = {}
    for _ in range(args.epochs + 1):  # the first epoch of each is a warm-up, not counted
        order = rng.permutation(len(x))
        for name, trainer in trainers.items():
            t0, c0 = time.perf_counter(), time.process_time()
            losses[name] = trainer.epoch(x, y, order, args.batch_size)
            times[name].append(time.perf_counter() - t0)
            cpu[name].append(time.process_time() - c0)
    med = {name: float(np.median(t[1:])) for name, t in times.items()}
    # CPU seconds (all threads of this process) are what other processes on a shared
    # machine cannot inflate; with one thread each they are the fairest comparison.
    med_cpu = {name: float(np.median(t[1:])) for name, t in cpu.items()}
    result = {
        "samples": len(x),
        "data": source,
        "batch_size": args.batch_size,
        "epochs_timed": args.epochs,
        "numpy_s_per_epoch": round(med["numpy"], 3),
        "numpy_epochs_s": [round(t, 3) for t in times["numpy"][1:]],
        "numpy_cpu_s_per_epoch": round(med_cpu["numpy"], 3),
        "numpy_final_loss": round(losses["numpy"], 4),
        "numpy_version": np.__version__,
        "blas_threads_env": os.environ.get("OPENBLAS_NUM_THREADS", "unset (all cores)"),
        "cpu_count": os.cpu_count(),
    }
    if "torch" in trainers:
        torch = trainers["torch"].torch
        result.update(
            torch_s_per_epoch=round(med["torch"], 3),
            torch_epochs_s=[round(t, 3) for t in times["torch"][1:]],
            torch_cpu_s_per_epoch=round(med_cpu["torch"], 3),
            torch_final_loss=round(losses["torch"], 4),
            torch_version=torch.__version__,
            torch_threads=torch.get_num_threads(),
            ratio=round(med["numpy"] / med["torch"], 2),
            cpu_ratio=round(med_cpu["numpy"] / med_cpu["torch"], 2),
        )
    else:
        result.update(torch_s_per_epoch=None, ratio=None, cpu_ratio=None, note=torch_note)
    if args.layers:
        result["numpy_layer_ms"] = layer_times(x, y, args.seed, args.batch_size)
    if args.json:
        print(json.dumps(result))
        return 0
    print(f"{result['samples']} samples ({source}), batch {args.batch_size}, Adam, "
          f"median of {args.epochs} epochs")  # fmt: skip
    print(f"  NumPy   {med['numpy']:7.2f} s/epoch  {med_cpu['numpy']:7.2f} CPU s/epoch  "
          f"(epochs {result['numpy_epochs_s']})")  # fmt: skip
    if "torch" in trainers:
        print(f"  PyTorch {med['torch']:7.2f} s/epoch  {med_cpu['torch']:7.2f} CPU s/epoch  "
              f"(epochs {result['torch_epochs_s']}, "
              f"{result['torch_threads']} threads)")  # fmt: skip
        print(f"  ratio NumPy/PyTorch: {result['ratio']:.2f} wall, {result['cpu_ratio']:.2f} CPU")
    else:
        print(f"  {torch_note}")
    if args.layers:
        print(f"NumPy per layer, batches of {args.batch_size} (median CPU ms of training steps):")
        for row in result["numpy_layer_ms"]:
            print(f"  {row['layer']:8s} forward {row['forward_ms']:7.3f}  "
                  f"backward {row['backward_ms']:7.3f}")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
