#!/usr/bin/env bash
# Run the runtime tests under tflite-runtime 2.14 with numpy < 2, as on Raspberry Pi OS Bookworm.
#
# Usage: .ci/tflite_runtime_env.sh [pytest args...]
#   Creates (once) a second venv, .venv-tflite, with Python 3.11, tflite-runtime==2.14.0,
#   numpy<2, opencv-python-headless (pip then takes 4.11, the last release for numpy 1), aiohttp,
#   pytest and the project installed without the litert extra: the combination of
#   Raspberry Pi OS Bookworm. With no arguments it runs the whole test suite there
#   (the app then classifies with tflite-runtime); arguments go to pytest instead.
#   The export tests also need the pure-Python `tflite` and `flatbuffers` packages (the
#   `train` extra), so this venv both exports fresh models and loads the committed ones,
#   checking that tflite-runtime 2.14's kernels accept what the exporter writes.
# Environment: PYTHON311 (default python3.11), VENV (default .venv-tflite),
#   CONVLENS_MNIST_DIR (default ../shared/data/mnist). Delete the venv to rebuild it.
set -euo pipefail
SCRIPT="$(cd "$(dirname "$0")" && pwd)/$(basename "$0")"
cd "$(dirname "$SCRIPT")/.."

PYTHON311="${PYTHON311:-python3.11}"
VENV="${VENV:-.venv-tflite}"
STAMP="$VENV/.installed"
export CONVLENS_MNIST_DIR="${CONVLENS_MNIST_DIR:-$(cd .. && pwd)/shared/data/mnist}"

if [[ ! -f "$STAMP" || pyproject.toml -nt "$STAMP" || "$SCRIPT" -nt "$STAMP" ]]; then
    rm -rf "$VENV"
    "$PYTHON311" -m venv "$VENV"
    "$VENV/bin/pip" install --quiet --upgrade pip
    "$VENV/bin/pip" install --quiet \
        "tflite-runtime==2.14.0" "numpy<2" opencv-python-headless "aiohttp>=3.14" "pillow>=9.4" \
        pytest \
        "tflite>=2.18" "flatbuffers>=24.3"
    # The project itself, without extras: ai-edge-litert must not come in.
    "$VENV/bin/pip" install --quiet --no-deps -e .
    touch "$STAMP"
fi

"$VENV/bin/python" - <<'EOF'
import importlib.util
import sys

import numpy
import tflite_runtime

if importlib.util.find_spec("ai_edge_litert") is not None:
    sys.exit("ai_edge_litert is installed in the tflite-runtime venv; it must not be")
print(f"tflite-runtime {tflite_runtime.__version__}, numpy {numpy.__version__}, "
      f"Python {sys.version.split()[0]}")
EOF

if [[ $# -eq 0 ]]; then
    set -- -q
fi
exec "$VENV/bin/python" -m pytest -p no:cacheprovider "$@"
