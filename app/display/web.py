"""The browser viewer: a stdlib HTTP server with a live MJPEG stream, status JSON and key control.

Endpoints: ``/`` (the page), ``/static/*``, ``/stream.mjpg`` (multipart MJPEG),
``/frame.jpg`` (one JPEG), ``GET /api/status``, ``GET /api/legend``,
``POST /api/key`` ``{"key": "k"}`` and ``POST /api/action`` ``{"action": "next_view"}``.
JPEG work happens on an encoder thread and only while someone watches; ``show``
never waits for the network.
"""

from __future__ import annotations

import contextlib
import hmac
import ipaddress
import json
import logging
import secrets
import select
import socket
import threading
import time
from collections.abc import Callable, Mapping
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import cv2
import numpy as np

from app.controls.actions import ACTIONS, KEY_ACTIONS, KEY_LEGEND, ActionQueue, action_for_key
from app.display.base import Display
from app.display.compose import check_pair, compose
from app.errors import DisplayError
from app.frame import Frame

log = logging.getLogger(__name__)

STATIC_DIR = Path(__file__).with_name("static")
STATIC_FILES = {
    "index.html": "text/html; charset=utf-8",
    "app.js": "text/javascript; charset=utf-8",
    "style.css": "text/css; charset=utf-8",
}
TOKEN_HEADER = "X-Convlens-Token"
#: Largest accepted request body (a key or action is a few dozen bytes).
MAX_BODY_BYTES = 1024
#: Largest accepted total size of the request headers.
MAX_HEADER_BYTES = 8192
#: Longest accepted key or action name.
MAX_NAME_CHARS = 40
BOUNDARY = "convlensframe"


def is_loopback_host(host: str) -> bool:
    """True when ``host`` binds only the loopback interface (127.0.0.0/8, ::1, localhost)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class _RequestError(Exception):
    """An HTTP error answer: status code and a one-line message."""

    def __init__(self, status: HTTPStatus, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


class _Server(ThreadingHTTPServer):
    """ThreadingHTTPServer that tracks its connections so ``close`` can cut them."""

    # Handler threads are joined on server_close; streams end through the stop event.
    daemon_threads = False
    block_on_close = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], viewer: WebDisplay) -> None:
        self.viewer = viewer
        self.connections: set[socket.socket] = set()
        self.connections_lock = threading.Lock()
        family = socket.AF_INET6 if ":" in address[0] else socket.AF_INET
        self.address_family = family
        super().__init__(address, _Handler)

    def verify_request(self, request: Any, client_address: Any) -> bool:
        # Refuse (close at once) beyond the connection limit: a flood of sockets
        # must not become a flood of threads.
        with self.connections_lock:
            if len(self.connections) >= self.viewer.max_connections:
                log.warning("refusing connection from %s: too many connections", client_address)
                return False
            self.connections.add(request)
        return True

    def shutdown_request(self, request: Any) -> None:
        with self.connections_lock:
            self.connections.discard(request)
        super().shutdown_request(request)

    def cut_connections(self) -> None:
        """Shut down every open socket so blocked handler reads and writes return."""
        with self.connections_lock:
            sockets = list(self.connections)
        for sock in sockets:
            # OSError: its handler closed it meanwhile.
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    server_version = "convlens"
    # Answer even an unparseable request line with a status line (not HTTP/0.9's bare body).
    default_request_version = "HTTP/1.0"

    def version_string(self) -> str:
        return self.server_version

    def setup(self) -> None:
        # A timeout on the socket bounds both slow request reads and writes to a
        # client that stopped reading its stream.
        self.timeout = self.server.viewer.request_timeout
        super().setup()

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("%s %s", self.address_string(), format % args)

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_HEAD(self) -> None:
        self._dispatch("HEAD")

    def do_POST(self) -> None:
        self._dispatch("POST")

    def do_PUT(self) -> None:
        self._dispatch("PUT")

    def do_DELETE(self) -> None:
        self._dispatch("DELETE")

    def do_PATCH(self) -> None:
        self._dispatch("PATCH")

    def do_OPTIONS(self) -> None:
        self._dispatch("OPTIONS")

    def _dispatch(self, method: str) -> None:
        viewer = self.server.viewer
        try:
            header_bytes = sum(len(k) + len(v) + 4 for k, v in self.headers.items())
            if header_bytes > MAX_HEADER_BYTES:
                raise _RequestError(
                    HTTPStatus.REQUEST_HEADER_FIELDS_TOO_LARGE,
                    f"request headers are {header_bytes} bytes; at most {MAX_HEADER_BYTES}",
                )
            parts = urlsplit(self.path)
            try:
                query = parse_qs(parts.query, max_num_fields=8)
            except ValueError as exc:
                raise _RequestError(HTTPStatus.BAD_REQUEST, "too many query fields") from exc
            routes = viewer.routes()
            if parts.path not in routes:
                raise _RequestError(HTTPStatus.NOT_FOUND, f"no such path {parts.path[:80]!r}")
            allowed = routes[parts.path]
            get_method = "GET" if method == "HEAD" else method
            if get_method not in allowed:
                self._allow = ", ".join(sorted(allowed))
                raise _RequestError(
                    HTTPStatus.METHOD_NOT_ALLOWED,
                    f"{method} is not allowed on {parts.path}; use {self._allow}",
                )
            allowed[get_method](self, query)
        except _RequestError as err:
            self._send_error_json(err.status, err.message)
        except (BrokenPipeError, ConnectionResetError, TimeoutError):
            self.close_connection = True

    # --- responses -----------------------------------------------------------

    def _send_bytes(self, status: HTTPStatus, body: bytes, content_type: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.send_header("X-Content-Type-Options", "nosniff")
        allow = getattr(self, "_allow", None)
        if allow:
            self.send_header("Allow", allow)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def send_json(self, status: HTTPStatus, payload: Any) -> None:
        body = json.dumps(payload, default=_json_default).encode()
        self._send_bytes(status, body, "application/json")

    def _send_error_json(self, status: HTTPStatus, message: str) -> None:
        self.close_connection = True
        with contextlib.suppress(BrokenPipeError, ConnectionResetError, TimeoutError):
            self.send_json(status, {"error": message})

    def read_json_body(self) -> dict[str, Any]:
        """The request body as a JSON object, within the size limit."""
        if "Transfer-Encoding" in self.headers:
            raise _RequestError(HTTPStatus.LENGTH_REQUIRED, "send a Content-Length, not chunks")
        raw_length = self.headers.get("Content-Length")
        if raw_length is None:
            raise _RequestError(HTTPStatus.LENGTH_REQUIRED, "Content-Length header is required")
        try:
            length = int(raw_length)
        except ValueError as exc:
            raise _RequestError(HTTPStatus.BAD_REQUEST, "Content-Length is not a number") from exc
        if length < 0:
            raise _RequestError(HTTPStatus.BAD_REQUEST, "Content-Length is negative")
        if length > MAX_BODY_BYTES:
            raise _RequestError(
                HTTPStatus.REQUEST_ENTITY_TOO_LARGE,
                f"request body is {length} bytes; at most {MAX_BODY_BYTES}",
            )
        content_type = self.headers.get("Content-Type", "").split(";")[0].strip().lower()
        body = self.rfile.read(length)
        if content_type != "application/json":
            # Also keeps other web sites' plain form posts out: they cannot send JSON
            # cross-origin without a CORS preflight this server never grants.
            raise _RequestError(
                HTTPStatus.UNSUPPORTED_MEDIA_TYPE, "Content-Type must be application/json"
            )
        if len(body) != length:
            raise _RequestError(HTTPStatus.BAD_REQUEST, "request body shorter than Content-Length")
        try:
            payload = json.loads(body)
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise _RequestError(HTTPStatus.BAD_REQUEST, "request body is not valid JSON") from exc
        if not isinstance(payload, dict):
            raise _RequestError(HTTPStatus.BAD_REQUEST, "request body must be a JSON object")
        return payload

    def check_token(self, query: dict[str, list[str]]) -> None:
        """Refuse control requests without the token (non-loopback bind) or via a foreign host."""
        viewer = self.server.viewer
        if not viewer.token_required:
            # Bound to loopback: a page on another site could still reach us through
            # DNS rebinding, but its requests carry that site's name as Host.
            host = self.headers.get("Host")
            if host is not None and not is_loopback_host(_host_without_port(host)):
                raise _RequestError(
                    HTTPStatus.FORBIDDEN,
                    f"control requests must be addressed to localhost, not {host[:60]!r}",
                )
            return
        given = self.headers.get(TOKEN_HEADER) or (query.get("token") or [""])[0]
        if not given or not hmac.compare_digest(given.encode(), viewer.token.encode()):
            raise _RequestError(
                HTTPStatus.FORBIDDEN,
                "this viewer is reachable from the network: controls need the token "
                "printed at start (open the page with ?token=...)",
            )


def _host_without_port(host: str) -> str:
    """``[::1]:8000`` -> ``::1``, ``localhost:8000`` -> ``localhost``."""
    host = host.strip()
    if host.startswith("["):
        return host[1:].partition("]")[0]
    if host.count(":") == 1:
        return host.partition(":")[0]
    return host


def _json_default(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, (set, frozenset, tuple)):
        return list(value)
    return str(value)


def _peer_closed(sock: socket.socket) -> bool:
    """True when the client closed its side (readable with nothing to read)."""
    try:
        readable, _, _ = select.select([sock], [], [], 0)
        return bool(readable) and sock.recv(1, socket.MSG_PEEK) == b""
    except OSError:
        return True


def _name_field(payload: Mapping[str, Any], field: str) -> str:
    value = payload.get(field)
    if not isinstance(value, str) or not value or len(value) > MAX_NAME_CHARS:
        raise _RequestError(
            HTTPStatus.BAD_REQUEST, f'body must be {{"{field}": "<name>"}} with a short string'
        )
    return value


class WebDisplay(Display):
    """Serves the composed picture as MJPEG plus a control page.

    Args:
        host: address to bind; anything but loopback makes the control endpoints
            require ``token``.
        port: TCP port; 0 picks a free one (see ``port`` after ``open``).
        actions: the queue key presses and buttons go to; None disables control (503).
        token: the control token; generated when needed and not given.
        jpeg_quality: 1..100.
        max_stream_clients: concurrent ``/stream.mjpg`` + ``/frame.jpg`` clients; more get 503.
        max_connections: open sockets beyond which new ones are closed at once.
        request_timeout: seconds a socket read or write may block before the
            connection is dropped (slow or stalled clients).
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 8000,
        *,
        actions: ActionQueue | None = None,
        token: str | None = None,
        jpeg_quality: int = 80,
        max_stream_clients: int = 8,
        max_connections: int = 32,
        request_timeout: float = 10.0,
    ) -> None:
        if not 0 <= port <= 65535:
            raise DisplayError(f"web display: port must be 0..65535, got {port}")
        if not 1 <= jpeg_quality <= 100:
            raise DisplayError(f"web display: jpeg quality must be 1..100, got {jpeg_quality}")
        self.host = host
        self._requested_port = port
        self.port = port
        self.actions = actions
        self.token_required = not is_loopback_host(host)
        self.token = token or (secrets.token_urlsafe(16) if self.token_required else "")
        self.jpeg_quality = jpeg_quality
        self.max_stream_clients = max_stream_clients
        self.max_connections = max(max_connections, max_stream_clients + 4)
        self.request_timeout = request_timeout
        self.description = f"web {host}:{port}"

        self._server: _Server | None = None
        self._serve_thread: threading.Thread | None = None
        self._encode_thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._static: dict[str, bytes] = {}

        self._status: dict[str, Any] = {}
        self._status_lock = threading.Lock()

        self._clients = 0
        self._clients_lock = threading.Lock()

        self._pending: tuple[np.ndarray, np.ndarray] | None = None
        self._pending_lock = threading.Lock()
        self._pending_event = threading.Event()

        self._jpeg: bytes = b""
        self._jpeg_seq = 0
        self._jpeg_cond = threading.Condition()
        #: Counters for tests and benchmarks: frames handed to the encoder and encoded.
        self.frames_queued = 0
        self.frames_encoded = 0

    # --- Display -------------------------------------------------------------

    @property
    def url(self) -> str:
        """The address to open in a browser (with the token when one is needed)."""
        host = self.host
        if host in ("0.0.0.0", "::", ""):
            host = socket.gethostname()
        if ":" in host:
            host = f"[{host}]"
        suffix = f"?token={self.token}" if self.token_required else ""
        return f"http://{host}:{self.port}/{suffix}"

    @property
    def stream_clients(self) -> int:
        """Clients currently receiving JPEGs."""
        with self._clients_lock:
            return self._clients

    def open(self) -> None:
        if self._server is not None:
            return
        for name in STATIC_FILES:
            try:
                self._static[name] = (STATIC_DIR / name).read_bytes()
            except OSError as exc:
                raise DisplayError(f"web display: page file {name} is missing ({exc})") from exc
        try:
            self._server = _Server((self.host, self._requested_port), self)
        except OSError as exc:
            raise DisplayError(
                f"web display: cannot listen on {self.host}:{self._requested_port} "
                f"({exc.strerror}); pick another --port or --host"
            ) from exc
        self.port = self._server.server_address[1]
        self.description = f"web {self.host}:{self.port}"
        self._stop.clear()
        self._encode_thread = threading.Thread(
            target=self._encode_loop, name="web-jpeg", daemon=False
        )
        self._encode_thread.start()
        self._serve_thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.2}, name="web-http"
        )
        self._serve_thread.start()
        if self.token_required:
            log.warning(
                "web viewer listening on %s:%d; open %s (controls need token %s)",
                self.host,
                self.port,
                self.url,
                self.token,
            )
        else:
            log.info("web viewer: open %s", self.url)

    def show(self, frame: Frame, overlay: np.ndarray) -> None:
        if self._server is None:
            raise DisplayError("web display: show() before open()")
        if self.stream_clients == 0:
            return  # nobody watches: no compose, no JPEG
        check_pair(frame.array, overlay)
        # Copies, because the loop may reuse its buffers before the encoder runs.
        with self._pending_lock:
            self._pending = (frame.array.copy(), overlay.copy())
            self.frames_queued += 1
        self._pending_event.set()

    def update_status(self, status: Mapping[str, Any]) -> None:
        with self._status_lock:
            self._status = dict(status)

    def close(self) -> None:
        server = self._server
        if server is None:
            return
        self._stop.set()
        self._pending_event.set()
        with self._jpeg_cond:
            self._jpeg_cond.notify_all()
        server.shutdown()
        server.cut_connections()
        server.server_close()  # joins the handler threads
        if self._serve_thread is not None:
            self._serve_thread.join()
        if self._encode_thread is not None:
            self._encode_thread.join()
        self._server = None
        log.info("web viewer stopped")

    # --- frames --------------------------------------------------------------

    def _encode_loop(self) -> None:
        params = [cv2.IMWRITE_JPEG_QUALITY, self.jpeg_quality]
        while not self._stop.is_set():
            if not self._pending_event.wait(0.5):
                continue
            self._pending_event.clear()
            with self._pending_lock:
                pending, self._pending = self._pending, None
            if pending is None:
                continue
            try:
                ok, encoded = cv2.imencode(".jpg", compose(*pending), params)
            except (cv2.error, DisplayError) as exc:
                log.warning("web viewer: could not encode a frame: %s", exc)
                continue
            if not ok:
                log.warning("web viewer: JPEG encoder refused a frame")
                continue
            with self._jpeg_cond:
                self._jpeg = encoded.tobytes()
                self._jpeg_seq += 1
                self.frames_encoded += 1
                self._jpeg_cond.notify_all()

    def _next_jpeg(self, after_seq: int, timeout: float) -> tuple[int, bytes] | None:
        """Block until a JPEG newer than ``after_seq`` exists; None on timeout or stop."""
        deadline = time.monotonic() + timeout
        with self._jpeg_cond:
            while self._jpeg_seq <= after_seq and not self._stop.is_set():
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return None
                self._jpeg_cond.wait(min(remaining, 0.5))
            if self._stop.is_set():
                return None
            return self._jpeg_seq, self._jpeg

    def _current_seq(self) -> int:
        with self._jpeg_cond:
            return self._jpeg_seq

    def _add_client(self) -> None:
        with self._clients_lock:
            if self._clients >= self.max_stream_clients:
                raise _RequestError(
                    HTTPStatus.SERVICE_UNAVAILABLE,
                    f"too many viewers (at most {self.max_stream_clients}); try again later",
                )
            self._clients += 1

    def _remove_client(self) -> None:
        with self._clients_lock:
            self._clients -= 1

    # --- routes --------------------------------------------------------------

    def routes(self) -> dict[str, dict[str, Callable[[_Handler, dict[str, list[str]]], None]]]:
        """Path -> {method: handler}."""
        routes: dict[str, dict[str, Callable[[_Handler, dict[str, list[str]]], None]]] = {
            "/": {"GET": self._page},
            "/index.html": {"GET": self._page},
            "/stream.mjpg": {"GET": self._stream},
            "/frame.jpg": {"GET": self._single_frame},
            "/api/status": {"GET": self._api_status},
            "/api/legend": {"GET": self._api_legend},
            "/api/key": {"POST": self._api_key},
            "/api/action": {"POST": self._api_action},
        }
        for name in STATIC_FILES:
            routes[f"/static/{name}"] = {"GET": self._static_file(name)}
        return routes

    def _page(self, handler: _Handler, query: dict[str, list[str]]) -> None:
        handler._send_bytes(HTTPStatus.OK, self._static["index.html"], STATIC_FILES["index.html"])

    def _static_file(self, name: str) -> Callable[[_Handler, dict[str, list[str]]], None]:
        def send(handler: _Handler, query: dict[str, list[str]]) -> None:
            handler._send_bytes(HTTPStatus.OK, self._static[name], STATIC_FILES[name])

        return send

    def _api_status(self, handler: _Handler, query: dict[str, list[str]]) -> None:
        with self._status_lock:
            status = dict(self._status)
        status["stream_clients"] = self.stream_clients
        status["token_required"] = self.token_required
        status["control"] = self.actions is not None
        handler.send_json(HTTPStatus.OK, status)

    def _api_legend(self, handler: _Handler, query: dict[str, list[str]]) -> None:
        handler.send_json(
            HTTPStatus.OK,
            {
                "legend": [list(row) for row in KEY_LEGEND],
                "keys": KEY_ACTIONS,
                "actions": ACTIONS,
            },
        )

    def _queue(self) -> ActionQueue:
        if self.actions is None:
            raise _RequestError(HTTPStatus.SERVICE_UNAVAILABLE, "this viewer is view-only")
        return self.actions

    def _api_key(self, handler: _Handler, query: dict[str, list[str]]) -> None:
        handler.check_token(query)
        key = _name_field(handler.read_json_body(), "key")
        action = action_for_key(key)
        if action is None:
            raise _RequestError(HTTPStatus.BAD_REQUEST, f"key {key!r} is not bound to an action")
        self._queue().put(action)
        handler.send_json(HTTPStatus.OK, {"key": key, "action": action})

    def _api_action(self, handler: _Handler, query: dict[str, list[str]]) -> None:
        handler.check_token(query)
        action = _name_field(handler.read_json_body(), "action")
        if action not in ACTIONS:
            raise _RequestError(HTTPStatus.BAD_REQUEST, f"unknown action {action!r}")
        self._queue().put(action)
        handler.send_json(HTTPStatus.OK, {"action": action})

    def _single_frame(self, handler: _Handler, query: dict[str, list[str]]) -> None:
        self._add_client()
        try:
            got = self._next_jpeg(self._current_seq(), timeout=self.request_timeout)
        finally:
            self._remove_client()
        if got is None:
            raise _RequestError(HTTPStatus.SERVICE_UNAVAILABLE, "no frame arrived in time")
        handler._send_bytes(HTTPStatus.OK, got[1], "image/jpeg")

    def _stream(self, handler: _Handler, query: dict[str, list[str]]) -> None:
        self._add_client()
        try:
            handler.close_connection = True
            handler.send_response(HTTPStatus.OK)
            handler.send_header("Content-Type", f"multipart/x-mixed-replace; boundary={BOUNDARY}")
            handler.send_header("Cache-Control", "no-store")
            handler.send_header("Connection", "close")
            handler.end_headers()
            if handler.command == "HEAD":
                return
            seq = self._current_seq()
            while not self._stop.is_set():
                got = self._next_jpeg(seq, timeout=1.0)
                if got is None:
                    if _peer_closed(handler.connection):
                        break
                    continue
                seq, jpeg = got
                # Only the newest JPEG is ever sent: a slow client skips frames.
                handler.wfile.write(
                    f"--{BOUNDARY}\r\nContent-Type: image/jpeg\r\n"
                    f"Content-Length: {len(jpeg)}\r\n\r\n".encode()
                    + jpeg
                    + b"\r\n"
                )
                handler.wfile.flush()
        except OSError:
            # The viewer went away (reset, broken pipe, timeout, or close() cut it).
            handler.close_connection = True
        finally:
            self._remove_client()
