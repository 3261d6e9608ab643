"""Keep the catalogs in step with the code: find every ``tr``/``tr_n``/``N_`` text, sync ``.po``s.

``python -m app.i18n_sync`` adds each new text to every catalog (empty, to be
translated), drops the ones no code uses any more, and writes the catalog in a
merge-friendly order: one section per module (modules sorted by path), texts sorted
within it. ``--check`` only says what would change (exit 1 when something would).
``tests/test_i18n.py`` uses ``extract_messages`` to fail on a missing, untranslated or
fuzzy text.

Texts are found with an AST walk of ``app/``: calls to ``tr``/``N_`` with one string
literal, and ``tr_n`` with two. A call with an f-string, a ``+`` or a ``%`` expression
is reported as a problem (a catalog cannot hold a text built at run time).
"""

from __future__ import annotations

import argparse
import ast
import sys
from dataclasses import dataclass, field
from pathlib import Path

from app.i18n import DOMAIN, LANGUAGES, LOCALE_DIR
from app.po import Entry, read_po, write_po

APP_DIR = Path(__file__).resolve().parent
ROOT = APP_DIR.parent
#: The marking functions: name -> how many leading arguments are texts.
KEYWORDS = {"tr": 1, "N_": 1, "tr_n": 2}


@dataclass
class Message:
    """One text found in the code: its msgid, plural msgid and the modules using it."""

    msgid: str
    plural: str | None = None
    modules: list[str] = field(default_factory=list)


@dataclass
class Extraction:
    """The texts found (msgid -> Message) and the calls that cannot be extracted."""

    messages: dict[str, Message] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)


def _called_name(node: ast.Call) -> str | None:
    if isinstance(node.func, ast.Name):
        return node.func.id
    if isinstance(node.func, ast.Attribute):
        return node.func.attr
    return None


def extract_file(path: Path, found: Extraction) -> None:
    """Add the texts of one Python file to ``found``."""
    module = path.resolve().relative_to(ROOT).as_posix()
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        name = _called_name(node)
        count = KEYWORDS.get(name or "")
        if count is None or len(node.args) < count:
            continue
        texts = node.args[:count]
        if all(isinstance(a, ast.Constant) and isinstance(a.value, str) for a in texts):
            msgid = texts[0].value  # type: ignore[attr-defined]
            plural = texts[1].value if count == 2 else None  # type: ignore[attr-defined]
            message = found.messages.setdefault(msgid, Message(msgid, plural))
            if module not in message.modules:
                message.modules.append(module)
        elif name == "N_" or any(isinstance(a, (ast.JoinedStr, ast.BinOp)) for a in texts):
            found.problems.append(
                f"{module}:{node.lineno}: {name}() needs a string literal, not a text built "
                "at run time (translate the template, then .format it)"
            )


def extract_messages(app_dir: Path = APP_DIR) -> Extraction:
    """Every text the code marks for translation, from all of ``app/``."""
    found = Extraction()
    for path in sorted(app_dir.rglob("*.py")):
        extract_file(path, found)
    return found


def catalog_path(lang: str) -> Path:
    """``app/locale/<lang>/LC_MESSAGES/convlens.po``."""
    return LOCALE_DIR / lang / "LC_MESSAGES" / f"{DOMAIN}.po"


def header_entry(lang: str) -> Entry:
    """A new catalog's header (UTF-8, the language's plural rule)."""
    header = (
        "Project-Id-Version: convlens\n"
        f"Language: {lang}\n"
        "MIME-Version: 1.0\n"
        "Content-Type: text/plain; charset=UTF-8\n"
        "Content-Transfer-Encoding: 8bit\n"
        "Plural-Forms: nplurals=2; plural=(n != 1);\n"
    )
    return Entry(msgid="", msgstr=[header])


def synced_entries(existing: list[Entry], found: Extraction, lang: str) -> list[Entry]:
    """The catalog for ``found``: header, then per module (sorted) its texts (sorted),
    keeping the translations, flags and comments ``existing`` already has."""
    by_id = {e.msgid: e for e in existing if not e.obsolete and e.msgctxt is None}
    header = by_id.get("") or header_entry(lang)
    entries = [header]
    messages = sorted(found.messages.values(), key=lambda m: (min(m.modules), m.msgid))
    for message in messages:
        old = by_id.get(message.msgid)
        forms = 2 if message.plural is not None else 1
        msgstr = list(old.msgstr) if old is not None else []
        msgstr = (msgstr + [""] * forms)[:forms]
        entries.append(
            Entry(
                msgid=message.msgid,
                msgid_plural=message.plural,
                msgstr=msgstr,
                references=sorted(message.modules),
                flags=list(old.flags) if old is not None else [],
                comments=list(old.comments) if old is not None else [],
            )
        )
    return entries


def sync(lang: str, found: Extraction, *, write: bool) -> list[str]:
    """Bring one catalog in step with ``found``; return what changed (one line each)."""
    path = catalog_path(lang)
    existing = read_po(path.read_text(encoding="utf-8"), str(path)) if path.exists() else []
    entries = synced_entries(existing, found, lang)
    old_ids = {e.msgid for e in existing if not e.obsolete}
    new_ids = {e.msgid for e in entries}
    changes = [f"{path.name} ({lang}): new {m!r}" for m in sorted(new_ids - old_ids) if m]
    changes += [f"{path.name} ({lang}): unused {m!r}" for m in sorted(old_ids - new_ids) if m]
    text = write_po(entries)
    old_text = path.read_text(encoding="utf-8") if path.exists() else ""
    if text != old_text and not changes:
        changes.append(f"{path.name} ({lang}): order or references")
    if write and text != old_text:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return changes


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m app.i18n_sync", description=__doc__)
    parser.add_argument("--check", action="store_true", help="change nothing; exit 1 if needed")
    args = parser.parse_args(argv)
    found = extract_messages()
    for problem in found.problems:
        print(problem, file=sys.stderr)
    changed = False
    for lang in LANGUAGES[1:]:
        for line in sync(lang, found, write=not args.check):
            changed = True
            print(line)
    return 1 if found.problems or (args.check and changed) else 0


if __name__ == "__main__":
    sys.exit(main())
