"""Helpers for the web viewer tests: a frame producer, HTTP clients that pick their loopback
source address (a classroom is many addresses), raw sockets, and an MJPEG reader."""

from __future__ import annotations

import contextlib
import http.client
import json
import socket
import threading
import time
from collections.abc import Iterator

import numpy as np

from app.display.web import WebViewer
from app.frame import Frame

H, W = 60, 80


_NOISE = np.random.default_rng(0).integers(0, 256, (480, 640 + 64, 3), dtype=np.uint8)


def make_frame(seq: int, h: int = H, w: int = W, noise: bool = False) -> tuple[Frame, np.ndarray]:
    """A (h, w) frame: flat grey with a reddish left half, or noise (JPEGs of ~60 KB at 320x240)."""
    if noise:
        offset = seq % 64
        array = np.ascontiguousarray(_NOISE[:h, offset : offset + w])
    else:
        array = np.full((h, w, 3), (seq * 10) % 256, np.uint8)
        array[:, : w // 2, 2] = 200  # left half reddish
    overlay = np.zeros((h, w, 4), np.uint8)
    return Frame(array, array[..., 0].copy(), seq, time.monotonic()), overlay


class Producer:
    """Calls show() every ``interval`` s on its own thread, like the capture loop."""

    def __init__(
        self,
        display: WebViewer,
        interval: float = 0.01,
        h: int = H,
        w: int = W,
        noise: bool = False,
    ) -> None:
        self.display, self.interval, self.h, self.w, self.noise = display, interval, h, w, noise
        self.stop = threading.Event()
        self.shown = 0
        self.thread = threading.Thread(target=self.run, name="test-producer")

    def run(self) -> None:
        while not self.stop.is_set():
            self.display.show(*make_frame(self.shown, self.h, self.w, self.noise))
            self.shown += 1
            self.stop.wait(self.interval)

    def __enter__(self) -> Producer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.thread.join()


def connect(display: WebViewer, source: str = "127.0.0.1", timeout: float = 5.0):
    return http.client.HTTPConnection(
        "127.0.0.1", display.port, timeout=timeout, source_address=(source, 0)
    )


def request(
    display: WebViewer,
    method: str,
    path: str,
    body: bytes | None = None,
    headers: dict[str, str] | None = None,
    source: str = "127.0.0.1",
) -> tuple[int, bytes, http.client.HTTPResponse]:
    conn = connect(display, source)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        response = conn.getresponse()
        return response.status, response.read(), response
    finally:
        conn.close()


def post_json(display: WebViewer, path: str, payload: object, **headers: str):
    body = json.dumps(payload).encode()
    return request(display, "POST", path, body, {"Content-Type": "application/json", **headers})


def raw_socket(display: WebViewer, source: str = "127.0.0.1", timeout: float = 5.0):
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.settimeout(timeout)
    sock.bind((source, 0))
    sock.connect(("127.0.0.1", display.port))
    return sock


def read_all(sock: socket.socket) -> bytes:
    """Everything until the server closes (or resets) the connection."""
    chunks = []
    while True:
        try:
            chunk = sock.recv(65536)
        except (ConnectionResetError, TimeoutError):
            break
        if not chunk:
            break
        chunks.append(chunk)
    return b"".join(chunks)


def raw(display: WebViewer, data: bytes, source: str = "127.0.0.1") -> bytes:
    with raw_socket(display, source) as sock:
        # The server may answer and close before taking it all.
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            sock.sendall(data)
        return read_all(sock)


def status_code(reply: bytes) -> int:
    return int(reply.split(b" ", 2)[1])


def mjpeg_frames(
    display: WebViewer, source: str = "127.0.0.1", timeout: float = 10.0
) -> Iterator[bytes]:
    """Yield the JPEG parts of /stream.mjpg as they arrive (HTTP/1.1, chunked)."""
    conn = connect(display, source, timeout)
    conn.request("GET", "/stream.mjpg")
    response = conn.getresponse()
    assert response.status == 200, response.read()
    assert response.getheader("Content-Type").startswith("multipart/x-mixed-replace")
    try:
        while True:
            line = response.readline()
            if not line:
                return
            if not line.startswith(b"--"):
                continue
            headers = {}
            while (line := response.readline().strip()) != b"":
                name, _, value = line.decode().partition(":")
                headers[name.lower()] = value.strip()
            assert headers["content-type"] == "image/jpeg"
            yield response.read(int(headers["content-length"]))
    finally:
        conn.close()


def read_mjpeg(display: WebViewer, count: int, source: str = "127.0.0.1") -> list[bytes]:
    frames = []
    for jpeg in mjpeg_frames(display, source):
        frames.append(jpeg)
        if len(frames) == count:
            break
    return frames


def closed_by_server(sock: socket.socket, within: float) -> bool:
    """Whether the server closes ``sock`` within ``within`` s (reading and dropping data)."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        sock.settimeout(max(0.01, deadline - time.monotonic()))
        try:
            if not sock.recv(65536):
                return True
        except (ConnectionResetError, BrokenPipeError):
            return True
        except TimeoutError:
            return False
    return False
