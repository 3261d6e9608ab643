"""``convlens run``: the source, the display, the key inputs and the capture loop, put
together, run until stopped, and taken apart in reverse order."""

from __future__ import annotations

import argparse
import logging
import os
import re
import sys
import threading
from typing import TYPE_CHECKING, Any

from app.cli import load_args_config, setup_logging, ui_language
from app.config import Config
from app.config_paths import check_config_paths
from app.config_start import Origins, check_at_start
from app.stages.pipeline import Pipeline, build_pipeline

if TYPE_CHECKING:
    from app.learn.teacher import Teacher

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
    for key in ("collect_dir", "model_dir"):
        if getattr(args, key, None) is not None:
            config = config.with_section("learn", **{key: getattr(args, key)})
    return config


def command_run(args: argparse.Namespace) -> int:
    from app.controls.actions import ActionQueue
    from app.device_watch import DeviceWatch
    from app.loop import CaptureLoop, LoopOptions
    from app.run_devices import RunDevices
    from app.sdnotify import SystemdNotifier
    from app.signals import install_signal_handlers, restore_signal_handlers

    config = _run_overrides(load_args_config(args), args)
    check_config_paths(config)
    given = {"source": args.source, "display": args.display, "host": args.host}
    check_at_start(config, Origins.of(args.config, {k: v is not None for k, v in given.items()}))
    setup_logging(config.logging.level)
    pipeline, teacher = _pipeline_and_teacher(config)
    state = config.view.with_changes(language=ui_language(config))
    actions = ActionQueue()
    devices = RunDevices(config, actions)
    stop = threading.Event()
    previous = install_signal_handlers(stop)
    inputs: list[Any] = []
    source, display, watch = None, None, None
    try:
        source, display = devices.start()
        if display.url:
            print(f"convlens: open {display.url} in a browser (Ctrl-C to stop)", flush=True)
        watch = DeviceWatch(devices, display)
        options = LoopOptions(
            faults=config.faults,
            snapshot_dir=config.snapshot.directory,
            interactive=sys.stdin is not None and sys.stdin.isatty(),
            size=config.source.size,
            screen=config.display.screen_size,
            watch=watch,
            teacher=teacher,
        )
        inputs = _start_inputs(config, actions, grab=display.owns_screen,
                               desktop=devices.desktop())  # fmt: skip
        display.on_switch = _regrab(inputs)
        watch.start()
        loop = CaptureLoop(
            source, display, pipeline, state=state, actions=actions,
            notifier=SystemdNotifier(), options=options, stop_event=stop,
        )  # fmt: skip
        # Read at each sample: the watch may swap the source (a camera plugged in).
        teacher.source_name = lambda: loop.source.description
        loop.run()
        source = loop.source  # the watch may have swapped it
    finally:
        teacher.close()  # a fine-tune still running is stopped: nothing is installed
        if watch is not None:
            watch.stop()
        for item in inputs:
            item.stop()
        if display is not None:
            display.close()
        if source is not None:
            source.close()  # the loop closed it already, unless it never ran
        restore_signal_handlers(previous)
    return 0


def _pipeline_and_teacher(config: Config) -> tuple[Pipeline, Teacher]:
    """The stages for the model to start on (the current fine-tuned one when there is
    one and it loads, else the configured one) and the teach view's teacher."""
    from app.learn.models import start_choice
    from app.learn.teacher import Teacher, teach_settings

    learn = teach_settings(config)
    model = start_choice(config, learn.model_dir)
    pipeline = build_pipeline(config, model.path if model.finetuned else None)
    return pipeline, Teacher(config, learn, model)


def _regrab(inputs: list[Any]) -> Any:
    """What a display switch does to the keyboards: grabbed when the new display owns the
    screen (HDMI, framebuffer), released when it does not."""

    def regrab(display: Any) -> None:
        for item in inputs:
            if hasattr(item, "set_grab"):
                item.set_grab(display.owns_screen)

    return regrab


def _start_inputs(
    config: Config, actions: Any, *, grab: bool = False, desktop: str | None = None
) -> list[Any]:
    inputs: list[Any] = []
    if config.controls.terminal and sys.stdin is not None and sys.stdin.isatty():
        from app.controls.terminal_input import TerminalInput

        terminal = TerminalInput(actions)
        if terminal.start():
            inputs.append(terminal)
    if config.controls.evdev and desktop is not None:
        # The desktop's browser sends the keys typed on its page: evdev would act twice.
        log.info("USB keyboard input off: %s, keys come from the viewer page", desktop)
    elif config.controls.evdev and inputs and _stdin_is_local_console():
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
