"""The ``convlens finetune`` command: options, progress lines, exit status.

Importing this module is cheap (argparse only): the app's command line builds its
parser from ``add_arguments`` and calls ``run_command`` with its own preprocessing,
which turns an image file into the 28x28 tensor the live classifier would see.

Output: with ``--json``, one JSON object at the end; with ``--json --progress``, one
JSON line per event before it (``{"event": "start" | "epoch" | "checked", ...}``), for
the app to run it as a background process. Exit status 0 when the model was
installed, 1 when the collection, the data or a check failed (nothing installed),
130 when interrupted (SIGINT or SIGTERM; nothing installed).
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import signal
import sys
import time
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

EXIT_FAILED = 1
EXIT_INTERRUPTED = 130
DEFAULT_NICE = 10


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of ``convlens finetune``."""
    from training.model_store import default_model_dir

    parser.add_argument(
        "dir",
        metavar="DIR",
        type=Path,
        help="collection folder: samples.csv (columns file,label) and the image files",
    )
    parser.add_argument(
        "--out",
        metavar="MODEL_DIR",
        type=Path,
        help="where fine-tuned models go, one folder each plus a 'current' link "
        "(default: $STATE_DIRECTORY/models under systemd, else /var/lib/convlens/models "
        f"when writable, else ~/.local/state/convlens/models; here: {default_model_dir()}); "
        "the shipped models are never written",
    )
    parser.add_argument("--base", metavar="NPZ", type=Path, help="model to start from "
                        "(default: the shipped lenet.npz)")  # fmt: skip
    parser.add_argument("--epochs", type=int, default=40, help="passes over the samples (40)")
    parser.add_argument("--hold-back", type=float, default=0.25, metavar="SHARE",
                        help="share of each digit's samples kept for scoring (0.25)")  # fmt: skip
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--data-dir", type=Path, help="folder with the MNIST .gz files")
    parser.add_argument("--threads", type=int, default=1,
                        help="split each batch over this many cores, the parts after the "
                        "first in worker processes (1: one core, which leaves the others to "
                        "the live loop)")  # fmt: skip
    parser.add_argument("--nice", type=int, default=DEFAULT_NICE,
                        help=f"lower the priority by this much ({DEFAULT_NICE})")  # fmt: skip
    parser.add_argument("--idle", action="store_true",
                        help="run only on CPU time nothing else wants (Linux SCHED_IDLE): "
                        "the app's fine-tunes do: the live loop keeps its frame rate")  # fmt: skip
    parser.add_argument("--json", action="store_true", help="print one JSON object at the end")
    parser.add_argument("--progress", action="store_true",
                        help="with --json: one JSON line per epoch before the result")  # fmt: skip


def run_command(args: argparse.Namespace, to_tensor: Any) -> int:
    """Run ``convlens finetune``; returns the exit status.

    ``to_tensor(path) -> (tensor | None, reason)`` is the app's preprocessing.
    """
    from training import finetune
    from training.collection import CollectionError, load_collection
    from training.mnist import DataError
    from training.model_io import ModelFileError
    from training.model_store import default_model_dir

    def fail(message: str, result: dict[str, Any] | None = None) -> int:
        if args.json and result:
            _print_json(_rounded(result))
        print(f"convlens finetune: error: {message}", file=sys.stderr)
        return EXIT_FAILED

    if args.epochs < 1 or not 0.0 < args.hold_back < 1.0 or args.threads < 1:
        return fail(f"--epochs {args.epochs} and --threads {args.threads} must be >= 1 and "
                    f"--hold-back {args.hold_back} between 0 and 1")  # fmt: skip
    log.info("priority: %s", finetune.lower_priority(args.nice, args.idle))
    config = finetune.FinetuneConfig(
        epochs=args.epochs, hold_back=args.hold_back, seed=args.seed, threads=args.threads
    )
    base = args.base or Path(__file__).resolve().parents[1] / "models" / "lenet.npz"  # a checkout
    model_dir = args.out or default_model_dir()
    previous = signal.signal(signal.SIGTERM, _interrupt)
    try:
        collection = load_collection(args.dir, to_tensor)
        result = finetune.run(
            collection, base, model_dir, config, args.data_dir,
            report=_reporter(args), source=str(args.dir),
        )  # fmt: skip
    except KeyboardInterrupt:
        print("convlens finetune: interrupted; nothing installed", file=sys.stderr)
        return EXIT_INTERRUPTED
    except finetune.FinetuneError as exc:
        return fail(str(exc), exc.result)
    except (CollectionError, ModelFileError, DataError, OSError) as exc:
        return fail(str(exc))
    finally:
        signal.signal(signal.SIGTERM, previous)
    if args.json:
        _print_json(_rounded(result))
    else:
        print(
            f"{result['samples']} samples ({result['held_back']} held back): "
            f"held-back accuracy {result['before']:.1%} -> {result['after']:.1%}, "
            f"MNIST {result['mnist_before']:.2%} -> {result['mnist_after']:.2%} "
            f"(int8 {result['mnist_int8_tflite']:.2%}), {result['seconds']:.1f} s\n"
            f"installed: {result['model']}"
        )
    return 0


def _interrupt(signum: int, frame: Any) -> None:
    """SIGTERM as Ctrl-C: the same clean-up runs (the staging folder is removed)."""
    raise KeyboardInterrupt


def _reporter(args: argparse.Namespace):
    started = time.perf_counter()

    def report(event: dict[str, Any]) -> None:
        event = {**event, "elapsed": round(time.perf_counter() - started, 2)}
        if args.json and args.progress:
            _print_json(_rounded(event))
        elif not args.json and event["event"] == "epoch":
            print(
                f"epoch {event['epoch']}/{event['epochs']}: loss {event['loss']:.4f}, "
                f"held-back accuracy {event['held_back_accuracy']:.1%}",
                file=sys.stderr,
                flush=True,
            )

    return report


def _rounded(values: dict[str, Any]) -> dict[str, Any]:
    return {
        k: (round(v, 6) if isinstance(v, float) and math.isfinite(v) else v)
        for k, v in values.items()
    }


def _print_json(value: dict[str, Any]) -> None:
    print(json.dumps(value), flush=True)
