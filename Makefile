# The two commands a newcomer runs: `make demo` and `make test`. Both create .venv if missing and
# install the tested dependency set from constraints.txt.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PIP := $(BIN)/python -m pip
INSTALL_INPUTS := pyproject.toml constraints.txt

.PHONY: demo test test-fast bench lock clean install install-dev browser

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

## Headless Chromium (the report is opened in it) and a CJK font (Chinese in charts), from Debian's
## packages, where this runs as root with apt-get; elsewhere the browser test says why it skips.
browser:
	@if command -v chromium >/dev/null && fc-list :lang=zh 2>/dev/null | grep -q .; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		echo "installing chromium and fonts-noto-cjk (apt-get)"; \
		(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-noto-cjk >/dev/null) \
		|| echo "apt-get could not install chromium / fonts-noto-cjk: the browser test will skip"; \
	else echo "chromium or a CJK font is missing and apt-get cannot install them here: the browser test may skip"; fi

## The whole test suite, slow real-data checks included (what CI runs).
test: $(VENV)/.installed-dev browser
	$(BIN)/python -m pytest -q --timeout 1800

## The suite without the slow real-data checks.
test-fast: $(VENV)/.installed-dev browser
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
