"""Loop frame rate with picamera2's DRM commits blocking 16 ms, against the null display.

Usage::

    python benchmarks/display_blocking.py [--frames 150] [--work-ms 15] [--json]

There is no Pi here: the camera is the picamera2 fake (``tests/fakes/picamera2``) at
30 fps, whose DRM preview blocks 16 ms for every frame it shows and every overlay (the
real ``commit_sync`` waits for vblank). The loop's own work is a sleep of ``--work-ms``
per frame (a Pi 4 spends about that on the kernel view), so the figures show what the
loop waits on rather than how busy this shared machine is. Cases, each against the null
display with the same camera in the same process:

- ``drm``: the run's arrangement, the capture thread and the overlay worker; commits
  release the GIL (the pure-Python ``kms`` binding, whose ioctl releases it);
- ``drm, GIL held``: the same with commits holding the GIL, as kms++'s ``pykms`` does
  (the binding declares no ``gil_scoped_release``): every other thread stands still;
- ``drm, on the loop's thread``: capture and ``set_overlay`` called by the loop itself.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests" / "fakes"))

import picamera2._fake as fake  # noqa: E402 - the fake, from the path set above

import tests.test_display_blocking as blocking  # noqa: E402
from benchmarks.report import print_report  # noqa: E402

CASES = (
    ("null", dict(drm=False, off_thread=True)),
    ("drm", dict(drm=True, off_thread=True)),
    ("drm, GIL held", dict(drm=True, off_thread=True, holds_gil=True)),
    ("drm, on the loop's thread", dict(drm=True, off_thread=False)),
)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=150)
    parser.add_argument("--work-ms", type=float, default=15.0)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    blocking.FRAMES = args.frames
    blocking.WORK_S = args.work_ms / 1000
    fake.reset()
    fps = {name: blocking.loop_fps(fake, **kwargs) for name, kwargs in CASES}
    rows = [
        {"case": name, "loop_fps": round(value, 2), "ratio_to_null": round(value / fps["null"], 3)}
        for name, value in fps.items()
    ]
    report = {
        "camera_fps": 30,
        "commit_ms": blocking.COMMIT_S * 1000,
        "work_ms": args.work_ms,
        "frames": args.frames,
        "cases": rows,
    }
    if args.json:
        print_report(report, True)
        return 0
    print(f"camera 30 fps, commits {report['commit_ms']:g} ms, loop work {args.work_ms:g} ms, "
          f"{args.frames} frames per case")  # fmt: skip
    for row in rows:
        print(f"{row['case']:<28}{row['loop_fps']:>8.2f} fps{row['ratio_to_null']:>8.3f} x null")
    return 0


if __name__ == "__main__":
    sys.exit(main())
