"""Workers: Mesa agents that serve a work queue in SimPy time.

A role's staff form a :class:`~sim.teams.Team`; each worker pulls jobs from its line's queue
while on duty (its calendar), does its fixed duties first each working day (investment
promotion, data collection, area patrol), works overtime when the line has been overloaded
for a while, and, day by day, accumulates stress that raises absence and exits
(street-level-bureaucracy behaviour). Hours are booked when they are worked.
"""

from __future__ import annotations

from mesa import Agent
from simpy.events import NORMAL


class Alarm:
    """A worker's wake-up: the least a SimPy event needs to be scheduled and fired (callbacks,
    ``_ok``), without the Timeout object and closure a wait would cost. ``ticket`` tells a
    stale alarm (the worker has since waited for something else) from the current one."""

    __slots__ = ("callbacks", "worker", "ticket", "then")
    _ok = True


def _ring(alarm):
    if alarm.ticket == alarm.worker.timer:
        alarm.then()


class Worker(Agent):
    """One member of staff. Subclasses name the role's kind; the serving is the same.

    A worker is not a SimPy process: it is moved on by the events it schedules itself (the end
    of a piece of work, waking for the next shift), so a job costs one event — its end — and the
    case the job belongs to is continued straight from it.
    """

    def __init__(self, model, team, line, calendar):
        super().__init__(model)
        self.env = model.env
        self.team = team
        self.line = line
        self.calendar = calendar
        self.gone = False
        self.absent_until = -1.0
        self.stress = 0.0
        self.duties_due: dict[str, float] = {}  # fixed duties left today, hours by activity
        self.overtime_today = 0.0
        self.job = None  # what the worker is doing now (for the map and the charts)
        self.working = None  # (start, end, activity, hours, travel, overtime) of the work in hand
        self.hours = {"available": 0.0, "overtime": 0.0}
        self._worked_today = 0.0
        self.idle = False  # waiting in the line's idle queue
        self.timer = 0  # the event the worker waits for; a stale one (numbered lower) is ignored
        self.at(self.env.now, self.next)

    def away(self, now) -> bool:
        return self.gone or self.absent_until > now

    def at(self, t, then):
        """Wait until ``t``, then call ``then`` (a method), unless something else came first."""
        self.timer += 1
        alarm = Alarm()
        alarm.callbacks = [_ring]
        alarm.worker, alarm.ticket, alarm.then = self, self.timer, then
        env = self.env
        delay = t - env.now
        if delay < 0:
            raise ValueError(f"a worker cannot wait until {t}, before now ({env.now})")
        env.schedule(alarm, NORMAL, delay)

    # -- serving the line -------------------------------------------------------------------
    def next(self):
        """Free: wait for the next shift, do today's duties, take the next job, or wait idle."""
        if self.gone:
            return
        now = self.env.now
        wake = self.absent_until if self.absent_until > now else self.calendar.next_on_duty(now)
        if wake > now:
            self.at(wake, self.next)
        elif self.duties_due:
            activity, hours = self.duties_due.popitem()
            self.work(activity, hours, 0.0, now)
        else:
            job = self.line.take()
            if job is None:
                self.wait_for_work(now)
            else:
                self.do(job, now)  # on duty now: the job starts now

    def wait_for_work(self, now):
        """Idle until a job is handed over (or, with staggered hours, the shift ends)."""
        self.idle = True
        self.line.idle.append(self)
        if self.team.staggered:
            # Colleagues on other shifts may still be on duty: leave the queue at the end of the
            # shift rather than hold a job overnight. (Without staggered hours everyone is off
            # duty together, and a job handed over after hours starts next shift.)
            self.at(self.calendar.shift_end(now), self.end_of_shift)
        else:
            self.timer += 1

    def end_of_shift(self):
        self.stop_waiting()
        self.next()

    def stop_waiting(self):
        if self.idle:
            self.idle = False
            self.line.idle.remove(self)
            self.timer += 1

    def handed(self, job):
        """The line hands a job straight to this idle worker."""
        self.idle = False
        self.do(job)

    def do(self, job, start=None):
        """Start on the job at ``start`` (by default, now or when the worker's next shift starts)."""
        self.job = job
        if start is None:
            start = self.calendar.next_on_duty(self.env.now)
        case = job.case
        if case is not None:
            self.team.record_wait(job, start)
        if job.patrol is not None:
            grid, share = job.patrol
            job.hours = grid.patrol(self, start, share)
        if job.joint is not None:
            self.timer += 1
            job.joint.join(self, job)
            return
        if case is not None and case.step == "handle":
            case.handling_hours += job.hours
            if case.handle_started != case.handle_started:  # nan: the first unit to start
                case.handle_started = start
        self.work(job.activity, job.hours, job.travel, start)

    def work(self, activity, hours, travel, start):
        """Spend ``hours`` on ``activity`` and ``travel`` hours getting there, from ``start``;
        overtime if the line has been overloaded."""
        end, overtime = self.finish_time(start, hours + travel)
        self.working = (start, end, activity, hours, travel, overtime)
        self.at(end, self.finished)

    def finished(self):
        """The work in hand is done: book it, move on, and let the case go on to its next step."""
        self.book()
        job, self.job = self.job, None
        self.next()
        if job is not None and job.done is not None:
            job.done(self)

    def call_away(self):
        """Absence or exit: stop waiting, and hand back work in hand (a joint visit is finished)."""
        if self.job is not None and self.job.joint is not None:
            return
        if self.working is not None:
            self.timer += 1  # the end of the work in hand will not come
            if self.job is None:  # a fixed duty: the rest of today's is dropped
                self.book(until=self.env.now)
                self.working = None
            else:
                self.hand_back(self.job)
        elif self.idle:
            self.stop_waiting()
        else:
            return  # asleep until its next shift: it finds itself away when it wakes
        self.next()

    def hand_back(self, job):
        """Called away mid-job (absence, exit): book what was done and put the rest back in the line."""
        now = self.env.now
        start, end = self.working[:2]
        rest = 1.0 - self._share_done(start, end, now)
        self.book(until=now)
        self.working = None
        self.job = None
        case = job.case
        if case is not None and case.step == "handle":  # do() counted it all; the rest is counted when taken up
            case.handling_hours -= job.hours * rest
        job.hours *= rest
        job.travel *= rest
        job.patrol = None  # what the pass had found is filed; the rest is walking time
        self.team.submit(job, self.line)

    def book(self, until=None):
        """Book the work in hand: all of it, or (``until``) the part done by then, keeping the
        rest in hand — so hours fall in the period they were worked (warm-up, horizon)."""
        start, end, activity, hours, travel, overtime = self.working
        if until is None or until >= end:
            self.working = None
            self.team.book(activity, hours, travel, overtime)
            self.overtime_today += overtime
            self.hours["overtime"] += overtime
            self._worked_today += hours + travel - overtime
            return
        share = self._share_done(start, end, until)
        if share > 0.0:
            self.team.book(activity, hours * share, travel * share, overtime * share)
        rest = 1.0 - share
        self.working = (until, end, activity, hours * rest, travel * rest, overtime * rest)

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
        """Stop waiting for work to do today's fixed duties first."""
        if self.idle:
            self.stop_waiting()
            self.next()

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
