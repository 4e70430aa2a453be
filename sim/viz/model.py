"""The street model as the browser view sees it: controls, open cases and daily chart data.

:class:`StreetVizModel` is a :class:`~sim.street.StreetModel` built from a scenario file plus the
page's controls, each control named by the same key path as ``streetsim run --set``. It adds the
map (view state only) and a few daily reporters; the simulation itself is untouched.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

import mesa

from sim import district as district_mod
from sim import scenario as scenario_mod
from sim.agents import EnforcementUnit, GridSupervisor
from sim.scenario import ScenarioError
from sim.street import StreetModel
from sim.teams import ACTIVITIES
from sim.viz.space import StreetMap

OPEN_STEPS = ("register", "dispatch", "handle", "close")

# Reform levers shown as switches: key path -> label key in sim.labels; and the grid level.
LEVER_SWITCHES = (
    ("levers.joint_enforcement.enabled", "lever_joint_enforcement"),
    ("levers.responsibility_lists.enabled", "lever_responsibility_lists"),
    ("levers.one_stop_acceptance.enabled", "lever_one_stop_acceptance"),
    ("levers.staggered_hours.enabled", "lever_staggered_hours"),
    ("levers.investment_promotion.enabled", "lever_investment_promotion"),
    ("levers.devolved_tasks.gatekeeping", "lever_devolved_gatekeeping"),
    ("levers.data_sharing.enabled", "lever_data_sharing"),
    ("levers.purchased_services.enabled", "lever_purchased_services"),
)
GRID_LEVEL = "levers.grid_management.level"
DISTRICT_MARK = " :: "  # "district.yaml :: street" names one street of a district file


class StreetVizModel(StreetModel):
    """A street built from ``scenario_path`` + ``base_overrides`` + the page's controls.

    ``scenario_path`` is a scenario file or ``district.yaml :: street``; ``controls`` maps
    ``--set`` key paths (``staffing.police.per``) to values. The page's Reset builds a new one
    from the controls that differ from the scenario.
    """

    def __init__(self, scenario_path: str = "scenarios/reform_2015.yaml", seed: int = 1,
                 base_overrides: tuple = (), **controls):
        settings = load_settings(scenario_path, [*base_overrides, *as_overrides(controls)])
        super().__init__(settings, seed)
        self.scenario_path = str(scenario_path)
        self.controls = dict(controls)
        self.map = StreetMap(self, seed)
        self._live = []  # cases not yet evaluated, oldest first (as of the last sync)
        self._synced_day = -1
        self.closed_total = self.closed_on_time = 0
        self.satisfaction_sum = 0.0
        self.overdue_open = 0
        self.resident = ResidentTally()
        reporters = dict(self.datacollector.model_reporters)
        reporters.update(on_time_rate=lambda m: m.sync().on_time_rate(),
                         on_time_resident=lambda m: m.sync().resident.on_time_share(),
                         wait_mean_days=lambda m: m.sync().resident.mean_wait_days(),
                         resident_satisfaction=lambda m: m.sync().mean_satisfaction())
        for name in self.teams:
            reporters[f"utilisation_{name}"] = _utilisation_reporter(name)
        self.datacollector = mesa.DataCollector(model_reporters=reporters)
        self.datacollector.collect(self)  # day 0, so the charts start from the empty street

    def step(self):
        """One simulated day, then the view's bookkeeping (open cases, patrols)."""
        super().step()
        self.sync()

    # -- bookkeeping: O(1) per case and day while it is open -----------------------------------
    def evaluated(self, case):
        """A case's loop is over: it counts in the closure charts."""
        self.closed_total += 1
        self.closed_on_time += case.closed <= case.deadline
        self.satisfaction_sum += case.satisfaction
        self.resident.closed(case)
        super().evaluated(case)

    def sync(self) -> StreetVizModel:
        """Bring the open-case list and patrols up to the current day."""
        if self._synced_day == self.day:
            return self
        self._synced_day = self.day
        now = self.env.now
        self._live = list(self.cases.open.values())
        self.overdue_open = sum(c.deadline < now for c in self._live)  # NaN (not yet registered) compares False
        self.resident.late_open = sum(resident_late(c, now) for c in self._live)
        self.map.move_patrols(self.supervisors())
        return self

    def open_cases_now(self):
        """Cases surfaced and not yet closed: (case, overdue) pairs."""
        now = self.sync().env.now
        return [(c, c.deadline < now) for c in self._live if c.step in OPEN_STEPS and c.discovered <= now]

    def on_time_rate(self) -> float:
        """Closed on time over cases whose fate is known (closed, or open past the deadline)."""
        decided = self.closed_total + self.overdue_open
        return self.closed_on_time / decided if decided else math.nan

    def mean_satisfaction(self) -> float:
        return self.satisfaction_sum / self.closed_total if self.closed_total else math.nan

    # -- who is where ---------------------------------------------------------------------------
    def supervisors(self):
        return [w for t in self.teams.values() for w in t.workers if isinstance(w, GridSupervisor)]

    def enforcement_units(self):
        """(team name, officer's place in the team, team size, officer) of every enforcement officer."""
        out = []
        for t in self.teams.values():
            officers = [w for w in t.workers if isinstance(w, EnforcementUnit)]
            out += [(t.name, i, len(officers), w) for i, w in enumerate(officers)]
        return out

    def busiest_role(self) -> tuple[str | None, float]:
        """The role with the highest utilisation so far, and that utilisation."""
        found = [(u, name) for name, team in self.teams.items() if not math.isnan(u := self.utilisation(team))]
        if not found:
            return None, math.nan
        u, name = max(found)
        return name, u

    def cost_per_year(self) -> float:
        """Staff posts times their yearly cost, plus purchased services when bought (yuan a year)."""
        ps = self.settings.levers.purchased_services
        staff = sum(team.posts * team.role.cost_per_year for team in self.teams.values())
        return staff + (ps.cost_per_year if ps.enabled else 0.0)

    def card_values(self) -> dict[str, float]:
        """The headline KPIs the page shows on its cards, live, keyed by KPI name."""
        self.sync()
        busiest, busiest_u = self.busiest_role()
        return {
            "day": self.day,
            "open_cases": len(self.open_cases_now()),
            "on_time_resident": self.resident.on_time_share(),
            "wait_mean_days": self.resident.mean_wait_days(),
            "busiest_utilisation": busiest_u,
            "busiest_role": busiest,
            "total_cost_per_year": self.cost_per_year(),
        }

    def utilisation(self, team) -> float:
        """Worked hours (overtime excluded) over available hours, as sim.metrics counts them: from
        day 0, and afresh from the end of the warm-up."""
        h = team.hours
        worked = sum(h.get(a, 0.0) for a in ACTIVITIES) - h.get("overtime", 0.0)
        available = h.get("available", 0.0)
        return worked / available if available else math.nan


# ------------------------------------------------------------- resident KPIs, live, case by case
def resident_late(case, now: float) -> bool:
    """Open, and already past the deadline as residents count it (NaN: not yet registered)."""
    return case.resident_deadline <= now


class ResidentTally:
    """On time and wait as residents see them, counted live as cases close.

    The same definitions as ``sim.metrics.case_kpis`` (``on_time_resident``, ``wait_mean_days``):
    really fixed within the standard's allowance counted from when the problem arose, among
    cases whose fate is known; waits from arising to the real fix. Counted here day by day (the
    model computes them from the case table at the end of a run), over every case so far.
    """

    def __init__(self):
        self.closed_n = self.closed_on_time = 0
        self.wait_hours = 0.0
        self.late_open = 0

    def closed(self, case):
        self.closed_n += 1
        self.closed_on_time += case.fixed <= case.resident_deadline
        self.wait_hours += case.fixed - case.arose

    def on_time_share(self) -> float:
        decided = self.closed_n + self.late_open
        return self.closed_on_time / decided if decided else math.nan

    def mean_wait_days(self) -> float:
        return self.wait_hours / self.closed_n / 24.0 if self.closed_n else math.nan


def _utilisation_reporter(name):
    return lambda m: m.utilisation(m.teams[name])


# ---------------------------------------------------------------------------------- scenarios
def load_settings(source: str, overrides: list[str]):
    """A street's settings: a scenario file, or ``district.yaml :: street`` for one district street."""
    if DISTRICT_MARK in source:
        path, street = source.split(DISTRICT_MARK, 1)
        _, streets = district_mod.load(path, overrides)
        if street not in streets:
            raise ScenarioError(path, "streets", f"no street named {street!r}")
        return streets[street]
    return scenario_mod.load(source, overrides)


def viewable_sources(root: str | Path = "scenarios", extra: str | None = None) -> list[str]:
    """What the page offers: street scenarios directly in ``root`` that load, and each street of a
    district file there. Sub-folders (``validation/``: reductions for tests) are not offered."""
    found = [s for path in sorted(Path(root).glob("*.yaml")) for s in _streets_in(str(path))]
    first = _streets_in(extra) if extra else []
    return first + [s for s in found if s not in first]


def _streets_in(path: str) -> list[str]:
    """The viewable streets of one file ([] if it does not load)."""
    if DISTRICT_MARK in path:
        return [path]
    try:
        if district_mod.is_district_file(path):
            _, streets = district_mod.load(path)
            return [f"{path}{DISTRICT_MARK}{name}" for name in streets]
        scenario_mod.load(path)
    except (ScenarioError, OSError, ValueError):
        return []
    return [path]


# ---------------------------------------------------------------------------------- controls
def as_overrides(controls: dict) -> list[str]:
    """``{"levers.x.enabled": True}`` -> ``["levers.x.enabled=true"]`` (values read back as YAML)."""
    out = []
    for key, value in controls.items():
        if isinstance(value, bool):
            value = "true" if value else "false"
        elif isinstance(value, float) and value.is_integer():
            value = int(value)
        out.append(f"{key}={value}")
    return out


@dataclass
class Control:
    """One control of the page, bound to a ``--set`` key path.

    ``kind`` is ``count`` (staff), ``per`` (one worker, or ``each``, per N units of ``of``),
    ``each`` (N workers per unit of ``of``), ``switch`` (a lever) or ``choice`` (grid level).
    Sliders move over ``values``, which always hold the scenario's own value exactly.
    """

    key: str
    kind: str
    value: object
    values: list = field(default_factory=list)
    role: str = ""
    of: str = ""
    each: int = 1
    per: float = 1.0
    label_key: str = ""

    def staff(self, street, value) -> int:
        """Staff the role gets at ``value`` of this control."""
        if self.kind == "count":
            return int(value)
        per, each = (value, self.each) if self.kind == "per" else (self.per, value)
        return max(1, each * math.ceil(getattr(street, self.of) / per - 1e-9))


NICE = (1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6, 7.5, 8)  # steps of a ratio ladder within each power of ten


def controls_for(settings) -> list[Control]:
    """Staff sliders for every role and switches for the reform levers of a scenario."""
    out = [_staff_control(name, role, settings.street) for name, role in settings.staffing.items()]
    lv = settings.levers
    for key, label_key in LEVER_SWITCHES:
        _, lever, attr = key.split(".")
        out.append(Control(key, "switch", bool(getattr(getattr(lv, lever), attr)), label_key=label_key))
    out.append(Control(GRID_LEVEL, "choice", lv.grid_management.level, ["street", "district"], label_key="grid_management_level"))
    return out


def _staff_control(name, role, street) -> Control:
    lines = role.lines if isinstance(role.lines, int) else getattr(street, role.lines)
    if role.count is not None:
        hi = max(2 * role.count, role.count + 10)
        return Control(f"staffing.{name}.count", "count", role.count, list(range(max(1, lines), hi + 1)), role=name)
    if role.per == 1:  # "7 per residential area": the slider moves the number per unit
        lo = max(1, math.ceil(lines / getattr(street, role.of)))
        hi = max(2 * role.each, role.each + 5)
        return Control(f"staffing.{name}.each", "each", role.each, list(range(lo, hi + 1)), role=name, of=role.of, per=1)
    # "1 per 150 organisations": a ladder of round ratios from a quarter to four times the
    # scenario's, the scenario's own included, keeping at least one worker per line.
    c = Control(f"staffing.{name}.per", "per", _plain(role.per), role=name, of=role.of, each=role.each, per=role.per)
    ladder = {_plain(role.per)}
    for exp in range(-2, 8):
        for nice in NICE:
            v = _plain(round(nice * 10**exp, 6))
            if role.per / 4 <= v <= role.per * 4 and c.staff(street, v) >= lines:
                ladder.add(v)
    c.values = sorted(ladder)
    return c


def _plain(x: float):
    """150.0 -> 150 (so the slider reads and sets ``per: 150`` as the file wrote it)."""
    return int(x) if float(x).is_integer() else float(x)
