"""The configured processing stages, in pipeline order, and the kernel cycle: the pipeline."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from app.errors import ConfigError, ModelError
from app.stages.base import Stage
from app.stages.digit import ClassifierFactory, DigitStage
from app.stages.features import FeaturesStage
from app.stages.kernels import KernelStage
from app.stages.pooling import PoolStage

log = logging.getLogger(__name__)

#: Every stage, in the order frames go through them.
STAGE_ORDER = ("kernel", "pool", "digit", "features")


@dataclass(frozen=True)
class Pipeline:
    """The stages a frame goes through, in order, and the kernels the kernel keys cycle.

    Each stage runs only for the views that need it (``app.views``).
    """

    stages: Sequence[Stage] = ()
    kernel_names: Sequence[str] = field(default_factory=tuple)


def _sections(config: Any) -> tuple[Mapping[str, Any], Mapping[str, Mapping[str, Any]]]:
    """(custom kernels, stage name -> params) from an ``app.config.Config`` or a TOML-shaped
    mapping ``{"kernels": {"custom": {...}}, "stages": {"kernel": {...}, ...}}``."""
    if hasattr(config, "stages") and hasattr(config, "custom_kernels"):
        return config.custom_kernels, config.stages
    if not isinstance(config, Mapping):
        kind = type(config).__name__
        raise ConfigError(f"stages: config must be a mapping or a Config, got {kind}")
    kernels = config.get("kernels", {}) or {}
    if not isinstance(kernels, Mapping):
        raise ConfigError("[kernels]: expected a table with a custom sub-table")
    custom = kernels.get("custom", {}) or {}
    stages = config.get("stages", {}) or {}
    if not isinstance(stages, Mapping):
        raise ConfigError("[stages]: expected a table of [stages.NAME] sections")
    return custom, stages


def build_stages(config: Any, classifier_factory: ClassifierFactory | None) -> list[Stage]:
    """The four stages, configured, in order: kernel, pool, digit, features.

    Args:
        config: ``app.config.Config`` or a mapping shaped like the TOML file.
        classifier_factory: ``factory()`` loads the configured classifier and
            ``factory(backend="numpy")`` the NumPy reference; both raise ModelError.
            A failing (or None) factory leaves the digit stage "unavailable" with the
            error as its reason; the kernel and pooling views work regardless.
    Raises:
        ConfigError: an unknown stage section or parameter, or a bad value; the message
            names the stage.
    """
    custom, stage_params = _sections(config)
    for name, params in stage_params.items():
        if name not in STAGE_ORDER:
            raise ConfigError(
                f"[stages.{name}]: unknown stage; expected one of {', '.join(STAGE_ORDER)}"
            )
        if not isinstance(params, Mapping):
            raise ConfigError(f"[stages.{name}]: expected a table of parameters")

    classifier, error = None, None
    if classifier_factory is None:
        error = "no model configured"
    else:
        try:
            classifier = classifier_factory()
        except ModelError as e:
            error = str(e)
            log.warning("digit classifier unavailable: %s", e)

    kernel = KernelStage()
    kernel_params = dict(stage_params.get("kernel", {}))
    if custom:
        kernel_params["custom"] = {**kernel_params.get("custom", {}), **custom}
    kernel.configure(kernel_params)
    stages: list[Stage] = [
        kernel,
        PoolStage(),
        DigitStage(classifier, error, classifier_factory),
        FeaturesStage(classifier, kernel.kernels),
    ]
    for stage in stages[1:]:
        stage.configure(stage_params.get(stage.name, {}))
    return stages
