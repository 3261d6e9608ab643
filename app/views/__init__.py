"""The views: one module each, and the one table of them.

The view cycle, the number keys, the help legend, the web page's key list, the config's
``[view] view`` values and the stages run per frame all come from ``VIEWS``. Adding a
view is one module (a ``View`` subclass), one line here and one golden.
"""

from __future__ import annotations

from app.views.activations import ActivationsView
from app.views.base import View
from app.views.camera import CameraView
from app.views.edges import EdgesView
from app.views.features import FeaturesView
from app.views.inspector import InspectorView
from app.views.kernel import KernelView
from app.views.layers_see import LayersSeeView
from app.views.lenet import LeNetView
from app.views.number import NumberView
from app.views.pooling import PoolingView
from app.views.receptive import ReceptiveFieldView
from app.views.teach import TeachView
from app.views.why_cnn import WhyCnnView

#: Every view, in the order ``next_view`` cycles through them: the course's order, from the
#: camera through activations, why a CNN, convolution, kernels, pooling and receptive
#: fields to LeNet and what its layers see, then teaching it your handwriting. The number
#: keys follow that order (1-9, 0); the later views (what the layers see, the number view:
#: several digits, from the camera, and the teach view) have letters.
VIEWS: tuple[View, ...] = (
    CameraView(),
    ActivationsView(),
    WhyCnnView(),
    InspectorView(),
    EdgesView(),
    KernelView(),
    PoolingView(),
    ReceptiveFieldView(),
    LeNetView(),
    FeaturesView(),
    LayersSeeView(),
    NumberView(),
    TeachView(),
)


def view_names() -> tuple[str, ...]:
    """The views' names in cycle order."""
    return tuple(view.name for view in VIEWS)


def find_view(name: str) -> View | None:
    """The view called ``name``, or None."""
    return next((view for view in VIEWS if view.name == name), None)


def stages_for(name: str, mode: int = 0) -> tuple[str, ...]:
    """The names of the stages view ``name`` needs in ``mode`` (none for an unknown view)."""
    view = find_view(name)
    if view is None:
        return ()
    return view.mode_stages.get(mode, view.stages)
