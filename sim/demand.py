"""How easy the street is to reach, and so how many requests its residents raise.

Lipsky: demand rises to meet supply. Staggered hours open the committee for the union of its
shifts; one-stop acceptance adds its stated gain. Requests rise with this access index through
``behaviour.demand.elasticity``.
"""

from __future__ import annotations

from types import SimpleNamespace

from sim.calendar import weekly_hours


def access(settings) -> SimpleNamespace:
    """``level``: access relative to office hours at the committee (>= 1), raised to the
    elasticity; ``top``: the level candidates are drawn at (the highest any compared scenario
    may reach), so scenarios keep common random numbers."""
    d = settings.behaviour.demand
    lv = settings.levers
    index = 1.0
    if lv.staggered_hours.enabled:
        shifts = [sh for c in lv.staggered_hours.calendars for sh in settings.calendars[c].shifts]
        base = settings.calendars[settings.staffing[lv.staggered_hours.roles[0]].calendar]
        index *= weekly_hours("open", shifts) / weekly_hours("base", base.shifts)
    if lv.one_stop_acceptance.enabled:
        index *= 1.0 + lv.one_stop_acceptance.access_gain
    level = index ** d.elasticity if d.enabled else 1.0
    return SimpleNamespace(level=level, top=max(d.max_access, level))
