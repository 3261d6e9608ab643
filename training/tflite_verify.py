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

FILE_IDENTIFIER = b"TFL3"
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
    for i, code in enumerate(opcodes):
        code.string(1, f"operator_codes[{i}].custom_code")
    buffers = model.tables(4, "buffers")
    for i, buf in enumerate(buffers):
        buf.vector(0, 1, f"buffers[{i}].data")
        offset, size = buf.scalar(1, "u64"), buf.scalar(2, "u64")
        if offset > 1:
            r._need(offset, size, f"buffers[{i}] external data")
    model.string(3, "description")
    model.ints(5, "metadata_buffer")
    for i, meta in enumerate(model.tables(6, "metadata")):
        meta.string(0, f"metadata[{i}].name")
        _check_index(meta.scalar(1, "u32"), len(buffers), f"metadata[{i}].buffer")
    subgraphs = model.tables(2, "subgraphs")
    if not subgraphs:
        raise FlatbufferError("model has no subgraph")
    for s, subgraph in enumerate(subgraphs):
        _verify_subgraph(subgraph, s, len(buffers), len(opcodes))
    for i, sig in enumerate(model.tables(7, "signature_defs")):
        sig.string(2, f"signature_defs[{i}].signature_key")
        _check_index(sig.scalar(4, "u32"), len(subgraphs), f"signature_defs[{i}].subgraph")
        n_tensors = len(subgraphs[sig.scalar(4, "u32")].tables(0, "tensors"))
        for field in (0, 1):
            for j, tensor_map in enumerate(sig.tables(field, f"signature_defs[{i}] map")):
                tensor_map.string(0, f"signature_defs[{i}] map[{j}].name")
                _check_index(tensor_map.scalar(1, "u32"), n_tensors, "signature tensor")


def _verify_subgraph(subgraph: _Table, s: int, n_buffers: int, n_opcodes: int) -> None:
    where = f"subgraphs[{s}]"
    tensors = subgraph.tables(0, f"{where}.tensors")
    for t, tensor in enumerate(tensors):
        what = f"{where}.tensors[{t}]"
        tensor.ints(0, f"{what}.shape")
        tensor.string(3, f"{what}.name")
        tensor.ints(7, f"{what}.shape_signature")
        _check_index(tensor.scalar(2, "u32"), n_buffers, f"{what}.buffer")
        if tensor.field(6) is not None:
            raise FlatbufferError(f"{what} is sparse, which convlens models never are")
        quant = tensor.table(4, f"{what}.quantization")
        if quant is not None:
            for field, size in ((0, 4), (1, 4), (2, 4), (3, 8)):
                quant.vector(field, size, f"{what}.quantization field {field}")
            quant.table(5, f"{what}.quantization.details")
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
        if options is not None and op.scalar(3, "u8") == _RESHAPE_OPTIONS:
            options.ints(0, f"{what}.new_shape")
        op.vector(5, 1, f"{what}.custom_options")
        op.vector(7, 1, f"{what}.mutating_variable_inputs")
        op.table(12, f"{what}.builtin_options_2")
    subgraph.string(4, f"{where}.name")


def _check_index(index: int, count: int, what: str) -> None:
    if not 0 <= index < count:
        raise FlatbufferError(f"{what} index {index} is out of range (0..{count - 1})")
