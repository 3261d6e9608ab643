"""Write a single-subgraph TFLite flatbuffer with the published schema bindings (no TensorFlow).

``ModelBuilder`` collects tensors, constant buffers and builtin operators, then
serialises them with the ``tflite`` package's generated builder functions and
``flatbuffers``: file identifier ``TFL3``, schema version 3, operator codes with
both the deprecated int8 and the int32 builtin code, 16-byte aligned buffers,
metadata buffers and a ``serving_default`` signature.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import flatbuffers
import numpy as np
import tflite

SCHEMA_VERSION = 3
FILE_IDENTIFIER = b"TFL3"
#: Builtin codes above this do not fit the deprecated int8 field, which then holds it.
PLACEHOLDER_FOR_GREATER_OP_CODES = 127
BUFFER_ALIGNMENT = 16

TENSOR_TYPES = {
    np.dtype(np.float32): tflite.TensorType.FLOAT32,
    np.dtype(np.int32): tflite.TensorType.INT32,
    np.dtype(np.int8): tflite.TensorType.INT8,
    np.dtype(np.uint8): tflite.TensorType.UINT8,
}

#: Builds an options table in the builder and returns its offset.
OptionsWriter = Callable[[flatbuffers.Builder], int]


@dataclass(frozen=True)
class Quantization:
    """Affine quantisation ``real = scale * (q - zero_point)``, per tensor or per channel.

    ``scale`` and ``zero_point`` have one entry (per tensor) or one per slice along
    ``axis`` (per channel).
    """

    scale: tuple[float, ...]
    zero_point: tuple[int, ...]
    axis: int = 0


@dataclass
class _Tensor:
    name: str
    shape: tuple[int, ...]
    tensor_type: int
    buffer: int
    quantization: Quantization | None
    shape_signature: tuple[int, ...] | None


@dataclass
class _Operator:
    opcode_index: int
    inputs: tuple[int, ...]
    outputs: tuple[int, ...]
    options_type: int
    options: OptionsWriter | None


@dataclass
class ModelBuilder:
    """Accumulates one subgraph; ``build`` returns the finished ``.tflite`` bytes."""

    tensors: list[_Tensor] = field(default_factory=list)
    buffers: list[bytes] = field(default_factory=lambda: [b""])  # buffer 0: the empty sentinel
    operators: list[_Operator] = field(default_factory=list)
    opcodes: list[int] = field(default_factory=list)

    def add_tensor(
        self,
        name: str,
        shape: tuple[int, ...],
        dtype: np.dtype | type,
        data: np.ndarray | None = None,
        quantization: Quantization | None = None,
        shape_signature: tuple[int, ...] | None = None,
    ) -> int:
        """Add a tensor (a constant when ``data`` is given); returns its index.

        Args:
            shape: the static shape, e.g. (1, 28, 28, 1).
            dtype: float32, int32, int8 or uint8.
            data: constant contents, same shape and dtype; stored little-endian.
            shape_signature: the shape with -1 for dimensions that may be resized.
        """
        dtype = np.dtype(dtype)
        if dtype not in TENSOR_TYPES:
            raise ValueError(f"tensor {name!r}: dtype {dtype} is not supported")
        buffer = 0
        if data is not None:
            data = np.ascontiguousarray(data)
            if data.dtype != dtype or data.shape != tuple(shape):
                raise ValueError(
                    f"tensor {name!r}: data is {data.dtype}{data.shape}, expected {dtype}{shape}"
                )
            buffer = self.add_buffer(data.astype(data.dtype.newbyteorder("<")).tobytes())
        self.tensors.append(
            _Tensor(name, tuple(shape), TENSOR_TYPES[dtype], buffer, quantization, shape_signature)
        )
        return len(self.tensors) - 1

    def add_buffer(self, data: bytes) -> int:
        """Add a raw buffer (constant data or metadata); returns its index."""
        self.buffers.append(bytes(data))
        return len(self.buffers) - 1

    def add_operator(
        self,
        builtin_code: int,
        inputs: tuple[int, ...],
        outputs: tuple[int, ...],
        options_type: int = tflite.BuiltinOptions.NONE,
        options: OptionsWriter | None = None,
    ) -> None:
        """Add a builtin operator; ``options`` writes its options table when called."""
        if builtin_code not in self.opcodes:
            self.opcodes.append(builtin_code)
        self.operators.append(
            _Operator(
                self.opcodes.index(builtin_code),
                tuple(inputs),
                tuple(outputs),
                options_type,
                options,
            )
        )

    def build(
        self,
        inputs: dict[str, int],
        outputs: dict[str, int],
        description: str,
        metadata: dict[str, bytes] | None = None,
        subgraph_name: str = "main",
    ) -> bytes:
        """Serialise the model.

        Args:
            inputs, outputs: signature name -> tensor index, in subgraph order.
            description: the model's description string.
            metadata: name -> bytes, each stored in its own buffer.
        Returns:
            The flatbuffer, starting with its root offset and ``TFL3``.
        """
        buffers = list(self.buffers)
        metadata_entries = []
        for name, blob in (metadata or {}).items():
            buffers.append(bytes(blob))
            metadata_entries.append((name, len(buffers) - 1))

        b = flatbuffers.Builder(4096)
        buffer_offsets = [self._write_buffer(b, data) for data in buffers]
        tensor_offsets = [self._write_tensor(b, t) for t in self.tensors]
        operator_offsets = [self._write_operator(b, op) for op in self.operators]
        opcode_offsets = [_write_opcode(b, code) for code in self.opcodes]

        name_offset = b.CreateString(subgraph_name)
        tensors_vec = _offset_vector(b, tflite.SubGraphStartTensorsVector, tensor_offsets)
        inputs_vec = _int32_vector(b, tflite.SubGraphStartInputsVector, list(inputs.values()))
        outputs_vec = _int32_vector(b, tflite.SubGraphStartOutputsVector, list(outputs.values()))
        operators_vec = _offset_vector(b, tflite.SubGraphStartOperatorsVector, operator_offsets)
        tflite.SubGraphStart(b)
        tflite.SubGraphAddTensors(b, tensors_vec)
        tflite.SubGraphAddInputs(b, inputs_vec)
        tflite.SubGraphAddOutputs(b, outputs_vec)
        tflite.SubGraphAddOperators(b, operators_vec)
        tflite.SubGraphAddName(b, name_offset)
        subgraph = tflite.SubGraphEnd(b)

        signature = _write_signature(b, inputs, outputs)
        metadata_offsets = []
        for name, index in metadata_entries:
            meta_name = b.CreateString(name)
            tflite.MetadataStart(b)
            tflite.MetadataAddName(b, meta_name)
            tflite.MetadataAddBuffer(b, index)
            metadata_offsets.append(tflite.MetadataEnd(b))

        description_offset = b.CreateString(description)
        opcodes_vec = _offset_vector(b, tflite.ModelStartOperatorCodesVector, opcode_offsets)
        subgraphs_vec = _offset_vector(b, tflite.ModelStartSubgraphsVector, [subgraph])
        buffers_vec = _offset_vector(b, tflite.ModelStartBuffersVector, buffer_offsets)
        metadata_vec = _offset_vector(b, tflite.ModelStartMetadataVector, metadata_offsets)
        signatures_vec = _offset_vector(b, tflite.ModelStartSignatureDefsVector, [signature])
        tflite.ModelStart(b)
        tflite.ModelAddVersion(b, SCHEMA_VERSION)
        tflite.ModelAddOperatorCodes(b, opcodes_vec)
        tflite.ModelAddSubgraphs(b, subgraphs_vec)
        tflite.ModelAddDescription(b, description_offset)
        tflite.ModelAddBuffers(b, buffers_vec)
        tflite.ModelAddMetadata(b, metadata_vec)
        tflite.ModelAddSignatureDefs(b, signatures_vec)
        model = tflite.ModelEnd(b)
        b.Finish(model, file_identifier=FILE_IDENTIFIER)
        return bytes(b.Output())

    @staticmethod
    def _write_buffer(b: flatbuffers.Builder, data: bytes) -> int:
        data_vec = None
        if data:
            # Align the contents (not the length prefix) so kernels can read them in place.
            b.Prep(BUFFER_ALIGNMENT, len(data))
            data_vec = b.CreateByteVector(data)
        tflite.BufferStart(b)
        if data_vec is not None:
            tflite.BufferAddData(b, data_vec)
        return tflite.BufferEnd(b)

    @staticmethod
    def _write_tensor(b: flatbuffers.Builder, t: _Tensor) -> int:
        name = b.CreateString(t.name)
        shape = _int32_vector(b, tflite.TensorStartShapeVector, list(t.shape))
        signature = None
        if t.shape_signature is not None:
            signature = _int32_vector(
                b, tflite.TensorStartShapeSignatureVector, list(t.shape_signature)
            )
        quant = _write_quantization(b, t.quantization) if t.quantization else None
        tflite.TensorStart(b)
        tflite.TensorAddShape(b, shape)
        tflite.TensorAddType(b, t.tensor_type)
        tflite.TensorAddBuffer(b, t.buffer)
        tflite.TensorAddName(b, name)
        if quant is not None:
            tflite.TensorAddQuantization(b, quant)
        if signature is not None:
            tflite.TensorAddShapeSignature(b, signature)
        return tflite.TensorEnd(b)

    @staticmethod
    def _write_operator(b: flatbuffers.Builder, op: _Operator) -> int:
        options = op.options(b) if op.options is not None else None
        inputs = _int32_vector(b, tflite.OperatorStartInputsVector, list(op.inputs))
        outputs = _int32_vector(b, tflite.OperatorStartOutputsVector, list(op.outputs))
        tflite.OperatorStart(b)
        tflite.OperatorAddOpcodeIndex(b, op.opcode_index)
        tflite.OperatorAddInputs(b, inputs)
        tflite.OperatorAddOutputs(b, outputs)
        if options is not None:
            tflite.OperatorAddBuiltinOptionsType(b, op.options_type)
            tflite.OperatorAddBuiltinOptions(b, options)
        return tflite.OperatorEnd(b)


def _write_opcode(b: flatbuffers.Builder, code: int) -> int:
    tflite.OperatorCodeStart(b)
    tflite.OperatorCodeAddDeprecatedBuiltinCode(b, min(code, PLACEHOLDER_FOR_GREATER_OP_CODES))
    tflite.OperatorCodeAddBuiltinCode(b, code)
    tflite.OperatorCodeAddVersion(b, 1)
    return tflite.OperatorCodeEnd(b)


def _write_quantization(b: flatbuffers.Builder, q: Quantization) -> int:
    if len(q.scale) != len(q.zero_point):
        raise ValueError(f"{len(q.scale)} scales but {len(q.zero_point)} zero points")
    scale = b.CreateNumpyVector(np.asarray(q.scale, dtype=np.float32))
    zero_point = b.CreateNumpyVector(np.asarray(q.zero_point, dtype=np.int64))
    tflite.QuantizationParametersStart(b)
    tflite.QuantizationParametersAddScale(b, scale)
    tflite.QuantizationParametersAddZeroPoint(b, zero_point)
    tflite.QuantizationParametersAddQuantizedDimension(b, q.axis)
    return tflite.QuantizationParametersEnd(b)


def _write_signature(b: flatbuffers.Builder, inputs: dict[str, int], outputs: dict[str, int]):
    def tensor_maps(items: dict[str, int]) -> list[int]:
        offsets = []
        for name, index in items.items():
            name_offset = b.CreateString(name)
            tflite.TensorMapStart(b)
            tflite.TensorMapAddName(b, name_offset)
            tflite.TensorMapAddTensorIndex(b, index)
            offsets.append(tflite.TensorMapEnd(b))
        return offsets

    in_vec = _offset_vector(b, tflite.SignatureDefStartInputsVector, tensor_maps(inputs))
    out_vec = _offset_vector(b, tflite.SignatureDefStartOutputsVector, tensor_maps(outputs))
    key = b.CreateString("serving_default")
    tflite.SignatureDefStart(b)
    tflite.SignatureDefAddInputs(b, in_vec)
    tflite.SignatureDefAddOutputs(b, out_vec)
    tflite.SignatureDefAddSignatureKey(b, key)
    tflite.SignatureDefAddSubgraphIndex(b, 0)
    return tflite.SignatureDefEnd(b)


def _offset_vector(b: flatbuffers.Builder, start: Callable, offsets: list[int]) -> int:
    start(b, len(offsets))
    for offset in reversed(offsets):
        b.PrependUOffsetTRelative(offset)
    return b.EndVector()


def _int32_vector(b: flatbuffers.Builder, start: Callable, values: list[int]) -> int:
    start(b, len(values))
    for value in reversed(values):
        b.PrependInt32(int(value))
    return b.EndVector()


# ------------------------------------------------------------------ options


def conv2d_options(padding: int, stride: int, activation: int) -> OptionsWriter:
    """CONV_2D options: padding (tflite.Padding), square stride, fused activation."""

    def write(b: flatbuffers.Builder) -> int:
        tflite.Conv2DOptionsStart(b)
        tflite.Conv2DOptionsAddPadding(b, padding)
        tflite.Conv2DOptionsAddStrideW(b, stride)
        tflite.Conv2DOptionsAddStrideH(b, stride)
        tflite.Conv2DOptionsAddFusedActivationFunction(b, activation)
        tflite.Conv2DOptionsAddDilationWFactor(b, 1)
        tflite.Conv2DOptionsAddDilationHFactor(b, 1)
        return tflite.Conv2DOptionsEnd(b)

    return write


def pool2d_options(size: int, stride: int) -> OptionsWriter:
    """MAX_POOL_2D / AVERAGE_POOL_2D options: square window, VALID padding, no activation."""

    def write(b: flatbuffers.Builder) -> int:
        tflite.Pool2DOptionsStart(b)
        tflite.Pool2DOptionsAddPadding(b, tflite.Padding.VALID)
        tflite.Pool2DOptionsAddStrideW(b, stride)
        tflite.Pool2DOptionsAddStrideH(b, stride)
        tflite.Pool2DOptionsAddFilterWidth(b, size)
        tflite.Pool2DOptionsAddFilterHeight(b, size)
        tflite.Pool2DOptionsAddFusedActivationFunction(b, tflite.ActivationFunctionType.NONE)
        return tflite.Pool2DOptionsEnd(b)

    return write


def fully_connected_options(activation: int) -> OptionsWriter:
    """FULLY_CONNECTED options: default weights format, 2-D output."""

    def write(b: flatbuffers.Builder) -> int:
        tflite.FullyConnectedOptionsStart(b)
        tflite.FullyConnectedOptionsAddFusedActivationFunction(b, activation)
        tflite.FullyConnectedOptionsAddKeepNumDims(b, False)
        return tflite.FullyConnectedOptionsEnd(b)

    return write


def reshape_options(new_shape: tuple[int, ...]) -> OptionsWriter:
    """RESHAPE options: the target shape (also given as the op's second input)."""

    def write(b: flatbuffers.Builder) -> int:
        shape = _int32_vector(b, tflite.ReshapeOptionsStartNewShapeVector, list(new_shape))
        tflite.ReshapeOptionsStart(b)
        tflite.ReshapeOptionsAddNewShape(b, shape)
        return tflite.ReshapeOptionsEnd(b)

    return write


def softmax_options(beta: float = 1.0) -> OptionsWriter:
    """SOFTMAX options: ``beta`` multiplies the logits."""

    def write(b: flatbuffers.Builder) -> int:
        tflite.SoftmaxOptionsStart(b)
        tflite.SoftmaxOptionsAddBeta(b, beta)
        return tflite.SoftmaxOptionsEnd(b)

    return write


def pad_options() -> OptionsWriter:
    """PAD options: an empty table (the paddings are the op's second input)."""

    def write(b: flatbuffers.Builder) -> int:
        tflite.PadOptionsStart(b)
        return tflite.PadOptionsEnd(b)

    return write
