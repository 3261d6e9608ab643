"""Every sentence the web viewer shows a person, in one place, marked for the catalogs.

The page asks ``/api/text`` for this table (translated at request time into the app's
current language, ``app.i18n``) and fills elements marked ``data-text="key"``; server
answers that a person reads (too many viewers, view-only, token) take their wording
from here too.
"""

from __future__ import annotations

from collections.abc import Mapping

from app.i18n import LANGUAGES, N_, current_language, translate

#: key -> English text. ``{name}`` fields are filled in by the page or the server.
TEXT: dict[str, str] = {
    "title": N_("convlens"),
    "stream_alt": N_("live camera picture with the network's views"),
    "settings": N_("Settings"),
    "prediction": N_("Prediction"),
    "controls": N_("Controls"),
    "keys": N_("Keys"),
    "key": N_("Key"),
    "action": N_("Action"),
    "hint": N_("Type the keys below anywhere on this page, or press a button."),
    "connecting": N_("connecting…"),
    "live": N_("live"),
    "live_view_only": N_("live (view only)"),
    "disconnected": N_("disconnected"),
    "full": N_("full"),
    "too_many_viewers_title": N_("Too many viewers"),
    "too_many_viewers": N_(
        "This convlens already sends its picture to as many browsers as it can ({max}). "
        "The picture appears here by itself as soon as someone closes theirs."
    ),
    "reconnecting": N_("The picture stopped; reconnecting…"),
    "token_needed": N_(
        "Controls need the token printed when convlens started: open this page with ?token=…"
    ),
    "view_only": N_("This viewer is view-only: its keys and buttons are switched off."),
    "unreachable": N_("convlens is not reachable."),
    "legend_failed": N_("Could not load the key legend."),
    "foreign_host": N_("This address is not one convlens answers to."),
    "present_hint": N_("P: presentation (the picture alone, full window)"),
    # The settings table's row names (the page's status fields).
    "field_view": N_("view"),
    "field_kernel": N_("kernel"),
    "field_operation": N_("operation"),
    "field_stride": N_("stride"),
    "field_padding": N_("padding"),
    "field_activation": N_("activation"),
    "field_pool_mode": N_("pooling"),
    "field_pool_size": N_("pool size"),
    "field_fps": N_("frames/s"),
    "field_runtime": N_("runtime"),
    "field_source": N_("source"),
    "field_model": N_("digit model"),
    "field_frozen": N_("frozen"),
    "yes": N_("yes"),
    "no": N_("no"),
}


def status_language(status: Mapping[str, object]) -> str:
    """The app's language from the last ``/api/status`` values (the default before any)."""
    lang = status.get("language")
    return lang if isinstance(lang, str) and lang in LANGUAGES else current_language()


def texts(lang: str | None = None) -> dict[str, str]:
    """The table with every text in ``lang`` (default: the current language)."""
    lang = lang or current_language()
    return {key: translate(message, lang) for key, message in TEXT.items()}


def value_names(lang: str | None = None) -> dict[str, str]:
    """Setting values as the screen names them (``zero`` -> "zeros" / "ceros"), each
    view's name as its title, and the digit's reasons and hints: the page shows the same
    words as the overlay."""
    from app.views import VIEWS
    from app.views.words import REASONS, VALUE_NAMES

    lang = lang or current_language()
    names = {key: translate(name, lang) for key, name in VALUE_NAMES.items()}
    names.update({view.name: translate(view.title, lang) for view in VIEWS})
    # The digit's reasons and size hints, as /api/status gives them ("not a digit").
    names.update({reason: translate(reason, lang) for reason in REASONS})
    names["shipped"] = translate(N_("shipped"), lang)  # the model in use (``FrameStatus.model``)
    return names


#: The status fields whose text the loop makes (``app.i18n.Message``: a notice, a stage
#: switched off, no camera; the runtime): ``/api/status`` keeps them English, as logs
#: and scripts read them, and adds them in the app's language for the page.
LOOP_TEXT_FIELDS = ("message", "runtime")


def translated_fields(status: Mapping[str, object], lang: str) -> dict[str, str]:
    """``{"message": "captura guardada: ...", "runtime": ...}``: the loop's texts of
    ``status`` in ``lang`` (a field that is absent or not a text: "")."""
    said = {}
    for field in LOOP_TEXT_FIELDS:
        value = status.get(field)
        said[field] = translate(value, lang) if isinstance(value, str) else ""
    return said


def text(key: str, lang: str | None = None, **fields: object) -> str:
    """One text in ``lang`` (default: the current language) with its ``{fields}`` filled in."""
    return translate(TEXT[key], lang or current_language()).format(**fields)
