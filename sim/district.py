"""A district: several streets and towns run as one, KPIs per street and for the district."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from pydantic import Field, ValidationError

from sim import metrics
from sim import scenario as scenario_mod
from sim.scenario import ScenarioError, Strict


class StreetEntry(Strict):
    name: str
    scenario: str = Field(description="scenario file, relative to the district file")
    set: dict[str, Any] = Field({}, description="key.path: value overrides, as with --set")


class District(Strict):
    name: str = Field(min_length=1, pattern=scenario_mod.SAFE_NAME)
    description: str = ""
    streets: list[StreetEntry] = Field(min_length=1, max_length=500)  # a district has ~10-20; each is loaded and run


def is_district_file(path) -> bool:
    return "streets" in scenario_mod.load_raw(path)


def load(path, overrides: list[str] | None = None) -> tuple[District, dict]:
    """The district and each street's scenario (street name -> Scenario)."""
    path = Path(path)
    try:
        district = District.model_validate(scenario_mod.load_raw(path))
    except ValidationError as e:
        raise scenario_mod.format_validation_error(path, e) from None
    streets = {}
    for i, entry in enumerate(district.streets):
        if entry.name in streets:
            raise ScenarioError(path, f"streets.{i}.name", f"duplicate street name {entry.name!r}")
        sets = [f"{k}={_yaml_value(v)}" for k, v in entry.set.items()] + list(overrides or [])
        try:
            street_raw = scenario_mod.load_raw(path.parent / entry.scenario)
        except ScenarioError as e:
            if e.key:
                raise
            raise ScenarioError(path, f"streets.{i}.scenario", f"{entry.scenario}: {e.message}") from None
        raw = scenario_mod.apply_overrides(street_raw, sets, path)
        raw["name"] = entry.name
        streets[entry.name] = scenario_mod.build(raw, f"{path} (streets.{i}: {entry.name})")
        first = next(iter(streets.values())).horizon
        if streets[entry.name].horizon != first:
            raise ScenarioError(path, f"streets.{i}", "every street must share one horizon (days, warm-up, start weekday)")
    return district, streets


def _yaml_value(v) -> str:
    import yaml

    return yaml.safe_dump(v, default_flow_style=True).strip().removesuffix("...").strip()


def street_seeds(seed: int, replications: int, n_streets: int):
    """Replication r of street s: independent streams for every street and replication."""
    return [rep.spawn(n_streets) for rep in np.random.SeedSequence(seed).spawn(replications)]


def _weighted(results, key, weight_key=None) -> float:
    """Mean of the streets' values of ``key`` (weighted by ``weight_key`` when given), NaNs left out."""
    values = np.array([res.kpis.get(key, np.nan) for res in results], dtype=float)
    weights = np.array([res.kpis.get(weight_key, 1.0) if weight_key else 1.0 for res in results], dtype=float)
    ok = ~np.isnan(values) & (weights > 0)
    return float((values[ok] * weights[ok]).sum() / weights[ok].sum()) if ok.any() else float("nan")


def district_kpis(street_results: dict[str, list], streets: dict) -> pd.DataFrame:
    """One row per replication: case KPIs over all streets' cases, staff KPIs summed by role."""
    names = list(street_results)
    reps = len(street_results[names[0]])
    rows = []
    for r in range(reps):
        results = [street_results[n][r] for n in names]
        s0 = streets[names[0]]
        cases = pd.concat([res.cases for res in results], ignore_index=True)
        end = s0.horizon.days * 24.0
        warmup = s0.horizon.warmup_days * 24.0
        row = {"replication": r, **metrics.case_kpis(cases, warmup, end)}
        row["hotline_orders"] = sum(res.kpis["hotline_orders"] for res in results)
        row["hotline_orders_on_time"] = _weighted(results, "hotline_orders_on_time", "hotline_orders")
        residents = np.array([streets[n].street.residents for n in names], dtype=float)
        trust = np.array([res.kpis["resident_trust_end"] for res in results])
        row["resident_trust_end"] = float((trust * residents).sum() / residents.sum())
        roles = pd.concat([res.roles for res in results]).drop(columns="replication")
        roles["cost"] = roles["posts"] * roles["cost_per_year"]
        summed = roles.groupby("role", sort=False).sum(numeric_only=True).reset_index()
        # role_kpis multiplies posts by cost per year: give it the posts-weighted cost.
        summed["cost_per_year"] = summed["cost"] / summed["posts"].where(summed["posts"] > 0)
        roles_row = metrics.role_kpis(summed)
        for role in summed["role"]:  # queue waits: the streets' values weighted by their staff (jobs are not kept)
            for prefix in ("queue_wait_hours_", "queue_wait_p90_hours_", "queue_waited_share_"):
                roles_row[prefix + role] = _weighted(results, prefix + role, "staff_" + role)
        row.update(roles_row)
        row.update(metrics.type_kpis(cases, warmup, end, list(s0.case_types)))
        row["purchased_services_cost_per_year"] = sum(res.kpis["purchased_services_cost_per_year"] for res in results)
        row["total_cost_per_year"] = row["staff_cost_per_year"] + row["purchased_services_cost_per_year"]
        rows.append(row)
    return pd.DataFrame(rows)
