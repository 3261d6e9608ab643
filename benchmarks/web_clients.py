"""How much web viewers cost the capture loop: loop frame rate with 0, 1 and 4 stream clients.

Each iteration is what the loop does per frame for the display: a synthetic
640x480 frame, an overlay with a box and text, a compose, then ``WebViewer.show``
("show ms" is that call alone: with clients it copies frame and overlay for the
encoder thread; without, it returns at once).
Clients are threads reading ``/stream.mjpg`` on 127.0.0.1. Rounds interleave the
client counts so machine load drifts hit all of them; figures are medians over
rounds. Prints; never passes or fails.

    python -m benchmarks.web_clients [--seconds 2] [--rounds 3]
"""

from __future__ import annotations

import argparse
import http.client
import statistics
import threading
import time

import cv2
import numpy as np

from app.controls.actions import ActionQueue
from app.display.compose import compose
from app.display.web import WebViewer
from app.frame import Frame

W, H = 640, 480


class StreamClient:
    """Reads /stream.mjpg until stopped, counting whole JPEG parts."""

    def __init__(self, port: int, stop: threading.Event) -> None:
        self.port = port
        self.stop = stop
        self.frames = 0
        self.thread = threading.Thread(target=self.run, name="bench-client")

    def run(self) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=5)
        try:
            conn.request("GET", "/stream.mjpg")
            response = conn.getresponse()
            if response.status != 200:
                return
            while not self.stop.is_set():
                line = response.fp.readline()
                if not line:
                    return
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":")[1])
                    response.fp.readline()
                    response.fp.read(length)
                    self.frames += 1
        except OSError:
            return
        finally:
            conn.close()


def run_loop(
    display: WebViewer, seconds: float, clients: int, pace_fps: float | None = None
) -> dict[str, float]:
    stop = threading.Event()
    readers = [StreamClient(display.port, stop) for _ in range(clients)]
    for reader in readers:
        reader.thread.start()
    deadline = time.monotonic() + 5
    while display.stream_clients < clients and time.monotonic() < deadline:
        time.sleep(0.01)

    rng = np.random.default_rng(0)
    base = rng.integers(0, 256, (H, W + 64, 3), dtype=np.uint8)
    base = cv2.GaussianBlur(base, (0, 0), 3)  # camera-like, compressible content
    overlay = np.zeros((H, W, 4), np.uint8)
    times: list[float] = []
    show_times: list[float] = []
    encoded_before = display.frames_encoded
    start = time.perf_counter()
    seq = 0
    while time.perf_counter() - start < seconds:
        t0 = time.perf_counter()
        offset = seq % 64
        array = np.ascontiguousarray(base[:, offset : offset + W])
        overlay[:] = 0
        cv2.rectangle(overlay, (200, 120), (440, 360), (0, 255, 0, 255), 3)
        cv2.putText(overlay, f"frame {seq}", (10, 30), cv2.FONT_HERSHEY_SIMPLEX, 1,
                    (255, 255, 255, 255), 2)  # fmt: skip
        compose(array, overlay)
        t_show = time.perf_counter()
        display.show(Frame(array, array[..., 1], seq, time.monotonic()), overlay)
        end = time.perf_counter()
        show_times.append(end - t_show)
        times.append(end - t0)
        seq += 1
        if pace_fps:
            # A camera delivers at its own rate: wait for the next frame time.
            next_frame = start + seq / pace_fps
            time.sleep(max(0.0, next_frame - time.perf_counter()))
    elapsed = time.perf_counter() - start
    encoded = display.frames_encoded - encoded_before
    stop.set()
    for reader in readers:
        reader.thread.join()
    deadline = time.monotonic() + 5
    while display.stream_clients and time.monotonic() < deadline:
        time.sleep(0.01)
    times_ms = sorted(t * 1e3 for t in times)
    return {
        "fps": len(times) / elapsed,
        "median_ms": statistics.median(times_ms),
        "p99_ms": times_ms[min(len(times_ms) - 1, int(len(times_ms) * 0.99))],
        "show_ms": statistics.median(show_times) * 1e3,
        "encoded_fps": encoded / elapsed,
        "client_fps": (sum(r.frames for r in readers) / clients / elapsed) if clients else 0.0,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=2.0, help="per measurement")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--pace", type=float, default=30.0, help="camera fps for the paced run")
    args = parser.parse_args()

    display = WebViewer("127.0.0.1", 0, actions=ActionQueue(), max_viewers=8)
    display.open()
    counts = (0, 1, 4)
    modes = {"as fast as possible": None, f"paced at {args.pace:g} fps": args.pace}
    results = {(mode, n): [] for mode in modes for n in counts}
    try:
        run_loop(display, 0.5, 0)  # warm-up
        for _ in range(args.rounds):
            for mode, pace in modes.items():
                for n in counts:
                    results[mode, n].append(run_loop(display, args.seconds, n, pace))
    finally:
        display.close()

    def med(mode: str, n: int, key: str) -> float:
        return statistics.median(r[key] for r in results[mode, n])

    print(f"web viewer cost: {W}x{H} frame + overlay compose + show; "
          f"{args.rounds} rounds x {args.seconds:.1f} s; medians over rounds")  # fmt: skip
    for mode in modes:
        print(f"\nloop {mode}")
        print(
            f"{'clients':>7} {'loop fps':>9} {'median ms':>10} {'p99 ms':>8} {'show ms':>8} "
            f"{'jpeg/s':>7} {'fps/client':>10} {'fps ratio':>9} {'ms ratio':>9}"
        )
        base_fps = med(mode, 0, "fps")
        base_ms = med(mode, 0, "median_ms")
        for n in counts:
            print(
                f"{n:>7} {med(mode, n, 'fps'):>9.1f} {med(mode, n, 'median_ms'):>10.2f} "
                f"{med(mode, n, 'p99_ms'):>8.2f} {med(mode, n, 'show_ms'):>8.3f} "
                f"{med(mode, n, 'encoded_fps'):>7.1f} "
                f"{med(mode, n, 'client_fps'):>10.1f} {med(mode, n, 'fps') / base_fps:>9.2f} "
                f"{med(mode, n, 'median_ms') / base_ms:>9.2f}"
            )


if __name__ == "__main__":
    main()
