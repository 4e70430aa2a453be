"""Teams: a role's staff, its lines (queues), jobs and joint handling.

A team is staffed by count or ratio rule. Its staff are split into ``lines`` — one pooled queue,
or separate queues such as the 11 security lines before the reform or one committee per
residential area. Each line is a queue ordered by the team's triage policy (FIFO, priority, earliest deadline).
"""

from __future__ import annotations

import heapq
import itertools
from collections import defaultdict, deque

ACTIVITIES = ("casework", "travel", "devolved_tasks", "investment_promotion", "data_collection")


class Job:
    """A piece of work for one worker: a case step, a devolved task, ..."""

    __slots__ = ("case", "hours", "travel", "activity", "done", "joint", "deadline", "priority")

    def __init__(self, hours, activity="casework", case=None, done=None, travel=0.0,
                 deadline=float("inf"), priority=1):
        self.case = case
        self.hours = hours
        self.travel = travel
        self.activity = activity
        self.done = done
        self.joint = None
        self.deadline = deadline
        self.priority = priority


class Line:
    """One queue of a team and the workers who serve it.

    Jobs wait in a heap ordered by the team's triage key; a job that arrives while a worker is
    idle is handed straight to the longest-idle worker. A busy worker takes its next job without
    a SimPy event, so a case step costs two events (the work, and the case resuming).
    """

    def __init__(self, env, index):
        self.env = env
        self.index = index
        self.jobs = []  # heap of (key, job); keys are unique, so jobs are never compared
        self.idle = deque()  # hand-over events of idle workers, longest idle first
        self.workers = []

    def __len__(self):
        return len(self.jobs)

    def put(self, key, job):
        if self.idle:
            self.idle.popleft().succeed(job)
        else:
            heapq.heappush(self.jobs, (key, job))

    def take(self):
        return heapq.heappop(self.jobs)[1] if self.jobs else None

    def wait(self):
        handover = self.env.event()
        self.idle.append(handover)
        return handover

    def stop_waiting(self, handover):
        self.idle.remove(handover)


class Team:
    """The staff of one role."""

    def __init__(self, model, name, role, calendar, shifts, staff):
        self.model = model
        self.name = name
        self.role = role
        self.calendar = calendar  # the office calendar: deadlines and dispatch count its hours
        self.shifts = shifts  # calendars the staff take turns on (one, or staggered hours)
        self.staggered = len(shifts) > 1
        self.hours = defaultdict(float)  # hours by activity, plus available, absent, overtime
        self._seq = itertools.count()
        self.hires_total = 0
        n_lines = role.lines if isinstance(role.lines, int) else getattr(model.settings.street, role.lines)
        self.lines = [Line(model.env, i) for i in range(n_lines)]
        self.workers = []
        self.posts = staff  # established posts; exits leave them vacant until a hire
        self.exits = 0
        self.hires = 0
        self._hiring = []  # (day the new worker starts, line)
        self.duties = {}  # activity -> hours per working hour (fixed duties)
        self.devolved_per_day = 0.0
        self._key = {"fifo": self._fifo_key, "priority": self._priority_key, "deadline": self._deadline_key}[role.triage]
        for i in range(staff):
            self.hire(self.lines[i % n_lines])

    # -- staff ------------------------------------------------------------------------------
    def hire(self, line):
        from sim.agents import AGENT_CLASSES

        calendar = self.shifts[self.hires_total % len(self.shifts)]
        self.hires_total += 1
        worker = AGENT_CLASSES[self.role.kind](self.model, self, line, calendar)
        line.workers.append(worker)
        self.workers.append(worker)
        return worker

    def leave(self, worker):
        """A worker exits; the post is refilled after the hiring delay (if hiring is on)."""
        worker.leave()
        worker.line.workers.remove(worker)
        self.workers.remove(worker)
        worker.remove()
        self.exits += 1
        hiring = self.model.settings.behaviour.hiring
        if hiring.cover_last_post and not worker.line.workers:
            self.hire(worker.line)  # a desk is never left empty for the whole hiring delay
            self.hires += 1
        elif hiring.enabled:
            self._hiring.append((self.model.day + hiring.delay_days, worker.line))

    def hire_due(self, day):
        """New staff whose hiring delay ends today."""
        if self._hiring:
            due = [h for h in self._hiring if h[0] <= day]
            self._hiring = [h for h in self._hiring if h[0] > day]
            for _, line in due:
                self.hire(line)
                self.hires += 1

    @property
    def staff(self):
        return len(self.workers)

    # -- queues -----------------------------------------------------------------------------
    def line_for(self, case):
        lines = self.lines
        if len(lines) == 1:
            return lines[0]
        kind = self.role.lines
        if kind == "residential_areas":
            return lines[case.area % len(lines)]
        if kind == "grids":
            return lines[case.grid % len(lines)]
        return lines[case.id % len(lines)]  # separate lines: each case belongs to one line

    def submit(self, job, line):
        line.put(self._key(job), job)
        return job

    def _fifo_key(self, job):
        return next(self._seq)

    def _priority_key(self, job):
        return (job.priority, next(self._seq))

    def _deadline_key(self, job):
        return (job.deadline, next(self._seq))

    def backlog(self):
        return sum(len(line) for line in self.lines)

    def backlog_per_worker(self, line):
        return len(line) / max(1, len(line.workers))

    # -- time -------------------------------------------------------------------------------
    def duties_for_today(self, day_hours):
        return {a: share * day_hours for a, share in self.duties.items() if share > 0}

    def overtime_allowance(self, worker):
        ot = self.model.settings.behaviour.overtime
        if not ot.enabled or self.backlog_per_worker(worker.line) <= ot.backlog_per_worker_threshold:
            return 0.0
        return max(0.0, ot.max_hours_per_day - worker.overtime_today)

    def rationing(self, line):
        """Under overload, handling is cut short (and more closures fail the site check)."""
        r = self.model.settings.behaviour.rationing
        return r.enabled and self.backlog_per_worker(line) > r.backlog_per_worker_threshold


class JointHandling:
    """Several units handle a case together: all must be present before work starts.

    Units are requested one role after another in a fixed order, each holding its place until
    the next arrives; the fixed order means no two joint cases can wait on each other.
    """

    def __init__(self, env, hours, calendar, travel=0.0):
        self.env = env
        self.hours = hours
        self.travel = travel  # the units go to the site together
        self.calendar = calendar
        self.arrived = None
        self.start = env.event()

    def join(self, worker, job):
        self.arrived.succeed(worker)
        yield self.start
        env = self.env
        end = self.calendar.add_working_hours(self.calendar.next_on_duty(env.now), self.hours + self.travel)
        hours = worker.team.hours
        hours[job.activity] += self.hours
        hours["travel"] += self.travel
        worker._worked_today += self.hours + self.travel
        yield env.timeout(end - env.now)
