"""Teams: a role's staff, its lines (queues), jobs and joint handling.

A team is staffed by count or ratio rule. Its staff are split into ``lines`` — one pooled queue,
or separate queues such as the 11 security lines before the reform or one committee per
residential area. Each line is a queue ordered by the team's triage policy (FIFO, priority, earliest deadline).
"""

from __future__ import annotations

import heapq
import itertools
import math
from collections import defaultdict, deque

# What staff time is spent on (labels in sim.labels.ACTIVITIES); utilisation counts all of them.
ACTIVITIES = ("casework", "travel", "patrol", "devolved_tasks", "investment_promotion", "data_collection")


class Job:
    """A piece of work for one worker: a case step, a devolved task, ..."""

    __slots__ = ("case", "hours", "travel", "activity", "done", "joint", "deadline", "priority", "patrol", "queued",
                 "wait_at")

    def __init__(self, hours, activity="casework", case=None, done=None, travel=0.0,
                 deadline=float("inf"), priority=1):
        self.case = case
        self.hours = hours
        self.travel = travel
        self.activity = activity
        self.done = done  # called with the worker when the job is done (the case's next step)
        self.joint = None
        self.deadline = deadline
        self.priority = priority
        self.patrol = None  # (grid, route share) for a patrol pass: its hours depend on what it finds
        self.queued = math.nan  # when it joined the line
        self.wait_at = None  # where its queue wait is in its team's ``waits`` (-1: not measured)


class Line:
    """One queue of a team and the workers who serve it.

    Jobs wait in a heap ordered by the team's triage key; a job that arrives while a worker is
    idle is handed straight to the longest-idle worker.
    """

    def __init__(self, env, index, window_hours):
        self.env = env
        self.index = index
        self.jobs = []  # heap of (key, job); keys are unique, so jobs are never compared
        self.idle = deque()  # idle workers, longest idle first
        self.workers = []
        self.window = window_hours
        self._load = 0.0  # queue length averaged over the recent window (exponential smoothing)
        self._load_at = 0.0

    def __len__(self):
        return len(self.jobs)

    def put(self, key, job):
        job.queued = now = self.env.now
        if self.idle:
            self.idle.popleft().handed(job)
        else:
            if now > self._load_at:
                self._smooth(now)
            heapq.heappush(self.jobs, (key, job))

    def take(self):
        if not self.jobs:
            return None
        now = self.env.now
        if now > self._load_at:
            self._smooth(now)
        return heapq.heappop(self.jobs)[1]

    def _smooth(self, now):
        """Fold the queue length since the last change (at ``now``) into the windowed average."""
        if now > self._load_at:
            w = 1.0 - math.exp(-(now - self._load_at) / self.window)
            self._load += (len(self.jobs) - self._load) * w
            self._load_at = now

    def pressure(self):
        """Sustained backlog per worker: jobs waiting, averaged over the overload window (a burst
        at a quiet desk barely counts), over the line's workers (asked at every job: inline)."""
        now = self.env.now
        if now > self._load_at:
            self._smooth(now)
        return self._load / max(1, len(self.workers))


class Team:
    """The staff of one role."""

    def __init__(self, model, name, role, calendar, shifts, staff, duties):
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
        behaviour = model.settings.behaviour
        self._overtime, self._rationing = behaviour.overtime, behaviour.rationing
        window = behaviour.overload_window_hours
        self.lines = [Line(model.env, i, window) for i in range(n_lines)]
        self.workers = []
        self.posts = staff  # established posts; exits leave them vacant until a hire
        self.exits = 0
        self.hires = 0
        self._hiring = []  # (day the new worker starts, line)
        self._free_slots = []
        self.slots = 0
        self.day_u = None  # today's uniforms for each post's absence and exit
        self.duties = duties  # activity -> hours per working hour (fixed duties: sim.scenario.duty_shares)
        self.devolved_per_day = 0.0
        self.measure_from = model.settings.horizon.warmup_days * 24.0
        self.waits = []  # queue waits (hours) of case jobs that joined the line after the warm-up
        self._key = {"fifo": self._fifo_key, "priority": self._priority_key, "deadline": self._deadline_key}[role.triage]
        for i in range(staff):
            self.hire(self.lines[i % n_lines])

    # -- staff ------------------------------------------------------------------------------
    def hire(self, line):
        from sim.agents import AGENT_CLASSES

        # Each line's staff take turns over the shifts: the new worker takes the line's least
        # staffed shift, so a committee is never all on one shift.
        on_shift = [sum(w.calendar is c for w in line.workers) for c in self.shifts]
        calendar = self.shifts[on_shift.index(min(on_shift))]
        self.hires_total += 1
        worker = AGENT_CLASSES[self.role.kind](self.model, self, line, calendar)
        # A post's random numbers follow the post (a new hire takes the leaver's), so one team's
        # exits do not shift another team's draws.
        if self._free_slots:
            worker.slot = self._free_slots.pop()
        else:
            worker.slot, self.slots = self.slots, self.slots + 1
        line.workers.append(worker)
        self.workers.append(worker)
        return worker

    def leave(self, worker):
        """A worker exits; the post is refilled after the hiring delay (if hiring is on)."""
        worker.leave()
        self._free_slots.append(worker.slot)
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
        # separate lines: each case belongs to one, by its own draw (not its id, which depends
        # on how many cases came before it)
        return lines[int(case.draw("line") * len(lines))]

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

    # -- bookkeeping --------------------------------------------------------------------------
    def record_wait(self, job, start):
        """A case job's wait in the line (the worker asks for jobs with a case only): one figure a
        job, measured if it first joined the line after the warm-up. A job handed back mid-way
        (absence, exit) waits again, and that wait adds to its figure rather than counting as
        another job's."""
        if job.activity != "casework":  # the KPI is the wait of casework
            return
        if job.wait_at is None:
            if job.queued >= self.measure_from:
                job.wait_at = len(self.waits)
                self.waits.append(start - job.queued)
            else:
                job.wait_at = -1
        elif job.wait_at >= 0:
            self.waits[job.wait_at] += start - job.queued

    def book(self, activity, hours, travel, overtime):
        """Book worked hours: on an activity, travelling to it, and the overtime among them."""
        booked = self.hours
        if hours:
            booked[activity] += hours
        if travel:
            booked["travel"] += travel
        if overtime:
            booked["overtime"] += overtime

    def duties_for_today(self, day_hours):
        return {a: share * day_hours for a, share in self.duties.items() if share > 0}

    def overtime_allowance(self, worker):
        ot = self._overtime
        if not ot.enabled or worker.line.pressure() <= ot.backlog_per_worker_threshold:
            return 0.0
        return max(0.0, ot.max_hours_per_day - worker.overtime_today)

    def rationing(self, line):
        """Under overload, handling is cut short (and more closures fail the site check)."""
        r = self._rationing
        return r.enabled and line.pressure() > r.backlog_per_worker_threshold


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
        """The worker holds its place until every unit is there, then all work together."""
        self.arrived.succeed(worker)
        self.start.callbacks.append(lambda _e: self._begin(worker, job))

    def _begin(self, worker, job):
        start = self.calendar.next_on_duty(self.env.now)
        end = self.calendar.add_working_hours(start, self.hours + self.travel)
        worker.working = (start, end, job.activity, self.hours, self.travel, 0.0)
        case = job.case
        if case is not None:
            case.handling_hours += self.hours
            if case.handle_started != case.handle_started:
                case.handle_started = start
        worker.at(end, worker.finished)
