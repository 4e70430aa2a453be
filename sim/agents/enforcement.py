"""Enforcement units: the city-management squad and the units that join it."""

from __future__ import annotations

from sim.agents.workers import Worker


class EnforcementUnit(Worker):
    """One enforcement officer of a unit (city management, police, market supervision, ...).

    Joint enforcement needs one officer of each unit present at once (see
    :class:`sim.teams.JointHandling`).
    """
