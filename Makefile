# Quick start (README): `make demo` runs the main job, `make test` passes the tests.
# Both create .venv with Python >= 3.12 (see .python-version) and install everything first.
PYTHON ?= $(shell command -v python3.12 || (command -v pyenv >/dev/null && pyenv which python3.12 2>/dev/null) || echo python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install demo test bench clean

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

test: $(STAMP)
	$(BIN)/python -m pytest -q

bench: $(STAMP)
	$(BIN)/python benchmarks/street_year.py

clean:
	rm -rf $(VENV) results/*/
