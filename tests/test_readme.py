"""The README's key table is the one the action table renders, and its class section's
render commands are ones ``convlens render`` takes, so they cannot drift."""

import re
import shlex
from pathlib import Path

from app import views
from app.cli import build_parser
from app.config import config_from_dict
from app.controls.actions import legend_markdown
from app.render import check_choices, parse_settings

README = Path(__file__).resolve().parents[1] / "README.md"


def test_readme_key_table_matches_the_action_table() -> None:
    assert legend_markdown().strip() in README.read_text(encoding="utf-8")


def test_readme_quick_start_names_the_two_make_targets() -> None:
    text = README.read_text(encoding="utf-8")
    quick = text.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    assert "make run" in quick and "make test" in quick


def _class_section() -> str:
    text = README.read_text(encoding="utf-8")
    return text.split("## Para la clase / For the class", 1)[1].split("\n## ", 1)[0]


def _render_commands() -> list[str]:
    return re.findall(r"`(convlens render [^`]*)`", _class_section())


def test_every_render_command_for_the_class_parses_and_its_settings_are_valid() -> None:
    commands = _render_commands()
    assert len(commands) >= 20, commands
    parser = build_parser()
    for command in commands:
        args = parser.parse_args(shlex.split(command)[1:])
        check_choices(args.view, args.lang)
        parse_settings(config_from_dict({}), args.set)


def test_the_class_section_renders_every_view_in_every_mode() -> None:
    shown = set()
    for command in _render_commands():
        args = build_parser().parse_args(shlex.split(command)[1:])
        state = parse_settings(config_from_dict({}), args.set)
        for view in check_choices(args.view, args.lang)[0]:
            shown.add((view, state.mode))
    wanted = {(v.name, m) for v in views.VIEWS for m in range(max(1, len(v.modes)))}
    assert wanted <= shown, sorted(wanted - shown)
