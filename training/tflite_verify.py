"""Check a .tflite file's flatbuffer structure in pure Python before an interpreter reads it.

tflite-runtime 2.14 does not verify a model's flatbuffer: a truncated or corrupted
file makes it read out of bounds and crash the process (SIGSEGV). This walks every
table, vector and string of the part of the TFLite schema the interpreter reads
(model, operator codes, subgraph, tensors, quantisation, operators and their
options tables, buffers, metadata, signatures) and checks that each lies inside the
file and that every index points at something that exists. Needs no ``tflite``
or ``flatbuffers`` package, so it runs on the Pi.
"""

from __future__ import annotations

import struct

from training.tflite_graph import GraphError, Operator, Tensor, check_operator

FILE_IDENTIFIER = b"TFL3"
#: TensorType -> bytes per element, for the fixed-size types a convlens model could hold
#: (float32, float16, int32, uint8, int64, bool, int16, int8, float64, uint32, uint16).
#: Strings, resources, variants, complex and packed int4 are refused: their sizes are
#: not a product of the shape, and no convlens model has them.
_TYPE_SIZES = {0: 4, 1: 2, 2: 4, 3: 1, 4: 8, 6: 1, 7: 2, 9: 1, 10: 8, 15: 4, 16: 2}
#: Options table field kinds ("b" byte, "i" int32) by BuiltinOptions type: Conv2D,
#: Pool2D, FullyConnected (tensorflow/lite/schema/schema.fbs).
_OPTION_KINDS = {1: "biibii", 5: "biiiib", 8: "bbb"}
#: More dimensions than any TFLite kernel supports.
_MAX_RANK = 8
#: Elements in one tensor (2 GiB of float32 / 4): beyond it sizes overflow int32 maths.
_MAX_ELEMENTS = 1 << 29
#: BuiltinOptions union member whose table holds a vector (ReshapeOptions.new_shape).
_RESHAPE_OPTIONS = 17


class FlatbufferError(ValueError):
    """The bytes are not a structurally valid TFLite model; the message says where."""


class _Reader:
    """Bounds-checked access to flatbuffer tables, vectors and strings in one buffer."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.size = len(data)

    def _need(self, pos: int, length: int, what: str) -> None:
        if pos < 0 or length < 0 or pos + length > self.size:
            raise FlatbufferError(
                f"{what} at byte {pos} (+{length}) lies outside the {self.size}-byte file"
            )

    def u8(self, pos: int, what: str) -> int:
        self._need(pos, 1, what)
        return self.data[pos]

    def u32(self, pos: int, what: str) -> int:
        self._need(pos, 4, what)
        return struct.unpack_from("<I", self.data, pos)[0]

    def i32(self, pos: int, what: str) -> int:
        self._need(pos, 4, what)
        return struct.unpack_from("<i", self.data, pos)[0]

    def u64(self, pos: int, what: str) -> int:
        self._need(pos, 8, what)
        return struct.unpack_from("<Q", self.data, pos)[0]

    def table(self, pos: int, what: str) -> _Table:
        """The table at ``pos``: checks its vtable and its inline fields lie in the file."""
        vtable = pos - self.i32(pos, f"{what} vtable offset")
        self._need(vtable, 4, f"{what} vtable")
        vt_size, table_size = struct.unpack_from("<HH", self.data, vtable)
        if vt_size < 4 or vt_size % 2:
            raise FlatbufferError(f"{what} has a vtable of invalid size {vt_size}")
        self._need(vtable, vt_size, f"{what} vtable")
        self._need(pos, table_size, what)
        fields = struct.unpack_from(f"<{(vt_size - 4) // 2}H", self.data, vtable + 4)
        for offset in fields:
            if offset and offset >= table_size:
                raise FlatbufferError(f"{what} has a field outside its {table_size}-byte table")
        return _Table(self, pos, fields, what)

    def vector(self, pos: int, elem_size: int, what: str) -> tuple[int, int]:
        """(start of the elements, count) of the vector at ``pos``, checked in bounds."""
        count = self.u32(pos, f"{what} length")
        self._need(pos + 4, count * elem_size, what)
        return pos + 4, count


class _Table:
    def __init__(self, reader: _Reader, pos: int, fields: tuple[int, ...], what: str) -> None:
        self.r, self.pos, self.fields, self.what = reader, pos, fields, what

    def field(self, index: int) -> int | None:
        """Absolute position of field ``index``, or None when absent."""
        if index < len(self.fields) and self.fields[index]:
            return self.pos + self.fields[index]
        return None

    def scalar(self, index: int, kind: str, default: int = 0) -> int:
        pos = self.field(index)
        if pos is None:
            return default
        name = f"{self.what} field {index}"
        return {"u8": self.r.u8, "u32": self.r.u32, "i32": self.r.i32, "u64": self.r.u64}[kind](
            pos, name
        )

    def _target(self, index: int) -> int | None:
        pos = self.field(index)
        if pos is None:
            return None
        return pos + self.r.u32(pos, f"{self.what} field {index} offset")

    def table(self, index: int, what: str) -> _Table | None:
        target = self._target(index)
        return None if target is None else self.r.table(target, what)

    def vector(self, index: int, elem_size: int, what: str) -> tuple[int, int]:
        target = self._target(index)
        return (0, 0) if target is None else self.r.vector(target, elem_size, what)

    def string(self, index: int, what: str) -> bytes:
        start, count = self.vector(index, 1, what)
        self.r._need(start, count + 1, f"{what} (with its terminating zero)")
        return self.r.data[start : start + count]

    def tables(self, index: int, what: str) -> list[_Table]:
        start, count = self.vector(index, 4, what)
        return [
            self.r.table(start + 4 * i + self.r.u32(start + 4 * i, what), f"{what}[{i}]")
            for i in range(count)
        ]

    def ints(self, index: int, what: str) -> list[int]:
        start, count = self.vector(index, 4, what)
        return [self.r.i32(start + 4 * i, what) for i in range(count)]


def verify_model(data: bytes) -> None:
    """Raise ``FlatbufferError`` (one line) unless ``data`` is a well-formed TFLite model.

    Checks the ``TFL3`` identifier, then every table, vector and string the
    interpreter reads, and that tensor, buffer and operator-code indices are in range.
    """
    if len(data) < 8:
        raise FlatbufferError(f"{len(data)} bytes is too short for a TFLite model")
    if data[4:8] != FILE_IDENTIFIER:
        raise FlatbufferError(
            f"file identifier is {bytes(data[4:8])!r}, expected {FILE_IDENTIFIER!r}"
        )
    r = _Reader(data)
    model = r.table(r.u32(0, "root offset"), "model")
    opcodes = model.tables(1, "operator_codes")
    builtins = []
    for i, code in enumerate(opcodes):
        code.string(1, f"operator_codes[{i}].custom_code")
        # The newer builtin_code field, or the older byte for codes below 127.
        builtin = max(code.scalar(0, "u8"), code.scalar(3, "i32"))
        if not 0 <= builtin <= 255 or code.scalar(3, "i32") < 0:
            raise FlatbufferError(f"operator_codes[{i}] names builtin operator {builtin}")
        builtins.append(builtin)
    buffers = model.tables(4, "buffers")
    buffer_sizes = []
    for i, buf in enumerate(buffers):
        _, count = buf.vector(0, 1, f"buffers[{i}].data")
        offset, size = buf.scalar(1, "u64"), buf.scalar(2, "u64")
        if offset > 1:
            r._need(offset, size, f"buffers[{i}] external data")
            count = size
        buffer_sizes.append(count)
    model.string(3, "description")
    model.ints(5, "metadata_buffer")
    for i, meta in enumerate(model.tables(6, "metadata")):
        meta.string(0, f"metadata[{i}].name")
        _check_index(meta.scalar(1, "u32"), len(buffers), f"metadata[{i}].buffer")
    subgraphs = model.tables(2, "subgraphs")
    if not subgraphs:
        raise FlatbufferError("model has no subgraph")
    for s, subgraph in enumerate(subgraphs):
        _verify_subgraph(subgraph, s, buffer_sizes, builtins)
    for i, sig in enumerate(model.tables(7, "signature_defs")):
        sig.string(2, f"signature_defs[{i}].signature_key")
        _check_index(sig.scalar(4, "u32"), len(subgraphs), f"signature_defs[{i}].subgraph")
        n_tensors = len(subgraphs[sig.scalar(4, "u32")].tables(0, "tensors"))
        for field in (0, 1):
            for j, tensor_map in enumerate(sig.tables(field, f"signature_defs[{i}] map")):
                tensor_map.string(0, f"signature_defs[{i}] map[{j}].name")
                _check_index(tensor_map.scalar(1, "u32"), n_tensors, "signature tensor")


def buffer_data_ranges(data: bytes) -> list[tuple[int, int]]:
    """(start, end) byte ranges of the buffers' data in a model that ``verify_model`` accepts."""
    r = _Reader(data)
    model = r.table(r.u32(0, "root offset"), "model")
    ranges = []
    for i, buf in enumerate(model.tables(4, "buffers")):
        start, count = buf.vector(0, 1, f"buffers[{i}].data")
        if count:
            ranges.append((start, start + count))
    return ranges


def _verify_subgraph(
    subgraph: _Table, s: int, buffer_sizes: list[int], builtins: list[int]
) -> None:
    where = f"subgraphs[{s}]"
    tensors = subgraph.tables(0, f"{where}.tensors")
    graph_tensors = [
        _verify_tensor(tensor, f"{where}.tensors[{t}]", buffer_sizes)
        for t, tensor in enumerate(tensors)
    ]
    n_opcodes = len(builtins)
    for index in subgraph.ints(1, f"{where}.inputs") + subgraph.ints(2, f"{where}.outputs"):
        _check_index(index, len(tensors), f"{where} input/output tensor")
    for o, op in enumerate(subgraph.tables(3, f"{where}.operators")):
        what = f"{where}.operators[{o}]"
        _check_index(op.scalar(0, "u32"), n_opcodes, f"{what}.opcode_index")
        for field in (1, 2, 8):
            for index in op.ints(field, what):
                if index != -1:  # -1 marks an omitted optional input
                    _check_index(index, len(tensors), f"{what} tensor")
        options = op.table(4, f"{what}.builtin_options")
        options_type = op.scalar(3, "u8")
        if options is not None and options_type == _RESHAPE_OPTIONS:
            options.ints(0, f"{what}.new_shape")
        op.vector(5, 1, f"{what}.custom_options")
        op.vector(7, 1, f"{what}.mutating_variable_inputs")
        op.table(12, f"{what}.builtin_options_2")
        operator = Operator(
            where=f"{what} ({builtins[op.scalar(0, 'u32')]})",
            code=builtins[op.scalar(0, "u32")],
            inputs=tuple(op.ints(1, what)),
            outputs=tuple(op.ints(2, what)),
            options_type=options_type,
            options=_options_reader(options, options_type),
        )
        try:
            check_operator(operator, graph_tensors)
        except GraphError as exc:
            raise FlatbufferError(str(exc)) from exc
    subgraph.string(4, f"{where}.name")


def _options_reader(options: _Table | None, options_type: int):
    """field, default -> the options table's scalar (its kind from the schema)."""
    kinds = _OPTION_KINDS.get(options_type, "")

    def read(field: int, default: int) -> int:
        if options is None or field >= len(kinds):
            return default
        return options.scalar(field, "u8" if kinds[field] == "b" else "i32", default)

    return read


def _verify_tensor(tensor: _Table, what: str, buffer_sizes: list[int]) -> Tensor:
    """Shape, type, buffer and quantisation: what the runtime sizes its memory by."""
    shape = tensor.ints(0, f"{what}.shape")
    if len(shape) > _MAX_RANK or any(d < 0 for d in shape):
        raise FlatbufferError(
            f"{what} has shape {shape[:10]}; expected up to {_MAX_RANK} dims >= 0"
        )
    tensor.string(3, f"{what}.name")
    signature = tensor.ints(7, f"{what}.shape_signature")
    if signature and (len(signature) != len(shape) or any(d < -1 for d in signature)):
        raise FlatbufferError(f"{what} has shape_signature {signature[:10]} for shape {shape}")
    kind = tensor.scalar(1, "u8")
    if kind not in _TYPE_SIZES:
        raise FlatbufferError(f"{what} has tensor type {kind}, which convlens models never use")
    elements = 1
    for d in shape:
        elements *= d
        if elements > _MAX_ELEMENTS:
            raise FlatbufferError(f"{what} has shape {shape}: over {_MAX_ELEMENTS} elements")
    buffer = tensor.scalar(2, "u32")
    _check_index(buffer, len(buffer_sizes), f"{what}.buffer")
    if buffer_sizes[buffer] and buffer_sizes[buffer] != elements * _TYPE_SIZES[kind]:
        raise FlatbufferError(
            f"{what} of shape {shape} needs {elements * _TYPE_SIZES[kind]} bytes but its "
            f"buffer {buffer} holds {buffer_sizes[buffer]}"
        )
    if tensor.field(6) is not None:
        raise FlatbufferError(f"{what} is sparse, which convlens models never are")
    quant = tensor.table(4, f"{what}.quantization")
    if quant is not None:
        _verify_quantization(quant, f"{what}.quantization", shape)
    return Tensor(tuple(shape), kind)


def _verify_quantization(quant: _Table, what: str, shape: list[int]) -> None:
    counts = [quant.vector(field, size, f"{what} field {field}")[1]
              for field, size in ((0, 4), (1, 4), (2, 4), (3, 8))]  # fmt: skip
    quant.table(5, f"{what}.details")
    scales, zero_points = counts[2], counts[3]
    if scales and zero_points and scales != zero_points:
        raise FlatbufferError(f"{what} has {scales} scales but {zero_points} zero points")
    if scales > 1:
        axis = quant.scalar(6, "i32")
        if not 0 <= axis < len(shape) or shape[axis] != scales:
            raise FlatbufferError(
                f"{what} has {scales} per-channel scales on axis {axis} of shape {shape}"
            )


def _check_index(index: int, count: int, what: str) -> None:
    if not 0 <= index < count:
        raise FlatbufferError(f"{what} index {index} is out of range (0..{count - 1})")
