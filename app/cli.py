"""The ``convlens`` command line: run, kernels, bench, classify, finetune, kiosk, console."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from app import __version__
from app.config import Config, load_config, parse_size
from app.errors import ConfigError, ConvlensError, ModelError

if TYPE_CHECKING:
    from app.sources.base import Source

log = logging.getLogger(__name__)

#: sysexits.h EX_CONFIG: systemd's unit treats it as "do not restart, fix the config".
EXIT_CONFIG = 78
EXIT_ERROR = 1
EXIT_INTERRUPTED = 130


def _size(text: str) -> tuple[int, int]:
    try:
        return parse_size(text)
    except ConfigError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from exc


def _common(p: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """The options every command takes."""
    p.add_argument("--config", metavar="FILE", help="TOML config (see config.example.toml)")
    p.add_argument(
        "--log-level",
        choices=("debug", "info", "warning", "error"),
        help="log level (default from the config: info); debug also prints tracebacks",
    )
    return p


def _add_run(sub: Any) -> None:
    run = _common(
        sub.add_parser("run", help="run the live app (camera -> stages -> screen/browser)")
    )
    run.add_argument(
        "--source", help="auto, picamera2, usb:N, /dev/videoN, file:PATH, images:DIR, demo[:SEED]"
    )
    run.add_argument("--display", help="auto, drm, fb[:DEV], web, file:PATH, null")
    run.add_argument("--view", help="the view to start in, by name (camera, kernel, ...)")
    run.add_argument("--host", help="web viewer address (default 127.0.0.1)")
    run.add_argument("--port", type=int, help="web viewer port (default 8000; 0 = any free)")
    run.add_argument("--model", metavar="FILE", help="classifier model (.tflite or .npz)")
    run.add_argument("--collect-dir", metavar="DIR", help="where the teach view saves samples")
    run.add_argument("--model-dir", metavar="DIR", help="where fine-tuned models go")
    run.add_argument(
        "--fps",
        type=float,
        help="frames per second asked of a camera; the pace of demo and images: sources "
        "(a video file plays at its own rate)",
    )
    run.add_argument("--size", type=_size, metavar="WxH", help="frame size, e.g. 640x480")
    run.add_argument("--seed", type=int, help="demo source seed")
    run.add_argument(
        "--screen", type=_size, metavar="WxH", help="draw the overlay at this resolution"
    )


def _add_bench_and_render(sub: Any) -> None:
    bench = _common(
        sub.add_parser("bench", help="time the pipeline on the demo source (null display)")
    )
    bench.add_argument("--frames", type=int, default=500, help="frames per mode (default 500)")
    bench.add_argument("--json", action="store_true", help="print one JSON object")
    bench.add_argument("--source", default="demo", help="source spec (default demo)")
    bench.add_argument("--size", type=_size, default=(640, 480), metavar="WxH")
    bench.add_argument(
        "--view", default="camera", help="the current view, or all (each view in turn)"
    )
    bench.add_argument(
        "--screen", type=_size, metavar="WxH", help="draw the overlay at this resolution"
    )
    bench.add_argument(
        "--cpu", action="store_true", help="time in process CPU time, not the wall clock"
    )
    bench.add_argument("--model", metavar="FILE", help="classifier model (.tflite or .npz)")

    render = _common(sub.add_parser("render", help="write views as PNG pictures (for slides)"))
    render.add_argument("--view", default="all", help="a view name, names with commas, or all")
    render.add_argument("--lang", default="all", help="es, en or all (default all)")
    render.add_argument("--screen", type=_size, default=(1920, 1080), metavar="WxH")
    render.add_argument("--source", default="demo", help="demo, demo:SEED or an image file")
    render.add_argument(
        "--set", action="append", default=[], metavar="KEY=VALUE",
        help="a [view] setting, e.g. --set kernel=sobel_x --set stride=2 (repeatable)",
    )  # fmt: skip
    render.add_argument("--model", metavar="FILE", help="classifier model (.tflite or .npz)")
    render.add_argument("--out", required=True, metavar="DIR", help="folder for the PNGs")


def build_parser() -> argparse.ArgumentParser:
    """The ``convlens`` command line: run, kernels, bench, render, classify, finetune."""
    parser = argparse.ArgumentParser(
        prog="convlens",
        description="Watch a convolutional neural network work, live, on a camera picture.",
    )
    parser.add_argument("--version", action="version", version=f"convlens {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    _add_run(sub)
    _common(sub.add_parser("kernels", help="list the kernel presets (and custom kernels)"))
    _add_bench_and_render(sub)
    from app.kiosk import add_kiosk_parser

    add_kiosk_parser(sub, _common)
    from app.console_mode import add_console_parser

    add_console_parser(sub, _common)
    classify = _common(sub.add_parser("classify", help="classify digit photos or scans"))
    classify.add_argument("images", nargs="+", metavar="IMAGE")
    classify.add_argument("--json", action="store_true", help="one JSON object per image per line")
    classify.add_argument("--model", metavar="FILE", help="classifier model (.tflite or .npz)")
    _add_finetune(sub)
    return parser


def _add_finetune(sub: Any) -> None:
    from training.finetune_cli import add_arguments

    add_arguments(_common(sub.add_parser("finetune", help="fine-tune the digit classifier "
                                         "on your handwriting")))  # fmt: skip


# ---- shared set-up ------------------------------------------------------------------


def load_args_config(args: argparse.Namespace) -> Config:
    """The ``--config`` file with ``--log-level`` applied."""
    config = load_config(args.config)
    if args.log_level:
        config = config.with_section("logging", level=args.log_level)
    return config


def ui_language(config: Config) -> str:
    """``[ui] language``, or the environment's locale's for "auto"; made the default."""
    from app.i18n import language_from_environment, set_default_language

    chosen = config.ui.language
    lang = language_from_environment() if chosen == "auto" else chosen
    set_default_language(lang)
    return lang


def setup_logging(level: str) -> None:
    """Log at ``level`` to stderr (the journal under systemd)."""
    from app.logging_setup import configure_logging

    configure_logging(level)


# ---- kernels, bench, classify ------------------------------------------------------------


def command_kernels(args: argparse.Namespace) -> int:
    import numpy as np

    from app.stages.kernels import KERNEL_PRESETS

    config = load_args_config(args)
    kernels: dict[str, Any] = dict(KERNEL_PRESETS)
    for name, rows in config.custom_kernels.items():
        kernels[name] = np.array(rows, np.float32)
    for name, matrix in kernels.items():
        tag = " (custom)" if name in config.custom_kernels else ""
        stack = matrix if matrix.ndim == 3 else matrix[None]
        shape = "x".join(str(v) for v in stack.shape[1:])
        note = " (two kernels; output = sqrt(gx^2 + gy^2))" if len(stack) == 2 else ""
        print(f"{name}{tag}  {shape}{note}")
        for k in stack:
            for row in k:
                print("    " + " ".join(f"{_cell(v):>7}" for v in row))
            if len(stack) > 1:
                print()
        print()
    return 0


def _cell(v: float) -> str:
    v = float(v)
    return str(int(v)) if v.is_integer() else f"{v:.4f}".rstrip("0")


def command_bench(args: argparse.Namespace) -> int:
    from app.bench import format_table, run_bench
    from app.sources.factory import make_source
    from app.stages.pipeline import build_pipeline
    from app.views import view_names

    config = load_args_config(args)
    if args.frames < 1:
        raise ConfigError(f"--frames {args.frames}: expected a positive number of frames")
    views = list(view_names()) if args.view == "all" else [args.view]
    config = config.with_section(
        "source", spec=args.source, width=args.size[0], height=args.size[1]
    ).with_section("view", view=views[0])
    if args.model is not None:
        config = config.with_section("model", path=args.model)
    # Benchmarks print figures; only warnings go to the log.
    setup_logging(args.log_level or "warning")
    pipeline = build_pipeline(config)
    src = config.source

    def new_source() -> Source:
        return make_source(
            src.spec, size=src.size, fps=src.fps, seed=src.seed, loop=True, realtime=False
        )

    report = run_bench(
        frames=args.frames,
        config=config,
        pipeline=pipeline,
        source_factory=new_source,
        views=views,
        screen=args.screen,
        cpu_time=args.cpu,
    )
    print(json.dumps(report) if args.json else format_table(report))
    return 0


def command_render(args: argparse.Namespace) -> int:
    from app.render import StillSource, check_choices, parse_settings, render_views
    from app.sources.factory import make_source
    from app.stages.pipeline import build_pipeline

    config = load_args_config(args)
    if args.model is not None:
        config = config.with_section("model", path=args.model)
    setup_logging(args.log_level or "warning")
    views, languages = check_choices(args.view, args.lang)
    state = parse_settings(config, args.set)
    pipeline = build_pipeline(config.with_section("view", kernel=state.kernel))
    src = config.source

    def new_source() -> Source:
        if args.source == "demo" or args.source.startswith("demo:"):
            return make_source(args.source, size=src.size, seed=src.seed, realtime=False)
        return StillSource(args.source, src.size)

    out = Path(args.out)
    for path in render_views(
        config, pipeline, new_source, views=views, languages=languages, state=state,
        screen=args.screen, out_dir=out,
    ):  # fmt: skip
        print(path)
    return 0


def command_classify(args: argparse.Namespace) -> int:
    from app.classifier import classifier_factory
    from app.jsonable import to_jsonable
    from app.photos import classify_files

    config = load_args_config(args)
    if args.model is not None:
        config = config.with_section("model", path=args.model)
    setup_logging(args.log_level or config.logging.level)
    try:
        classifier = classifier_factory(config)()
    except ModelError as exc:
        # Nothing can be classified: a setting to fix (exit 78), as for ``run``'s other
        # settings. ``run`` itself goes on without it (its kernel views still work).
        where = "--model" if args.model is not None else "[model] path"
        raise ConfigError(f"{where}: {exc}") from exc
    failed = False
    if not args.json:
        print(f"{'file':<40} {'digit':>5} {'conf':>6}  note")
    for result in classify_files(args.images, classifier):
        failed = failed or bool(result.get("error"))
        if args.json:
            print(json.dumps(to_jsonable(result)), flush=True)
            continue
        digit = result.get("digit")
        conf = result.get("confidence")
        note = result.get("error") or result.get("reason") or ""
        print(
            f"{result.get('file', '')!s:<40} {'-' if digit is None else digit:>5} "
            f"{'-' if conf is None else f'{float(conf):.2f}':>6}  {note}",
            flush=True,
        )
    return EXIT_ERROR if failed else 0


def _run_command(args: argparse.Namespace) -> int:
    from app.cli_run import command_run

    return command_run(args)


def command_finetune(args: argparse.Namespace) -> int:
    """``training.finetune_cli`` with the app's own preprocessing of each image file."""
    from app.model_paths import models_dir
    from training.finetune_cli import run_command

    setup_logging(args.log_level or "warning")
    if args.base is None:  # the shipped reference model, where the app finds its models
        args.base = models_dir() / "lenet.npz"
    return run_command(args, to_tensor=_collected_tensor)


def _collected_tensor(path: Path) -> tuple[Any, str | None]:
    """A collected ROI image as the live classifier's 28x28 input, or (None, reason)."""
    import cv2

    from app.imageio import PhotoError, read_photo
    from app.stages.mnist_preprocess import roi_to_mnist_tensor

    try:
        bgr = read_photo(path)
    except PhotoError as exc:
        return None, str(exc)
    # The live loop reads the camera's luminance (the Y plane) with the default work side.
    return roi_to_mnist_tensor(cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY))


def _kiosk_command(args: argparse.Namespace) -> int:
    from app.kiosk import command_kiosk

    config = load_args_config(args)
    setup_logging(config.logging.level)
    return command_kiosk(args, config)


def _console_command(args: argparse.Namespace) -> int:
    from app.console_mode import command_console

    setup_logging(args.log_level or "info")
    return command_console(args)


COMMANDS = {
    "run": _run_command,
    "kiosk": _kiosk_command,
    "console": _console_command,
    "kernels": command_kernels,
    "bench": command_bench,
    "classify": command_classify,
    "render": command_render,
    "finetune": command_finetune,
}


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``convlens`` and ``python -m app``; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    debug = args.log_level == "debug"
    try:
        return COMMANDS[args.command](args)
    except ConfigError as exc:
        if debug:
            raise
        print(f"convlens: config error: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    except ConvlensError as exc:
        if debug:
            raise
        print(f"convlens: {exc}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED
    except Exception as exc:
        if debug:
            raise
        print(
            f"convlens: internal error: {type(exc).__name__}: {exc} "
            "(run with --log-level debug for the traceback)",
            file=sys.stderr,
        )
        return EXIT_ERROR
