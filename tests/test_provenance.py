"""sim.provenance: the model-code fingerprint stored runs are checked against on resume.

The commands that use it (calibrate, staff) are tested in test_calibrate.py and test_staffing.py."""

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import sim
from sim import provenance
from sim.scenario import ScenarioError

PACKAGE = Path(sim.__file__).resolve().parent


@pytest.fixture
def copy(tmp_path):
    dst = tmp_path / "elsewhere" / "sim"
    shutil.copytree(PACKAGE, dst, ignore=shutil.ignore_patterns("__pycache__"))
    return dst


def test_a_copy_at_another_path_has_the_same_fingerprint(copy):
    assert provenance.source_fingerprint(copy) == provenance.code_fingerprint()


def test_editing_model_code_changes_it_and_presentation_code_does_not(copy):
    before = provenance.source_fingerprint(copy)
    (copy / "report" / "__init__.py").write_text((copy / "report" / "__init__.py").read_text() + "\n# a comment\n")
    (copy / "viz" / "new_panel.py").write_text("X = 1\n")
    (copy / "__pycache__").mkdir()
    (copy / "__pycache__" / "stale.py").write_text("junk")
    assert provenance.source_fingerprint(copy) == before
    for name in ("labels.py", "calibrate/outputs.py", "cli.py"):  # a label, a table, a flag's help
        (copy / name).write_text((copy / name).read_text() + "\n# reworded\n")
    assert provenance.source_fingerprint(copy) == before
    queueing = copy / "queueing.py"
    queueing.write_bytes(queueing.read_bytes().replace(b"\n", b"\r\n"))  # a Windows checkout
    assert provenance.source_fingerprint(copy) == before
    queueing.write_text(queueing.read_text() + "\nTWEAK = 2\n")
    assert provenance.source_fingerprint(copy) != before
    assert provenance.source_fingerprint(copy, "9.9.9") != provenance.source_fingerprint(copy)


def test_the_installed_package_gives_the_same_fingerprint_in_a_new_process():
    code = "from sim import provenance; print(provenance.code_fingerprint())"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd="/")
    assert out.stdout.strip() == provenance.code_fingerprint()


def test_other_or_unrecorded_code_is_refused_in_one_line(tmp_path):
    provenance.check_same_code(provenance.code_fingerprint(), tmp_path, "staffing")  # same code: no error
    for recorded, words in (("0123456789abcdef", "model code 0123456789abcdef"), (None, "an unrecorded model version")):
        with pytest.raises(ScenarioError) as e:
            provenance.check_same_code(recorded, tmp_path, "staffing")
        text = str(e.value)
        assert words in text and "give a new --out" in text and "\n" not in text


def test_the_python_version_is_said_in_one_place(monkeypatch):
    """A run's manifest records the version provenance gives (before: its own sys.version)."""
    import platform

    from sim import runner

    assert provenance.python_version() == platform.python_version()
    monkeypatch.setattr(provenance, "python_version", lambda: "9.9.9")
    assert runner.manifest("run", ["streetsim"], 1, 2, ["s.yaml"], [])["python"] == "9.9.9"


def test_no_other_module_says_the_python_version_itself():
    """Every manifest (run, sweep, staffing, calibration) takes the version from provenance."""
    import re
    from pathlib import Path

    import sim

    said = re.compile(r"sys\.version\b|python_version\(\)|version_info")
    root = Path(sim.__file__).parent
    elsewhere = [f"{p.relative_to(root)}:{i}" for p in sorted(root.rglob("*.py")) if p.name != "provenance.py"
                 for i, line in enumerate(p.read_text(encoding="utf-8").splitlines(), 1)
                 if said.search(line) and "provenance.python_version()" not in line]
    assert not elsewhere, elsewhere


# A stored run's whole path, as a sweep, calibrate or staff worker runs it: the scenario with the
# run's overrides, one replication, its KPIs and calibration's measures.
STORED_RUN = """
import json, sys
from sim import scenario
from sim.sweep.experiment import Run
from sim.sweep.worker import Context, run_one
base = scenario.load_raw("scenarios/reform_2015.yaml")
ctx = Context(out="unused", base=base, scenario_file="scenarios/reform_2015.yaml", seed=1, kpis="all",
              timeseries=True, measures="sim.calibrate.measures:measure")
run = Run(run_id="r", point=0, replication=0, overrides=["horizon.days=3", "horizon.warmup_days=0"])
row, series = run_one(ctx, run)
assert row["status"] == "ok", row["error"]
print(json.dumps(sorted(m for m in sys.modules if m == "sim" or m.startswith("sim."))))
"""


def test_a_stored_run_imports_no_code_the_fingerprint_leaves_out():
    out = subprocess.run([sys.executable, "-c", STORED_RUN], capture_output=True, text=True, cwd=PACKAGE.parent)
    assert out.returncode == 0, out.stderr[-2000:]
    imported = set(json.loads(out.stdout))
    assert {"sim.street", "sim.loop", "sim.metrics", "sim.calibrate.measures"} <= imported  # the path ran
    left_out = {"sim." + p.removesuffix(".py").replace("/", ".") for p in provenance.PRESENTATION_ONLY}
    assert not {m for m in imported if m in left_out or m.rsplit(".", 1)[0] in left_out}
