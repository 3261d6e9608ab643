"""Fine-tune the shipped LeNet on a user's handwriting, check it, export it, install it.

The user's samples (28x28 tensors, ``training.collection``) are split into a training
part and a held-back part (a fixed share of each digit, seeded). The shipped model is
trained further with the NumPy trainer on batches that mix the user's training
samples with MNIST images (so the net keeps what it knew), both lightly augmented.
Then the new weights are exported to float32 and int8 TFLite with the project's
exporter and checked before anything is written: the float32 model must match the
NumPy network, and each model's MNIST test accuracy may be at most 0.5 points below
the shipped model's. Accepted models are installed by ``training.model_store``
(atomically; a failure or an interrupt leaves the current model as it was).

Progress goes to a callback as dicts (the command line prints them as JSON lines), so
the app can run this in a background process and show epoch, loss and held-back
accuracy while the live loop keeps running.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from training import calibrate, mnist, model_store, network, top_patches
from training.augment import augment_batch
from training.collection import Collection
from training.model_io import load_model
from training.optim import Adam
from training.parallel import BatchSplitter
from training.train import learning_rate, split_train_val

#: Progress events: {"event": "start" | "epoch" | "checked", ...}.
Report = Callable[[dict[str, Any]], None]

#: Largest |probability difference| allowed between the float32 TFLite model and NumPy.
PARITY_TOLERANCE = 1e-4
#: How far (accuracy, 0.005 = 0.5 points) below the shipped model an export may fall on MNIST.
MNIST_MARGIN = 0.005
MIN_SAMPLES = 10


class FinetuneError(Exception):
    """A fine-tune that cannot run or whose result is rejected; the message is one line."""

    def __init__(self, message: str, result: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.result = result or {}


@dataclass(frozen=True)
class FinetuneConfig:
    """How to fine-tune. An epoch is one pass over the user's training samples."""

    epochs: int = 40
    user_batch: int = 16  # user samples per step ...
    mnist_batch: int = 48  # ... and MNIST images beside them: it keeps what it knew
    lr: float = 3e-4  # peak Adam step, a seventh of the first training's
    hold_back: float = 0.25  # share of each digit's samples kept for the before/after score
    mnist_images: int = 10_000  # the MNIST training slice the batches draw from
    calibration_images: int = 1000  # MNIST images (plus the user's) for the int8 ranges
    augment: bool = True
    recalibrate: bool = True  # fit the temperature again (training.calibrate) on MNIST
    seed: int = 0
    threads: int = 1  # the batch split over this many cores (training.parallel)


def split_held_back(labels: np.ndarray, share: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Indices (train, held back): ``round(share * n)`` of each digit's n samples held back.

    A digit keeps at least one training sample; the choice is a seeded shuffle.
    """
    rng = np.random.default_rng(seed)
    train, held = [], []
    for digit in np.unique(labels):
        members = rng.permutation(np.flatnonzero(labels == digit))
        k = min(round(share * len(members)), len(members) - 1)
        held.extend(members[:k])
        train.extend(members[k:])
    return np.sort(np.array(train, dtype=np.int64)), np.sort(np.array(held, dtype=np.int64))


def accuracy(spec: dict, params: network.Params, images: np.ndarray, labels: np.ndarray) -> float:
    """Top-1 accuracy of the NumPy network on (N, 28, 28) uint8 or float images."""
    if len(images) == 0:
        return float("nan")
    return float((network.predict_probs(spec, params, images).argmax(1) == labels).mean())


def to_pixels(images: np.ndarray) -> np.ndarray:
    """(N, 28, 28) float in [0, 1] -> uint8 pixels (MNIST's form, what augmentation takes)."""
    return np.round(np.clip(images, 0.0, 1.0) * 255.0).astype(np.uint8)


def train_steps(
    spec: dict,
    params: network.Params,
    user: tuple[np.ndarray, np.ndarray],
    mnist_slice: tuple[np.ndarray, np.ndarray],
    config: FinetuneConfig,
    on_epoch: Callable[[int, float, network.Params], None] | None = None,
) -> network.Params:
    """Fine-tuned copies of ``params``.

    Args:
        user: (N, 28, 28) uint8 user samples and (N,) labels.
        mnist_slice: (M, 28, 28) uint8 MNIST images and labels drawn beside them.
        on_epoch: called with (epoch, mean training loss, current parameters) after
            each epoch.
    """
    params = {k: v.astype(np.float32, copy=True) for k, v in params.items()}
    (ux, uy), (mx, my) = user, mnist_slice
    rng = np.random.default_rng(config.seed)
    opt = Adam(lr=config.lr)
    steps_per_epoch = math.ceil(len(ux) / config.user_batch)
    total = steps_per_epoch * config.epochs
    warmup = max(1, total // 20)
    with BatchSplitter(config.threads) as splitter:
        for epoch in range(1, config.epochs + 1):
            order = rng.permutation(len(ux))
            losses = []
            for step in range(steps_per_epoch):
                picked = order[step * config.user_batch : (step + 1) * config.user_batch]
                extra = rng.integers(0, len(mx), size=config.mnist_batch)
                images = np.concatenate([ux[picked], mx[extra]])
                labels = np.concatenate([uy[picked], my[extra]]).astype(np.int64)
                if config.augment:
                    images = augment_batch(images, rng)
                x = network.to_input(spec, images)
                loss, grads = splitter.loss_and_grads(spec, params, x, labels)
                step_index = (epoch - 1) * steps_per_epoch + step
                opt.lr = learning_rate(step_index, total, config.lr, warmup)
                opt.step(params, grads)
                losses.append(loss)
            if on_epoch is not None:
                on_epoch(epoch, float(np.mean(losses)), params)
    return params


def recalibrate(
    spec: dict,
    params: network.Params,
    val: tuple[np.ndarray, np.ndarray],
    test: tuple[np.ndarray, np.ndarray],
    base_temperature: float,
) -> tuple[network.Params, dict[str, Any]]:
    """The fine-tuned weights with a temperature fitted again and folded in.

    Fine-tuning moves the logits' scale; the app's "not a digit" test reads the
    calibrated logits (``app.reading.rejection``), so the temperature is fitted anew on
    the base model's held-out MNIST images (``training.calibrate``, never the test set).
    Returns the folded parameters and the figures (``metrics["calibration"]``: the total
    temperature as ``training.calibrate`` records it, the factor fitted now, NLL on the
    held-out images and ECE on the test set before and after, CPU seconds).
    """
    started = time.process_time()
    val_logits = calibrate.logits_of(spec, params, val[0])
    factor = calibrate.fit_temperature(val_logits, val[1])
    test_logits = calibrate.logits_of(spec, params, test[0])
    figures = {
        "temperature": base_temperature * factor,
        "fitted": factor,
        "fitted_on": f"{len(val[1])} held-out MNIST training images",
        "val_nll_before": calibrate.nll(val_logits, val[1]),
        "val_nll_after": calibrate.nll(val_logits, val[1], factor),
        "test_ece_before": calibrate.expected_calibration_error(
            calibrate.softmax(test_logits), test[1]
        ),
        "test_ece_after": calibrate.expected_calibration_error(
            calibrate.softmax(test_logits / factor), test[1]
        ),
        "ece_bins": calibrate.ECE_BINS,
        "seconds": round(time.process_time() - started, 2),
    }
    return calibrate.fold_temperature(spec, params, factor), figures


def check_and_export(
    spec: dict,
    params: network.Params,
    metrics: dict[str, Any],
    calibration: np.ndarray,
    test: tuple[np.ndarray, np.ndarray],
    parity_images: np.ndarray,
    reference_accuracy: float,
) -> tuple[dict[str, bytes], dict[str, Any]]:
    """Export float32 and int8 TFLite models and check them against the NumPy network.

    Returns:
        ``{"lenet_float32.tflite": bytes, "lenet_int8.tflite": bytes}`` and the figures.
    Raises:
        FinetuneError: the exporter or a TFLite runtime is missing, or a check fails.
    """
    try:
        from training.export import export_float32, export_int8
        from training.tflite_predict import TFLiteModel
    except ImportError as exc:
        raise FinetuneError(
            f"exporting to TFLite needs the 'tflite' and 'flatbuffers' packages "
            f"(pip install 'convlens[train]'): {exc}"
        ) from exc
    blobs = {
        "lenet_float32.tflite": export_float32(spec, params, metrics),
        "lenet_int8.tflite": export_int8(spec, params, calibration, metrics),
    }
    try:
        float_model = TFLiteModel(blobs["lenet_float32.tflite"])
        int8_model = TFLiteModel(blobs["lenet_int8.tflite"])
    except ImportError as exc:
        raise FinetuneError(
            f"checking the exported models needs a TFLite runtime "
            f"(pip install ai-edge-litert): {exc}"
        ) from exc
    reference = network.predict_probs(spec, params, parity_images)
    parity = float(np.abs(float_model.predict_probs(parity_images) - reference).max())
    images, labels = test
    float_probs = float_model.predict_probs(images)
    int8_probs = int8_model.predict_probs(images)
    figures = {
        "tflite_parity_max_abs": parity,
        "mnist_float32_tflite": float((float_probs.argmax(1) == labels).mean()),
        "mnist_int8_tflite": float((int8_probs.argmax(1) == labels).mean()),
        "int8_agreement": float((int8_probs.argmax(1) == float_probs.argmax(1)).mean()),
    }
    floor = reference_accuracy - MNIST_MARGIN
    if parity > PARITY_TOLERANCE:
        raise FinetuneError(
            f"the float32 TFLite export differs from the NumPy network by {parity:.2e} "
            f"(allowed {PARITY_TOLERANCE:.0e}); not installed",
            figures,
        )
    for kind in ("float32", "int8"):
        acc = figures[f"mnist_{kind}_tflite"]
        if acc < floor:
            raise FinetuneError(
                f"the {kind} model reads MNIST at {acc:.2%}, more than "
                f"{MNIST_MARGIN * 100:.1f} points below the shipped {reference_accuracy:.2%}; "
                "not installed",
                figures,
            )
    return blobs, figures


@dataclass(frozen=True)
class _Data:
    """Everything a fine-tune reads, split and ready."""

    spec: dict
    base: network.Params
    base_sha256: str
    train: tuple[np.ndarray, np.ndarray]  # (N, 28, 28) uint8 user samples, labels
    held: tuple[np.ndarray, np.ndarray]  # (M, 28, 28) float32 held-back samples, labels
    mnist_slice: tuple[np.ndarray, np.ndarray]  # MNIST training images mixed in
    val: tuple[np.ndarray, np.ndarray]  # the base's held-out MNIST images: the temperature
    test: tuple[np.ndarray, np.ndarray]  # the 10,000 MNIST test images
    base_temperature: float  # the temperature folded into the base model already


def _prepare(
    collection: Collection, base_model: Path, config: FinetuneConfig, data_dir: Path | None
) -> _Data:
    if len(collection.labels) < MIN_SAMPLES:
        raise FinetuneError(
            f"{len(collection.labels)} usable samples; fine-tuning needs at least {MIN_SAMPLES}"
        )
    train, held = split_held_back(collection.labels, config.hold_back, config.seed)
    if len(held) == 0:
        raise FinetuneError(
            "no sample can be held back to score the fine-tune: collect at least two "
            "samples of some digit"
        )
    spec, base, metrics = load_model(base_model)
    # The base model's own validation images (the seeded split of training.train) are
    # kept out of the batches: the temperature is fitted on images never trained on.
    trained = metrics.get("config", {})
    n_val, val_seed = int(trained.get("val", 5000)), int(trained.get("seed", 0))
    mnist_x, mnist_y, val_x, val_y = split_train_val(*mnist.load_split("train", data_dir),
                                                     n_val, val_seed)  # fmt: skip
    count = min(config.mnist_images, len(mnist_x))
    chosen = np.random.default_rng(config.seed).choice(len(mnist_x), size=count, replace=False)
    images, labels = collection.images, collection.labels
    return _Data(
        spec=spec,
        base=base,
        base_sha256=hashlib.sha256(Path(base_model).read_bytes()).hexdigest(),
        train=(to_pixels(images[train]), labels[train]),
        held=(images[held], labels[held]),
        mnist_slice=(mnist_x[chosen], mnist_y[chosen]),
        val=(val_x, val_y),
        test=mnist.load_split("test", data_dir),
        base_temperature=float(metrics.get("calibration", {}).get("temperature", 1.0)),
    )


def run(
    collection: Collection,
    base_model: Path,
    model_dir: Path,
    config: FinetuneConfig = FinetuneConfig(),
    data_dir: Path | None = None,
    report: Report | None = None,
    source: str = "",
) -> dict[str, Any]:
    """Fine-tune ``base_model`` on ``collection``, check, export and install the result.

    Returns:
        ``{"samples", "before", "after", "mnist_after", "seconds", ...}``: accuracies on
        the held-back user samples before and after, on the 10,000 MNIST test images
        after, wall-clock seconds, and where the model went.
    Raises:
        FinetuneError: too few samples, or a check failed (nothing installed; the
            figures so far are in its ``result``).
        ModelFileError, mnist.DataError: the base model or MNIST cannot be read.
    """
    started = time.perf_counter()
    emit = report or (lambda event: None)
    data = _prepare(collection, base_model, config, data_dir)
    spec, held = data.spec, data.held
    result: dict[str, Any] = {
        "samples": len(collection.labels),
        "held_back": len(held[1]),
        "skipped": len(collection.skipped),
        "before": accuracy(spec, data.base, *held),
        "mnist_before": accuracy(spec, data.base, *data.test),
    }
    emit({"event": "start", **result, "epochs": config.epochs})

    def on_epoch(epoch: int, loss: float, now: network.Params) -> None:
        emit({"event": "epoch", "epoch": epoch, "epochs": config.epochs, "loss": loss,
              "held_back_accuracy": accuracy(spec, now, *held)})  # fmt: skip

    t_train = time.perf_counter()
    params = train_steps(spec, data.base, data.train, data.mnist_slice, config, on_epoch)
    result["train_seconds"] = round(time.perf_counter() - t_train, 2)
    calibration: dict[str, Any] = {}
    if config.recalibrate:
        params, calibration = recalibrate(spec, params, data.val, data.test, data.base_temperature)
        result["temperature"] = calibration["fitted"]
        result["calibration_seconds"] = calibration["seconds"]
    result["after"] = accuracy(spec, params, *held)
    result["mnist_after"] = accuracy(spec, params, *data.test)
    card = _card(collection, data, config, result, Path(base_model).name, source)
    metrics = {"test_accuracy": result["mnist_after"], "finetuned": card}
    if calibration:
        metrics["calibration"] = calibration
    calibration = np.concatenate([data.mnist_slice[0][: config.calibration_images], data.train[0]])
    parity_images = np.concatenate([held[0], data.test[0][:500].astype(np.float32) / 255.0])
    try:
        blobs, figures = check_and_export(
            spec, params, metrics, calibration, data.test, parity_images, result["mnist_before"]
        )
    except FinetuneError as exc:
        exc.result = {**result, **exc.result, "installed": False,
                      "seconds": round(time.perf_counter() - started, 2)}  # fmt: skip
        raise
    emit({"event": "checked", **figures})
    card.update(figures)
    npz = _npz_bytes(spec, params, metrics)
    folder = model_store.install(
        model_dir,
        {
            "lenet.npz": npz,
            **blobs,
            **_side_files(spec, params, npz, data.test, result["mnist_after"]),
            "model_card.json": (json.dumps(card, indent=2) + "\n").encode(),
        },
    )
    seconds = round(time.perf_counter() - started, 2)
    return {**result, **figures, "installed": True, "model": str(folder), "seconds": seconds}


def _card(
    collection: Collection,
    data: _Data,
    config: FinetuneConfig,
    result: dict[str, Any],
    base_name: str,
    source: str,
) -> dict[str, Any]:
    """What the model was fine-tuned on and how it scored: ``model_card.json``."""
    return {
        "base_model": base_name,
        "base_sha256": data.base_sha256,
        "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "collection": source,
        "per_digit": collection.counts(),
        "per_digit_held_back": _per_digit(data.held[1]),
        "train": len(data.train[1]),
        "mnist_images_mixed_in": len(data.mnist_slice[1]),
        "config": asdict(config),
        **result,
    }


def _side_files(
    spec: dict,
    params: network.Params,
    npz: bytes,
    test: tuple[np.ndarray, np.ndarray],
    accuracy_after: float,
) -> dict[str, bytes]:
    """The files the app shows beside a model (``app.stages.network``): the test figures
    (``lenet_metrics.json``) and the MNIST test patches that excite each conv channel most
    (``lenet_top_patches.npz``, made for these weights)."""
    images, _ = test
    errors = round((1.0 - accuracy_after) * len(images))
    metrics = {"test_accuracy": accuracy_after, "test_errors": errors, "test_n": len(images)}
    tops = top_patches.layer_tops(spec, params, images, top_patches.LAYERS, top_patches.DEFAULT_K)
    meta = {
        "split": "test",
        "images": len(images),
        "k": top_patches.DEFAULT_K,
        "model": "lenet.npz",
        "model_sha256": hashlib.sha256(npz).hexdigest(),
        "command": "convlens finetune (the fine-tuned lenet.npz beside it)",
    }
    return {
        "lenet_metrics.json": (json.dumps(metrics, indent=2) + "\n").encode(),
        "lenet_top_patches.npz": top_patches.top_patches_bytes(tops, meta),
    }


def _per_digit(labels: np.ndarray) -> dict[str, int]:
    return {str(d): int(n) for d, n in enumerate(np.bincount(labels, minlength=10))}


def _npz_bytes(spec: dict, params: network.Params, metrics: dict[str, Any]) -> bytes:
    """``save_model``'s file, as bytes (written by ``model_store.install``)."""
    import io

    arrays = {k: np.asarray(v, dtype=np.float32) for k, v in params.items()}
    arrays["spec_json"] = np.array(json.dumps(spec))
    arrays["metrics_json"] = np.array(json.dumps(metrics))
    buffer = io.BytesIO()
    np.savez_compressed(buffer, **arrays)
    return buffer.getvalue()


def lower_priority(niceness: int, idle: bool = False) -> str:
    """Add ``niceness`` to this process's nice value, and with ``idle`` ask Linux to run it
    only on CPU time nothing else wants (``SCHED_IDLE``): the live loop keeps its cores.

    Returns what was done, for the log ("nice 10, SCHED_IDLE").
    """
    done = f"nice {os.nice(max(0, niceness))}"
    if idle and hasattr(os, "SCHED_IDLE"):
        try:
            os.sched_setscheduler(0, os.SCHED_IDLE, os.sched_param(0))
            done += ", SCHED_IDLE"
        except OSError as exc:  # not allowed here: the nice value still applies
            done += f" (SCHED_IDLE refused: {exc.strerror})"
    return done
