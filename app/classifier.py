"""Load the LeNet-5 digit classifier once and run it: LiteRT, tflite-runtime or NumPy.

``load_classifier`` picks the runtime: a ``.tflite`` file runs in ``ai_edge_litert``
when it imports, else ``tflite_runtime``; ``backend="numpy"`` or a ``.npz`` path runs
the reference forward pass of ``training.network`` on ``lenet.npz``. Every
prediction returns the class probabilities and each layer's activation (dequantised
to float32 for the int8 model), read from the one interpreter invocation.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import logging
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from app.errors import ModelError
from training.layers import softmax
from training.model_io import ModelFileError, load_model
from training.network import forward
from training.tflite_verify import FlatbufferError, verify_model

log = logging.getLogger(__name__)

REFERENCE_MODEL_NAME = "lenet.npz"
INPUT_SHAPE = (28, 28)
#: Float input = uint8 pixel * this (ink = 1); what the exporter and lenet5_spec use.
INPUT_SCALE = 1.0 / 255.0
PROBS = "probs"
#: Activations every convlens LeNet model exposes as named outputs, in network order.
LAYER_NAMES = ("conv1", "pool1", "conv2", "pool2", "fc1", "fc2", "fc3")
NUM_CLASSES = 10
BACKENDS = ("auto", "litert", "tflite-runtime", "numpy")
#: Interpreter modules and their pip distributions, in the order ``auto`` tries them.
_RUNTIMES = {
    "litert": ("ai_edge_litert.interpreter", "ai-edge-litert", "LiteRT"),
    "tflite-runtime": ("tflite_runtime.interpreter", "tflite-runtime", "tflite-runtime"),
}


@dataclass(frozen=True)
class Prediction:
    """One classification.

    probs: (10,) float32, sums to 1.
    layers: ``{"conv1": (28, 28, 6), "pool1": (14, 14, 6), "conv2": (10, 10, 16),
    "pool2": (5, 5, 16), "fc1": (120,), "fc2": (84,), "fc3": (10,)}`` float32 arrays
    (the logits are ``fc3``); dequantised for an int8 model.
    """

    probs: np.ndarray
    layers: dict[str, np.ndarray]


class DigitClassifier:
    """A loaded model; ``predict`` runs one 28x28 image. Build it with ``load_classifier``.

    Attributes:
        backend: ``"litert"``, ``"tflite-runtime"`` or ``"numpy"``.
        description: runtime, version, file and precision, shown on screen.
        layer_names: the activations ``Prediction.layers`` holds, in network order.
        learned_kernels: conv1 weights (5, 5, 1, 6) float32 HWIO, or None.
    """

    backend: str
    description: str
    layer_names: tuple[str, ...]
    learned_kernels: np.ndarray | None

    def predict(self, tensor: np.ndarray) -> Prediction:
        """Classify one image.

        Args:
            tensor: (28, 28) or (28, 28, 1); float32 in [0, 1] with ink = 1, or uint8
                0..255 (ink = 255).
        Raises:
            ValueError: wrong shape or dtype (one line).
        """
        raise NotImplementedError


def runtime_versions() -> dict[str, str | None]:
    """Which inference runtimes import here, with their versions (None: not importable)."""
    versions: dict[str, str | None] = {}
    for module, dist, _ in _RUNTIMES.values():
        versions[dist] = _runtime_version(module, dist)
    versions["numpy"] = np.__version__
    return versions


def load_classifier(
    path: str | Path, backend: str = "auto", num_threads: int = 1
) -> DigitClassifier:
    """Load a model once: allocate its tensors and check its input and outputs.

    Args:
        path: a ``.tflite`` model, or a ``.npz`` reference model.
        backend: ``"auto"`` (LiteRT, else tflite-runtime; NumPy for ``.npz``),
            ``"litert"``, ``"tflite-runtime"`` or ``"numpy"`` (runs ``lenet.npz`` from
            the folder of ``path`` when ``path`` is a ``.tflite``).
        num_threads: interpreter threads; 1 is fastest for a model this small.
    Raises:
        ModelError: one line naming the file and what is wrong (missing, truncated,
            not a TFLite model, wrong input or outputs, no runtime installed).
    """
    if backend not in BACKENDS:
        raise ModelError(f"classifier backend {backend!r} is not one of {', '.join(BACKENDS)}")
    path = Path(path)
    if backend == "numpy" or (backend == "auto" and path.suffix == ".npz"):
        npz = path if path.suffix == ".npz" else path.with_name(REFERENCE_MODEL_NAME)
        classifier: DigitClassifier = _NumpyClassifier(npz)
    else:
        if path.suffix != ".tflite":
            raise ModelError(f"model file {path} is not a .tflite or .npz model")
        classifier = _TFLiteClassifier(path, backend, num_threads)
    log.info("classifier: %s", classifier.description)
    return classifier


# ------------------------------------------------------------------ TFLite


def _runtime_version(module: str, dist: str) -> str | None:
    try:
        mod = importlib.import_module(module)
    except ImportError:
        return None
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        package = importlib.import_module(module.split(".")[0])
        return str(getattr(package, "__version__", getattr(mod, "__version__", "unknown")))


def _import_interpreter(backend: str) -> tuple[str, Any, str]:
    """(backend name, Interpreter class, "LiteRT 2.3.0") for ``backend`` or the first found."""
    names = list(_RUNTIMES) if backend == "auto" else [backend]
    for name in names:
        module, dist, label = _RUNTIMES[name]
        try:
            interpreter = importlib.import_module(module).Interpreter
        except ImportError:
            if backend == "auto" and name == "litert":
                log.info("ai-edge-litert is not installed; trying tflite-runtime")
            continue
        return name, interpreter, f"{label} {_runtime_version(module, dist)}"
    wanted = " or ".join(_RUNTIMES[n][1] for n in names)
    raise ModelError(
        f"no TFLite runtime: install {wanted} (pip), or use the NumPy backend with lenet.npz"
    )


@dataclass(frozen=True)
class _Output:
    index: int
    scale: float  # 0.0: float tensor, no dequantisation
    zero_point: int


class _TFLiteClassifier(DigitClassifier):
    """One interpreter, tensors allocated once; ``predict`` sets, invokes and reads."""

    def __init__(self, path: Path, backend: str, num_threads: int) -> None:
        data = _read_model_file(path)
        try:
            verify_model(data)
        except FlatbufferError as exc:
            raise ModelError(
                f"model file {path} is truncated or not a TFLite model ({exc})"
            ) from exc
        self.backend, interpreter_class, runtime = _import_interpreter(backend)
        try:
            self._interpreter = interpreter_class(model_content=data, num_threads=num_threads)
            self._interpreter.allocate_tensors()
        except (ValueError, RuntimeError) as exc:
            message = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise ModelError(f"model file {path} cannot be loaded by {runtime}: {message}") from exc
        self._lock = threading.Lock()
        self._setup_input(path)
        self._setup_outputs(path)
        self.layer_names = LAYER_NAMES
        self.learned_kernels = self._read_conv1_weights()
        precision = "int8" if self._input_scale else "float32"
        self.description = f"{runtime}, {path.name} ({precision})"

    def _setup_input(self, path: Path) -> None:
        inputs = self._interpreter.get_input_details()
        if len(inputs) != 1:
            raise ModelError(f"model file {path} has {len(inputs)} inputs, expected 1 image")
        detail = inputs[0]
        shape = tuple(int(d) for d in detail["shape"])
        if shape != (1, *INPUT_SHAPE, 1):
            raise ModelError(
                f"model file {path} takes input shape {shape}, expected (1, 28, 28, 1)"
            )
        dtype = np.dtype(detail["dtype"])
        if dtype == np.float32:
            self._input_scale, self._input_zero_point = 0.0, 0
        elif dtype == np.int8:
            self._input_scale, self._input_zero_point = detail["quantization"]
            if self._input_scale <= 0:
                raise ModelError(f"model file {path} has an int8 input without quantisation")
        else:
            raise ModelError(f"model file {path} takes {dtype} input, expected float32 or int8")
        self._input_index = detail["index"]
        # A uint8 pixel maps to the int8 input exactly as p - 128 when the model was
        # exported with scale 1/255 and zero point -128 (convlens's int8 export).
        self._pixel_shift = (
            dtype == np.int8
            and self._input_zero_point == -128
            and abs(self._input_scale - INPUT_SCALE) < 1e-9
        )

    def _setup_outputs(self, path: Path) -> None:
        details = {d["name"]: d for d in self._interpreter.get_output_details()}
        missing = [n for n in (PROBS, *LAYER_NAMES) if n not in details]
        if missing:
            raise ModelError(
                f"model file {path} lacks output(s) {', '.join(missing)}; expected a convlens "
                f"LeNet export with outputs {PROBS}, {', '.join(LAYER_NAMES)}"
            )
        probs_shape = tuple(int(d) for d in details[PROBS]["shape"])
        if probs_shape != (1, NUM_CLASSES):
            raise ModelError(
                f"model file {path} outputs probs of shape {probs_shape}, expected (1, 10)"
            )
        self._outputs: dict[str, _Output] = {}
        for name in (PROBS, *LAYER_NAMES):
            detail = details[name]
            scale, zero_point = detail["quantization"]
            if np.dtype(detail["dtype"]) == np.float32:
                scale, zero_point = 0.0, 0
            self._outputs[name] = _Output(detail["index"], float(scale), int(zero_point))

    def _read_conv1_weights(self) -> np.ndarray | None:
        """conv1's weights (5, 5, 1, 6) HWIO float32 from the constant tensor, or None.

        Read through the interpreter (works in LiteRT and tflite-runtime alike, with
        no flatbuffer package on the Pi); TFLite stores them OHWI, int8 per channel.
        """
        for detail in self._interpreter.get_tensor_details():
            if detail["name"] != "conv1/w":
                continue
            try:
                w = np.array(self._interpreter.get_tensor(detail["index"]), dtype=np.float32)
            except ValueError:
                return None
            scales = detail["quantization_parameters"]["scales"]
            if len(scales):
                shape = [1] * w.ndim
                shape[detail["quantization_parameters"]["quantized_dimension"]] = -1
                w = w * np.asarray(scales, dtype=np.float32).reshape(shape)
            return np.ascontiguousarray(np.transpose(w, (1, 2, 3, 0)))
        return None

    def _prepare(self, tensor: np.ndarray) -> np.ndarray:
        image = _check_image(tensor)
        if not self._input_scale:
            if image.dtype == np.uint8:
                return (image.astype(np.float32) * np.float32(INPUT_SCALE)).reshape(1, 28, 28, 1)
            return image.astype(np.float32, copy=False).reshape(1, 28, 28, 1)
        if image.dtype == np.uint8 and self._pixel_shift:
            return (image.view(np.int8) ^ np.int8(-128)).reshape(1, 28, 28, 1)
        real = (
            image.astype(np.float32) * np.float32(INPUT_SCALE) if image.dtype == np.uint8 else image
        )
        q = np.round(real / np.float32(self._input_scale)) + self._input_zero_point
        return np.clip(q, -128, 127).astype(np.int8).reshape(1, 28, 28, 1)

    def predict(self, tensor: np.ndarray) -> Prediction:
        """See ``DigitClassifier.predict``."""
        x = self._prepare(tensor)
        with self._lock:
            self._interpreter.set_tensor(self._input_index, x)
            self._interpreter.invoke()
            raw = {n: self._interpreter.get_tensor(o.index)[0] for n, o in self._outputs.items()}
        out = {}
        for name, value in raw.items():
            spec = self._outputs[name]
            if spec.scale:
                value = np.subtract(value, spec.zero_point, dtype=np.float32)
                value *= spec.scale
            out[name] = value
        probs = out.pop(PROBS)
        if self._input_scale:
            # int8 probabilities are multiples of 1/256 and need not sum to exactly 1.
            total = probs.sum()
            probs = probs / total if total > 0 else np.full(NUM_CLASSES, 0.1, np.float32)
        return Prediction(probs=probs.astype(np.float32, copy=False), layers=out)


def _read_model_file(path: Path) -> bytes:
    if not path.is_file():
        raise ModelError(
            f"model file {path} does not exist; export one with "
            f"`python -m training.export models/lenet.npz --out models/`"
        )
    try:
        return path.read_bytes()
    except OSError as exc:
        raise ModelError(f"model file {path} cannot be read: {exc.strerror}") from exc


def _check_image(tensor: np.ndarray) -> np.ndarray:
    image = np.asarray(tensor)
    if image.ndim == 3 and image.shape[2] == 1:
        image = image[:, :, 0]
    if image.shape != INPUT_SHAPE:
        raise ValueError(f"classifier input has shape {image.shape}, expected (28, 28)")
    if image.dtype != np.uint8 and image.dtype.kind != "f":
        raise ValueError(f"classifier input has dtype {image.dtype}, expected float32 or uint8")
    return image


# ------------------------------------------------------------------- NumPy


class _NumpyClassifier(DigitClassifier):
    """The reference forward pass of ``training.network`` on a ``lenet.npz`` model."""

    def __init__(self, path: Path) -> None:
        try:
            self._spec, self._params, _ = load_model(path)
        except ModelFileError as exc:
            raise ModelError(str(exc)) from exc
        if tuple(self._spec["input_shape"]) != (*INPUT_SHAPE, 1):
            raise ModelError(
                f"model file {path} takes input shape {self._spec['input_shape']}, "
                f"expected [28, 28, 1]"
            )
        names = tuple(layer["name"] for layer in self._spec["layers"])
        missing = [n for n in LAYER_NAMES if n not in names]
        if missing or self._spec["num_classes"] != NUM_CLASSES:
            raise ModelError(
                f"model file {path} is not a LeNet-5 with layers {', '.join(LAYER_NAMES)} "
                f"and 10 classes"
            )
        self.backend = "numpy"
        self.layer_names = LAYER_NAMES
        self.learned_kernels = self._params["conv1/w"].astype(np.float32)
        self.description = f"NumPy {np.__version__} reference, {path.name} (float32)"

    def predict(self, tensor: np.ndarray) -> Prediction:
        """See ``DigitClassifier.predict``."""
        image = _check_image(tensor)
        if image.dtype == np.uint8:
            x = image.astype(np.float32) * np.float32(self._spec["input_scale"])
        else:
            x = image.astype(np.float32, copy=False)
        _, _, outputs = forward(self._spec, self._params, x.reshape(1, 28, 28, 1), keep=True)
        layers = {name: outputs[name][0].astype(np.float32, copy=False) for name in LAYER_NAMES}
        probs = softmax(outputs["fc3"].astype(np.float64))[0].astype(np.float32)
        return Prediction(probs=probs, layers=layers)
