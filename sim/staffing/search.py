"""Step 3 of the planner: search the staffings around the first guess, role by role.

Targets are taken to improve (weakly) with staff: more staff never makes a wait longer. Under that
assumption the feasible staffings are an upper set, and the search is a coordinate descent on it:

1. Evaluate the first guess. If it does not meet the targets, evaluate a ceiling (four times the
   guess, at least the guess plus 4 and twice the scenario's own staff); a ceiling that fails a target
   means staffing these roles cannot meet it, and the search stops there (bounded time).
2. From the feasible start, for each role in turn, step down (1, 2, 4, ... posts) until a
   staffing fails, then bisect between the last feasible and the first failing count; the role
   keeps the fewest posts that still meet every target. Repeat over the roles until no role can
   lose a post (at most ``MAX_PASSES`` passes).
3. The answer is the least-cost staffing among all those shown to meet the targets, confirmed on
   fresh replications (another seed). The search tests many staffings, several just short of a
   target, and keeps the cheapest that passes: one that passed by luck would be the answer, so the
   search's own runs cannot carry the guarantee (on tests/test_staffing.py's stand-in, an answer
   one post short of the target came out in 105 of 400 searches, against the 5% the level says).
   Each confirmation is one test of one staffing on runs that did not choose it (a seed of its
   own); one that is not confirmed is followed by the same staffing with one post more on each
   role whose own target it missed (every role, for a street-wide target), at most
   ``MAX_CONFIRMATIONS`` in all, the j-th at level alpha / 2**j, so the chance that any staffing
   missing a target is confirmed is at most alpha. For each role, the staffing with one post
   fewer is evaluated too: the nearest cheaper staffing, reported with the target it fails (with
   its confirmation if one was tried; one that met in the search and was never confirmed is
   reported as such, ``unconfirmed``).

The answer is a minimal feasible staffing: no role can lose a post. When each target depends on
one role (queue targets per role, per-role case types), that is the least-cost staffing; when
roles trade off against each other in a shared target, it is least-cost among those tried.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field

from sim.columns import ROLE_KPI_PREFIXES
from sim.staffing.evaluate import FAILS, UNCONFIRMED, Evaluation, Evaluator

MAX_PASSES = 3
MAX_CONFIRMATIONS = 3
CEILING_FACTOR = 4
CEILING_MIN_EXTRA = 4


class Unreachable(Exception):
    """Even the ceiling staffing misses a target: no staffing of these roles meets it."""


class Unconfirmed(Exception):
    """None of the cheapest staffings the search found is confirmed on fresh replications."""


@dataclass
class Result:
    chosen: Evaluation  # on the confirming replications
    cheaper: dict[str, Evaluation | None]  # role -> the chosen staffing with one post fewer there
    tried: list[Evaluation] = field(default_factory=list)
    start: tuple[int, ...] = ()
    ceiling: tuple[int, ...] | None = None
    confirmations: list[Evaluation] = field(default_factory=list)  # in the order tried; the last is chosen


def search(ev: Evaluator, guess: tuple[int, ...], floors: tuple[int, ...], scenario_posts: tuple[int, ...],
           cost) -> Result:  # fmt: skip
    """Least-cost feasible staffing (see the module docstring). ``cost(staffing)`` orders staffings."""
    start = tuple(max(g, f) for g, f in zip(guess, floors))
    ceiling = None
    if not ev.evaluate([start])[0].feasible:
        ceiling = tuple(max(math.ceil(CEILING_FACTOR * g), g + CEILING_MIN_EXTRA, 2 * p) for g, p in zip(start, scenario_posts))
        top = ev.evaluate([ceiling])[0]
        if not top.feasible:
            raise Unreachable(_unreachable(ev, top))
        start = ceiling
    s = start
    hints = tuple(max(g, f) for g, f in zip(guess, floors)) if ceiling is not None else start
    for _ in range(MAX_PASSES):
        before = s
        for i in range(len(s)):
            s = _fewest(ev, s, i, floors[i], hints[i])
        if s == before:
            break
    chosen, confirmations = _confirmed(ev, cost)
    cheaper = {}
    for i, role in enumerate(ev.roles):
        fewer = _with(chosen.staffing, i, chosen.staffing[i] - 1)
        if fewer[i] < floors[i]:
            cheaper[role] = None
        else:  # one that met in the search is reported with the confirmation it failed, or as unconfirmed
            e = ev.confirmed.get(fewer) or ev.evaluate([fewer])[0]
            cheaper[role] = dataclasses.replace(e, status=UNCONFIRMED) if e.feasible else e
    return Result(chosen, cheaper, list(ev.done.values()), start, ceiling, confirmations)


def _confirmed(ev: Evaluator, cost) -> tuple[Evaluation, list[Evaluation]]:
    """The search's cheapest feasible staffing, confirmed on fresh replications (module docstring,
    step 3); if it is not, one post more on every role (better on every target, as targets improve
    with staff), and so on. Returns the confirmed evaluation and every confirmation tried."""
    staffing = min((e.staffing for e in ev.done.values() if e.feasible), key=cost)
    tried = []
    for j in range(1, MAX_CONFIRMATIONS + 1):
        tried.append(ev.confirm(staffing, ev.alpha / 2**j, j))
        if tried[-1].feasible:
            return tried[-1], tried
        staffing = _more_staff(ev, tried[-1])
    raise Unconfirmed(_unconfirmed(ev, tried))


def _more_staff(ev: Evaluator, e: Evaluation) -> tuple[int, ...]:
    """One post more on each role a target not confirmed is about (``queue_wait_hours_R``), or on
    every role if such a target is about none of them (street-wide, per case type)."""
    failing = set(e.failing())
    roles = set()
    for t in ev.targets:
        if str(t) in failing:
            own = {i for i, r in enumerate(ev.roles) if t.kpi in {p + r for p in ROLE_KPI_PREFIXES}}
            if not own:
                return tuple(n + 1 for n in e.staffing)
            roles |= own
    return tuple(n + (i in roles or not roles) for i, n in enumerate(e.staffing))


def _fewest(ev: Evaluator, s: tuple[int, ...], i: int, floor: int, hint: int) -> tuple[int, ...]:
    """Fewest posts for role i (others fixed) that meet the targets, given s meets them. The
    role's own guess (``hint``, when the search started from the ceiling) is tried first: it is
    usually close, and it saves walking down from the ceiling."""
    hi, step, lo = s[i], 1, floor - 1  # hi feasible; lo infeasible or below the floor
    if floor <= hint < hi:
        if ev.evaluate([_with(s, i, hint)])[0].feasible:
            hi = hint
        else:
            lo = hint
            step = hi  # skip the walk: bisect between the guess and the ceiling
    while hi - step >= floor and hi - step > lo:
        cand = hi - step
        if ev.evaluate([_with(s, i, cand)])[0].feasible:
            hi, step = cand, step * 2
        else:
            lo = cand
            break
    else:
        lo = max(lo, floor - 1)
    while hi - lo > 1:  # bisect: lo fails (or is below the floor), hi meets
        mid = (lo + hi) // 2
        if ev.evaluate([_with(s, i, mid)])[0].feasible:
            hi = mid
        else:
            lo = mid
    return _with(s, i, hi)


def _with(s: tuple[int, ...], i: int, value: int) -> tuple[int, ...]:
    return (*s[:i], value, *s[i + 1 :])


def _unconfirmed(ev: Evaluator, tried: list[Evaluation]) -> str:
    where = "; ".join(", ".join(f"{r}={n}" for r, n in zip(ev.roles, e.staffing)) + f" ({', '.join(e.failing())})"
                      for e in tried)
    said = (f"the search's answer and {len(tried) - 1} staffings above it were not confirmed on fresh replications: "
            f"{where}")
    if tried[0].status == FAILS:  # decided against: the search's own runs had passed it by chance
        return (f"{said}: fresh runs failed the search's answer, which its own runs had passed by chance; raise "
                "--replications and --max-replications so that the search decides more surely")  # fmt: skip
    return (f"{said}: the targets lie too close to call at {tried[-1].n} replications; raise --max-replications, "
            "or set targets these roles can clearly reach")


def _unreachable(ev: Evaluator, top: Evaluation) -> str:
    where = ", ".join(f"{r}={n}" for r, n in zip(ev.roles, top.staffing))
    keys = top.failing()
    undecided = all(top.checks[k].decision == "undecided" for k in keys)
    parts = []
    for key in keys:
        c = top.checks[key]
        parts.append(f"{key} (measured {c.mean:.4g}, 95% CI [{c.ci_low:.4g}, {c.ci_high:.4g}], decision bound {c.bound:.4g})")
    verb = "targets" if len(parts) > 1 else "target"
    ceiling = f"{CEILING_FACTOR}x the queueing-theory guess and 2x the scenario's staff, {top.n} replications"
    if undecided:  # at the cap and still too close to call: say so, rather than "cannot"
        return (f"{verb} {' and '.join(parts)} {'are' if len(parts) > 1 else 'is'} not shown to hold even with "
                f"{where} ({ceiling}): these roles bring it at best to about the target; raise --max-replications "
                "to decide, or set a target the roles can clearly reach")  # fmt: skip
    return (f"{verb} {' and '.join(parts)} {'are' if len(parts) > 1 else 'is'} not met even with {where} "
            f"({ceiling}): staffing these roles cannot reach it")  # fmt: skip
