"""The Python API: tidy KPI tables from a scenario file, object or dict, and comparisons."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sim import api, runner
from sim.scenario import ScenarioError

REFORM = Path("scenarios/reform_2015.yaml")
SHORT = {"horizon.days": 12, "horizon.warmup_days": 2}


@pytest.fixture(scope="module")
def tidy_one_worker():
    return api.run(REFORM, SHORT, replications=2, seed=5, workers=1)


def test_run_gives_a_tidy_table_equal_to_the_runner(tidy_one_worker):
    t = tidy_one_worker
    assert list(t.columns) == ["scenario", "replication", "kpi", "value", "unit"]
    assert set(t["scenario"]) == {"reform_2015"} and set(t["replication"]) == {0, 1}
    assert t.loc[t["kpi"] == "staff_total", "unit"].iloc[0] == "people"
    wide = t.pivot(index="replication", columns="kpi", values="value")
    # the same numbers as the runner behind `streetsim run` (overrides given as --set text)
    settings = api.scenario(REFORM, [f"{k}={v}" for k, v in SHORT.items()])
    direct = pd.DataFrame([r.kpis for r in runner.run_replications(settings, 2, 5, False, 1)]).set_index("replication")
    assert np.allclose(wide[direct.columns].to_numpy(dtype=float), direct.to_numpy(dtype=float), equal_nan=True)


def test_run_does_not_depend_on_the_number_of_workers(tidy_one_worker):
    two = api.run(REFORM, SHORT, replications=2, seed=5, workers=2)
    pd.testing.assert_frame_equal(tidy_one_worker, two)


def test_compare_scenario_objects_and_dicts_on_common_random_numbers():
    base = api.scenario(REFORM, SHORT)
    variant = api.scenario(base, {"name": "fewer_party_workers", "staffing.party_workers.per": 300})
    table = api.compare([base, variant], replications=2, seed=5)
    rows = table[table["scenario"] == "fewer_party_workers"].set_index("kpi")
    assert rows.loc["staff_party_workers", "status"] == "input"
    assert rows.loc["staff_party_workers", "diff_mean"] == -4  # 1,200 organisations: 8 -> 4 workers
    assert rows.loc["utilisation_party_workers", "diff_mean"] > 0
    assert set(table["status"]) <= {"baseline", "input", "fixed", "changed", "unchanged"}


def test_bad_input_raises_scenario_error_naming_the_key():
    with pytest.raises(ScenarioError, match="staffing.party_workers.per"):
        api.scenario(REFORM, {"staffing.party_workers.per": -5})
    base = api.scenario(REFORM, SHORT)
    with pytest.raises(ScenarioError, match="names must differ"):
        api.compare([base, base], replications=1)


def test_dict_overrides_longer_than_a_line_are_applied():
    """safe_yaml.inline writes a value past 80 characters over several lines; the line breaks
    are YAML's, not control characters typed into --set (refused since 723c95b, then allowed)."""
    shifts = [{"days": ["mon", "tue", "wed", "thu", "fri"], "start_hour": 8.0, "end_hour": 16.5},
              {"days": ["sat"], "start_hour": 9.0, "end_hour": 17.5}]
    text = "A reform street with a description longer than eighty characters, as a report title needs"
    s = api.scenario(REFORM, {"calendars.office.shifts": shifts, "description": text})
    assert s.description == text
    assert [sh.model_dump() for sh in s.calendars["office"].shifts] == shifts
