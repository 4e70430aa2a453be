# Quick start (README): `make demo` runs the main job, `make test` passes the tests.
# Both create .venv with Python >= 3.12 (see .python-version) and install everything first.
PYTHON ?= $(shell command -v python3.12 || (command -v pyenv >/dev/null && pyenv which python3.12 2>/dev/null) || echo python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install demo test bench clean sysdeps

$(STAMP): pyproject.toml
	$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 12), "streetsim needs Python >= 3.12, got " + sys.version'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/streetsim compare scenarios/baseline_2013.yaml scenarios/reform_2015.yaml \
	    scenarios/devolution_unfunded.yaml --replications 10 --seed 7 --out results/demo --force

# System packages the tests and figures need, from Debian (nothing is downloaded at run time):
# chromium (browser test), fonts-noto-cjk (Chinese in figures and reports), poppler-utils
# (pdftotext/pdftoppm read reports back), slurm-wlm + munge (a one-node SLURM cluster for the
# sweep tests). Installed when we are root with apt-get; otherwise one line says what to install.
SYSDEPS := chromium fonts-noto-cjk poppler-utils slurm-wlm munge
SYSDEP_CHECK := command -v chromium && fc-list | grep -qi "noto.*cjk" && command -v pdftotext && command -v slurmctld && command -v munged
sysdeps:
	@($(SYSDEP_CHECK)) >/dev/null 2>&1 || [ "$$(id -u)" != 0 ] || ! command -v apt-get >/dev/null || \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(SYSDEPS) >/dev/null)
	@($(SYSDEP_CHECK)) >/dev/null 2>&1 || echo "note: missing system packages; as root run: apt-get install $(SYSDEPS)" >&2

test: $(STAMP) sysdeps
	$(BIN)/python -m pytest -q

bench: $(STAMP)
	$(BIN)/python benchmarks/street_year.py

# Only what make itself wrote: results/ also holds the user's own runs (run's default --out).
clean:
	rm -rf $(VENV) results/demo
