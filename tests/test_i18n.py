"""Translations: every text the app shows is in every catalog, translated; the small msgfmt
writes catalogs Python's gettext reads; the language follows the config, the locale and a key."""

from __future__ import annotations

import gettext
import importlib.util
import io
import re
import shutil
import string
import types
from pathlib import Path

import pytest

from app import i18n
from app.controls.actions import action_table, apply_action, key_table
from app.i18n import LANGUAGES, language, language_from_environment, tr, translate
from app.i18n_sync import catalog_path, extract_messages, synced_entries
from app.po import Entry, POError, compile_tree, read_po, write_mo, write_po
from app.state import ViewState

REPO = Path(__file__).resolve().parent.parent
CATALOGS = LANGUAGES[1:]


def catalog_entries(lang: str) -> dict[str, Entry]:
    path = catalog_path(lang)
    return {e.msgid: e for e in read_po(path.read_text(encoding="utf-8"), str(path)) if e.msgid}


# --- the catalogs against the code ----------------------------------------------------


def test_no_text_is_built_at_run_time_inside_tr() -> None:
    assert extract_messages().problems == []


@pytest.mark.parametrize("lang", CATALOGS)
def test_every_text_the_app_shows_is_translated(lang: str) -> None:
    found = extract_messages().messages
    entries = catalog_entries(lang)
    missing = sorted(set(found) - set(entries))
    assert not missing, f"not in {lang}.po (run python -m app.i18n_sync): {missing[:10]}"
    untranslated = sorted(m for m in found if not entries[m].translated)
    assert not untranslated, f"untranslated or fuzzy in {lang}.po: {untranslated[:10]}"


@pytest.mark.parametrize("lang", CATALOGS)
def test_catalogs_hold_no_text_the_app_no_longer_uses(lang: str) -> None:
    unused = sorted(set(catalog_entries(lang)) - set(extract_messages().messages))
    assert not unused, f"{lang}.po has texts no code uses (run python -m app.i18n_sync): {unused}"


@pytest.mark.parametrize("lang", CATALOGS)
def test_catalogs_are_in_the_merge_friendly_order_the_sync_tool_writes(lang: str) -> None:
    path = catalog_path(lang)
    existing = read_po(path.read_text(encoding="utf-8"), str(path))
    expected = write_po(synced_entries(existing, extract_messages(), lang))
    assert path.read_text(encoding="utf-8") == expected, "run python -m app.i18n_sync"


def _fields(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name is not None}


@pytest.mark.parametrize("lang", CATALOGS)
def test_translations_keep_every_placeholder(lang: str) -> None:
    for msgid, entry in catalog_entries(lang).items():
        for msgstr in entry.msgstr:
            assert _fields(msgstr) == _fields(msgid), f"{msgid!r} -> {msgstr!r}"


def test_spanish_uses_the_course_terms() -> None:
    with language("es"):
        assert tr("kernel {name}").startswith("núcleo")
        assert tr("stride {n}").startswith("paso")
        assert tr("padding {name}").startswith("relleno")
        assert "agrupamiento" in tr("{mode} pooling")
        assert tr("activation {name}").startswith("activación")


def test_spanish_calls_a_digit_digito_everywhere() -> None:
    """The course says "dígito": the card did, the "why" and LeNet views said "cifra".
    Every text about a digit says "dígito", and "cifra" is nowhere (it reads as either)."""
    digit = re.compile(r"\bdigits?\b", re.IGNORECASE)
    for msgid, entry in catalog_entries("es").items():
        for msgstr in entry.msgstr:
            assert "cifra" not in msgstr.lower(), f"{msgid!r} -> {msgstr!r}"
            # A placeholder alone ("a {digit}") names no digit in words.
            if digit.search(re.sub(r"\{[^}]*\}", "", msgid)):
                assert re.search(r"d[ií]gito", msgstr, re.IGNORECASE), f"{msgid!r} -> {msgstr!r}"


# --- the compiler ---------------------------------------------------------------------

PO = r"""
msgid ""
msgstr ""
"Content-Type: text/plain; charset=UTF-8\n"
"Plural-Forms: nplurals=2; plural=(n != 1);\n"

# a translator's note
#: app/x.py
msgid "kernel"
msgstr "núcleo"

msgctxt "menu"
msgid "open"
msgstr "abrir"

msgid "{n} weight"
msgid_plural "{n} weights"
msgstr[0] "{n} peso"
msgstr[1] "{n} pesos"

#, fuzzy
msgid "stride"
msgstr "zancada"

msgid "padding"
msgstr ""

msgid "two\n"
"lines \"quoted\""
msgstr "dos\n"
"líneas \"entre comillas\""

#~ msgid "old"
#~ msgstr "viejo"
"""


def test_the_compiled_catalog_is_what_pythons_gettext_reads() -> None:
    entries = read_po(PO)
    catalog = gettext.GNUTranslations(io.BytesIO(write_mo(entries)))
    assert catalog.gettext("kernel") == "núcleo"
    assert catalog.pgettext("menu", "open") == "abrir"
    assert catalog.ngettext("{n} weight", "{n} weights", 1) == "{n} peso"
    assert catalog.ngettext("{n} weight", "{n} weights", 3) == "{n} pesos"
    assert catalog.gettext('two\nlines "quoted"') == 'dos\nlíneas "entre comillas"'
    # Like msgfmt: fuzzy, untranslated and obsolete entries stay out.
    assert catalog.gettext("stride") == "stride"
    assert catalog.gettext("padding") == "padding"
    assert catalog.gettext("old") == "old"


def test_writing_a_catalog_and_reading_it_back_changes_nothing() -> None:
    entries = read_po(PO)
    again = read_po(write_po(entries))
    assert [(e.msgid, e.msgstr, e.msgctxt, e.flags, e.obsolete) for e in again] == [
        (e.msgid, e.msgstr, e.msgctxt, e.flags, e.obsolete) for e in entries
    ]


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ('msgid "a"\nmsgstr "b"\nmsgid "a"\nmsgstr "c"\n', "appears twice"),
        ('msgid "a\\q"\nmsgstr "b"\n', "unknown escape"),
        ('msgid "a"\nmsgstr b\n', "cannot read"),
        ('msgid "a"\n', "has no msgstr"),
        ('msgid "a"\nmsgid_plural "b"\nmsgstr[1] "c"\n', "out of order"),
    ],
)
def test_a_broken_catalog_is_one_line_naming_file_and_line(text: str, problem: str) -> None:
    with pytest.raises(POError, match=re.escape(problem)) as info:
        read_po(text, "es.po")
    assert str(info.value).startswith("es.po") and "\n" not in str(info.value)


def test_the_build_hook_compiles_every_catalog(tmp_path: Path) -> None:
    written = compile_tree(REPO / "app" / "locale", tmp_path)
    assert [p.relative_to(tmp_path).as_posix() for p in written] == [
        f"{lang}/LC_MESSAGES/convlens.mo" for lang in CATALOGS
    ]
    with written[0].open("rb") as f:
        assert gettext.GNUTranslations(f).gettext("KERNEL") == "NÚCLEO"


def _setup_module() -> types.ModuleType:
    spec = importlib.util.spec_from_file_location("convlens_setup", REPO / "setup.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)  # not as __main__: defines the hook, builds nothing
    return module


@pytest.mark.parametrize("editable", [False, True])
def test_setup_py_hook_compiles_the_catalogs(tmp_path: Path, monkeypatch, editable) -> None:
    """The build_py hook pip runs: into the wheel's build folder, or beside the sources for
    an editable install (the folder app.i18n reads)."""
    setup_py = _setup_module()
    hook = setup_py.BuildPyWithCatalogs
    monkeypatch.setattr(hook.__mro__[1], "run", lambda self: None)  # setuptools' own part
    written = []
    monkeypatch.setattr(hook, "announce", lambda self, msg, level=1: written.append(msg))
    command = hook.__new__(hook)
    command.editable_mode, command.build_lib = editable, str(tmp_path)
    if editable:
        fake_repo = tmp_path / "repo"
        shutil.copytree(REPO / "app" / "locale", fake_repo / "app" / "locale")
        shutil.copy(REPO / "app" / "po.py", fake_repo / "app" / "po.py")
        monkeypatch.setattr(setup_py, "HERE", fake_repo)
        target = fake_repo / "app" / "locale"
    else:
        target = tmp_path / "app" / "locale"
    command.run()
    mo = target / "es" / "LC_MESSAGES" / "convlens.mo"
    assert written == [f"compiled {mo}"]
    with mo.open("rb") as f:
        assert gettext.GNUTranslations(f).gettext("POOLING") == "AGRUPAMIENTO"


def test_the_install_compiled_the_catalogs() -> None:
    """``make test`` installs convlens editable: setup.py's hook wrote the .mo files."""
    for lang in CATALOGS:
        mo = catalog_path(lang).with_suffix(".mo")
        assert mo.exists(), f"{mo} missing: install with pip install -e . (make does)"


def test_a_po_newer_than_its_mo_is_read_instead(tmp_path: Path, monkeypatch) -> None:
    folder = tmp_path / "es" / "LC_MESSAGES"
    folder.mkdir(parents=True)
    (folder / "convlens.po").write_text('msgid ""\nmsgstr ""\n\nmsgid "a"\nmsgstr "old"\n')
    compile_tree(tmp_path)
    (folder / "convlens.po").write_text('msgid ""\nmsgstr ""\n\nmsgid "a"\nmsgstr "new"\n')
    mo = folder / "convlens.mo"
    stamp = mo.stat().st_mtime
    import os

    os.utime(mo, (stamp - 10, stamp - 10))
    monkeypatch.setattr(i18n, "LOCALE_DIR", tmp_path)
    i18n.reload_catalogs()
    try:
        assert translate("a", "es") == "new"
    finally:
        i18n.reload_catalogs()


def test_a_missing_catalog_falls_back_to_english_with_a_warning(
    tmp_path: Path, monkeypatch, caplog
) -> None:
    monkeypatch.setattr(i18n, "LOCALE_DIR", tmp_path)
    i18n.reload_catalogs()
    try:
        assert translate("KERNEL", "es") == "KERNEL"
        assert "no es catalog" in caplog.text
    finally:
        i18n.reload_catalogs()


# --- choosing the language --------------------------------------------------------------


@pytest.mark.parametrize(
    ("environ", "expected"),
    [
        ({"LANG": "es_ES.UTF-8"}, "es"),
        ({"LANG": "es_MX.UTF-8"}, "es"),
        ({"LANG": "en_GB.UTF-8"}, "en"),
        ({"LANG": "C.UTF-8"}, "en"),
        ({}, "en"),
        ({"LANG": "en_US.UTF-8", "LC_ALL": "es_AR.UTF-8"}, "es"),
        ({"LANG": "es_ES.UTF-8", "LC_MESSAGES": "C"}, "en"),
        ({"LANG": "en_US.UTF-8", "LANGUAGE": "es:en"}, "es"),
        ({"LANG": "de_DE.UTF-8"}, "en"),
        ({"LANG": "ca_ES.UTF-8"}, "en"),
    ],
)
def test_the_language_follows_the_locale(environ: dict[str, str], expected: str) -> None:
    assert language_from_environment(environ) == expected


def test_the_language_key_switches_between_the_languages() -> None:
    assert key_table()["l"] == "toggle_language" and "toggle_language" in action_table()
    state = ViewState(language="en")
    state = apply_action(state, "toggle_language", kernel_names=())
    assert state.language == "es"
    assert apply_action(state, "toggle_language", kernel_names=()).language == "en"


def test_the_language_is_per_thread_of_work_and_checked() -> None:
    with language("es"):
        assert tr("KERNEL") == "NÚCLEO"
        with language("en"):
            assert tr("KERNEL") == "KERNEL"
        assert tr("KERNEL") == "NÚCLEO"
    with pytest.raises(ValueError, match="expected one of en, es"):
        i18n.check_language("fr")


def test_the_cycle_texts_in_the_help_name_the_real_values() -> None:
    """The help's "padding: valid / zero / reflect" is a literal (for the catalog): it must
    list exactly the values the key cycles through."""
    from app.state import ACTIVATIONS, PADDINGS, POOL_MODES

    table = action_table()
    assert table["cycle_padding"] == "padding: " + " / ".join(PADDINGS)
    assert table["cycle_activation"] == "activation: " + " / ".join(ACTIVATIONS)
    assert table["cycle_pool_mode"] == "pooling: " + " / ".join(POOL_MODES)


# --- texts made far from the screen -------------------------------------------------------


def test_a_message_is_its_english_text_until_it_is_said_in_a_language() -> None:
    from app.i18n import Message

    notice = Message("snapshot saved: {folder}", folder="snapshots/a")
    reason = Message("failed {n} frames in a row", n=3)
    template = "stage {name} switched off: {reason} ({error})"
    stage = Message(template, name=Message("kernel"), reason=reason, error="ValueError: x")
    line = Message.joined("  |  ", [notice, stage, "a {plain} text"])
    assert line == (
        "snapshot saved: snapshots/a  |  stage kernel switched off: failed 3 frames in a row"
        " (ValueError: x)  |  a {plain} text"
    )
    assert str(line) is line and isinstance(f"{line}", str)
    with language("es"):
        said = tr(line)
    assert said == (
        "captura guardada: snapshots/a  |  etapa núcleo desactivada: falló en 3 imágenes "
        "seguidas (ValueError: x)  |  a {plain} text"
    )
    assert translate(line, "es") == said and translate(line, "en") == line


def test_a_message_copied_or_pickled_is_still_sayable() -> None:
    """``dataclasses.asdict`` deep-copies the status on its way to the web page; str's own
    copy would rebuild from the English text, whose braces are no placeholders."""
    import copy
    import pickle

    from app.i18n import Message

    failed = Message("snapshot failed: {error}", error="no space {left}")
    for twin in (copy.copy(failed), copy.deepcopy(failed), pickle.loads(pickle.dumps(failed))):
        assert isinstance(twin, Message) and twin == "snapshot failed: no space {left}"
        assert translate(twin, "es") == "no se pudo guardar la captura: no space {left}"


def test_the_empty_text_stays_empty_in_every_language() -> None:
    """gettext's msgid "" is the catalog's header: an empty status line must not show it."""
    for lang in LANGUAGES:
        with language(lang):
            assert tr("") == ""
        assert translate("", lang) == ""
