"""The README's key table is the one the action table renders, so they cannot drift."""

from pathlib import Path

from app.controls.actions import legend_markdown

README = Path(__file__).resolve().parents[1] / "README.md"


def test_readme_key_table_matches_the_action_table() -> None:
    assert legend_markdown().strip() in README.read_text(encoding="utf-8")


def test_readme_quick_start_names_the_two_make_targets() -> None:
    text = README.read_text(encoding="utf-8")
    quick = text.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    assert "make run" in quick and "make test" in quick
