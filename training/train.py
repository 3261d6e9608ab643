"""Train the NumPy LeNet-5 on MNIST: checkpoints, resume, a cosine schedule, figures.

Usage::

    python -m training.train --epochs 30 --out models/lenet.npz --run-dir runs/lenet

The last ``--val`` of a seeded shuffle of the 60,000 training images are held out;
the epoch with the best validation accuracy is the model that is saved, and the test
set is evaluated once, at the end, for the report. ``--resume`` continues from the
checkpoint in ``--run-dir`` and ends with the same weights as a run that was never
interrupted (the checkpoint holds the random generator's state too).
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from training import network, plots
from training.augment import augment_batch
from training.mnist import DataError, default_data_dir, load_split
from training.model_io import save_model
from training.optim import SGD, Adam
from training.spec import ACTIVATION_CHOICES, POOLING_CHOICES, lenet5_spec

log = logging.getLogger(__name__)

CHECKPOINT = "checkpoint.npz"
#: Options that must match when resuming (the others, e.g. --progress, may change).
_RESUME_KEYS = (
    "epochs", "batch_size", "lr", "optimizer", "activation", "pooling", "augment",
    "samples", "val", "seed", "weight_decay", "warmup_steps",
)  # fmt: skip


class UsageError(Exception):
    """A bad combination of options; exit status 2."""


class _Parser(argparse.ArgumentParser):
    """argparse that reports a bad option in one line (no usage block), exit status 2."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(2, f"{self.prog}: error: {message} (see --help)\n")


def build_parser() -> argparse.ArgumentParser:
    """The command-line options of ``python -m training.train``."""
    p = _Parser(prog="python -m training.train", description=__doc__.split("\n")[0])
    p.add_argument("--epochs", type=int, default=30)
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--lr", type=float, default=None, help="peak learning rate "
                   "(default 2e-3 for adam, 0.05 for sgd)")  # fmt: skip
    p.add_argument("--optimizer", choices=("adam", "sgd"), default="adam")
    p.add_argument("--weight-decay", type=float, default=0.0)
    p.add_argument("--warmup-steps", type=int, default=200, help="linear warm-up before cosine")
    p.add_argument("--activation", choices=ACTIVATION_CHOICES, default="relu")
    p.add_argument("--pooling", choices=POOLING_CHOICES, default="max")
    p.add_argument("--augment", action=argparse.BooleanOptionalAction, default=True)
    p.add_argument("--samples", type=int, default=None, help="use only N training samples")
    p.add_argument("--val", type=int, default=5000, help="validation images held out")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--data-dir", type=Path, default=None, help="folder with the MNIST .gz files")
    p.add_argument("--out", type=Path, default=Path("models/lenet.npz"))
    p.add_argument("--run-dir", type=Path, default=None, help="checkpoint after every epoch")
    p.add_argument("--resume", action="store_true", help="continue from --run-dir's checkpoint")
    p.add_argument("--progress", action="store_true", help="progress bar even if not a TTY")
    p.add_argument("--stop-after-epoch", type=int, default=None, metavar="E",
                   help="stop after epoch E, as if interrupted (then --resume)")  # fmt: skip
    p.add_argument("--test-subset", type=int, default=None, help="evaluate on N test images")
    return p


def learning_rate(step: int, total: int, peak: float, warmup: int) -> float:
    """Linear warm-up to ``peak`` over ``warmup`` steps, then cosine decay to zero."""
    if step < warmup:
        return peak * (step + 1) / warmup
    t = (step - warmup) / max(1, total - warmup)
    return 0.5 * peak * (1.0 + math.cos(math.pi * min(1.0, t)))


def split_train_val(
    images: np.ndarray, labels: np.ndarray, n_val: int, seed: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """A seeded shuffle of the training set, the last ``n_val`` held out for validation."""
    if not 0 <= n_val < len(images):
        raise UsageError(f"--val {n_val} must be between 0 and {len(images) - 1}")
    order = np.random.default_rng(seed + 1_000_003).permutation(len(images))
    train, val = order[: len(images) - n_val], order[len(images) - n_val :]
    return images[train], labels[train], images[val], labels[val]


def evaluate_arrays(
    spec: dict, params: network.Params, images: np.ndarray, labels: np.ndarray
) -> tuple[float, float, np.ndarray]:
    """Mean loss, accuracy and predicted classes (N,) of ``images`` (N, 28, 28) uint8."""
    if len(images) == 0:
        return float("nan"), float("nan"), np.zeros(0, dtype=np.int64)
    probs = network.predict_probs(spec, params, images)
    pred = probs.argmax(axis=1)
    picked = probs[np.arange(len(labels)), labels].astype(np.float64)
    loss = float(-np.log(np.maximum(picked, 1e-12)).mean())
    return loss, float((pred == labels).mean()), pred


class Progress:
    """A one-line progress bar on stderr: batch, loss, samples/s, ETA."""

    def __init__(self, enabled: bool, epoch: int, epochs: int, total: int) -> None:
        self.enabled, self.epoch, self.epochs, self.total = enabled, epoch, epochs, total
        self.start = time.perf_counter()
        self.last = 0.0

    def update(self, done: int, samples: int, loss: float) -> None:
        """Redraw at most ten times a second, and always for the last batch."""
        now = time.perf_counter()
        if not self.enabled or (now - self.last < 0.1 and done < self.total):
            return
        self.last = now
        elapsed = now - self.start
        rate = samples / elapsed if elapsed > 0 else 0.0
        eta = elapsed / done * (self.total - done) if done else 0.0
        width = 24
        fill = int(width * done / self.total)
        bar = "#" * fill + "." * (width - fill)
        sys.stderr.write(
            f"\repoch {self.epoch}/{self.epochs} [{bar}] {done}/{self.total} "
            f"loss {loss:.4f} {rate:,.0f} samples/s ETA {eta:4.0f}s "
        )
        if done == self.total:
            sys.stderr.write("\n")
        sys.stderr.flush()


def _make_optimizer(args: argparse.Namespace) -> SGD | Adam:
    if args.optimizer == "sgd":
        return SGD(lr=args.lr, momentum=0.9, weight_decay=args.weight_decay, nesterov=True)
    return Adam(lr=args.lr, weight_decay=args.weight_decay)


def save_checkpoint(path: Path, state: dict[str, Any], arrays: dict[str, np.ndarray]) -> None:
    """Write arrays plus a JSON state to ``path`` atomically (temporary file, rename)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "wb") as f:
        np.savez(f, state_json=np.array(json.dumps(state)), **arrays)
    tmp.replace(path)


def load_checkpoint(path: Path) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """Read ``save_checkpoint``'s file: the JSON state and the arrays by key."""
    if not path.is_file():
        raise UsageError(f"--resume: no checkpoint at {path}; start without --resume")
    with np.load(path, allow_pickle=False) as data:
        state = json.loads(str(data["state_json"]))
        arrays = {k: data[k] for k in data.files if k != "state_json"}
    return state, arrays


def _prefixed(arrays: dict[str, np.ndarray], prefix: str) -> dict[str, np.ndarray]:
    return {k[len(prefix) :]: v for k, v in arrays.items() if k.startswith(prefix)}


def run(args: argparse.Namespace) -> dict[str, Any]:
    """Train as the options say; save the model, metrics and figures; return the metrics."""
    if args.lr is None:
        args.lr = 2e-3 if args.optimizer == "adam" else 0.05
    if args.epochs < 1 or args.batch_size < 1:
        raise UsageError("--epochs and --batch-size must be at least 1")
    if (args.resume or args.stop_after_epoch is not None) and args.run_dir is None:
        raise UsageError("--resume and --stop-after-epoch need --run-dir (the checkpoint)")
    data_dir = args.data_dir if args.data_dir is not None else default_data_dir()
    images, labels = load_split("train", data_dir)
    test_images, test_labels = load_split("test", data_dir)
    x_train, y_train, x_val, y_val = split_train_val(images, labels, args.val, args.seed)
    if args.samples is not None:
        if args.samples < 1:
            raise UsageError("--samples must be at least 1")
        x_train, y_train = x_train[: args.samples], y_train[: args.samples]
    if args.test_subset is not None:
        test_images, test_labels = test_images[: args.test_subset], test_labels[: args.test_subset]
    y_train = y_train.astype(np.int64)

    spec = lenet5_spec(args.activation, args.pooling)
    params = network.init_params(spec, seed=args.seed)
    opt = _make_optimizer(args)
    rng = np.random.default_rng(args.seed)
    history: list[dict[str, float]] = []
    best: dict[str, Any] = {"epoch": 0, "val_accuracy": -1.0}
    best_params = {k: v.copy() for k, v in params.items()}
    first_epoch = 1
    checkpoint = args.run_dir / CHECKPOINT if args.run_dir is not None else None
    config = {k: getattr(args, k) for k in _RESUME_KEYS}

    if args.resume:
        state, arrays = load_checkpoint(checkpoint)
        if state["config"] != config:
            changed = sorted(k for k in config if state["config"].get(k) != config[k])
            raise UsageError(
                f"--resume: options {', '.join(changed)} differ from the checkpoint's; "
                "use the same options"
            )
        params = _prefixed(arrays, "param/")
        best_params = _prefixed(arrays, "best/")
        opt.load_state(_prefixed(arrays, "opt/"))
        rng.bit_generator.state = state["rng"]
        history, best = state["history"], state["best"]
        first_epoch = state["epoch"] + 1
        log.info("resuming after epoch %d from %s", state["epoch"], checkpoint)

    n = len(x_train)
    steps_per_epoch = math.ceil(n / args.batch_size)
    total_steps = steps_per_epoch * args.epochs
    # Short runs (the CI smoke test) warm up over a tenth of their steps at most.
    warmup = min(args.warmup_steps, total_steps // 10)
    show = args.progress or sys.stderr.isatty()
    train_seconds = sum(h["seconds"] for h in history)

    for epoch in range(first_epoch, args.epochs + 1):
        t0 = time.perf_counter()
        order = rng.permutation(n)
        bar = Progress(show, epoch, args.epochs, steps_per_epoch)
        loss_sum, correct = 0.0, 0
        for b in range(steps_per_epoch):
            idx = order[b * args.batch_size : (b + 1) * args.batch_size]
            batch = x_train[idx]
            if args.augment:
                batch = augment_batch(batch, rng)
            x = network.to_input(spec, batch)
            loss, grads, logits = network.loss_and_grads(spec, params, x, y_train[idx])
            step = (epoch - 1) * steps_per_epoch + b
            opt.lr = learning_rate(step, total_steps, args.lr, warmup)
            opt.step(params, grads)
            loss_sum += loss * len(idx)
            correct += int((logits.argmax(axis=1) == y_train[idx]).sum())
            bar.update(b + 1, min(n, (b + 1) * args.batch_size), loss)
        seconds = time.perf_counter() - t0
        train_seconds += seconds
        val_loss, val_acc = None, None  # JSON null when there is no validation split
        if len(x_val):
            val_loss, val_acc, _ = evaluate_arrays(spec, params, x_val, y_val)
        record = {
            "epoch": epoch,
            "train_loss": loss_sum / n,
            "train_accuracy": correct / n,
            "val_loss": val_loss,
            "val_accuracy": val_acc,
            "lr_end": opt.lr,
            "seconds": seconds,
        }
        history.append(record)
        log.info(
            "epoch %d/%d: train loss %.4f acc %.4f | val loss %s acc %s | %.1f s",
            epoch, args.epochs, record["train_loss"], record["train_accuracy"],
            "-" if val_loss is None else f"{val_loss:.4f}",
            "-" if val_acc is None else f"{val_acc:.4f}", seconds,
        )  # fmt: skip
        # No validation set: the last epoch is the model. Ties go to the later epoch,
        # which has seen the smaller learning rates of the schedule.
        if val_acc is None or val_acc >= best["val_accuracy"]:
            best = {"epoch": epoch, "val_accuracy": val_acc, "val_loss": val_loss}
            best_params = {k: v.copy() for k, v in params.items()}
        if checkpoint is not None:
            arrays = {f"param/{k}": v for k, v in params.items()}
            arrays.update({f"best/{k}": v for k, v in best_params.items()})
            arrays.update({f"opt/{k}": v for k, v in opt.state().items()})
            state = {
                "epoch": epoch,
                "config": config,
                "rng": rng.bit_generator.state,
                "history": history,
                "best": best,
            }
            save_checkpoint(checkpoint, state, arrays)
        if args.stop_after_epoch is not None and epoch >= args.stop_after_epoch:
            log.info("stopping after epoch %d as asked; continue with --resume", epoch)
            return {"stopped_after_epoch": epoch, "history": history}

    t0 = time.perf_counter()
    test_loss, test_acc, test_pred = evaluate_arrays(spec, best_params, test_images, test_labels)
    confusion = np.zeros((10, 10), dtype=np.int64)
    np.add.at(confusion, (test_labels.astype(np.int64), test_pred), 1)
    metrics: dict[str, Any] = {
        "test_accuracy": test_acc,
        "test_loss": test_loss,
        "test_n": len(test_labels),
        "test_errors": int(len(test_labels) - np.trace(confusion)),
        "best_epoch": best["epoch"],
        "val_accuracy": best["val_accuracy"],
        "val_n": len(x_val),
        "train_n": n,
        "train_seconds": round(train_seconds, 1),
        "seconds_per_epoch_median": round(float(np.median([h["seconds"] for h in history])), 2),
        "config": config,
        "command": "python -m training.train " + " ".join(args.argv),
        "history": history,
        "confusion": confusion.tolist(),
        "numpy_version": np.__version__,
    }
    log.info(
        "test accuracy %.4f (%d errors of %d), best epoch %d, %.1f s to evaluate",
        test_acc, metrics["test_errors"], len(test_labels), best["epoch"],
        time.perf_counter() - t0,
    )  # fmt: skip
    save_model(args.out, spec, best_params, metrics)
    stem = args.out.with_suffix("")
    Path(f"{stem}_metrics.json").write_text(json.dumps(metrics, indent=2) + "\n")
    plots.save_training_curve(Path(f"{stem}_training_curve.png"), history)
    plots.save_confusion(Path(f"{stem}_confusion.png"), confusion, test_acc)
    return metrics


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point; returns the exit status (2 usage error, 1 data error)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    args = build_parser().parse_args(argv)
    args.argv = argv
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    try:
        run(args)
    except UsageError as exc:
        print(f"python -m training.train: error: {exc}", file=sys.stderr)
        return 2
    except DataError as exc:
        print(f"python -m training.train: error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
