"""Load the LeNet-5 digit classifier once and run it: LiteRT, tflite-runtime or NumPy.

``load_classifier`` picks the runtime: a ``.tflite`` file runs in ``ai_edge_litert``
when it imports, else ``tflite_runtime``; ``backend="numpy"`` or a ``.npz`` path runs
the reference forward pass of ``training.network`` on ``lenet.npz``. Every
prediction returns the class probabilities and each layer's activation (dequantised
to float32 for the int8 model), read from the one interpreter invocation.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from app.errors import ModelError
from app.i18n import N_, Message
from training.layers import softmax
from training.model_io import ModelFileError, load_model
from training.network import forward
from training.tflite_predict import RUNTIMES, TFLiteModel, runtime_version

if TYPE_CHECKING:
    from app.config import Config

log = logging.getLogger(__name__)

REFERENCE_MODEL_NAME = "lenet.npz"
INPUT_SHAPE = (28, 28)
PROBS = "probs"
#: Activations every convlens LeNet model exposes as named outputs, in network order.
LAYER_NAMES = ("conv1", "pool1", "conv2", "pool2", "fc1", "fc2", "fc3")
NUM_CLASSES = 10
#: ``auto``, each TFLite runtime (``training.tflite_predict.RUNTIMES``), and ``numpy``.
BACKENDS = ("auto", *(runtime.name for runtime in RUNTIMES), "numpy")


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
    versions: dict[str, str | None] = {r.dist: runtime_version(r) for r in RUNTIMES}
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


def model_path(config: Config) -> Path:
    """The configured model file, or the shipped default (app/model_paths.py's rule)."""
    from app.model_paths import shipped_model

    return Path(config.model.path) if config.model.path else shipped_model()


def classifier_factory(config: Config, path: Path | None = None) -> Callable[..., DigitClassifier]:
    """``factory(backend=None)`` loads the configured classifier (raising ModelError).

    ``backend`` overrides the configured one (the digit stage asks for "numpy" for the
    NumPy reference view); ``path``, the configured file (a fine-tuned model's).
    """

    def load(backend: str | None = None) -> DigitClassifier:
        chosen = backend or config.model.backend
        path_now = path or model_path(config)
        if chosen == "auto" and path_now.suffix == ".tflite":
            versions = runtime_versions()
            if not (versions.get("ai-edge-litert") or versions.get("tflite-runtime")):
                # A laptop install without the litert extra still classifies, more slowly.
                log.warning(
                    "no TFLite runtime installed (pip install ai-edge-litert); "
                    "using the NumPy reference network"
                )
                chosen = "numpy"
        return load_classifier(path_now, chosen)

    return load


# ------------------------------------------------------------------ TFLite


class _TFLiteClassifier(DigitClassifier):
    """``training.tflite_predict.TFLiteModel`` at batch 1, with the app's load checks
    (one 28x28 image in, ``probs`` and every LeNet layer out) and ``Prediction``s."""

    def __init__(self, path: Path, backend: str, num_threads: int) -> None:
        data = _read_model_file(path)
        try:
            self._model = TFLiteModel(data, backend, num_threads, name=f"model file {path}")
        except ModelFileError as exc:
            raise ModelError(str(exc)) from exc
        except ImportError as exc:
            raise ModelError(f"{exc}, or use the NumPy backend with lenet.npz") from exc
        if backend == "auto" and self._model.runtime is not RUNTIMES[0]:
            log.info("%s is not installed; using %s", RUNTIMES[0].dist, self._model.runtime.dist)
        self.backend = self._model.runtime.name
        self._check_input(path)
        self._check_outputs(path)
        self._lock = threading.Lock()
        self.layer_names = LAYER_NAMES
        self.learned_kernels = self._read_conv1_weights()
        self._int8 = self._model.input_dtype == np.int8
        precision = "int8" if self._int8 else "float32"
        self.description = f"{self._model.label}, {path.name} ({precision})"

    def _check_input(self, path: Path) -> None:
        model = self._model
        if model.input_count != 1:
            raise ModelError(f"model file {path} has {model.input_count} inputs, expected 1 image")
        if model.input_shape != (1, *INPUT_SHAPE, 1):
            raise ModelError(
                f"model file {path} takes input shape {model.input_shape}, expected (1, 28, 28, 1)"
            )
        if model.input_dtype not in (np.float32, np.int8):
            raise ModelError(
                f"model file {path} takes {model.input_dtype} input, expected float32 or int8"
            )
        if model.input_dtype == np.int8 and model.input_quantization[0] <= 0:
            raise ModelError(f"model file {path} has an int8 input without quantisation")

    def _check_outputs(self, path: Path) -> None:
        missing = [n for n in (PROBS, *LAYER_NAMES) if n not in self._model.output_names]
        if missing:
            raise ModelError(
                f"model file {path} lacks output(s) {', '.join(missing)}; expected a convlens "
                f"LeNet export with outputs {PROBS}, {', '.join(LAYER_NAMES)}"
            )
        probs_shape = tuple(int(d) for d in self._model.output_detail(PROBS)["shape"])
        if probs_shape != (1, NUM_CLASSES):
            raise ModelError(
                f"model file {path} outputs probs of shape {probs_shape}, expected (1, 10)"
            )

    def _read_conv1_weights(self) -> np.ndarray | None:
        """conv1's weights (5, 5, 1, 6) HWIO float32 from the constant tensor, or None.

        Read through the interpreter (works in LiteRT and tflite-runtime alike, with
        no flatbuffer package on the Pi); TFLite stores them OHWI, int8 per channel.
        """
        interpreter = self._model.interpreter
        for detail in interpreter.get_tensor_details():
            if detail["name"] != "conv1/w":
                continue
            try:
                w = np.array(interpreter.get_tensor(detail["index"]), dtype=np.float32)
            except ValueError:
                return None
            scales = detail["quantization_parameters"]["scales"]
            if len(scales):
                shape = [1] * w.ndim
                shape[detail["quantization_parameters"]["quantized_dimension"]] = -1
                w = w * np.asarray(scales, dtype=np.float32).reshape(shape)
            return np.ascontiguousarray(np.transpose(w, (1, 2, 3, 0)))
        return None

    def predict(self, tensor: np.ndarray) -> Prediction:
        """See ``DigitClassifier.predict``."""
        x = self._model.quantize_input(_check_image(tensor)[None])
        with self._lock:
            out = self._model.invoke(x)
        layers = {name: out[name][0] for name in LAYER_NAMES}
        probs = out[PROBS][0]
        if self._int8:
            # int8 probabilities are multiples of 1/256 and need not sum to exactly 1.
            total = probs.sum()
            probs = probs / total if total > 0 else np.full(NUM_CLASSES, 0.1, np.float32)
        return Prediction(probs=probs.astype(np.float32, copy=False), layers=layers)


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
        self.description = Message(
            N_("NumPy {version} reference, {model} (float32)"),
            version=np.__version__,
            model=path.name,
        )

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
