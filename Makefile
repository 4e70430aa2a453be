# Quick start (README): `make demo` runs the main job, `make test` passes the tests.
# Both create .venv with Python >= 3.12 (see .python-version) and install everything first.
PYTHON ?= $(shell command -v python3.12 || (command -v pyenv >/dev/null && pyenv which python3.12 2>/dev/null) || echo python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install demo test bench clean chromium

$(STAMP): pyproject.toml
	$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 12), "streetsim needs Python >= 3.12, got " + sys.version'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/streetsim compare scenarios/baseline_2013.yaml scenarios/reform_2015.yaml \
	    scenarios/devolution_unfunded.yaml --replications 10 --seed 7 --out results/demo

# The browser test drives Debian's Chromium (a test tool's own browser download would fail offline).
chromium:
	@command -v chromium >/dev/null 2>&1 || [ "$$(id -u)" != 0 ] || ! command -v apt-get >/dev/null || \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null)
	@command -v chromium >/dev/null 2>&1 || echo "note: no chromium; install Debian's chromium for the browser test" >&2

test: $(STAMP) chromium
	$(BIN)/python -m pytest -q

bench: $(STAMP)
	$(BIN)/python benchmarks/street_year.py

clean:
	rm -rf $(VENV) results/*/
