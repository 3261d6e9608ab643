"""Receptive fields and parameter counts, computed from the spec and checked by brute force."""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pytest

from training import layers
from training.model_io import load_model
from training.receptive_field import Field, kernel_pool_layers, nested_units, receptive_fields
from training.spec import layer_shapes, lenet5_spec, param_counts, param_shapes

MODEL = Path(__file__).resolve().parents[1] / "models" / "lenet.npz"


def dependence(stack: list[dict], size: int, unit: tuple[int, int]) -> tuple[range, range]:
    """The input rows and columns one output unit depends on, by brute force: push a
    positive impulse through all-ones kernels and average pooling from every input pixel
    and keep the pixels whose impulse reaches the unit."""
    rows, cols = set(), set()
    for y in range(size):
        for x in range(size):
            h = np.zeros((1, size, size, 1), np.float64)
            h[0, y, x, 0] = 1.0
            for layer in stack:
                if layer["type"] == "conv":
                    k = layer["kernel"]
                    w = np.ones((k, k, 1, 1))
                    h, _ = layers.conv2d_forward(
                        h, w, np.zeros(1), layer["stride"], layer["padding"]
                    )
                else:
                    h, _ = layers.pool_forward(h, layer["size"], layer["stride"], "avg")
            if h[0, unit[0], unit[1], 0] > 0:
                rows.add(y)
                cols.add(x)
    return range(min(rows), max(rows) + 1), range(min(cols), max(cols) + 1)


def test_lenet_fields_are_5_6_14_16_pixels() -> None:
    fields = dict(receptive_fields(lenet5_spec()["layers"]))
    assert [(n, f.size) for n, f in fields.items()] == [
        ("conv1", 5), ("pool1", 6), ("conv2", 14), ("pool2", 16)
    ]  # fmt: skip
    assert [f.jump for f in fields.values()] == [1, 2, 2, 4]
    # conv1 pads by 2: unit 0 starts two pixels outside the picture.
    assert fields["conv2"].region(0) == (-2, 11)


@pytest.mark.parametrize(
    ("name", "unit"), [("conv1", (0, 0)), ("conv1", (13, 27)), ("pool1", (3, 6)),
                       ("conv2", (4, 9)), ("pool2", (0, 0)), ("pool2", (2, 4))],
)  # fmt: skip
def test_lenet_regions_match_brute_force_dependence(name: str, unit: tuple[int, int]) -> None:
    stack = lenet5_spec()["layers"]
    names = [layer["name"] for layer in stack]
    sub = stack[: names.index(name) + 1]
    field = dict(receptive_fields(stack))[name]
    rows, cols = dependence(sub, 28, unit)
    for got, i in ((rows, unit[0]), (cols, unit[1])):
        first, last = field.region(i)
        assert (got.start, got.stop - 1) == (max(first, 0), min(last, 27))


@pytest.mark.parametrize(("k", "s", "p", "n"), [(3, 1, 1, 2), (3, 2, 0, 3), (5, 3, 2, 4)])
def test_camera_pipeline_field_matches_brute_force(k: int, s: int, p: int, n: int) -> None:
    stack = kernel_pool_layers(k, s, p, n)
    field = receptive_fields(stack)[-1][1]
    assert field.size == k + (n - 1) * s and field.jump == s * n
    rows, _ = dependence(stack, 24, (1, 1))
    first, last = field.region(1)
    assert (rows.start, rows.stop - 1) == (max(first, 0), min(last, 23))


def test_unit_nearest_is_the_unit_whose_field_is_centred_there() -> None:
    pool2 = Field(16, 4, -2)
    assert pool2.unit_nearest(5.5, 5) == 0  # unit 0 sees -2..13, centred on 5.5
    assert pool2.unit_nearest(9.4, 5) == 1
    assert pool2.unit_nearest(100, 5) == 4 and pool2.unit_nearest(-50, 5) == 0


def test_fields_stop_at_the_first_dense_layer_and_reject_bad_geometry() -> None:
    assert [n for n, _ in receptive_fields(lenet5_spec()["layers"])][-1] == "pool2"
    with pytest.raises(ValueError, match="stride 0"):
        receptive_fields([{"name": "c", "type": "conv", "kernel": 3, "stride": 0, "padding": 0}])


def test_parameter_counts_add_up_to_the_shipped_models_arrays() -> None:
    spec, params, _ = load_model(MODEL)
    counts = param_counts(spec)
    assert counts == {"conv1": 156, "conv2": 2416, "fc1": 48120, "fc2": 10164, "fc3": 850}
    assert sum(counts.values()) == 61706 == sum(a.size for a in params.values())
    assert set(params) == set(param_shapes(spec))


def test_nested_units_feed_each_other_for_every_point() -> None:
    spec = lenet5_spec()
    fields = receptive_fields(spec["layers"])
    sizes = {name: shape[0] for name, shape in layer_shapes(spec)}
    for point in np.arange(-3.0, 31.0, 0.5):
        units = nested_units(fields, float(point), sizes)
        regions = [field.region(units[name]) for name, field in fields]
        for inner, outer in itertools.pairwise(regions):
            assert outer[0] <= inner[0] and inner[1] <= outer[1], (point, units)
        assert all(0 <= units[n] < sizes[n] for n in units)
