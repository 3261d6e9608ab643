"""Receptive fields: which input pixels a unit of a conv/pool stack depends on.

The usual recurrence over the layers (Araujo, Norris and Sim, "Computing Receptive
Fields of Convolutional Neural Networks", Distill 2019), one axis at a time, square
kernels: a layer with kernel ``k``, stride ``s`` and padding ``p`` turns the field
(size ``r``, jump ``j``, first unit's first input pixel ``start``) into::

    r' = r + (k - 1) * j        j' = j * s        start' = start - p * j

Unit ``i`` of a layer then sees input pixels ``start + i * j`` to
``start + i * j + r - 1`` (inclusive); negative indices and indices past the input are
padding. Flatten and dense layers see the whole input and end the spatial stack.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Field:
    """One layer's receptive field on the input, along one axis (square layers: both).

    Attributes:
        size: input pixels one unit sees (``r``).
        jump: input pixels between neighbouring units (``j``, the product of strides).
        start: the first input pixel unit 0 sees; negative where the padding reaches.
    """

    size: int
    jump: int
    start: int

    def region(self, unit: int) -> tuple[int, int]:
        """(first, last) input pixel unit ``unit`` sees, inclusive; may leave the input."""
        first = self.start + unit * self.jump
        return first, first + self.size - 1

    def unit_nearest(self, pixel: float, units: int) -> int:
        """The unit (0 .. ``units`` - 1) whose field is centred nearest input ``pixel``."""
        centre0 = self.start + (self.size - 1) / 2.0
        unit = round((pixel - centre0) / self.jump)
        return min(max(int(unit), 0), units - 1)


def nested_units(
    fields: list[tuple[str, Field]], point: float, sizes: dict[str, int]
) -> dict[str, int]:
    """Along one axis, a unit per layer whose fields nest, each centred near ``point``.

    The first layer's unit is the one centred nearest ``point``; every later layer's is
    the one centred nearest ``point`` among those whose field contains the previous
    unit's (the unit the previous one feeds), so the regions drawn nest inside each
    other. ``sizes`` gives each layer's unit count along the axis.
    """
    chosen: dict[str, int] = {}
    inner: tuple[int, int] | None = None
    for name, field in fields:
        count = sizes[name]
        unit = field.unit_nearest(point, count)
        if inner is not None:
            # Units whose region [start + u j, start + u j + r - 1] holds [a, b]:
            # u >= ceil((b - r + 1 - start) / j) and u <= floor((a - start) / j).
            a, b = inner
            lo = -((field.start - b + field.size - 1) // field.jump)
            hi = (a - field.start) // field.jump
            lo, hi = max(lo, 0), min(hi, count - 1)
            if lo <= hi:
                unit = min(max(unit, lo), hi)
        chosen[name] = unit
        inner = field.region(unit)
    return chosen


def _geometry(layer: Mapping[str, Any]) -> tuple[int, int, int] | None:
    """(kernel, stride, padding) of a conv or pool layer dict; None for other layers."""
    kind = layer.get("type")
    if kind == "conv":
        return int(layer["kernel"]), int(layer["stride"]), int(layer["padding"])
    if kind == "pool":
        return int(layer["size"]), int(layer["stride"]), int(layer.get("padding", 0))
    return None


def receptive_fields(layers: Iterable[Mapping[str, Any]]) -> list[tuple[str, Field]]:
    """The field of every conv and pool layer, in order, up to the first other layer.

    Args:
        layers: layer dicts in ``training.spec`` form (``spec["layers"]``): ``conv``
            (kernel, stride, padding) and ``pool`` (size, stride; no padding).
    Returns:
        ``[("conv1", Field(5, 1, -2)), ("pool1", Field(6, 2, -2)), ...]``.
    Raises:
        ValueError: a kernel, stride or padding that is not a positive (padding: >= 0)
            integer.
    """
    size, jump, start = 1, 1, 0
    fields = []
    for layer in layers:
        geometry = _geometry(layer)
        if geometry is None:
            break
        k, s, p = geometry
        if k < 1 or s < 1 or p < 0:
            raise ValueError(f"layer {layer.get('name')!r}: kernel {k}, stride {s}, padding {p}")
        size, start, jump = size + (k - 1) * jump, start - p * jump, jump * s
        fields.append((str(layer.get("name", layer["type"])), Field(size, jump, start)))
    return fields


def kernel_pool_layers(kernel: int, stride: int, padding: int, pool: int) -> list[dict[str, Any]]:
    """The camera pipeline (one kernel, then pooling with window = step) as layer dicts."""
    return [
        {"name": "kernel", "type": "conv", "kernel": kernel, "stride": stride, "padding": padding},
        {"name": "pool", "type": "pool", "size": pool, "stride": pool},
    ]
