"""StreetModel: the street's Mesa model, which owns the SimPy environment.

A Mesa ``step()`` is one simulated day: workers make their daily decisions (absence, exits,
duties), the grids' problems and the residents' and organisations' requests of the day are
drawn, patrol passes are planned, then SimPy runs the cases to the end of the day.

Random numbers: every day's arrivals come from a stream keyed to (purpose, day, place), and
each case carries its own uniforms (see :mod:`sim.cases`). Two scenarios run on the same seed
therefore share every arrival and every case attribute their levers do not change, over the
whole horizon, however differently their queues behave.
"""

from __future__ import annotations

import mesa
import numpy as np
import simpy

from sim import demand
from sim.agents import Worker
from sim.agents.residents import build_areas, raise_requests
from sim.calendar import WEEKDAYS, from_spec
from sim.cases import SLOT, STAGE_INDEX, STAGES, Case, CaseLog, duration, generator_of_words
from sim.grids import Grid
from sim.loop import Flow, case_flow
from sim.scenario import Scenario, duty_shares, staff_count
from sim.teams import Job, Team

# Keyed streams by purpose. Appending a purpose keeps the others unchanged.
PURPOSES = ("behaviour", "survey", "grid", "requests", "organisations", "devolved")
POOL_WORDS = 4  # SeedSequence's default pool size, in 32-bit words


def seed_words(x) -> list[int]:
    """The 32-bit words numpy makes of a seed (an int, least significant word first, 0 being one
    word; a sequence, its items' words in turn): ``SeedSequence`` of them as one array is the same."""
    if isinstance(x, (int, np.integer)) and x >= 0:
        x = int(x)
        out = [x & 0xFFFFFFFF]
        while x := x >> 32:
            out.append(x & 0xFFFFFFFF)
        return out
    if isinstance(x, (str, bytes)) or not hasattr(x, "__iter__"):
        raise TypeError(f"a seed is made of non-negative ints, not {x!r}")
    return [w for item in x for w in seed_words(item)]


def stream_words(entropy, spawn_key) -> tuple[int, ...]:
    """The 32-bit words ``SeedSequence(entropy, spawn_key=(*spawn_key, purpose, *key))`` starts with.

    Each int is its words, least significant first (0 is one word); the entropy's words are padded
    with zeros to the pool size, as a spawn key (here never empty: it ends in the purpose) makes
    numpy do. ``SeedSequence`` of the words as one array has the same pool, so a keyed stream is
    built without numpy turning every int into an array first: 9.6 rather than 16 us a stream,
    and a street builds ~23 a day.
    """
    run = seed_words(entropy)
    return (*run, *[0] * (POOL_WORDS - len(run)), *seed_words(spawn_key))


class StreetModel(mesa.Model):
    """One street: its grids, residential areas, staff, and the cases flowing through them."""

    def __init__(self, settings: Scenario, seed: int | np.random.SeedSequence = 0, hourly_stage_samples=False):
        seed_seq = seed if isinstance(seed, np.random.SeedSequence) else np.random.SeedSequence(seed)
        # Built from the SeedSequence's entropy and spawn key rather than by ``spawn()``, which
        # changes the SeedSequence in place: ``compare`` hands one SeedSequence to every scenario.
        entropy, spawn_key = seed_seq.entropy, tuple(seed_seq.spawn_key)
        self._stream_words = stream_words(entropy, spawn_key)
        self.case_seed_root = (*seed_words(int(entropy)), *seed_words(spawn_key))  # a case's key, in words
        super().__init__(rng=self.stream("behaviour"))
        self.settings = settings
        self.env = simpy.Environment()
        self.day = 0
        self.behaviour_rng = self.rng
        self.survey_rng = self.stream("survey")
        self.cases = CaseLog()
        self.orders: list = []  # 12345 work orders raised by escalations: (created, replied, deadline)
        self.closed_count = 0
        self.at_discovery = 0  # surfaced, not yet registering: due later today, or being fixed on the spot
        self.in_stage = dict.fromkeys(STAGES, 0)
        self.stage_area = dict.fromkeys(STAGES, 0.0)  # integral of the count in each stage over time
        self._last_move = 0.0
        self.escalations = 0
        self._build_calendars()
        self._build_teams()
        self._build_street()
        self._mean_trust = settings.behaviour.trust.initial
        self._case_types = list(settings.case_types.items())
        self.grid_case_types = [(n, ct) for n, ct in self._case_types if ct.source == "grid"]
        self.access = demand.access(settings)
        self.hourly_stage_samples = [] if hourly_stage_samples else None
        if hourly_stage_samples:
            self.env.process(self._sample_stages_hourly())
        self.datacollector = mesa.DataCollector(model_reporters=self._daily_reporters())

    def stream(self, purpose: str, *key: int) -> np.random.Generator:
        """The generator for ``purpose`` and ``key`` (a day, a place): the same in every scenario."""
        # the key's parts are days and indexes, Python ints below 2**32 (numpy refuses others here)
        return generator_of_words((*self._stream_words, PURPOSES.index(purpose), *key))

    # -- construction -------------------------------------------------------------------------
    def _build_calendars(self):
        s = self.settings
        start = WEEKDAYS.index(s.horizon.start_weekday)
        self.calendars = {name: from_spec(name, spec.shifts, start) for name, spec in s.calendars.items()}

    def _build_teams(self):
        s = self.settings
        lv = s.levers
        self.teams: dict[str, Team] = {}
        for name, role in s.staffing.items():
            shifts = [self.calendars[role.calendar]]
            if lv.staggered_hours.enabled and name in lv.staggered_hours.roles:
                shifts = [self.calendars[c] for c in lv.staggered_hours.calendars]
            calendar = self.calendars[role.calendar]
            duties = duty_shares(s, name, calendar.hours_per_week)
            self.teams[name] = Team(self, name, role, calendar, shifts, staff_count(role, s.street), duties)
        dv = lv.devolved_tasks
        accepted = dv.accepted_share_with_gatekeeping if dv.gatekeeping else 1.0
        for name, per_week in dv.tasks_per_week.items():
            team = self.teams[name]
            working_days = sum(1 for d in range(7) if team.calendar.hours_on_day(d) > 0)
            team.devolved_per_day = per_week * accepted / max(1, working_days)
        handlers = {r for ct in s.case_types.values() for r in ct.roles}
        self.handling_teams_all = [t for n, t in self.teams.items() if n in handlers]  # where a bounce can land
        self.team_by_kind = {}
        for team in self.teams.values():
            self.team_by_kind.setdefault(team.role.kind, team)

    def _build_street(self):
        st = self.settings.street
        base, extra = divmod(st.residents, st.residential_areas)
        populations = [base + (1 if i < extra else 0) for i in range(st.residential_areas)]
        self.areas, self.residents = build_areas(self, populations, [i % st.grids for i in range(st.residential_areas)])
        # Grid problems are attributed to an area of their grid (any area if the grid has none).
        self.grids = [Grid(self, g, [a for a in self.areas if a.grid == g] or self.areas) for g in range(st.grids)]

    # -- the day ------------------------------------------------------------------------------
    def step(self):
        """One simulated day."""
        day = self.day
        if day == self.settings.horizon.warmup_days and day > 0:
            self._end_warmup()
        burnout = self.settings.behaviour.burnout.enabled
        for i, team in enumerate(self.teams.values()):
            team.hire_due(day)
            # Read once a worker-day, by a worker on duty today (Worker.step); a keyed stream, so
            # a day nobody reads it is skipped without shifting any other draw.
            if burnout and any(c.hours_on_day(day) > 0 for c in team.shifts):
                team.day_u = self.stream("behaviour", day, i).random((team.slots, 2)).tolist()
            else:
                team.day_u = None
        for workers in self._worker_sets():
            workers.shuffle_do("step")
        for team in self.teams.values():
            if team.devolved_per_day > 0 and team.calendar.hours_on_day(day) > 0:
                self.devolve_tasks(team, day)
        self._mean_trust = float(np.mean([a.mean_trust() for a in self.areas]))
        self._grid_problems(day)
        self._resident_requests(day)
        self._organisation_requests(day)
        self.env.run(until=(day + 1) * 24.0)
        self.day += 1
        self.datacollector.collect(self)
        if self.day >= self.settings.horizon.days:
            self.running = False

    def run(self):
        while self.running:
            self.step()
        self.finish()

    def finish(self):
        """Close the books at the horizon: work in hand counts up to now, not to its end."""
        now = self.env.now
        self._move_clock(now)
        for team in self.teams.values():
            for w in team.workers:
                if w.working is not None:
                    w.book(until=now)

    def _worker_sets(self):
        return [agents for cls, agents in self.agents_by_type.items() if issubclass(cls, Worker)]

    def _end_warmup(self):
        now = self.env.now
        for team in self.teams.values():
            for w in team.workers:
                if w.working is not None:
                    w.book(until=now)  # the warm-up's part of work in hand is dropped with the warm-up
            team.hours.clear()
            team.exits = 0

    # -- arrivals -----------------------------------------------------------------------------
    def surface(self, case):
        """A case enters the loop (now or later today, at ``case.discovered``)."""
        self.cases.arrive(case)
        self.at_discovery += 1
        Flow(case_flow(self, case, self.settings.case_types[case.type]))

    def evaluated(self, case):
        """The case's loop is over (its 12345 order, if any, goes on): its record is final."""
        self.cases.evaluated(case)

    def _grid_problems(self, day):
        """Problems arising over each grid today; residents' reports and patrol passes to find them."""
        if not self.grid_case_types:
            return
        rates = np.array([self._daily_rate(ct) for _, ct in self.grid_case_types]) / len(self.grids)
        report_rate = self.settings.loop.discovery.resident_report_per_day / 24.0 * self.trust_factor()
        for grid in self.grids:
            grid.new_day(day, self.stream("grid", day, grid.index), rates, report_rate)
            if np.isfinite(grid.resident_at).any():
                self.env.process(grid.residents_report())
        self._plan_patrols(day)

    def _plan_patrols(self, day):
        """Each supervisor on duty today walks a share of their grid's route, passes spread over the shift."""
        team = self.teams.get(self.settings.loop.close.verify_role) if self.settings.loop.close.verify_role else None
        if team is None or not self.grid_case_types:
            return
        passes = max(1, int(round(self.settings.loop.discovery.patrol_passes_per_day)))
        now = day * 24.0
        for grid in self.grids:
            walkers = [w for w in team.workers if getattr(w, "grid", None) == grid.index and not w.away(now)]
            for j, w in enumerate(walkers):
                shift = self._shift_today(w.calendar, day)
                if shift is None:
                    continue
                start, end = shift
                for k in range(passes):
                    release = start + k * (end - start) / passes
                    job = Job(0.0, "patrol", deadline=release + (end - start) / passes, priority=1)
                    job.patrol = (grid, (j / len(walkers), (j + 1) / len(walkers)))
                    self._release(job, team, w.line, release)

    def _release(self, job, team, line, at):
        if at <= self.env.now:
            team.submit(job, line)
        else:
            self.env.timeout(at - self.env.now).callbacks.append(lambda _e: team.submit(job, line))

    def _resident_requests(self, day):
        for i, (name, ct) in enumerate(self._case_types):
            if ct.source != "residents":
                continue
            rng = self.stream("requests", day, i)
            rate = self._daily_rate(ct) / self.settings.street.residents
            r = raise_requests(rng, day, ct, rate, self.access, self.settings.behaviour.trust, self.residents)
            channels = ct.channels or {"direct": 1.0}
            for t, a, who, row, k in zip(r.times.tolist(), r.areas.tolist(), r.residents.tolist(), r.u.tolist(),
                                         r.candidate.tolist()):  # fmt: skip
                area = self.areas[a]
                channel = self.resident_channel(channels, area, who, row[SLOT["channel"]])
                seed = (*self.case_seed_root, 1, day, i, a, k)
                self.surface(Case(None, name, ct, channel, t, t, a, area.grid, who, row, seed))

    def _organisation_requests(self, day):
        for i, (name, ct) in enumerate(self._case_types):
            if ct.source != "organisations":
                continue
            rng = self.stream("organisations", day, i)
            n = rng.poisson(self._daily_rate(ct))
            times = day * 24.0 + rng.uniform(8.5, 17.0, size=n)
            areas = rng.integers(len(self.areas), size=n)
            u = rng.random((n, len(SLOT)))
            for k, (t, a, row) in enumerate(zip(times.tolist(), areas.tolist(), u.tolist())):
                seed = (*self.case_seed_root, 2, day, i, k)
                self.surface(Case(None, name, ct, "organisation", t, t, a, self.areas[a].grid, -1, row, seed))

    def _daily_rate(self, ct):
        a = ct.arrivals
        if a.per_hour is not None:
            return a.per_hour * 24.0
        if a.per_resident_per_year is not None:
            return a.per_resident_per_year * self.settings.street.residents / 365.0
        return a.per_org_per_year * self.settings.street.two_new_orgs / 365.0

    def resident_channel(self, shares, area, resident, u):
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
        u *= total
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

    def trust_factor(self):
        t = self.settings.behaviour.trust
        if not t.enabled:
            return 1.0
        return max(0.0, 1.0 + t.reporting_elasticity * (self._mean_trust - t.initial))

    def devolve_tasks(self, team, day):
        dv = self.settings.levers.devolved_tasks
        rng = self.stream("devolved", day, list(self.teams).index(team.name))
        n = rng.poisson(team.devolved_per_day)
        lines = rng.integers(len(team.lines), size=n)
        hours = rng.random(n)
        for line, u in zip(lines.tolist(), hours.tolist()):
            team.submit(Job(duration(dv.hours, u), "devolved_tasks", priority=dv.priority,
                            deadline=day * 24.0 + 5 * 24.0), team.lines[line])

    # -- bookkeeping --------------------------------------------------------------------------
    def move(self, case, step):
        """Where each case is: live counts and their time integral (Little's law)."""
        now = self.env.now
        if now > self._last_move:
            self._move_clock(now)
        old = case.step
        if old in STAGE_INDEX:
            self.in_stage[old] -= 1
            case.time_in[STAGE_INDEX[old]] += now - case.entered
        elif old == "discover":
            self.at_discovery -= 1
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

    # -- observation --------------------------------------------------------------------------
    def open_cases(self) -> int:
        """Cases arrived and not yet evaluated, by subtraction (see cases_in_loop for a count)."""
        return len(self.cases) - self.closed_count

    def cases_in_loop(self) -> int:
        """Cases in the loop now, counted where they are: in a stage (the live counts), or waiting
        at discovery. Kept apart from ``len(self.cases)`` and ``closed_count``, so that arrivals
        = evaluations + this is a check (metrics.check_conservation) and not an identity."""
        return self.at_discovery + sum(self.in_stage.values())

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


def _stage_reporter(stage):
    return lambda m: m.in_stage[stage]


def _staff_reporter(name):
    return lambda m: m.teams[name].staff


def _queue_reporter(name):
    return lambda m: m.teams[name].backlog()
