"""Workers: Mesa agents that serve a work queue in SimPy time.

A role's staff form a :class:`~sim.teams.Team`; each worker pulls jobs from its line's queue
while on duty (its calendar), does its fixed duties first each working day (investment
promotion, data collection, area patrol), works overtime when the line has been overloaded
for a while, and, day by day, accumulates stress that raises absence and exits
(street-level-bureaucracy behaviour). Hours are booked when they are worked.
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
        self.working = None  # (start, end, {activity: hours}) of the work in hand, booked at its end
        self.hours = {"available": 0.0, "overtime": 0.0}
        self._worked_today = 0.0
        self._waiting = None
        self.process = model.env.process(self.serve())

    def away(self, now) -> bool:
        return self.gone or self.absent_until > now

    # -- the SimPy process ------------------------------------------------------------------
    def serve(self):
        """Serve the line's queue for as long as the worker is employed."""
        env = self.model.env
        calendar = self.calendar
        while not self.gone:
            now = env.now
            wake = self.absent_until if self.absent_until > now else calendar.next_on_duty(now)
            if wake > now:
                try:
                    yield env.timeout(wake - now)
                except simpy.Interrupt:
                    pass  # a call-away that arrived as the last job ended: nothing in hand
                continue
            if self.duties_due:
                activity, hours = self.duties_due.popitem()
                try:
                    yield from self.work({activity: hours})
                except simpy.Interrupt:
                    self.book(until=env.now)  # called away: the rest of today's duty is dropped
                    self.working = None
                continue
            job = self.line.take()
            if job is None:
                job = yield from self.wait_for_work(now)
                if job is None:
                    continue
            if self.away(env.now):  # handed over just as the worker left: it goes back to the line
                self.team.submit(job, self.line)
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
        now = self.model.env.now
        start = self.calendar.next_on_duty(now)
        self.team.record_wait(job, start)
        case = job.case
        if job.patrol is not None:
            grid, share = job.patrol
            job.hours = grid.patrol(self, start, share)
        if job.joint is not None:
            yield from job.joint.join(self, job)
        else:
            if case is not None and case.step == "handle":
                case.handling_hours += job.hours
                if case.handle_started != case.handle_started:  # nan: the first unit to start
                    case.handle_started = start
            try:
                yield from self.work({job.activity: job.hours, "travel": job.travel})
            except simpy.Interrupt:
                self.hand_back(job)
                return
        self.job = None
        if job.done is not None:
            job.done.succeed(self)

    def hand_back(self, job):
        """Called away mid-job (absence, exit): book what was done and put the rest back in the line."""
        now = self.model.env.now
        start, end, _, _ = self.working
        rest = 1.0 - self._share_done(start, end, now)
        self.book(until=now)
        self.working = None
        self.job = None
        job.hours *= rest
        job.travel *= rest
        job.patrol = None  # what the pass had found is filed; the rest is walking time
        self.team.submit(job, self.line)

    def work(self, hours_by_activity):
        """Spend the hours of working time; overtime if the line has been overloaded."""
        env = self.model.env
        start = self.calendar.next_on_duty(env.now)
        total = sum(hours_by_activity.values())
        end, overtime = self.finish_time(start, total)
        self.working = (start, end, hours_by_activity, overtime)
        yield env.timeout(end - env.now)
        self.book()

    def book(self, until=None):
        """Book the work in hand: all of it, or (``until``) the part done by then, keeping the
        rest in hand — so hours fall in the period they were worked (warm-up, horizon)."""
        start, end, by_activity, overtime = self.working
        if until is None or until >= end:
            self.working = None
            self.team.book(by_activity, overtime, 1.0)
            total = sum(by_activity.values())
            self.overtime_today += overtime
            self.hours["overtime"] += overtime
            self._worked_today += total - overtime
            return
        share = self._share_done(start, end, until)
        self.team.book(by_activity, overtime, share)
        rest = 1.0 - share
        self.working = (until, end, {a: h * rest for a, h in by_activity.items()}, overtime * rest)

    def _share_done(self, start, end, until):
        """Share of a piece of work (``start`` to ``end``) done by ``until``, in working time:
        a piece left on Friday evening has done nothing more by Sunday night."""
        cal = self.calendar
        total = cal.working_hours_between(start, end)
        if total <= 0.0:  # all overtime
            return max(0.0, until - start) / (end - start) if end > start else 1.0
        return min(1.0, max(0.0, cal.working_hours_between(start, max(start, until)) / total))

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
        if burnout.enabled:
            u_exit, u_absent = team.day_u[self.slot]
            s = self.stress
            p_exit = (1 - s) * burnout.exit_probability_per_year_base + s * burnout.exit_probability_per_year_at_full_stress
            if u_exit < p_exit / self.calendar.working_days_per_year:
                team.leave(self)
                return
            p_absent = (1 - s) * burnout.absence_probability_base + s * burnout.absence_probability_at_full_stress
            if u_absent < p_absent:
                self.absent_until = (model.day + 1) * 24.0
                team.hours["absent"] += day_hours
                self.call_away()
                return
        self.hours["available"] += day_hours
        team.hours["available"] += day_hours
        self.duties_due = team.duties_for_today(day_hours)
        if self.duties_due:
            self.withdraw()  # an idle worker leaves the queue to do today's fixed duties first

    def withdraw(self):
        """Stop waiting for work (absence, exit, duties): leave the idle queue at once, so no job
        is handed to a worker who is no longer there."""
        handover = self._waiting
        if handover is not None and not handover.triggered:
            self.line.stop_waiting(handover)
            self.process.interrupt()

    def call_away(self):
        """Absence or exit: stop waiting, and hand back work in hand (a joint visit is finished)."""
        if self.working is not None and not (self.job is not None and self.job.joint is not None):
            self.process.interrupt()
        else:
            self.withdraw()

    def leave(self):
        self.gone = True
        self.call_away()


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


class DepartmentOfficer(Worker):
    """An officer of a district department (the capacity it gives this street's class B/C/D work)."""
