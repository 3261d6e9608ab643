"""Model files fail safe (issue 13, items 5 and 11): a .tflite edit the runtimes would trust
is refused by the check, a fuzzer's mutants never crash the runtime, and a .npz is
read entry by entry with its sizes, shapes, dtypes and values checked first."""

from __future__ import annotations

import io
import json
import struct
import zipfile
from pathlib import Path

import numpy as np
import pytest

from tests.tflite_fuzz import MODELS, fuzz
from training import network
from training.model_io import MAX_ENTRY_BYTES, ModelFileError, load_model, save_model
from training.spec import lenet5_spec
from training.tflite_verify import FlatbufferError, _Reader, verify_model

FLOAT_MODEL = Path(__file__).resolve().parents[1] / "models" / "lenet_float32.tflite"
INT8_MODEL = FLOAT_MODEL.with_name("lenet_int8.tflite")


def subgraph(data: bytes):
    reader = _Reader(data)
    model = reader.table(reader.u32(0, "root"), "model")
    return model, model.tables(2, "subgraphs")[0]


def edit_int32(data: bytes, pos: int, value: int) -> bytes:
    out = bytearray(data)
    struct.pack_into("<i", out, pos, value)
    return bytes(out)


def tensor_shape_pos(data: bytes, index: int, dim: int) -> int:
    _, graph = subgraph(data)
    start, _ = graph.tables(0, "tensors")[index].vector(0, 4, "shape")
    return start + 4 * dim


def operator_input_pos(data: bytes, op: int, slot: int) -> int:
    _, graph = subgraph(data)
    start, _ = graph.tables(3, "operators")[op].vector(1, 4, "inputs")
    return start + 4 * slot


def test_the_shipped_models_pass():
    for model in MODELS:
        verify_model(model.read_bytes())


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        # The one-int32 edit of the attack: a negative tensor dimension.
        (lambda d: edit_int32(d, tensor_shape_pos(d, 0, 1), -1), r"dims >= 0"),
        # A weight tensor bigger than the bytes it points at.
        (lambda d: edit_int32(d, tensor_shape_pos(d, 1, 0), 7), r"needs \d+ bytes"),
        # An activation whose shape no longer follows from the convolution.
        (lambda d: edit_int32(d, tensor_shape_pos(d, 3, 1), 27), r"does not follow"),
        # A pooled activation with other channels than its input.
        (lambda d: edit_int32(d, tensor_shape_pos(d, 4, 3), 5), r"changes channels 6 -> 5"),
        # RESHAPE without its shape input: LiteRT 2.3 segfaults on this one.
        (lambda d: edit_int32(d, operator_input_pos(d, 4, 1), -1), r"required input"),
        (lambda d: edit_int32(d, operator_input_pos(d, 0, 0), 99), r"out of range"),
    ],
)
def test_edits_the_runtime_would_trust_are_refused(edit, message):
    data = FLOAT_MODEL.read_bytes()
    with pytest.raises(FlatbufferError, match=message):
        verify_model(edit(data))


def test_per_channel_scales_must_match_their_axis():
    data = INT8_MODEL.read_bytes()
    _, graph = subgraph(data)
    quant = graph.tables(0, "tensors")[1].table(4, "quantization")  # conv1/w, 6 channels
    start, count = quant.vector(2, 4, "scale")
    assert count == 6
    with pytest.raises(FlatbufferError, match="scales"):
        verify_model(edit_int32(data, start - 4, 5))  # the scale vector's length


def test_fuzzed_models_never_crash_the_runtime(tmp_path):
    """Mutants of the shipped models' structure: the check refuses some, the runtime
    refuses others, none kills the process (each run in a child, bounded in count and
    time). tests/tflite_fuzz.py runs longer campaigns."""
    campaign = fuzz(MODELS, mutants=150, seconds=90.0, workdir=tmp_path)
    assert campaign.mutants >= 100, "the time bound cut the campaign short"
    assert campaign.refused_by_check > 0 and campaign.run > 0
    assert campaign.crashes == [], [p.name for p in campaign.crashes]
    assert campaign.after_refusals == []


# --- .npz -----------------------------------------------------------------------


def npy_bytes(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.lib.format.write_array(buffer, array, allow_pickle=False)
    return buffer.getvalue()


def write_npz(path: Path, entries: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in entries.items():
            archive.writestr(name + ".npy", data)
    return path


@pytest.fixture
def good_entries(tmp_path) -> dict[str, bytes]:
    spec = lenet5_spec()
    path = tmp_path / "good.npz"
    save_model(path, spec, network.init_params(spec))
    with zipfile.ZipFile(path) as archive:
        return {i.filename.removesuffix(".npy"): archive.read(i) for i in archive.infolist()}


def spec_entry(text: str) -> bytes:
    return npy_bytes(np.array(text))


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda e: e.pop("spec_json"), "no spec_json"),
        (lambda e: e.update(spec_json=spec_entry("[" * 5000 + "]" * 5000)), "nests 5000 deep"),
        (lambda e: e.update(spec_json=spec_entry('{"layers": 5}')), "invalid spec"),
        (lambda e: e.update(spec_json=spec_entry("{not json")), "not valid JSON"),
        (lambda e: e.update(extra=npy_bytes(np.zeros(3, np.float32))), "unexpected entries"),
        (
            lambda e: e.update({"fc1/w": npy_bytes(np.full((400, 120), np.nan, np.float32))}),
            "NaN or infinite",
        ),
        (
            lambda e: e.update({"fc3/b": npy_bytes(np.array([np.inf] * 10, np.float32))}),
            "NaN or infinite",
        ),
        (lambda e: e.update({"fc3/b": npy_bytes(np.zeros(10, np.int64))}), "expected float32"),
        (lambda e: e.update({"fc3/b": npy_bytes(np.array(["a"] * 10))}), "expected float32"),
    ],
)
def test_bad_npz_models_are_one_line_errors(tmp_path, good_entries, change, message):
    change(good_entries)
    path = write_npz(tmp_path / "bad.npz", good_entries)
    with pytest.raises(ModelFileError, match=message) as info:
        load_model(path)
    assert str(path) in str(info.value) and "\n" not in str(info.value)


def test_spec_fields_are_typed_and_bounded(tmp_path, good_entries):
    spec = lenet5_spec()
    spec["layers"][0]["kernel"] = "5"  # a string where an int is read
    good_entries["spec_json"] = spec_entry(json.dumps(spec))
    with pytest.raises(ModelFileError, match="kernel must be an integer"):
        load_model(write_npz(tmp_path / "typed.npz", good_entries))
    spec["layers"][0]["kernel"] = 10**9
    good_entries["spec_json"] = spec_entry(json.dumps(spec))
    with pytest.raises(ModelFileError, match="kernel must be an integer"):
        load_model(write_npz(tmp_path / "huge.npz", good_entries))


def test_a_huge_declared_array_is_refused_from_its_header(tmp_path, good_entries):
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(
        header, {"descr": "<f4", "fortran_order": False, "shape": (100_000, 100_000)}
    )
    good_entries["fc1/w"] = header.getvalue() + b"\0" * 64  # declares 40 GB, holds 64 bytes
    with pytest.raises(ModelFileError, match=r"shape \(100000, 100000\), expected \(400, 120\)"):
        load_model(write_npz(tmp_path / "declared.npz", good_entries))


def test_a_zip_bomb_is_refused_before_decompression(tmp_path, good_entries):
    path = tmp_path / "bomb.npz"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in good_entries.items():
            if name != "fc1/w":
                archive.writestr(name + ".npy", data)
        with archive.open("fc1/w.npy", "w", force_zip64=True) as entry:
            zeros = b"\0" * (1 << 20)
            for _ in range(MAX_ENTRY_BYTES // len(zeros) + 1):
                entry.write(zeros)
    assert path.stat().st_size < 1 << 20  # a small file that inflates past the cap
    with pytest.raises(ModelFileError, match="declares"):
        load_model(path)
