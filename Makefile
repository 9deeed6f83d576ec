# Speech emotion recognition report: every target installs what it needs.
# `make report` builds the whole HTML report; `make test` runs the test suite.

SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON_BOOT ?= python3
UV_VERSION  := 0.13.8
VENV        := .venv
PY          := $(VENV)/bin/python
STAMP       := $(VENV)/.installed
KERNEL      := ser-report

# Report parameters (each becomes a papermill parameter).
DATASET     ?= synthetic
RAVDESS_DIR ?=
MODEL       ?= cnn
SPLIT       ?= speaker
EPOCHS      ?= 40
SEED        ?= 42

export TF_CPP_MIN_LOG_LEVEL := 2
export PYTHONHASHSEED := 0
export MPLBACKEND := Agg

.PHONY: help venv data report test bench lab clean clean-all

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml requirements.lock
	@echo ">> creating $(VENV) from requirements.lock"
	@test -x $(PY) || $(PYTHON_BOOT) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)
	$(VENV)/bin/uv pip sync --quiet --python $(PY) requirements.lock
	$(VENV)/bin/uv pip install --quiet --python $(PY) --no-deps -e .
	$(PY) -m ipykernel install --sys-prefix --name $(KERNEL) --display-name "Python (ser-report)" >/dev/null
	@touch $@

venv: $(STAMP) ## create or refresh the virtual environment from the lock
