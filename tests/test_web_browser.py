"""The web viewer in a real headless Chromium, driven over the DevTools protocol (stdlib only).

Shows: the page loads, MJPEG frames of the right size arrive in the <img>, key
presses on the page reach the ActionQueue, and /api/status then reports the new
view and kernel (and so does the page).
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import os
import signal
import socket
import struct
import subprocess
import threading
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import numpy as np
import pytest

from app.controls.actions import ActionQueue, apply_action
from app.display.web import WebViewer
from app.frame import Frame
from app.i18n import N_, Message
from app.state import ViewState
from app.views import find_view, view_names

CHROMIUM = "/usr/bin/chromium"
pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not os.access(CHROMIUM, os.X_OK),
        reason="needs Debian's chromium at /usr/bin/chromium (apt-get install chromium)",
    ),
]

W, H = 320, 240
KERNELS = ("horizontal_edge", "vertical_edge", "sobel_x")
#: Where ``v`` goes from the camera view.
SECOND_VIEW = view_names()[1]
#: Its title, as the page's settings table names the view.
SECOND_TITLE = find_view(SECOND_VIEW).title
WS_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


class WebSocket:
    """The client side of RFC 6455, just enough for DevTools: masked text out, frames in."""

    def __init__(self, url: str, timeout: float) -> None:
        parts = urlsplit(url)
        self.sock = socket.create_connection((parts.hostname, parts.port), timeout=timeout)
        key = base64.b64encode(os.urandom(16)).decode()
        self.sock.sendall(
            (
                f"GET {parts.path} HTTP/1.1\r\nHost: {parts.hostname}:{parts.port}\r\n"
                "Upgrade: websocket\r\nConnection: Upgrade\r\n"
                f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
            ).encode()
        )
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = self.sock.recv(1)
            if not chunk:
                raise ConnectionError("DevTools closed the websocket handshake")
            head += chunk
        status_line, *header_lines = head.decode().split("\r\n")
        assert " 101 " in status_line, status_line
        headers = {
            k.strip().lower(): v.strip()
            for k, _, v in (line.partition(":") for line in header_lines if line)
        }
        expected = base64.b64encode(hashlib.sha1((key + WS_GUID).encode()).digest()).decode()
        assert headers["sec-websocket-accept"] == expected

    def _recv_exact(self, n: int) -> bytes:
        data = b""
        while len(data) < n:
            chunk = self.sock.recv(n - len(data))
            if not chunk:
                raise ConnectionError("DevTools closed the websocket")
            data += chunk
        return data

    def _send_frame(self, opcode: int, payload: bytes) -> None:
        header = bytes([0x80 | opcode])
        n = len(payload)
        if n < 126:
            header += bytes([0x80 | n])
        elif n < 1 << 16:
            header += bytes([0x80 | 126]) + struct.pack("!H", n)
        else:
            header += bytes([0x80 | 127]) + struct.pack("!Q", n)
        mask = os.urandom(4)
        masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        self.sock.sendall(header + mask + masked)

    def send_text(self, text: str) -> None:
        self._send_frame(0x1, text.encode())

    def recv_text(self) -> str:
        message = b""
        while True:
            first, second = self._recv_exact(2)
            opcode = first & 0x0F
            n = second & 0x7F
            if n == 126:
                n = struct.unpack("!H", self._recv_exact(2))[0]
            elif n == 127:
                n = struct.unpack("!Q", self._recv_exact(8))[0]
            mask = self._recv_exact(4) if second & 0x80 else b""
            payload = self._recv_exact(n)
            if mask:
                payload = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
            if opcode == 0x9:  # ping
                self._send_frame(0xA, payload)
                continue
            if opcode == 0x8:
                raise ConnectionError("DevTools closed the websocket")
            message += payload
            if first & 0x80:  # FIN: the message is complete
                return message.decode()

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self._send_frame(0x8, b"")
        self.sock.close()


class DevTools:
    """Calls DevTools methods on one page target and waits for their results."""

    def __init__(self, ws_url: str, timeout: float = 10.0) -> None:
        self.ws = WebSocket(ws_url, timeout)
        self.next_id = 0

    def call(self, method: str, **params: Any) -> dict[str, Any]:
        self.next_id += 1
        self.ws.send_text(json.dumps({"id": self.next_id, "method": method, "params": params}))
        while True:
            message = json.loads(self.ws.recv_text())
            if message.get("id") == self.next_id:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                return message["result"]

    def evaluate(self, expression: str) -> Any:
        result = self.call("Runtime.evaluate", expression=expression, returnByValue=True)
        if "exceptionDetails" in result:
            raise RuntimeError(f"page error in {expression!r}: {result['exceptionDetails']}")
        return result["result"].get("value")

    def wait_for(self, expression: str, timeout: float = 15.0) -> Any:
        deadline = time.monotonic() + timeout
        value = None
        while time.monotonic() < deadline:
            value = self.evaluate(expression)
            if value:
                return value
            time.sleep(0.05)
        raise AssertionError(f"page never satisfied {expression!r} (last value {value!r})")

    def press_key(self, key: str, code: str, key_code: int, repeats: int = 0) -> None:
        """A trusted key press, as if typed on the page; ``repeats`` auto-repeats while held."""
        common = {"key": key, "code": code, "windowsVirtualKeyCode": key_code}
        # Printable keys carry their text; named keys (arrows) are raw key downs.
        down = {"type": "keyDown", "text": key} if len(key) == 1 else {"type": "rawKeyDown"}
        self.call("Input.dispatchKeyEvent", **down, **common)
        for _ in range(repeats):
            self.call("Input.dispatchKeyEvent", **down, autoRepeat=True, **common)
        self.call("Input.dispatchKeyEvent", type="keyUp", **common)

    def close(self) -> None:
        self.ws.close()


class FakeLoop:
    """The capture loop in miniature: drain actions, apply them, status, show every 30 ms."""

    def __init__(self, display: WebViewer, queue: ActionQueue) -> None:
        self.display = display
        self.queue = queue
        self.state = ViewState(kernel=KERNELS[0])
        self.drained: list[str] = []
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.run, name="fake-loop")

    def run(self) -> None:
        seq = 0
        x = np.arange(W, dtype=np.uint16)[None, :]
        y = np.arange(H, dtype=np.uint16)[:, None]
        while not self.stop.is_set():
            for action in self.queue.drain():
                self.drained.append(action)
                self.state = apply_action(self.state, action, kernel_names=KERNELS)
            array = np.empty((H, W, 3), np.uint8)
            array[..., 0] = (x + seq * 4) % 256
            array[..., 1] = (y * 2) % 256
            array[..., 2] = 128
            overlay = np.zeros((H, W, 4), np.uint8)
            overlay[10:40, 10:120] = (255, 255, 255, 180)
            self.display.update_status(
                {
                    "view": self.state.view,
                    "kernel": self.state.kernel,
                    "stride": self.state.stride,
                    "padding": self.state.padding,
                    "activation": self.state.activation,
                    "pool_mode": self.state.pool_mode,
                    "language": self.state.language,
                    "fps": 33.3,
                    "runtime": "unavailable",
                    "message": Message(N_("snapshot saved: {folder}"), folder="snapshots/1"),
                    "prediction": 7,
                    "probabilities": [0.01] * 7 + [0.91] + [0.01] * 2,
                }
            )
            self.display.show(Frame(array, array[..., 1], seq, time.monotonic()), overlay)
            seq += 1
            self.stop.wait(0.03)

    def __enter__(self) -> FakeLoop:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.thread.join()


def get_json(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=5) as response:
        return json.load(response)


@contextlib.contextmanager
def chromium(url: str, profile: Path) -> Iterator[DevTools]:
    """Headless Chromium showing ``url``; yields a DevTools client for that page."""
    args = [
        CHROMIUM,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-dev-shm-usage",
        "--window-size=1100,900",
        f"--user-data-dir={profile}",
        "--remote-debugging-address=127.0.0.1",
        "--remote-debugging-port=0",
        url,
    ]
    log_file = (profile.parent / "chromium.log").open("wb")
    proc = subprocess.Popen(args, stdout=log_file, stderr=subprocess.STDOUT, start_new_session=True)
    devtools = None
    try:
        port_file = profile / "DevToolsActivePort"
        deadline = time.monotonic() + 30
        while not port_file.exists() or not port_file.read_text().strip():
            if proc.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(
                    f"chromium did not start: {(profile.parent / 'chromium.log').read_text()}"
                )
            time.sleep(0.05)
        port = int(port_file.read_text().split()[0])
        version = get_json(f"http://127.0.0.1:{port}/json/version")
        assert "Chrome" in version["Browser"] or "Chromium" in version["Browser"]
        deadline = time.monotonic() + 15
        while True:
            pages = [
                t for t in get_json(f"http://127.0.0.1:{port}/json/list") if t["type"] == "page"
            ]
            targets = [t for t in pages if t["url"].startswith(url)]
            if targets or time.monotonic() > deadline:
                break
            time.sleep(0.05)
        assert targets, f"no page target for {url}: {pages}"
        devtools = DevTools(targets[0]["webSocketDebuggerUrl"])
        yield devtools
    finally:
        if devtools is not None:
            devtools.close()
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        log_file.close()


def test_page_stream_keys_and_status_in_chromium(tmp_path):
    queue = ActionQueue()
    display = WebViewer("127.0.0.1", 0, actions=queue)
    display.open()
    base = f"http://127.0.0.1:{display.port}"
    try:
        with FakeLoop(display, queue) as loop, chromium(base + "/", tmp_path / "profile") as page:
            # The target may still show about:blank for a moment before navigating.
            page.wait_for(
                f"location.href === {json.dumps(base + '/')} && document.readyState === 'complete'"
            )
            assert page.evaluate("document.title") == "convlens"
            # Stream frames of the frame's size arrive in the <img>.
            size = page.wait_for(
                "(() => { const i = document.getElementById('stream');"
                " return i.naturalWidth > 0 ? [i.naturalWidth, i.naturalHeight] : null; })()"
            )
            assert size == [W, H]
            assert display.stream_clients >= 1 and display.frames_encoded > 0
            # The legend (and so the key map) loaded before keys are pressed.
            page.wait_for("document.querySelectorAll('#legend tbody tr').length > 10")
            page.wait_for("document.querySelector('#status tr[data-field=view]') !== null")

            page.press_key("v", "KeyV", 86)  # trusted key press through DevTools
            page.evaluate(
                "document.dispatchEvent(new KeyboardEvent('keydown', {key: 'k', bubbles: true}))"
            )
            deadline = time.monotonic() + 10
            status = {}
            while time.monotonic() < deadline:
                status = get_json(base + "/api/status")
                if status.get("view") == SECOND_VIEW and status.get("kernel") == KERNELS[1]:
                    break
                time.sleep(0.05)
            assert status.get("view") == SECOND_VIEW, status
            assert status.get("kernel") == KERNELS[1], status
            assert loop.drained == ["next_view", "next_kernel"]
            # The page shows the new settings too.
            page.wait_for(
                "document.querySelector('#status tr[data-field=view] td:last-child')"
                f".textContent === '{SECOND_TITLE}'"
            )
            page.wait_for(
                "document.querySelector('#status tr[data-field=pool_mode] td:last-child')"
                ".textContent === 'max'"
            )
            # A button works like its key.
            page.evaluate("document.querySelector('button[data-action=stride_up]').click()")
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline and get_json(base + "/api/status")["stride"] != 2:
                time.sleep(0.05)
            assert get_json(base + "/api/status")["stride"] == 2

            # Held keys: the snapshot key acts once however long it is held (auto-repeat
            # ignored), the ROI keys keep moving (auto-repeat acts).
            before = len(loop.drained)
            page.press_key(" ", "Space", 32, repeats=5)
            page.press_key("ArrowLeft", "ArrowLeft", 37, repeats=3)
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline and len(loop.drained) < before + 5:
                time.sleep(0.05)
            time.sleep(0.3)  # a wrongly repeated snapshot would arrive by now
            assert loop.drained[before:] == ["snapshot"] + ["roi_left"] * 4
            save_screenshot(page, "live")
    finally:
        display.close()


def test_the_page_follows_the_apps_language_and_presents_the_picture_alone(tmp_path):
    """l switches the app's language: the page's texts, legend, settings and <html lang>
    follow. /?present (or P on the page) shows the picture alone, filling the window."""
    queue = ActionQueue()
    display = WebViewer("127.0.0.1", 0, actions=queue)
    display.open()
    base = f"http://127.0.0.1:{display.port}"
    try:
        with FakeLoop(display, queue) as loop, chromium(base + "/", tmp_path / "profile") as page:
            page.wait_for("document.querySelectorAll('#legend tbody tr').length > 10")
            assert page.evaluate("document.documentElement.lang") == "en"
            page.wait_for(
                "document.getElementById('message').textContent === 'snapshot saved: snapshots/1'"
            )
            page.press_key("l", "KeyL", 76)
            page.wait_for("document.documentElement.lang === 'es'")
            assert loop.state.language == "es"
            page.wait_for(
                "document.querySelector('h2[data-text=settings]').textContent === 'Ajustes'"
            )
            page.wait_for(
                "document.querySelector('#status tr[data-field=padding] td:first-child')"
                ".textContent === 'relleno'"
            )
            page.wait_for(
                "document.querySelector('#status tr[data-field=padding] td:last-child')"
                ".textContent === 'ceros'"
            )
            # The loop's own texts: its notice and the runtime.
            page.wait_for(
                "document.getElementById('message').textContent === 'captura guardada: snapshots/1'"
            )
            page.wait_for(
                "document.querySelector('#status tr[data-field=runtime] td:last-child')"
                ".textContent === 'no disponible'"
            )
            legend = page.evaluate(
                "[...document.querySelectorAll('#legend tbody tr')].map(r => r.textContent)"
            )
            assert any("idioma" in row for row in legend), legend
            save_screenshot(page, "es")
            # Presentation: P hides everything but the picture, which fills the window.
            page.press_key("P", "KeyP", 80)
            page.wait_for("document.body.classList.contains('present')")
            hidden = page.evaluate(
                "getComputedStyle(document.querySelector('aside')).display === 'none'"
                " && getComputedStyle(document.querySelector('header')).display === 'none'"
            )
            assert hidden
            box = page.evaluate(
                "(() => { const r = document.getElementById('stream').getBoundingClientRect();"
                " return [r.width, r.height, window.innerWidth, window.innerHeight]; })()"
            )
            assert box[0] == box[2] and box[1] == box[3], box
            assert "P" not in [a for a in loop.drained if a == "P"]
            save_screenshot(page, "present")
        with chromium(base + "/?present", tmp_path / "profile2") as page:
            page.wait_for(
                f"location.href === {json.dumps(base + '/?present')}"
                " && document.readyState === 'complete'"
            )
            assert page.evaluate("document.body.classList.contains('present')")
    finally:
        display.close()


def save_screenshot(page: DevTools, name: str) -> bytes:
    """The page as PNG; kept as ``<CONVLENS_BROWSER_SCREENSHOT>-<name>.png`` when that is set."""
    shot = page.call("Page.captureScreenshot", format="png")
    png = base64.b64decode(shot["data"])
    assert png.startswith(b"\x89PNG")
    keep = os.environ.get("CONVLENS_BROWSER_SCREENSHOT")
    if keep:
        Path(f"{keep}-{name}.png").write_bytes(png)
    return png


def test_a_full_classroom_shows_too_many_viewers_then_the_picture(tmp_path):
    """Past the viewer cap the page says so (not a broken image under a "live" badge),
    and shows the picture by itself once a slot frees."""
    queue = ActionQueue()
    display = WebViewer("127.0.0.1", 0, actions=queue, max_viewers=1)
    display.open()
    base = f"http://127.0.0.1:{display.port}"
    other = socket.create_connection(("127.0.0.1", display.port))
    try:
        with FakeLoop(display, queue):
            other.sendall(b"GET /stream.mjpg HTTP/1.0\r\n\r\n")  # the one slot, taken
            deadline = time.monotonic() + 5
            while display.stream_clients < 1 and time.monotonic() < deadline:
                time.sleep(0.01)
            with chromium(base + "/", tmp_path / "profile") as page:
                page.wait_for("document.getElementById('connection')?.dataset.state === 'full'")
                notice = page.evaluate("document.getElementById('full-text').textContent")
                assert "as it can (1)" in notice and "closes theirs" in notice, notice
                assert page.evaluate("document.getElementById('full').hidden") is False
                assert page.evaluate("document.getElementById('stream').hidden") is True
                assert page.evaluate("document.getElementById('connection').textContent") == "full"
                save_screenshot(page, "full")
                other.close()  # a student closes their laptop
                page.wait_for(
                    "document.getElementById('connection').dataset.state === 'live'", timeout=20
                )
                assert page.evaluate("document.getElementById('full').hidden") is True
                size = page.evaluate(
                    "[document.getElementById('stream').naturalWidth,"
                    " document.getElementById('stream').naturalHeight]"
                )
                assert size == [W, H]
    finally:
        other.close()
        display.close()


def test_the_kiosk_page_on_a_viewer_open_to_the_classroom_takes_keys(tmp_path):
    """``/?present`` as the Pi desktop's kiosk opens it (``convlens kiosk``), with the viewer
    listening on every address: the picture fills the window with its aspect kept, and keys
    typed on it act without the token (the Pi's own browser comes from loopback)."""
    queue = ActionQueue()
    display = WebViewer("0.0.0.0", 0, actions=queue)
    display.open()
    url = f"http://127.0.0.1:{display.port}/?present"
    try:
        with FakeLoop(display, queue) as loop, chromium(url, tmp_path / "profile") as page:
            page.wait_for(
                f"location.href === {json.dumps(url)} && document.readyState === 'complete'"
            )
            assert page.evaluate("document.body.classList.contains('present')")
            page.wait_for("document.getElementById('stream').naturalWidth > 0")
            hidden = "getComputedStyle(document.querySelector('{}')).display === 'none'"
            assert page.evaluate(hidden.format("aside")) and page.evaluate(hidden.format("header"))
            box = page.evaluate(
                "(() => { const r = document.getElementById('stream').getBoundingClientRect();"
                " return [r.left, r.top, r.width, r.height, innerWidth, innerHeight]; })()"
            )
            assert box[:4] == [0, 0, box[4], box[5]]  # the whole window; contain keeps 4:3
            assert (
                page.evaluate("getComputedStyle(document.getElementById('stream')).objectFit")
                == "contain"
            )
            page.wait_for("document.querySelectorAll('#legend tbody tr').length > 10")
            page.press_key("v", "KeyV", 86)
            deadline = time.monotonic() + 10
            while "next_view" not in loop.drained and time.monotonic() < deadline:
                time.sleep(0.05)
            assert loop.drained == ["next_view"]
            save_screenshot(page, "kiosk")
    finally:
        display.close()
