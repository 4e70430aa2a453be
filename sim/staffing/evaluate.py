"""Step 2 of the planner: is a staffing feasible? Replications added until each target is decided.

A staffing is a staff count per chosen role. It is run through the sweep machinery (the same
executors, run ids and Parquet store as ``streetsim sweep``), so replication r of every staffing
uses the same random numbers (common random numbers), a finished run is never run twice, and an
interrupted search resumes where it stopped.

Decision rule (a sequential feasibility check with a Bonferroni bound): after n replications
(the looks are n0, 2 n0, 4 n0, ... up to the cap), each target ``KPI <= b`` gets the one-sided
t confidence bound of the KPI's mean at level 1 - alpha / (K L), K targets, L looks. The target is
*met* when the whole bound is on the good side of b, *failed* when it is on the bad side, and
undecided otherwise; undecided targets get more replications at the next look. A staffing
*meets* the targets when all are met, *fails* when one fails; still undecided at the cap counts as
not shown to meet (the planner never picks it). By Bonferroni over targets and looks, a staffing
that in truth misses a target is declared to meet all of them with probability at most alpha.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from sim import results_folder, safe_yaml
from sim import scenario as scenario_mod
from sim.labels import is_input, unit_key
from sim.scenario import ScenarioError
from sim.staffing.targets import NONNEGATIVE_UNITS, UNIT_INTERVAL_UNITS
from sim.sweep import experiment, shards, store
from sim.sweep import run as sweep_run

MEETS, FAILS, UNDECIDED = "meets", "fails", "undecided"
UNCONFIRMED = "unconfirmed"  # met on the search's runs, not confirmed on fresh ones (a cheaper neighbour)
BATCHES = "batches"  # each batch's experiment file, beside the store's parts: batches/batch-<hash>.yaml


@dataclass
class TargetCheck:
    """One target at one staffing: the mean, its two-sided 95% CI for reporting, the decision."""

    mean: float
    ci_low: float
    ci_high: float
    bound: float  # the one-sided Bonferroni bound the decision used
    decision: str  # met / failed / undecided
    n: int
    constant: bool = False  # the same value in every replication up to the cap: taken as it is (never a count of posts)


@dataclass
class Evaluation:
    staffing: tuple[int, ...]
    n: int = 0
    status: str = UNDECIDED
    checks: dict[str, TargetCheck] = field(default_factory=dict)
    kpis: pd.DataFrame | None = None  # one row per replication
    level: float | None = None  # a confirmation's alpha over targets and looks (Evaluator.confirm); None in the search

    @property
    def feasible(self) -> bool:
        return self.status == MEETS

    def failing(self) -> list[str]:
        """Targets failed, or (when none failed) those not shown to be met."""
        failed = [k for k, c in self.checks.items() if c.decision == "failed"]
        return failed or [k for k, c in self.checks.items() if c.decision != "met"]


def confirmation_seed(seed: int, j: int) -> int:
    """The seed of the j-th confirmation's runs: derived from the search's, so a rerun confirms on
    the same runs, one per confirmation (the j-th staffing is chosen from the runs before it, so
    its own must be new to it), and (a 64-bit hash) not a seed a user would give a search."""
    return int(np.random.SeedSequence([seed, 0x636F6E66, j]).generate_state(1, np.uint64)[0])


def looks(first: int, cap: int) -> list[int]:
    """n0, 2 n0, 4 n0, ..., cap: the replication counts at which targets are checked."""
    out, n = [], first
    while n < cap:
        out.append(n)
        n *= 2
    out.append(cap)
    return out


def decide(values: np.ndarray, target, alpha_each: float, last: bool = True) -> TargetCheck:
    """One-sided bound at 1 - alpha_each (see the module docstring) and the 95% CI to report;
    ``last``: this is the last look (the cap)."""
    x = values[~np.isnan(values)]
    n = len(x)
    if n == 0:
        return TargetCheck(math.nan, math.nan, math.nan, math.nan, "undecided", 0)
    m = float(x.mean())
    low, high = _bounds(x, m, target.kpi, alpha_each, last)
    good, bad = (low, high) if target.op == ">=" else (high, low)
    if target.margin(good) >= 0:
        decision = "met"
    elif target.margin(bad) < 0:
        decision = "failed"
    else:
        decision = "undecided"
    constant = last and n > 1 and bool(np.all(x == x[0])) and not set_by_staffing(target.kpi)
    return TargetCheck(m, *_bounds(x, m, target.kpi, 0.025, True), good, decision, n, constant)


def set_by_staffing(kpi: str) -> bool:
    """KPIs the staffing itself fixes: its posts (sim.labels.is_input) and what they cost a year
    (posts x cost per post, sim.metrics), the same in every replication."""
    return is_input(kpi) or kpi == "staff_cost_per_year"


def _bounds(x: np.ndarray, m: float, kpi: str, alpha: float, last: bool) -> tuple[float, float]:
    """The mean's one-sided bounds at 1 - alpha from below and from above (at alpha = 0.025, the
    two-sided 95% CI), kept inside the KPI's range (a share's in [0, 1]: a plain t interval gave
    [0.947, 1.025]; dropping what lies outside loses no coverage). Student t; but values that never
    vary (a rare case type's few cases all on time, share 1.0 each time) say nothing of their
    spread, and a t bound of zero width took [1.0, 1.0] for certain at n = 2. They are undecided
    until the last look (the cap) and there taken as they are: the most replications the user
    allows all gave that value (no confidence level is claimed for it: a share's case counts,
    which would give one, are not among the KPIs). A count of posts, or their cost, that never
    varies is no sample but the staffing itself (set_by_staffing), exact at any look."""
    from scipy import stats

    n = len(x)
    sd = float(x.std(ddof=1)) if n > 1 else math.nan
    if n > 1 and sd > 0:
        half = stats.t.ppf(1 - alpha, n - 1) * sd / math.sqrt(n)
        low, high = m - half, m + half
    elif n > 1 and (last or set_by_staffing(kpi)):
        low, high = m, m
    else:
        low, high = -math.inf, math.inf
    u = unit_key(kpi)
    least = 0.0 if u in UNIT_INTERVAL_UNITS or u in NONNEGATIVE_UNITS else -math.inf
    return max(low, least), min(high, 1.0 if u in UNIT_INTERVAL_UNITS else math.inf)


class Evaluator:
    """Runs staffings through the sweep store and decides them; remembers every evaluation."""

    def __init__(self, scenario_file: Path, overrides: list[str], roles: list[str], targets, seed: int,
                 first: int, cap: int, alpha: float, store_dir: Path, executor: str = "local",
                 workers: int | None = None, scheduler: str | None = None, progress: bool = True,
                 shard: tuple[int, int] | None = None, shard_wait: float = 0.0, settings=None):  # fmt: skip
        self.scenario_file = Path(scenario_file).resolve()
        self.settings = settings  # the scenario as the command read it: every batch must read the same
        self.overrides, self.roles, self.targets = list(overrides), list(roles), list(targets)
        self.seed, self.alpha = seed, alpha
        self.looks = looks(first, cap)
        self.alpha_each = self.per_target_and_look(alpha)
        self.store_dir = Path(store_dir).resolve()
        self.executor, self.workers, self.scheduler, self.progress = executor, workers, scheduler, progress
        self.shard, self.shard_wait = shard, shard_wait
        self.done: dict[tuple[int, ...], Evaluation] = {}
        self.confirmed: dict[tuple[int, ...], Evaluation] = {}  # decided afresh (confirm)
        self.runs_used: set[str] = set()  # run ids the search used
        self.runs_new = 0  # of which run in this call (the rest came from the store)

    def per_target_and_look(self, alpha: float) -> float:
        """The Bonferroni split of ``alpha`` over the targets and the looks (the module docstring):
        the level of each one-sided bound, in the search and in each confirmation."""
        return alpha / (len(self.targets) * len(self.looks))

    def evaluate(self, staffings: list[tuple[int, ...]]) -> list[Evaluation]:
        """Decide each staffing, adding replications look by look to those still undecided."""
        return self._evaluate(staffings, self.done, self.seed, self.alpha_each)

    def confirm(self, staffing: tuple[int, ...], alpha: float, j: int) -> Evaluation:
        """The staffing decided afresh, on replications the search never saw (another seed), at
        level ``alpha`` over targets and looks: the search picked it because its own runs met the
        targets, so those runs would overstate it (see sim.staffing.search)."""
        self.confirmed.pop(tuple(staffing), None)
        alpha_each = self.per_target_and_look(alpha)
        e = self._evaluate([staffing], self.confirmed, confirmation_seed(self.seed, j), alpha_each)[0]
        e.level = alpha  # the manifest reports it from here
        return e

    def _evaluate(self, staffings, done: dict, seed: int, alpha_each: float) -> list[Evaluation]:
        wanted = list(dict.fromkeys(tuple(int(v) for v in s) for s in staffings))
        for s in wanted:
            done.setdefault(s, Evaluation(s))
        for n in self.looks:
            todo = [s for s in wanted if done[s].status == UNDECIDED and done[s].n < n]
            if not todo:
                break
            table = self._run(todo, n, seed)
            for s in todo:
                self._decide(done[s], table[s], n, alpha_each)
        return [done[s] for s in wanted]

    def _decide(self, ev: Evaluation, kpis: pd.DataFrame, n: int, alpha_each: float) -> None:
        ev.n, ev.kpis = n, kpis
        last = n >= self.looks[-1]
        ev.checks = {str(t): decide(kpis[t.kpi].to_numpy(float), t, alpha_each, last) for t in self.targets}
        decisions = [c.decision for c in ev.checks.values()]
        if "failed" in decisions:
            ev.status = FAILS
        elif all(d == "met" for d in decisions):
            ev.status = MEETS
        else:
            ev.status = UNDECIDED  # at the cap this stays: not shown to meet

    def _check_unchanged(self, plan: experiment.Plan) -> None:
        """Each batch reads the scenario file again (it is an experiment on it): one edited during a
        search would have its staffings compared across two models, priced from the first."""
        if self.settings is not None and scenario_mod.build(plan.base, plan.scenario_file) != self.settings:
            raise ScenarioError(self.scenario_file, "", "changed during the search (this batch of runs read other "
                                "settings than the search started with): run the command again; it searches the "
                                "file as it is then and reuses any of its runs already stored")  # fmt: skip

    # -- the sweep machinery ------------------------------------------------------------
    def params(self) -> list[str]:
        return [f"staffing.{r}.count" for r in self.roles]

    def _run(self, staffings: list[tuple[int, ...]], n: int, seed: int) -> dict[tuple, pd.DataFrame]:
        plan = self._plan(staffings, n, seed)
        # retry_failed: a run that failed before (a crash, a full disk) is run again on resume
        res = sweep_run.run_sweep(plan, self.store_dir, self.executor, self.workers, self.scheduler, self.shard,
                                  progress=self.progress, retry_failed=True, batches=True)  # fmt: skip
        self.runs_new += res.ran
        if self.shard is not None:  # the next step needs every run of this batch (sim.sweep.shards)
            shards.wait_for_other_shards(self.store_dir, {r.run_id for r in plan.runs()}, self.shard_wait)
        # this batch's own design, not design.parquet: another shard may already have written the next batch's
        table = store.read_results(self.store_dir, design=plan.design_table())
        if (table["status"] != "ok").any():  # every staffing is judged on all its replications
            raise sweep_run.RunsFailed.stored(self.store_dir, table)
        self.runs_used.update(table["run_id"])
        out = {}
        keys = table[self.params()].astype(int).itertuples(index=False, name=None)
        table = table.assign(_staffing=list(keys))
        for s in staffings:
            out[s] = table[table["_staffing"] == s].sort_values("replication").reset_index(drop=True)
        return out

    def _plan(self, staffings: list[tuple[int, ...]], n: int, seed: int) -> experiment.Plan:
        """An experiment over these staffings (written beside the store, so the batch can be read
        and re-run as a sweep), restricted to exactly these points."""
        params = self.params()
        spec = {
            "experiment": "staffing_search",
            "description": "a batch of the staffing planner's search (streetsim staff)",
            "scenario": str(self.scenario_file),
            "set": self.overrides,
            "parameters": {p: {"values": sorted({s[i] for s in staffings})} for i, p in enumerate(params)},
            "design": "factorial",
            "replications": n,
            "seed": seed,
            "invalid_points": "skip",
        }
        text = safe_yaml.dump(spec, sort_keys=False, allow_unicode=True)
        # named by its text: shards of an array at different batches never read each other's file
        path = self.store_dir / BATCHES / f"batch-{hashlib.sha256(text.encode()).hexdigest()[:16]}.yaml"
        if not path.exists():
            results_folder.write_atomic(path, lambda p: p.write_text(text, encoding="utf-8"))
        plan = experiment.load(path)
        self._check_unchanged(plan)
        wanted = set(staffings)
        rows = [tuple(int(getattr(r, f"p{i}")) for i in range(len(params))) for r in plan.points.itertuples(index=False)]
        keep = [i for i, row in enumerate(rows) if row in wanted]
        missing = wanted - {rows[i] for i in keep}
        if missing:
            s = sorted(missing)[0]
            raise ScenarioError(self.scenario_file, "staffing", f"staffing {dict(zip(self.roles, s))} is not a valid scenario "
                                f"({plan.skipped[0]['reason'] if plan.skipped else 'rejected'})")  # fmt: skip
        plan.points = plan.points.iloc[keep].reset_index(drop=True)
        plan.points["point"] = np.arange(len(plan.points))
        plan.digests = [plan.digests[i] for i in keep]
        return plan
