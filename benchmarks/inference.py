"""Latency of one digit classification per runtime and model (LiteRT, tflite-runtime, NumPy).

Usage::

    python benchmarks/inference.py [--runs 2000] [--threads 1] [--json]
        [--tflite-runtime-python .venv-tflite/bin/python]

For every importable runtime and both models (float32, int8) it times
``DigitClassifier.predict`` (what the app pays: input conversion, invoke, reading
and dequantising all eight outputs) and the bare ``invoke``; it prints the median
and p99 in microseconds, the model file size and the ratio of the median against
the NumPy reference forward pass measured in the same run. tflite-runtime needs
numpy < 2, so when it does not import here and ``.venv-tflite`` (made by
``.ci/tflite_runtime_env.sh``) exists, that venv's Python runs the same script for
those rows and the results are merged into one table.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from app.classifier import load_classifier, runtime_versions  # noqa: E402
from training.mnist import DataError, load_split  # noqa: E402

MODELS = {
    "float32": REPO / "models" / "lenet_float32.tflite",
    "int8": REPO / "models" / "lenet_int8.tflite",
}
REFERENCE = REPO / "models" / "lenet.npz"
OTHER_VENV = REPO / ".venv-tflite" / "bin" / "python"


def _digits(n: int) -> np.ndarray:
    try:
        return load_split("test")[0][:n]
    except DataError:
        return np.random.default_rng(0).integers(0, 256, (n, 28, 28), dtype=np.uint8)


def _time(fn, images: np.ndarray, runs: int) -> tuple[float, float]:
    """(median, p99) microseconds of ``fn(image)`` over ``runs`` calls after a warm-up."""
    for image in images[:50]:
        fn(image)
    samples = np.empty(runs)
    for i in range(runs):
        image = images[i % len(images)]
        t0 = time.perf_counter_ns()
        fn(image)
        samples[i] = time.perf_counter_ns() - t0
    return float(np.median(samples)) / 1e3, float(np.percentile(samples, 99)) / 1e3


def measure(backends: list[str], runs: int, threads: int) -> list[dict]:
    """One row per (backend, model): median/p99 of predict and invoke, size, description."""
    images = _digits(1000)
    rows = []
    for backend in backends:
        targets = {"float32": REFERENCE} if backend == "numpy" else MODELS
        for precision, path in targets.items():
            clf = load_classifier(path, backend=backend, num_threads=threads)
            median, p99 = _time(clf.predict, images, runs if backend != "numpy" else runs // 4)
            row = {
                "backend": backend,
                "model": path.name,
                "precision": precision,
                "description": clf.description,
                "bytes": path.stat().st_size,
                "predict_median_us": median,
                "predict_p99_us": p99,
            }
            interpreter = getattr(clf, "_interpreter", None)
            if interpreter is not None:
                median, p99 = _time(lambda _image, it=interpreter: it.invoke(), images, runs)
                row.update(invoke_median_us=median, invoke_p99_us=p99)
            rows.append(row)
    return rows


def main(argv: list[str] | None = None) -> int:
    """Print the table (or JSON rows); exit status 0."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=2000)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--only", nargs="*", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--tflite-runtime-python", type=Path, default=OTHER_VENV)
    args = parser.parse_args(argv)

    versions = runtime_versions()
    available = ["numpy"]
    if versions["ai-edge-litert"]:
        available.append("litert")
    if versions["tflite-runtime"]:
        available.append("tflite-runtime")
    backends = [b for b in available if args.only is None or b in args.only]
    rows = measure(backends, args.runs, args.threads)
    if args.only is None and not versions["tflite-runtime"] and args.tflite_runtime_python.exists():
        out = subprocess.run(
            [
                str(args.tflite_runtime_python),
                __file__,
                "--json",
                "--only",
                "tflite-runtime",
                "--runs",
                str(args.runs),
                "--threads",
                str(args.threads),
            ],
            capture_output=True,
            text=True,
            check=False,
        )
        if out.returncode == 0:
            rows += json.loads(out.stdout)["rows"]
        else:
            print(f"tflite-runtime venv failed: {out.stderr.strip()[-300:]}", file=sys.stderr)
    if args.json:
        print(json.dumps({"versions": versions, "rows": rows}))
        return 0
    reference = next((r["predict_median_us"] for r in rows if r["backend"] == "numpy"), None)
    print(
        f"one 28x28 inference, {args.runs} runs, {args.threads} thread(s); "
        f"ratio = NumPy reference median / this median"
    )
    print(
        f"{'runtime':<28} {'model':<22} {'bytes':>8} {'predict med':>12} {'p99':>8} "
        f"{'invoke med':>11} {'p99':>8} {'ratio':>7}"
    )
    for r in rows:
        runtime = r["description"].split(",")[0]
        invoke = (
            f"{r['invoke_median_us']:>9.1f}us {r['invoke_p99_us']:>6.1f}us"
            if "invoke_median_us" in r
            else f"{'-':>11} {'-':>8}"
        )
        ratio = f"{reference / r['predict_median_us']:>6.1f}x" if reference else "-"
        print(
            f"{runtime:<28} {r['model']:<22} {r['bytes']:>8} "
            f"{r['predict_median_us']:>10.1f}us {r['predict_p99_us']:>6.1f}us {invoke} {ratio:>7}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
