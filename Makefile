# The two commands a newcomer runs: `make demo` and `make test`. Both create .venv if missing and
# install the tested dependency set from constraints.txt.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PIP := $(BIN)/python -m pip
INSTALL_INPUTS := pyproject.toml constraints.txt

.PHONY: demo test test-fast bench lock clean install install-dev

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip

$(VENV)/.installed-core: $(BIN)/python $(INSTALL_INPUTS)
	$(PIP) install --quiet -c constraints.txt -e .
	touch $@

$(VENV)/.installed-dev: $(BIN)/python $(INSTALL_INPUTS)
	$(PIP) install --quiet -c constraints.txt -e ".[dev]"
	touch $@ $(VENV)/.installed-core

install: $(VENV)/.installed-core
install-dev: $(VENV)/.installed-dev

## Generate the demo company, materialise its features, train/score what exists, print a summary.
demo: $(VENV)/.installed-core
	$(BIN)/kpredict demo

## The whole test suite, slow real-data checks included (what CI runs).
test: $(VENV)/.installed-dev
	$(BIN)/python -m pytest -q --timeout 1800

## The suite without the slow real-data checks.
test-fast: $(VENV)/.installed-dev
	$(BIN)/python -m pytest -q -m "not slow" --timeout 600

## Benchmarks: ratios against the raw libraries on the same data in the same run.
bench: $(VENV)/.installed-dev
	$(BIN)/python -m benchmarks

## Refresh constraints.txt from the current environment.
lock: $(VENV)/.installed-dev
	$(PIP) freeze --exclude-editable | grep -v -E '^pip==' | sort -f > constraints.txt.new
	mv constraints.txt.new constraints.txt

clean:
	rm -rf $(VENV) data/ models/mlflow.db models/artifacts .pytest_cache .hypothesis
