"""The settings' values as a person reads them: ``"zero"`` -> "zero" / "ceros", in the language.

The state and the config hold identifiers (``horizontal_edge``, ``reflect``, ``avg``);
the screen, the help and the web page show these names, translated. A custom
kernel's own name (from the config) is shown as written.
"""

from __future__ import annotations

from app.i18n import N_, tr, translate

#: identifier -> English name (marked for the catalogs).
VALUE_NAMES = {
    # kernels (app.stages.kernels.KERNEL_PRESETS)
    "horizontal_edge": N_("horizontal edge"),
    "vertical_edge": N_("vertical edge"),
    "sobel_x": N_("Sobel x"),
    "sobel_y": N_("Sobel y"),
    "sobel_magnitude": N_("Sobel magnitude"),
    "laplacian": N_("Laplacian"),
    "sharpen": N_("sharpen"),
    "box_blur": N_("box blur"),
    "gaussian_blur": N_("Gaussian blur"),
    "emboss": N_("emboss"),
    "identity": N_("identity"),
    # paddings (app.state.PADDINGS)
    "valid": N_("valid (none)"),
    "zero": N_("zeros"),
    "reflect": N_("reflect"),
    # activations (app.state.ACTIVATIONS)
    "none": N_("none"),
    "relu": N_("ReLU"),
    "sigmoid": N_("sigmoid"),
    "tanh": N_("tanh"),
    # operations (app.config.OPERATIONS)
    "correlation": N_("cross-correlation"),
    "convolution": N_("convolution"),
    # pooling modes (app.state.POOL_MODES)
    "max": N_("max"),
    "avg": N_("average"),
}


def shown(value: object) -> str:
    """The name of a setting's value in the current language (unknown names as they are)."""
    text = str(value)
    name = VALUE_NAMES.get(text)
    return tr(name) if name is not None else text


#: The digit stage's reasons for "no digit" (``app.stages.digit``,
#: ``app.stages.mnist_preprocess``, ``app.reading.rejection``) and its size hints
#: (``app.reading.size_hint``), marked here so ``tr(reason)`` finds them.
REASONS = (
    N_("no ink"),
    N_("too much ink"),
    N_("ink touches the edge"),
    N_("ROI too small"),
    N_("low confidence"),
    N_("settling"),
    N_("not a digit"),
    N_("digit too small"),
    N_("digit too large"),
)

#: Whole-screen messages other modules pass to ``message_frame`` (``app.loop``).
MESSAGES = (N_("no camera"),)

#: The stages' names (``Stage.name``) and the loop's ``overlay`` part: the footer's
#: timings and a switched-off stage's message (``app.faults``) show them through ``tr``.
#: English keeps the identifiers; the catalogs translate them.
STAGE_NAMES = (
    N_("kernel"),
    N_("pool"),
    N_("inspect"),
    N_("edges"),
    N_("histogram"),
    N_("digit"),
    N_("number"),
    N_("why"),
    N_("features"),
    N_("network"),
    N_("dense"),
    N_("overlay"),
)

#: What runs the network when nothing does (``DigitStage.runtime``).
RUNTIMES = (N_("unavailable"),)

#: Keys the help table names by a word (``app.controls.actions.key_legend``): the words
#: on a Spanish keyboard's keycaps are others (Mayús, Esc).
KEY_NAMES = {
    "Shift": N_("Shift"),
    "Tab": N_("Tab"),
    "space": N_("space"),
    "Escape": N_("Escape"),
}


def key_label(keys: str, lang: str | None = None) -> str:
    """``"V / Shift+Tab"`` with its key names in ``lang`` (default: the current language)."""

    def say(key: str) -> str:
        if key not in KEY_NAMES:
            return key
        return tr(KEY_NAMES[key]) if lang is None else translate(KEY_NAMES[key], lang)

    return " / ".join(
        "+".join(say(k) for k in alternative.split("+")) for alternative in keys.split(" / ")
    )
