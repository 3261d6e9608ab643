"""``convlens run``: the source, the display, the key inputs and the capture loop, put
together, run until stopped, and taken apart in reverse order."""

from __future__ import annotations

import argparse
import logging
import os
import re
import sys
import threading
from typing import Any

from app.cli import load_args_config, setup_logging, ui_language
from app.config import Config
from app.config_paths import check_config_paths
from app.config_start import Origins, check_at_start
from app.errors import DisplayError, one_line
from app.sources.base import Source
from app.stages.pipeline import build_pipeline

log = logging.getLogger(__name__)


def _run_overrides(config: Config, args: argparse.Namespace) -> Config:
    source: dict[str, Any] = {}
    if args.source is not None:
        source["spec"] = args.source
    if args.fps is not None:
        source["fps"] = args.fps
    if args.size is not None:
        source["width"], source["height"] = args.size
    if args.seed is not None:
        source["seed"] = args.seed
    if source:
        config = config.with_section("source", **source)
    if args.display is not None:
        config = config.with_section("display", spec=args.display)
    if args.screen is not None:
        config = config.with_section("display", screen="{}x{}".format(*args.screen))
    web: dict[str, Any] = {}
    if args.host is not None:
        web["host"] = args.host
    if args.port is not None:
        web["port"] = args.port
    if web:
        config = config.with_section("web", **web)
    if args.view is not None:
        config = config.with_section("view", view=args.view)
    if args.model is not None:
        config = config.with_section("model", path=args.model)
    return config


def _open_display(config: Config, source: Any, actions: Any) -> Any:
    """Open the configured display; on failure open ``[display] fallback`` (logged)."""
    from app.display.factory import make_display

    spec = config.display.spec

    def make(name: str) -> Any:
        return make_display(
            name,
            source=source,
            host=config.web.host,
            port=config.web.port,
            actions=actions,
            fps=config.source.fps,
        )

    display = make(spec)
    try:
        display.open()
        return display
    except DisplayError as exc:
        fallback = config.display.fallback
        if fallback == "none" or spec.strip().lower() == fallback:
            raise
        log.warning("display %s failed to open (%s); falling back to %s", spec, exc, fallback)
    display = make(fallback)
    display.open()
    return display


def _picamera2_preview(config: Config, probe_source: Any) -> str:
    """ "drm" when the display will be picamera2's HDMI preview, else "null"."""
    spec = config.display.spec.strip().lower()
    if spec == "drm":
        return "drm"
    if spec == "auto":
        from app.display.factory import choose_auto_display

        name, _ = choose_auto_display(probe_source)
        return "drm" if name == "drm" else "null"
    return "null"


def _run_source(config: Config) -> Source:
    """The configured source; opened first when the DRM display will draw on its camera.

    Opening may fail with anything (a camera missing, a PermissionError from the DMA
    heap, a libcamera or NumPy ABI error): logged in one line, and the capture loop
    keeps retrying it with the message on screen. Only the DRM display needs the camera
    before the loop starts; every other source is opened by the loop.
    """
    from app.sources.factory import make_source

    src = config.source

    def new_source(preview: str) -> Source:
        return make_source(
            src.spec, size=src.size, fps=src.fps, seed=src.seed, loop=src.loop,
            realtime=True, picamera2_preview=preview,
        )  # fmt: skip

    source = new_source("null")
    preview = _picamera2_preview(config, source)
    if preview == "null":
        return source
    source = new_source(preview)
    try:
        source.open()
    except Exception as exc:  # see the docstring: never a crash and a restart loop
        log.warning("source %s did not open (%s); the loop keeps retrying", src.spec, one_line(exc))
    return source


def command_run(args: argparse.Namespace) -> int:
    from app.controls.actions import ActionQueue
    from app.loop import CaptureLoop, LoopOptions, install_signal_handlers, restore_signal_handlers
    from app.sdnotify import SystemdNotifier

    config = _run_overrides(load_args_config(args), args)
    check_config_paths(config)
    given = {"source": args.source, "display": args.display, "host": args.host}
    check_at_start(config, Origins.of(args.config, {k: v is not None for k, v in given.items()}))
    setup_logging(config.logging.level)
    pipeline = build_pipeline(config)
    state = config.view.with_changes(language=ui_language(config))
    source = _run_source(config)
    actions = ActionQueue()
    stop = threading.Event()
    previous = install_signal_handlers(stop)
    inputs: list[Any] = []
    display = None
    try:
        display = _open_display(config, source, actions)
        url = getattr(display, "url", None)
        if url:
            print(f"convlens: open {url} in a browser (Ctrl-C to stop)", flush=True)
        options = LoopOptions(
            faults=config.faults,
            snapshot_dir=config.snapshot.directory,
            interactive=sys.stdin is not None and sys.stdin.isatty(),
            size=config.source.size,
            screen=config.display.screen_size,
        )
        inputs = _start_inputs(config, actions, grab=display.owns_screen)
        loop = CaptureLoop(
            source, display, pipeline, state=state, actions=actions,
            notifier=SystemdNotifier(), options=options, stop_event=stop,
        )  # fmt: skip
        loop.run()
    finally:
        for item in inputs:
            item.stop()
        if display is not None:
            display.close()
        source.close()  # the loop closed it already, unless it never ran
        restore_signal_handlers(previous)
    return 0


def _start_inputs(config: Config, actions: Any, *, grab: bool = False) -> list[Any]:
    inputs: list[Any] = []
    if config.controls.terminal and sys.stdin is not None and sys.stdin.isatty():
        from app.controls.terminal_input import TerminalInput

        terminal = TerminalInput(actions)
        if terminal.start():
            inputs.append(terminal)
    if config.controls.evdev and inputs and _stdin_is_local_console():
        # The console already delivers the USB keyboard's keys: evdev would act twice.
        log.info("USB keyboard input off: keys come from the local console")
    elif config.controls.evdev:
        from app.controls.evdev_input import EvdevInput

        try:
            evdev = EvdevInput(actions, grab=grab)
            evdev.start()
            inputs.append(evdev)
        except OSError as exc:
            log.info("USB keyboard input off: %s", exc)
    return inputs


def _stdin_is_local_console() -> bool:
    """True when stdin is a Linux virtual console (``/dev/ttyN``), not SSH or a pty."""
    try:
        name = os.ttyname(sys.stdin.fileno())
    except (OSError, AttributeError, ValueError):
        return False
    return name == "/dev/console" or re.fullmatch(r"/dev/tty\d+", name) is not None
