"""Case types, handling classes, the case record and each case's own random numbers."""

from __future__ import annotations

import math
import operator
from statistics import NormalDist

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

# Each case carries its own uniforms, one slot per purpose, drawn when it arises from a stream
# keyed to the day and its source. Two scenarios therefore give the same case the same channel,
# duration, check outcome, ... however differently their queues consumed other numbers.
# Slots used once per case:
FIXED_SLOTS = ("channel", "on_spot", "line", "register", "report", "fix", "escalate", "order", "demand")
# Slots used once per attempt (dispatch → handle → close; a reopen is a new attempt):
ATTEMPT_SLOTS = (
    "dispatch", "handoffs", "bounces", "bounce_unit", "bounce_work", "handle", "travel",
    "department", "purchased", "verify", "check", "game",
)
SLOT = {s: i for i, s in enumerate(FIXED_SLOTS)} | {s: len(FIXED_SLOTS) + i for i, s in enumerate(ATTEMPT_SLOTS)}
N_FIXED = len(FIXED_SLOTS)
DRAWS_PER_CASE = len(FIXED_SLOTS) + len(ATTEMPT_SLOTS)


def generator_of_words(words) -> np.random.Generator:
    """A generator seeded by 32-bit ``words`` (each below 2**32), as ``default_rng(words)`` would
    be, without numpy turning each int into an array first."""
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence(np.array(words, dtype=np.uint32))))


class Case:
    """One case's record: what it is and when each step of the six-step loop happened."""

    __slots__ = (
        "id", "key", "type", "category", "source", "handling_class", "channel", "area", "grid", "resident",
        "priority", "arose", "discovered", "registered", "dispatched", "handle_started", "handled",
        "handling_hours", "fixed", "closed", "reported_closed", "evaluated", "deadline", "resident_deadline",
        "bounces", "reopens", "handoffs", "handler_role", "satisfaction", "on_spot", "escalated", "gamed",
        "step", "rationed", "time_in", "entered", "attempt", "u", "seed", "later",
    )

    def __init__(self, case_id, ctype_name, ctype, channel, arose, discovered, area, grid, resident, u, seed):
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
        self.handle_started = math.nan  # the first time any unit started on it
        self.handled = math.nan
        self.handling_hours = 0.0  # working hours spent handling it, over every unit and attempt
        self.fixed = math.nan  # when the problem was really fixed (the attempt whose check passed)
        self.closed = math.nan
        self.reported_closed = math.nan  # what the street reports: earlier than ``closed`` if gamed
        self.evaluated = math.nan
        self.deadline = math.nan  # CJ/T 315: working time from registration
        self.resident_deadline = math.nan  # the same allowance, from when the problem arose
        self.bounces = 0
        self.reopens = 0
        self.handoffs = 0
        self.handler_role = ""
        self.satisfaction = math.nan
        self.on_spot = False
        self.escalated = False
        self.gamed = False
        self.rationed = False
        self.step = "discover"
        self.entered = discovered
        self.time_in = [0.0, 0.0, 0.0, 0.0]  # hours in register, dispatch, handle, close
        self.attempt = 0
        self.u = u  # this case's uniforms (DRAWS_PER_CASE of them), released at evaluation
        self.seed = seed  # 32-bit words keying the case, for attempts after the first
        self.later = None  # (attempt, its uniforms) once a reopened attempt has drawn

    def draw(self, purpose: str) -> float:
        """This case's uniform for ``purpose`` (in its current attempt)."""
        i = SLOT[purpose]
        if self.attempt == 0 or i < N_FIXED:
            return self.u[i]
        # A reopened case draws its later attempts from a generator keyed to it and the attempt,
        # built once an attempt (an attempt draws up to a dozen times).
        if self.later is None or self.later[0] != self.attempt:
            rng = generator_of_words((*self.seed, self.attempt))
            self.later = (self.attempt, rng.random(DRAWS_PER_CASE).tolist())
        return self.later[1][i]


CASE_COLUMNS = (
    "id", "type", "category", "source", "handling_class", "channel", "area", "grid", "resident", "arose",
    "discovered", "registered", "dispatched", "handle_started", "handled", "handling_hours", "fixed", "closed",
    "reported_closed", "evaluated", "deadline", "resident_deadline", "bounces", "reopens", "handoffs",
    "handler_role", "satisfaction", "on_spot", "escalated", "gamed",
)
STAGE_COLUMNS = ("hours_in_register", "hours_in_dispatch", "hours_in_handle", "hours_in_close")
TEXT_COLUMNS = ("type", "category", "source", "handling_class", "channel", "handler_role")


class CaseLog:
    """Every case the street has seen: open ones as objects, evaluated ones as table columns.

    An evaluated case leaves its record here and the log lets its object go (a 12345 order still
    under way holds it until it is answered), so a long run holds the cases still open plus a few
    numbers per closed case: a 1M-resident street-year (670,000 cases) peaked at 898 MB with
    every case kept as an object, 432 MB so. ``len`` is the number of cases that arrived.
    """

    CHUNK = 8192  # records kept as tuples before they are packed into arrays
    _record = operator.attrgetter(*CASE_COLUMNS, "time_in")

    def __init__(self):
        self.open: dict[int, Case] = {}  # by id, oldest first
        self._arrived = 0
        self._records = []  # evaluated cases' records not yet packed
        self._packed = []  # packed chunks: one column each, in CASE_COLUMNS order, then time_in

    def __len__(self):
        return self._arrived

    def arrive(self, case):
        case.id = self._arrived
        self._arrived += 1
        self.open[case.id] = case

    def evaluated(self, case):
        """The case's record is final: keep it, let the object go."""
        del self.open[case.id]
        self._records.append(self._record(case))
        if len(self._records) >= self.CHUNK:
            self._packed.append(self._pack(self._records))
            self._records = []

    @staticmethod
    def _pack(records):
        # Text stays a list (pandas infers its type, as it does for the rest of the table).
        cols = list(zip(*records))
        return [list(c) if name in TEXT_COLUMNS else np.array(c) for name, c in zip(CASE_COLUMNS, cols)] + [
            np.array(cols[-1], dtype=float)]

    def columns(self, now: float) -> dict:
        """Every case's columns (CASE_COLUMNS, then STAGE_COLUMNS), in order of arrival. An open
        case counts its time in its current stage up to ``now``."""
        open_records = []
        for case in self.open.values():
            record = self._record(case)
            if case.step in STAGE_INDEX:
                time_in = list(case.time_in)
                time_in[STAGE_INDEX[case.step]] += now - case.entered
                record = (*record[:-1], time_in)
            open_records.append(record)
        chunks = self._packed + [self._pack(r) for r in (self._records, open_records) if r]
        if not chunks:
            return {c: [] for c in CASE_COLUMNS} | {c: np.empty(0) for c in STAGE_COLUMNS}
        ids = np.concatenate([chunk[0] for chunk in chunks])
        order = np.argsort(ids, kind="stable")  # evaluated cases were logged in order of closing
        cols = {}
        for j, name in enumerate(CASE_COLUMNS):
            if name in TEXT_COLUMNS:
                joined = [v for chunk in chunks for v in chunk[j]]
                cols[name] = [joined[i] for i in order.tolist()]
            else:
                cols[name] = np.concatenate([chunk[j] for chunk in chunks])[order]
        stage_times = np.concatenate([chunk[-1].reshape(-1, len(STAGE_COLUMNS)) for chunk in chunks])[order]
        for j, name in enumerate(STAGE_COLUMNS):
            cols[name] = stage_times[:, j]
        return cols

_NORMAL = NormalDist()
_U_MIN = 1e-12
_U_MAX = 1.0 - _U_MIN


def duration(d, u: float) -> float:
    """A duration (hours) from a scenario ``Duration`` by inverting its distribution at ``u``.

    Inversion (rather than a generator call) lets the draw come from the case's own uniform.
    """
    mean = d.mean_hours
    if mean == 0.0 or d.dist == "fixed":
        return mean
    if not _U_MIN <= u <= _U_MAX:  # a case's every step asks: not min(max(...)), two calls
        u = _U_MIN if u < _U_MIN else _U_MAX
    if d.dist == "exponential":
        return -mean * math.log1p(-u)
    if d.dist == "lognormal":
        sigma2 = math.log1p(d.cv * d.cv)
        return math.exp(math.log(mean) - sigma2 / 2.0 + math.sqrt(sigma2) * _NORMAL.inv_cdf(u))
    if d.dist == "gamma":
        if d.cv == 0:
            return mean
        from scipy.special import gammaincinv  # only gamma needs scipy; most runs never import it

        shape = 1.0 / (d.cv * d.cv)
        return float(gammaincinv(shape, u)) * mean / shape
    half = d.cv * math.sqrt(3.0) * mean  # uniform with the given cv (the schema keeps cv <= 1/sqrt(3))
    return mean - half + 2.0 * half * u


def geometric_count(p: float, u: float, cap: int) -> int:
    """Number of successes before the first failure with success chance ``p`` (at most ``cap``)."""
    if p <= 0.0 or cap <= 0:
        return 0
    if p >= 1.0:
        return cap
    # P(N >= n) = p**n: invert with one uniform, so the count costs one draw whatever it is.
    n = int(math.log1p(-min(u, 1.0 - _U_MIN)) / math.log(p)) if u > 0 else 0
    return min(n, cap)
