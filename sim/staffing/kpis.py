"""Interim KPIs: contract KPIs the model does not report yet, computed from the case table.

The KPI contract (queue waits per role, waits and on-time per case type, resident on-time, costs
per year) is being added to ``sim.metrics`` by the model's own work. Until it lands, the planner
needs some of those columns for its targets; this module computes them from a replication's
case table, in this one place. It only fills KPIs the model does not report itself, so once
``sim.metrics`` has them this module adds nothing and can be deleted (with its one call in
``sim.sweep.worker``).

Definitions (interim; the model's own definitions win as soon as it reports the column):
* ``queue_wait_hours_R``, ``queue_wait_p90_hours_R``, ``queue_waited_share_R``: hours from
  dispatch to the start of handling, for cases role R handled (alone or jointly), the mean, the
  90th percentile and the share that waited at all.
* ``type_wait_hours_T``, ``type_wait_p90_hours_T``: hours from discovery to closure of closed
  cases of type T; ``type_on_time_T``: on-time share among type-T cases whose fate is known.
* ``on_time_resident``, ``wait_mean_days``, ``wait_p90_days``: the model's ``on_time_rate``,
  ``mean_days_to_close`` and ``p90_days_to_close``.
* ``staff_cost_per_year``, ``purchased_services_cost_per_year``, ``total_cost_per_year``: the
  model's costs over the measured period, divided by its length in years.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

ROLE_PREFIXES = ("queue_wait_hours_", "queue_wait_p90_hours_", "queue_waited_share_")
TYPE_PREFIXES = ("type_wait_hours_", "type_wait_p90_hours_", "type_on_time_")
RENAMED = {"on_time_resident": "on_time_rate", "wait_mean_days": "mean_days_to_close",
           "wait_p90_days": "p90_days_to_close"}  # fmt: skip
COSTS = {"staff_cost_per_year": "staff_cost", "purchased_services_cost_per_year": "purchased_services_cost"}
WAITED = 1e-9  # hours: a job that started later than this after dispatch waited


def interim_names(settings) -> list[str]:
    """Every KPI this module can add for a scenario."""
    roles = [p + r for p in ROLE_PREFIXES for r in settings.staffing]
    types = [p + t for p in TYPE_PREFIXES for t in settings.case_types]
    return [*RENAMED, *COSTS, "total_cost_per_year", *roles, *types]


def interim_kpis(settings, cases: pd.DataFrame, reported: dict) -> dict[str, float]:
    """The contract KPIs missing from ``reported`` (the model's KPIs of this replication)."""
    wanted = [k for k in interim_names(settings) if k not in reported]
    if not wanted:
        return {}
    out: dict[str, float] = {}
    for new, old in RENAMED.items():
        out[new] = reported.get(old, math.nan)
    years = (settings.horizon.days - settings.horizon.warmup_days) / 365.0
    for new, old in COSTS.items():
        out[new] = reported.get(old, math.nan) / years
    out["total_cost_per_year"] = out["staff_cost_per_year"] + out["purchased_services_cost_per_year"]
    c = cases[cases["discovered"] >= settings.horizon.warmup_days * 24.0]
    out.update(_role_waits(c, settings.staffing))
    out.update(_type_waits(c, settings.case_types, settings.horizon.days * 24.0))
    return {k: v for k, v in out.items() if k in wanted}


def _role_waits(c: pd.DataFrame, roles) -> dict[str, float]:
    started = c[c["handle_started"].notna() & c["dispatched"].notna()]
    handlers = started["handler_role"].astype(str).str.split("+")
    out = {}
    for r in roles:
        mine = started[handlers.map(lambda hs, r=r: r in hs).to_numpy(bool)]
        wait = (mine["handle_started"] - mine["dispatched"]).to_numpy(float)
        out[f"queue_wait_hours_{r}"] = float(wait.mean()) if len(wait) else math.nan
        out[f"queue_wait_p90_hours_{r}"] = float(np.quantile(wait, 0.9)) if len(wait) else math.nan
        out[f"queue_waited_share_{r}"] = float(np.mean(wait > WAITED)) if len(wait) else math.nan
    return out


def _type_waits(c: pd.DataFrame, case_types, end: float) -> dict[str, float]:
    out = {}
    types = c["type"].astype(str)
    for t in case_types:
        mine = c[types == t]
        closed = mine[mine["closed_flag"]]
        hours = (closed["closed"] - closed["discovered"]).to_numpy(float)
        decided = mine["closed_flag"] | (mine["deadline"] <= end)
        out[f"type_wait_hours_{t}"] = float(hours.mean()) if len(hours) else math.nan
        out[f"type_wait_p90_hours_{t}"] = float(np.quantile(hours, 0.9)) if len(hours) else math.nan
        out[f"type_on_time_{t}"] = float(mine.loc[decided, "on_time"].mean()) if decided.any() else math.nan
    return out
