"""Python API: run or compare scenarios and get pandas DataFrames, for notebooks and tools such
as the EMA Workbench.

    from sim import api

    kpis = api.run("scenarios/reform_2015.yaml", {"staffing.party_workers.per": 200},
                   replications=10, seed=1, workers=2)
    # tidy: one row per scenario, replication and KPI -> columns scenario, replication, kpi, value, unit
    kpis.pivot(index="replication", columns="kpi", values="value")   # summary.csv's shape

    table = api.compare(["scenarios/reform_2015.yaml", "mine.yaml"], replications=20, seed=7)
    table[table.status == "changed"]      # what changed, with paired differences and CIs

The same scenario, overrides and seed give the same numbers as ``streetsim run`` / ``compare``
on any number of workers; nothing is written to disk. Bad input raises
:class:`sim.scenario.ScenarioError` naming the file and the key.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import pandas as pd
import yaml

from sim import compare as compare_mod
from sim import runner, safe_yaml
from sim import scenario as scenario_mod
from sim.labels import unit_key

ScenarioLike = str | Path | scenario_mod.Scenario | Mapping


def scenario(source: ScenarioLike, overrides: Mapping[str, object] | Sequence[str] | None = None) -> scenario_mod.Scenario:
    """A checked scenario from a file path, a Scenario object or a dict, with overrides applied.

    ``overrides`` is ``{"staffing.party_workers.per": 200}`` or ``["staffing.party_workers.per=200"]``
    (the CLI's ``--set``)."""
    assignments = _assignments(overrides)
    if isinstance(source, (str, Path)):
        return scenario_mod.load(source, assignments)
    data = yaml.safe_load(scenario_mod.dump(source)) if isinstance(source, scenario_mod.Scenario) else dict(source)
    return scenario_mod.build(scenario_mod.apply_overrides(data, assignments, "<scenario>"))


def run(source: ScenarioLike, overrides=None, replications: int = 10, seed: int = 1, workers: int = 1,
        progress: bool = False) -> pd.DataFrame:
    """Run a scenario; tidy KPI table with columns scenario, replication, kpi, value, unit."""
    settings = scenario(source, overrides)
    results = runner.run_replications(settings, replications, seed, progress, workers)
    return tidy(settings.name, pd.DataFrame([r.kpis for r in results]))


def compare(sources: Sequence[ScenarioLike], overrides=None, replications: int = 10, seed: int = 1,
            workers: int = 1, progress: bool = False) -> pd.DataFrame:
    """Compare scenarios on common random numbers (replication i of each uses the same seeds).

    Returns :func:`sim.compare.comparison_table`: per scenario and KPI the mean and 95% CI, and
    against the first scenario the paired difference, its CI, relative change, p-value,
    Benjamini–Hochberg adjusted p-value and status (changed / unchanged / input / fixed)."""
    settings = [scenario(s, overrides) for s in sources]
    names = [s.name for s in settings]
    if len(set(names)) != len(names):
        raise scenario_mod.ScenarioError("<compare>", "name", f"scenario names must differ, got {names}")
    if replications < 2:
        raise scenario_mod.ScenarioError("<compare>", "replications", "at least 2: differences are paired over replications")
    seeds = runner.replication_seeds(seed, replications)
    jobs = [(s, ss, i) for s in settings for i, ss in enumerate(seeds)]
    done = runner.run_many(jobs, workers, progress, "compare")
    summaries = {n: pd.DataFrame([r.kpis for r in done[k * replications:(k + 1) * replications]])
                 for k, n in enumerate(names)}
    return compare_mod.comparison_table(summaries)


def tidy(name: str, summary: pd.DataFrame) -> pd.DataFrame:
    """summary.csv's shape (one column per KPI) -> one row per replication and KPI."""
    long = summary.melt(id_vars="replication", var_name="kpi", value_name="value")
    long.insert(0, "scenario", name)
    long["unit"] = long["kpi"].map(unit_key)
    return long.sort_values(["replication"], kind="stable").reset_index(drop=True)


def _assignments(overrides) -> list[str]:
    if overrides is None:
        return []
    if isinstance(overrides, Mapping):
        return [f"{k}={safe_yaml.inline(v)}" for k, v in overrides.items()]
    return list(overrides)
