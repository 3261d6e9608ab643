"""The live loop's frame rate with and without a fine-tune running beside it, in one process.

Usage::

    python benchmarks/finetune_fps.py [--seconds 5] [--rounds 12] [--view camera] [--fps 0] [--json]

The real ``convlens run`` loop (demo scene, the configured classifier, the null display)
runs on a thread; a teacher (``app.learn.teacher``) holds a collection of 200 samples of
the tests' "new writer" (``tests/new_writer.py``) and starts the teach view's fine-tune
(Enter: ``convlens finetune`` in a background process, nice 10, SCHED_IDLE, one thread).
Once it trains (its first epoch reported), the rounds alternate two phases of
``--seconds``: the fine-tune paused (SIGSTOP) and running (SIGCONT), so the load from
other processes on a shared machine falls on both alike; then it is stopped (nothing is
installed). The figures: medians over the rounds of each phase's frames per second
(wall clock) and their ratio; the loop process's CPU milliseconds per frame; the
fine-tune's epochs per minute while it ran; and, once, the frame rate while the
fine-tune started up (imports, MNIST, the shipped model's scores).
``--fps 0`` (the default) runs the demo scene unpaced, as fast as the loop can go, so
any core the fine-tune takes from the loop shows; ``--fps 30`` paces it like a camera.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from app.config import config_from_dict
from app.controls.actions import ActionQueue
from app.display.null import NullDisplay
from app.learn.collector import Collector, CollectQuota
from app.learn.models import configured_choice
from app.learn.results import RUNNING
from app.learn.teacher import Teacher, TeachSettings
from app.loop import CaptureLoop, LoopOptions
from app.sources.demo import DemoSource
from app.stages.mnist_preprocess import read_roi
from app.stages.pipeline import build_pipeline
from app.state import ViewState
from tests import new_writer
from training import mnist

#: Epochs asked of the fine-tune: more than a phase lasts, so it runs the whole phase.
EPOCHS = 1000


def write_collection(folder: Path) -> Path:
    """The new writer's 200 camera crops, saved as the teach view saves them."""
    images, labels = mnist.load_split("train")
    digits, digit_labels = new_writer.pick_digits(images, labels, per_digit=20, seed=7)
    collector = Collector(folder, CollectQuota(min_interval=0.0))
    rng = np.random.default_rng(0)
    for digit, label in zip(digits, digit_labels, strict=True):
        crop = new_writer.camera_crop(new_writer.restyle(digit), rng)
        collector.add(crop, read_roi(crop).tensor, int(label), "benchmark")
    return folder


def measure(loop: CaptureLoop, seconds: float) -> tuple[float, float]:
    """(frames per second, process CPU ms per frame) of the running loop over ``seconds``."""
    frames0, wall0, cpu0 = loop.result.frames, time.perf_counter(), time.process_time()
    time.sleep(seconds)
    frames = loop.result.frames - frames0
    wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
    return frames / wall, 1000.0 * cpu / max(1, frames)


def start_finetune(loop: CaptureLoop, teacher: Teacher, queue: ActionQueue) -> dict:
    """Start the fine-tune (the teach view's action: any view takes it) and measure the
    loop until its first epoch is done: fps and CPU ms per frame during the start-up."""
    queue.put("toggle_finetune")
    frames0, wall0, cpu0 = loop.result.frames, time.perf_counter(), time.process_time()
    deadline = time.monotonic() + 600
    while teacher.job is None or teacher.job.progress.epoch < 1:
        progress = teacher.result().progress
        if time.monotonic() > deadline or progress.state not in ("idle", RUNNING):
            raise RuntimeError(f"the fine-tune did not get going: {progress}")
        time.sleep(0.05)
    frames = loop.result.frames - frames0
    wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
    return {"seconds": round(wall, 1), "fps": round(frames / wall, 1),
            "cpu_ms": round(1000 * cpu / max(1, frames), 2)}  # fmt: skip


def alternate(loop: CaptureLoop, teacher: Teacher, args: argparse.Namespace) -> list[dict]:
    """Rounds of the fine-tune paused, then running: each phase's fps and CPU ms."""
    assert teacher.job is not None and teacher.job.pid is not None
    pid, rows = teacher.job.pid, []
    try:
        for _ in range(args.rounds):
            os.kill(pid, signal.SIGSTOP)
            alone = measure(loop, args.seconds)
            os.kill(pid, signal.SIGCONT)
            epoch0 = teacher.job.progress.epoch
            tuned = measure(loop, args.seconds)
            epochs = teacher.job.progress.epoch - epoch0
            rows.append({"alone_fps": alone[0], "alone_cpu_ms": alone[1],
                         "finetune_fps": tuned[0], "finetune_cpu_ms": tuned[1],
                         "epochs_per_min": 60.0 * epochs / args.seconds,
                         "load": os.getloadavg()[0]})  # fmt: skip
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGCONT)
    return rows


def run(args: argparse.Namespace, workdir: Path) -> dict:
    config = config_from_dict({"learn": {"epochs": EPOCHS}})
    settings = TeachSettings(
        collect_dir=write_collection(workdir / "collection"),
        model_dir=workdir / "models",
        epochs=EPOCHS,
    )
    teacher = Teacher(config, settings, configured_choice(config), source_name=lambda: "demo")
    queue = ActionQueue()
    source = DemoSource(size=(640, 480), seed=0, fps=args.fps or 30.0, realtime=args.fps > 0)
    loop = CaptureLoop(
        source, NullDisplay(), build_pipeline(config), state=ViewState(view=args.view),
        actions=queue, options=LoopOptions(teacher=teacher),
    )  # fmt: skip
    thread = threading.Thread(target=loop.run, name="loop")
    thread.start()
    try:
        time.sleep(2.0)  # warm-up: caches, the first frames
        startup = start_finetune(loop, teacher, queue)
        rows = alternate(loop, teacher, args)
    finally:
        loop.stop()
        thread.join()
        teacher.close()  # stops the fine-tune: nothing is installed
    return {**summarise(rows, args), "startup": startup}


def summarise(rows: list[dict], args: argparse.Namespace) -> dict:
    med = {key: float(np.median([r[key] for r in rows])) for key in rows[0]}
    return {
        "view": args.view,
        "paced_fps": args.fps or None,
        "seconds_per_phase": args.seconds,
        "rounds": rows,
        "alone_fps": round(med["alone_fps"], 1),
        "finetune_fps": round(med["finetune_fps"], 1),
        "ratio": round(med["finetune_fps"] / med["alone_fps"], 3),
        "alone_cpu_ms_per_frame": round(med["alone_cpu_ms"], 2),
        "finetune_cpu_ms_per_frame": round(med["finetune_cpu_ms"], 2),
        "finetune_epochs_per_min": round(med["epochs_per_min"], 1),
        "cpu_count": os.cpu_count(),
        "load_average": list(os.getloadavg()),
    }


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--seconds", type=float, default=5.0, help="length of each phase")
    p.add_argument("--rounds", type=int, default=12)
    p.add_argument("--view", default="camera", help="the view the loop shows (camera)")
    p.add_argument("--fps", type=float, default=0.0, help="pace the demo scene (0: unpaced)")
    p.add_argument("--json", action="store_true")
    args = p.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="convlens-fps-") as tmp:
        result = run(args, Path(tmp))
    if args.json:
        print(json.dumps(result))
        return 0
    pace = f"paced at {args.fps:g} fps" if args.fps else "unpaced"
    load = " ".join(f"{v:.1f}" for v in result["load_average"])
    print(f"view {result['view']}, {pace}, {args.rounds} rounds of {args.seconds:g} s per phase; "
          f"load average {load}")  # fmt: skip
    for i, row in enumerate(result["rounds"], 1):
        print(f"  round {i}: paused {row['alone_fps']:6.1f} fps "
              f"({row['alone_cpu_ms']:.1f} CPU ms/frame), running "
              f"{row['finetune_fps']:6.1f} fps ({row['finetune_cpu_ms']:.1f}); "
              f"{row['epochs_per_min']:.0f} epochs/min; load {row['load']:.1f}")  # fmt: skip
    up = result["startup"]
    print(
        f"  while it started up ({up['seconds']} s): {up['fps']} fps ({up['cpu_ms']} CPU ms/frame)"
    )
    print(
        f"median fps: alone {result['alone_fps']}, with a fine-tune running "
        f"{result['finetune_fps']}: ratio {result['ratio']:.3f}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
