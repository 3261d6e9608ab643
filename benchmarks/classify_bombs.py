"""What hostile files cost ``convlens classify``: peak resident memory, time and exit status.

Makes the files of issue 13 in a temporary folder (a 30000x30000 PNG of 64 KB, a 16-bit
RGBA PNG of 10950x10950 that the old 120-megapixel limit let through, one of 6000x6000
under today's pixel limit but 288 MB decoded, a
JPEG declaring 60000x60000, a FIFO, a symlink to /dev/zero, a zip-bomb .npz model, a
.npz declaring a 40 GB array, NaN weights) and runs ``python -m app classify`` on each
in its own process, with a real photo beside it, reading the child's peak RSS from
``wait4``. A plain photo is the baseline. Prints; never passes or fails.

    python -m benchmarks.classify_bombs
"""

from __future__ import annotations

import io
import json
import os
import struct
import subprocess
import sys
import tempfile
import time
import zipfile
import zlib
from pathlib import Path

import cv2
import numpy as np

from training import network
from training.model_io import MAX_ENTRY_BYTES, save_model
from training.spec import lenet5_spec


def png(width: int, height: int, depth: int = 8, colour: int = 0) -> bytes:
    def chunk(kind: bytes, payload: bytes) -> bytes:
        crc = zlib.crc32(kind + payload) & 0xFFFFFFFF
        return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", crc)

    ihdr = struct.pack(">IIBBBBB", width, height, depth, colour, 0, 0, 0)
    body = zlib.compress(b"\0" * (64 << 20), 9)  # 64 MB of zero rows in ~64 KB
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", body) + chunk(b"IEND", b"")


def models(folder: Path) -> dict[str, Path]:
    spec = lenet5_spec()
    good = folder / "good.npz"
    save_model(good, spec, network.init_params(spec))
    with zipfile.ZipFile(good) as archive:
        entries = {i.filename: archive.read(i) for i in archive.infolist()}
    out = {}
    bomb = folder / "zip-bomb.npz"
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in entries.items():
            if name != "fc1/w.npy":
                archive.writestr(name, data)
        with archive.open("fc1/w.npy", "w", force_zip64=True) as entry:
            for _ in range(2 * MAX_ENTRY_BYTES // (1 << 20)):
                entry.write(b"\0" * (1 << 20))
    out["zip-bomb .npz"] = bomb
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(
        header, {"descr": "<f4", "fortran_order": False, "shape": (100_000, 100_000)}
    )
    declared = folder / "declared.npz"
    with zipfile.ZipFile(declared, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in entries.items():
            archive.writestr(name, header.getvalue() if name == "fc1/w.npy" else data)
    out["npz declaring 40 GB"] = declared
    nan = folder / "nan.npz"
    params = network.init_params(spec)
    params["fc3/w"][:] = np.nan
    save_model(nan, spec, params)
    out["NaN weights .npz"] = nan
    return out


#: Runs the command given, passes its output on, then prints its peak RSS (KB): a fresh
#: process whose only child is the command, so RUSAGE_CHILDREN is that command's.
WRAPPER = """
import resource, subprocess, sys
done = subprocess.run(sys.argv[1:], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
print(done.stdout, end="")
print("exit", done.returncode)
print("maxrss", resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
"""


def run(args: list[str]) -> tuple[float, float, int, str]:
    """(peak RSS MB, seconds, exit status, last output line) of ``python -m app ARGS``."""
    start = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-c", WRAPPER, sys.executable, "-m", "app", *args],
        capture_output=True,
        text=True,
        timeout=300,
    )
    seconds = time.monotonic() - start
    lines = [line for line in done.stdout.splitlines() if line.strip()]
    rss_kb = int(lines[-1].split()[1])
    code = int(lines[-2].split()[1])
    output = lines[:-2]
    return rss_kb / 1024, seconds, code, output[-1] if output else ""


def main() -> None:
    report(Path(tempfile.mkdtemp(prefix="convlens-bombs-")))


def report(folder: Path) -> None:
    photo = folder / "photo.png"
    picture = np.full((240, 240, 3), 255, np.uint8)
    cv2.line(picture, (120, 40), (120, 200), (0, 0, 0), 18)
    cv2.imwrite(str(photo), picture)
    files = {
        "plain photo (baseline)": photo,
        "PNG declaring 30000x30000": folder / "30000.png",
        "16-bit RGBA PNG 10950x10950": folder / "rgba16.png",
        "16-bit RGBA PNG 6000x6000": folder / "rgba16-36mp.png",
        "JPEG declaring 60000x60000": folder / "big.jpg",
        "FIFO": folder / "fifo.png",
        "symlink to /dev/zero": folder / "zero.jpg",
    }
    files["PNG declaring 30000x30000"].write_bytes(png(30000, 30000))
    files["16-bit RGBA PNG 10950x10950"].write_bytes(png(10950, 10950, 16, 6))
    # Under the pixel limit, but 288 MB of 16-bit samples: refused by decoded size.
    files["16-bit RGBA PNG 6000x6000"].write_bytes(png(6000, 6000, 16, 6))
    sof = b"\xff\xd8\xff\xc0\x00\x11\x08" + struct.pack(">HH", 60000, 60000) + b"\x03" + b"\0" * 9
    files["JPEG declaring 60000x60000"].write_bytes(sof + b"\xff\xd9")
    os.mkfifo(files["FIFO"])
    files["symlink to /dev/zero"].symlink_to("/dev/zero")
    print(f"convlens classify on hostile files ({folder}); each with the photo after it")
    print(f"{'file':<30} {'size':>9} {'peak RSS MB':>11} {'seconds':>8} {'exit':>4}  message")
    for name, path in files.items():
        size = path.stat().st_size if path.is_file() and not path.is_symlink() else 0
        rss, seconds, code, line = run(["classify", "--json", str(path), str(photo)])
        message = json.loads(line).get("error") if line.startswith("{") else line
        first = run(["classify", "--json", str(path)])[3]
        note = json.loads(first).get("error") if first.startswith("{") else first
        print(f"{name:<30} {size:>9} {rss:>11.0f} {seconds:>8.2f} {code:>4}  "
              f"{(note or message or '')[:110]}")  # fmt: skip
    for name, path in models(folder).items():
        rss, seconds, code, line = run(["classify", "--model", str(path), str(photo)])
        print(f"{name:<30} {path.stat().st_size:>9} {rss:>11.0f} {seconds:>8.2f} {code:>4}  "
              f"{line[:110]}")  # fmt: skip


if __name__ == "__main__":
    main()
