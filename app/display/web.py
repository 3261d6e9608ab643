"""The browser viewer and web control input: live MJPEG, status JSON and keys, on aiohttp.

Endpoints: ``/`` (the page), ``/static/*``, ``/stream.mjpg`` (multipart MJPEG),
``/frame.jpg`` (one JPEG), ``GET /api/status``, ``GET /api/legend``, ``GET /api/text``
(the page's sentences; both in the app's language), ``POST /api/key`` ``{"key": "k"}``
and ``POST /api/action`` ``{"action": "next_view"}``. The HTTP hardening (parser
limits, deadlines, caps, Host, headers) is ``app.display.http_guard``; this module is
the viewer's routes. JPEG work happens on an encoder thread and only while someone
watches; ``show`` never waits for the network.
"""

from __future__ import annotations

import dataclasses
import hmac
import logging
import secrets
import socket
from collections.abc import Awaitable, Callable, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import numpy as np
from aiohttp import web

from app.controls.actions import (
    ActionQueue,
    action_for_key,
    action_table,
    key_legend,
    key_table,
    once_per_press,
)
from app.display.base import Display
from app.display.compose import check_pair
from app.display.http_guard import (
    HttpLimits,
    RequestRefusedError,
    json_error,
    read_json_object,
    security_headers,
)
from app.display.http_hosts import HostPolicy, is_loopback_host
from app.display.http_thread import ServerThread
from app.display.web_frames import BOUNDARY, FrameHub, JpegEncoder, send_frames
from app.display.web_text import status_language, text, texts, translated_fields, value_names
from app.errors import DisplayError
from app.frame import Frame
from app.i18n import translate
from app.jsonable import to_jsonable
from app.views.words import key_label

__all__ = ["WebViewer", "is_loopback_host"]

log = logging.getLogger(__name__)

STATIC_DIR = Path(__file__).with_name("static")
STATIC_FILES = {
    "index.html": "text/html",
    "app.js": "text/javascript",
    "style.css": "text/css",
}
TOKEN_HEADER = "X-Convlens-Token"
#: Longest accepted key or action name.
MAX_NAME_CHARS = 40
#: A classroom: every student's laptop plus the teacher's, with room to spare.
DEFAULT_MAX_VIEWERS = 48

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def _name_field(payload: Mapping[str, Any], field: str) -> str:
    value = payload.get(field)
    short = isinstance(value, str) and 0 < len(value) <= MAX_NAME_CHARS
    if set(payload) != {field} or not short:
        raise RequestRefusedError(400, f'body must be {{"{field}": "<name>"}} with a short string')
    return value


class WebViewer(Display):
    """Serves the composed picture as MJPEG to a classroom of browsers, and takes their keys.

    Args:
        host: address to bind; anything but loopback makes the control endpoints
            require ``token``.
        port: TCP port; 0 picks a free one (see ``port`` after ``open``).
        actions: the queue key presses and buttons go to; None makes the viewer view-only.
        token: the control token; generated when needed and not given.
        jpeg_quality: 1..100.
        max_viewers: concurrent ``/stream.mjpg`` + ``/frame.jpg`` clients; past it the
            page shows "too many viewers".
        limits: parser limits, deadlines and connection caps (``HttpLimits``).
        allowed_hosts: more Host names to answer to (e.g. a DNS name of the Pi).
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 8000,
        *,
        actions: ActionQueue | None = None,
        token: str | None = None,
        jpeg_quality: int = 80,
        max_viewers: int = DEFAULT_MAX_VIEWERS,
        limits: HttpLimits | None = None,
        allowed_hosts: tuple[str, ...] = (),
    ) -> None:
        if not 0 <= port <= 65535:
            raise DisplayError(f"web viewer: port must be 0..65535, got {port}")
        if not 1 <= jpeg_quality <= 100:
            raise DisplayError(f"web viewer: jpeg quality must be 1..100, got {jpeg_quality}")
        if max_viewers < 1:
            raise DisplayError(f"web viewer: max viewers must be at least 1, got {max_viewers}")
        self.host = host
        self.port = port
        self.actions = actions
        self.token_required = not is_loopback_host(host)
        self.token = token or (secrets.token_urlsafe(16) if self.token_required else "")
        self.max_viewers = max_viewers
        self.limits = limits or HttpLimits(total=max(256, 4 * max_viewers + 32))
        self.hosts = HostPolicy(host, allowed_hosts)
        self.description = f"web {host}:{port}"
        self._static: dict[str, bytes] = {}
        self._status: dict[str, Any] = {}
        self._hub = FrameHub()
        self._server: ServerThread | None = None
        self._encoder: JpegEncoder | None = None
        self._jpeg_quality = jpeg_quality
        #: Viewers being sent JPEGs now (changed on the server thread, read anywhere).
        self.stream_clients = 0

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
    def frames_encoded(self) -> int:
        return self._encoder.encoded if self._encoder else 0

    @property
    def frames_queued(self) -> int:
        return self._encoder.offered if self._encoder else 0

    @property
    def refused_connections(self) -> int:
        return self._server.guard.refused if self._server else 0

    def open(self) -> None:
        if self._server is not None:
            return
        for name in STATIC_FILES:
            try:
                self._static[name] = (STATIC_DIR / name).read_bytes()
            except OSError as exc:
                raise DisplayError(f"web viewer: page file {name} is missing ({exc})") from exc
        server = ServerThread(self._make_app, self.host, self.port, self.limits)
        try:
            server.start()
        except OSError as exc:
            raise DisplayError(
                f"web viewer: cannot listen on {self.host}:{self.port} "
                f"({exc.strerror or exc}); pick another --port or --host"
            ) from exc
        self._server = server
        self.port = server.port
        self.description = f"web {self.host}:{self.port}"
        self._encoder = JpegEncoder(self._publish, self._jpeg_quality)
        self._encoder.start()
        if self.token_required:
            log.warning(
                "web viewer listening on %s:%d; open %s (controls need token %s)",
                self.host, self.port, self.url, self.token,
            )  # fmt: skip
        else:
            log.info("web viewer: open %s", self.url)

    def show(self, frame: Frame, overlay: np.ndarray) -> None:
        if self._encoder is None:
            raise DisplayError("web viewer: show() before open()")
        if self.stream_clients == 0:
            return  # nobody watches: no compose, no JPEG
        check_pair(frame.array, overlay)
        self._encoder.offer(frame.array, overlay)

    def update_status(self, status: Any) -> None:
        """Take the loop's status (a mapping or a dataclass) for ``/api/status``."""
        if dataclasses.is_dataclass(status) and not isinstance(status, type):
            status = dataclasses.asdict(status)
        self._status = dict(status)  # one reference swap: readers see old or new whole

    def close(self) -> None:
        if self._server is None:
            return
        self._server.stop()  # cuts every stream and connection, joins the thread
        self._server = None
        if self._encoder is not None:
            self._encoder.stop()
            self._encoder = None
        log.info("web viewer stopped")

    def _publish(self, seq: int, jpeg: bytes) -> None:
        if self._server is not None:
            self._server.call_soon(self._hub.publish, seq, jpeg)

    # --- application -----------------------------------------------------------

    def _make_app(self) -> web.Application:
        app = web.Application(
            middlewares=[self._guard_request], client_max_size=self.limits.max_body
        )
        app.on_response_prepare.append(security_headers)
        routes = app.router
        routes.add_get("/", self._page)
        routes.add_get("/index.html", self._page)
        routes.add_get("/static/{name}", self._static_file)
        routes.add_get("/stream.mjpg", self._stream)
        routes.add_get("/frame.jpg", self._single_frame)
        routes.add_get("/api/status", self._api_status)
        routes.add_get("/api/legend", self._api_legend)
        routes.add_get("/api/text", self._api_text)
        routes.add_post("/api/key", self._api_key)
        routes.add_post("/api/action", self._api_action)
        return app

    @web.middleware
    async def _guard_request(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        """Host on every endpoint, then the route; every refusal as a one-line JSON error."""
        if not self.hosts.allows(request.headers.get("Host")):
            host = (request.headers.get("Host") or "")[:60]
            return json_error(
                403, f"{text('foreign_host', status_language(self._status))} (Host {host!r})"
            )
        try:
            return await handler(request)
        except RequestRefusedError as err:
            return json_error(err.status, err.message, **err.fields)
        except web.HTTPException as exc:
            if exc.status < 400:
                raise
            response = json_error(exc.status, exc.reason)
            if "Allow" in exc.headers:
                response.headers["Allow"] = exc.headers["Allow"]
            return response

    async def _page(self, request: web.Request) -> web.Response:
        return self._static_response("index.html")

    async def _static_file(self, request: web.Request) -> web.Response:
        name = request.match_info["name"]
        if name not in STATIC_FILES:
            raise RequestRefusedError(404, f"no such file {name[:80]!r}")
        return self._static_response(name)

    def _static_response(self, name: str) -> web.Response:
        return web.Response(
            body=self._static[name], content_type=STATIC_FILES[name], charset="utf-8"
        )

    async def _api_status(self, request: web.Request) -> web.Response:
        status = to_jsonable(self._status)
        status["stream_clients"] = self.stream_clients
        status["max_stream_clients"] = self.max_viewers
        status["token_required"] = self.token_required
        status["control"] = self.actions is not None
        status["translated"] = translated_fields(self._status, status_language(self._status))
        return web.json_response(status)

    async def _api_legend(self, request: web.Request) -> web.Response:
        lang = status_language(self._status)
        view = self._status.get("view")  # a view's own keys (the teach view's digits)
        view = view if isinstance(view, str) else None
        actions = action_table(view)
        legend = {
            "lang": lang,
            "view": view,
            "legend": [
                [key_label(keys, lang), translate(what, lang)] for keys, what in key_legend(view)
            ],
            "keys": key_table(view),
            "actions": {name: translate(what, lang) for name, what in actions.items()},
            "once_per_press": [name for name in actions if once_per_press(name)],
        }
        return web.json_response(legend)

    async def _api_text(self, request: web.Request) -> web.Response:
        lang = status_language(self._status)
        return web.json_response({"lang": lang, "text": texts(lang), "values": value_names(lang)})

    # --- control -----------------------------------------------------------------

    def _check_control(self, request: web.Request) -> ActionQueue:
        """Refuse control from another site's page, without the token, or when view-only."""
        origin = request.headers.get("Origin")
        if origin is not None and not self.hosts.allows(urlsplit(origin).netloc or "-"):
            raise RequestRefusedError(403, f"control from the page {origin[:60]!r} is refused")
        # The Pi's own browser (the desktop's kiosk page) needs no token: whoever reaches
        # the loopback address is at the Pi already; the Host and Origin checks still hold.
        if self.token_required and not is_loopback_host(request.remote or ""):
            given = request.headers.get(TOKEN_HEADER) or request.query.get("token", "")
            if not given or not hmac.compare_digest(given.encode(), self.token.encode()):
                raise RequestRefusedError(403, text("token_needed", status_language(self._status)))
        if self.actions is None:
            raise RequestRefusedError(503, text("view_only", status_language(self._status)))
        return self.actions

    async def _api_key(self, request: web.Request) -> web.Response:
        queue = self._check_control(request)
        key = _name_field(await read_json_object(request, self.limits), "key")
        view = self._status.get("view")
        action = action_for_key(key, view if isinstance(view, str) else None)
        # Queued as a key: the loop gives it the meaning it has in the view shown then.
        if action is None or queue.put_key(key) is None:
            raise RequestRefusedError(400, f"key {key!r} is not bound to an action")
        return web.json_response({"key": key, "action": action})

    async def _api_action(self, request: web.Request) -> web.Response:
        queue = self._check_control(request)
        action = _name_field(await read_json_object(request, self.limits), "action")
        if action not in action_table():
            raise RequestRefusedError(400, f"unknown action {action!r}")
        queue.put(action)
        return web.json_response({"action": action})

    # --- frames -------------------------------------------------------------------

    def _take_viewer_slot(self) -> None:
        if self.stream_clients >= self.max_viewers:
            raise RequestRefusedError(
                503,
                text("too_many_viewers", status_language(self._status), max=self.max_viewers),
                reason="too_many_viewers",
                max_viewers=self.max_viewers,
            )
        self.stream_clients += 1

    async def _single_frame(self, request: web.Request) -> web.Response:
        self._take_viewer_slot()
        try:
            got = await self._hub.newer_than(self._hub.seq, self.limits.request_timeout)
        finally:
            self.stream_clients -= 1
        if got is None:
            raise RequestRefusedError(503, "no frame arrived in time; is convlens running?")
        return web.Response(body=got[1], content_type="image/jpeg")

    async def _stream(self, request: web.Request) -> web.StreamResponse:
        self._take_viewer_slot()
        try:
            response = web.StreamResponse(
                headers={"Content-Type": f"multipart/x-mixed-replace; boundary={BOUNDARY}"}
            )
            response.force_close()
            await response.prepare(request)
            if request.method != "HEAD":
                await send_frames(self._hub, request, response, self.limits.write_timeout)
            return response
        finally:
            self.stream_clients -= 1
