"""Run an exported .tflite model: the one TFLite runner (evaluate, tests, benchmarks, the app).

Imports ``ai_edge_litert`` (else ``tflite_runtime``) directly: ``training`` never
imports ``app``; the app's classifier is a thin adapter over ``TFLiteModel``.
``invoke`` runs one prepared batch and returns every named output dequantised to
float32; ``run`` does that for any number of images, resizing the batch dimension once.
"""

from __future__ import annotations

import importlib
import importlib.metadata
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from training.model_io import ModelFileError
from training.spec import lenet5_spec
from training.tflite_verify import FlatbufferError, verify_model

#: Float input = uint8 pixel * this (ink = 1): the spec's, which the exporter writes.
INPUT_SCALE = float(lenet5_spec()["input_scale"])


@dataclass(frozen=True)
class Runtime:
    """A TFLite interpreter package: its name here, its module, pip distribution and label."""

    name: str
    module: str
    dist: str
    label: str


#: The interpreters, in the order ``auto`` tries them. LiteRT is the renamed tflite-runtime.
RUNTIMES = (
    Runtime("litert", "ai_edge_litert.interpreter", "ai-edge-litert", "LiteRT"),
    Runtime("tflite-runtime", "tflite_runtime.interpreter", "tflite-runtime", "tflite-runtime"),
)


def runtime_version(runtime: Runtime) -> str | None:
    """The installed version of ``runtime``, or None when its module does not import."""
    try:
        module = importlib.import_module(runtime.module)
    except ImportError:
        return None
    try:
        return importlib.metadata.version(runtime.dist)
    except importlib.metadata.PackageNotFoundError:
        package = importlib.import_module(runtime.module.split(".")[0])
        return str(getattr(package, "__version__", getattr(module, "__version__", "unknown")))


def interpreter_class(runtime: str = "auto") -> tuple[Runtime, type]:
    """(the runtime, its Interpreter class): ``"litert"``, ``"tflite-runtime"`` or, for
    ``"auto"``, the first that imports.

    Raises:
        ImportError: the runtime (or, for ``auto``, every runtime) is not installed; the
            message names the pip packages.
    """
    wanted = [r for r in RUNTIMES if runtime in ("auto", r.name)]
    for candidate in wanted:
        try:
            return candidate, importlib.import_module(candidate.module).Interpreter
        except ImportError:
            continue
    names = " or ".join(r.dist for r in wanted) or " or ".join(r.dist for r in RUNTIMES)
    raise ImportError(f"no TFLite runtime for {runtime!r}: install {names} (pip)")


@dataclass(frozen=True)
class _Output:
    name: str
    index: int
    scale: float  # 0.0: a float tensor, nothing to dequantise
    zero_point: int


class TFLiteModel:
    """One interpreter for one model, resized to the batch size it last ran with.

    Args:
        model: a ``.tflite`` path or its bytes.
        runtime: ``"auto"``, ``"litert"`` or ``"tflite-runtime"``.
        num_threads: interpreter threads; 1 is fastest for a model this small.
        name: what error messages call ``model`` when it is bytes.
    Attributes:
        runtime: the ``Runtime`` that runs it; ``label``: e.g. ``"LiteRT 2.3.0"``.
        input_dtype: float32 or int8; ``input_quantization``: (scale, zero point).
        output_names: every output tensor's name, in the model's order.
    Raises:
        ModelFileError: missing, truncated, not a TFLite model, or refused by the
            runtime (one line naming the file).
        ImportError: no TFLite runtime installed.
    """

    def __init__(
        self,
        model: Path | str | bytes,
        runtime: str = "auto",
        num_threads: int = 1,
        name: str = "model bytes",
    ):
        if isinstance(model, bytes):
            data, where = model, name
        else:
            path = Path(model)
            if not path.is_file():
                raise ModelFileError(f"model file {path} does not exist")
            data, where = path.read_bytes(), f"model file {path}"
        try:
            verify_model(data)
        except FlatbufferError as exc:
            raise ModelFileError(f"{where} is truncated or not a TFLite model ({exc})") from exc
        self.runtime, cls = interpreter_class(runtime)
        self.label = f"{self.runtime.label} {runtime_version(self.runtime)}"
        try:
            self.interpreter = cls(model_content=data, num_threads=num_threads)
            self.interpreter.allocate_tensors()
        except (ValueError, RuntimeError) as exc:
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise ModelFileError(f"{where} cannot be loaded by {self.label}: {first}") from exc
        inputs = self.interpreter.get_input_details()
        self.input_count = len(inputs)
        self._input = inputs[0]
        self.input_shape = tuple(int(d) for d in self._input["shape"])
        self.input_dtype = np.dtype(self._input["dtype"])
        scale, zero_point = self._input["quantization"]
        self.input_quantization = (float(scale), int(zero_point))
        # A uint8 pixel maps to the int8 input exactly as p - 128 when the model was
        # exported with scale 1/255 and zero point -128 (convlens's int8 export).
        self._pixel_shift = (
            self.input_dtype == np.int8 and zero_point == -128 and abs(scale - INPUT_SCALE) < 1e-9
        )
        self._outputs = [_output(d) for d in self.interpreter.get_output_details()]
        self.output_names = tuple(o.name for o in self._outputs)
        self._batch = self.input_shape[0]

    def output_detail(self, name: str) -> dict:
        """The interpreter's detail dict (shape, dtype, quantization) of output ``name``."""
        return next(d for d in self.interpreter.get_output_details() if d["name"] == name)

    def quantize_input(self, images: np.ndarray) -> np.ndarray:
        """(N, 28, 28[, 1]) uint8 pixels or float in [0, 1] -> the model's (N, 28, 28, 1) input."""
        x = images if images.ndim == 4 else images[..., None]
        if self.input_dtype == np.float32:
            if x.dtype == np.uint8:
                return x.astype(np.float32) * np.float32(INPUT_SCALE)
            return x.astype(np.float32, copy=False)
        if x.dtype == np.uint8 and self._pixel_shift:
            return x.view(np.int8) ^ np.int8(-128)
        scale, zero_point = self.input_quantization
        real = x.astype(np.float32) * np.float32(INPUT_SCALE) if x.dtype == np.uint8 else x
        q = np.round(real / np.float32(scale)) + zero_point
        info = np.iinfo(self.input_dtype)
        return np.clip(q, info.min, info.max).astype(self.input_dtype)

    def invoke(self, x: np.ndarray) -> dict[str, np.ndarray]:
        """Run one batch already in the model's input form (``quantize_input``); return
        every output for it, dequantised float32, keyed by tensor name."""
        if len(x) != self._batch:
            shape = [len(x), *self.input_shape[1:]]
            self.interpreter.resize_tensor_input(self._input["index"], shape)
            self.interpreter.allocate_tensors()
            self._batch = len(x)
        self.interpreter.set_tensor(self._input["index"], x)
        self.interpreter.invoke()
        out = {}
        for o in self._outputs:
            value = self.interpreter.get_tensor(o.index)
            if o.scale:
                value = np.subtract(value, o.zero_point, dtype=np.float32)
                value *= np.float32(o.scale)
            out[o.name] = value
        return out

    def run(self, images: np.ndarray, batch_size: int = 500) -> dict[str, np.ndarray]:
        """Every output for every image, dequantised float32, keyed by tensor name.

        Args:
            images: (N, 28, 28[, 1]) uint8 or float in [0, 1].
        Returns:
            ``{"probs": (N, 10), "conv1": (N, 28, 28, 6), ...}``.
        """
        x = self.quantize_input(np.asarray(images))
        chunks: dict[str, list[np.ndarray]] = {name: [] for name in self.output_names}
        for start in range(0, len(x), batch_size):
            for name, value in self.invoke(x[start : start + batch_size]).items():
                chunks[name].append(value)
        return {name: np.concatenate(parts) for name, parts in chunks.items() if parts}

    def predict_probs(self, images: np.ndarray) -> np.ndarray:
        """(N, 28, 28) uint8 -> (N, 10) float32 class probabilities (the ``probs`` output)."""
        return self.run(images)["probs"]


def _output(detail: dict) -> _Output:
    scale, zero_point = detail["quantization"]
    if np.dtype(detail["dtype"]) == np.float32:
        scale, zero_point = 0.0, 0
    return _Output(detail["name"], detail["index"], float(scale), int(zero_point))


def make_tflite_predictor(path: Path) -> Callable[[np.ndarray], np.ndarray]:
    """The ``training.evaluate`` hook: uint8 digits (N, 28, 28) -> probabilities (N, 10).

    Raises:
        ModelFileError: the file is missing, broken, or no TFLite runtime is installed.
    """
    try:
        model = TFLiteModel(path)
    except ImportError as exc:
        raise ModelFileError(f"cannot run {path}: {exc}") from exc
    return model.predict_probs
