"""streetsim compare: common random numbers, paired differences, comparison.csv and figures."""

import json
from pathlib import Path

import pandas as pd
import pytest

from sim.cli import main

SHORT = ["--set", "horizon.days=25", "--set", "horizon.warmup_days=3", "--replications", "3", "--quiet"]


@pytest.fixture
def twin(tmp_path):
    """The reform scenario under another name: every paired difference must be exactly zero."""
    path = tmp_path / "twin.yaml"
    path.write_text("extends: " + str(Path("scenarios/reform_2015.yaml").resolve())
                    + "\nname: reform_twin\n")
    return path


@pytest.mark.parametrize("workers", ["1", "2"])
def test_identical_scenarios_differ_by_exactly_zero_on_any_number_of_workers(twin, tmp_path, workers):
    out = tmp_path / "cmp"
    assert main(["compare", "scenarios/reform_2015.yaml", str(twin), "--out", str(out), "-j", workers, *SHORT]) == 0
    table = pd.read_csv(out / "comparison.csv")
    diffs = table[table["scenario"] == "reform_twin"]
    assert len(diffs) > 50
    assert (diffs["diff_mean"].fillna(0) == 0).all()
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["kind"] == "compare" and manifest["scenario_names"] == ["reform_2015", "reform_twin"]
    for stem in ("kpi_bars", "backlog", "staff_time"):
        for ext in ("png", "svg"):
            assert (out / "figures" / f"{stem}.{ext}").stat().st_size > 5000
    assert (out / "reform_2015" / "summary.csv").exists() and (out / "reform_twin" / "cases.parquet").exists()


def test_compare_reports_the_paired_difference_of_a_real_change(tmp_path, capsys):
    out = tmp_path / "cmp"
    assert main(["compare", "scenarios/reform_2015.yaml", "scenarios/baseline_2013.yaml", "--out", str(out), *SHORT]) == 0
    printed = capsys.readouterr().out
    assert "Δ baseline_2013 − reform_2015" in printed
    table = pd.read_csv(out / "comparison.csv").set_index(["scenario", "kpi"])
    bounces = table.loc[("baseline_2013", "bounces_per_case")]
    assert bounces["diff_ci_low"] > 0  # no responsibility lists: more bounces, and the CI says so
    # the paired difference is the mean of per-replication differences
    a = pd.read_csv(out / "reform_2015" / "summary.csv")["bounces_per_case"]
    b = pd.read_csv(out / "baseline_2013" / "summary.csv")["bounces_per_case"]
    assert bounces["diff_mean"] == pytest.approx((b - a).mean())


def test_scenarios_with_the_same_name_are_refused(tmp_path, capsys):
    status = main(["compare", "scenarios/reform_2015.yaml", "scenarios/reform_2015.yaml", "--out", str(tmp_path / "o"), *SHORT])
    assert status == 2
    assert "names must differ" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()


def test_district_runs_its_streets_and_adds_them_up(tmp_path):
    reform = Path("scenarios/reform_2015.yaml").resolve()
    district = tmp_path / "district.yaml"
    district.write_text(f"""name: two_streets
streets:
  - {{name: small, scenario: {reform}, set: {{street.residents: 20000, street.residential_areas: 5, street.grids: 1}}}}
  - {{name: large, scenario: {reform}, set: {{street.residents: 60000}}}}
""")
    out = tmp_path / "d"
    assert main(["run", str(district), "--out", str(out), "-j", "2", *SHORT]) == 0
    summary = pd.read_csv(out / "summary.csv")
    streets = pd.read_csv(out / "streets.csv")
    assert list(dict.fromkeys(streets["street"])) == ["small", "large"]
    per_rep = streets.groupby("replication")[["cases_arrived", "staff_total", "staff_cost_per_year"]].sum()
    assert summary.set_index("replication")["cases_arrived"].tolist() == per_rep["cases_arrived"].tolist()
    assert summary["staff_total"].tolist() == per_rep["staff_total"].tolist()
    assert summary["staff_cost_per_year"].to_numpy() == pytest.approx(per_rep["staff_cost_per_year"].to_numpy())
    small, large = (streets[streets["street"] == n]["cases_arrived"].mean() for n in ("small", "large"))
    assert 2 < large / small < 4  # three times the residents
    assert (out / "figures" / "kpi_bars.png").exists()
