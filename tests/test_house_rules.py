"""The house rules that keep the live app easy to change, checked on every run."""

from __future__ import annotations

import ast
import inspect
import re
from pathlib import Path

from app.loop import CaptureLoop

APP = Path(__file__).resolve().parents[1] / "app"
MAX_MODULE_LINES = 400
MAX_FUNCTION_LINES = 60


def app_modules() -> list[Path]:
    return sorted(APP.rglob("*.py"))


def test_no_module_in_app_is_over_400_lines() -> None:
    long = {}
    for path in app_modules():
        lines = len(path.read_text(encoding="utf-8").splitlines())
        if lines > MAX_MODULE_LINES:
            long[str(path.relative_to(APP.parent))] = lines
    assert not long, f"modules over {MAX_MODULE_LINES} lines: {long}"


def test_no_function_in_app_is_over_60_lines() -> None:
    long = {}
    for path in app_modules():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                lines = node.end_lineno - node.lineno + 1
                if lines > MAX_FUNCTION_LINES:
                    long[f"{path.relative_to(APP.parent)}:{node.lineno} {node.name}"] = lines
    assert not long, f"functions over {MAX_FUNCTION_LINES} lines: {long}"


def test_the_capture_loop_takes_at_most_8_parameters() -> None:
    parameters = [p for p in inspect.signature(CaptureLoop.__init__).parameters if p != "self"]
    assert len(parameters) <= 8, parameters


def test_stages_hand_on_typed_results_not_string_keys() -> None:
    """``"kernel.image"``-style keys between stages and views: a rename passed every test."""
    key = re.compile(r"""["'](kernel|pool|digit|features)\.\w""")
    found = [
        f"{path.relative_to(APP.parent)}:{number}: {line.strip()}"
        for path in APP.rglob("*")
        if path.is_file() and path.suffix in (".py", ".js", ".html")
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if key.search(line)
    ]
    assert not found, found
