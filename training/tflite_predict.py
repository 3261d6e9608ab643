"""Run an exported .tflite model on batches of MNIST images (for evaluate, tests and benchmarks).

Imports ``ai_edge_litert`` (else ``tflite_runtime``) directly: ``training`` never
imports ``app``. ``TFLiteModel.run`` returns every named output, dequantised to
float32, for a whole batch by resizing the interpreter's batch dimension once.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from pathlib import Path

import numpy as np

from training.model_io import ModelFileError
from training.tflite_verify import FlatbufferError, verify_model

#: Float input = uint8 pixel * this (ink = 1), as in ``lenet5_spec``.
INPUT_SCALE = 1.0 / 255.0
RUNTIMES = (
    ("litert", "ai_edge_litert.interpreter"),
    ("tflite-runtime", "tflite_runtime.interpreter"),
)


def interpreter_class(runtime: str = "auto") -> tuple[str, type]:
    """(runtime name, Interpreter class): ``"litert"``, ``"tflite-runtime"`` or the first found.

    Raises:
        ImportError: the runtime (or, for ``auto``, every runtime) is not installed.
    """
    for name, module in RUNTIMES:
        if runtime in ("auto", name):
            try:
                return name, importlib.import_module(module).Interpreter
            except ImportError:
                continue
    raise ImportError(
        f"no TFLite runtime for {runtime!r}: install ai-edge-litert or tflite-runtime"
    )


class TFLiteModel:
    """One interpreter for one model, resized to the batch size it last ran with.

    Args:
        model: a ``.tflite`` path or its bytes.
        runtime: ``"auto"``, ``"litert"`` or ``"tflite-runtime"``.
    Raises:
        ModelFileError: missing, truncated or not a TFLite model (one line).
    """

    def __init__(self, model: Path | str | bytes, runtime: str = "auto", num_threads: int = 1):
        if isinstance(model, bytes):
            data, where = model, "model bytes"
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
        try:
            self.interpreter = cls(model_content=data, num_threads=num_threads)
            self.interpreter.allocate_tensors()
        except (ValueError, RuntimeError) as exc:
            raise ModelFileError(f"{where} cannot be loaded: {exc}") from exc
        (self._input,) = self.interpreter.get_input_details()
        self.input_dtype = np.dtype(self._input["dtype"])
        self.output_names = tuple(d["name"] for d in self.interpreter.get_output_details())
        self._batch = int(self._input["shape"][0])

    def _resize(self, batch: int) -> None:
        if batch != self._batch:
            shape = [batch, *(int(d) for d in self._input["shape"][1:])]
            self.interpreter.resize_tensor_input(self._input["index"], shape)
            self.interpreter.allocate_tensors()
            self._batch = batch

    def quantize_input(self, images: np.ndarray) -> np.ndarray:
        """(N, 28, 28[, 1]) uint8 pixels or float in [0, 1] -> the model's (N, 28, 28, 1) input."""
        x = images if images.ndim == 4 else images[..., None]
        if self.input_dtype == np.float32:
            if x.dtype == np.uint8:
                return x.astype(np.float32) * np.float32(INPUT_SCALE)
            return x.astype(np.float32, copy=False)
        scale, zero_point = self._input["quantization"]
        real = x.astype(np.float32) * np.float32(INPUT_SCALE) if x.dtype == np.uint8 else x
        q = np.round(real / np.float32(scale)) + zero_point
        info = np.iinfo(self.input_dtype)
        return np.clip(q, info.min, info.max).astype(self.input_dtype)

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
            batch = x[start : start + batch_size]
            self._resize(len(batch))
            self.interpreter.set_tensor(self._input["index"], batch)
            self.interpreter.invoke()
            for detail in self.interpreter.get_output_details():
                chunks[detail["name"]].append(_dequantize(self.interpreter, detail))
        return {name: np.concatenate(parts) for name, parts in chunks.items() if parts}

    def predict_probs(self, images: np.ndarray) -> np.ndarray:
        """(N, 28, 28) uint8 -> (N, 10) float32 class probabilities (the ``probs`` output)."""
        return self.run(images)["probs"]


def _dequantize(interpreter, detail: dict) -> np.ndarray:
    value = interpreter.get_tensor(detail["index"])
    if np.dtype(detail["dtype"]) == np.float32:
        return value
    scale, zero_point = detail["quantization"]
    return (value.astype(np.float32) - np.float32(zero_point)) * np.float32(scale)


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
