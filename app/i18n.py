"""Every text a person reads, in Spanish or English: ``tr`` translates into the current language.

How to use it (views, the overlay, the web page's texts, the help legend)::

    from app.i18n import N_, tr

    class KernelView(View):
        title = N_("KERNEL")           # tables and class attributes: marked only...
    ...
    tr(view.title)                     # ...and translated where they are drawn
    tr("no digit")                     # at draw time: the current language
    tr("window {n}x{n}").format(n=3)   # placeholders: translate first, then format
    tr_n("{n} weight", "{n} weights", n).format(n=n)

A text made far from the screen (the loop's "snapshot saved: ...", a stage switched
off, no camera) is a ``Message``: an English ``str`` that keeps its marked template and
values, so logs, systemd and JSON read it as they read any text, and the overlay says
it in the frame's language with ``tr(message)``::

    notice = Message(N_("snapshot saved: {folder}"), folder=str(folder))

Rules: the argument of ``tr``/``N_`` is one string literal (never an f-string: the
catalog could not hold it), or, for ``tr``, a value marked with ``N_`` elsewhere.
The function is ``tr``, not gettext's usual ``_``, because this code base uses ``_``
for values it throws away (``_, _, w, h = box``), which would shadow it.
English is the source language: the msgids are the English texts and English needs
no catalog. Spanish comes from ``app/locale/es/LC_MESSAGES/convlens.po``; run
``python -m app.i18n_sync`` after adding texts (it adds the new msgids to the
catalog, sorted by module) and translate them there. ``tests/test_i18n.py`` fails
while a text is missing, untranslated or fuzzy.

The ``.po`` sources are compiled to ``.mo`` by ``setup.py`` when convlens is built
or installed (editable installs too) with ``app.po``, a small msgfmt in Python, so
no GNU gettext is needed. When the ``.po`` beside a ``.mo`` is newer (a checkout
after ``git pull``, or a catalog being edited), the ``.po`` is compiled in memory
instead: the screen never shows a stale translation.

The current language is a context variable: the overlay sets it per frame from the
state (``with language(status.language):``), the web server per request, and
everything else sees the process default (``set_default_language``, from
``[ui] language`` or the environment's locale). Drawn-text caches key on the
translated text, so a language switch needs no cache flush.
"""

from __future__ import annotations

import gettext
import io
import logging
import os
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path

from app.po import read_po, write_mo

log = logging.getLogger(__name__)

#: The languages convlens speaks; the first is the source language (no catalog).
LANGUAGES = ("en", "es")
#: The language names shown on screen, each in its own language.
LANGUAGE_NAMES = {"en": "English", "es": "Español"}
DOMAIN = "convlens"
LOCALE_DIR = Path(__file__).with_name("locale")

_current: ContextVar[str | None] = ContextVar("convlens_language", default=None)
_default = "en"
_catalogs: dict[str, gettext.NullTranslations] = {}


def N_(message: str) -> str:  # noqa: N802 - gettext's name for "mark, do not translate"
    """Mark ``message`` for the catalog without translating it (tables, class attributes)."""
    return message


class Message(str):
    """A text built from a template marked with ``N_`` and values, sayable in any language.

    It is its English text (``template.format(**values)``) wherever a ``str`` goes: logs,
    systemd's status line, JSON, comparisons; ``str(message)`` keeps it a Message so
    code that converts what it passes on loses nothing. ``tr(message)`` translates the
    template, then fills in the values (Message values translated the same way).
    """

    template: str
    values: dict[str, object]

    def __new__(cls, template: str, /, **values: object) -> Message:
        text = super().__new__(cls, template.format(**values))
        text.template = template
        text.values = values
        return text

    def __str__(self) -> str:
        return self

    # Copies and pickles keep the template and values: str's own way rebuilds from the
    # English text, whose braces (an error's "{...}") would read as placeholders.
    # (``dataclasses.asdict`` deep-copies a status on its way to the web page.)
    def __reduce__(self) -> tuple[object, ...]:
        return _message, (self.template, self.values)

    def __copy__(self) -> Message:
        return self

    def __deepcopy__(self, memo: dict[int, object]) -> Message:
        return self

    @classmethod
    def joined(cls, separator: str, parts: Sequence[str]) -> Message:
        """``parts`` (Messages or plain texts) joined by ``separator``: one line of them."""
        # A separator's braces would read as placeholders: written doubled.
        literal = separator.replace("{", "{{").replace("}", "}}")
        template = literal.join(f"{{part{i}}}" for i in range(len(parts)))
        return cls(template, **{f"part{i}": part for i, part in enumerate(parts)})


def _message(template: str, values: dict[str, object]) -> Message:
    return Message(template, **values)


def tr(message: str) -> str:
    """``message`` in the current language (itself in English or when not translated)."""
    if not message:
        return message  # gettext's msgid "" is the catalog's header, not a text
    if isinstance(message, Message):
        return _say(message, catalog(current_language()))
    return catalog(current_language()).gettext(message)


def _say(message: Message, translations: gettext.NullTranslations) -> str:
    values = {
        name: _say(value, translations) if isinstance(value, Message) else value
        for name, value in message.values.items()
    }
    try:
        return translations.gettext(message.template).format(**values)
    except (KeyError, IndexError, ValueError):
        # A translation with a broken placeholder (the tests catch these): show English.
        log.warning("bad translation of %r", message.template)
        return message.template.format(**values)


def tr_n(singular: str, plural: str, n: int) -> str:
    """The form of ``singular``/``plural`` for the count ``n`` in the current language."""
    return catalog(current_language()).ngettext(singular, plural, n)


def translate(message: str, lang: str) -> str:
    """``message`` in ``lang`` (for code that serves another language than its own)."""
    if not message:
        return message
    if isinstance(message, Message):
        return _say(message, catalog(lang))
    return catalog(lang).gettext(message)


def current_language() -> str:
    """The language of this thread's current drawing or request, else the default."""
    return _current.get() or _default


def set_default_language(lang: str) -> None:
    """Make ``lang`` the process default (``[ui] language``, or the environment's)."""
    global _default
    _default = check_language(lang)


@contextmanager
def language(lang: str) -> Iterator[str]:
    """Within the block, ``tr`` translates into ``lang`` (this thread or task only)."""
    token = _current.set(check_language(lang))
    try:
        yield lang
    finally:
        _current.reset(token)


def check_language(lang: str) -> str:
    """``lang`` when convlens speaks it; ValueError naming the choices otherwise."""
    if lang not in LANGUAGES:
        raise ValueError(f"language {lang!r}: expected one of {', '.join(LANGUAGES)}")
    return lang


def language_from_environment(environ: Mapping[str, str] | None = None) -> str:
    """``"es"`` when the locale asks for Spanish (``es_ES.UTF-8``, ``es``...), else ``"en"``.

    Read as gettext does: ``LANGUAGE`` (a priority list, first entry), then ``LC_ALL``,
    ``LC_MESSAGES``, ``LANG``; the first one set decides. ``C``/``POSIX`` mean English.
    """
    env = os.environ if environ is None else environ
    for name in ("LANGUAGE", "LC_ALL", "LC_MESSAGES", "LANG"):
        value = env.get(name, "").split(":")[0].strip()
        if value:
            code = value.split(".")[0].split("@")[0].split("_")[0].lower()
            return "es" if code == "es" else "en"
    return "en"


def next_language(lang: str) -> str:
    """The language after ``lang`` in ``LANGUAGES`` (the language key's cycle)."""
    index = LANGUAGES.index(lang) if lang in LANGUAGES else -1
    return LANGUAGES[(index + 1) % len(LANGUAGES)]


def catalog(lang: str) -> gettext.NullTranslations:
    """The translations of ``lang``, loaded once (English: none, the msgids are English)."""
    found = _catalogs.get(lang)
    if found is None:
        found = _catalogs[lang] = _load(lang)
    return found


def reload_catalogs() -> None:
    """Forget loaded catalogs (tests and the sync tool edit them)."""
    _catalogs.clear()


def _load(lang: str) -> gettext.NullTranslations:
    if lang == LANGUAGES[0]:
        return gettext.NullTranslations()
    folder = LOCALE_DIR / check_language(lang) / "LC_MESSAGES"
    po, mo = folder / f"{DOMAIN}.po", folder / f"{DOMAIN}.mo"
    try:
        if po.exists() and (not mo.exists() or po.stat().st_mtime > mo.stat().st_mtime):
            # A source checkout with a newer .po: never show a stale translation.
            log.debug("catalog %s: compiling %s in memory (newer than its .mo)", lang, po)
            data = write_mo(read_po(po.read_text(encoding="utf-8"), str(po)))
            return gettext.GNUTranslations(io.BytesIO(data))
        with mo.open("rb") as f:
            return gettext.GNUTranslations(f)
    except (OSError, ValueError) as exc:
        log.warning("no %s catalog (%s): texts stay in English", lang, exc)
        return gettext.NullTranslations()
