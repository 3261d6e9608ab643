"""The command line: version, kernels, config errors (exit 78), bench JSON, classify, and run's
clean stop on SIGTERM/SIGINT (a subprocess: the source is closed, the process exits promptly)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import cv2
import numpy as np
import pytest

from app import __version__
from app.cli import EXIT_CONFIG, main

REPO = Path(__file__).resolve().parents[1]


def convlens(*args: str, timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "app", *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def test_version(capsys) -> None:
    with pytest.raises(SystemExit) as info:
        main(["--version"])
    assert info.value.code == 0
    assert capsys.readouterr().out.strip() == f"convlens {__version__}"


def test_kernels_lists_presets_and_custom_kernels(tmp_path, capsys) -> None:
    config = tmp_path / "c.toml"
    config.write_text("[kernels.custom]\nmy_edge = [[0, 0, 0], [-1, 0, 1], [0, 0, 0]]\n")
    assert main(["kernels", "--config", str(config)]) == 0
    out = capsys.readouterr().out
    assert "horizontal_edge  3x3" in out and "my_edge (custom)  3x3" in out
    assert "sobel_magnitude  3x3 (two kernels" in out
    # The matrix rows are printed: the horizontal edge's bottom row is 1 1 1.
    block = out.split("horizontal_edge  3x3")[1].split("\n\n")[0].splitlines()
    assert [row.split() for row in block[1:4]] == [["-1"] * 3, ["0"] * 3, ["1"] * 3]


def test_bad_config_exits_78_with_one_line(tmp_path) -> None:
    config = tmp_path / "c.toml"
    config.write_text("[view]\nstride = 9\n")
    result = convlens("run", "--config", str(config), "--display", "null")
    assert result.returncode == EXIT_CONFIG
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "[view] stride = 9" in lines[0] and "Traceback" not in result.stderr


def test_unknown_source_is_one_line_exit_78_naming_the_flag() -> None:
    # A config error (issue 13): systemd must stop, not restart, on a typo.
    result = convlens("run", "--source", "nonsense:7", "--display", "null")
    assert result.returncode == EXIT_CONFIG
    last = result.stderr.strip().splitlines()[-1]
    assert "--source = 'nonsense:7': unknown source" in last
    assert "Traceback" not in result.stderr


def test_bench_json_has_both_modes_and_says_what_total_covers(capsys) -> None:
    assert main(["bench", "--frames", "8", "--json", "--size", "320x240"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["frames"] == 8 and report["size"] == [320, 240] and report["view"] == "camera"
    assert report["covers"].startswith("stages+overlay+display")
    for mode in ("current_view", "all_views"):
        total = report[mode]["total"]
        assert total["median_ms"] > 0 and total["p99_ms"] >= total["median_ms"]
        assert report[mode]["frames_processed"] == 8
    assert set(report["current_view"]["stages"]) == {"digit"}
    from app.stages.pipeline import STAGE_ORDER

    assert set(report["all_views"]["stages"]) == set(STAGE_ORDER)


def test_bench_every_view_at_a_screen_size(capsys) -> None:
    from app.views import VIEWS, view_names

    argv = ["bench", "--frames", "3", "--json", "--size", "320x240", "--view", "all"]
    assert main([*argv, "--screen", "640x360"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["screen"] == [640, 360] and list(report["views"]) == list(view_names())
    for view in VIEWS:
        part = report["views"][view.name]
        assert part["frames_processed"] == 3 and part["total"]["median_ms"] > 0
        assert set(part["stages"]) == set(view.stages), view.name
    assert report["current_view"] == report["views"]["camera"]
    assert report["all_views"]["frames_processed"] == 3
    assert main(["bench", "--frames", "1", "--view", "nonesuch"]) == 78


def test_classify_json_lines_and_exit_status(tmp_path, capsys) -> None:
    good = tmp_path / "seven.png"
    image = np.full((200, 200, 3), 230, np.uint8)
    cv2.line(image, (50, 50), (150, 50), (20, 20, 20), 12)
    cv2.line(image, (150, 50), (80, 170), (20, 20, 20), 12)
    cv2.imwrite(str(good), image)
    assert main(["classify", str(good), "--json"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 1
    record = json.loads(lines[0])
    assert record["file"].endswith("seven.png") and record["error"] is None
    assert main(["classify", str(good), str(tmp_path / "missing.png"), "--json"]) == 1
    records = [json.loads(line) for line in capsys.readouterr().out.strip().splitlines()]
    assert len(records) == 2 and records[1]["error"]
    assert main(["classify", str(good)]) == 0
    table = capsys.readouterr().out
    assert "seven.png" in table and "digit" in table.splitlines()[0]


@pytest.mark.parametrize(
    ("name", "content", "why"),
    [
        ("absent.tflite", None, "does not exist"),
        ("notes.tflite", b"not a model at all", "notes.tflite"),
        ("weights.txt", b"0.1 0.2", "is not a .tflite or .npz model"),
    ],
)
def test_classify_with_a_model_it_cannot_load_is_a_config_error(
    tmp_path, capsys, name, content, why
) -> None:
    """Nothing can be classified: exit 78 with one line naming the flag, the file and why,
    as for every other setting that cannot work (README, exit status)."""
    photo = tmp_path / "digit.png"
    cv2.imwrite(str(photo), np.full((64, 64, 3), 230, np.uint8))
    model = tmp_path / name
    if content is not None:
        model.write_bytes(content)
    assert main(["classify", str(photo), "--model", str(model)]) == 78
    captured = capsys.readouterr()
    (line,) = captured.err.strip().splitlines()
    assert line.startswith("convlens: config error: --model: model file ") and why in line
    assert str(model) in line and captured.out == ""


def _start_run(*args: str) -> subprocess.Popen:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    env.pop("NOTIFY_SOCKET", None)
    return subprocess.Popen(
        [sys.executable, "-m", "app", "run", "--log-level", "info", *args],
        cwd=REPO,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )


def _wait_for(proc: subprocess.Popen, stream: str, text: str, timeout: float = 60) -> str:
    """Read ``stream`` line by line until ``text`` appears; return what was read."""
    pipe = proc.stdout if stream == "stdout" else proc.stderr
    seen = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = pipe.readline()
        if not line:
            break
        seen.append(line)
        if text in line:
            return "".join(seen)
    proc.kill()
    raise AssertionError(f"{text!r} not seen in {stream}: {''.join(seen)[-2000:]}")


@pytest.mark.slow
@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_run_stops_cleanly_on_a_signal_and_releases_the_source(signum: int) -> None:
    proc = _start_run("--source", "demo", "--display", "null", "--size", "320x240")
    _wait_for(proc, "stderr", "demo source:")
    time.sleep(1.0)  # let the loop run some frames
    sent = time.monotonic()
    proc.send_signal(signum)
    _, err = proc.communicate(timeout=30)
    took = time.monotonic() - sent
    print(f"exit {took:.2f} s after {signal.Signals(signum).name}")
    assert proc.returncode == 0, err
    assert "source closed: demo" in err
    assert "capture loop ended (stopped)" in err
    assert "Traceback" not in err


@pytest.mark.slow
def test_run_web_prints_the_url_and_waits_for_a_missing_camera() -> None:
    proc = _start_run("--source", "/dev/video99", "--display", "web", "--port", "0")
    out = _wait_for(proc, "stdout", "in a browser")
    assert "http://127.0.0.1:" in out
    err = _wait_for(proc, "stderr", "retrying in")
    assert "no camera" in err
    proc.send_signal(signal.SIGTERM)
    _, rest = proc.communicate(timeout=30)
    assert proc.returncode == 0 and "Traceback" not in rest


def test_run_flags_override_the_config_file(tmp_path) -> None:
    from app.cli import build_parser
    from app.cli_run import _run_overrides
    from app.config import load_config

    config_file = tmp_path / "c.toml"
    config_file.write_text('[source]\nspec = "usb:0"\nfps = 15\n[web]\nport = 9000\n')
    args = build_parser().parse_args(
        [
            "run",
            "--config",
            str(config_file),
            "--source",
            "demo:4",
            "--size",
            "320x240",
            "--view",
            "kernel",
            "--host",
            "0.0.0.0",
            "--model",
            "m.npz",
        ]
    )
    config = _run_overrides(load_config(args.config), args)
    assert config.source.spec == "demo:4" and config.source.size == (320, 240)
    assert config.source.fps == 15.0  # not given on the command line: the file's value
    assert config.web.host == "0.0.0.0" and config.web.port == 9000
    assert config.view.view == "kernel" and config.model.path == "m.npz"


def test_bad_size_flag_is_a_usage_error(capsys) -> None:
    with pytest.raises(SystemExit) as info:
        main(["run", "--size", "big"])
    assert info.value.code == 2
    assert "expected WIDTHxHEIGHT" in capsys.readouterr().err


def test_auto_backend_without_a_tflite_runtime_falls_back_to_numpy(monkeypatch, caplog) -> None:
    import app.classifier
    from app.classifier import classifier_factory
    from app.config import Config

    versions = {"ai-edge-litert": None, "tflite-runtime": None, "numpy": np.__version__}
    monkeypatch.setattr(app.classifier, "runtime_versions", lambda: versions)
    classifier = classifier_factory(Config())()
    assert classifier.backend == "numpy"
    assert "no TFLite runtime installed" in caplog.text


def test_auto_backend_uses_a_runtime_when_one_is_installed() -> None:
    from app.classifier import classifier_factory
    from app.config import Config

    assert classifier_factory(Config())().backend in ("litert", "tflite-runtime")


def test_local_console_is_told_apart_from_ssh(monkeypatch) -> None:
    from app import cli_run

    monkeypatch.setattr(sys.stdin, "fileno", lambda: 0, raising=False)
    for name, expected in [("/dev/tty1", True), ("/dev/console", True), ("/dev/pts/0", False)]:
        monkeypatch.setattr(os, "ttyname", lambda fd, name=name: name)
        assert cli_run._stdin_is_local_console() is expected


def test_keyboards_are_grabbed_only_when_the_display_owns_the_screen(monkeypatch, tmp_path):
    from app import cli_run
    from app.config import load_config
    from app.controls import evdev_input
    from app.controls.actions import ActionQueue
    from app.display.drm import DrmOverlayDisplay
    from app.display.fb import FramebufferDisplay
    from app.display.null import NullDisplay
    from app.display.web import WebViewer

    grabs = []

    class RecordingEvdev:
        def __init__(self, queue, *, grab=False):
            grabs.append(grab)

        def start(self):
            pass

    monkeypatch.setattr(evdev_input, "EvdevInput", RecordingEvdev)
    monkeypatch.setattr(sys, "stdin", None)  # no terminal: the evdev reader is the input
    config = load_config(None)
    cli_run._start_inputs(config, ActionQueue(), grab=True)
    cli_run._start_inputs(config, ActionQueue(), grab=False)
    assert grabs == [True, False]
    # Under a desktop the browser's page sends the keys: reading the keyboard too would
    # act twice on each key.
    assert cli_run._start_inputs(config, ActionQueue(), desktop="a desktop is running") == []
    assert grabs == [True, False]
    # HDMI and the framebuffer fill the Pi's screen; the web viewer and null do not.
    assert DrmOverlayDisplay.owns_screen and FramebufferDisplay(str(tmp_path / "fb0")).owns_screen
    assert not WebViewer.owns_screen and not NullDisplay.owns_screen
