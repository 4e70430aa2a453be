"""The street model as the browser view sees it: controls, open cases and daily chart data.

:class:`StreetVizModel` is a :class:`~sim.street.StreetModel` built from a scenario file plus the
page's controls, each control named by the same key path as ``streetsim run --set``. It adds the
map (view state only) and a few daily reporters; the simulation itself is untouched.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import mesa

from sim import scenario as scenario_mod
from sim.agents import EnforcementUnit, GridSupervisor
from sim.street import StreetModel
from sim.viz.space import StreetMap

ACTIVITIES = ("casework", "travel", "devolved_tasks", "investment_promotion", "data_collection")
OPEN_STEPS = ("register", "dispatch", "handle", "close")

# Reform levers shown as checkboxes (key path, label) and the grid-management level as a select.
LEVER_SWITCHES = (
    ("levers.joint_enforcement.enabled", "Joint enforcement"),
    ("levers.responsibility_lists.enabled", "Responsibility lists"),
    ("levers.one_stop_acceptance.enabled", "One-stop acceptance"),
    ("levers.staggered_hours.enabled", "Staggered hours"),
    ("levers.investment_promotion.enabled", "Investment-promotion duty"),
    ("levers.devolved_tasks.gatekeeping", "Devolved-task gatekeeping"),
    ("levers.data_sharing.enabled", "Data sharing"),
)
GRID_LEVEL = "levers.grid_management.level"


class StreetVizModel(StreetModel):
    """A street built from ``scenario_path`` + ``base_overrides`` + the page's controls.

    ``controls`` maps ``--set`` key paths (``staffing.police.per``) to values. Mesa's SolaraViz
    rebuilds the model on Reset by calling this class with the current control values.
    """

    def __init__(self, scenario_path: str = "scenarios/reform_2015.yaml", seed: int = 1,
                 base_overrides: tuple = (), scenario=None, **controls):
        # ``scenario`` is Mesa's own experiment object, which SolaraViz passes on Reset; the
        # street's settings come from the scenario file instead.
        settings = scenario_mod.load(scenario_path, [*base_overrides, *as_overrides(controls)])
        super().__init__(settings, seed)
        self.scenario_path = str(scenario_path)
        self.controls = dict(controls)
        self.map = StreetMap(self, seed)
        self._live = []  # cases not yet evaluated, oldest first
        self._seen = 0  # model.cases[:_seen] have been taken into _live
        self._synced_day = -1
        self.closed_total = self.closed_on_time = 0
        self.satisfaction_sum = 0.0
        self.overdue_open = 0
        reporters = dict(self.datacollector.model_reporters)
        reporters.update(on_time_rate=lambda m: m.sync().on_time_rate(),
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
    def sync(self) -> StreetVizModel:
        """Bring the open-case list, closure counts and patrols up to the current day."""
        if self._synced_day == self.day:
            return self
        self._synced_day = self.day
        now = self.env.now
        fresh = self.cases[self._seen:]
        self._seen = len(self.cases)
        live, overdue = [], 0
        for case in (*self._live, *fresh):
            if case.step == "evaluate":
                self.closed_total += 1
                self.closed_on_time += case.closed <= case.deadline
                self.satisfaction_sum += case.satisfaction
            else:
                live.append(case)
                overdue += case.deadline < now  # NaN (not yet registered) compares False
        self._live, self.overdue_open = live, overdue
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
        return [(t.name, w) for t in self.teams.values() for w in t.workers if isinstance(w, EnforcementUnit)]

    def utilisation(self, team) -> float:
        """Worked hours (overtime excluded) over available hours, since the warm-up ended."""
        h = team.hours
        worked = sum(h.get(a, 0.0) for a in ACTIVITIES) - h.get("overtime", 0.0)
        available = h.get("available", 0.0)
        return worked / available if available else math.nan


def _utilisation_reporter(name):
    return lambda m: m.utilisation(m.teams[name])


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
    """One control of the page, bound to a ``--set`` key path."""

    key: str
    label: str
    type: str  # SliderInt, SliderFloat, Checkbox, Select
    value: object
    min: float | None = None
    max: float | None = None
    step: float | None = None
    values: list | None = None

    def as_param(self) -> dict:
        """The control in the shape of Mesa's ``model_params`` entries."""
        d = {"type": self.type, "value": self.value, "label": self.label}
        for k in ("min", "max", "step", "values"):
            if getattr(self, k) is not None:
                d[k] = getattr(self, k)
        return d


def controls_for(settings) -> list[Control]:
    """Staff sliders for every role and switches for the reform levers of a scenario."""
    out = [_staff_control(name, role, settings.street) for name, role in settings.staffing.items()]
    lv = settings.levers
    for key, label in LEVER_SWITCHES:
        _, lever, field = key.split(".")
        out.append(Control(key, label, "Checkbox", bool(getattr(getattr(lv, lever), field))))
    out.append(Control(GRID_LEVEL, "Grid management level", "Select", lv.grid_management.level,
                       values=["street", "district"]))
    return out


def _staff_control(name, role, street) -> Control:
    lines = role.lines if isinstance(role.lines, int) else getattr(street, role.lines)
    if role.count is not None:
        hi = max(2 * role.count, role.count + 10)
        return Control(f"staffing.{name}.count", f"{name}: staff", "SliderInt", role.count, max(1, lines), hi, 1)
    # A ratio rule: one worker (or ``each``) per ``per`` units of ``of``; fewer units per worker
    # means more staff. The largest ``per`` still leaves one worker per line.
    per, units = role.per, getattr(street, role.of)
    top = per * 4 if lines <= 1 else min(per * 4, role.each * units / lines)
    label = f"{name}: 1 per N {role.of}" if role.each == 1 else f"{name}: {role.each} per N {role.of}"
    if per >= 10:
        step = max(1, round(per / 30))
        return Control(f"staffing.{name}.per", label, "SliderInt", int(per), max(1, round(per / 4)), int(top), step)
    return Control(f"staffing.{name}.per", label, "SliderFloat", float(per), per / 4, max(per, float(top)), per / 4)


def scenario_files(root: str | Path = "scenarios", extra: str | Path | None = None) -> list[str]:
    """Scenario files to choose from: ``scenarios/**/*.yaml``, plus the one given on the command line."""
    found = sorted(str(p) for p in Path(root).rglob("*.yaml")) if Path(root).is_dir() else []
    if extra is not None and str(extra) not in found:
        found.insert(0, str(extra))
    return found
