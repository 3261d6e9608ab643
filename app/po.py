"""Gettext catalogs without GNU gettext: read and write ``.po`` sources, write ``.mo`` files.

The build (``setup.py``), the runtime loader (``app.i18n``) and the catalog sync tool
(``app.i18n_sync``) share this small msgfmt. It uses the standard library only and
imports nothing from ``app``, so ``setup.py`` can load it by path in an isolated build.

What it reads: the PO format's ``msgctxt``, ``msgid``, ``msgid_plural``, ``msgstr``,
``msgstr[N]``, continuation lines, C escapes and the comment lines (``#``, ``#.``,
``#:``, ``#,``, ``#|``, ``#~`` for obsolete entries). What it writes to ``.mo``: like
``msgfmt``, the header and every translated entry that is not fuzzy nor obsolete, keys
sorted, no hash table (Python's ``gettext`` does not use one).
"""

from __future__ import annotations

import re
import struct
from dataclasses import dataclass, field
from pathlib import Path

MO_MAGIC = 0x950412DE
_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", '"': '"', "\\": "\\", "a": "\a", "b": "\b"}
_ESCAPES.update({"f": "\f", "v": "\v"})
_UNESCAPES = {v: f"\\{k}" for k, v in _ESCAPES.items()}
_KEYWORD = re.compile(r"^(msgctxt|msgid_plural|msgid|msgstr(?:\[(\d+)\])?)\s+(\".*)$")
_STRING = re.compile(r'^"((?:[^"\\]|\\.)*)"\s*$')


class POError(ValueError):
    """A ``.po`` file that cannot be read: the message names the file and line."""


@dataclass
class Entry:
    """One message of a catalog.

    ``msgstr`` holds one translation, or one per plural form when ``msgid_plural`` is
    set. ``references`` are the ``#:`` locations, ``flags`` the ``#,`` flags
    (``fuzzy``, ``python-brace-format``...), ``comments`` the translator's ``#`` lines.
    """

    msgid: str
    msgstr: list[str] = field(default_factory=lambda: [""])
    msgctxt: str | None = None
    msgid_plural: str | None = None
    references: list[str] = field(default_factory=list)
    flags: list[str] = field(default_factory=list)
    comments: list[str] = field(default_factory=list)
    extracted: list[str] = field(default_factory=list)
    obsolete: bool = False

    @property
    def key(self) -> str:
        """The ``.mo`` key: ``context\\x04msgid`` (with a context) or the msgid."""
        return self.msgid if self.msgctxt is None else f"{self.msgctxt}\x04{self.msgid}"

    @property
    def fuzzy(self) -> bool:
        return "fuzzy" in self.flags

    @property
    def translated(self) -> bool:
        """Every form has a translation and none is marked fuzzy."""
        return not self.fuzzy and all(self.msgstr) and bool(self.msgstr)


def unescape(text: str, where: str) -> str:
    """The C-escaped contents of a PO string literal as text."""
    out, i = [], 0
    while i < len(text):
        ch = text[i]
        if ch != "\\":
            out.append(ch)
            i += 1
            continue
        nxt = text[i + 1 : i + 2]
        if nxt not in _ESCAPES:
            raise POError(f'{where}: unknown escape \\{nxt}; expected one of \\n \\t \\" \\\\')
        out.append(_ESCAPES[nxt])
        i += 2
    return "".join(out)


def escape(text: str) -> str:
    """``text`` as the inside of a PO string literal."""
    return "".join(_UNESCAPES.get(ch, ch) for ch in text)


def read_po(text: str, name: str = "<po>") -> list[Entry]:
    """Parse PO ``text``; raise ``POError`` naming ``name`` and the line on bad input."""
    entries: list[Entry] = []
    current: Entry | None = None
    pending = Entry(msgid="")  # comments gathered before the next msgid
    field_name: str | None = None
    started = False  # the pending entry has a keyword line already

    def finish() -> None:
        nonlocal current, pending, started, field_name
        if current is not None:
            entries.append(current)
        current, pending, started, field_name = None, Entry(msgid=""), False, None

    for lineno, raw in enumerate(text.splitlines(), 1):
        where = f"{name}:{lineno}"
        line = raw.strip()
        obsolete = line.startswith("#~")
        if obsolete:
            line = line[2:].strip()
        if not line:
            finish()
            continue
        if line.startswith("#") and not obsolete:
            if started:
                finish()
            _comment(pending, line)
            continue
        match = _KEYWORD.match(line)
        if match:
            keyword, index, rest = match.groups()
            if keyword in ("msgctxt", "msgid") and started and field_name not in (None, "msgctxt"):
                finish()
            if current is None:
                current, started = pending, True
                current.msgstr = []
            current.obsolete = current.obsolete or obsolete
            field_name = keyword if index is None else f"msgstr[{index}]"
            _set_field(current, field_name, _literal(rest, where), where)
            continue
        if _STRING.match(line) and current is not None and field_name is not None:
            _append_field(current, field_name, _literal(line, where))
            continue
        raise POError(f"{where}: cannot read {raw.strip()[:60]!r}; expected a keyword or a string")
    finish()
    for entry in entries:
        if not entry.msgstr:
            raise POError(f"{name}: msgid {entry.msgid[:40]!r} has no msgstr")
    _check_unique(entries, name)
    return entries


def _comment(entry: Entry, line: str) -> None:
    kind, body = line[:2], line[2:].strip()
    if kind == "#:":
        entry.references.extend(body.split())
    elif kind == "#,":
        entry.flags.extend(f.strip() for f in body.split(",") if f.strip())
    elif kind == "#.":
        entry.extracted.append(body)
    elif kind == "#|":
        pass  # the previous msgid of a fuzzy entry: not needed once translated
    else:
        entry.comments.append(line[1:].strip())


def _literal(text: str, where: str) -> str:
    match = _STRING.match(text.strip())
    if match is None:
        raise POError(f"{where}: expected a string in double quotes, got {text[:60]!r}")
    return unescape(match.group(1), where)


def _set_field(entry: Entry, name: str, value: str, where: str) -> None:
    if name == "msgctxt":
        entry.msgctxt = value
    elif name == "msgid":
        entry.msgid = value
    elif name == "msgid_plural":
        entry.msgid_plural = value
    else:
        index = 0 if name == "msgstr" else int(name[7:-1])
        if index != len(entry.msgstr):
            raise POError(f"{where}: {name} out of order; expected msgstr[{len(entry.msgstr)}]")
        entry.msgstr.append(value)


def _append_field(entry: Entry, name: str, value: str) -> None:
    if name == "msgctxt":
        entry.msgctxt = (entry.msgctxt or "") + value
    elif name == "msgid":
        entry.msgid += value
    elif name == "msgid_plural":
        entry.msgid_plural = (entry.msgid_plural or "") + value
    else:
        entry.msgstr[-1] += value


def _check_unique(entries: list[Entry], name: str) -> None:
    seen: set[str] = set()
    for entry in entries:
        if entry.obsolete:
            continue
        if entry.key in seen:
            raise POError(f"{name}: msgid {entry.msgid[:40]!r} appears twice")
        seen.add(entry.key)


def write_po(entries: list[Entry]) -> str:
    """The catalog as PO text: one blank line between entries, one line per string."""
    blocks = []
    for entry in entries:
        prefix = "#~ " if entry.obsolete else ""
        lines = [f"# {c}".rstrip() for c in entry.comments]
        lines += [f"#. {c}" for c in entry.extracted]
        if entry.references:
            lines.append("#: " + " ".join(entry.references))
        if entry.flags:
            lines.append("#, " + ", ".join(entry.flags))
        if entry.msgctxt is not None:
            lines.append(f'{prefix}msgctxt "{escape(entry.msgctxt)}"')
        lines.append(f"{prefix}msgid {_po_string(entry.msgid, prefix)}")
        if entry.msgid_plural is None:
            lines.append(f"{prefix}msgstr {_po_string(entry.msgstr[0], prefix)}")
        else:
            lines.append(f'{prefix}msgid_plural "{escape(entry.msgid_plural)}"')
            for i, text in enumerate(entry.msgstr):
                lines.append(f"{prefix}msgstr[{i}] {_po_string(text, prefix)}")
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks) + "\n"


def _po_string(text: str, prefix: str) -> str:
    """A string literal; multi-line texts as one literal per line, as msgmerge writes them."""
    parts = text.splitlines(keepends=True)
    if len(parts) <= 1:
        return f'"{escape(text)}"'
    return '""\n' + "\n".join(f'{prefix}"{escape(p)}"' for p in parts)


def write_mo(entries: list[Entry]) -> bytes:
    """The ``.mo`` bytes of ``entries``: the header and every translated, current entry."""
    pairs: dict[bytes, bytes] = {}
    for entry in entries:
        if entry.obsolete or not (entry.translated or entry.msgid == ""):
            continue
        key = entry.key
        if entry.msgid_plural is not None:
            key += "\0" + entry.msgid_plural
        pairs[key.encode("utf-8")] = "\0".join(entry.msgstr).encode("utf-8")
    keys = sorted(pairs)
    n = len(keys)
    header_size = 7 * 4
    originals_at = header_size
    translations_at = originals_at + 8 * n
    data_at = translations_at + 8 * n
    blob = bytearray()
    table_o, table_t = [], []
    for table, strings in ((table_o, keys), (table_t, [pairs[k] for k in keys])):
        for s in strings:
            table.append((len(s), data_at + len(blob)))
            blob += s + b"\0"
    out = struct.pack("<7I", MO_MAGIC, 0, n, originals_at, translations_at, 0, data_at)
    for length, offset in table_o + table_t:
        out += struct.pack("<2I", length, offset)
    return out + bytes(blob)


def compile_po(po_path: Path, mo_path: Path) -> int:
    """Compile ``po_path`` into ``mo_path`` (folders made); return the messages written."""
    entries = read_po(po_path.read_text(encoding="utf-8"), str(po_path))
    data = write_mo(entries)
    mo_path.parent.mkdir(parents=True, exist_ok=True)
    tmp = mo_path.with_suffix(".mo.tmp")
    tmp.write_bytes(data)
    tmp.replace(mo_path)  # readers never see half a catalog
    return struct.unpack_from("<I", data, 8)[0]


def compile_tree(locale_dir: Path, out_dir: Path | None = None) -> list[Path]:
    """Compile every ``<lang>/LC_MESSAGES/*.po`` under ``locale_dir`` (into ``out_dir``,
    the same tree layout, or beside each source); return the ``.mo`` paths written."""
    written = []
    for po_path in sorted(locale_dir.glob("*/LC_MESSAGES/*.po")):
        relative = po_path.relative_to(locale_dir).with_suffix(".mo")
        mo_path = (out_dir or locale_dir) / relative
        compile_po(po_path, mo_path)
        written.append(mo_path)
    return written
