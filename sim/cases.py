"""Case types, handling classes and the case record."""

from __future__ import annotations

import math

import numpy as np

# Handling classes (assumption, documented in scenarios/README.md):
#   A = the street alone; B = the street leads with departments;
#   C = a department leads with the street's help; D = the department alone.
STREET_LEADS = {"A": True, "B": True, "C": False, "D": False}
NEEDS_DEPARTMENT = {"A": False, "B": True, "C": True, "D": True}
NEEDS_STREET = {"A": True, "B": True, "C": True, "D": False}

STEPS = ("discover", "register", "dispatch", "handle", "close", "evaluate")
STAGES = STEPS[1:5]  # the steps a case spends time in (queues and work); discover and evaluate are instants
STAGE_INDEX = {s: i for i, s in enumerate(STAGES)}


class Case:
    """One case's record: what it is and when each step of the six-step loop happened."""

    __slots__ = (
        "id", "type", "category", "source", "handling_class", "channel", "area", "grid", "resident",
        "priority", "arose", "discovered", "registered", "dispatched", "handle_started", "handled", "closed",
        "evaluated", "deadline", "bounces", "reopens", "handoffs", "handler_role",
        "satisfaction", "on_spot", "escalated", "step", "rationed", "time_in", "entered",
    )

    def __init__(self, case_id, ctype_name, ctype, channel, arose, discovered, area, grid, resident):
        self.id = case_id
        self.type = ctype_name
        self.category = ctype.category
        self.source = ctype.source
        self.handling_class = ctype.handling_class
        self.priority = ctype.priority
        self.channel = channel
        self.area = area
        self.grid = grid
        self.resident = resident
        self.arose = arose
        self.discovered = discovered
        self.registered = math.nan
        self.dispatched = math.nan
        self.handle_started = math.nan
        self.handled = math.nan
        self.closed = math.nan
        self.evaluated = math.nan
        self.deadline = math.nan
        self.bounces = 0
        self.reopens = 0
        self.handoffs = 0
        self.handler_role = ""
        self.satisfaction = math.nan
        self.on_spot = False
        self.escalated = False
        self.rationed = False
        self.step = "discover"
        self.entered = discovered
        self.time_in = [0.0, 0.0, 0.0, 0.0]  # hours in register, dispatch, handle, close


CASE_COLUMNS = (
    "id", "type", "category", "source", "handling_class", "channel", "area", "grid", "arose",
    "discovered", "registered", "dispatched", "handle_started", "handled", "closed", "evaluated", "deadline",
    "bounces", "reopens", "handoffs", "handler_role", "satisfaction", "on_spot", "escalated",
)
STAGE_COLUMNS = ("hours_in_register", "hours_in_dispatch", "hours_in_handle", "hours_in_close")


class Sampler:
    """Draws durations (hours) from a scenario ``Duration`` with one numpy Generator."""

    def __init__(self, rng: np.random.Generator):
        self.rng = rng

    def __call__(self, d) -> float:
        mean = d.mean_hours
        if mean == 0.0 or d.dist == "fixed":
            return mean
        if d.dist == "exponential":
            return self.rng.exponential(mean)
        if d.dist == "lognormal":
            sigma2 = math.log1p(d.cv * d.cv)
            return self.rng.lognormal(math.log(mean) - sigma2 / 2.0, math.sqrt(sigma2))
        if d.dist == "gamma":
            if d.cv == 0:
                return mean
            shape = 1.0 / (d.cv * d.cv)
            return self.rng.gamma(shape, mean / shape)
        half = min(1.0, d.cv * math.sqrt(3.0)) * mean  # uniform with the given cv
        return self.rng.uniform(mean - half, mean + half)
