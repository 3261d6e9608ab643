"""The operator-level half of the .tflite check: what kernels and XNNPACK assume of a graph.

``tflite_verify`` proves every byte the interpreter reads lies inside the file. That
is not enough: tflite-runtime 2.14 and its XNNPACK delegate trust that a CONV_2D's
input has rank 4, that its filter's channels match, that an options table is the
type the operator expects, and crash (SIGSEGV) when a one-int32 edit breaks that.
This checks, for the operators a convlens LeNet uses, the input and output counts,
the options' type and values, the tensor types and that the shapes agree with what
the operator computes. Any other operator is refused: convlens runs its own models.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

# BuiltinOperator codes (tensorflow/lite/schema/schema.fbs).
AVERAGE_POOL_2D, CONV_2D, DEQUANTIZE, FULLY_CONNECTED, LOGISTIC = 1, 3, 6, 9, 14
MAX_POOL_2D, RELU, RESHAPE, SOFTMAX, TANH, PAD, QUANTIZE = 17, 19, 22, 25, 28, 34, 114
# BuiltinOptions union members each operator's options table must be.
_OPTIONS_TYPE = {CONV_2D: 1, AVERAGE_POOL_2D: 5, MAX_POOL_2D: 5, FULLY_CONNECTED: 8,
                 SOFTMAX: 9, RESHAPE: 17, PAD: 22}  # fmt: skip
_ELEMENTWISE = {RELU, TANH, LOGISTIC, QUANTIZE, DEQUANTIZE}
#: TensorType codes: FLOAT32, INT32, INT8.
FLOAT32, INT32, INT8 = 0, 2, 9


class GraphError(ValueError):
    """An operator whose tensors or options do not fit it; the message says which."""


@dataclass(frozen=True)
class Tensor:
    shape: tuple[int, ...]
    type: int


@dataclass(frozen=True)
class Operator:
    """One operator as the flatbuffer walk found it; ``options`` maps field index -> int."""

    where: str
    code: int
    inputs: tuple[int, ...]
    outputs: tuple[int, ...]
    options_type: int
    options: Callable[[int, int], int]


def check_operator(op: Operator, tensors: list[Tensor]) -> None:
    """Raise ``GraphError`` unless ``op`` is a convlens operator whose tensors fit it."""
    check = _CHECKS.get(op.code)
    if check is None:
        raise GraphError(f"{op.where} is builtin operator {op.code}, which convlens never uses")
    expected = _OPTIONS_TYPE.get(op.code, 0)
    # Reshape and softmax run on defaults without options; windows need theirs.
    optional = op.code in (RESHAPE, SOFTMAX, PAD) and op.options_type == 0
    if expected and op.options_type != expected and not optional:
        raise GraphError(f"{op.where} has options of type {op.options_type}, expected {expected}")
    if len(op.outputs) != 1 or op.outputs[0] < 0:
        raise GraphError(f"{op.where} has outputs {list(op.outputs)}, expected one tensor")
    check(op, tensors)


def _inputs(op: Operator, tensors: list[Tensor], low: int, high: int) -> list[Tensor | None]:
    """The input tensors (None for an omitted optional one, allowed only past ``low``)."""
    if not low <= len(op.inputs) <= high:
        raise GraphError(f"{op.where} has {len(op.inputs)} inputs, expected {low}..{high}")
    found: list[Tensor | None] = []
    for i, index in enumerate(op.inputs):
        if index < 0 and i < low:
            raise GraphError(f"{op.where} lacks its required input {i}")
        found.append(tensors[index] if index >= 0 else None)
    return found


def _rank(t: Tensor, rank: int, what: str, op: Operator) -> None:
    if len(t.shape) != rank:
        raise GraphError(f"{op.where} {what} has shape {list(t.shape)}, expected rank {rank}")


def _same_type(op: Operator, *tensors: Tensor) -> None:
    kinds = {t.type for t in tensors}
    if len(kinds) != 1 or kinds - {FLOAT32, INT8}:
        raise GraphError(f"{op.where} mixes tensor types {sorted(kinds)}; expected float32 or int8")


def _window_out(size: int, k: int, stride: int, dilation: int, padding: int) -> int:
    """Output length of a window op: SAME (0) ceil(size/stride), VALID (1) as TFLite."""
    if padding == 0:
        return (size + stride - 1) // stride
    effective = (k - 1) * dilation + 1
    return (size - effective + stride) // stride


def _check_window(
    op: Operator, x: Tensor, out: Tensor, k: tuple[int, int], window: tuple[int, ...]
) -> None:
    """Shared by conv and pool; ``window`` is (padding, stride_w, stride_h, dilation_w,
    dilation_h, fused activation): the output's spatial size must follow from them."""
    padding, stride_w, stride_h, dilation_w, dilation_h, activation = window
    if padding not in (0, 1) or not 0 <= activation <= 5:
        raise GraphError(f"{op.where} has padding {padding} / activation {activation}")
    if min(stride_w, stride_h, dilation_w, dilation_h, *k) < 1 or max(k) > 64:
        raise GraphError(f"{op.where} has window {k}, strides {stride_w},{stride_h}")
    want = (
        _window_out(x.shape[1], k[0], stride_h, dilation_h, padding),
        _window_out(x.shape[2], k[1], stride_w, dilation_w, padding),
    )
    if min(want) < 1 or out.shape[1:3] != want or out.shape[0] != x.shape[0]:
        raise GraphError(
            f"{op.where} output {list(out.shape)} does not follow from input {list(x.shape)}"
        )


def _conv(op: Operator, tensors: list[Tensor]) -> None:
    x, w, b = [*_inputs(op, tensors, 2, 3), None][:3]
    out = tensors[op.outputs[0]]
    assert x is not None and w is not None
    for t, what in ((x, "input"), (w, "filter"), (out, "output")):
        _rank(t, 4, what, op)
    _same_type(op, x, w, out)
    if w.shape[3] != x.shape[3] or out.shape[3] != w.shape[0]:
        raise GraphError(f"{op.where} filter {list(w.shape)} does not fit input {list(x.shape)}")
    if b is not None and (b.shape != (w.shape[0],) or b.type not in (FLOAT32, INT32)):
        raise GraphError(f"{op.where} bias {list(b.shape)} does not fit {w.shape[0]} filters")
    # Conv2DOptions: padding, stride_w, stride_h, activation, dilation_w, dilation_h.
    o = op.options
    window = (o(0, 0), o(1, 0), o(2, 0), o(4, 1), o(5, 1), o(3, 0))
    _check_window(op, x, out, (w.shape[1], w.shape[2]), window)


def _pool(op: Operator, tensors: list[Tensor]) -> None:
    (x,) = _inputs(op, tensors, 1, 1)
    out = tensors[op.outputs[0]]
    assert x is not None
    _rank(x, 4, "input", op)
    _rank(out, 4, "output", op)
    _same_type(op, x, out)
    if out.shape[3] != x.shape[3]:
        raise GraphError(f"{op.where} changes channels {x.shape[3]} -> {out.shape[3]}")
    # Pool2DOptions: padding, stride_w, stride_h, filter_width, filter_height, activation.
    o = op.options
    _check_window(op, x, out, (o(4, 0), o(3, 0)), (o(0, 0), o(1, 0), o(2, 0), 1, 1, o(5, 0)))


def _elements(t: Tensor) -> int:
    n = 1
    for d in t.shape:
        n *= d
    return n


def _fully_connected(op: Operator, tensors: list[Tensor]) -> None:
    x, w, b = [*_inputs(op, tensors, 2, 3), None][:3]
    out = tensors[op.outputs[0]]
    assert x is not None and w is not None
    _rank(w, 2, "weights", op)
    _same_type(op, x, w, out)
    units, depth = w.shape
    if not x.shape or depth < 1 or _elements(x) % depth or out.shape[-1:] != (units,):
        raise GraphError(f"{op.where} weights {list(w.shape)} do not fit input {list(x.shape)}")
    if _elements(out) != _elements(x) // depth * units:
        raise GraphError(f"{op.where} output {list(out.shape)} does not fit its input")
    if b is not None and (b.shape != (units,) or b.type not in (FLOAT32, INT32)):
        raise GraphError(f"{op.where} bias {list(b.shape)} does not fit {units} units")
    if not 0 <= op.options(0, 0) <= 5 or op.options(1, 0) != 0:
        raise GraphError(f"{op.where} has an unsupported activation or weights format")


def _reshape(op: Operator, tensors: list[Tensor]) -> None:
    # The shape input is required: without it LiteRT 2.3 crashes in allocate_tensors
    # (found by tests/tflite_fuzz.py); convlens exports always give it.
    x, shape = _inputs(op, tensors, 2, 2)
    out = tensors[op.outputs[0]]
    assert x is not None and shape is not None
    if _elements(x) != _elements(out) or x.type != out.type:
        raise GraphError(f"{op.where} reshapes {list(x.shape)} into {list(out.shape)}")
    if shape.type != INT32 or shape.shape != (len(out.shape),):
        raise GraphError(f"{op.where} shape input {list(shape.shape)} does not fit its output")


def _pad(op: Operator, tensors: list[Tensor]) -> None:
    x, paddings = _inputs(op, tensors, 2, 2)
    out = tensors[op.outputs[0]]
    assert x is not None and paddings is not None
    if paddings.type != INT32 or paddings.shape != (len(x.shape), 2):
        raise GraphError(f"{op.where} paddings {list(paddings.shape)} do not fit {list(x.shape)}")
    if len(out.shape) != len(x.shape) or any(
        o < i for o, i in zip(out.shape, x.shape, strict=True)
    ):
        raise GraphError(f"{op.where} pads {list(x.shape)} into {list(out.shape)}")
    _same_type(op, x, out)


def _elementwise(op: Operator, tensors: list[Tensor]) -> None:
    (x,) = _inputs(op, tensors, 1, 1)
    out = tensors[op.outputs[0]]
    assert x is not None
    if x.shape != out.shape:
        raise GraphError(f"{op.where} maps {list(x.shape)} to {list(out.shape)}")
    if op.code in (SOFTMAX, RELU, TANH, LOGISTIC):
        _same_type(op, x, out)
    elif {x.type, out.type} != {FLOAT32, INT8}:
        raise GraphError(f"{op.where} converts types {x.type} -> {out.type}")


_CHECKS: dict[int, Callable[[Operator, list[Tensor]], None]] = {
    CONV_2D: _conv,
    AVERAGE_POOL_2D: _pool,
    MAX_POOL_2D: _pool,
    FULLY_CONNECTED: _fully_connected,
    RESHAPE: _reshape,
    PAD: _pad,
    SOFTMAX: _elementwise,
    **dict.fromkeys(_ELEMENTWISE, _elementwise),
}
