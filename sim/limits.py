"""Size limits on what a file or command may ask for, each with its reason.

A limit is checked before anything is allocated or run, so a typo (an extra three zeros, a
ratio of 1e-300) ends in one line instead of gigabytes of memory or hours of running. The
schema (``sim/scenario.py``) states the per-key limits as ``le=`` bounds, so ``streetsim schema``
shows them to editors; the limits that combine several keys are checked by ``check_scenario``.
"""

from __future__ import annotations

import math

# --------------------------------------------------------------------------- files
MAX_FILE_BYTES = 1_000_000
"""Scenario, district and experiment files. The shipped ones are 1-8 kB; a megabyte of YAML is a
mistake (a data file, /dev/zero), and reading it whole must stay cheap."""

MAX_RESULTS_FILE_BYTES = 64_000_000
"""A file streetsim reads whole from a results folder: a manifest, a scenario's
scenario.resolved.yaml (report.json is held to 1 MB by the report's annex). streetsim's are a
few kB: a manifest holds at most sim.notes.NOTES_BYTES of scenario files' notes, and a sweep's at
most sim.sweep.experiment.LISTED_SKIPS skipped points. A larger one is not streetsim's (a sparse
file or a device in its place), and was read whole into memory."""

PIPE_SECONDS = 30
"""A scenario read from a pipe (``streetsim validate /dev/stdin < f``, ``generate | streetsim run
/dev/stdin``, a named pipe) must have ended (its writer closed it) within this: the writer is
another program, and one that never finishes would hang the command before it checked anything."""

MAX_NESTING = 40
"""Mappings/lists inside each other. Shipped files nest 5 deep; thousands of levels would
exhaust Python's recursion in the YAML composer and in validation."""

MAX_EXTENDS_CHAIN = 16
"""Files in one ``extends:`` chain (a scenario and the files it extends). Shipped chains have 2;
together they are held to MAX_FILE_BYTES, as one file is."""

MAX_YAML_VALUES = 200_000
"""Values in one file after YAML aliases (``*name``) are expanded. Shipped files hold ~1,000; an
"alias bomb" (billion laughs) expands a few lines into 10^9 values."""

MAX_NAME_CHARS = 100
"""Scenario, district, street and experiment names become folder names under results/; most
file systems allow 255 bytes per name and the temporary folder adds a prefix and suffix."""

# --------------------------------------------------------------------------- a street
MAX_RESIDENTS = 2_000_000
"""Shanghai's largest streets and towns have ~300,000 residents; residents are arrays of
~0.7 kB each (1 M residents: ~0.7 GB per replication, see README benchmarks)."""

MAX_AREAS = 10_000
"""Residential areas and grids are Python objects stepped every day; a street has tens to a
few hundred."""

MAX_ORGS = 1_000_000
"""'Two new' organisations (a street has a few thousand); only their count enters the rates."""

MAX_STAFF_PER_ROLE = 10_000
"""Each worker is a Mesa agent serving a queue in SimPy time; a street's roles have 1-300 staff. Also
bounds a ratio rule (``per: 1e-300`` would ask for 10^300 workers)."""

MAX_STAFF_TOTAL = 20_000
"""All roles together; a street has a few hundred staff."""

MAX_HORIZON_DAYS = 3_650
"""Ten years. Policy horizons are one to three years; every day is a Mesa step with a data row."""

MAX_RESPONDENTS = 1_000_000
"""Survey respondents a year; a real survey asks hundreds, and no more residents than live there."""

MAX_EXPECTED_CASES = 5_000_000
"""Cases (and devolved tasks) expected over the horizon at the stated rates, per replication.
A street-year has ~50,000 cases and takes ~5 s; 5 M cases take ~8 minutes and ~10 GB."""

MAX_CASE_TYPES = 500
"""Case types in one scenario. Shipped scenarios have 13; each type is drawn every simulated day
and has its own rows in the results. 6,500 types (a 0.9 MB file, within MAX_FILE_BYTES) took 42 s
for a 2-day run and ~0.2 ms more a type and day (~75 minutes for ten years) with no case of theirs."""

MAX_REQUEST_DRAWS = 1_000_000_000
"""Case types raised by residents x residential areas x days: each such type's requests are drawn
over every area every day, 0.1-0.2 us an area (301 types over 10,000 areas for 200 days, 6 x 10^8
draws, ran 55 s with no case of theirs), so 10^9 is a few minutes a replication; 500 types over
10,000 areas for ten years would be ~45 minutes. 13 types over 10,000 areas for 3,650 days are
4.7 x 10^8; the shipped streets, ~10^5."""

MAX_PATROL_PASSES_PER_DAY = 96
"""One pass every 15 minutes; each pass is computed for every grid every day."""

MAX_CHECKS_PER_CASE = 100
"""On-site checks a case takes on average, 1 / (1 - p) for a check that fails with probability p
(loop.close.fail_probability, plus behaviour.rationing.extra_fail_probability when handling is
rationed): p at most 0.99. A check that fails with p = 1 reopens its case forever; with zero-hour
steps, at one instant (0.05 + an extra 1.0 under rationing ran out of memory, and p = 0.9999999 ran
for minutes on a 3-day street). Checks of the sources fail a few to 15 times in 100."""

# --------------------------------------------------------------------------- times and money
MAX_DURATION_HOURS = MAX_HORIZON_DAYS * 24
"""A duration, wait or deadline in hours (handling, transfer and hand-off times, a patrol pass,
deadlines, the overload window): 87,600 hours, the longest horizon. What takes longer never ends
(or falls due) in any run, so a larger value is a typo (extra zeros): it left every case it touched
open, or never late, with no error; 1e300 was accepted."""

MAX_OVERTIME_HOURS_PER_DAY = 24
"""Overtime hours a worker may add in one day: a day has 24 hours."""

MAX_HOURS_PER_WEEK = 168
"""Hours a worker spends on something each week (data collection): a week has 168 hours."""

MAX_COST_PER_YEAR = 1e12
"""Yuan a year for one post, or for a street's purchased services: a post costs ~10^5 and a
street's projects a few million; 10^12 is about Shanghai's whole yearly budget. 1e308 was accepted
and made staff_cost_per_year infinite in summary.csv."""

# --------------------------------------------------------------------------- observed files (calibration)
MAX_OBSERVED_MAGNITUDE = 1e15
"""An observed value, its sd (and discrepancy sd), and a parameter range's bounds, either sign. A
street's quantities are shares, days, hours and counts below 10^8. The calibration squares each sd
(sim/calibrate/history.py: sd**2 + discrepancy sd**2, the discrepancy sd a share of the value): an
sd of 1e200, or a value of 1e160, overflows there (OverflowError) after the runs of a wave."""

MAX_DISCREPANCY_SHARE = 10
"""Model discrepancy sd as a share of the observed value's magnitude (0.05 by default): a share of
10 is a model allowed to be off by ten times what it is matched to, which matches nothing; a
larger one is a typo (5 for 0.05, or a percentage written for a share)."""


# --------------------------------------------------------------------------- sweeps and runs
MAX_REPLICATIONS = 100_000
"""Replications of one run or compare; results of every replication are held in memory."""

SWEEP_RUNS_WITHOUT_YES = 10_000
"""A sweep with more runs than this asks for ``--yes``: at a few seconds a run it is a day of
CPU time, and a mistyped step (0.001 for 1) is the usual cause."""

MAX_SWEEP_RUNS = 10_000_000
"""Never: the design table alone would need gigabytes, and each point is validated up front."""

WORKERS_PER_CPU = 4
"""``--workers`` at most this many times the machine's CPUs: each worker process holds the model
(~150 MB), so ``-j 100000`` started a process per replication and exhausted memory; more workers
than CPUs only take turns."""


class LimitError(ValueError):
    """``key`` (a dotted path) asks for more than a limit allows."""

    def __init__(self, key: str, message: str):
        self.key, self.message = key, message
        super().__init__(f"{key}: {message}")


def check_scenario(s) -> None:
    """Limits that combine keys, checked on a validated Scenario before anything is built."""
    total = 0
    for name, role in s.staffing.items():
        staff = _staff(role, s.street)
        if staff > MAX_STAFF_PER_ROLE:
            raise LimitError(f"staffing.{name}", f"gives {_big(staff)} staff; the limit is {MAX_STAFF_PER_ROLE:,} a role "
                             "(each worker is an agent with its own process)")  # fmt: skip
        total += staff
    if total > MAX_STAFF_TOTAL:
        raise LimitError("staffing", f"{total:,} staff in all; the limit is {MAX_STAFF_TOTAL:,}")
    if s.survey.respondents > s.street.residents:
        raise LimitError("survey.respondents", f"{s.survey.respondents:,} respondents but only "
                         f"{s.street.residents:,} residents")  # fmt: skip
    _check_request_draws(s)
    _check_closing(s)
    years = s.horizon.days / 365.0
    expected = 0.0
    from sim import demand  # access raises residents' requests (sim.demand)

    try:
        level = demand.access(s).level  # max_access (<= 100) bounds the candidates drawn beyond it
    except (KeyError, IndexError):  # a calendar or role it names is missing: check_references says which
        level = 1.0
    for name, ct in s.case_types.items():
        a = ct.arrivals
        per_year = ((a.per_resident_per_year or 0.0) * s.street.residents + (a.per_org_per_year or 0.0)
                    * s.street.two_new_orgs + (a.per_hour or 0.0) * 24 * 365)  # fmt: skip
        if ct.source == "residents":
            per_year *= level
        expected += per_year * years
        if not math.isfinite(expected) or expected > MAX_EXPECTED_CASES:
            raise LimitError(f"case_types.{name}.arrivals", f"the arrival rates give ~{_big(expected)} cases over "
                             f"{s.horizon.days} days; the limit is {MAX_EXPECTED_CASES:,} a replication")  # fmt: skip
    for role, per_week in s.levers.devolved_tasks.tasks_per_week.items():
        expected += per_week * s.horizon.days / 7.0  # tasks a week for the role's team
        if not math.isfinite(expected) or expected > MAX_EXPECTED_CASES:
            raise LimitError(f"levers.devolved_tasks.tasks_per_week.{role}", f"gives ~{_big(expected)} cases and tasks "
                             f"over the horizon; the limit is {MAX_EXPECTED_CASES:,} a replication")  # fmt: skip


def _check_closing(s) -> None:
    """A case reopens until its on-site check passes: MAX_CHECKS_PER_CASE on average at most."""
    close, rationing = s.loop.close, s.behaviour.rationing
    if not close.verify_role:
        return
    extra = rationing.extra_fail_probability if rationing.enabled else 0.0
    p, most = close.fail_probability + extra, 1.0 - 1.0 / MAX_CHECKS_PER_CASE
    if p > most:
        # the key to lower: the check's own chance if it is over alone, else rationing's extra
        key = "loop.close.fail_probability" if close.fail_probability > most or not extra else "behaviour.rationing.extra_fail_probability"
        with_extra = f" plus {extra:g} when handling is rationed" if extra else ""
        raise LimitError(key, f"an on-site check fails with probability {close.fail_probability:g}{with_extra}: "
                         f"{min(p, 1.0):g}, over the limit of {most:g} (a case would be checked "
                         f"{'forever' if p >= 1 else f'~{1 / (1 - p):,.0f} times'}; at most {MAX_CHECKS_PER_CASE} on average)")


def _check_request_draws(s) -> None:
    types = sum(ct.source == "residents" for ct in s.case_types.values())
    draws = types * s.street.residential_areas * s.horizon.days
    if draws > MAX_REQUEST_DRAWS:
        raise LimitError("case_types", f"{types:,} case types raised by residents over {s.street.residential_areas:,} "
                         f"residential areas for {s.horizon.days:,} days draw requests {draws:,} times; the limit is "
                         f"{MAX_REQUEST_DRAWS:,} a replication")  # fmt: skip


def _staff(role, street) -> float:
    """Staff of a role without building anything; a float so 1/1e-300 cannot overflow an int."""
    if role.count is not None:
        return role.count
    units = getattr(street, role.of)
    ratio = units / role.per
    return max(role.minimum, role.each * ratio) if math.isfinite(ratio) else math.inf


def _big(x: float) -> str:
    return f"{x:,.0f}" if x < 1e12 else f"{x:.3g}"


def check_runs(runs: int, confirmed: bool) -> str | None:
    """None if a sweep of ``runs`` may start; otherwise what is wrong."""
    if runs > MAX_SWEEP_RUNS:
        return f"{runs:,} runs; the limit is {MAX_SWEEP_RUNS:,}"
    if runs > SWEEP_RUNS_WITHOUT_YES and not confirmed:
        return (f"{runs:,} runs (more than {SWEEP_RUNS_WITHOUT_YES:,}); check the design and add --yes to start it")
    return None
