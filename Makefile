# Speech emotion recognition report. Every target installs what it needs.
#   make report   run notebooks 01-05 and write reports/<dataset>/report.html
#   make slides   the same results as a reveal.js deck for a projector (reports/<dataset>/slides/)
#   make test     unit tests and nbval over the notebooks, in one pytest run on both cores
# Report parameters: DATASET=synthetic|ravdess RAVDESS_DIR=path SCHEME=gender_emotion5|emotion5|gender|gender_emotion8
#                    MODEL=best|ensemble|cnn|svm|egemaps_lr|compare_lr|seed_cnn SPLIT=speaker|random EPOCHS=40 FOLDS=6 SEED=42
#                    AUGMENT=1 (corrupted copies per training clip; 0: clean training)
#                    ACTORS=12 (speakers of the synthetic corpus: even, 4-24; 24 is RAVDESS's full shape)
#                    SCHEDULER=tcp://host:8786 (a Dask scheduler: extraction and training run on its workers)

SHELL := /bin/bash
.DEFAULT_GOAL := help
# No .DELETE_ON_ERROR: every output is written whole or not at all (notebooks renamed on success, tables
# written atomically), so a failed stage never costs the good output of an earlier run.

PYTHON_BOOT ?= python3
UV_VERSION  := 0.13.8
VENV        := .venv
PY          := $(VENV)/bin/python
STAMP       := $(VENV)/.installed
KERNEL      := ser-report

DATASET     ?= $(if $(RAVDESS_DIR),ravdess,synthetic)
RAVDESS_DIR ?=
# A folder is taken as written: make would read a $ in it as a variable of its own (a$b became a)
override RAVDESS_DIR := $(value RAVDESS_DIR)
ACTORS      ?=
SCHEME      ?= gender_emotion5
MODEL       ?= best
SPLIT       ?= speaker
EPOCHS      ?= 40
AUGMENT     ?= 1
FOLDS       ?= 6
SEED        ?= 42
SCHEDULER   ?= $(SER_SCHEDULER)

REPORT_DIR  := reports/$(DATASET)
PKG_SRC     := $(wildcard ser_utils/*.py ser_utils/*/*.py) pyproject.toml
PARAMS      := $(REPORT_DIR)/.params
PARAMS_TEXT := DATASET=$(DATASET) RAVDESS_DIR=$(RAVDESS_DIR) ACTORS=$(ACTORS) SCHEME=$(SCHEME) MODEL=$(MODEL) SPLIT=$(SPLIT) EPOCHS=$(EPOCHS) FOLDS=$(FOLDS) SEED=$(SEED) AUGMENT=$(AUGMENT)
PAPERMILL   := TQDM_DISABLE=1 $(PY) -m ser_utils.run_notebook --kernel $(KERNEL) --cwd notebooks --no-progress-bar --log-level WARNING -p DATASET $(DATASET)
# A value as one shell word, whatever it holds (spaces, quotes): in '...', each ' written as '\''
quote       = '$(subst ','\'',$(1))'
# RAVDESS_DIR from the project folder (the notebooks run in notebooks/); make's abspath would split it at spaces
RAVDESS_PATH = $(if $(filter /% ~%,$(firstword $(RAVDESS_DIR))),,$(CURDIR)/)$(RAVDESS_DIR)
DATA_DIR_P  := $(if $(RAVDESS_DIR),-p DATA_DIR $(call quote,$(RAVDESS_PATH)),) $(if $(ACTORS),-p SYNTHETIC_ACTORS $(ACTORS),)

export TF_CPP_MIN_LOG_LEVEL := 3
export PYTHONHASHSEED := 0
# Where the parallel work runs (ser_utils.engine); not a report parameter: the results are the same
export SER_SCHEDULER := $(SCHEDULER)
export MPLBACKEND := Agg
# DeprecationWarnings are for library authors; tqdm's IProgress notice is about widgets the report does not use
export PYTHONWARNINGS := ignore::DeprecationWarning,ignore:IProgress not found

.PHONY: help venv data report slides test test-unit test-notebooks accuracy bench lab clean clean-all FORCE

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml requirements.lock requirements-no-deps.lock
	@echo ">> creating $(VENV) from requirements.lock and requirements-no-deps.lock"
	@test -x $(PY) || $(PYTHON_BOOT) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)
	$(VENV)/bin/uv pip sync --quiet --compile-bytecode --python $(PY) requirements.lock
	$(VENV)/bin/uv pip install --quiet --compile-bytecode --python $(PY) --no-deps -r requirements-no-deps.lock
	$(VENV)/bin/uv pip install --quiet --python $(PY) --no-deps -e .
	$(PY) -m ipykernel install --sys-prefix --name $(KERNEL) --display-name "Python (ser-report)" >/dev/null
	@# the kernel logs errors only: its advice about unencrypted local TCP reads as a failure in `make report`
	$(PY) -c 'import json, pathlib, sys; spec = pathlib.Path(sys.prefix, "share/jupyter/kernels/$(KERNEL)/kernel.json"); \
		kernel = json.loads(spec.read_text()); kernel["argv"].append("--log-level=ERROR"); spec.write_text(json.dumps(kernel, indent=1))'
	@# numba compiles librosa's kernels once, here, into the environment: processes compiling them at once (the
	@# workers of the first feature extraction) can leave a cache that crashes later ones
	$(PY) -c 'from ser_utils.features import compile_kernels; compile_kernels()'
	@touch $@

venv: $(STAMP) ## create or refresh the virtual environment from the lock

data: $(STAMP) ## build the synthetic corpus (60 clips per actor, 12 actors unless ACTORS=, offline)
	$(PY) -m ser_utils.cli data --seed $(SEED) $(if $(ACTORS),--actors $(ACTORS),)

CHECK_PARAMS = $(PY) -m ser_utils.parameters $(foreach p,$(1),$(call quote,$(p)=$($(p))))

# Every parameter is checked before any work (a bad value stops here: nothing runs, nothing is deleted).
# The file is rewritten only when a parameter changes, so stages re-run exactly when they are stale.
$(PARAMS): FORCE | $(STAMP)
	@$(call CHECK_PARAMS,DATASET RAVDESS_DIR ACTORS SCHEME MODEL SPLIT EPOCHS FOLDS SEED AUGMENT SCHEDULER)
	@mkdir -p $(@D)
	@echo $(call quote,$(PARAMS_TEXT)) | cmp -s - $@ || echo $(call quote,$(PARAMS_TEXT)) > $@

# Each notebook is executed to a temporary file and renamed on success: a failed run stops
# the build with the cell's error and leaves <name>.failed.ipynb to inspect. The terminal shows
# each stage's name and time; the notebooks' own output goes into the executed notebooks.
define execute
	@echo ">> $(1)"
	@start=$$(date +%s) && \
	$(PAPERMILL) $(2) notebooks/$(1).ipynb $(REPORT_DIR)/$(1).failed.ipynb && \
	mv $(REPORT_DIR)/$(1).failed.ipynb $(REPORT_DIR)/$(1).ipynb && \
	echo "   $(1): $$(( $$(date +%s) - start )) s"
endef

# What each notebook reads and writes, so that make re-runs exactly the stale stages:
#   01 writes the labels table (+ its label scheme)     02 reads it, writes the feature cache
#   03 reads labels + features, writes models/<dataset>/<model>-<protocol>/ (model, predictions.csv, run.json)
#   04 reads the labels' scheme + every run's predictions, writes metrics.json
#   05 reads labels, a saved model and metrics.json
LABELS      := data/interim/$(DATASET)-labels.csv
RUNS        := models/$(DATASET)/runs.done
METRICS     := $(REPORT_DIR)/metrics.json

$(REPORT_DIR)/01_data_labelling.ipynb $(LABELS) &: notebooks/01_data_labelling.ipynb $(PKG_SRC) $(STAMP) $(PARAMS)
	$(call execute,01_data_labelling,$(DATA_DIR_P) -p LABEL_SCHEME $(SCHEME) -p SEED $(SEED))

$(REPORT_DIR)/02_mfcc_exploration.ipynb: notebooks/02_mfcc_exploration.ipynb $(LABELS)
	$(call execute,02_mfcc_exploration,-p SEED $(SEED))

$(REPORT_DIR)/03_training.ipynb $(RUNS) &: notebooks/03_training.ipynb $(LABELS) $(REPORT_DIR)/02_mfcc_exploration.ipynb
	$(call execute,03_training,-p EPOCHS $(EPOCHS) -p N_FOLDS $(FOLDS) -p SEED $(SEED) -p AUGMENT_COPIES $(AUGMENT) -p SPLIT $(SPLIT))
	@touch $(RUNS)

$(REPORT_DIR)/04_evaluation.ipynb $(METRICS) &: notebooks/04_evaluation.ipynb $(LABELS) $(RUNS)
	$(call execute,04_evaluation,-p PRIMARY_MODEL $(MODEL))

$(REPORT_DIR)/05_prediction.ipynb: notebooks/05_prediction.ipynb $(LABELS) $(RUNS) $(METRICS)
	$(call execute,05_prediction,-p MODEL $(MODEL) -p PROTOCOL $(SPLIT) -p SEED $(SEED))

# Stopped by a signal, make deletes a target that changed; these are written whole by the notebooks themselves.
.PRECIOUS: $(LABELS) $(RUNS) $(METRICS)

NOTEBOOKS_RUN := $(foreach n,01_data_labelling 02_mfcc_exploration 03_training 04_evaluation 05_prediction,$(REPORT_DIR)/$(n).ipynb)

$(REPORT_DIR)/report.html: $(NOTEBOOKS_RUN)
	$(PY) -m ser_utils.cli report --dataset $(DATASET)

report: $(REPORT_DIR)/report.html ## run the notebooks and write reports/<dataset>/report.html (+ a code-hidden version)
	@echo ">> open $(REPORT_DIR)/report.html (presentation: $(REPORT_DIR)/report-presentation.html)"

$(REPORT_DIR)/slides/slides.html: $(NOTEBOOKS_RUN)
	$(PY) -m ser_utils.cli slides --dataset $(DATASET)

slides: $(REPORT_DIR)/slides/slides.html ## a reveal.js deck of the report for a projector, offline (runs the notebooks if needed)
	@echo ">> open $(REPORT_DIR)/slides/slides.html (arrow keys move, F: full screen, Esc: overview)"

# `make test` runs the unit tests and nbval over every notebook in one pytest run on both cores (pytest-xdist: each
# test module on one worker, the notebooks' cells all on one worker and in order, see tests/conftest.py).
# nbval executes every notebook with parameters small enough for minutes (4 synthetic actors, 2 folds, a few epochs,
# clean training: the corrupted copies are tested in tests/), injected by papermill exactly as `make report` injects
# its own, in a scratch output folder (SER_OUTPUT_DIR) so that it never touches the models and reports of
# `make report`. The cells marked NBVAL_CHECK_OUTPUT are compared with the outputs committed for these parameters.
NOTEBOOK_NAMES := 01_data_labelling 02_mfcc_exploration 03_training 04_evaluation 05_prediction 06_live
TEST_PARAMS_01 := -p SYNTHETIC_ACTORS 4 -p DATA_DIR "$$scratch/corpus"
TEST_PARAMS_03 := -p N_FOLDS 2 -p EPOCHS 2 -p SEED_CNN_EPOCHS 1 -p AUGMENT_COPIES 0
TEST_PARAMS_05 := -p ROBUSTNESS_CLIPS_PER_CLASS 1
test_params = $(TEST_PARAMS_$(firstword $(subst _, ,$(1))))
TEST_ARGS ?=

# One pytest run over the notebooks $(1) (nbval; prepared with the test parameters, in one process) and the test
# folders $(2). With tests, on both cores; the notebooks alone run in one process (the scheduler that keeps their
# cells together, and the order that starts the longest first, live in tests/conftest.py).
define run_tests
	@scratch=$$(mktemp -d "$$PWD/.nbval-XXXXXX") && trap 'rm -rf "$$scratch"' EXIT && \
	$(if $(1),$(PY) tests/prepare_notebooks.py $(foreach n,$(1),--next notebooks/$(n).ipynb "$$scratch/$(n).ipynb" \
		$(call test_params,$(n))) && ) \
	SER_OUTPUT_DIR=$$scratch $(PY) -m pytest $(if $(2),-n 2 --no-loadscope-reorder,) --nbval-lax --nbval-current-env \
		--nbval-cell-timeout 900 -p no:cacheprovider $(TEST_ARGS) $(foreach n,$(1),"$$scratch/$(n).ipynb") $(2)
endef

test: $(STAMP) ## unit tests and nbval over every notebook (small parameters), on both cores (TEST_ARGS= for pytest)
	$(call run_tests,$(NOTEBOOK_NAMES),tests)

test-unit: $(STAMP) ## the unit tests only (tests/, on both cores)
	$(call run_tests,,tests)

test-notebooks: $(STAMP) ## nbval over every notebook only
	$(call run_tests,$(NOTEBOOK_NAMES),)

accuracy: $(STAMP) ## leaderboard over all folds (DATASET=, RAVDESS_DIR=, SCHEME=, ACCURACY_ARGS="--augment --robustness")
	@$(call CHECK_PARAMS,DATASET RAVDESS_DIR SCHEME FOLDS SEED SCHEDULER)
	$(PY) benchmarks/accuracy.py --dataset $(DATASET) --scheme $(SCHEME) --folds $(FOLDS) --seed $(SEED) \
		$(if $(RAVDESS_DIR),--data-dir $(call quote,$(RAVDESS_PATH)),) $(ACCURACY_ARGS)

bench: $(STAMP) ## time `ser predict` cold start, warm latency and feature extraction (BENCH_ARGS="--parts cold")
	$(PY) benchmarks/bench.py $(BENCH_ARGS)

# Containers often run as root, which Jupyter refuses unless told. Notebook 06 (the explorer and the record button)
# uses the models of `make report`.
lab: $(STAMP) ## open JupyterLab on the notebooks (06: explore the corpus, record your voice; after `make report`)
	$(VENV)/bin/jupyter lab notebooks $(if $(filter 0,$(shell id -u)),--allow-root,)

clean: ## remove generated reports and models (keeps the corpus and the venv)
	rm -rf reports/synthetic reports/ravdess models/synthetic models/ravdess data/interim data/processed

clean-all: clean ## also remove the corpus and the virtual environment
	rm -rf data/raw $(VENV)
