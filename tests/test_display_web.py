"""The web display: endpoints, shared lazy JPEG encoding, token, limits, shutdown."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator

import cv2
import numpy as np
import pytest

from app.controls.actions import ActionQueue
from app.display.http_guard import HttpLimits
from app.display.web import WebViewer, is_loopback_host
from app.errors import DisplayError
from app.frame import Frame
from app.i18n import N_, Message
from app.status import FrameStatus
from tests.waiting import wait_for
from tests.web_support import (
    H,
    Producer,
    W,
    make_frame,
    mjpeg_frames,
    post_json,
    raw,
    read_mjpeg,
    request,
    status_code,
)

LIMITS = HttpLimits(request_timeout=3.0, write_timeout=3.0)
MAX_BODY_BYTES = LIMITS.max_body


@pytest.fixture
def queue() -> ActionQueue:
    return ActionQueue()


@pytest.fixture
def web(queue) -> Iterator[WebViewer]:
    display = WebViewer("127.0.0.1", 0, actions=queue, limits=LIMITS)
    display.open()
    try:
        yield display
    finally:
        display.close()


def read_mjpeg_frames_iter(display: WebViewer, timeout: float = 10.0) -> Iterator[bytes]:
    return mjpeg_frames(display, timeout=timeout)


def read_mjpeg_frames(display: WebViewer, count: int) -> list[bytes]:
    return read_mjpeg(display, count)


# --- pages and status ---------------------------------------------------------


def test_page_static_files_and_legend(web):
    code, body, response = request(web, "GET", "/")
    assert code == 200 and b"/stream.mjpg" in body + request(web, "GET", "/static/app.js")[1]
    assert response.getheader("Content-Type").startswith("text/html")
    assert request(web, "GET", "/static/style.css")[0] == 200
    code, body, _ = request(web, "GET", "/api/legend")
    legend = json.loads(body)
    assert code == 200 and legend["keys"]["k"] == "next_kernel" and legend["legend"]


def test_status_reports_what_the_loop_sent_with_numpy_values(web):
    web.update_status(
        {"view": "kernel", "kernel": "sobel_x", "fps": np.float32(29.5), "prediction": None,
         "probabilities": np.linspace(0, 1, 10)}
    )  # fmt: skip
    code, body, response = request(web, "GET", "/api/status")
    status = json.loads(body)
    assert code == 200 and response.getheader("Content-Type").startswith("application/json")
    assert status["view"] == "kernel" and status["kernel"] == "sobel_x"
    assert status["fps"] == pytest.approx(29.5) and len(status["probabilities"]) == 10
    assert status["token_required"] is False and status["stream_clients"] == 0


def test_status_keeps_the_loops_texts_english_and_adds_them_in_the_apps_language(web):
    """Scripts and logs read English; the page shows the loop's notice and runtime in the
    app's language (a Message is deep-copied by asdict on its way: braces in it survive)."""
    notice = Message(N_("snapshot failed: {error}"), error="disk full {x}")
    web.update_status(FrameStatus(language="es", message=notice, runtime="unavailable"))
    status = json.loads(request(web, "GET", "/api/status")[1])
    assert status["message"] == "snapshot failed: disk full {x}"
    assert status["runtime"] == "unavailable"
    assert status["translated"] == {
        "message": "no se pudo guardar la captura: disk full {x}",
        "runtime": "no disponible",
    }
    web.update_status(FrameStatus(language="en", message=notice))
    status = json.loads(request(web, "GET", "/api/status")[1])
    assert status["translated"] == {"message": "snapshot failed: disk full {x}", "runtime": ""}


# --- frames -------------------------------------------------------------------


def test_no_client_means_no_encoding_work(web):
    for seq in range(20):
        web.show(*make_frame(seq))
    time.sleep(0.1)
    assert web.frames_queued == 0 and web.frames_encoded == 0


def test_stream_delivers_jpegs_of_the_frame_size_while_watched(web):
    with Producer(web):
        frames = read_mjpeg_frames(web, 3)
    for jpeg in frames:
        picture = cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_COLOR)
        assert picture.shape == (H, W, 3)
        assert picture[:, : W // 2, 2].mean() > 150  # the reddish half survived
    assert wait_for(lambda: web.stream_clients == 0)
    encoded = web.frames_encoded
    for seq in range(10):
        web.show(*make_frame(seq))
    time.sleep(0.1)
    assert web.frames_encoded == encoded  # nobody watches any more


def test_encoding_is_shared_by_clients(web):
    received = [0, 0, 0]

    def watch(index: int) -> None:
        for _ in read_mjpeg_frames_iter(web):
            received[index] += 1
            if received[index] == 4:
                return

    watchers = [threading.Thread(target=watch, args=(i,)) for i in range(3)]
    for t in watchers:
        t.start()
    assert wait_for(lambda: web.stream_clients == 3)
    # One frame at a time, each shown only after every client has the previous one.
    for seq in range(4):
        web.show(*make_frame(seq))
        assert wait_for(lambda seq=seq: min(received) == seq + 1)
    for t in watchers:
        t.join()
    assert received == [4, 4, 4]
    assert web.frames_encoded == 4  # 12 JPEGs delivered, 4 encoded


def test_single_frame_endpoint(web):
    with Producer(web):
        code, body, response = request(web, "GET", "/frame.jpg")
    assert code == 200 and response.getheader("Content-Type") == "image/jpeg"
    assert cv2.imdecode(np.frombuffer(body, np.uint8), cv2.IMREAD_COLOR).shape == (H, W, 3)


def test_a_stalled_client_never_blocks_show(web):
    sock = socket.create_connection(("127.0.0.1", web.port))
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.sendall(b"GET /stream.mjpg HTTP/1.1\r\nHost: localhost\r\n\r\n")  # and never read
    try:
        assert wait_for(lambda: web.stream_clients == 1)
        big = np.random.default_rng(0).integers(0, 256, (240, 320, 3), dtype=np.uint8)
        overlay = np.zeros((240, 320, 4), np.uint8)
        worst = 0.0
        for seq in range(150):
            start = time.perf_counter()
            web.show(Frame(big, big[..., 0], seq, time.monotonic()), overlay)
            worst = max(worst, time.perf_counter() - start)
            time.sleep(0.002)
        # show() only copies two small arrays; a blocked send would take seconds.
        assert worst < 1.0
        assert web.frames_encoded > 1
    finally:
        sock.close()


def test_bad_frame_raises_display_error(web):
    code_before = web.frames_queued
    sock = socket.create_connection(("127.0.0.1", web.port))
    sock.sendall(b"GET /stream.mjpg HTTP/1.0\r\n\r\n")
    try:
        assert wait_for(lambda: web.stream_clients == 1)
        frame, _ = make_frame(0)
        with pytest.raises(DisplayError, match="overlay"):
            web.show(frame, np.zeros((H, W, 3), np.uint8))
        assert web.frames_queued == code_before
    finally:
        sock.close()


# --- control ------------------------------------------------------------------


def test_keys_and_actions_reach_the_queue(web, queue):
    code, body, _ = post_json(web, "/api/key", {"key": "v"})
    assert code == 200 and json.loads(body)["action"] == "next_view"
    assert post_json(web, "/api/action", {"action": "next_kernel"})[0] == 200
    assert queue.drain() == ["next_view", "next_kernel"]


def test_loopback_control_refuses_foreign_host_names(web, queue):
    # DNS rebinding: a web page on evil.example resolved to 127.0.0.1.
    code, body, _ = post_json(web, "/api/key", {"key": "v"}, Host="evil.example:8000")
    assert code == 403 and b"evil.example" in body
    for host in (f"127.0.0.1:{web.port}", f"localhost:{web.port}", "[::1]:8000", "localhost"):
        assert post_json(web, "/api/key", {"key": "v"}, Host=host)[0] == 200
    assert queue.drain() == ["next_view"] * 4
    # Every endpoint, not only control (item 7 of issue 13): the stream, a frame and
    # the status would otherwise be readable by the rebinding page.
    for path in ("/", "/api/status", "/stream.mjpg", "/frame.jpg", "/static/app.js", "/nope"):
        assert request(web, "GET", path, headers={"Host": "evil.example"})[0] == 403, path
    assert web.stream_clients == 0


@pytest.mark.parametrize(
    ("payload", "expected"),
    [({"key": "F13"}, 400), ({"key": 5}, 400), ({"nokey": "v"}, 400), (["v"], 400)],
)
def test_bad_key_payloads_are_400(web, queue, payload, expected):
    assert post_json(web, "/api/key", payload)[0] == expected
    assert post_json(web, "/api/action", {"action": "explode"})[0] == 400
    assert queue.drain() == []


def test_view_only_display_answers_503_for_control():
    display = WebViewer("127.0.0.1", 0, actions=None)
    display.open()
    try:
        assert post_json(display, "/api/key", {"key": "v"})[0] == 503
        assert request(display, "GET", "/api/status")[0] == 200
    finally:
        display.close()


def lan_address() -> str | None:
    """This machine's address on its network (no packet is sent), or None without one."""
    probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        probe.connect(("192.0.2.1", 9))
        address = probe.getsockname()[0]
    except OSError:
        return None
    finally:
        probe.close()
    return None if is_loopback_host(address) else address


def test_non_loopback_bind_needs_the_token_for_control_only(queue):
    lan = lan_address()
    if lan is None:
        pytest.skip("no network address to come from")
    display = WebViewer("0.0.0.0", 0, actions=queue, token="s3cret-token")
    display.open()

    def post(path: str, payload: object, **headers: str):
        body = json.dumps(payload).encode()
        headers = {"Content-Type": "application/json", **headers}
        return request(display, "POST", path, body, headers, source=lan)

    try:
        assert display.token_required and "token=s3cret-token" in display.url
        code, body, _ = post("/api/key", {"key": "v"})
        assert code == 403 and b"token" in body
        assert post("/api/action", {"action": "quit"})[0] == 403
        assert post("/api/key", {"key": "v"}, **{"X-Convlens-Token": "wrong"})[0] == 403
        assert queue.drain() == []
        ok = post("/api/key", {"key": "v"}, **{"X-Convlens-Token": "s3cret-token"})
        assert ok[0] == 200
        assert post("/api/action?token=s3cret-token", {"action": "quit"})[0] == 200
        assert queue.drain() == ["next_view", "quit"]
        # Page, status and stream stay viewable without it.
        assert request(display, "GET", "/", source=lan)[0] == 200
        assert request(display, "GET", "/api/status", source=lan)[0] == 200
        with Producer(display):
            assert len(read_mjpeg_frames(display, 1)) == 1
    finally:
        display.close()


def test_the_pis_own_browser_controls_without_the_token(queue):
    """The desktop's kiosk page comes from the loopback address: whoever is there is at
    the Pi already (or came in by SSH); it sends keys without knowing the token."""
    display = WebViewer("0.0.0.0", 0, actions=queue, token="s3cret-token")
    display.open()
    try:
        assert post_json(display, "/api/key", {"key": "v"})[0] == 200
        assert queue.drain() == ["next_view"]
        foreign = {"Origin": "http://evil.example"}
        assert post_json(display, "/api/key", {"key": "v"}, **foreign)[0] == 403
        assert queue.drain() == []
    finally:
        display.close()


def test_generated_token_when_none_given():
    display = WebViewer("0.0.0.0", 0, actions=ActionQueue())
    assert display.token_required and len(display.token) >= 16
    assert not WebViewer("127.0.0.1", 0).token_required
    assert is_loopback_host("::1") and is_loopback_host("localhost")
    assert not is_loopback_host("192.0.2.1") and not is_loopback_host("pi.local")


# --- hostile and broken requests ----------------------------------------------


def test_oversized_and_malformed_requests_get_4xx_and_the_server_keeps_serving(web, queue):
    big = b"x" * (MAX_BODY_BYTES + 1)
    code, _, _ = request(web, "POST", "/api/key", big, {"Content-Type": "application/json"})
    assert code == 413
    assert post_json(web, "/api/key", "{")[0] == 400  # a JSON string, not an object
    assert (
        request(web, "POST", "/api/key", b"{not json", {"Content-Type": "application/json"})[0]
        == 400
    )
    text = {"Content-Type": "text/plain"}
    assert request(web, "POST", "/api/key", b'{"key":"v"}', text)[0] == 415
    no_length = (
        b"POST /api/key HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n\r\n"
    )
    reply = raw(web, no_length)
    assert status_code(reply) == 411
    reply = raw(web, b"POST /api/key HTTP/1.1\r\nContent-Length: abc\r\n\r\n")
    assert status_code(reply) == 400
    # The parser's limits answer 400 with what was too long (aiohttp has no 414/431).
    reply = raw(web, b"GET /" + b"a" * 70000 + b" HTTP/1.1\r\n\r\n")
    assert status_code(reply) == 400 and b"2048 bytes" in reply
    many_headers = b"".join(b"X-H%d: %s\r\n" % (i, b"v" * 200) for i in range(60))
    reply = raw(web, b"GET / HTTP/1.1\r\n" + many_headers + b"\r\n")
    assert status_code(reply) == 400 and b"Too many headers" in reply
    assert status_code(raw(web, b"\x16\x03\x01garbage\r\n\r\n")) == 400
    assert status_code(raw(web, b"GET\r\n\r\n")) == 400
    assert request(web, "GET", "/nope")[0] == 404
    assert request(web, "GET", "/api/key")[0] == 405
    assert request(web, "DELETE", "/api/status")[0] == 405
    assert (
        request(web, "POST", "/api/status", b"{}", {"Content-Type": "application/json"})[0] == 405
    )
    assert queue.drain() == []
    # Still serving.
    assert request(web, "GET", "/api/status")[0] == 200
    assert post_json(web, "/api/key", {"key": "k"})[0] == 200


def test_stream_client_limit_gives_503(queue):
    display = WebViewer("127.0.0.1", 0, actions=queue, max_viewers=2)
    display.open()
    socks = []
    try:
        for _ in range(2):
            sock = socket.create_connection(("127.0.0.1", display.port))
            sock.sendall(b"GET /stream.mjpg HTTP/1.0\r\n\r\n")
            socks.append(sock)
        assert wait_for(lambda: display.stream_clients == 2)
        assert request(display, "GET", "/stream.mjpg")[0] == 503
        assert request(display, "GET", "/api/status")[0] == 200
        for sock in socks:
            sock.close()
        socks.clear()
        assert wait_for(lambda: display.stream_clients == 0)
        with Producer(display):
            assert len(read_mjpeg_frames(display, 1)) == 1
    finally:
        for sock in socks:
            sock.close()
        display.close()


def test_close_stops_every_thread_even_with_open_streams_and_idle_sockets(queue):
    before = set(threading.enumerate())
    display = WebViewer("127.0.0.1", 0, actions=queue, limits=HttpLimits(request_timeout=30.0))
    display.open()
    stream = socket.create_connection(("127.0.0.1", display.port))
    stream.sendall(b"GET /stream.mjpg HTTP/1.0\r\n\r\n")
    idle = socket.create_connection(("127.0.0.1", display.port))  # sends nothing
    idle.sendall(b"GET / HTTP/1.1\r\n")  # half a request
    try:
        assert wait_for(lambda: display.stream_clients == 1)
        start = time.monotonic()
        display.close()
        assert time.monotonic() - start < 5.0  # not the 30 s request timeout
        assert wait_for(lambda: set(threading.enumerate()) <= before, timeout=2.0)
        with pytest.raises(OSError):
            socket.create_connection(("127.0.0.1", display.port), timeout=1).close()
    finally:
        stream.close()
        idle.close()


def test_port_in_use_is_a_display_error(web):
    other = WebViewer("127.0.0.1", web.port)
    with pytest.raises(DisplayError, match="cannot listen"):
        other.open()


def test_show_before_open_is_an_error():
    with pytest.raises(DisplayError):
        WebViewer("127.0.0.1", 0).show(*make_frame(0))
