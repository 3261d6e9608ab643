"""Generic HTTP hardening for an aiohttp server: parser limits, connection caps, Host, headers.

Nothing here knows about frames or keys. What it gives a server:

- ``HttpLimits``: request line, header count and size, body size and the deadlines,
  handed to aiohttp's parser so they are enforced while the bytes arrive (a 64 KB
  header line is refused at its 8 KB mark, never buffered whole).
- ``ConnectionGuard``: at most ``per_address`` open connections from one client
  address and ``total`` overall; a refused socket is closed before aiohttp sees a
  byte, and the refusals are logged at most once per address every few seconds.
- ``GuardedSite``: a TCP site whose connections pass through the guard.
- Host names are checked by ``app.display.http_hosts.HostPolicy``.
- ``read_json_object``: a small, flat JSON object or an HTTP 4xx with one line.
- ``security_headers``: frame-ancestors, X-Frame-Options, nosniff, no referrer.
"""

from __future__ import annotations

import asyncio
import json
import logging
import socket
from collections import Counter
from dataclasses import dataclass
from typing import Any

from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError

from app.faults import RateLimitedLog

log = logging.getLogger(__name__)

#: The page may only load its own files, never be framed, never send the token on.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; img-src 'self'; object-src 'none'; base-uri 'none'; "
    "form-action 'none'; frame-ancestors 'none'"
)


@dataclass(frozen=True)
class HttpLimits:
    """What one request may cost, enforced by the parser as bytes arrive.

    Attributes:
        max_line: bytes in the request line (method, target, version).
        max_field: bytes in one header line (name and value).
        max_headers: header lines per request.
        max_body: bytes in a request body.
        request_timeout: seconds from a connection's first byte (or the end of its
            previous answer) to its request being in whole, headers and body; a slow
            or silent client is cut then, whatever it sends meanwhile.
        write_timeout: seconds one write to a client may wait for it to read.
        per_address: open connections from one client address.
        total: open connections overall.
    """

    max_line: int = 2048
    max_field: int = 8190
    max_headers: int = 40
    max_body: int = 1024
    request_timeout: float = 10.0
    write_timeout: float = 10.0
    per_address: int = 16
    total: int = 256

    @property
    def max_request_bytes(self) -> int:
        """The most bytes one request can be: request line, every header, the body."""
        return self.max_line + self.max_headers * (self.max_field + 2) + self.max_body + 4096

    def handler_args(self) -> dict[str, Any]:
        """Keyword arguments for aiohttp's request handler (its parser and keep-alive)."""
        return {
            "max_line_size": self.max_line,
            "max_field_size": self.max_field,
            "max_headers": self.max_headers,
            # aiohttp closes a connection whose next request has not arrived whole
            # (headers) this long after it opened or after its last answer, however
            # slowly bytes trickle in: the slowloris defence.
            "keepalive_timeout": self.request_timeout,
            "lingering_time": 1.0,
            "logger": server_logger(),
        }


class ConnectionGuard:
    """Counts open connections per client address; says whether a new one may open.

    Also bounds the bytes a connection may send before its request is in: a client
    pouring megabytes of headers at the parser is cut once it has sent more than any
    request can be, so what is buffered per connection stays small.
    """

    def __init__(self, limits: HttpLimits, log_interval: float = 10.0) -> None:
        self.limits = limits
        self._open: Counter[str] = Counter()
        self._protocols: dict[asyncio.BaseTransport, GuardedProtocol] = {}
        self._refusals = RateLimitedLog(log, log_interval)
        #: Connections refused since start, for tests and benchmarks.
        self.refused = 0

    @property
    def open_connections(self) -> int:
        return sum(self._open.values())

    def admit(self, address: str) -> bool:
        """Count a new connection from ``address``; False (and a throttled log) when over a cap."""
        if self._open[address] >= self.limits.per_address:
            reason = f"{self.limits.per_address} connections from this address are open"
        elif self.open_connections >= self.limits.total:
            reason = f"{self.limits.total} connections are open"
        else:
            self._open[address] += 1
            return True
        self.refused += 1
        self._refusals.log(
            address, logging.WARNING, f"web: refusing a connection from {address}: {reason}"
        )
        return False

    def release(self, address: str) -> None:
        self._open[address] -= 1
        if self._open[address] <= 0:
            del self._open[address]

    def track(self, transport: asyncio.BaseTransport, protocol: GuardedProtocol | None) -> None:
        if protocol is None:
            self._protocols.pop(transport, None)
        else:
            self._protocols[transport] = protocol

    @web.middleware
    async def middleware(self, request: web.Request, handler: Any) -> web.StreamResponse:
        """A request's head is in: its connection may send the next request's bytes."""
        protocol = self._protocols.get(request.transport) if request.transport else None
        if protocol is not None:
            protocol.unanswered = 0
        return await handler(request)


class GuardedProtocol(asyncio.Protocol):
    """Wraps aiohttp's protocol: refuses over-cap connections before any byte is parsed."""

    #: Bytes read from the socket at once (asyncio's default is 256 KB): what a flood
    #: of headers can park in memory per connection before the parser refuses it.
    READ_CHUNK = 16 * 1024

    def __init__(self, inner: asyncio.Protocol, guard: ConnectionGuard) -> None:
        self.inner = inner
        self.guard = guard
        self.address: str | None = None
        self.transport: asyncio.BaseTransport | None = None
        #: Bytes received since the last request's head was parsed.
        self.unanswered = 0

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        peer = transport.get_extra_info("peername")
        address = str(peer[0]) if peer else "?"
        if not self.guard.admit(address):
            transport.abort()
            return
        self.address, self.transport = address, transport
        if hasattr(transport, "max_size"):  # selector transports read this much per recv
            transport.max_size = self.READ_CHUNK
        self.guard.track(transport, self)
        self.inner.connection_made(transport)

    def data_received(self, data: bytes) -> None:
        if self.address is None or self.transport is None or self.transport.is_closing():
            return
        self.unanswered += len(data)
        if self.unanswered > self.guard.limits.max_request_bytes:
            self.transport.abort()  # more than any request can be: not a client of ours
            return
        self.inner.data_received(data)

    def eof_received(self) -> bool | None:
        return self.inner.eof_received() if self.address is not None else None

    def connection_lost(self, exc: Exception | None) -> None:
        if self.address is None or self.transport is None:
            return
        self.guard.release(self.address)
        self.guard.track(self.transport, None)
        self.inner.connection_lost(exc)

    def pause_writing(self) -> None:
        self.inner.pause_writing()

    def resume_writing(self) -> None:
        self.inner.resume_writing()


class GuardedSite(web.BaseSite):
    """A TCP site whose every connection passes ``guard`` first."""

    def __init__(
        self, runner: web.BaseRunner, host: str, port: int, guard: ConnectionGuard
    ) -> None:
        super().__init__(runner)
        self._host, self._port, self._guard = host, port, guard

    @property
    def name(self) -> str:
        return f"http://{self._host}:{self._port}"

    @property
    def port(self) -> int:
        """The bound port (the chosen one when 0 was asked for)."""
        assert self._server is not None
        return self._server.sockets[0].getsockname()[1]

    async def start(self) -> None:
        await super().start()
        server = self._runner.server
        assert server is not None
        family = socket.AF_INET6 if ":" in self._host else socket.AF_INET
        self._server = await asyncio.get_running_loop().create_server(
            lambda: GuardedProtocol(server(), self._guard),
            self._host,
            self._port,
            family=family,
            reuse_address=True,
            backlog=128,
        )


# --- logging ---------------------------------------------------------------------


class ClientErrorLog(logging.Filter):
    """Turns aiohttp's "Error handling request" tracebacks for malformed requests into one
    throttled WARNING line per client address; other errors keep their traceback.

    A client that sends garbage is not a server fault, and 5,000 of them must not
    write 5,000 tracebacks.
    """

    def __init__(self, interval: float = 10.0) -> None:
        super().__init__()
        self._throttle = RateLimitedLog(log, interval)

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        if not isinstance(exc, HttpProcessingError):
            return True
        address = str(record.args[0]) if isinstance(record.args, tuple) and record.args else "?"
        what = " ".join(str(getattr(exc, "message", "") or exc).split())[:120]
        self._throttle.log(
            f"malformed:{address}",
            logging.WARNING,
            f"web: malformed request from {address}: {what}",
        )
        return False


def server_logger() -> logging.Logger:
    """The logger aiohttp's request handler reports to, with ``ClientErrorLog`` on it."""
    logger = logging.getLogger(f"{__name__}.aiohttp")
    if not any(isinstance(f, ClientErrorLog) for f in logger.filters):
        logger.addFilter(ClientErrorLog())
    return logger


# --- answers ---------------------------------------------------------------------


def json_error(status: int, message: str, **fields: Any) -> web.Response:
    """An error answer: ``{"error": message, ...fields}`` with the given status."""
    return web.json_response({"error": message, **fields}, status=status)


class RequestRefusedError(Exception):
    """Raised by a route: answer ``status`` with a one-line JSON error."""

    def __init__(self, status: int, message: str, **fields: Any) -> None:
        super().__init__(message)
        self.status, self.message, self.fields = status, message, fields


async def security_headers(request: web.Request, response: web.StreamResponse) -> None:
    """``on_response_prepare`` signal: the headers every answer carries."""
    headers = response.headers
    headers["X-Frame-Options"] = "DENY"
    headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
    headers["X-Content-Type-Options"] = "nosniff"
    headers["Referrer-Policy"] = "no-referrer"
    headers.setdefault("Cache-Control", "no-store")
    headers["Server"] = "convlens"


def json_depth_within(text: str, max_depth: int) -> bool:
    """Whether JSON ``text`` nests arrays and objects at most ``max_depth`` deep.

    Scanned before parsing, so a deeply nested body is refused without recursion.
    """
    depth, in_string, escaped = 0, False, False
    for char in text:
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
            if depth > max_depth:
                return False
        elif char in "]}":
            depth -= 1
    return True


async def read_json_object(request: web.Request, limits: HttpLimits) -> dict[str, Any]:
    """The body of ``request`` as a JSON object of plain values, read within the deadline.

    Raises:
        RequestRefusedError: 411 without Content-Length, 413 too large, 415 not JSON,
            400 anything malformed (bad UTF-8, nesting, not an object), 408 too slow.
    """
    if request.content_length is None:
        raise RequestRefusedError(411, "send a Content-Length header with the JSON body")
    if request.content_length > limits.max_body:
        raise RequestRefusedError(
            413, f"request body is {request.content_length} bytes; at most {limits.max_body}"
        )
    if request.content_type != "application/json":
        # Also keeps other sites' plain form posts out: they cannot send JSON
        # cross-origin without a CORS preflight this server never grants.
        raise RequestRefusedError(415, "Content-Type must be application/json")
    try:
        async with asyncio.timeout(limits.request_timeout):
            body = await request.read()
    except TimeoutError as exc:
        raise RequestRefusedError(408, "request body arrived too slowly") from exc
    except web.HTTPRequestEntityTooLarge as exc:
        raise RequestRefusedError(413, f"request body is over {limits.max_body} bytes") from exc
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise RequestRefusedError(400, "request body is not UTF-8") from exc
    if not json_depth_within(text, 1):
        raise RequestRefusedError(400, "request body must be a flat JSON object")
    try:
        payload = json.loads(text)
    except ValueError as exc:
        raise RequestRefusedError(400, "request body is not valid JSON") from exc
    if not isinstance(payload, dict):
        raise RequestRefusedError(400, "request body must be a JSON object")
    return payload
