"""The settings' values as a person reads them: ``"zero"`` -> "zero" / "ceros", in the language.

The state and the config hold identifiers (``horizontal_edge``, ``reflect``, ``avg``);
the screen, the help and the web page show these names, translated. A custom
kernel's own name (from the config) is shown as written.
"""

from __future__ import annotations

from app.i18n import N_, tr

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
