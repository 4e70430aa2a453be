"""Workers: Mesa agents that serve a work queue in SimPy time.

A role's staff form a :class:`~sim.teams.Team`; each worker pulls jobs from its line's queue
while on duty (its calendar), does its fixed duties first each working day (investment
promotion, data collection), works overtime when the backlog is high, and, day by day,
accumulates stress that raises absence and exits (street-level-bureaucracy behaviour).
"""

from __future__ import annotations

import simpy
from mesa import Agent


class Worker(Agent):
    """One member of staff. Subclasses name the role's kind; the serving is the same."""

    def __init__(self, model, team, line, calendar):
        super().__init__(model)
        self.team = team
        self.line = line
        self.calendar = calendar
        self.gone = False
        self.absent_until = -1.0
        self.stress = 0.0
        self.duties_due: dict[str, float] = {}  # fixed duties left today, hours by activity
        self.overtime_today = 0.0
        self.job = None  # what the worker is doing now (for the map and the charts)
        self.hours = {"available": 0.0, "overtime": 0.0}
        self._worked_today = 0.0
        self._waiting = None
        self.process = model.env.process(self.serve())

    # -- the SimPy process ------------------------------------------------------------------
    def serve(self):
        """Serve the line's queue for as long as the worker is employed."""
        env = self.model.env
        calendar = self.calendar
        while not self.gone:
            now = env.now
            if self.absent_until > now:
                yield env.timeout(self.absent_until - now)
                continue
            on_duty = calendar.next_on_duty(now)
            if on_duty > now:
                yield env.timeout(on_duty - now)
                continue
            if self.duties_due:
                activity, hours = self.duties_due.popitem()
                yield from self.work(hours, activity)
                continue
            job = self.line.take()
            if job is None:
                job = yield from self.wait_for_work(now)
                if job is None:
                    continue
            yield from self.do(job)

    def wait_for_work(self, now):
        """Idle until a job is handed over (or the shift ends, or the worker withdraws)."""
        env = self.model.env
        self._waiting = handover = self.line.wait()
        try:
            if self.team.staggered:
                # Colleagues on other shifts may still be on duty: leave the queue at the end
                # of the shift rather than hold a job overnight.
                yield handover | env.timeout(self.calendar.shift_end(now) - now)
            else:
                # Everyone is off duty together; a job taken after hours starts next shift.
                yield handover
        except simpy.Interrupt:
            pass
        self._waiting = None
        if handover.triggered:
            return handover.value
        self.line.stop_waiting(handover)
        return None

    def do(self, job):
        self.job = job
        case = job.case
        if case is not None and case.step == "handle":
            case.handle_started = self.calendar.next_on_duty(self.model.env.now)
        if job.joint is not None:
            yield from job.joint.join(self, job)
        else:
            yield from self.work(job.hours, job.activity, job.travel)
        self.job = None
        if job.done is not None:
            job.done.succeed(self)

    def work(self, hours, activity, travel=0.0):
        """Spend ``hours`` (+ travel) of working time; overtime if the backlog calls for it."""
        env = self.model.env
        start = self.calendar.next_on_duty(env.now)
        total = hours + travel
        end, overtime = self.finish_time(start, total)
        hours_by = self.team.hours
        hours_by[activity] += hours
        if travel:
            hours_by["travel"] += travel
        if overtime:
            self.overtime_today += overtime
            self.hours["overtime"] += overtime
            hours_by["overtime"] += overtime
        self._worked_today += total - overtime
        yield env.timeout(end - env.now)

    def finish_time(self, start, hours):
        cal = self.calendar
        end = start + hours
        shift_end = cal.shift_end(start)
        if end <= shift_end:
            return end, 0.0
        ot = self.team.overtime_allowance(self)
        if ot > 0 and end <= shift_end + ot:
            return end, end - shift_end
        return cal.add_working_hours(start, hours), 0.0

    # -- the Mesa step: one simulated day -------------------------------------------------------
    def step(self):
        """Start of a day: last day's load becomes stress; decide absence and exit."""
        model = self.model
        team = self.team
        day_hours = self.calendar.hours_on_day(model.day)
        yesterday = self.calendar.hours_on_day(model.day - 1) if model.day else 0.0
        burnout = model.settings.behaviour.burnout
        if burnout.enabled and yesterday > 0:
            load = self._worked_today / yesterday
            if load > burnout.utilisation_threshold:
                self.stress = min(1.0, self.stress + burnout.stress_gain_per_day)
            else:
                self.stress = max(0.0, self.stress - burnout.recovery_per_day)
        self._worked_today = 0.0
        self.overtime_today = 0.0
        if day_hours <= 0:
            return
        rng = model.behaviour_rng
        if burnout.enabled:
            s = self.stress
            p_exit = (1 - s) * burnout.exit_probability_per_year_base + s * burnout.exit_probability_per_year_at_full_stress
            if rng.random() < p_exit / self.calendar.working_days_per_year:
                team.leave(self)
                return
            p_absent = (1 - s) * burnout.absence_probability_base + s * burnout.absence_probability_at_full_stress
            if rng.random() < p_absent:
                self.absent_until = (model.day + 1) * 24.0
                team.hours["absent"] += day_hours
                self.withdraw()
                return
        self.hours["available"] += day_hours
        team.hours["available"] += day_hours
        self.duties_due = team.duties_for_today(day_hours)
        if self.duties_due:
            self.withdraw()  # an idle worker leaves the queue to do today's fixed duties first

    def withdraw(self):
        """Stop waiting for work (absence, exit)."""
        if self._waiting is not None and not self._waiting.triggered:
            self.process.interrupt()  # wait_for_work() leaves the line

    def leave(self):
        self.gone = True
        self.withdraw()


class PlatformOfficer(Worker):
    """Platform information officer: registers and dispatches cases."""


class CommitteeWorker(Worker):
    """Residents' committee member: service requests, mediation, devolved tasks."""


class PartyWorker(Worker):
    """Party-mass worker serving "two new" organisations."""


class CommunityWorker(Worker):
    """Community worker of the comprehensive-governance (public-security) centre."""


class AcceptanceClerk(Worker):
    """Clerk at the one-stop community affairs acceptance centre."""
