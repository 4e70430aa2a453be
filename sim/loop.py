"""The six-step closed loop as SimPy processes.

discover (发现) → register (立案) → dispatch (派遣) → handle (处置) → close (结案) → evaluate (考核).
A failed on-site check at closing reopens the case: it goes back to dispatch.
"""

from __future__ import annotations

from sim.cases import NEEDS_DEPARTMENT, NEEDS_STREET, STREET_LEADS
from sim.teams import Job, JointHandling


def case_flow(street, case, ctype):
    """One case through the six steps."""
    yield from discover(street, case)
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
    evaluate(street, case, ctype)


# -- 1. discover --------------------------------------------------------------------------------
def discover(street, case):
    """The case surfaces: found on patrol, or raised by a resident or an organisation."""
    env = street.env
    if case.discovered > env.now:
        yield env.timeout(case.discovered - env.now)


def fix_on_spot(street, case):
    """A minor problem the supervisor fixes at once (~17% of grid cases in Kunming)."""
    hours = street.sample(street.settings.loop.discovery.on_spot_fix)
    street.teams[street.settings.loop.close.verify_role].hours["casework"] += hours
    yield street.env.timeout(hours)
    case.handled = street.env.now
    case.handler_role = street.settings.loop.close.verify_role


# -- 2. register --------------------------------------------------------------------------------
def register(street, case, ctype):
    """The case is registered (立案) by whoever took it in; its deadline starts now."""
    street.move(case, "register")
    team = street.register_team(case)
    if team is not None:
        yield from street.work_on(team, case, street.sample(street.settings.loop.registration.hours))
    now = street.env.now
    case.registered = now
    case.deadline = street.deadline_calendar(ctype).add_working_hours(now, ctype.deadline_hours)
    if case.on_spot:
        case.dispatched = now
        case.closed = now


# -- 3. dispatch --------------------------------------------------------------------------------
def dispatch(street, case, ctype):
    """Sent to the responsible unit by the A/B/C/D list; unclear responsibility bounces it."""
    street.move(case, "dispatch")
    delay = street.dispatch_delay_hours()
    handoffs = street.section_handoffs()
    bounces = street.bounces(case)
    case.handoffs += handoffs
    case.bounces += bounces
    delay += handoffs * street.settings.levers.sections.handoff_hours
    delay += bounces * street.settings.levers.responsibility_lists.bounce_hours
    if delay > 0:
        cal = street.deadline_calendar(ctype)
        yield street.env.timeout(cal.add_working_hours(street.env.now, delay) - street.env.now)
    case.dispatched = street.env.now


# -- 4. handle ----------------------------------------------------------------------------------
def handle(street, case, ctype):
    """The street's units, a district department, or both, deal with the case."""
    street.move(case, "handle")
    env = street.env
    hclass = ctype.handling_class
    if street.purchased_service(case, ctype):
        case.handler_role = "purchased_services"
        yield env.timeout(street.sample(ctype.handle))
    elif not NEEDS_DEPARTMENT[hclass]:
        yield from handle_by_street(street, case, ctype)
    elif not NEEDS_STREET[hclass]:
        case.handler_role = "department"
        yield env.timeout(street.sample(street.settings.loop.dispatch.department_response))
    elif STREET_LEADS[hclass]:  # B: the street leads, departments work alongside
        department = env.timeout(street.sample(street.settings.loop.dispatch.department_response))
        yield from handle_by_street(street, case, ctype)
        yield department
    else:  # C: the department leads, then the street helps
        yield env.timeout(street.sample(street.settings.loop.dispatch.department_response))
        yield from handle_by_street(street, case, ctype)
    case.handled = env.now


def handle_by_street(street, case, ctype):
    teams = street.handling_teams(case, ctype)
    case.handler_role = "+".join(t.name for t in teams)
    hours = street.sample(ctype.handle)
    if len(teams) == 1:
        yield from street.work_on(teams[0], case, hours, travel=True)
    elif street.settings.levers.joint_enforcement.enabled:
        yield from joint_enforcement(street, case, teams, hours)
    else:  # before joint enforcement: each unit in turn, on its own
        for team in teams:
            yield from street.work_on(team, case, hours, travel=True)


def joint_enforcement(street, case, teams, hours):
    """One officer of each unit, present at once (城管 as core, police, market supervision...)."""
    env = street.env
    lead = teams[0]
    joint = JointHandling(env, hours, lead.calendar, street.sample(lead.role.travel) if lead.role.travel else 0.0)
    finished = []
    # A fixed order means no two cases wait on each other; a unit with nobody on its line
    # (possible only with hiring.cover_last_post off) cannot join and is left out.
    for team in sorted(teams, key=lambda t: t.name):
        line = team.line_for(case)
        if not line.workers:
            continue
        joint.arrived = env.event()
        job = Job(hours, case=case, done=env.event(), deadline=case.deadline, priority=case.priority)
        job.joint = joint
        team.submit(job, line)
        yield joint.arrived
        finished.append(job.done)
    joint.start.succeed()
    yield env.all_of(finished)


# -- 5. close -----------------------------------------------------------------------------------
def close(street, case, ctype):
    """On-site check by a grid supervisor; a failed check reopens the case."""
    street.move(case, "close")
    team = street.verify_team(ctype)
    if team is not None:
        yield from street.work_on(team, case, street.sample(street.settings.loop.close.verify))
    if street.check_fails(case):
        return False
    case.closed = street.env.now
    return True


# -- 6. evaluate --------------------------------------------------------------------------------
def evaluate(street, case, ctype):
    """The resident's satisfaction with the outcome; it moves their trust."""
    street.move(case, "evaluate")
    case.evaluated = street.env.now
    street.evaluate(case)
