"""Run an aiohttp application on its own thread and event loop; stop it by Event and join.

The capture loop is synchronous; the server is asynchronous. Keeping the server on
one thread with its own loop means the capture loop never waits for the network,
and ``stop`` ends it the way every convlens thread ends: set an Event, join.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections.abc import Callable

from aiohttp import web

from app.display.http_guard import ConnectionGuard, GuardedSite, HttpLimits

log = logging.getLogger(__name__)

#: Seconds ``stop`` gives open answers (streams) to finish before they are cut.
SHUTDOWN_GRACE = 1.0


class ServerThread:
    """Serves the application ``make_app()`` builds on ``host:port`` until ``stop``.

    ``make_app`` is called on the server thread (aiohttp objects belong to the loop
    that made them). ``call_soon`` runs a callable on that loop from any thread.
    """

    def __init__(
        self,
        make_app: Callable[[], web.Application],
        host: str,
        port: int,
        limits: HttpLimits,
        name: str = "web-http",
    ) -> None:
        self.host, self.port, self.limits = host, port, limits
        self.guard = ConnectionGuard(limits)
        self._make_app = make_app
        self._name = name
        self._stop = threading.Event()
        self._ready = threading.Event()
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._wake: asyncio.Event | None = None
        self._error: BaseException | None = None

    def start(self) -> None:
        """Start serving; returns once the socket listens. Raises the bind error (OSError)."""
        self._stop.clear()
        self._ready.clear()
        self._error = None
        self._thread = threading.Thread(target=self._run, name=self._name)
        self._thread.start()
        self._ready.wait()
        if self._error is not None:
            self._thread.join()
            self._thread = None
            raise self._error

    def call_soon(self, callback: Callable[..., object], *args: object) -> None:
        """Run ``callback(*args)`` on the server's loop (safe from any thread)."""
        loop = self._loop
        if loop is not None and not self._stop.is_set():
            # RuntimeError: the loop closed between the check and the call.
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(callback, *args)

    def stop(self) -> None:
        """Close every connection, stop the loop, join the thread."""
        if self._thread is None:
            return
        self._stop.set()
        loop, wake = self._loop, self._wake
        if loop is not None and wake is not None:
            # RuntimeError: the loop already ended (its thread is joined below).
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(wake.set)
        self._thread.join()
        self._thread = None

    def _run(self) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        try:
            loop.run_until_complete(self._serve())
        finally:
            self._loop = None
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()

    async def _serve(self) -> None:
        self._wake = asyncio.Event()
        app = self._make_app()
        app.middlewares.insert(0, self.guard.middleware)
        runner = web.AppRunner(
            app,
            handle_signals=False,
            access_log=None,
            shutdown_timeout=SHUTDOWN_GRACE,
            **self.limits.handler_args(),
        )
        try:
            await runner.setup()
            site = GuardedSite(runner, self.host, self.port, self.guard)
            await site.start()
            self.port = site.port
        except OSError as exc:
            self._error = exc
            await runner.cleanup()
            self._ready.set()
            return
        self._ready.set()
        try:
            while not self._stop.is_set():
                await self._wake.wait()
        finally:
            await runner.cleanup()
