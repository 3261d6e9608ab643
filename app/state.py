"""The live settings that keys change and stages read: one small, copyable value."""

from __future__ import annotations

from dataclasses import dataclass, field, replace

PADDINGS = ("valid", "zero", "reflect")
ACTIVATIONS = ("none", "relu", "sigmoid", "tanh")
POOL_MODES = ("max", "avg")
POOL_SIZES = (2, 3, 4)
STRIDES = (1, 2, 3, 4)


@dataclass(frozen=True)
class Roi:
    """The digit region as fractions of the frame: centre (cx, cy) and side length.

    ``size`` is a fraction of the frame's *shorter* side, so the ROI stays square
    on any resolution.
    """

    cx: float = 0.5
    cy: float = 0.5
    size: float = 0.45


@dataclass(frozen=True)
class ViewState:
    """Everything a key can change. Immutable: actions return a new value."""

    #: The name of a view in ``app.views.VIEWS``.
    view: str = "camera"
    kernel: str = "horizontal_edge"
    stride: int = 1
    padding: str = "zero"
    activation: str = "none"
    #: "convolution" flips the kernel as the course defines it; "correlation" is what
    #: CNN layers compute.
    operation: str = "correlation"
    pool_mode: str = "max"
    pool_size: int = 2
    roi: Roi = field(default_factory=Roi)
    frozen: bool = False
    numpy_reference: bool = False
    show_help: bool = False
    #: The language of every text on screen and on the web page (``app.i18n.LANGUAGES``).
    language: str = "en"

    def with_changes(self, **changes: object) -> ViewState:
        """Return a copy with the given fields replaced."""
        return replace(self, **changes)
