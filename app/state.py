"""The live settings that keys change and stages read: one small, copyable value.

Each field carries the rule the config file's ``[view]`` section is checked with.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from app.settings import float_range, int_range, kernel_name, known_view, one_of, setting

PADDINGS = ("valid", "zero", "reflect")
ACTIVATIONS = ("none", "relu", "sigmoid", "tanh")
OPERATIONS = ("correlation", "convolution")
POOL_MODES = ("max", "avg")
POOL_SIZES = (2, 3, 4)
STRIDES = (1, 2, 3, 4)
#: Where the arrows may take a view's point: ((x_min, x_max), (y_min, y_max)) in its steps.
ProbeRange = tuple[tuple[int, int], tuple[int, int]]
#: How far the teaching views' point may go from its home, and how many modes a view has
#: at most (each view keeps its own within these).
MAX_PROBE = 400
MAX_MODES = 4


@dataclass(frozen=True)
class Roi:
    """The digit region as fractions of the frame: centre (cx, cy) and side length.

    ``size`` is a fraction of the frame's *shorter* side, so the ROI stays square
    on any resolution. In the config file: ``roi_cx``, ``roi_cy``, ``roi_size``.
    """

    cx: float = setting(0.5, (int, float), float_range(0.0, 1.0))
    cy: float = setting(0.5, (int, float), float_range(0.0, 1.0))
    size: float = setting(0.45, (int, float), float_range(0.05, 1.0))


@dataclass(frozen=True)
class ViewState:
    """Everything a key can change. Immutable: actions return a new value."""

    #: The name of a view in ``app.views.VIEWS``.
    view: str = setting("camera", str, known_view)
    #: A preset or custom kernel (checked against them once the pipeline is built).
    kernel: str = setting("horizontal_edge", str, kernel_name)
    stride: int = setting(1, int, one_of(STRIDES))
    padding: str = setting("zero", str, one_of(PADDINGS))
    activation: str = setting("none", str, one_of(ACTIVATIONS))
    #: "convolution" flips the kernel as the course defines it; "correlation" is what
    #: CNN layers compute.
    operation: str = setting("correlation", str, one_of(OPERATIONS))
    pool_mode: str = setting("max", str, one_of(POOL_MODES))
    pool_size: int = setting(2, int, one_of(POOL_SIZES))
    roi: Roi = field(default_factory=Roi)
    #: The teaching views' movable point, in steps from the view's home (a kernel window,
    #: a unit, a shift): columns right, rows down; the arrows move it in the views that
    #: have one. ``[view] probe_x, probe_y`` (and ``convlens render --set``) place it.
    probe_x: int = setting(0, int, int_range(-MAX_PROBE, MAX_PROBE))
    probe_y: int = setting(0, int, int_range(-MAX_PROBE, MAX_PROBE))
    #: The current view's mode (index into its ``modes``, ``m`` cycles it); 0 when a view
    #: is entered.
    mode: int = setting(0, int, int_range(0, MAX_MODES - 1))
    frozen: bool = setting(False, bool)
    numpy_reference: bool = setting(False, bool)
    show_help: bool = setting(False, bool)
    #: The language of every text on screen and on the web page (``app.i18n.LANGUAGES``).
    #: Not a ``[view]`` setting: ``[ui] language`` chooses it, the l key switches it.
    language: str = "en"

    @property
    def probe(self) -> tuple[int, int]:
        """(probe_x, probe_y): the movable point's steps from its view's home."""
        return (self.probe_x, self.probe_y)

    def with_changes(self, **changes: object) -> ViewState:
        """Return a copy with the given fields replaced."""
        return replace(self, **changes)
