"""The names of what a run reports: the KPI columns of summary.csv and the daily columns of
timeseries.parquet, for a scenario's roles and case types.

Kept apart from the model (this module imports nothing heavy) so that a typo in a command's
input — an experiment's ``kpis:``, a staffing target, an observed quantity — is answered before
the model and pandas load.
"""

from __future__ import annotations

import difflib

from sim.cases import STAGES

CASE_KPIS = (
    "cases_arrived", "cases_closed", "cases_open_at_end", "on_time_resident", "on_time_standard",
    "on_time_reported", "closure_rate", "closure_rate_reported", "wait_mean_days", "wait_p90_days",
    "reopen_rate", "bounces_per_case", "patrol_discovery_share", "on_spot_share", "hotline_escalation_rate",
    "resident_satisfaction", "hotline_orders", "hotline_orders_on_time",
)  # fmt: skip
STREET_KPIS = ("resident_trust_end", "problems_undiscovered_at_end", "purchased_services_cost_per_year")
SURVEY_KPIS = ("survey_satisfaction", "survey_satisfaction_se", "survey_respondents_with_case")
ROLE_KPI_PREFIXES = (
    "utilisation_", "casework_share_", "admin_share_", "overtime_hours_", "staff_", "exits_",
    "queue_wait_hours_", "queue_wait_p90_hours_", "queue_waited_share_",
)
TYPE_KPI_PREFIXES = ("type_wait_hours_", "type_wait_p90_hours_", "type_on_time_")
TOTAL_KPIS = ("staff_total", "staff_cost_per_year", "total_cost_per_year")


def kpi_names(settings) -> list[str]:
    """Every KPI a replication of this scenario reports, in summary.csv's column order."""
    survey_kpis = SURVEY_KPIS if settings.survey.respondents > 0 else ()
    roles = [p + r for r in settings.staffing for p in ROLE_KPI_PREFIXES]
    types = [p + t for t in settings.case_types for p in TYPE_KPI_PREFIXES]
    return [*CASE_KPIS, *STREET_KPIS, *survey_kpis, *roles, *types, *TOTAL_KPIS]


def daily_series_names(settings) -> list[str]:
    """The columns of timeseries.parquet (besides ``replication``), in order."""
    base = ["day", "cases_arrived", "cases_closed", "open_cases", "undiscovered_problems", "mean_trust"]
    stages = [f"backlog_{s}" for s in STAGES]
    roles = [f"{p}{r}" for r in settings.staffing for p in ("staff_", "queue_")]
    return base + stages + roles


def unknown(what: str, name: str, known, listed: str = "summary.csv of any run has every KPI as a column") -> str:
    """One line for a misspelt name: the nearest known names, not all of them (a scenario
    reports some 150 KPIs, and the line must stay one line); else where they are ``listed``."""
    close = difflib.get_close_matches(name, sorted(known), n=4, cutoff=0.6)
    return f"unknown {what} {name!r} (" + (f"did you mean {' or '.join(close)}?" if close else listed) + ")"
