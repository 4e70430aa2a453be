"""Which model code made a set of stored runs.

A run id says which scenario, seed and replication a stored run belongs to, not which model
code computed it. A calibration or staffing search resumed after the model changed would
otherwise reuse runs of the old model without a word. Commands that resume (``calibrate``,
``staff``) record ``code_fingerprint()`` beside their runs and refuse, in one line, to mix runs
of different code.

The fingerprint is a hash of the ``sim`` package's Python source, not a git commit: it is the
same from a clean clone, an editable install and an installed wheel, needs no git, and changes
with any uncommitted edit. Code that only presents results is left out (the browser view, the
report writer, labels, tables, figures, the commands' argument parsing and printing): editing a
label must not make a week's stored calibration runs unusable. tests/test_provenance.py runs a
stored run's whole path (a replication, its KPIs, calibration's measures) in a fresh process and
checks it imports none of them, so none can change a stored run's numbers.
"""

from __future__ import annotations

import functools
import platform
from pathlib import Path

import sim
from sim.results_folder import read_json
from sim.scenario import ScenarioError

# Subpackages and modules that only present results; editing them must not invalidate stored runs.
PRESENTATION_ONLY = (
    "viz", "report", "labels.py", "cells.py", "figures.py", "cli.py", "intervals.py", "compare.py", "notes.py",
    "calibrate/commands.py", "calibrate/outputs.py", "staffing/commands.py", "staffing/output.py",
    "sweep/commands.py", "sweep/figures.py", "sweep/analysis.py",
)
RECORD = "model_code.json"  # written beside the runs by the commands that resume


def source_fingerprint(package: Path, version: str = sim.__version__) -> str:
    """A hash of every ``*.py`` file under ``package`` (path and text, line endings normalised)
    except the presentation-only subpackages, and ``version``."""
    import hashlib

    h = hashlib.sha256(f"streetsim {version}".encode())
    for f in sorted(package.rglob("*.py")):
        rel = f.relative_to(package)
        if rel.parts[0] in PRESENTATION_ONLY or rel.as_posix() in PRESENTATION_ONLY or "__pycache__" in rel.parts:
            continue
        text = f.read_bytes().replace(b"\r\n", b"\n")
        h.update(b"\0" + rel.as_posix().encode() + b"\0" + hashlib.sha256(text).digest())
    return h.hexdigest()[:16]


@functools.cache
def code_fingerprint() -> str:
    """The running model's fingerprint (computed once per process: ~100 small files)."""
    return source_fingerprint(Path(sim.__file__).resolve().parent)


def python_version() -> str:
    """The Python that ran the model ("3.12.4"), as every manifest records it and the report
    shows it: said here only, so a run's, a sweep's and a calibration's manifests agree."""
    return platform.python_version()


def record() -> dict:
    return {"code": code_fingerprint(), "streetsim_version": sim.__version__}


def check_same_code(recorded: str | None, folder: Path, what: str) -> None:
    """One line (exit 2) when ``folder``'s stored runs were made by other model code."""
    now = code_fingerprint()
    if recorded == now:
        return
    made = f"model code {recorded}" if recorded else "an unrecorded model version"
    raise ScenarioError(folder, "--out", f"its stored {what} runs were made by {made}, not this one ({now}); they "
                        "cannot be reused: give a new --out (or delete this folder to start again)")  # fmt: skip


def read_recorded(path: Path) -> str | None:
    """The fingerprint a RECORD (or a manifest with a ``code`` key) holds, or None."""
    try:
        data = read_json(Path(path))  # not waited on, should it be a named pipe
    except (OSError, ValueError):
        return None
    return data.get("code") if isinstance(data, dict) else None
