"""The six-step closed loop, each step's policy beside its step; SimPy times it.

discover (发现) → register (立案) → dispatch (派遣) → handle (处置) → close (结案) → evaluate (考核).
A failed on-site check at closing reopens the case: it goes back to dispatch as a new attempt.
Every random choice about a case comes from the case's own uniforms (``case.draw``).
"""

from __future__ import annotations

import math

from sim.cases import NEEDS_DEPARTMENT, NEEDS_STREET, STREET_LEADS, duration, geometric_count
from sim.teams import Job, JointHandling


class Flow:
    """Moves a process (a generator of the steps below) on without a SimPy process: the job or
    event it waits for calls it back. A job's end thus continues its case directly, so a step
    costs one event — the work's end — rather than three. A step yields what it waits for: a
    :class:`~sim.teams.Job`, a SimPy event, or ``None`` when there is nothing to wait for."""

    __slots__ = ("steps", "on_end")

    def __init__(self, steps, on_end=None):
        self.steps = steps
        self.on_end = on_end
        self.resume(None)

    def resume(self, value):
        steps = self.steps
        while True:
            try:
                waiting_for = steps.send(value)
            except StopIteration:
                if self.on_end is not None:
                    self.on_end(None)
                return
            if type(waiting_for) is Job:
                waiting_for.done = self.resume
                return
            if waiting_for is None:  # nothing to wait for (no working hours to spend)
                value = None
            elif waiting_for.callbacks is None:  # an event already over
                value = waiting_for.value
            else:
                waiting_for.callbacks.append(self._event)
                return

    def _event(self, event):
        self.resume(event._value)


def case_flow(street, case, ctype):
    """One case through the six steps."""
    yield discover(street, case)
    if case.on_spot:
        yield from fix_on_spot(street, case)
        yield from register(street, case, ctype)
    else:
        yield from register(street, case, ctype)
        while True:
            yield from dispatch(street, case, ctype)
            yield from handle(street, case, ctype)
            if (yield from close(street, case, ctype)):
                break
            case.reopens += 1
            case.attempt += 1
    evaluate(street, case, ctype)


def work(street, team, case, hours, travel=0.0):
    """Queue a job for the team's line that serves this case; the step waits for it (``yield``)."""
    line = team.line_for(case)
    if team.rationing(line):  # sustained overload: handling is cut short
        hours *= street.settings.behaviour.rationing.handle_time_factor
        case.rationed = True
    job = Job(hours, case=case, deadline=case.deadline, priority=case.priority, travel=travel)
    team.submit(job, line)
    return job


def wait_working_hours(street, calendar, hours):
    """The wait (a SimPy timeout) until ``hours`` of the calendar's working time have passed."""
    if hours > 0:
        env = street.env
        return env.timeout(calendar.add_working_hours(env.now, hours) - env.now)
    return None


def deadline_calendar(street, ctype):
    return street.teams[ctype.roles[0]].calendar


# -- 1. discover --------------------------------------------------------------------------------
def discover(street, case):
    """The case surfaces: found on patrol, reported by a resident, or raised by an organisation."""
    env = street.env
    return env.timeout(case.discovered - env.now) if case.discovered > env.now else None


def fix_on_spot(street, case):
    """A minor problem the supervisor fixes at once (~17% of grid cases in Kunming).

    The fix is part of the supervisor's patrol pass (see :meth:`sim.grids.Grid.patrol`), which
    already booked its time; the case only waits for it to be done.
    """
    env = street.env
    yield env.timeout(duration(street.settings.loop.discovery.on_spot_fix, case.draw("fix")))
    case.handled = case.fixed = env.now
    case.handler_role = street.settings.loop.close.verify_role


# -- 2. register --------------------------------------------------------------------------------
def register_team(street, case):
    """Whoever took the case in registers it: the committee, the one-stop window, or the platform."""
    kind = {"committee": "committee_worker", "acceptance_centre": "acceptance_clerk"}.get(case.channel)
    if kind in street.team_by_kind:
        return street.team_by_kind[kind]
    if case.channel == "organisation":
        return None
    role = street.settings.loop.registration.role
    return street.teams[role] if role else None


def register(street, case, ctype):
    """The case is registered (立案); the standard's deadline starts now, the resident's when it arose."""
    street.move(case, "register")
    team = register_team(street, case)
    if team is not None:
        yield work(street, team, case, duration(street.settings.loop.registration.hours, case.draw("register")))
    now = street.env.now
    case.registered = now
    cal = deadline_calendar(street, ctype)
    case.deadline = cal.add_working_hours(now, ctype.deadline_hours)
    case.resident_deadline = cal.add_working_hours(case.arose, ctype.deadline_hours)
    if case.on_spot:
        case.dispatched = case.closed = case.reported_closed = now


# -- 3. dispatch --------------------------------------------------------------------------------
# Cases the platform takes in and must send on; a committee, window or party worker who takes a
# request in hands it to their own unit without the platform.
PLATFORM_CHANNELS = frozenset({"patrol", "resident", "hotline"})


def dispatch_team(street, case=None):
    """The platform officers who dispatch (at the street after the reform, at the district before)."""
    role = street.settings.loop.dispatch.role
    if not role or (case is not None and case.channel not in PLATFORM_CHANNELS):
        return None
    return street.teams[role]


def wrong_unit(street, ctype, u):
    """The unit an unclear responsibility sends the case to by mistake."""
    others = [t for t in street.handling_teams_all if t.name not in ctype.roles]
    return others[int(u * len(others))] if others else None


def dispatch(street, case, ctype):
    """Platform officers send the case to the unit on the A/B/C/D list; unclear responsibility
    bounces it to a wrong unit, which spends time on it and sends it back to be dispatched again."""
    street.move(case, "dispatch")
    s = street.settings
    d = s.loop.dispatch
    team = dispatch_team(street, case)
    cal = deadline_calendar(street, ctype)
    if team is not None:
        yield work(street, team, case, duration(d.hours, case.draw("dispatch")))
    if s.levers.grid_management.level == "district":
        yield wait_working_hours(street, cal, d.district_transfer_hours)
    sec = s.levers.sections
    p_handoff = min(1.0, max(0, sec.count - sec.unified_count) * sec.handoff_probability_per_extra_section)
    handoffs = geometric_count(p_handoff, case.draw("handoffs"), 5)
    case.handoffs += handoffs
    yield wait_working_hours(street, cal, handoffs * sec.handoff_hours)
    r = s.levers.responsibility_lists
    p_bounce = r.bounce_probability_with_lists if r.enabled else r.bounce_probability_without_lists
    bounces = geometric_count(p_bounce, case.draw("bounces"), r.max_bounces - case.bounces)
    for b in range(bounces):
        wrong = wrong_unit(street, ctype, (case.draw("bounce_unit") + 0.618034 * b) % 1.0)
        if wrong is not None:
            yield work(street, wrong, case, duration(r.bounce_work, case.draw("bounce_work")))
        case.bounces += 1
        if team is not None:
            yield work(street, team, case, duration(d.hours, case.draw("dispatch")))
    case.dispatched = street.env.now


# -- 4. handle ----------------------------------------------------------------------------------
def handling_teams(street, ctype):
    if ctype.acceptance_centre_item and street.settings.levers.one_stop_acceptance.enabled:
        clerks = street.team_by_kind.get("acceptance_clerk")
        if clerks is not None:
            return [clerks]
    return [street.teams[r] for r in ctype.roles]


def games_closure(street, case, team):
    """Under sustained pressure a unit may report the case closed before it is fixed (it reopens later)."""
    g = street.settings.behaviour.gaming
    if not g.enabled or team is None or case.gamed:
        return False
    return team.line_for(case).pressure() > g.backlog_per_worker_threshold and case.draw("game") < g.probability


def handle(street, case, ctype):
    """The street's units, a district department, or both, deal with the case."""
    street.move(case, "handle")
    env = street.env
    hclass = ctype.handling_class
    teams = handling_teams(street, ctype) if NEEDS_STREET[hclass] else []
    if games_closure(street, case, teams[0] if teams else None):
        case.gamed = True
        case.reported_closed = env.now
    ps = street.settings.levers.purchased_services
    if ps.enabled and ctype.category == "service" and case.draw("purchased") < ps.share_of_service_cases:
        case.handler_role = "purchased_services"  # a social organisation's own staff: outside the street's queues
        hours = duration(ctype.handle, case.draw("handle"))
        case.handling_hours += hours
        yield env.timeout(hours)
    elif not NEEDS_DEPARTMENT[hclass]:
        yield from handle_by_street(street, case, ctype, teams)
    elif not NEEDS_STREET[hclass]:
        case.handler_role = "district_departments"
        yield from department(street, case)
    elif STREET_LEADS[hclass]:  # B: the street leads, departments work alongside
        alongside = env.event()
        Flow(department(street, case), alongside.succeed)
        yield from handle_by_street(street, case, ctype, teams)
        yield alongside
    else:  # C: the department leads, then the street helps
        yield from department(street, case)
        yield from handle_by_street(street, case, ctype, teams)
    case.handled = env.now


def department(street, case):
    """A district department: the case is transferred (paperwork, working hours), then waits for
    one of the department's officers — a queue with finite capacity unless no role is given."""
    dep = street.settings.loop.departments
    cal = street.teams[dep.role].calendar if dep.role else street.calendars[dep.calendar]
    yield wait_working_hours(street, cal, dep.lag_hours)
    hours = duration(dep.work, case.draw("department"))
    if dep.role and not dep.unlimited:
        yield work(street, street.teams[dep.role], case, hours)
    else:
        yield wait_working_hours(street, cal, hours)


def handle_by_street(street, case, ctype, teams):
    case.handler_role = "+".join(t.name for t in teams)
    hours = duration(ctype.handle, case.draw("handle"))
    lead = teams[0]
    travel = duration(lead.role.travel, case.draw("travel")) if lead.role.travel else 0.0
    if len(teams) == 1:
        yield work(street, lead, case, hours, travel)
    elif street.settings.levers.joint_enforcement.enabled:
        yield from joint_enforcement(street, case, teams, hours, travel)
    else:  # before joint enforcement: each unit in turn, on its own
        for team in teams:
            yield work(street, team, case, hours, travel if team.role.travel else 0.0)


def joint_enforcement(street, case, teams, hours, travel):
    """One officer of each unit, present at once (城管 as core, police, market supervision...)."""
    env = street.env
    joint = JointHandling(env, hours, teams[0].calendar, travel)
    finished = []
    # A fixed order means no two cases wait on each other; a unit with nobody on its line
    # (possible only with hiring.cover_last_post off) cannot join and is left out.
    for team in sorted(teams, key=lambda t: t.name):
        line = team.line_for(case)
        if not line.workers:
            continue
        joint.arrived = env.event()
        done = env.event()
        job = Job(hours, case=case, done=done.succeed, deadline=case.deadline, priority=case.priority)
        job.joint = joint
        team.submit(job, line)
        yield joint.arrived
        finished.append(done)
    joint.start.succeed()
    yield env.all_of(finished)


# -- 5. close -----------------------------------------------------------------------------------
def verify_team(street, ctype):
    role = street.settings.loop.close.verify_role
    return street.teams[role] if role and ctype.verify_on_site else None


def check_fails(street, case):
    """The on-site check finds the problem not fixed (more often when handling was rationed)."""
    c = street.settings.loop.close
    p = c.fail_probability
    if case.rationed:
        p += street.settings.behaviour.rationing.extra_fail_probability
        case.rationed = False
    return case.draw("check") < p


def close(street, case, ctype):
    """On-site check by a grid supervisor; a failed check reopens the case. A case nobody
    checks closes when it is handled."""
    street.move(case, "close")
    team = verify_team(street, ctype)
    if team is not None:
        yield work(street, team, case, duration(street.settings.loop.close.verify, case.draw("verify")))
        if check_fails(street, case):
            return False
    case.rationed = False
    now = street.env.now
    case.closed = now
    case.fixed = case.handled
    if case.gamed:
        case.reopens += 1  # reported closed early; the resident's complaint reopened it
    if math.isnan(case.reported_closed):
        case.reported_closed = now
    return True


# -- 6. evaluate --------------------------------------------------------------------------------
def evaluate(street, case, ctype):
    """The resident judges the outcome (satisfaction moves their trust); a late case may be
    escalated to the 12345 hotline, whose work order comes back to the street."""
    street.move(case, "evaluate")
    case.evaluated = street.env.now
    late = case.fixed > case.resident_deadline
    if late and case.resident >= 0:
        trust = street.settings.behaviour.trust
        area = street.areas[case.area]
        if trust.enabled and case.draw("escalate") < trust.hotline_escalation_at_zero_trust * (1 - area.trust[case.resident]):
            case.escalated = True
            street.escalations += 1
            Flow(hotline_order(street, case, ctype))
    # assumption: 0.9 base, minus lateness, reopens, bounces and escalation (documented in DESIGN.md)
    s = 0.9 - 0.4 * late - 0.15 * min(case.reopens, 3) - 0.05 * min(case.bounces, 5) - 0.1 * case.escalated
    case.satisfaction = min(1.0, max(0.0, s))
    if case.resident >= 0:
        street.areas[case.area].evaluate(case.resident, case.satisfaction)
    if not case.escalated:
        case.u = None  # its random numbers are no longer needed
    street.evaluated(case)


def hotline_order(street, case, ctype):
    """A 12345 work order: the street must answer it (the unit checks and replies) within the
    hotline's limit, and the order counts in the street's assessment."""
    h = street.settings.loop.hotline
    env = street.env
    created = env.now
    order = [created, math.nan, deadline_calendar(street, ctype).add_working_hours(created, h.deadline_hours)]
    street.orders.append(order)  # (created, answered, deadline)
    team = handling_teams(street, ctype)[0] if NEEDS_STREET[ctype.handling_class] else dispatch_team(street)
    if team is not None:
        yield work(street, team, case, duration(h.reply, case.draw("order")))
    order[1] = env.now
    case.u = None
