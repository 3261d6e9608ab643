"""The web viewer under the attacks of issue 13, measured on loopback: what a student still gets.

The server (``WebViewer`` with its default limits, a 640x480 picture shown at 30 fps)
runs here; the attacker runs in a child process, bounded in seconds, reconnecting
whenever the server cuts a socket (as a persistent attacker would). Meanwhile a
student at another loopback address polls ``/api/status`` every 0.2 s and watches
``/stream.mjpg``. Scenarios:

- ``slowloris``: 64 sockets dripping one header byte a second, from one address and
  from 64 addresses;
- ``slow-post``: 64 sockets sending a POST's headers, then its body a byte a second;
- ``header-flood``: 32 sockets each sending 98 header lines of 64 KB, as fast as they go.

Prints, per scenario: the student's status latency (median, 95th percentile, worst,
failures), the stream's frames per second and time to first frame, the connections
the server refused, and this process's resident memory (before, peak, 5 s after).
Prints; never passes or fails.

    python -m benchmarks.web_attacks [--seconds 15]
"""

from __future__ import annotations

import argparse
import asyncio
import http.client
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

from app.controls.actions import ActionQueue
from app.display.web import WebViewer
from benchmarks.web_clients import _frame

PORT_ARG = "--attack-port"


# --- the attacker's process -----------------------------------------------------------


async def _drip(port: int, source: str, opening: bytes, byte: bytes, stop: float) -> None:
    """Open, send ``opening``, then ``byte`` every second; reopen when cut; until ``stop``."""
    while time.monotonic() < stop:
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", port, local_addr=(source, 0))
            writer.write(opening)
            while time.monotonic() < stop and not writer.is_closing():
                await asyncio.sleep(1.0)
                writer.write(byte)
                await writer.drain()
        except (ConnectionError, OSError):
            await asyncio.sleep(0.05)


async def _flood(port: int, source: str, stop: float) -> None:
    line = b"X-Flood: " + b"a" * 65536 + b"\r\n"
    while time.monotonic() < stop:
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", port, local_addr=(source, 0))
            writer.write(b"GET / HTTP/1.1\r\nHost: localhost\r\n")
            for _ in range(98):
                writer.write(line)
                await writer.drain()
            writer.close()
        except (ConnectionError, OSError):
            await asyncio.sleep(0.01)


async def _attack(port: int, scenario: str, seconds: float) -> None:
    stop = time.monotonic() + seconds
    if scenario == "header-flood":
        tasks = [_flood(port, "127.0.5.1", stop) for _ in range(32)]
    else:
        many = scenario.endswith("many")
        post = scenario.startswith("slow-post")
        opening = (
            b"POST /api/key HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
            b"Content-Length: 100000\r\n\r\n{"
            if post
            else b"GET / HTTP/1.1\r\nHost: localhost\r\n"
        )
        byte = b" " if post else b"X"
        tasks = [
            _drip(port, f"127.0.6.{i + 1}" if many else "127.0.5.1", opening, byte, stop)
            for i in range(64)
        ]
    await asyncio.gather(*tasks)


# --- the student and the server ----------------------------------------------------------


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


class Student:
    """Polls /api/status every 0.2 s and reads the stream, from 127.0.0.2."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.stop = threading.Event()
        self.latencies: list[float] = []
        self.failures = 0
        self.frames = 0
        self.first_frame: float | None = None
        self.threads = [threading.Thread(target=self.poll), threading.Thread(target=self.watch)]

    def connection(self) -> http.client.HTTPConnection:
        return http.client.HTTPConnection(
            "127.0.0.1", self.port, timeout=10, source_address=("127.0.0.2", 0)
        )

    def poll(self) -> None:
        while not self.stop.wait(0.2):
            start = time.monotonic()
            conn = self.connection()
            try:
                conn.request("GET", "/api/status")
                ok = conn.getresponse().status == 200
            except OSError:
                ok = False
            finally:
                conn.close()
            if ok:
                self.latencies.append(time.monotonic() - start)
            else:
                self.failures += 1

    def watch(self) -> None:
        start = time.monotonic()
        while not self.stop.is_set():
            conn = self.connection()
            try:
                conn.request("GET", "/stream.mjpg")
                response = conn.getresponse()
                while not self.stop.is_set():
                    line = response.readline()
                    if not line:
                        break
                    if line.startswith(b"--convlensframe"):
                        self.frames += 1
                        if self.first_frame is None:
                            self.first_frame = time.monotonic() - start
            except OSError:
                self.failures += 1
            finally:
                conn.close()


def run_scenario(scenario: str, seconds: float) -> dict[str, float]:
    viewer = WebViewer("127.0.0.1", 0, actions=ActionQueue())
    viewer.open()
    stop = threading.Event()

    def camera() -> None:
        seq = 0
        while not stop.wait(1 / 30):
            viewer.show(*_frame(seq))
            seq += 1

    loop = threading.Thread(target=camera)
    loop.start()
    time.sleep(1.0)
    before = rss_mb()
    attacker = subprocess.Popen(
        [sys.executable, "-m", "benchmarks.web_attacks", PORT_ARG, str(viewer.port),
         "--scenario", scenario, "--seconds", str(seconds)]
    )  # fmt: skip
    time.sleep(1.0)  # let the attack take hold before the student arrives
    student = Student(viewer.port)
    for thread in student.threads:
        thread.start()
    peak = before
    start = time.monotonic()
    while attacker.poll() is None:
        peak = max(peak, rss_mb())
        time.sleep(0.02)
    watched = time.monotonic() - start
    student.stop.set()
    viewer_refused = viewer.refused_connections
    time.sleep(5.0)
    after = rss_mb()
    stop.set()
    loop.join()
    viewer.close()  # ends the student's stream
    for thread in student.threads:
        thread.join()
    lat = sorted(student.latencies) or [float("nan")]
    return {
        "status_median_ms": statistics.median(lat) * 1e3,
        "status_p95_ms": lat[int(0.95 * (len(lat) - 1))] * 1e3,
        "status_max_ms": lat[-1] * 1e3,
        "requests": len(student.latencies),
        "failures": student.failures,
        "stream_fps": student.frames / watched,
        "first_frame_s": student.first_frame if student.first_frame is not None else float("nan"),
        "refused": viewer_refused,
        "rss_before": before,
        "rss_peak": peak,
        "rss_after": after,
    }


SCENARIOS = ("slowloris", "slowloris-many", "slow-post", "slow-post-many", "header-flood")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=15.0, help="per attack")
    parser.add_argument("--scenario", choices=SCENARIOS, action="append")
    parser.add_argument(PORT_ARG, type=int, help=argparse.SUPPRESS)  # the attacker child
    args = parser.parse_args()
    if args.attack_port:
        asyncio.run(_attack(args.attack_port, args.scenario[0], args.seconds))
        return
    print(f"web viewer under attack, {args.seconds:g} s each; student polls /api/status every "
          "0.2 s and watches the stream at 30 fps")  # fmt: skip
    header = (f"{'scenario':<15} {'status ms med/p95/max':>22} {'req':>4} {'fail':>4} "
              f"{'stream fps':>10} {'1st frame s':>11} {'refused':>7}")  # fmt: skip
    print(header, f"{'RSS MB before/peak/after':>25}")
    for scenario in args.scenario or SCENARIOS:
        r = run_scenario(scenario, args.seconds)
        memory = f"{r['rss_before']:>9.0f}/{r['rss_peak']:>6.0f}/{r['rss_after']:>6.0f}"
        print(f"{scenario:<15} {r['status_median_ms']:>8.1f}/{r['status_p95_ms']:>6.1f}/"
              f"{r['status_max_ms']:>6.1f} {r['requests']:>4} {r['failures']:>4} "
              f"{r['stream_fps']:>10.1f} {r['first_frame_s']:>11.2f} {r['refused']:>7} "
              f"{memory}", flush=True)  # fmt: skip


if __name__ == "__main__":
    main()
