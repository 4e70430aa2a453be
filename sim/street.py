"""StreetModel: the street's Mesa model, which owns the SimPy environment.

A Mesa ``step()`` is one simulated day: workers make their daily decisions (absence, exits,
duties), the day's problems and requests surface, then SimPy runs the cases to the end of the day.
"""

from __future__ import annotations

import mesa
import numpy as np
import simpy

from sim.agents import GridSupervisor, ResidentialArea, Worker
from sim.calendar import WEEKDAYS, Calendar
from sim.cases import STAGE_INDEX, STAGES, Case, Sampler
from sim.grids import Grid
from sim.loop import case_flow
from sim.scenario import Scenario, staff_count
from sim.teams import Job, Team

# Appending a stream keeps the others unchanged (each is child i of the replication's SeedSequence).
STREAMS = ("arrivals", "service", "routing", "behaviour", "survey", "devolved", "discovery")


def rng_streams(seed_seq: np.random.SeedSequence) -> dict[str, np.random.Generator]:
    """Independent generators, one per purpose, so scenarios compared share random numbers.

    The children are built from the SeedSequence's own spawn key rather than by ``spawn()``, which
    would change the SeedSequence in place: the same object must give the same streams every time
    it is used (``compare`` hands one SeedSequence to every scenario).
    """
    children = [
        np.random.SeedSequence(seed_seq.entropy, spawn_key=(*seed_seq.spawn_key, i), pool_size=seed_seq.pool_size)
        for i in range(len(STREAMS))
    ]
    return {name: np.random.default_rng(child) for name, child in zip(STREAMS, children)}


class StreetModel(mesa.Model):
    """One street: its grids, residential areas, staff, and the cases flowing through them."""

    def __init__(self, settings: Scenario, seed: int | np.random.SeedSequence = 0, hourly_stage_samples=False):
        seed_seq = seed if isinstance(seed, np.random.SeedSequence) else np.random.SeedSequence(seed)
        streams = rng_streams(seed_seq)
        super().__init__(rng=streams["behaviour"])
        self.settings = settings
        self.env = simpy.Environment()
        self.day = 0
        self.arrival_rng = streams["arrivals"]
        self.service_rng = streams["service"]
        self.routing_rng = streams["routing"]
        self.behaviour_rng = streams["behaviour"]
        self.survey_rng = streams["survey"]
        self.devolved_rng = streams["devolved"]
        self.discovery_rng = streams["discovery"]
        self.sample = Sampler(self.service_rng)
        self.cases: list[Case] = []
        self.closed_count = 0
        self.in_stage = dict.fromkeys(STAGES, 0)
        self.stage_area = dict.fromkeys(STAGES, 0.0)  # integral of the count in each stage over time
        self._last_move = 0.0
        self.escalations = 0
        self._build_calendars()
        self._build_teams()
        self._build_street()
        self._mean_trust = settings.behaviour.trust.initial
        self._case_types = list(settings.case_types.items())
        self._grid_types = [(i, n, ct) for i, (n, ct) in enumerate(self._case_types) if ct.source == "grid"]
        self.hourly_stage_samples = [] if hourly_stage_samples else None
        if hourly_stage_samples:
            self.env.process(self._sample_stages_hourly())
        self.datacollector = mesa.DataCollector(model_reporters=self._daily_reporters())

    # -- construction -------------------------------------------------------------------------
    def _build_calendars(self):
        s = self.settings
        start = WEEKDAYS.index(s.horizon.start_weekday)
        self.calendars = {
            name: Calendar(name, [([WEEKDAYS.index(d) for d in sh.days], sh.start_hour, sh.end_hour) for sh in spec.shifts], start)
            for name, spec in s.calendars.items()
        }

    def _build_teams(self):
        s = self.settings
        lv = s.levers
        self.teams: dict[str, Team] = {}
        for name, role in s.staffing.items():
            shifts = [self.calendars[role.calendar]]
            if lv.staggered_hours.enabled and name in lv.staggered_hours.roles:
                shifts = [self.calendars[c] for c in lv.staggered_hours.calendars]
            team = Team(self, name, role, self.calendars[role.calendar], shifts, staff_count(role, s.street))
            self.teams[name] = team
        for name in lv.investment_promotion.roles if lv.investment_promotion.enabled else []:
            self.teams[name].duties["investment_promotion"] = lv.investment_promotion.share_of_time
        ds = lv.data_sharing
        weekly = ds.collection_hours_per_worker_per_week_with if ds.enabled else ds.collection_hours_per_worker_per_week_without
        for name in ds.roles:
            team = self.teams[name]
            team.duties["data_collection"] = min(1.0, weekly / team.calendar.hours_per_week)
        dv = lv.devolved_tasks
        accepted = dv.accepted_share_with_gatekeeping if dv.gatekeeping else 1.0
        for name, per_week in dv.tasks_per_week.items():
            team = self.teams[name]
            working_days = sum(1 for d in range(7) if team.calendar.hours_on_day(d) > 0)
            team.devolved_per_day = per_week * accepted / max(1, working_days)
        self.team_by_kind = {}
        for team in self.teams.values():
            self.team_by_kind.setdefault(team.role.kind, team)

    def _build_street(self):
        st = self.settings.street
        self.grids = [Grid(i) for i in range(st.grids)]
        base, extra = divmod(st.residents, st.residential_areas)
        self.areas = [
            ResidentialArea(self, i, base + (1 if i < extra else 0), i % st.grids)
            for i in range(st.residential_areas)
        ]
        # Grid problems are attributed to an area of their grid (any area if the grid has none).
        self.areas_by_grid = [[a for a in self.areas if a.grid == g.index] or self.areas for g in self.grids]

    # -- the day ------------------------------------------------------------------------------
    def step(self):
        """One simulated day."""
        day = self.day
        if day == self.settings.horizon.warmup_days and day > 0:
            self._end_warmup()
        for team in self.teams.values():
            team.hire_due(day)
        for workers in self._worker_sets():
            workers.shuffle_do("step")
        for team in self.teams.values():
            if team.devolved_per_day > 0 and team.calendar.hours_on_day(day) > 0:
                self.devolve_tasks(team, day)
        self._mean_trust = float(np.mean([a.mean_trust() for a in self.areas]))
        self._surface_cases(day)
        self.env.run(until=(day + 1) * 24.0)
        self.day += 1
        self.datacollector.collect(self)
        if self.day >= self.settings.horizon.days:
            self.running = False

    def run(self):
        while self.running:
            self.step()
        self._move_clock(self.env.now)

    def _worker_sets(self):
        return [agents for cls, agents in self.agents_by_type.items() if issubclass(cls, Worker)]

    def _end_warmup(self):
        for team in self.teams.values():
            team.hours.clear()
            team.exits = 0

    # -- arrivals -----------------------------------------------------------------------------
    def _surface_cases(self, day):
        """Start today's cases: grid problems found on patrol or by residents, and requests."""
        found = []  # (discovered, arose, type name, channel, area, grid, resident)
        found += self._grid_discoveries(day)
        found += self._resident_requests(day)
        found += self._organisation_requests(day)
        found.sort(key=lambda f: f[0])
        loop = self.settings.loop
        on_spot_rng = self.routing_rng
        types = self.settings.case_types
        for discovered, arose, tname, channel, area, grid, resident in found:
            ctype = types[tname]
            case = Case(len(self.cases), tname, ctype, channel, arose, discovered, area, grid, resident)
            if channel == "patrol" and ctype.on_spot_fix_share > 0 and loop.close.verify_role:
                case.on_spot = on_spot_rng.random() < ctype.on_spot_fix_share
            self.cases.append(case)
            self.env.process(case_flow(self, case, ctype))

    def _grid_discoveries(self, day):
        grid_types = self._grid_types
        if not grid_types:
            return []
        rng = self.arrival_rng
        n_grids = len(self.grids)
        patrol = self.agents_by_type.get(GridSupervisor, [])
        out = []
        for grid in self.grids:
            times, kinds = [], []
            for i, _, ct in grid_types:
                k = rng.poisson(self._daily_rate(ct) / n_grids)
                times.append(day * 24.0 + rng.uniform(0.0, 24.0, size=k))
                kinds.append(np.full(k, i))
            supervisors = [w for w in patrol if w.grid == grid.index and w.absent_until <= day * 24.0]
            shift = self._shift_today(supervisors[0].calendar, day) if supervisors else None
            arose, found_at, kinds_found, by_patrol = grid.discover(
                self, day, np.concatenate(times), np.concatenate(kinds), len(supervisors), shift
            )
            areas_here = self.areas_by_grid[grid.index]
            for a, f, k, p in zip(arose.tolist(), found_at.tolist(), kinds_found.tolist(), by_patrol.tolist()):
                area = areas_here[int(rng.integers(len(areas_here)))]
                resident = int(rng.integers(area.population))
                channel = "patrol" if p else self._resident_channel({"committee": 1.0, "hotline": 0.0}, area, resident)
                out.append((f, a, self._case_types[k][0], channel, area.index, grid.index, -1 if p else resident))
        return out

    def _resident_requests(self, day):
        out = []
        for name, ct in self._case_types:
            if ct.source != "residents":
                continue
            rate = self._daily_rate(ct) / self.settings.street.residents
            for area in self.areas:
                times, who = area.raise_requests(day, ct, rate)
                for t, r in zip(times.tolist(), who.tolist()):
                    channel = self._resident_channel(ct.channels or {"direct": 1.0}, area, r)
                    out.append((t, t, name, channel, area.index, area.grid, r))
        return out

    def _organisation_requests(self, day):
        out = []
        rng = self.arrival_rng
        for name, ct in self._case_types:
            if ct.source != "organisations":
                continue
            n = rng.poisson(self._daily_rate(ct))
            lo, hi = 8.5, 17.0
            for t in (day * 24.0 + rng.uniform(lo, hi, size=n)).tolist():
                area = int(rng.integers(len(self.areas)))
                out.append((t, t, name, "organisation", area, self.areas[area].grid, -1))
        return out

    def _daily_rate(self, ct):
        a = ct.arrivals
        if a.per_hour is not None:
            return a.per_hour * 24.0
        if a.per_resident_per_year is not None:
            return a.per_resident_per_year * self.settings.street.residents / 365.0
        return a.per_org_per_year * self.settings.street.two_new_orgs / 365.0

    def _resident_channel(self, shares, area, resident):
        """Where a resident takes a request; low trust pushes it to the 12345 hotline."""
        shares = dict(shares)
        if not self.settings.levers.one_stop_acceptance.enabled and "acceptance_centre" in shares:
            shares["committee"] = shares.get("committee", 0.0) + shares.pop("acceptance_centre")
        total = sum(shares.values())
        trust = self.settings.behaviour.trust
        if trust.enabled and "hotline" in shares:
            # A share of the distrustful go straight to the hotline, whatever they would have chosen.
            distrust = trust.hotline_escalation_at_zero_trust * (1.0 - float(area.trust[resident]))
            shares = {k: v * (1 - distrust) for k, v in shares.items()}
            shares["hotline"] += distrust * total
        u = self.routing_rng.random() * total
        for name, weight in shares.items():
            u -= weight
            if u < 0:
                return name
        return name

    def _shift_today(self, calendar, day):
        t = calendar.next_on_duty(day * 24.0)
        if t >= (day + 1) * 24.0:
            return None
        return t, min(calendar.shift_end(t), (day + 1) * 24.0)

    # -- what the loop asks of the street -----------------------------------------------------
    def move(self, case, step):
        """Bookkeeping of where each case is: live counts and their time integral (Little's law)."""
        now = self.env.now
        self._move_clock(now)
        old = case.step
        if old in STAGE_INDEX:
            self.in_stage[old] -= 1
            case.time_in[STAGE_INDEX[old]] += now - case.entered
        if step in STAGE_INDEX:
            self.in_stage[step] += 1
        elif step == "evaluate":
            self.closed_count += 1
        case.step = step
        case.entered = now

    def _move_clock(self, now):
        dt = now - self._last_move
        if dt > 0:
            area = self.stage_area
            for k, v in self.in_stage.items():
                if v:
                    area[k] += v * dt
            self._last_move = now

    def work_on(self, team, case, hours, travel=False):
        """Queue a job for the team's line that serves this case, and wait until it is done."""
        line = team.line_for(case)
        if team.rationing(line):
            hours *= self.settings.behaviour.rationing.handle_time_factor
            case.rationed = True
        job = Job(
            hours, case=case, done=self.env.event(), deadline=case.deadline, priority=case.priority,
            travel=self.sample(team.role.travel) if travel and team.role.travel else 0.0,
        )
        team.submit(job, line)
        yield job.done

    def register_team(self, case):
        kind = {"committee": "committee_worker", "acceptance_centre": "acceptance_clerk"}.get(case.channel)
        if kind in self.team_by_kind:
            return self.team_by_kind[kind]
        if case.channel == "organisation":
            return None
        role = self.settings.loop.registration.role
        return self.teams[role] if role else None

    def deadline_calendar(self, ctype):
        return self.teams[ctype.roles[0]].calendar

    def dispatch_delay_hours(self):
        d = self.settings.loop.dispatch
        return d.street_delay_hours if self.settings.levers.grid_management.level == "street" else d.district_delay_hours

    def section_handoffs(self):
        s = self.settings.levers.sections
        p = min(1.0, max(0, s.count - s.unified_count) * s.handoff_probability_per_extra_section)
        n = 0
        while p > 0 and n < 5 and self.routing_rng.random() < p:
            n += 1
        return n

    def bounces(self, case):
        r = self.settings.levers.responsibility_lists
        p = r.bounce_probability_with_lists if r.enabled else r.bounce_probability_without_lists
        n = 0
        while p > 0 and case.bounces + n < r.max_bounces and self.routing_rng.random() < p:
            n += 1
        return n

    def purchased_service(self, case, ctype):
        ps = self.settings.levers.purchased_services
        return ps.enabled and ctype.category == "service" and self.routing_rng.random() < ps.share_of_service_cases

    def handling_teams(self, case, ctype):
        if ctype.acceptance_centre_item and self.settings.levers.one_stop_acceptance.enabled:
            clerks = self.team_by_kind.get("acceptance_clerk")
            if clerks is not None:
                return [clerks]
        return [self.teams[r] for r in ctype.roles]

    def verify_team(self, ctype):
        role = self.settings.loop.close.verify_role
        return self.teams[role] if role and ctype.verify_on_site else None

    def check_fails(self, case):
        c = self.settings.loop.close
        p = c.fail_probability
        if case.rationed:
            p += self.settings.behaviour.rationing.extra_fail_probability
            case.rationed = False
        return p > 0 and self.routing_rng.random() < p

    def evaluate(self, case):
        """Satisfaction (assumption: 0.9 base, minus lateness, reopens, bounces, escalation)."""
        late = case.closed > case.deadline
        if late and case.resident >= 0:
            trust = self.settings.behaviour.trust
            area = self.areas[case.area]
            if trust.enabled and self.routing_rng.random() < trust.hotline_escalation_at_zero_trust * (1 - area.trust[case.resident]):
                case.escalated = True
                self.escalations += 1
        s = 0.9 - 0.4 * late - 0.15 * min(case.reopens, 3) - 0.05 * min(case.bounces, 5) - 0.1 * case.escalated
        case.satisfaction = min(1.0, max(0.0, s))
        if case.resident >= 0:
            self.areas[case.area].evaluate(case.resident, case.satisfaction)

    def trust_factor(self):
        t = self.settings.behaviour.trust
        if not t.enabled:
            return 1.0
        return max(0.0, 1.0 + t.reporting_elasticity * (self._mean_trust - t.initial))

    def devolve_tasks(self, team, day):
        dv = self.settings.levers.devolved_tasks
        rng = self.devolved_rng
        for _ in range(rng.poisson(team.devolved_per_day)):
            line = team.lines[int(rng.integers(len(team.lines)))]
            team.submit(Job(self.sample(dv.hours), "devolved_tasks", priority=dv.priority,
                            deadline=day * 24.0 + 5 * 24.0), line)

    # -- observation --------------------------------------------------------------------------
    def open_cases(self) -> int:
        return len(self.cases) - self.closed_count

    def _sample_stages_hourly(self):
        while True:
            self.hourly_stage_samples.append((self.env.now, dict(self.in_stage)))
            yield self.env.timeout(1.0)

    def _daily_reporters(self):
        reporters = {
            "day": lambda m: m.day,
            "cases_arrived": lambda m: len(m.cases),
            "cases_closed": lambda m: m.closed_count,
            "open_cases": lambda m: m.open_cases(),
            "undiscovered_problems": lambda m: sum(g.undiscovered for g in m.grids),
            "mean_trust": lambda m: m._mean_trust,
        }
        for stage in STAGES:
            reporters[f"backlog_{stage}"] = _stage_reporter(stage)
        for name in self.teams:
            reporters[f"staff_{name}"] = _staff_reporter(name)
            reporters[f"queue_{name}"] = _queue_reporter(name)
        return reporters


def daily_series_names(settings) -> list[str]:
    """The columns of timeseries.parquet (besides ``replication``), in order."""
    base = ["day", "cases_arrived", "cases_closed", "open_cases", "undiscovered_problems", "mean_trust"]
    stages = [f"backlog_{s}" for s in STAGES]
    roles = [f"{p}{r}" for r in settings.staffing for p in ("staff_", "queue_")]
    return base + stages + roles


def _stage_reporter(stage):
    return lambda m: m.in_stage[stage]


def _staff_reporter(name):
    return lambda m: m.teams[name].staff


def _queue_reporter(name):
    return lambda m: m.teams[name].backlog()



