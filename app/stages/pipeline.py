"""The configured processing stages, in pipeline order, and the kernel cycle: the pipeline."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from app.errors import ModelError
from app.stages.base import Stage
from app.stages.dense import DenseStage
from app.stages.digit import ClassifierFactory, DigitStage
from app.stages.edges import EdgesStage
from app.stages.features import FeaturesStage
from app.stages.histogram import HistogramStage
from app.stages.inspect import InspectStage
from app.stages.kernels import KernelStage
from app.stages.network import NetworkStage
from app.stages.number import NumberStage
from app.stages.pooling import PoolStage
from app.stages.why import WhyCnnStage

if TYPE_CHECKING:
    from app.config import Config

log = logging.getLogger(__name__)

#: Every stage, in the order frames go through them: the ``[stages.NAME]`` sections the
#: config accepts and the names views list in their ``stages``.
STAGES: dict[str, type[Stage]] = {
    "kernel": KernelStage,
    "pool": PoolStage,
    "inspect": InspectStage,
    "edges": EdgesStage,
    "histogram": HistogramStage,
    "digit": DigitStage,
    "number": NumberStage,
    "why": WhyCnnStage,
    "features": FeaturesStage,
    "network": NetworkStage,
    "dense": DenseStage,
}
STAGE_ORDER = tuple(STAGES)


@dataclass(frozen=True)
class Pipeline:
    """The stages a frame goes through, in order, and the kernels the kernel keys cycle.

    Each stage runs only for the views that need it (``app.views``).
    """

    stages: Sequence[Stage] = ()
    kernel_names: Sequence[str] = field(default_factory=tuple)


def model_folder(config: Config) -> Path | str:
    """The folder of the configured model file, else the shipped models' folder
    (``app.model_paths``); the reason as a string when there is none."""
    from app.model_paths import models_dir

    if config.model.path:
        return Path(config.model.path).parent
    try:
        return models_dir()
    except ModelError as exc:
        return str(exc)


def build_stages(
    config: Config,
    classifier_factory: ClassifierFactory | None,
    model_dir: Path | None = None,
) -> list[Stage]:
    """Every stage of ``STAGES``, configured from ``config``, in pipeline order.

    Args:
        config: the configuration (``app.config.config_from_dict`` builds one from a
            TOML-shaped mapping); ``[kernels.custom]`` goes to the kernel stage,
            ``[stages.NAME]`` to each stage's ``configure``.
        classifier_factory: ``factory()`` loads the configured classifier and
            ``factory(backend="numpy")`` the NumPy reference; both raise ModelError.
            A failing (or None) factory leaves the digit stage "unavailable" with the
            error as its reason; the kernel and pooling views work regardless.
        model_dir: the folder of the network's files (``lenet.npz`` and its side
            files); None: the configured model's, else the shipped models' folder.
    Raises:
        ConfigError: a bad parameter or value; the message names the stage.
    """
    classifier, error = None, None
    if classifier_factory is None:
        error = "no model configured"
    else:
        try:
            classifier = classifier_factory()
        except ModelError as e:
            error = str(e)
            log.warning("digit classifier unavailable: %s", e)
    kernel = KernelStage(config.custom_kernels)
    stages: list[Stage] = [
        kernel,
        PoolStage(),
        InspectStage(),
        EdgesStage(),
        HistogramStage(),
        DigitStage(classifier, error, classifier_factory),
        NumberStage(classifier, error),
        WhyCnnStage(classifier),
        FeaturesStage(classifier, kernel.kernels),
        NetworkStage(model_dir or model_folder(config)),
        DenseStage(),
    ]
    assert tuple(stage.name for stage in stages) == STAGE_ORDER
    for stage in stages:
        stage.configure(config.stages.get(stage.name, {}))
    return stages


def build_pipeline(config: Config, model: Path | None = None) -> Pipeline:
    """The configured stages with the configured classifier, and the kernel cycle
    (presets, then ``[kernels.custom]``); checks ``[view] kernel`` against that cycle.

    ``model``: another classifier file than the configured one (a fine-tuned model's);
    the network's files are then read from its folder.
    Raises:
        ConfigError: a bad stage parameter, or a ``[view] kernel`` that is not a kernel.
    """
    from app.classifier import classifier_factory
    from app.config import check_kernel_name

    folder = model.parent if model is not None else None
    stages = build_stages(config, classifier_factory(config, model), folder)
    kernel = next(stage for stage in stages if isinstance(stage, KernelStage))
    names = tuple(kernel.kernels)
    check_kernel_name(config, names)
    return Pipeline(tuple(stages), names)
