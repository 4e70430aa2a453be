"""The staffing planner (sim.staffing): answers checked against Erlang C, brute force and resume.

Every expected answer is computed here, independently of the planner: Erlang C by its textbook
sum (not sim.queueing's recursion), the brute force by running every staffing of a grid and
measuring waits from the case table.
"""

import json
import math
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from test_sweep_helpers import ASCII_PUNCTUATION_BY_CJK, figure_text, raw_run_ids, report_texts

from sim import provenance, scenario
from sim.cli import main
from sim.columns import kpi_names
from sim.labels import word
from sim.runner import run_replication
from sim.staffing import search as search_mod
from sim.staffing import targets as targets_mod
from sim.staffing.evaluate import Evaluation, Evaluator, decide, looks
from sim.sweep import store
from sim.sweep.experiment import seed_sequence

ROOT = Path(__file__).resolve().parents[1]
MMC = ROOT / "scenarios/validation/mmc.yaml"
TWO_ROLES = ROOT / "tests/staffing/two_roles.yaml"
SHORT = ["horizon.days=40", "horizon.warmup_days=5"]


# --------------------------------------------------------------------------- independent answers
def erlang_c_by_sum(c: int, a: float) -> float:
    """P(wait) in M/M/c from its definition: the stationary probability that all c are busy."""
    if a >= c:
        return 1.0
    top = a**c / math.factorial(c) * c / (c - a)
    return top / (sum(a**k / math.factorial(k) for k in range(c)) + top)


def fewest_servers(lam: float, mu: float, p_wait: float | None = None, mean_wait: float | None = None) -> int:
    c = 1
    while True:
        pw = erlang_c_by_sum(c, lam / mu)
        wq = pw / (c * mu - lam) if c * mu > lam else math.inf
        if (p_wait is None or pw <= p_wait) and (mean_wait is None or wq <= mean_wait):
            return c
        c += 1


def _staff(args: list[str]) -> int:
    return main(["staff", *args, "--quiet", "--workers", "1"])


# (lambda, mu, target): the target sits well between Erlang C at c* - 1 and c*, so 5-20
# replications of 40 days decide both sides.
MMC_SETTINGS = [
    (2.0, 1.0, "queue_waited_share_servers<=0.3", 40),   # C(3)=0.44, C(4)=0.17 -> 4
    (8.0, 1.0, "queue_wait_hours_servers<=0.35", 15),    # Wq(9)=0.67 h, Wq(10)=0.20 h -> 10
    (1.0, 0.5, "queue_wait_hours_servers<=0.5", 40),     # Wq(3)=0.89 h, Wq(4)=0.17 h -> 4
    (3.6, 1.0, "queue_waited_share_servers<=0.55", 40),  # C(4)=0.79, C(5)=0.41 -> 5
]  # fmt: skip


@pytest.mark.parametrize("lam,mu,target,days", MMC_SETTINGS, ids=[s[2].split("_servers")[0] + f"-lam{s[0]}" for s in MMC_SETTINGS])
def test_on_mmc_the_answer_is_the_fewest_servers_erlang_c_allows(tmp_path, lam, mu, target, days):
    t = targets_mod.parse(target)
    want = fewest_servers(lam, mu, **({"p_wait": t.bound} if "share" in t.kpi else {"mean_wait": t.bound}))
    sets = [f"case_types.job.arrivals.per_hour={lam}", f"case_types.job.handle.mean_hours={1 / mu}",
            f"horizon.days={days}", "horizon.warmup_days=3"]  # fmt: skip
    out = tmp_path / "plan"
    assert _staff([str(MMC), "--target", target, "--roles", "servers", "--replications", "5",
                   "--max-replications", "20", "--out", str(out), *sum((["--set", s] for s in sets), [])]) == 0  # fmt: skip
    m = json.loads((out / "manifest.json").read_text())
    assert m["answer"] == {"servers": want}
    tried = {int(r["servers"]): r["status"] for r in _csv(out / "tried.csv")}
    # the simulation, not the guess, decided: c* met and c* - 1 failed
    assert tried[want] == "meets" and tried[want - 1] == "fails"


def _csv(path):
    import pandas as pd

    return pd.read_csv(path).to_dict("records")


# --------------------------------------------------------------------------- brute force
TWO_ROLE_TARGETS = ["queue_waited_share_servers<=0.3", "queue_wait_hours_caseworkers<=0.5"]
COSTS = {"servers": 100000, "caseworkers": 60000}  # as in two_roles.yaml


def _brute_force(grid_servers, grid_caseworkers, reps, seed):
    """Every staffing of the grid, waits measured from the case table, least cost meeting both."""
    best = None
    for cs in grid_servers:
        for cw in grid_caseworkers:
            settings = scenario.load(TWO_ROLES, [f"staffing.servers.count={cs}", f"staffing.caseworkers.count={cw}"])
            share, wait = [], []
            for r in range(reps):
                cases = run_replication(settings, seed_sequence(seed, r), r).cases
                cases = cases[(cases["discovered"] >= settings.horizon.warmup_days * 24) & cases["handle_started"].notna()]
                w = cases["handle_started"] - cases["dispatched"]
                share.append(float((w[cases["type"] == "job"] > 1e-9).mean()))
                wait.append(float(w[cases["type"] == "case"].mean()))
            if np.mean(share) <= 0.3 and np.mean(wait) <= 0.5:
                cost = cs * COSTS["servers"] + cw * COSTS["caseworkers"]
                if best is None or cost < best[0]:
                    best = (cost, (cs, cw))
    return best[1]


def test_on_two_roles_the_search_finds_what_brute_force_finds_from_a_guess_too_high(tmp_path):
    want = _brute_force([3, 4, 5], [4, 5, 6], reps=5, seed=3)
    targets = [targets_mod.parse(t) for t in TWO_ROLE_TARGETS]
    ev = Evaluator(TWO_ROLES, [], ["servers", "caseworkers"], targets, seed=3, first=5, cap=20, alpha=0.05,
                   store_dir=tmp_path / "runs", workers=1, progress=False)  # fmt: skip

    def cost(s):
        return (s[0] * COSTS["servers"] + s[1] * COSTS["caseworkers"], sum(s))

    # (6, 8): more of both than needed; the search must walk each role down past the answer
    # (climbing from a guess that is too low is tested on the oracle below: same code path)
    res = search_mod.search(ev, guess=(6, 8), floors=(1, 1), scenario_posts=(4, 5), cost=cost)
    assert res.chosen.staffing == want == (4, 5)
    assert res.cheaper["servers"].status == "fails" and res.cheaper["caseworkers"].status == "fails"


# --------------------------------------------------------------------------- the search itself
class Oracle:
    """A stand-in for the Evaluator: feasible iff staffing >= need (elementwise); counts calls."""

    alpha = 0.05

    def __init__(self, need, roles=("a", "b")):
        self.need, self.roles, self.done, self.confirmed, self.calls = need, list(roles), {}, {}, 0

    def confirm(self, staffing, alpha, j):  # noise-free: fresh replications decide as the search's did
        self.confirmed[staffing] = self.evaluate([staffing])[0]
        return self.confirmed[staffing]

    def evaluate(self, staffings):
        out = []
        for s in staffings:
            if s not in self.done:
                self.calls += 1
                ok = all(x >= n for x, n in zip(s, self.need))
                bad = [f"t_{r}" for r, x, n in zip(self.roles, s, self.need) if x < n]
                e = Evaluation(s, n=5, status="meets" if ok else "fails")
                e.checks = {f"t_{r}": _Check("met" if x >= n else "failed") for r, x, n in zip(self.roles, s, self.need)}
                assert ok or bad
                self.done[s] = e
            out.append(self.done[s])
        return out


class _Check:
    def __init__(self, decision):
        self.decision, self.mean, self.ci_low, self.ci_high, self.bound = decision, 0.0, 0.0, 0.0, 0.0
        self.constant, self.n = False, 5


@pytest.mark.parametrize("guess", [(7, 3), (3, 3), (30, 30), (7, 12)])
def test_the_search_finds_the_threshold_from_any_guess_in_few_evaluations(guess):
    oracle = Oracle(need=(7, 12))
    res = search_mod.search(oracle, guess, floors=(1, 1), scenario_posts=(5, 5), cost=lambda s: (sum(s), sum(s)))
    assert res.chosen.staffing == (7, 12)
    assert res.cheaper["a"].staffing == (6, 12) and res.cheaper["b"].staffing == (7, 11)
    assert oracle.calls <= 30  # galloping + bisection: logarithmic, not a grid


def test_a_target_the_ceiling_cannot_meet_stops_the_search():
    oracle = Oracle(need=(500, 1))
    with pytest.raises(search_mod.Unreachable, match="t_a"):
        search_mod.search(oracle, (3, 3), floors=(1, 1), scenario_posts=(3, 3), cost=lambda s: (sum(s), sum(s)))
    assert oracle.calls == 2  # the guess and the ceiling


def test_a_target_still_undecided_at_the_ceiling_is_not_called_impossible():
    """At the cap, a target too close to call is "not shown to hold", with a remedy; only a
    target decided against is "cannot reach it"."""
    oracle = Oracle(need=(500, 1))
    failed = search_mod._unreachable(oracle, oracle.evaluate([(12, 3)])[0])
    assert "cannot reach it" in failed and "t_a" in failed
    close = Evaluation((12, 3), n=20, status="undecided")
    close.checks = {"t_a": _Check("undecided"), "t_b": _Check("met")}
    line = search_mod._unreachable(oracle, close)
    assert "not shown to hold" in line and "--max-replications" in line and "cannot reach" not in line
    assert "t_b" not in line


class NoisyEvaluator(Evaluator):
    """The planner's own Evaluator (looks, decisions, confirmation), with each run's KPI drawn
    instead of simulated. Five roles; the one target ``t>=0.9`` rests on the least staffed role:
    its mean is 0.91 with 6 posts or more each (+0.012 a post), 0.8999 with 5 (just short, as 7 grid
    supervisors were in the README's reform answer: 0.898), 0.03 less a post below. Run-to-run sd
    0.02, normal, independent between staffings (common random numbers correlate them, which helps;
    the guarantee must not lean on it)."""

    ROLES = tuple("abcde")

    def __init__(self, seed, first=5, cap=20):
        super().__init__(MMC, [], list(self.ROLES), [targets_mod.parse("t>=0.9")], seed, first, cap, 0.05,
                         Path("unused"), progress=False)  # fmt: skip

    @staticmethod
    def mean(staffing):
        x = min(staffing)
        return 0.91 + 0.012 * (x - 6) if x >= 6 else 0.8999 - 0.03 * (5 - x)

    def _run(self, staffings, n, seed=None):
        seed = self.seed if seed is None else seed
        return {s: pd.DataFrame({"t": self.mean(s) + np.random.default_rng([seed, *s]).normal(0.0, 0.02, n)})
                for s in staffings}


def test_an_answer_that_misses_a_target_comes_out_at_most_alpha_of_the_time():
    """The search tests many staffings, several just short of the target, and keeps the cheapest
    that passes. Before the answer was confirmed on fresh replications, 400 searches (seeded, looks
    5, 10, 20) gave an answer one post short 105 times (26%) against the 5% the level promises; now 4.
    Tolerance: at a true 5%, more than 8% of 400 has probability ~0.3%. A search that ends without
    an answer (not confirmed at the cap: one line, exit 2) gives no wrong answer and counts as such."""
    searches, short, unconfirmed = 400, 0, 0
    n = len(NoisyEvaluator.ROLES)
    for seed in range(searches):
        try:
            res = search_mod.search(NoisyEvaluator(seed), guess=(6,) * n, floors=(1,) * n, scenario_posts=(6,) * n,
                                    cost=lambda s: (sum(s), sum(s)))  # fmt: skip
        except getattr(search_mod, "Unconfirmed", ()) as e:
            assert "--max-replications" in str(e)
            unconfirmed += 1
            continue
        short += min(res.chosen.staffing) < 6
    assert short / searches <= 0.08, short
    assert unconfirmed / searches <= 0.05, unconfirmed  # the price of the guarantee: rarely no answer


class Unlucky(Oracle):
    """The search's choice (7, 12) fails on fresh runs; one post more on each confirms."""

    targets = [targets_mod.parse("t_a>=1"), targets_mod.parse("t_b>=1")]  # about no role: a post more on each

    def confirm(self, staffing, alpha, j):
        e = Evaluation(staffing, n=5, status="fails" if staffing == self.need else "meets")
        e.checks = {str(t): _Check("failed" if e.status == "fails" else "met") for t in self.targets}
        self.confirmed[staffing] = e
        return e


def test_an_answer_stepped_up_says_so_and_its_neighbours_met_in_the_search_are_unconfirmed():
    """The answer stepped up from an unconfirmed choice was still said to be "the search's choice,
    confirmed", and its one-fewer neighbours, which met on the search's runs, "not shown to meet"
    (plain "meets" in staffing.csv and the report)."""
    from types import SimpleNamespace

    from sim.staffing import output

    oracle = Unlucky(need=(7, 12))
    res = search_mod.search(oracle, (7, 12), floors=(1, 1), scenario_posts=(5, 5), cost=lambda s: (sum(s), sum(s)))
    assert res.chosen.staffing == (8, 13) and [e.staffing for e in res.confirmations] == [(7, 12), (8, 13)]
    assert {r: e.status for r, e in res.cheaper.items()} == {"a": "unconfirmed", "b": "unconfirmed"}
    assert not any(e.feasible for e in res.cheaper.values())
    plan = SimpleNamespace(result=res, evaluator=SimpleNamespace(looks=[5]), alpha=0.05, targets=oracle.targets,
                           settings=SimpleNamespace(staffing={}))  # fmt: skip
    text = output.guarantee(plan)
    assert "the search's choice was not confirmed on fresh replications" in text
    assert "with one post fewer on a, b, the targets were met in the search but not confirmed" in text
    assert "not shown" not in text and "other roles" not in text  # no role is left to say it of
    assert "未能用新的重复运行确认" in output.guarantee(plan, "zh") and "其余" not in output.guarantee(plan, "zh")
    res.chosen.checks["t_a>=1"].constant = True  # one value in every replication up to the cap
    text = output.guarantee(plan)
    assert text.startswith("At the answer, every other target is met with at least 95% confidence")
    assert "t a ≥ 1 gave the same value in every replication up to the cap and is taken as it is" in text


def test_targets_csv_marks_a_target_whose_kpi_gave_one_value_in_every_replication():
    """The guarantee named such a target (taken as it is, with no confidence level); targets.csv,
    the same checks as a table, did not say which."""
    from types import SimpleNamespace

    from sim.staffing import output

    targets = Unlucky.targets
    answer, fewer = Evaluation((7, 12), n=5, status="meets"), Evaluation((6, 12), n=5, status="fails")
    answer.checks = {str(t): _Check("met") for t in targets}
    fewer.checks = {"t_a>=1": _Check("failed"), "t_b>=1": _Check("met")}
    answer.checks["t_a>=1"].constant = True
    res = search_mod.Result(answer, {"a": fewer, "b": None}, confirmations=[answer])
    table = output.targets_table(SimpleNamespace(result=res, roles=["a", "b"], targets=targets))
    assert table["constant"].dtype == bool
    marked = {(r.staffing, r.target) for r in table.itertuples() if r.constant}
    assert marked == {("answer", "t_a>=1")} and len(table) == 4, table
    assert "t a ≥ 1 gave the same value" in output.guarantee(SimpleNamespace(
        result=res, evaluator=SimpleNamespace(looks=[5]), alpha=0.05, targets=targets, settings=SimpleNamespace(staffing={})))


def test_a_staffing_not_confirmed_is_followed_by_one_post_more_where_its_own_target_missed():
    """A role's own target missed (queue_wait_hours_R) adds a post there; a street-wide one, everywhere."""
    targets = [targets_mod.parse(t) for t in ("queue_wait_hours_b<=4", "on_time_resident>=0.9")]
    ev = Evaluator(MMC, [], ["a", "b"], targets, 1, 5, 20, 0.05, Path("unused"), progress=False)
    e = Evaluation((3, 3), n=20, status="undecided")
    e.checks = {"queue_wait_hours_b<=4": _Check("undecided"), "on_time_resident>=0.9": _Check("met")}
    assert search_mod._more_staff(ev, e) == (3, 4)
    e.checks["on_time_resident>=0.9"] = _Check("failed")
    assert search_mod._more_staff(ev, e) == (4, 4)


def test_the_search_and_each_confirmation_split_alpha_over_targets_and_looks_by_one_rule():
    """alpha / (K L) was written out twice, in the search's level and in each confirmation's."""
    targets = [targets_mod.parse(t) for t in ("queue_wait_hours_b<=4", "on_time_resident>=0.9")]
    ev = Evaluator(MMC, [], ["a", "b"], targets, 1, 5, 20, 0.05, Path("unused"), progress=False)
    assert ev.per_target_and_look(0.05) == ev.alpha_each == pytest.approx(0.05 / (2 * 3))  # looks 5, 10, 20
    levels = []
    ev._evaluate = lambda staffings, done, seed, alpha_each: levels.append(alpha_each) or [Evaluation(staffings[0])]
    ev.confirm((3, 3), 0.025, 1)
    assert levels == [ev.per_target_and_look(0.025)] == [pytest.approx(0.025 / 6)]


def test_each_confirmation_keeps_its_level_and_the_manifest_reports_it_from_there():
    """The level alpha/2**j of the j-th confirmation was worked out twice: by the search, which
    confirmed at it, and again by the manifest, which reported it."""
    from types import SimpleNamespace

    from sim.staffing import planner

    ev = NoisyEvaluator(3)  # this seed's answer is confirmed at the third try
    n = len(NoisyEvaluator.ROLES)
    res = search_mod.search(ev, guess=(6,) * n, floors=(1,) * n, scenario_posts=(6,) * n, cost=lambda s: (sum(s), sum(s)))
    assert [e.level for e in res.confirmations] == [0.025, 0.0125, 0.00625]
    req = SimpleNamespace(command=[], scenario=MMC, overrides=[], seed=3, confidence=0.95, pilot_replications=2)
    plan = SimpleNamespace(settings=SimpleNamespace(name="noisy"), req=req, roles=ev.roles, targets=ev.targets,
                           evaluator=ev, result=res, guess=(6,) * n, alpha=0.05, cost=lambda s: (float(sum(s)), sum(s)),
                           seconds=0.0, started="")  # fmt: skip
    res.confirmations[-1].level = 0.001  # had the search confirmed at another level, the manifest says that one
    levels = [c["alpha"] for c in planner.StaffingPlan.manifest(plan)["confirmations"]]
    assert levels == [0.025, 0.0125, 0.001]


# --------------------------------------------------------------------------- the decision rule
def test_decision_uses_a_one_sided_bonferroni_bound():
    t = targets_mod.parse("x<=1.0")
    rng = np.random.default_rng(0)
    assert decide(rng.normal(0.5, 0.1, 10), t, 0.05 / 6).decision == "met"
    assert decide(rng.normal(1.5, 0.1, 10), t, 0.05 / 6).decision == "failed"
    assert decide(np.array([0.95, 1.05, 0.98, 1.02]), t, 0.05 / 6).decision == "undecided"
    # the bound is the t quantile at 1 - alpha_each: with sd 1 and n 4 it is mean + t(0.99, 3) / 2
    from scipy import stats

    c = decide(np.array([-1.0, 1.0, -1.0, 1.0]) * math.sqrt(3 / 4) + 0.2, t, 0.01)
    assert c.bound == pytest.approx(0.2 + stats.t.ppf(0.99, 3) * 0.5)
    assert looks(5, 20) == [5, 10, 20] and looks(10, 25) == [10, 20, 25]


def test_a_value_that_never_varies_is_decided_only_at_the_cap():
    """[1.0, 1.0] on time was "met" for type_on_time>=0.99 at the first look, n = 2 (sd 0: a bound
    of zero width). Now more replications are run, up to the cap, and only there is it taken as
    it is; a spread, however small, is decided at any look."""
    t = targets_mod.parse("type_on_time_x>=0.99")
    assert decide(np.ones(2), t, 0.05 / 6, last=False).decision == "undecided"
    assert decide(np.ones(8), t, 0.05 / 6, last=True).decision == "met"
    assert decide(np.zeros(8), t, 0.05 / 6, last=True).decision == "failed"
    wait = targets_mod.parse("queue_wait_hours_r<=4")
    assert decide(np.zeros(2), wait, 0.05 / 6, last=False).decision == "undecided"
    assert decide(np.array([0.0, 0.01]), wait, 0.05 / 6, last=False).decision == "met"


def test_the_reported_interval_stays_in_the_kpis_range():
    """A plain t interval gave [0.947, 1.025] for on-time shares and [-0.014, 0.030] for waited shares."""
    c = decide(np.array([1, 1, 1, 0.93, 1]), targets_mod.parse("on_time_resident>=0.9"), 0.05 / 6)
    assert c.ci_low == pytest.approx(0.947, abs=1e-3) and c.ci_high == 1.0
    c = decide(np.array([0, 0, 0, 0.04, 0]), targets_mod.parse("queue_waited_share_r<=0.3"), 0.05 / 6)
    assert c.ci_low == 0.0 and c.ci_high == pytest.approx(0.030, abs=1e-3)


# --------------------------------------------------------------------------- bad input, impossible targets
def _one_line_error(capsys, code):
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and err[0].startswith("error: "), err
    return err[0]


def test_an_unknown_kpi_is_one_line_and_writes_nothing(tmp_path, capsys):
    out = tmp_path / "plan"
    line = _one_line_error(capsys, _staff([str(MMC), "--target", "queue_waitd_share_servers<=0.3", "--roles", "servers", "--out", str(out)]))
    assert "queue_waitd_share_servers" in line and "unknown KPI" in line and "did you mean queue_waited_share_servers" in line
    assert not out.exists()


@pytest.mark.parametrize("args,needle", [
    (["--target", "on_time_resident>=1.2", "--roles", "servers"], "share lies between 0 and 1"),
    # a score (0-1) was told from a share by the unit's English word, "score 0–1", so it ran the search
    (["--target", "resident_satisfaction>=1.5", "--roles", "servers"], "a score lies between 0 and 1"),
    (["--target", "resident_trust_end<=-0.1", "--roles", "servers"], "a score lies between 0 and 1"),
    # below zero for a KPI that is never negative: the search ran to its ceiling to find that out
    (["--target", "wait_mean_days<=-1", "--roles", "servers"], "a KPI in days is never negative"),
    (["--target", "queue_wait_hours_servers<=-0.5", "--roles", "servers"], "a KPI in hours is never negative"),
    (["--target", "staff_cost_per_year<=-1", "--roles", "servers"], "a KPI in yuan per year is never negative"),
    (["--target", "on_time_resident=>0.9", "--roles", "servers"], "expected KPI>=VALUE"),
    # targets more staff work against: the search took them for impossible (its ceiling failed them)
    (["--target", "staff_cost_per_year<=16.5e6", "--roles", "servers"], "more staff raise staff_cost_per_year"),
    (["--target", "staff_servers<=5", "--roles", "servers"], "more staff raise staff_servers"),
    (["--target", "utilisation_servers>=0.6", "--roles", "servers"], "more staff lower utilisation_servers"),
    (["--target", "on_time_resident<=0.99", "--roles", "servers"], "more staff raise on_time_resident"),
    (["--target", "queue_wait_hours_servers>=0.5", "--roles", "servers"], "more staff lower queue_wait_hours"),
    # two bounds with no room between them: a mean's bound never lands on one value
    (["--target", "wait_mean_days<=2", "--target", "resident_satisfaction>=0.5", "--target",
      "resident_satisfaction<=0.5", "--roles", "servers"], "leaves no room beside"),
    (["--target", "on_time_resident>=0.9", "--roles", "clerks"], "no role 'clerks'"),
    (["--target", "on_time_resident>=0.9"], "name the roles"),
])  # fmt: skip
def test_bad_targets_and_roles_are_one_line(tmp_path, capsys, args, needle):
    out = tmp_path / "plan"
    assert needle in _one_line_error(capsys, _staff([str(MMC), *args, "--out", str(out)]))
    assert not out.exists()


@pytest.mark.parametrize("flag,value,needle", [
    ("--seed", "-1", "--seed/-s: must be >= 0"),
    ("--replications", "100001", "at most 100,000"),
    ("--pilot-replications", "100001", "at most 100,000"),
    ("--max-replications", "100001", "at most 100,000"),
])  # fmt: skip
def test_a_bad_seed_or_replication_count_is_refused_before_the_pilot(tmp_path, capsys, flag, value, needle):
    """Before: the pilot ran first, then failed (a negative seed), ran 100,001 replications, or the
    first batch was refused; the folder was written either way."""
    out = tmp_path / "plan"
    with pytest.raises(SystemExit) as exit_:  # argparse's own error, printed by the parser
        _staff([str(MMC), "--target", "on_time_resident>=0.9", "--roles", "servers", flag, value, "--out", str(out)])
    assert needle in _one_line_error(capsys, exit_.value.code)
    assert not out.exists()


def _targets_file_error(tmp_path, capsys, text: str, scenario=MMC) -> tuple[Path, str]:
    """The targets file of ``text`` and the one line a search of servers with it is refused in (nothing written)."""
    f = tmp_path / "t.yaml"
    f.write_text(text + "\n")
    out = tmp_path / "plan"
    line = _one_line_error(capsys, _staff([str(scenario), "--targets", str(f), "--roles", "servers", "--out", str(out)]))
    assert not out.exists()
    return f, line


def test_a_targets_file_with_a_bound_its_kpi_cannot_reach_is_one_line(tmp_path, capsys):
    f, line = _targets_file_error(tmp_path, capsys, "targets: [on_time_resident>=0.9]\nroles: {servers: [queue_wait_hours<=-4]}")
    assert "queue_wait_hours_servers<=-4: a KPI in hours is never negative" in line, line
    # before: the line named --target, not the file and key where the target is written
    assert line.startswith(f"error: {f}: roles.servers[0]: queue_wait_hours_servers<=-4: "), line


@pytest.mark.parametrize("targets, where, needle", [
    ("targets: [wait_mean_days<=2, wait_mean_days>=3]", "targets[1]",
     "wait_mean_days>=3: contradicts wait_mean_days<=2: no value of wait_mean_days meets both"),
    ("targets: [no_such_kpi>=1]", "targets[0]", "no_such_kpi>=1: unknown KPI"),
    # every digit of a bound is shown (6 significant ones showed 'on_time_resident>=0.5' here)
    ("targets: [on_time_resident<=0.5, on_time_resident>=0.5000001]", "targets[1]",
     "on_time_resident>=0.5000001: contradicts on_time_resident<=0.5: no value"),
    ("targets: [on_time_resident>=0.9, on_time_resident>=0.8]", "targets[1]", "on_time_resident>=0.8: two targets of the form"),
    # 0, false and "" were taken for no targets (`validate` said ok)
    ("targets: [on_time_resident>=0.9]\nroles: 0", "roles", "must map a name to a list of targets"),
    ("targets: [on_time_resident>=0.9]\ncase_types: false", "case_types", "must map a name to a list of targets"),
    ("targets: [on_time_resident>=0.9]\nroles: ''", "roles", "must map a name to a list of targets"),
])  # fmt: skip
def test_a_targets_file_error_names_the_file_and_key(targets, where, needle, tmp_path, capsys):
    f, line = _targets_file_error(tmp_path, capsys, targets)
    assert line.startswith(f"error: {f}: {where}: {needle}"), line


def test_contradictory_targets_on_the_command_line_are_refused_before_the_pilot(tmp_path, capsys):
    """Before: the search ran to its ceiling (~15 s here) and then said it could not meet them."""
    out = tmp_path / "plan"
    line = _one_line_error(capsys, _staff([str(MMC), "--target", "queue_wait_hours_servers<=0.5", "--target",
                                           "queue_wait_hours_servers>=1", "--roles", "servers", "--out", str(out)]))  # fmt: skip
    assert line == ("error: --target: queue_wait_hours_servers>=1: contradicts queue_wait_hours_servers<=0.5: "
                    "no value of queue_wait_hours_servers meets both"), line
    assert not out.exists()
    assert not out.exists()


# --------------------------------------------------------------------------- a role not searched
# two_roles.yaml's caseworkers keep their 5 posts when only servers are searched
@pytest.mark.parametrize("target,needle", [
    # a floor on how busy (or how long the queue of) a role the search never staffs: was refused as
    # "more staff lower utilisation_caseworkers", as if the search added caseworkers
    # (the searched roles move it only through work they pass on: the message claims no direction for them)
    ("utilisation_caseworkers>=0.3", "utilisation_caseworkers>=0.3: caseworkers is not among --roles, so the search "
     "never changes its posts, and this bound is on the side more caseworkers staff work against (lower "
     "utilisation_caseworkers): the planner looks for the fewest staff that meet targets more staff help; drop it, "
     "or compare the answer with it"),
    ("queue_wait_hours_caseworkers>=0.1", "caseworkers is not among --roles, so the search never changes its posts"),
    # its posts are the scenario's 5 at every staffing: a bound they miss was refused as "more staff raise"
    ("staff_caseworkers<=4", "staff_caseworkers<=4: caseworkers is not among --roles, so the search keeps its 5 posts "
     "as the scenario has them: no staffing it tries meets this target"),
    ("staff_caseworkers>=6", "caseworkers is not among --roles, so the search keeps its 5 posts"),
])  # fmt: skip
def test_a_target_on_a_role_not_searched_is_refused_saying_the_role_is_not_searched(tmp_path, capsys, target, needle):
    out = tmp_path / "plan"
    line = _one_line_error(capsys, _staff([str(TWO_ROLES), "--target", "queue_wait_hours_servers<=0.5", "--target",
                                           target, "--roles", "servers", "--out", str(out)]))  # fmt: skip
    assert line.startswith("error: --target: ") and needle in line, line
    assert not out.exists()


def test_a_targets_file_naming_a_role_not_searched_is_refused_at_its_key(tmp_path, capsys):
    f, line = _targets_file_error(tmp_path, capsys, "targets: [queue_wait_hours_servers<=0.5]\nroles: {caseworkers: "
                                  "[utilisation>=0.3]}", TWO_ROLES)  # fmt: skip
    assert line.startswith(f"error: {f}: roles.caseworkers[0]: utilisation_caseworkers>=0.3: caseworkers is not among "
                           "--roles"), line


def test_the_posts_of_a_role_not_searched_are_exact_and_said_not_to_move_with_the_search(tmp_path):
    """staff_caseworkers<=5 (the scenario's 5, which a search of servers keeps) was refused as "more
    staff raise staff_caseworkers"; staff_caseworkers>=4 was taken as a sample that never varied:
    undecided until the cap, so every staffing ran the most replications, and the guarantee said it
    was "taken as it is, with no confidence level". A count of posts is an input, not a sample."""
    assert decide(np.full(5, 5.0), targets_mod.parse("staff_caseworkers<=5"), 0.05 / 6, last=False).decision == "met"
    assert decide(np.full(5, 5.0), targets_mod.parse("staff_caseworkers>=6"), 0.05 / 6, last=False).decision == "failed"
    assert not decide(np.full(5, 5.0), targets_mod.parse("staff_caseworkers<=5"), 0.05 / 6).constant
    out = tmp_path / "plan"
    assert _staff([str(TWO_ROLES), "--target", "queue_waited_share_servers<=0.5", "--target", "staff_caseworkers<=5",
                   "--target", "staff_caseworkers>=4", "--roles", "servers", "--replications", "3",
                   "--max-replications", "12", "--set", "horizon.days=10", "--set", "horizon.warmup_days=1",
                   "--out", str(out)]) == 0  # fmt: skip
    rows = [r for r in _csv(out / "targets.csv") if r["kpi"] == "staff_caseworkers"]
    assert len(rows) >= 2 and {(r["decision"], r["mean"]) for r in rows} == {("met", 5)}
    assert any(r["replications"] < 12 for r in _csv(out / "tried.csv")), "every staffing ran to the cap"
    text = json.loads((out / "report.json").read_text(encoding="utf-8"))["sections"][0]["text"]
    assert ("staff, caseworkers ≤ 5 (people); staff, caseworkers ≥ 4 (people) are not moved by the search "
            "(caseworkers keeps its posts as the scenario has them)") in text["en"], text["en"]
    assert "every other target is met" in text["en"] and "taken as" not in text["en"]
    assert "不随搜索变化" in text["zh"]


def test_the_cost_of_posts_is_decided_exactly_like_the_posts_and_never_called_constant():
    """staff_cost_per_year is posts x cost per post, the same in every replication: it stayed
    undecided until the cap (every staffing ran the most replications) and was then reported as
    a KPI that never varied, "taken as it is"."""
    budget_floor = targets_mod.parse("staff_cost_per_year>=1000000")
    assert decide(np.full(5, 1.2e6), budget_floor, 0.05 / 6, last=False).decision == "met"
    assert decide(np.full(5, 0.9e6), budget_floor, 0.05 / 6, last=False).decision == "failed"
    assert not decide(np.full(5, 1.2e6), budget_floor, 0.05 / 6).constant
    assert decide(np.full(5, 0.9), targets_mod.parse("on_time_resident>=0.85"), 0.05 / 6, last=False).decision == "undecided"


def test_a_role_whose_name_starts_with_cost_has_its_posts_taken_as_an_input():
    """is_input left out every staff_cost* key, so a role named cost_team had its posts taken for
    a sample (undecided until the cap, then "constant") and named twice in the guarantee."""
    from sim.labels import is_input

    assert is_input("staff_cost_team") and is_input("staff_total") and is_input("staff_police")
    assert not is_input("staff_cost_per_year") and not is_input("total_cost_per_year")


def test_every_kpi_unit_is_known_to_be_never_negative_and_shares_and_scores_lie_in_0_1():
    """What the planner takes for never negative (or within 0-1) is so in a run of every KPI."""
    from sim.labels import unit_key

    settings = scenario.load(ROOT / "scenarios/reform_2015.yaml", ["horizon.days=20", "horizon.warmup_days=2"])
    kpis = {k: v for k, v in run_replication(settings, seed_sequence(3, 0), 0, keep_cases=False).kpis.items() if k != "replication"}
    units = {k: unit_key(k) for k in kpis}
    assert all(units.values()) and len(kpis) > 100, [k for k, u in units.items() if not u]
    negative = [k for k, v in kpis.items() if units[k] in targets_mod.NONNEGATIVE_UNITS and v < 0]
    outside = [k for k, v in kpis.items() if units[k] in targets_mod.UNIT_INTERVAL_UNITS and not 0 <= v <= 1]
    assert negative == [] and outside == [], (negative, outside)
    assert targets_mod.UNIT_INTERVAL_UNITS <= targets_mod.NONNEGATIVE_UNITS
    targets_mod.check([targets_mod.Target("wait_mean_days", "<=", 0.0), targets_mod.Target("on_time_resident", ">=", 1.0),
                       targets_mod.Target("resident_satisfaction", "<=", 0.0)], ["wait_mean_days", "on_time_resident",
                                                                                 "resident_satisfaction"])  # fmt: skip


def test_targets_file_expands_roles_and_case_types(tmp_path):
    f = tmp_path / "t.yaml"
    f.write_text("targets: [on_time_resident>=0.9]\nroles: {servers: [queue_wait_hours<=4]}\ncase_types: {job: [type_on_time>=0.8]}\n")
    assert [str(t) for t in targets_mod.load_file(f)] == ["on_time_resident>=0.9", "queue_wait_hours_servers<=4", "type_on_time_job>=0.8"]
    shipped = targets_mod.load_file(ROOT / "experiments/targets/reform_2015.yaml")
    reform = scenario.load(ROOT / "scenarios/reform_2015.yaml")
    targets_mod.check(shipped, kpi_names(reform))  # the shipped file names real KPIs


def test_an_impossible_target_ends_with_one_line_and_exit_2_in_bounded_time(tmp_path, capsys):
    # on time within 0.01 working hours, while handling takes an hour on average: no staffing helps
    t0 = time.perf_counter()
    code = _staff([str(MMC), "--target", "on_time_resident>=1.0", "--roles", "servers", "--replications", "3",
                   "--out", str(tmp_path / "plan"), "--set", "case_types.job.deadline_hours=0.01",
                   "--set", "horizon.days=20", "--set", "horizon.warmup_days=2"])  # fmt: skip
    line = _one_line_error(capsys, code)
    assert "on_time_resident>=1" in line and "not met even with servers=" in line
    assert time.perf_counter() - t0 < 120


# --------------------------------------------------------------------------- resume
def test_a_scenario_edited_during_the_search_stops_it_before_the_next_batch(tmp_path):
    """Each batch read the file again: staffings tried before an edit ran one model, those after it
    another, and the answer compared them (priced from the first)."""
    f = tmp_path / "mmc.yaml"
    f.write_text(MMC.read_text(encoding="utf-8"), encoding="utf-8")
    settings = scenario.load(f, SHORT)
    ev = Evaluator(f, SHORT, ["servers"], [targets_mod.parse("queue_wait_hours_servers<=1")], 1, 2, 2, 0.05,
                   tmp_path / "runs", workers=1, progress=False, settings=settings)  # fmt: skip
    ev._plan([(3,)], 2, ev.seed)  # the file as the search started: a batch is planned
    f.write_text(f.read_text(encoding="utf-8").replace("days: 200", "days: 300"), encoding="utf-8")
    ev._plan([(3,)], 2, ev.seed)  # an edit that --set horizon.days=40 overrides does not change the model
    f.write_text(f.read_text(encoding="utf-8").replace("count: 3", "count: 4"), encoding="utf-8")
    with pytest.raises(scenario.ScenarioError, match="changed during the search"):
        ev._plan([(3,)], 2, ev.seed)
    assert not (tmp_path / "runs" / "parts").exists()  # nothing ran


def test_an_interrupted_search_resumes_and_reuses_finished_runs(tmp_path):
    out = tmp_path / "plan"
    args = [str(MMC), "--target", "queue_waited_share_servers<=0.3", "--roles", "servers", "--replications", "5",
            "--out", str(out), "--quiet", "--workers", "1", *sum((["--set", s] for s in SHORT), [])]  # fmt: skip
    proc = subprocess.Popen([sys.executable, "-m", "sim.cli", "staff", *args], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)  # fmt: skip
    parts = out / "runs" / "parts"
    deadline = time.time() + 120
    while time.time() < deadline and len(list(parts.glob("part-*.parquet"))) < 3:
        time.sleep(0.05)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "run the same command again to resume" in err
    stored = len(list(parts.glob("part-*.parquet")))
    assert 3 <= stored < 10 and not (out / "manifest.json").exists()

    assert main(["staff", *args]) == 0
    m = json.loads((out / "manifest.json").read_text())
    assert m["answer"] == {"servers": 4}
    assert m["simulation_runs"] == 15  # c = 4 and c = 3, 5 replications each, and c = 4 confirmed on 5 more
    (c,) = m["confirmations"]
    assert (c["staffing"], c["status"], c["replications"]) == ({"servers": 4}, "meets", 5)
    assert c["alpha"] == pytest.approx(0.025)
    assert m["simulation_runs_this_call"] == m["simulation_runs"] - stored

    # what `streetsim report` reads: both languages, every table and figure it names exists
    report = json.loads((out / "report.json").read_text(encoding="utf-8"))
    assert set(report["title"]) == {"zh", "en"}
    for sec in report["sections"]:
        assert set(sec["heading"]) == set(sec["text"]) == {"zh", "en"}
        for t in sec["tables"]:  # one table per language: its headers and words differ
            assert set(t["caption"]) == set(t["csv"]) == {"zh", "en"}
            assert all(len((out / t["csv"][lang]).read_text(encoding="utf-8").splitlines()) >= 2 for lang in t["csv"])
        for f in sec["figures"]:
            assert set(f["file"]) == {"zh", "en"} and all((out / f["file"][lang]).stat().st_size > 10_000 for lang in f["file"])
    staffing = _csv(out / "staffing.csv")[0]
    assert staffing["posts"] == 4 and staffing["one_fewer_status"] == "fails"


TINY = [str(MMC), "--target", "queue_waited_share_servers<=0.3", "--roles", "servers", "--replications", "3",
        "--max-replications", "3", "--set", "horizon.days=10", "--set", "horizon.warmup_days=1", "--quiet"]  # fmt: skip


# What the staffing annex's tables say, in each language: headers, then the words in the cells
# (the tiny search's answer meets its target and one server fewer fails it).
REPORT_HEADERS = ("role", "scenario_posts", "erlang_c_guess", "answer_posts", "implied_ratio", "one_fewer",
                  "staffing_option", "target", "mean", "ci95", "decision", "replications")  # fmt: skip
REPORT_CELL_WORDS = ("answer", "decision_met", "decision_failed", "status_fails")
# Latin words a Chinese annex of the tiny search may show: the scenario's own names (mmc, its
# role servers) and the names of methods; everything else is Chinese.
LATIN_IN_ZH = {"mmc", "servers", "Erlang", "C", "Bonferroni", "t"}


def test_a_staffing_folder_makes_a_report_in_both_languages(tmp_path):
    """`streetsim report` on what `staff` wrote: the answer's sections, typeset and read back;
    the Chinese annex has Chinese headers, decisions and figure, the English one English."""
    out = tmp_path / "plan"
    assert main(["staff", *TINY, "--out", str(out), "--workers", "1"]) == 0
    sections = json.loads((out / "report.json").read_text(encoding="utf-8"))["sections"]
    for lang in ("zh", "en"):
        assert main(["report", str(out), "--lang", lang]) == 0
        pdf = out / f"report_{lang}.pdf"
        text = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
        assert all(s["heading"][lang] in text for s in sections), lang
        body = text.split(word("sec_software", lang))[0]  # the command to reproduce is the user's own text
        squashed = "".join(body.split())
        missing = [k for k in (*REPORT_HEADERS, *REPORT_CELL_WORDS) if "".join(word(k, lang).split()) not in squashed]
        assert not missing, (lang, missing)
        assert "".join(word("kind_staffing", lang).split()) in squashed, lang
        svg = (out / f"figures/staffing_search_{lang}.svg").read_text(encoding="utf-8")  # text kept as text
        assert word("answer", lang) in svg and word("status_fails", lang) in svg, lang
        if lang == "zh":
            assert set(re.findall(r"[A-Za-z_]+", body)) <= LATIN_IN_ZH, body
        else:
            assert not re.search(r"[\u4e00-\u9fff]", text), text


def test_runs_of_other_model_code_are_refused_in_one_line_and_left_alone(tmp_path, capsys, monkeypatch):
    """Run ids do not name the model code; the folder's model_code.json does, checked on resume."""
    out = tmp_path / "plan"
    assert main(["staff", *TINY, "--out", str(out), "--workers", "1"]) == 0
    assert json.loads((out / "model_code.json").read_text())["code"] == provenance.code_fingerprint()
    assert json.loads((out / "manifest.json").read_text())["code"] == provenance.code_fingerprint()
    before = {p: p.stat().st_mtime_ns for p in out.rglob("*")}
    monkeypatch.setattr(provenance, "code_fingerprint", lambda: "0000feed0000feed")  # as if the model changed
    capsys.readouterr()
    line = _one_line_error(capsys, main(["staff", *TINY, "--out", str(out), "--workers", "1"]))
    assert line.startswith(f"error: {out}: --out: its stored staffing runs were made by model code"), line
    assert {p: p.stat().st_mtime_ns for p in out.rglob("*")} == before


def test_a_failed_simulation_run_is_one_line_and_the_same_command_runs_it_again(tmp_path, capsys, monkeypatch, tiny_local):
    """A run that raises (a model defect, memory) stops the search with one line, exit 1, not a
    traceback; the run is stored as failed, and the same command runs it again."""
    from sim.sweep import worker

    real = worker.runner.run_replication

    def broken(settings, seed_seq, index=0, keep_cases=True):
        if settings.staffing["servers"].count == 4 and index == 1:  # the pilot runs 3 servers
            raise MemoryError("no room for the case table")
        return real(settings, seed_seq, index, keep_cases)

    monkeypatch.setattr(worker.runner, "run_replication", broken)
    out = tmp_path / "plan"
    capsys.readouterr()
    code = main(["staff", *TINY, "--out", str(out), "--workers", "1"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 1 and len(err) == 1, err
    assert err[0].startswith("error: 1 of ") and "MemoryError: no room for the case table" in err[0], err
    assert "the same command runs them again" in err[0] and not (out / "manifest.json").exists()
    stored = store.read_results(out / "runs")
    assert list(stored["status"]).count("failed") == 1
    monkeypatch.setattr(worker.runner, "run_replication", real)
    assert main(["staff", *TINY, "--out", str(out), "--workers", "1"]) == 0
    m = json.loads((out / "manifest.json").read_text())
    # the failed run ran again; the runs stored whole were reused
    assert m["simulation_runs_this_call"] == m["simulation_runs"] - (len(stored) - 1)
    _same_search(out, tiny_local)

    def pilot_broken(settings, seed_seq, index=0, keep_cases=True):
        raise ValueError("a negative service time")

    monkeypatch.setattr(worker.runner, "run_replication", pilot_broken)
    code = main(["staff", *TINY, "--out", str(tmp_path / "other"), "--workers", "1"])
    err = capsys.readouterr().err.strip().splitlines()
    where = f"test_staffing.py:{pilot_broken.__code__.co_firstlineno + 1}"  # the line that raised
    assert code == 1 and err == ["error: the pilot run of the scenario as written failed: ValueError: a negative "
                                 f"service time ({where})"], err  # fmt: skip


def test_an_output_folder_holding_other_results_is_refused_untouched(tmp_path, capsys):
    out = tmp_path / "run"
    out.mkdir()
    (out / "manifest.json").write_text('{"kind": "run"}')
    (out / "summary.csv").write_text("x\n1\n")
    line = _one_line_error(capsys, _staff([str(MMC), "--target", "queue_waited_share_servers<=0.3", "--roles", "servers", "--out", str(out)]))
    assert "--out" in line
    assert sorted(p.name for p in out.iterdir()) == ["manifest.json", "summary.csv"]


def test_a_damaged_runs_manifest_is_refused_in_one_line_untouched(tmp_path, capsys):
    out = tmp_path / "staff"
    (out / "runs").mkdir(parents=True)
    (out / "runs" / "manifest.json").write_text("[1")  # cut short
    line = _one_line_error(capsys, _staff([str(MMC), "--target", "queue_waited_share_servers<=0.3", "--roles", "servers", "--out", str(out)]))
    assert "--out" in line and "runs" in line
    assert (out / "runs" / "manifest.json").read_text() == "[1" and sorted(p.name for p in out.rglob("*")) == ["manifest.json", "runs"]


@pytest.fixture(scope="module")
def tiny_local(tmp_path_factory):
    """TINY on local processes: the answer every other executor must give."""
    out = tmp_path_factory.mktemp("tiny") / "local"
    assert main(["staff", *TINY, "--out", str(out), "--workers", "1"]) == 0
    return out


def _same_search(out, local, runs_this_call=None):
    """Same answer, same staffings tried with the same decisions and KPI means, each run stored once."""
    got, want = (json.loads((d / "manifest.json").read_text()) for d in (out, local))
    assert got["answer"] == want["answer"] and got["simulation_runs"] == want["simulation_runs"]
    assert _csv(out / "tried.csv") == _csv(local / "tried.csv")
    assert {r["servers"] for r in _csv(out / "tried.csv")} == {3, 4}
    ids = raw_run_ids(out / "runs")
    assert len(ids) == len(set(ids)) == want["simulation_runs"]
    if runs_this_call is not None:
        assert got["simulation_runs_this_call"] == runs_this_call



def test_a_plan_folder_of_another_request_is_said_in_one_line_and_its_runs_reused(tiny_local, tmp_path, capsys, monkeypatch):
    """Before: the earlier plan's answer was replaced without a word when --out held the plan of
    another target (or seed, or scenario); the same request again says nothing."""
    out = tmp_path / "plan"
    shutil.copytree(tiny_local, out)
    capsys.readouterr()
    assert main(["staff", *TINY, "--out", str(out), "--workers", "1"]) == 0
    assert "warning" not in capsys.readouterr().err  # the same request: resumed, nothing to say
    for folder in (MMC.parent, tmp_path):  # the same file named another way, from another folder
        monkeypatch.chdir(folder)
        typed = f"./{MMC.name}" if folder == MMC.parent else os.path.relpath(MMC, folder)
        assert main(["staff", typed, *TINY[1:], "--out", str(out), "--workers", "1"]) == 0
        assert "warning" not in capsys.readouterr().err
    other = [a.replace("<=0.3", "<=0.35") for a in TINY] + ["--seed", "2"]
    assert main(["staff", *other, "--out", str(out), "--workers", "1"]) == 0
    lines = [ln for ln in capsys.readouterr().err.splitlines() if ln.startswith("warning")]
    assert len(lines) == 1 and lines[0].startswith(f"warning: {out} holds the plan of another request (other "
                                                   "targets, seed; made "), lines  # fmt: skip
    assert json.loads((out / "manifest.json").read_text())["targets"][0].endswith("0.35")


def test_a_search_for_another_request_that_stops_leaves_no_answer_of_the_earlier_one(tiny_local, tmp_path, capsys,
                                                                                     monkeypatch):  # fmt: skip
    """The warning said the earlier answer "is replaced", but the files were written only when a
    search ended well: one stopped (Ctrl-C, a failed run, an unreachable target) left the other
    request's staffing.csv and report.json to be read, and reported, as this one's."""
    from sim.staffing import output

    out = tmp_path / "plan"
    shutil.copytree(tiny_local, out)
    written = {str(p.relative_to(out)) for p in out.rglob("*") if p.is_file() and "runs" not in p.parts}
    assert written - {provenance.RECORD} <= set(output.answer_files())  # the list names every answer file

    def stopped(*_a, **_k):
        raise KeyboardInterrupt

    monkeypatch.setattr(search_mod, "search", stopped)
    other = [a.replace("<=0.3", "<=0.35") for a in TINY]
    assert main(["staff", *other, "--out", str(out), "--workers", "1"]) != 0
    assert sorted(p.name for p in out.iterdir()) == sorted([provenance.RECORD, "runs"])
    assert raw_run_ids(out / "runs")  # the stored runs stay for the next search
    monkeypatch.undo()  # and the same command goes on from them (a figures/ folder left made it refuse)
    assert main(["staff", *other, "--out", str(out), "--workers", "1"]) == 0
    assert json.loads((out / "manifest.json").read_text())["targets"][0].endswith("0.35")


def test_a_sweep_into_a_plans_run_store_is_refused_and_the_store_is_left_as_it_was(tiny_local, tmp_path, capsys):
    """`streetsim sweep EXP --out PLAN/runs` was taken as resuming a sweep: it replaced the store's
    design with its own and put its runs among the plan's (one warning line, then it ran)."""
    from test_sweep_helpers import write_experiment

    exp = write_experiment(tmp_path / "exp.yaml", days=5, replications=1)
    # a plan still searching (or stopped) has no manifest.json yet, and before its first run no runs/
    for stage in ("finished", "searching", "before its first run"):
        out = tmp_path / stage.replace(" ", "_")
        shutil.copytree(tiny_local, out)
        if stage != "finished":
            (out / "manifest.json").unlink()
        if stage == "before its first run":
            shutil.rmtree(out / "runs")
        before = {p: p.read_bytes() for p in out.rglob("*") if p.is_file()}
        capsys.readouterr()
        for target in (out / "runs", out / "runs" / "mine"):
            assert main(["sweep", str(exp), "--out", str(target), "--quiet"]) == 2
            err = capsys.readouterr().err.strip()
            assert err == (f"error: --out: {target} is inside {out.resolve()}, a staffing folder whose runs are its "
                           "own; give the sweep a folder of its own (nothing was changed)"), err
        assert {p: p.read_bytes() for p in out.rglob("*") if p.is_file()} == before


def test_the_search_figure_comes_as_png_svg_and_pdf_with_its_text(tiny_local):
    """The search figure was PNG (150 dpi) and SVG only, by a writer of its own; proposals print
    it: it is in the three formats, its legend read back from the PDF, in each language."""
    for lang in ("zh", "en"):
        text = figure_text(tiny_local / "figures", f"staffing_search_{lang}")
        assert word("answer", lang) in text and word("status_fails", lang) in text, lang


# The tiny search's report.json in English as ce39d42 wrote it (the Chinese punctuation changed, not this),
# with the confirmation on fresh replications since.
TINY_REPORT_EN = [
    "mmc: staffing plan",
    "Recommended staffing",
    "Targets: share of jobs that waited, servers ≤ 0.3 (share). servers: 4 (4 posts; the scenario has 3 posts). "
    "Staff cost per year (all roles): 0 yuan. At the answer, every target is met with at least 95% confidence: the "
    "search's choice was confirmed on 3 fresh replications the search never saw (one-sided t bounds, Bonferroni over "
    "1 targets x 1 looks at n = 3; the j-th confirmation at level alpha/2^j, so over the whole search a staffing that "
    "misses a target is given as the answer with probability at most alpha); with one post fewer on any chosen role, "
    "the targets are not shown to be met. In the search every staffing ran on common random numbers.",
    "Staffing and implied ratios",
    "Each target at the answer and with one post fewer (mean, 95% CI)",
    "Cost against each target over the staffings tried (star: the answer)",
    "Method",
    "Method: a first guess per role from queueing theory (Erlang C on the arrival rate, handling time and calendar "
    "measured in a pilot run), then simulation around it on common random numbers, adding replications to each "
    "staffing until each target's one-sided confidence bound decides it; a coordinate search down from the guess, "
    "role by role; the least-cost staffing shown to meet every target, confirmed on fresh replications the search "
    "never used. 2 staffings tried, 9 simulation runs.",
]


def test_the_chinese_report_is_set_with_full_width_punctuation_and_the_english_one_is_unchanged(tiny_local):
    """The plan's Chinese report read 'mmc:编制测算', '目标:servers需排队比例 ≤ 0.3 (比例)。servers:4人(4人;
    情景原为3人)' and '方法:先用排队论(Erlang C)…': ASCII colons, brackets and semicolons in Chinese text,
    the target's unit too in its table. Now full-width, by sim.labels' helpers where they have the words."""
    report = json.loads((tiny_local / "report.json").read_text(encoding="utf-8"))
    targets = pd.read_csv(tiny_local / "report_targets_zh.csv")[word("target", "zh")].tolist()
    zh = [*report_texts(report, "zh"), *targets]
    assert [t for t in zh if ASCII_PUNCTUATION_BY_CJK.search(t)] == []
    assert report["title"]["zh"] == "mmc：编制测算"
    assert report["sections"][0]["text"]["zh"].startswith("目标：servers需排队比例 ≤ 0.3（比例）。servers：4人（4人；情景原为3人）。")
    assert set(targets) == {"servers需排队比例 ≤ 0.3（比例）"}
    assert report["sections"][1]["text"]["zh"].startswith("方法：先用排队论（Erlang C）按试运行")
    assert report_texts(report, "en") == TINY_REPORT_EN

def test_on_a_dask_cluster_the_search_gives_the_same_runs_as_locally_and_resumes(tiny_local, tmp_path):
    """Same seeds, same staffings tried, the same KPI values: the executor does not matter. Once on
    the LocalCluster the executor starts per batch, once on a standing one (--scheduler)."""
    out = tmp_path / "dask"
    assert main(["staff", *TINY, "--out", str(out), "--executor", "dask", "--workers", "2"]) == 0
    _same_search(out, tiny_local)
    from dask.distributed import LocalCluster

    with LocalCluster(n_workers=1, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        cmd = ["staff", *TINY, "--executor", "dask", "--scheduler", cluster.scheduler_address]
        assert main([*cmd, "--out", str(out)]) == 0  # resumed: nothing left to run
        _same_search(out, tiny_local, runs_this_call=0)
        assert main([*cmd, "--out", str(tmp_path / "standing")]) == 0
        _same_search(tmp_path / "standing", tiny_local)
        pids = set(pd.read_parquet(tmp_path / "standing" / "runs" / "parts")["worker_pid"])
        assert pids == {w.pid for w in cluster.workers.values()}  # the standing cluster ran them


def test_slurm_array_shards_called_in_turn_stop_and_resume_batch_by_batch(tiny_local, tmp_path, capsys):
    """Shards that never run at the same time: each stores its share of the first unfinished batch,
    waits --shard-wait for the other's, stops; called again it goes on. Then a call without --shard
    writes the same answer as one process, running nothing."""
    out = tmp_path / "shards"
    said = []
    for call in range(8):
        i = call % 2 + 1
        assert main(["staff", *TINY, "--out", str(out), "--executor", "slurm-array", "--shard", f"{i}/2",
                     "--shard-wait", "1"]) == 0  # fmt: skip
        said.append(capsys.readouterr().out)
        if "the search is complete" in said[-1]:
            break
    assert "stopped: " in said[0] and "not stored by the other shards after 1 s" in said[0], said
    # batch {4}: shard 1, then 2; batch {3}: shard 2, then 1 (the one-fewer is {3}); {4} confirmed: 1, then 2
    assert len(said) == 4, said
    assert not (out / "manifest.json").exists()
    assert main(["staff", *TINY, "--out", str(out), "--workers", "1"]) == 0
    _same_search(out, tiny_local, runs_this_call=0)


def test_a_shard_without_slurm_array_and_slurm_array_without_a_shard_are_one_line(tmp_path, capsys):
    for extra, needle in ((["--shard", "1/2"], "--shard goes with --executor slurm-array"),
                          (["--executor", "slurm-array"], "give --shard I/N"),
                          (["--executor", "slurm-array", "--shard", "3/2"], "between 1 and N")):  # fmt: skip
        assert needle in _one_line_error(capsys, main(["staff", *TINY, "--out", str(tmp_path / "x"), *extra]))
    assert not (tmp_path / "x").exists()


def test_as_a_slurm_array_the_search_gives_the_local_answer(tiny_local, slurm, tmp_path, capsys):
    """One 2-task array does the whole search (the shards wait for each other between batches);
    then a call without --shard writes the answer, running nothing."""
    out = tmp_path / "slurm"
    cmd = shlex.join([str(ROOT / ".venv/bin/streetsim"), "staff", *TINY, "--out", str(out)])
    states, logs = slurm.shards_of(cmd, 2, tmp_path)
    assert {s for s, _ in states.values()} == {"COMPLETED"}, (states, logs)
    assert len(logs) == 2 and all("the search is complete" in log for log in logs), logs
    assert main(["staff", *TINY, "--out", str(out), "--workers", "1"]) == 0
    _same_search(out, tiny_local, runs_this_call=0)
    workers = set(pd.read_parquet(out / "runs" / "parts")["worker"])
    assert len(workers) == 2, workers  # both array tasks ran runs


def test_a_named_pipe_for_a_manifest_is_named_not_waited_on(tmp_path, capsys):
    import os

    out = tmp_path / "staff"
    out.mkdir()
    os.mkfifo(out / "manifest.json")
    line = _one_line_error(capsys, _staff([str(MMC), "--target", "queue_waited_share_servers<=0.3", "--roles", "servers", "--out", str(out)]))
    assert "cannot be read (not a regular file (a named pipe, device or folder))" in line, line


@pytest.mark.parametrize("where", ["", "runs"])
def test_a_manifest_that_cannot_be_read_is_named_as_such(tmp_path, capsys, where):
    """A manifest.json that is a folder (or, for a user who is not root, unreadable) is reported
    as unreadable, not as other results, and left as it was."""
    out = tmp_path / "staff"
    manifest = out / where / "manifest.json"
    manifest.mkdir(parents=True)
    before = sorted(out.rglob("*"))
    line = _one_line_error(capsys, _staff([str(MMC), "--target", "queue_waited_share_servers<=0.3", "--roles", "servers", "--out", str(out)]))
    assert f"{manifest} cannot be read" in line, line
    assert sorted(out.rglob("*")) == before


@pytest.mark.parametrize("n_targets", [2, 20])
def test_the_search_figure_is_drawn_at_the_page_width_and_fits_a_page(n_targets, tmp_path):
    """It was drawn 13.8 in wide (its 8 pt text printed at ~3.7 pt on the page) and grew 3.6 in a
    row of three targets, past a page from ~9 rows. Now: the A4 text width, at most its height,
    every target drawn."""
    from types import SimpleNamespace

    from sim.staffing import output

    kpis = [k for k in kpi_names(scenario.load(TWO_ROLES)) if k.startswith(("wait_", "on_time", "queue_wait_hours"))]
    targets = [targets_mod.Target(kpis[i % len(kpis)], "<=", 1.0 + i) for i in range(n_targets)]
    check = SimpleNamespace(mean=1.0, ci_low=0.8, ci_high=1.2)
    tried = [SimpleNamespace(staffing={"x": k}, status=s, checks={str(t): check for t in targets})
             for k, s in enumerate(["meets", "fails", "undecided"])]
    plan = SimpleNamespace(targets=targets, result=SimpleNamespace(tried=tried, chosen=tried[0]),
                           cost=lambda staffing: (1e5 * staffing["x"], staffing["x"]),
                           settings=SimpleNamespace(name="t"))
    files = output.draw_search(plan, tmp_path, "figures/search", "en")
    svg = (tmp_path / next(f for f in files if f.endswith(".svg"))).read_text(encoding="utf-8")
    width_pt, height_pt = (float(re.search(rf'<svg[^>]*{d}="([\d.]+)pt"', svg).group(1)) for d in ("width", "height"))
    assert width_pt == pytest.approx(160 / 25.4 * 72, abs=0.5)  # A4 less two 25 mm margins
    assert height_pt <= 247 / 25.4 * 72 + 0.5
    assert svg.count("<g id=\"axes_") == n_targets  # none left out
