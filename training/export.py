"""Export a trained convlens network to float32 and int8 TFLite models, without TensorFlow.

Usage::

    python -m training.export models/lenet.npz --out models/

writes ``lenet_float32.tflite`` and ``lenet_int8.tflite``. Each model has one input,
``image`` (1, 28, 28, 1) NHWC, and named outputs: ``probs`` (1, 10) plus every
layer's activation (``conv1`` ... ``fc3``, the logits), so the app can show what
each layer sees from one invocation. The spec, labels, input normalisation and
training metrics travel in the model description and in a JSON metadata buffer
named ``convlens``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import math
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import tflite

from training import mnist, quantize
from training.model_io import ModelFileError, load_model
from training.network import Params, to_input
from training.spec import Spec, layer_shapes
from training.tflite_builder import (
    ModelBuilder,
    Quantization,
    conv2d_options,
    fully_connected_options,
    pad_options,
    pool2d_options,
    reshape_options,
    softmax_options,
)

log = logging.getLogger(__name__)

METADATA_NAME = "convlens"
METADATA_FORMAT = 1
INPUT_NAME = "image"
PROBS_NAME = "probs"
LABELS = [str(d) for d in range(10)]
#: Fixed output quantisation that TFLite's int8 kernels require.
SOFTMAX_QUANT = Quantization((1.0 / 256.0,), (-128,))
LOGISTIC_QUANT = Quantization((1.0 / 256.0,), (-128,))
TANH_QUANT = Quantization((1.0 / 128.0,), (0,))
#: FULLY_CONNECTED weights get per-channel scales too: tflite-runtime 2.14's kernels
#: (builtin, reference and XNNPACK) read them, which tests/test_export_runtime.py
#: checks against the NumPy forward pass in that runtime.
PER_CHANNEL_DENSE = True

_OP = tflite.BuiltinOperator
_OPTS = tflite.BuiltinOptions
_ACT = tflite.ActivationFunctionType
#: Activation -> (fused activation of the conv/FC op, separate op or None).
_ACTIVATIONS = {
    "relu": (_ACT.RELU, None),
    "none": (_ACT.NONE, None),
    "tanh": (_ACT.NONE, _OP.TANH),
    "sigmoid": (_ACT.NONE, _OP.LOGISTIC),
}
_POOLS = {"max": _OP.MAX_POOL_2D, "avg": _OP.AVERAGE_POOL_2D}


class ExportError(ValueError):
    """A spec or model that cannot be exported; the message is one line."""


@dataclass
class _Int8Plan:
    """What the int8 graph needs beyond the float one."""

    ranges: dict[str, tuple[float, float]]
    per_channel_dense: bool


def export_float32(spec: Spec, params: Params, metrics: dict[str, Any] | None = None) -> bytes:
    """The float32 model as ``.tflite`` bytes (input float32 pixel/255, ink = 1)."""
    return _export(spec, params, metrics or {}, None)


def export_int8(
    spec: Spec,
    params: Params,
    calibration_images: np.ndarray,
    metrics: dict[str, Any] | None = None,
    percentile: float | None = None,
    per_channel_dense: bool = PER_CHANNEL_DENSE,
) -> bytes:
    """The fully integer model as ``.tflite`` bytes.

    Args:
        calibration_images: (N, 28, 28) uint8 training images (or float, already
            scaled) whose activation ranges set the int8 scales.
        percentile: None for min/max ranges, else e.g. 99.99.
        per_channel_dense: per-channel FC weight scales (needs a runtime that reads them).
    Input ``image`` is int8 with scale ``input_scale`` and zero point -128, so a uint8
    pixel p enters as ``p - 128``. Every output is int8; dequantise with its params.
    """
    x = to_input(spec, np.asarray(calibration_images))
    ranges = quantize.calibration_ranges(spec, params, x, percentile)
    extra = {
        "calibration": {
            "images": len(x),
            "method": "min/max" if percentile is None else f"percentile {percentile}",
        }
    }
    return _export(spec, params, {**(metrics or {}), **extra}, _Int8Plan(ranges, per_channel_dense))


def check_exportable(spec: Spec) -> None:
    """Raise ``ExportError`` (one line) unless every layer of ``spec`` maps to TFLite ops."""
    try:
        layer_shapes(spec)
    except (KeyError, TypeError, ValueError) as exc:
        raise ExportError(f"spec is not valid: {exc}") from exc
    for layer in spec["layers"]:
        name, kind = layer["name"], layer["type"]
        if kind in ("conv", "dense") and layer.get("activation") not in _ACTIVATIONS:
            raise ExportError(
                f"layer {name!r}: activation {layer.get('activation')!r} has no TFLite export; "
                f"expected one of {', '.join(_ACTIVATIONS)}"
            )
        if kind == "pool" and layer.get("mode") not in _POOLS:
            raise ExportError(
                f"layer {name!r}: pooling {layer.get('mode')!r} has no TFLite export; "
                f"expected one of {', '.join(_POOLS)}"
            )
    if spec["layers"][-1]["type"] != "dense":
        raise ExportError("the last layer must be dense (the logits) to add a softmax")


def conv_padding_mode(size: int, kernel: int, stride: int, pad: int) -> str:
    """How explicit zero padding ``pad`` maps to TFLite: ``"VALID"``, ``"SAME"`` or ``"PAD"``.

    SAME pads ``total = max((ceil(size/stride) - 1) * stride + kernel - size, 0)``
    with ``total // 2`` before; it equals explicit padding when both give the same
    output size and the same leading pad. Anything else needs a PAD op then VALID.
    """
    if pad == 0:
        return "VALID"
    out_same = math.ceil(size / stride)
    total = max((out_same - 1) * stride + kernel - size, 0)
    out_explicit = (size + 2 * pad - kernel) // stride + 1
    if out_explicit == out_same and total // 2 == pad:
        return "SAME"
    return "PAD"


def _export(spec: Spec, params: Params, metrics: dict[str, Any], plan: _Int8Plan | None) -> bytes:
    check_exportable(spec)
    graph = _Graph(spec, params, plan)
    return graph.builder.build(
        inputs={INPUT_NAME: graph.input},
        outputs=graph.outputs,
        description=_description(spec, metrics, plan is not None),
        metadata={METADATA_NAME: _metadata(spec, metrics, plan is not None)},
    )


class _Graph:
    """Walks the spec once, adding TFLite tensors and operators to a ``ModelBuilder``."""

    def __init__(self, spec: Spec, params: Params, plan: _Int8Plan | None) -> None:
        self.spec, self.params, self.plan = spec, params, plan
        self.builder = ModelBuilder()
        self.outputs: dict[str, int] = {}
        h, w, c = spec["input_shape"]
        in_quant = (
            Quantization((float(spec["input_scale"]),), (-128,)) if plan is not None else None
        )
        self.input = self._activation(INPUT_NAME, (1, h, w, c), in_quant)
        layer_outputs: dict[str, int] = {}
        current, quant, shape = self.input, in_quant, (h, w, c)
        for layer, (name, out_shape) in zip(spec["layers"], layer_shapes(spec), strict=True):
            kind = layer["type"]
            if kind == "conv":
                current, quant = self._conv(layer, current, quant, shape, out_shape)
            elif kind == "pool":
                current = self._pool(layer, current, quant, out_shape)
            elif kind == "flatten":
                current = self._reshape(name, current, quant, out_shape)
            else:
                current, quant = self._dense(layer, current, quant, out_shape)
            if kind != "flatten":
                layer_outputs[name] = current
            shape = out_shape
        probs = self._activation(
            PROBS_NAME,
            (1, spec["num_classes"]),
            SOFTMAX_QUANT if plan is not None else None,
        )
        self.builder.add_operator(
            _OP.SOFTMAX, (current,), (probs,), _OPTS.SoftmaxOptions, softmax_options(1.0)
        )
        self.outputs = {PROBS_NAME: probs, **layer_outputs}

    # -- tensors

    def _activation(self, name: str, shape: tuple[int, ...], quant: Quantization | None) -> int:
        dtype = np.int8 if self.plan is not None else np.float32
        signature = (-1, *shape[1:])  # the batch may be resized at run time
        return self.builder.add_tensor(
            name, shape, dtype, quantization=quant, shape_signature=signature
        )

    def _range_quant(self, key: str) -> Quantization:
        assert self.plan is not None
        scale, zero_point = quantize.activation_params(*self.plan.ranges[key])
        return Quantization((scale,), (zero_point,))

    def _weights(
        self,
        name: str,
        w: np.ndarray,
        b: np.ndarray,
        in_quant: Quantization | None,
        per_channel: bool,
    ) -> tuple[int, int]:
        """Weight (output channel first) and bias tensors; int8/int32 when quantising."""
        if self.plan is None:
            wt = self.builder.add_tensor(f"{name}/w", w.shape, np.float32, w.astype(np.float32))
            bt = self.builder.add_tensor(f"{name}/b", b.shape, np.float32, b.astype(np.float32))
            return wt, bt
        assert in_quant is not None
        qw = quantize.quantize_weights_symmetric(w, 0 if per_channel else None)
        n = len(qw.scales)
        w_quant = Quantization(tuple(map(float, qw.scales)), (0,) * n, 0)
        qb = quantize.quantize_bias(b, in_quant.scale[0], qw.scales)
        bias_scales = np.float64(in_quant.scale[0]) * qw.scales.astype(np.float64)
        b_quant = Quantization(tuple(map(float, bias_scales)), (0,) * n, 0)
        wt = self.builder.add_tensor(f"{name}/w", w.shape, np.int8, qw.values, w_quant)
        bt = self.builder.add_tensor(f"{name}/b", b.shape, np.int32, qb, b_quant)
        return wt, bt

    # -- layers

    def _conv(self, layer, current, quant, in_shape, out_shape):
        name, k, s, p = layer["name"], layer["kernel"], layer["stride"], layer["padding"]
        modes = {conv_padding_mode(in_shape[0], k, s, p), conv_padding_mode(in_shape[1], k, s, p)}
        if modes == {"SAME"}:
            padding = tflite.Padding.SAME
        elif modes == {"VALID"}:
            padding = tflite.Padding.VALID
        else:
            # Explicit padding that SAME cannot express: pad with zeros (for int8 the
            # input zero point, which the PAD kernel uses), then a VALID convolution.
            paddings = np.array([[0, 0], [p, p], [p, p], [0, 0]], dtype=np.int32)
            pads = self.builder.add_tensor(f"{name}/paddings", (4, 2), np.int32, paddings)
            padded_shape = (1, in_shape[0] + 2 * p, in_shape[1] + 2 * p, in_shape[2])
            padded = self._activation(f"{name}/pad", padded_shape, quant)
            self.builder.add_operator(
                _OP.PAD, (current, pads), (padded,), _OPTS.PadOptions, pad_options()
            )
            current, padding = padded, tflite.Padding.VALID
        w = np.transpose(self.params[f"{name}/w"], (3, 0, 1, 2))  # HWIO -> OHWI
        wt, bt = self._weights(name, w, self.params[f"{name}/b"], quant, per_channel=True)
        fused, separate = _ACTIVATIONS[layer["activation"]]
        out, out_quant = self._layer_output(name, (1, *out_shape), separate)
        conv_out = (
            out
            if separate is None
            else self._activation(f"{name}/preact", (1, *out_shape), self._preact_quant(name))
        )
        self.builder.add_operator(
            _OP.CONV_2D,
            (current, wt, bt),
            (conv_out,),
            _OPTS.Conv2DOptions,
            conv2d_options(padding, s, fused),
        )
        if separate is not None:
            self.builder.add_operator(separate, (conv_out,), (out,))
        return out, out_quant

    def _dense(self, layer, current, quant, out_shape):
        name = layer["name"]
        w = np.transpose(self.params[f"{name}/w"])  # (D_in, D_out) -> (D_out, D_in)
        per_channel = self.plan is not None and self.plan.per_channel_dense
        wt, bt = self._weights(name, w, self.params[f"{name}/b"], quant, per_channel)
        fused, separate = _ACTIVATIONS[layer["activation"]]
        out, out_quant = self._layer_output(name, (1, *out_shape), separate)
        fc_out = (
            out
            if separate is None
            else self._activation(f"{name}/preact", (1, *out_shape), self._preact_quant(name))
        )
        self.builder.add_operator(
            _OP.FULLY_CONNECTED,
            (current, wt, bt),
            (fc_out,),
            _OPTS.FullyConnectedOptions,
            fully_connected_options(fused),
        )
        if separate is not None:
            self.builder.add_operator(separate, (fc_out,), (out,))
        return out, out_quant

    def _layer_output(self, name, shape, separate):
        if self.plan is None:
            quant = None
        elif separate == _OP.TANH:
            quant = TANH_QUANT
        elif separate == _OP.LOGISTIC:
            quant = LOGISTIC_QUANT
        else:
            quant = self._range_quant(name)
        return self._activation(name, shape, quant), quant

    def _preact_quant(self, name):
        return self._range_quant(f"{name}/preact") if self.plan is not None else None

    def _pool(self, layer, current, quant, out_shape):
        # Int8 pooling keeps its input's scale and zero point (the kernels require it).
        out = self._activation(layer["name"], (1, *out_shape), quant)
        self.builder.add_operator(
            _POOLS[layer["mode"]],
            (current,),
            (out,),
            _OPTS.Pool2DOptions,
            pool2d_options(layer["size"], layer["stride"]),
        )
        return out

    def _reshape(self, name, current, quant, out_shape):
        new_shape = (-1, *out_shape)  # -1: the batch follows the input
        shape_t = self.builder.add_tensor(
            f"{name}/shape", (len(new_shape),), np.int32, np.array(new_shape, dtype=np.int32)
        )
        out = self._activation(name, (1, *out_shape), quant)
        self.builder.add_operator(
            _OP.RESHAPE,
            (current, shape_t),
            (out,),
            _OPTS.ReshapeOptions,
            reshape_options(new_shape),
        )
        return out


# ------------------------------------------------------------ description


def _architecture(spec: Spec) -> str:
    parts = []
    for layer in spec["layers"]:
        kind = layer["type"]
        if kind == "conv":
            parts.append(
                f"conv {layer['filters']}@{layer['kernel']}x{layer['kernel']} {layer['activation']}"
            )
        elif kind == "pool":
            parts.append(f"{layer['mode']}pool {layer['size']}")
        elif kind == "dense":
            parts.append(f"fc {layer['units']} {layer['activation']}")
    return " - ".join(parts)


def _input_doc(spec: Spec, int8: bool) -> dict[str, Any]:
    h, w, c = spec["input_shape"]
    if int8:
        return {
            "name": INPUT_NAME,
            "shape": [1, h, w, c],
            "layout": "NHWC",
            "dtype": "int8",
            "scale": spec["input_scale"],
            "zero_point": -128,
            "normalisation": "int8 = uint8 pixel - 128 (ink = 255, background = 0)",
        }
    return {
        "name": INPUT_NAME,
        "shape": [1, h, w, c],
        "layout": "NHWC",
        "dtype": "float32",
        "normalisation": f"float = uint8 pixel * {spec['input_scale']!r} (ink = 1, background = 0)",
    }


def _description(spec: Spec, metrics: dict[str, Any], int8: bool) -> str:
    kind = "int8 (full integer)" if int8 else "float32"
    inp = _input_doc(spec, int8)
    acc = metrics.get("test_accuracy")
    acc_text = f" Test accuracy of the NumPy model: {acc:.4f}." if isinstance(acc, float) else ""
    return (
        f"convlens {spec.get('name', 'lenet5')} {kind}: {_architecture(spec)}. "
        f"Input '{INPUT_NAME}' {inp['shape']} {inp['dtype']} NHWC, {inp['normalisation']}. "
        f"Outputs: '{PROBS_NAME}' (1, {spec['num_classes']}) class probabilities for labels "
        f"{''.join(LABELS)}, and every layer's activation by name. {acc_text}"
        f" Spec: {json.dumps(spec, sort_keys=True)}"
    ).replace("  ", " ")


def _metadata(spec: Spec, metrics: dict[str, Any], int8: bool) -> bytes:
    shapes = dict(layer_shapes(spec))
    outputs = [{"name": PROBS_NAME, "shape": [1, spec["num_classes"]]}]
    outputs += [
        {"name": name, "shape": [1, *shape]}
        for name, shape in shapes.items()
        if name in {layer["name"] for layer in spec["layers"] if layer["type"] != "flatten"}
    ]
    doc = {
        "format": METADATA_FORMAT,
        "producer": "convlens training.export (tflite schema bindings, no TensorFlow)",
        "quantization": "int8 full integer" if int8 else "none (float32)",
        "input": _input_doc(spec, int8),
        "outputs": outputs,
        "labels": LABELS,
        "spec": spec,
        "metrics": metrics,
        "license": "weights trained on MNIST (CC BY-SA 3.0)",
    }
    return json.dumps(doc, sort_keys=True).encode("utf-8")


def read_metadata(model: bytes) -> dict[str, Any]:
    """The ``convlens`` JSON metadata of an exported model (needs the ``tflite`` package)."""
    m = tflite.Model.GetRootAs(model, 0)
    for i in range(m.MetadataLength()):
        entry = m.Metadata(i)
        if entry.Name().decode() == METADATA_NAME:
            data = m.Buffers(entry.Buffer()).DataAsNumpy()
            return json.loads(bytes(data).decode("utf-8"))
    raise ExportError(f"model has no {METADATA_NAME!r} metadata")


# -------------------------------------------------------------------- CLI


def export_files(
    model_path: Path,
    out_dir: Path,
    calibration_count: int = 1000,
    data_dir: Path | None = None,
    seed: int = 0,
    percentile: float | None = None,
) -> dict[str, Path]:
    """Write ``lenet_float32.tflite`` and ``lenet_int8.tflite`` next to each other.

    Calibration uses ``calibration_count`` training images drawn with ``seed``.
    Returns ``{"float32": path, "int8": path}``.
    """
    spec, params, metrics = load_model(model_path)
    check_exportable(spec)
    digest = hashlib.sha256(Path(model_path).read_bytes()).hexdigest()
    # Scalars and the training config only: the history and confusion matrix stay in
    # lenet_metrics.json, they would only bloat every model file.
    metrics = {k: v for k, v in metrics.items() if k not in ("history", "confusion")}
    metrics = {**metrics, "source": Path(model_path).name, "source_sha256": digest}
    images, _ = mnist.load_split("train", data_dir)
    rng = np.random.default_rng(seed)
    calib = images[rng.choice(len(images), size=min(calibration_count, len(images)), replace=False)]
    out_dir.mkdir(parents=True, exist_ok=True)
    written = {}
    for kind, blob in (
        ("float32", export_float32(spec, params, metrics)),
        ("int8", export_int8(spec, params, calib, metrics, percentile)),
    ):
        path = out_dir / f"lenet_{kind}.tflite"
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_bytes(blob)
        tmp.replace(path)
        written[kind] = path
        log.info("wrote %s (%d bytes)", path, len(blob))
    return written


def main(argv: list[str] | None = None) -> int:
    """CLI entry point; returns the exit status."""
    parser = argparse.ArgumentParser(
        prog="python -m training.export", description=__doc__.split("\n")[0]
    )
    parser.add_argument("model", type=Path, help="trained .npz model, e.g. models/lenet.npz")
    parser.add_argument("--out", type=Path, default=Path("models"), help="output folder")
    parser.add_argument(
        "--calibration-images",
        type=int,
        default=1000,
        help="training images for int8 activation ranges",
    )
    parser.add_argument(
        "--percentile",
        type=float,
        default=None,
        help="clip activation ranges at this percentile (default: min/max)",
    )
    parser.add_argument("--data-dir", type=Path, default=None, help="MNIST IDX folder")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    try:
        written = export_files(
            args.model,
            args.out,
            args.calibration_images,
            args.data_dir,
            args.seed,
            args.percentile,
        )
    except (ModelFileError, ExportError, mnist.DataError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    for kind, path in written.items():
        print(f"{kind}: {path} ({path.stat().st_size} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
