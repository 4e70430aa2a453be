"""What each command imports (a module-membership check, not a timing test).

`validate` and `schema` must not load the simulation or any numeric library; `run` must not load
the sweep, the browser view or Dask, and a street's replication (what a worker process runs) must
not load plotting or statistics libraries either. benchmarks/startup.py measures the times.
"""

import json
import subprocess
import sys

import pytest

from sim import cli

SIMULATION = ("numpy", "pandas", "mesa", "simpy", "sim.street")
PLOTTING_AND_STATS = ("matplotlib", "scipy.stats", "sim.figures")
NOT_FOR_RUN = ("dask", "distributed", "solara", "altair", "SALib", "sim.viz.app", "sim.viz.server",
               "sim.sweep.experiment", "sim.sweep.executors")


def loaded_after(code: str) -> set[str]:
    """The modules a fresh interpreter holds after running ``code``."""
    probe = code + "\nimport json, sys\nprint(json.dumps(sorted(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", probe], check=True, capture_output=True, text=True).stdout
    return set(json.loads(out.splitlines()[-1]))


def present(modules: set[str], names) -> list[str]:
    return sorted(n for n in names if n in modules or any(m.startswith(n + ".") for m in modules))


@pytest.mark.parametrize("argv", [["schema"], ["validate", "scenarios/reform_2015.yaml", "scenarios/changning_district.yaml"]])
def test_validate_and_schema_load_no_simulation(argv):
    modules = loaded_after(f"from sim.cli import main\nassert main({argv!r}) == 0")
    assert present(modules, SIMULATION + PLOTTING_AND_STATS + NOT_FOR_RUN) == []


def test_a_replication_loads_no_plotting_statistics_sweep_or_viz():
    code = """
import numpy as np
from sim import runner, scenario
s = scenario.load("scenarios/reform_2015.yaml", ["horizon.days=3", "horizon.warmup_days=0"])
runner.run_replication(s, np.random.SeedSequence(1))
"""
    modules = loaded_after(code)
    assert "sim.street" in modules  # the probe did run the model
    assert present(modules, PLOTTING_AND_STATS + NOT_FOR_RUN) == []


def test_run_loads_no_sweep_viz_or_dask_until_it_draws(tmp_path):
    code = f"""
from sim import cli
cli._draw_figures = lambda *args: None  # figures are drawn last, and do need matplotlib
assert cli.main(["run", "scenarios/reform_2015.yaml", "-r", "1", "-j", "1", "--quiet", "--out", {str(tmp_path / "r")!r},
                 "--set", "horizon.days=3", "--set", "horizon.warmup_days=0"]) == 0
"""
    modules = loaded_after(code)
    assert "sim.street" in modules
    # one replication has no interval to compute: scipy.stats (~0.9 s to import) stays unloaded
    assert present(modules, ("matplotlib", "sim.figures", "scipy.stats") + NOT_FOR_RUN) == []


def test_a_one_replication_figure_draws_without_scipy_stats(tmp_path):
    """The backlog figure's band is a t interval; one replication has none to draw."""
    code = f"""
from sim import cli
assert cli.main(["run", "scenarios/reform_2015.yaml", "-r", "1", "-j", "1", "--quiet", "--out", {str(tmp_path / "r")!r},
                 "--set", "horizon.days=3", "--set", "horizon.warmup_days=0"]) == 0
"""
    modules = loaded_after(code)
    assert (tmp_path / "r" / "figures" / "backlog.png").exists()
    assert present(modules, ("scipy.stats",)) == []


def test_the_cli_names_the_experiment_key_the_sweep_reads():
    from sim.sweep import experiment

    assert cli.EXPERIMENT_KEY == experiment.TOP_KEY


def test_the_cli_names_the_keys_of_observed_and_targets_files_as_their_readers_do():
    from sim.calibrate import observed
    from sim.staffing import targets

    assert (cli.OBSERVED_KEY, cli.TARGET_FILE_KEYS) == (observed.TOP_KEY, targets.TARGET_FILE_KEYS)


def test_validate_recognises_targets_and_observed_files(capsys):
    files = ["experiments/targets/reform_2015.yaml", "observed/changning_2015.yaml", "scenarios/reform_2015.yaml"]
    assert cli.main(["validate", *files]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith(f"{files[0]}: ok (targets file, ") and out[1].startswith(f"{files[1]}: ok (observed file changning_2015, ")
    assert out[2] == f"{files[2]}: ok (reform_2015)"


BAD = "tests/bad_inputs"
MODEL_AND_PLOTS = ("mesa", "simpy", "sim.street", "sim.runner", "sim.sweep.executors", "scipy.stats", "matplotlib", "dask")


@pytest.mark.parametrize("argv", [
    ["run", f"{BAD}/huge_staff.yaml"],
    ["run", f"{BAD}/district_street_dotdot.yaml"],
    ["compare", "scenarios/reform_2015.yaml", f"{BAD}/huge_staff.yaml"],
    ["sweep", f"{BAD}/exp_name_dotdot.yaml"],
    ["staff", f"{BAD}/huge_staff.yaml", "--target", "on_time_resident>=0.9"],
    ["staff", "scenarios/reform_2015.yaml", "--roles", "nobody", "--target", "on_time_resident>=0.9"],
    ["staff", "scenarios/reform_2015.yaml", "--roles", "party_workers", "--target", "on_time_rte>=0.9"],
    ["staff", "scenarios/reform_2015.yaml", "--roles", "party_workers", "--target", "on_time_resident>=0.9",
     "--confidence", "1.5"],
    ["staff", "scenarios/reform_2015.yaml", "--roles", "party_workers", "--target", "on_time_resident>=0.9",
     "--out", f"{BAD}/garbage.bin"],
    ["sweep", f"{BAD}/exp_kpi_typo.yaml"],
    ["sweep", "experiments/party_worker_ratio.yaml", "--out", f"{BAD}/garbage.bin"],
    ["calibrate", "scenarios/reform_2015.yaml", f"{BAD}/huge_staff.yaml"],
    ["figures", BAD],
    ["sweep-results", BAD],
], ids=" ".join)
def test_bad_input_is_answered_before_the_model_loads(argv, tmp_path):
    """A planner's typo is answered in a fraction of a second: the simulation, the plots and the
    executors load only after every file and argument is known to be good."""
    modules = loaded_after(f"from sim.cli import main\nassert main({argv!r}) == 2")
    assert present(modules, MODEL_AND_PLOTS) == []
