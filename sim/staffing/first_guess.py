"""Step 1 of the planner: a first guess per role from queueing theory.

A pilot run of the scenario as written measures each role's work: case jobs per on-duty hour,
hours per job, and the hours its fixed duties and devolved tasks take. Together they give the
role's offered load in posts (work hours / on-duty hours per post). Each of the role's separate
lines is then an M/M/c queue during its calendar's working hours, and Erlang C gives the fewest
servers per line that meet the role's queue targets:

* ``queue_waited_share_R <= p``: fewest c with P(wait) = C(c, a) <= p;
* ``queue_wait_hours_R <= w``: fewest c with mean wait C(c, a) / (c mu - lambda) <= w, the wait
  counted in working hours (w times the calendar's on-duty share, since waits run over nights);
* a role with no queue target of its own (its cases count in street-wide targets): fewest c with
  P(wait) <= 0.2 — the square-root staffing rule's quality-and-efficiency regime.

The simulation then searches around this guess; the guess only decides where it starts.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import pandas as pd

from sim import metrics, queueing, runner
from sim.calendar import HOURS_PER_WEEK

DEFAULT_P_WAIT = 0.2
WORK = metrics.ACTIVITY_KPIS  # hours that load a role: casework, travel, devolved tasks, duties


@dataclass
class RoleLoad:
    """What the pilot measured for one role, and the guess it gives."""

    role: str
    posts: int
    lines: int
    load: float  # offered load in posts: work hours / on-duty hours per post
    jobs_per_duty_hour: float  # case jobs per on-duty hour, whole role
    job_hours: float  # mean hours of casework (with travel) per case job
    duty_share: float  # on-duty hours of the role's calendar / hours in a week
    guess: int = 0
    rule: str = ""


def pilot(settings, replications: int, seed: int, workers: int, progress: bool) -> list[runner.Replication]:
    """The scenario as written, a few replications, with the case table kept."""
    return runner.run_replications(settings, replications, seed, progress, workers, label="pilot")


def measure(settings, reps: list[runner.Replication], roles: list[str]) -> dict[str, RoleLoad]:
    """Each role's offered load: the cases that reached it times the hours a started job took,
    plus its other work. Counting demand, not hours worked, matters when the pilot's staffing is
    overloaded: there, hours worked are capped by the staff and would hide the backlog."""
    roles_table = pd.concat([r.roles for r in reps], ignore_index=True)
    warmup = settings.horizon.warmup_days * 24.0
    out = {}
    for role in roles:
        rows = roles_table[roles_table["role"] == role]
        posts = int(round(rows["posts"].mean()))
        duty_per_post = float(rows["available"].mean()) / max(posts, 1)
        arrived, started = (x / len(reps) for x in _jobs(reps, role, warmup))
        case_hours = float(rows["casework"].mean() + rows["travel"].mean())
        job_hours = case_hours / started if started else 1.0
        other = float(sum(rows[a].mean() for a in WORK if a not in ("casework", "travel")))
        demand = arrived * job_hours + other
        out[role] = RoleLoad(
            role=role, posts=posts, lines=_lines(settings, role),
            load=demand / duty_per_post if duty_per_post > 0 else math.inf,
            jobs_per_duty_hour=arrived / duty_per_post if duty_per_post > 0 else 0.0,
            job_hours=job_hours, duty_share=_duty_share(settings, role),
        )  # fmt: skip
    return out


def _jobs(reps, role: str, warmup: float) -> tuple[int, int]:
    """Cases dispatched to the role after the warm-up, and jobs it started after the warm-up
    (the hours in the roles table are those after the warm-up)."""
    arrived = started = 0
    for r in reps:
        c = r.cases
        mine = c["handler_role"].astype(str).str.split("+").map(lambda hs: role in hs).to_numpy(bool)
        arrived += int((mine & (c["dispatched"] >= warmup).to_numpy(bool)).sum())
        started += int((mine & (c["handle_started"] >= warmup).to_numpy(bool)).sum())
    return arrived, started


def _lines(settings, role: str) -> int:
    lines = settings.staffing[role].lines
    return lines if isinstance(lines, int) else int(getattr(settings.street, lines))


def _duty_share(settings, role: str) -> float:
    spec = settings.calendars[settings.staffing[role].calendar]
    hours = sum(len(set(s.days)) * (s.end_hour - s.start_hour) for s in spec.shifts)
    return min(1.0, hours / HOURS_PER_WEEK)


def guess(load: RoleLoad, targets) -> RoleLoad:
    """Fewest posts meeting the role's queue targets by Erlang C, line by line (see the docstring)."""
    a = load.load / load.lines
    per_line, rules = [], []
    for t in targets:
        if t.op != "<=":
            continue
        if t.kpi == f"queue_waited_share_{load.role}" and t.bound > 0:
            per_line.append(queueing.staff_for_delay_probability(a, t.bound))
            rules.append(f"Erlang C P(wait) <= {t.bound:g}")
        elif t.kpi == f"queue_wait_hours_{load.role}" and t.bound > 0:
            mu = 1.0 / load.job_hours
            per_line.append(queueing.staff_for_wait(a * mu, mu, t.bound * load.duty_share))
            rules.append(f"Erlang C mean wait <= {t.bound:g} h")
    if not per_line:
        per_line.append(queueing.staff_for_delay_probability(a, DEFAULT_P_WAIT))
        rules.append(f"Erlang C P(wait) <= {DEFAULT_P_WAIT:g} (no queue target for this role)")
    load.guess = max(1, load.lines * max(per_line))
    load.rule = "; ".join(rules)
    return load


def stability_floor(load: RoleLoad) -> int:
    """Fewest posts that keep each line below 100% busy (fewer, and the queue grows without end)."""
    a = load.load / load.lines
    return max(1, load.lines * (math.floor(a) + 1))
