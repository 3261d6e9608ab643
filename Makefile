# Two entry points for a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin

# On a Raspberry Pi the camera library is apt's python3-picamera2, built against apt's
# numpy. When the system Python has it, the venv sees the system's packages
# (--system-site-packages) and pip keeps to the Pi's pins (systemd/requirements-*.txt),
# so no numpy of pip's shadows apt's. Elsewhere the venv is self-contained. The stamp
# names the kind of venv, so installing python3-picamera2 later makes a new one.
PI_MODEL_FILE ?= /proc/device-tree/model
OS_RELEASE    ?= /etc/os-release
APT_PICAMERA2 := $(shell $(PYTHON) -c 'import importlib.util as u, sys; sys.exit(u.find_spec("picamera2") is None)' >/dev/null 2>&1 && echo yes)
ifeq ($(APT_PICAMERA2),yes)
CODENAME   := $(shell . $(OS_RELEASE) 2>/dev/null; echo $$VERSION_CODENAME)
VENV_FLAGS := --system-site-packages
PIP_PINS   := --constraint systemd/requirements-$(if $(filter bookworm,$(CODENAME)),bookworm,trixie).txt
STAMP      := $(VENV)/.installed-system-site
else
STAMP      := $(VENV)/.installed
endif
ON_A_PI := $(shell grep -qs 'Raspberry Pi' $(PI_MODEL_FILE) && echo yes)

.PHONY: run test lint format train evaluate clean pios-test

$(STAMP): pyproject.toml
	$(PYTHON) -m venv --clear $(VENV_FLAGS) $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]' $(PIP_PINS)
	touch $(STAMP)

run: $(STAMP)
ifeq ($(ON_A_PI)-$(APT_PICAMERA2),yes-)
	@echo "make run: no camera: python3-picamera2 is not installed, so this shows the demo scene (sudo apt install python3-picamera2, then make run again)"
endif
	$(BIN)/convlens run $(ARGS)

test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/python -m pytest $(ARGS)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

train: $(STAMP)
	$(BIN)/python -m training.train $(ARGS)

evaluate: $(STAMP)
	$(BIN)/python -m training.evaluate --model models/lenet.npz --json $(ARGS)

# The installer and the service on arm64 Debian Bookworm and Trixie under systemd
# (root, qemu-user-static, debootstrap, systemd-nspawn; see tests/pios/run.sh).
pios-test:
	tests/pios/run.sh $(ARGS)

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
