"""A mutation fuzzer for the .tflite check: edit a shipped model's int32s, and every mutant the
check accepts is loaded and run by the real runtime in a child process that must not crash.

Mutations hit the flatbuffer's structure (tables, vtables, offsets, shapes, indices,
quantisation), not the weight bytes, which no runtime trusts for anything but values.
Each mutant changes one or two aligned int32s to a value a corrupted or hostile file
would hold (-1, 0, huge, off by one, a random word). Children load mutants one after
another and report each before trying it, so a crash (a signal, exit < 0) names the
mutant, and a new child takes up the rest.

    python -m tests.tflite_fuzz [--mutants 2000] [--seconds 600] [--keep DIR]
"""

from __future__ import annotations

import argparse
import random
import struct
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from training.tflite_verify import FlatbufferError, buffer_data_ranges, verify_model

REPO = Path(__file__).resolve().parents[1]
MODELS = sorted((REPO / "models").glob("*.tflite"))

#: What the child does with each mutant: the app's own loader (allocate, check the
#: input and outputs), then one prediction on a blank tensor.
CHILD = """
import sys
import numpy as np
from app.classifier import load_classifier
for path in sys.argv[1:]:
    print("try", path, flush=True)
    try:
        load_classifier(path, backend="auto").predict(np.zeros((28, 28), np.float32))
    except Exception as exc:
        print("refused", type(exc).__name__, flush=True)
    else:
        print("ran", flush=True)
"""


def structure_offsets(data: bytes) -> list[int]:
    """4-aligned offsets of int32s outside the weight buffers' bytes."""
    ranges = buffer_data_ranges(data)
    offsets = []
    for pos in range(0, len(data) - 3, 4):
        if not any(start <= pos < end for start, end in ranges):
            offsets.append(pos)
    return offsets


def mutate(data: bytes, offsets: list[int], rng: random.Random) -> bytes:
    out = bytearray(data)
    for _ in range(rng.choice((1, 1, 2))):
        pos = rng.choice(offsets)
        (old,) = struct.unpack_from("<i", out, pos)
        new = rng.choice(
            [-1, -2, 0, 1, 2, 3, 255, 65535, 2**31 - 1, -(2**31), old + 1, old - 1,
             old * 2, -old, old + 4, rng.randint(-(2**31), 2**31 - 1), rng.randint(-64, 64)]
        )  # fmt: skip
        struct.pack_into("<i", out, pos, max(-(2**31), min(2**31 - 1, new)))
    return bytes(out)


@dataclass
class Campaign:
    """Counts of one fuzzing run."""

    mutants: int = 0
    refused_by_check: int = 0
    run: int = 0
    refused_by_runtime: int = 0
    crashes: list[Path] = field(default_factory=list)
    #: A child died while loading a mutant that does not crash on its own: the runtime
    #: broke after several refused models in one process (the app loads one).
    after_refusals: list[Path] = field(default_factory=list)
    seconds: float = 0.0


def run_children(paths: list[Path], campaign: Campaign, deadline: float) -> None:
    """Load ``paths`` in child processes; a child killed by a signal records a crash."""
    pending = list(paths)
    while pending and time.monotonic() < deadline:
        proc = subprocess.run(
            [sys.executable, "-c", CHILD, *map(str, pending)],
            capture_output=True,
            text=True,
            cwd=REPO,
            timeout=max(10.0, deadline - time.monotonic() + 30),
        )
        tried = [line.split(" ", 1)[1] for line in proc.stdout.splitlines() if line[:4] == "try "]
        campaign.run += len(tried)
        campaign.refused_by_runtime += sum(
            line.startswith("refused ") for line in proc.stdout.splitlines()
        )
        if proc.returncode < 0 and tried:
            alone = subprocess.run(
                [sys.executable, "-c", CHILD, tried[-1]], capture_output=True, cwd=REPO, timeout=60
            )
            bucket = campaign.crashes if alone.returncode < 0 else campaign.after_refusals
            bucket.append(Path(tried[-1]))
        elif proc.returncode != 0:
            raise RuntimeError(f"fuzz child failed ({proc.returncode}): {proc.stderr[-2000:]}")
        pending = pending[len(tried) :] if proc.returncode < 0 else []


def fuzz(
    models: list[Path], mutants: int, seconds: float, workdir: Path, seed: int = 13
) -> Campaign:
    """Make up to ``mutants`` mutants per model (within ``seconds`` overall); run the accepted."""
    rng = random.Random(seed)
    campaign = Campaign()
    start = time.monotonic()
    deadline = start + seconds
    workdir.mkdir(parents=True, exist_ok=True)
    for model in models:
        data = model.read_bytes()
        offsets = structure_offsets(data)
        accepted = []
        for i in range(mutants):
            if time.monotonic() > deadline:
                break
            mutant = mutate(data, offsets, rng)
            campaign.mutants += 1
            try:
                verify_model(mutant)
            except FlatbufferError:
                campaign.refused_by_check += 1
                continue
            path = workdir / f"{model.stem}-{i:05d}.tflite"
            path.write_bytes(mutant)
            accepted.append(path)
        run_children(accepted, campaign, deadline)
    campaign.seconds = time.monotonic() - start
    return campaign


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mutants", type=int, default=2000, help="per shipped model")
    parser.add_argument("--seconds", type=float, default=600.0)
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--keep", type=Path, default=Path("/tmp/convlens-fuzz"))
    args = parser.parse_args()
    campaign = fuzz(MODELS, args.mutants, args.seconds, args.keep, args.seed)
    print(
        f"{campaign.mutants} mutants in {campaign.seconds:.0f} s: {campaign.refused_by_check} "
        f"refused by the check, {campaign.run} loaded by the runtime "
        f"({campaign.refused_by_runtime} refused there), {len(campaign.crashes)} crashed; "
        f"{len(campaign.after_refusals)} children died only after earlier refused models"
    )
    for path in campaign.crashes:
        print("crash:", path)


if __name__ == "__main__":
    main()
