"""Service targets: ``on_time_resident>=0.9``, ``queue_wait_hours_party_workers<=4``.

A target names a KPI column of ``summary.csv`` (checked against the KPIs the scenario reports,
so a typo fails at once), a direction and a bound. A target file lists them per role or per case
type, only to keep them readable::

    targets:
      - on_time_resident>=0.9
      - wait_p90_days<=2
    roles:
      party_workers: [queue_wait_hours<=4]        # -> queue_wait_hours_party_workers<=4
    case_types:
      mediation: [type_on_time>=0.9]              # -> type_on_time_mediation>=0.9
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from pathlib import Path

from sim import scenario as scenario_mod
from sim.columns import ROLE_KPI_PREFIXES, unknown
from sim.labels import UNITS, unit_key
from sim.scenario import ScenarioError

_PATTERN = re.compile(r"^\s*([A-Za-z_][A-Za-z0-9_]*)\s*(>=|<=)\s*([-+0-9.eE]+)\s*$")
TARGET_FILE_KEYS = ("targets", "roles", "case_types")
HAS = f"a targets file has {', '.join(TARGET_FILE_KEYS)}"  # said of a key it has not, or an empty file

# Units (sim.labels.UNITS keys) of KPIs that lie between 0 and 1, and of KPIs that are never
# negative: a target past them is one no staffing meets, and the search would only find that out
# after running the ceiling's staffing. Every KPI unit is never negative (counts, durations, money).
UNIT_INTERVAL_UNITS = frozenset({"share", "score"})
SIGNED_UNITS: frozenset[str] = frozenset()  # a unit of KPIs that may be negative goes here (none yet)
NONNEGATIVE_UNITS = frozenset(UNITS) - SIGNED_UNITS


@dataclass(frozen=True)
class Target:
    kpi: str
    op: str  # ">=" or "<="
    bound: float
    # where it was written, for an error: ("--target", "") or (targets file, key path)
    origin: tuple[str, str] = field(default=("--target", ""), compare=False)

    def __str__(self) -> str:
        """As written: every digit of the bound (not 6 significant ones, which showed 0.5000001 as
        0.5), a whole number without ".0"."""
        bound = repr(self.bound)
        return f"{self.kpi}{self.op}{bound.removesuffix('.0')}"

    def margin(self, value: float) -> float:
        """How far ``value`` is on the good side of the bound (negative: the target fails)."""
        return value - self.bound if self.op == ">=" else self.bound - value


def parse(text: str, file="--target", key="") -> Target:
    m = _PATTERN.match(str(text))
    if not m:
        raise ScenarioError(file, key, f"expected KPI>=VALUE or KPI<=VALUE (e.g. on_time_resident>=0.9), got {text!r}")
    kpi, op, value = m.groups()
    try:
        bound = float(value)
    except ValueError:
        raise ScenarioError(file, key, f"{text!r}: {value!r} is not a number") from None
    if not math.isfinite(bound):
        raise ScenarioError(file, key, f"{text!r}: the bound must be a finite number")
    return Target(kpi, op, bound, (str(file), key))


def load_file(path: str | Path) -> list[Target]:
    """Targets from a YAML file (see the module's docstring)."""
    path = Path(path)
    data = scenario_mod.read_yaml(path, HAS)
    unknown = [k for k in data if k not in TARGET_FILE_KEYS]
    if unknown:
        raise ScenarioError(path, unknown[0], f"unknown key ({HAS})")
    out = [parse(t, path, f"targets[{i}]") for i, t in enumerate(_list(data.get("targets", []), path, "targets"))]
    for group in ("roles", "case_types"):
        entries = data.get(group)
        if entries is None:  # the key given empty: no targets of this kind
            entries = {}
        if not isinstance(entries, dict):  # 0, false or "" was taken for none
            raise ScenarioError(path, group, "must map a name to a list of targets")
        for name, items in entries.items():
            for i, t in enumerate(_list(items, path, f"{group}.{name}")):
                base = parse(t, path, f"{group}.{name}[{i}]")
                out.append(Target(f"{base.kpi}_{name}", base.op, base.bound, base.origin))
    if not out:
        raise ScenarioError(path, "targets", "no targets given")
    return out


def _list(value, path, key) -> list:
    if value is None:
        return []
    if not isinstance(value, list):
        raise ScenarioError(path, key, f"must be a list of targets such as [on_time_resident>=0.9], got {value!r}")
    return value


def check(targets: list[Target], known: list[str], file="--target", unsearched: dict[str, int] | None = None) -> None:
    """Every target names a KPI the scenario reports, each KPI has one target of each form, two
    bounds on one KPI leave room between them, and each bound is one the KPI's unit allows.
    ``unsearched``: the posts of each role the search keeps as the scenario has them (not in --roles).
    An error names where the target was written (--target, or its targets file and key path)."""
    if not targets:
        raise ScenarioError(file, "", "give at least one --target KPI>=VALUE (or --targets FILE)")
    seen: dict[tuple[str, str], Target] = {}
    for t in targets:
        if t.kpi not in known:
            raise _error(t, t.kpi, unknown("KPI", t.kpi, known))
        if (t.kpi, t.op) in seen:
            raise _error(t, t.kpi, f"two targets of the form {t.kpi}{t.op}; give one")
        seen[t.kpi, t.op] = t
        other = seen.get((t.kpi, "<=" if t.op == ">=" else ">="))
        lower, upper = (t, other) if t.op == ">=" else (other, t)
        if other is not None and lower.bound > upper.bound:
            raise _error(t, str(t), f"contradicts {other}: no value of {t.kpi} meets both")
        if other is not None and lower.bound == upper.bound:  # a mean's bound never lands on one value
            raise _error(t, str(t), f"leaves no room beside {other}: no staffing can be shown to meet both")
    for t in targets:  # after the pairs: a pair that contradicts is said as such
        _check_reachable(t)
        _check_helped_by_staff(t, unsearched or {})


def _error(t: Target, key: str, message: str) -> ScenarioError:
    file, where = t.origin
    return ScenarioError(file, where, f"{t}: {message}") if where else ScenarioError(file, key, message)


# KPIs (or role and case-type prefixes) that move one way as staff are added: a target on the
# other side of them (a budget, a floor on utilisation) is met by cutting staff, while the search
# assumes that every target is met from some staffing upwards (sim.staffing.search).
RISE_WITH_STAFF = ("staff_total", "staff_cost_per_year", "total_cost_per_year", "staff_", "on_time_resident",
                   "on_time_standard", "type_on_time_")
FALL_WITH_STAFF = ("wait_mean_days", "wait_p90_days", "queue_wait_hours_", "queue_wait_p90_hours_",
                   "queue_waited_share_", "type_wait_hours_", "type_wait_p90_hours_", "utilisation_",
                   "overtime_hours_")


def _check_helped_by_staff(t: Target, unsearched: dict[str, int]) -> None:
    """Refuse a bound that more staff move a KPI away from: the search would take the staffing
    that meets it for impossible (its ceiling fails it) or pass over the cheap ones that do.

    A role the search does not staff (``unsearched``: its posts) keeps the scenario's posts: a
    bound on them is met, or missed, by every staffing alike (checked here, at once: a met one is
    then decided like any target, exactly, as a count of posts is no sample). A bound on another
    of its KPIs on the side more of its own staff work against is refused as any such bound is:
    the searched roles move that KPI only through the work they pass on or take over (joint cases,
    cases the grid supervisors find), in no direction the search could aim at."""
    role = next((r for r in unsearched for p in ROLE_KPI_PREFIXES if t.kpi == p + r), None)
    if role is not None and posts_of(t, unsearched) == role:
        if t.margin(unsearched[role]) < 0:
            raise _error(t, str(t), f"{role} is not among --roles, so the search keeps its {unsearched[role]} posts as "
                         "the scenario has them: no staffing it tries meets this target; change them in the scenario "
                         f"(--set staffing.{role}...) or add {role} to --roles")  # fmt: skip
        return
    against = "<=" if t.kpi.startswith(RISE_WITH_STAFF) else ">=" if t.kpi.startswith(FALL_WITH_STAFF) else None
    if t.op == against and role is not None:
        raise _error(t, str(t), f"{role} is not among --roles, so the search never changes its posts, and this bound is "
                     f"on the side more {role} staff work against ({'raise' if against == '<=' else 'lower'} {t.kpi}): "
                     "the planner looks for the fewest staff that meet targets more staff help; drop it, or compare the "
                     "answer with it")  # fmt: skip
    if t.op == against:
        moves = "raise" if against == "<=" else "lower"
        raise _error(t, str(t), f"more staff {moves} {t.kpi}, and the planner looks for the fewest staff that meet "
                     "targets more staff help: it cannot search for this bound (a budget, a cap, a floor on how busy "
                     "staff are); give the targets more staff help and compare the answer with this one")


def posts_of(t: Target, roles) -> str | None:
    """The role among ``roles`` whose posts the target bounds (``staff_R``), or None."""
    role = t.kpi.removeprefix("staff_")
    return role if t.kpi.startswith("staff_") and role in roles else None


def _check_reachable(t: Target) -> None:
    """A bound on the far side of what the KPI's unit allows (by its unit key, not the unit's
    word in a language: "score 0–1" is a score's word)."""
    u = unit_key(t.kpi)
    if u in UNIT_INTERVAL_UNITS and ((t.op == ">=" and t.bound > 1) or (t.op == "<=" and t.bound < 0)):
        raise _error(t, str(t), f"a {u} lies between 0 and 1: no staffing can meet this target")
    if u in NONNEGATIVE_UNITS and t.op == "<=" and t.bound < 0:
        raise _error(t, str(t), f"a KPI in {u.replace('_', ' ')} is never negative: no staffing can meet this target")
