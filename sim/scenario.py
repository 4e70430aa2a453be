"""Scenario files: the pydantic schema, YAML loading, ``extends:``, ``--set`` and ratio rules.

Units convention (one rule, everywhere): every quantity's key names its unit —
``*_hours`` and ``*_days`` are durations, ``per_hour`` / ``per_year`` / ``*_per_week`` are rates,
``*_share`` and ``*_probability`` are fractions in [0, 1], ``cost_per_year`` is in yuan.
Simulation time runs in hours; a Mesa step is one day.
"""

from __future__ import annotations

import copy
import math
import re
import sys
from pathlib import Path
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError, model_validator

from sim import limits, safe_yaml
from sim.limits import MAX_AREAS, MAX_HORIZON_DAYS, MAX_ORGS, MAX_RESIDENTS, MAX_RESPONDENTS, MAX_STAFF_PER_ROLE

Fraction = Annotated[float, Field(ge=0.0, le=1.0)]
NonNegative = Annotated[float, Field(ge=0.0)]
Positive = Annotated[float, Field(gt=0.0)]
Hours = Annotated[float, Field(ge=0.0, le=limits.MAX_DURATION_HOURS)]  # no longer than the longest horizon (sim.limits)
WeeklyHours = Annotated[float, Field(ge=0.0, le=limits.MAX_HOURS_PER_WEEK)]
Yuan = Annotated[float, Field(ge=0.0, le=limits.MAX_COST_PER_YEAR)]  # a year's cost; 1e308 summed to inf
Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]

AGENT_KINDS = (
    "grid_supervisor",
    "platform_officer",
    "enforcement_unit",
    "committee_worker",
    "party_worker",
    "community_worker",
    "acceptance_clerk",
    "department_officer",
)
DUTIES = ("patrol", "investment_promotion", "data_collection")  # fixed daily duties a role may carry
CHANNELS = ("patrol", "committee", "acceptance_centre", "hotline", "organisation", "direct")


# Control characters: C0, DEL and C1 (U+009B is a terminal's escape too); Unicode's line and
# paragraph separators (U+2028-9), which Python's splitlines and some readers take for line breaks;
# and its bidirectional controls (Bidi_Control: U+061C, U+200E-F, U+202A-E, U+2066-9), which
# reorder what a terminal, table or report shows after them: "abc\u202edcba" reads as "abcabcd".
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]")


def printable(text: str) -> str:
    """``text`` with each control character written as its escape (ESC as \\x1b, a line break
    as \\n): a file name or key path quoted in an error line keeps it one line and sends the
    terminal no command."""
    return _CONTROL.sub(lambda m: ascii(m.group())[1:-1], text)


class ScenarioError(Exception):
    """Bad input: one line naming the file, the key path and what is wrong."""

    def __init__(self, file, key: str, message: str):
        self.file, self.key, self.message = str(file), key, message
        where = f"{self.file}: {key}: " if key else f"{self.file}: "
        super().__init__(printable(where + message))


class CommandFailed(Exception):
    """A command that could not finish, though its input was good (simulation runs failed, or
    the executor gave up on some): one line, exit status 1. Like ScenarioError's, the line
    escapes control characters (it may quote a run's error or a folder)."""

    def __init__(self, message: str):
        super().__init__(printable(message))


class Interrupted(KeyboardInterrupt):
    """Ctrl-C or SIGTERM stopped a command that keeps the runs it finished (sweep, staff,
    calibrate): ``sim.cli.main`` gives the signal's name and this message in one line, and the
    signal's exit status (130 for SIGINT, 143 for SIGTERM), as for every other command."""

    @classmethod
    def keeping(cls, store) -> Interrupted:
        return cls(printable(f"finished runs are stored in {store}/ — run the same command again to resume"))


class Strict(BaseModel):
    # strict: `count: true` is not 1 worker, "12" is not 12. No NaN or infinity in any number:
    # `deadline_hours: .nan` would count every case late, an infinite share sends every case one way.
    model_config = ConfigDict(extra="forbid", frozen=False, strict=True, allow_inf_nan=False)


# --------------------------------------------------------------------------- building blocks
class Duration(Strict):
    """A random duration in hours: ``{dist: lognormal, mean_hours: 2, cv: 0.6}``."""

    dist: Literal["exponential", "lognormal", "gamma", "fixed", "uniform"] = "exponential"
    mean_hours: Hours
    # a cv above 10 puts nearly all the mass near 0 and the mean in a few extreme draws (and a
    # lognormal's draws overflow): no duration the sources describe is like that
    cv: Annotated[float, Field(ge=0.0, le=10.0)] = Field(0.5, description="coefficient of variation (lognormal, gamma, uniform)")

    @model_validator(mode="after")
    def _uniform_cv(self):
        # A uniform on [mean - h, mean + h] has cv = h / (mean * sqrt 3); h > mean would give
        # negative durations, so a larger cv cannot be honoured (it used to be capped silently).
        if self.dist == "uniform" and self.cv > 1.0 / math.sqrt(3.0) + 1e-12:
            raise ValueError(f"a uniform duration's cv must be at most 1/sqrt(3) = 0.577 (no negative durations), got {self.cv}")
        if self.dist == "gamma" and 0 < self.cv < 1e-3:  # its shape 1/cv^2 would overflow: use fixed
            raise ValueError(f"a gamma duration's cv must be 0 or at least 0.001 (use dist: fixed), got {self.cv}")
        return self


class Shift(Strict):
    days: list[Weekday] = Field(min_length=1)
    start_hour: Annotated[float, Field(ge=0, le=24)]
    end_hour: Annotated[float, Field(ge=0, le=24)]

    @model_validator(mode="after")
    def _ordered(self):
        if self.end_hour <= self.start_hour:
            raise ValueError(f"end_hour ({self.end_hour}) must be after start_hour ({self.start_hour})")
        return self


class CalendarSpec(Strict):
    shifts: list[Shift] = Field(min_length=1)


class Horizon(Strict):
    days: Annotated[int, Field(gt=0, le=MAX_HORIZON_DAYS)] = 365
    warmup_days: Annotated[int, Field(ge=0)] = 0
    start_weekday: Weekday = "mon"


def _plain_text(text: str, allowed: str = "\t\n") -> str:
    if control := control_character(text, allowed):  # a YAML escape such as "\e" makes one
        raise ValueError(f"contains a control character ({control})")
    return text


# Free text reaches manifests, tables, reports and terminals, so it holds no control characters:
# a description or note may have tabs and line breaks, a label, source or place name is one line.
Text = Annotated[str, AfterValidator(_plain_text)]
TextLine = Annotated[str, AfterValidator(lambda text: _plain_text(text, allowed=""))]


class Street(Strict):
    """What the street holds; the names here are what ratio rules may count (``of:``)."""

    residents: Annotated[int, Field(gt=0, le=MAX_RESIDENTS)]
    residential_areas: Annotated[int, Field(gt=0, le=MAX_AREAS)]
    grids: Annotated[int, Field(gt=0, le=MAX_AREAS)]
    two_new_orgs: Annotated[int, Field(ge=0, le=MAX_ORGS)] = 0
    area_km2: Positive = 4.0
    # shown on the map and in its tooltips: one line, no control or bidirectional character
    grid_names: list[Annotated[TextLine, Field(max_length=40)]] | None = Field(
        None, description="names of the grids for the map (default: numbered)"
    )
    area_names: list[Annotated[TextLine, Field(max_length=40)]] | None = Field(
        None, description="names of the residential areas for the map (default: numbered)"
    )


class Role(Strict):
    """A staffed role: by ``count``, or by a ratio rule ``per: 150, of: two_new_orgs``."""

    kind: Literal[AGENT_KINDS]  # type: ignore[valid-type]
    count: Annotated[int, Field(gt=0, le=MAX_STAFF_PER_ROLE)] | None = None
    per: Positive | None = None
    of: Literal["residents", "residential_areas", "grids", "two_new_orgs"] | None = None
    each: Annotated[int, Field(gt=0, le=MAX_STAFF_PER_ROLE)] = Field(1, description="staff per counted unit (7 per area)")
    minimum: Annotated[int, Field(ge=1, le=MAX_STAFF_PER_ROLE)] = 1
    calendar: str = "office"
    triage: Literal["fifo", "priority", "deadline"] = "fifo"
    lines: Annotated[int, Field(gt=0, le=MAX_STAFF_PER_ROLE)] | Literal["residential_areas", "grids"] = Field(
        1, description="separate queues the staff are split into (1 = one pool)"
    )
    travel: Duration | None = None
    cost_per_year: Yuan = 0.0
    department: bool = Field(False, description="a district department outside the street")
    duties: dict[Literal[DUTIES], Fraction] = Field(  # type: ignore[valid-type]
        {}, description="fixed share of each working day spent on a duty (community police patrol their area)"
    )

    @model_validator(mode="after")
    def _count_or_ratio(self):
        if self.count is None and self.per is None:
            raise ValueError("give either count or a ratio rule (per, of)")
        if self.count is not None and self.per is not None:
            raise ValueError("give either count or a ratio rule (per, of), not both")
        if self.per is not None and self.of is None:
            raise ValueError("a ratio rule needs 'of' (what one worker per 'per' counts)")
        return self


class Arrivals(Strict):
    """Exactly one rate."""

    per_resident_per_year: NonNegative | None = None
    per_org_per_year: NonNegative | None = None
    per_hour: NonNegative | None = None

    @model_validator(mode="after")
    def _one_rate(self):
        given = [k for k, v in self.model_dump().items() if v is not None]
        if len(given) != 1:
            raise ValueError(f"give exactly one arrival rate, got {given or 'none'}")
        return self


class CaseType(Strict):
    category: Literal["component", "event", "service"]
    source: Literal["grid", "residents", "organisations"]
    arrivals: Arrivals
    arrival_profile: Literal["daytime", "office", "around_the_clock"] = "daytime"
    handling_class: Literal["A", "B", "C", "D"] = "A"
    roles: list[str] = Field(min_length=1, description="street roles that handle it; >1 = joint")
    handle: Duration
    deadline_hours: Hours = Field(description="working hours from registration to closure")
    priority: Annotated[int, Field(ge=0)] = 1
    on_spot_fix_share: Fraction = 0.0
    verify_on_site: bool = True
    channels: dict[Literal[CHANNELS], NonNegative] | None = None  # type: ignore[valid-type]
    acceptance_centre_item: bool = Field(False, description="handled at the one-stop window")


class Discovery(Strict):
    patrol_passes_per_day: Annotated[float, Field(gt=0.0, le=limits.MAX_PATROL_PASSES_PER_DAY)] = Field(
        2.0, description="passes each supervisor walks a day, spread over the shift")
    patrol_pass_hours: Hours = Field(1.5, description="working hours to walk one pass of the supervisor's beat")
    report: Duration = Duration(dist="fixed", mean_hours=0.1)
    reports_per_supervisor_per_day: Positive = 15.0
    resident_report_per_day: NonNegative = Field(
        0.05, description="chance per day that a resident reports a visible problem first"
    )
    on_spot_fix: Duration = Duration(dist="fixed", mean_hours=0.25)


class Register(Strict):
    role: str | None = "platform_officers"
    hours: Duration = Duration(dist="exponential", mean_hours=0.1)


class Dispatch(Strict):
    role: str | None = Field("platform_officers", description="who dispatches (their queue and time); null = nobody")
    hours: Duration = Duration(dist="exponential", mean_hours=0.1)
    district_transfer_hours: Hours = Field(
        2.0, description="working hours a case spends passing to the district centre and back (grid management at district level)"
    )


class Departments(Strict):
    """District departments' part of class B/C/D cases: a transfer, then an officer's work."""

    role: str | None = Field(None, description="staffing role of the departments' officers (their queue); null = no capacity limit")
    unlimited: bool = Field(False, description="ignore the role's capacity (what if departments never queued?)")
    calendar: str = "office"
    lag_hours: Hours = Field(8.0, description="working hours of transfer and paperwork before a department starts")
    work: Duration = Duration(dist="lognormal", mean_hours=4.0, cv=0.6)


class Hotline(Strict):
    """12345 work orders raised by escalations come back to the street."""

    reply: Duration = Duration(dist="fixed", mean_hours=1.0)
    deadline_hours: Hours = Field(40.0, description="working hours to answer the order")


class Close(Strict):
    verify_role: str | None = "grid_supervisors"
    verify: Duration = Duration(dist="fixed", mean_hours=0.25)
    fail_probability: Annotated[float, Field(ge=0.0, lt=1.0)] = Field(0.05, description="below 1: a check that always fails never closes a case")


class Loop(Strict):
    discovery: Discovery = Discovery()
    registration: Register = Register()
    dispatch: Dispatch = Dispatch()
    departments: Departments = Departments()
    close: Close = Close()
    hotline: Hotline = Hotline()


# --------------------------------------------------------------------------- reform levers
class InvestmentPromotion(Strict):
    enabled: bool = False
    share_of_time: Fraction = 0.0
    roles: list[str] = []


class Sections(Strict):
    count: Annotated[int, Field(gt=0)] = 8
    unified_count: Annotated[int, Field(gt=0)] = 8
    handoff_probability_per_extra_section: Fraction = 0.05
    handoff_hours: Hours = 4.0


class GridManagement(Strict):
    level: Literal["street", "district"] = "street"


class ResponsibilityLists(Strict):
    enabled: bool = True
    bounce_probability_with_lists: Fraction = 0.05
    bounce_probability_without_lists: Fraction = 0.3
    bounce_work: Duration = Field(Duration(dist="fixed", mean_hours=0.5), description="the wrong unit's time on a bounced case")
    max_bounces: Annotated[int, Field(ge=0, le=20)] = 5


class JointEnforcement(Strict):
    enabled: bool = True


class OneStopAcceptance(Strict):
    enabled: bool = True
    access_gain: Annotated[float, Field(ge=0.0, le=10.0)] = Field(0.0, description="how much easier the street is to reach (access index x (1 + gain))")


class StaggeredHours(Strict):
    """Staggered hours and weekend duty: the roles' staff take turns over these calendars."""

    enabled: bool = False
    roles: list[str] = []
    calendars: list[str] = Field(["staggered_early", "staggered_late"], min_length=1)


class DevolvedTasks(Strict):
    """Administrative tasks pushed down by district departments, competing with casework."""

    tasks_per_week: dict[str, NonNegative] = {}
    hours: Duration = Duration(dist="lognormal", mean_hours=2.0, cv=0.8)
    gatekeeping: bool = True
    accepted_share_with_gatekeeping: Fraction = 0.6
    priority: Annotated[int, Field(ge=0)] = 0


class DataSharing(Strict):
    enabled: bool = True
    collection_hours_per_worker_per_week_with: WeeklyHours = 0.5
    collection_hours_per_worker_per_week_without: WeeklyHours = 3.0
    roles: list[str] = []


class PurchasedServices(Strict):
    """Services bought from social organisations: extra capacity for service cases."""

    enabled: bool = False
    share_of_service_cases: Fraction = 0.0
    cost_per_year: Yuan = Field(0.0, description="yuan a year for the street's purchased projects")


class Levers(Strict):
    investment_promotion: InvestmentPromotion = InvestmentPromotion()
    sections: Sections = Sections()
    grid_management: GridManagement = GridManagement()
    responsibility_lists: ResponsibilityLists = ResponsibilityLists()
    joint_enforcement: JointEnforcement = JointEnforcement()
    one_stop_acceptance: OneStopAcceptance = OneStopAcceptance()
    staggered_hours: StaggeredHours = StaggeredHours()
    devolved_tasks: DevolvedTasks = DevolvedTasks()
    data_sharing: DataSharing = DataSharing()
    purchased_services: PurchasedServices = PurchasedServices()


# --------------------------------------------------------------------------- behaviours
class Overtime(Strict):
    enabled: bool = True
    backlog_per_worker_threshold: NonNegative = 5.0
    max_hours_per_day: Annotated[float, Field(ge=0.0, le=limits.MAX_OVERTIME_HOURS_PER_DAY)] = 2.0


class Rationing(Strict):
    enabled: bool = True
    backlog_per_worker_threshold: NonNegative = 8.0
    handle_time_factor: Annotated[float, Field(gt=0.0, le=1.0)] = 0.7
    extra_fail_probability: Fraction = 0.15


class Burnout(Strict):
    enabled: bool = True
    stress_gain_per_day: NonNegative = 0.05
    recovery_per_day: NonNegative = 0.03
    utilisation_threshold: Fraction = 0.85
    absence_probability_base: Fraction = 0.02
    absence_probability_at_full_stress: Fraction = 0.15
    exit_probability_per_year_base: Fraction = 0.05
    exit_probability_per_year_at_full_stress: Fraction = 0.5


class Hiring(Strict):
    enabled: bool = True
    # A post refilled after the longest horizon (3,650 days) is never refilled in any run: a longer
    # delay is a typo (1e300 was accepted); `enabled: false` is how to say "never".
    delay_days: Annotated[float, Field(ge=0.0, le=MAX_HORIZON_DAYS)] = 60.0
    cover_last_post: bool = Field(
        True, description="when a line's last worker leaves, a colleague is seconded at once (no empty desk), "
        "even with hiring off; without it, an empty line's cases wait for the next hire"
    )


class Trust(Strict):
    enabled: bool = True
    initial: Fraction = 0.6
    learning_rate: Fraction = 0.3
    reporting_elasticity: Annotated[float, Field(ge=0.0, le=10.0)] = Field(0.5, description="reporting rises by this x trust gap")
    hotline_escalation_at_zero_trust: Fraction = 0.5


class Demand(Strict):
    """Lipsky: demand rises to meet supply. Requests scale with access ** elasticity."""

    enabled: bool = True
    elasticity: Annotated[float, Field(ge=0.0, le=3.0)] = 0.0  # Lipsky's demand response; the sources suggest ~0.5
    max_access: Annotated[float, Field(ge=1.0, le=100.0)] = Field(
        2.0, description="the highest access level any compared scenario may reach (keeps random numbers common)"
    )


class Gaming(Strict):
    """Closure gaming: under sustained pressure a case is reported closed before it is fixed."""

    enabled: bool = False
    backlog_per_worker_threshold: NonNegative = 4.0
    probability: Fraction = 0.0


class Behaviour(Strict):
    overload_window_hours: Annotated[float, Field(gt=0.0, le=limits.MAX_DURATION_HOURS)] = Field(
        24.0, description="overload is the queue averaged over this window (a burst at a quiet desk does not count)"
    )
    demand: Demand = Demand()
    gaming: Gaming = Gaming()
    overtime: Overtime = Overtime()
    rationing: Rationing = Rationing()
    burnout: Burnout = Burnout()
    hiring: Hiring = Hiring()
    trust: Trust = Trust()


class Survey(Strict):
    """The street's yearly satisfaction survey (reform assessment): respondents per year."""

    respondents: Annotated[int, Field(ge=0, le=MAX_RESPONDENTS)] = 0


SAFE_NAME = r"^\w[\w.-]*$"  # a folder name under results/; \w is Unicode, so 改革方案_2015 is fine


class Scenario(Strict):
    name: str = Field(min_length=1, max_length=limits.MAX_NAME_CHARS, pattern=SAFE_NAME)
    description: Text = ""
    horizon: Horizon = Horizon()
    street: Street
    calendars: dict[str, CalendarSpec]
    staffing: dict[str, Role] = Field(min_length=1)
    case_types: dict[str, CaseType] = Field(min_length=1, max_length=limits.MAX_CASE_TYPES)
    loop: Loop = Loop()
    levers: Levers = Levers()
    behaviour: Behaviour = Behaviour()
    survey: Survey = Survey()


# --------------------------------------------------------------------------- ratio rules
def staff_count(role: Role, street: Street) -> int:
    """Staff of a role: its count, or ``each * ceil(street.<of> / per)`` but at least ``minimum``."""
    if role.count is not None:
        return role.count
    units = getattr(street, role.of)
    return max(role.minimum, role.each * math.ceil(units / role.per - 1e-9))


# --------------------------------------------------------------------------- loading
SCENARIO_START = "a scenario file starts with `name: <name>`"


def read_yaml(path: Path, starts: str = SCENARIO_START, read: list | None = None) -> dict:
    """A YAML file as a mapping; size, encoding, nesting, aliases and duplicate keys checked
    (``sim/safe_yaml.py``) before anything is built from it. ``starts`` says what a file of the
    kind read starts with, for an empty one. ``read``, if given, gets ``(path, text, node)``
    appended: the text as read and its YAML nodes, for the notes a command keeps of it
    (sim.notes.recorded_from)."""
    try:
        text = safe_yaml.read_text(path)
        data, node = safe_yaml.parsed(text)
    except safe_yaml.YamlError as e:
        raise ScenarioError(path, e.key, e.message) from None
    except FileNotFoundError:
        raise ScenarioError(path, "", "file not found") from None
    except OSError as e:
        raise ScenarioError(path, "", f"cannot read: {e.strerror or e}") from None
    if data is None:  # nothing but blank lines or comments: said so, not as its first missing key
        raise ScenarioError(path, "", f"is empty; {starts}")
    if not isinstance(data, dict):
        raise ScenarioError(path, "", f"must be a mapping of keys, got {type(data).__name__}")
    if read is not None:
        read.append((path, text, node))
    return data


def deep_merge(base: dict, changes: dict) -> dict:
    """``changes`` over ``base``; mappings merge key by key, anything else replaces."""
    out = copy.deepcopy(base)
    for key, value in changes.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = deep_merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def load_raw(path: str | Path, _chain: tuple = (), read: list | None = None) -> dict:
    """Read a YAML file and resolve its ``extends:`` chain (paths relative to the file); ``read``
    as :func:`read_yaml`'s, the file first, then the files it extends."""
    path = Path(path)
    try:
        key = path.resolve()
    except (OSError, RuntimeError) as e:  # RuntimeError: a loop of symbolic links
        raise ScenarioError(path, "", f"cannot read: {getattr(e, 'strerror', None) or e}") from None
    data = read_yaml(path, read=read)
    parent = data.pop("extends", None)
    if parent is None:
        return data
    if not isinstance(parent, str):
        raise ScenarioError(path, "extends", f"must be a file path, got {parent!r}")
    parent_path = referenced_file(path, "extends", _extends_folder(path), parent)
    _check_cycle(path, (*_chain, key), parent, parent_path)
    _check_chain(path, (*_chain, key), parent)
    try:
        parent_data = load_raw(parent_path, (*_chain, key), read)
    except ScenarioError as e:
        if e.key or e.file != str(parent_path):
            raise
        raise ScenarioError(path, "extends", f"{parent}: {e.message}") from None  # name the file that says it
    return deep_merge(parent_data, data)


def referenced_file(file, key: str, folder: Path, name: str) -> Path:
    """The file that ``key`` of ``file`` names (``extends:``, an experiment's ``scenario:``),
    relative to ``folder``; one line if it names none. An empty name was taken for the folder
    itself ("is a folder", naming the folder, not the file and key to mend), and a name longer
    than the system allows raised OSError (a traceback)."""
    if not name.strip():
        raise ScenarioError(file, key, "empty; give the path of a file")
    target = folder / name
    try:
        found = target.exists()
    except OSError as e:  # ENAMETOOLONG: exists() says False only for a missing file
        raise ScenarioError(file, key, f"cannot read {_shown(name)}: {e.strerror or e}") from None
    if not found:  # exists() is False for a link that leads to no file: named so (a loop was "not found")
        why = "a symbolic link that leads to no file (a loop of links, or a missing file)" if target.is_symlink() else "file not found"
        raise ScenarioError(file, key, f"{why}: {target}")
    return target


def _extends_folder(path: Path) -> Path:
    """Where a relative ``extends:`` starts: the file's folder, or the working folder for
    standard input and other descriptors (``cat f | streetsim run /dev/stdin``): a pipe has
    no folder of its own, and /dev is none of the user's."""
    folder = path.absolute().parent
    if folder in (Path("/dev"), Path("/dev/fd")) or (folder.parts[:2] == ("/", "proc") and folder.name == "fd"):
        return Path(".")
    return path.parent


def _check_cycle(path: Path, chain: tuple[Path, ...], parent: str, parent_path: Path) -> None:
    """An ``extends:`` back to a file of the chain is named on ``path``, whose ``extends:`` closes
    the cycle (the file to edit), with the cycle once: ``a.yaml → b.yaml → a.yaml``."""
    try:
        target = parent_path.resolve()
    except (OSError, RuntimeError):  # a loop of symbolic links: load_raw says it cannot be read
        return
    if target in chain:
        cycle = " → ".join(p.name for p in (*chain[chain.index(target) :], target))
        raise ScenarioError(path, "extends", f"{parent} makes a cycle ({cycle})")


def _check_chain(path: Path, chain: tuple[Path, ...], parent: str) -> None:
    """A chain of ``extends:`` is held to what one file may be: each file is read whole and
    every parent merged, so a long chain of large files took minutes before it was refused.
    Checked before ``parent`` (as ``path`` writes it) is read, and named on ``path``, whose
    ``extends:`` adds it: the file to edit (the parent may be a good file others extend)."""
    files = len(chain) + 1
    if files > limits.MAX_EXTENDS_CHAIN:
        raise ScenarioError(path, "extends", f"{parent} would be file {files} of the chain from {chain[0].name}: "
                            f"a chain of more than {limits.MAX_EXTENDS_CHAIN} files")  # fmt: skip
    size = sum(_regular_size(p) for p in (*chain, _extends_folder(path) / parent))  # a device or pipe is bounded by read_yaml
    if size > limits.MAX_FILE_BYTES:
        raise ScenarioError(path, "extends", f"{parent} makes the chain from {chain[0].name} {files} files of "
                            f"{size:,} bytes; the limit is {limits.MAX_FILE_BYTES:,} in all, as for one file")  # fmt: skip


def _regular_size(path: Path) -> int:
    """Bytes of a regular file; 0 for anything else (read_yaml bounds it, or says why not)."""
    try:
        return path.stat().st_size if path.is_file() else 0
    except OSError:
        return 0


def control_character(text: str, allowed: str = "") -> str | None:
    """The first control character (``_CONTROL``: C0, DEL, C1, a line separator or a
    bidirectional control) in ``text`` not in ``allowed``, as "U+001B"; None if there is none."""
    c = next((m.group() for m in _CONTROL.finditer(text) if m.group() not in allowed), None)
    return None if c is None else f"U+{ord(c):04X}"


def key_path(path: str) -> list[str]:
    """``a.b.c`` -> ['a', 'b', 'c']; ValueError for an empty part (``horizon..days`` is a typo,
    not horizon.days). A --set's and a district street's ``set:`` keys."""
    keys = path.split(".")
    if "" in keys:
        raise ValueError(f"{path}: an empty part between dots")
    return keys


def parse_assignment(text: str) -> tuple[list[str], object]:
    """``a.b.c=VALUE`` -> (['a','b','c'], VALUE read as YAML, so 12 is an int, true a bool).
    ValueError's message names the key path; the caller says it is --set's."""
    if "=" not in text:
        raise ValueError(f"{text!r}: expected KEY.PATH=VALUE")
    path, value = text.split("=", 1)
    if not path.strip():
        raise ValueError(f"{text!r}: empty key path")
    keys = key_path(path.strip())
    if len(value) > limits.MAX_FILE_BYTES:
        raise ValueError(f"{path}: value longer than {limits.MAX_FILE_BYTES:,} characters")
    # taken as plain text, it reached the manifest and the terminal. Line breaks are YAML's own
    # (a value longer than a line, as safe_yaml.inline writes the API's and sweeps' values)
    if control := control_character(text, allowed="\t\n\r"):
        raise ValueError(f"{path.strip()[:80]!r}: contains a control character ({control})")
    try:
        parsed = safe_yaml.parse(value)
    except safe_yaml.YamlError as e:
        if "invalid YAML" not in e.message:  # the key path inside the value too (description.1)
            raise ValueError(f"{'.'.join(filter(None, (path.strip(), e.key)))}: {e.message}") from None
        parsed = value  # not YAML: the text itself, as before
    return keys, parsed


# Sections whose keys are names the scenario gives (roles, case types, calendars): a --set below
# a name the file does not have is a misspelt name, not a new entry.
NAMED_SECTIONS = ("staffing", "case_types", "calendars")


def apply_overrides(data: dict, assignments: list[str], file) -> dict:
    """``data`` (a copy) with each ``--set KEY.PATH=VALUE`` of ``assignments`` applied."""
    data = copy.deepcopy(data)
    for text in assignments or []:
        try:
            keys, value = parse_assignment(text)
        except ValueError as e:
            raise ScenarioError(file, "--set", str(e)) from None
        set_key(data, keys, value, file)
    return data


def set_key(data: dict, keys: list[str], value, file, named: tuple[str, str] | None = None) -> None:
    """Set ``data[keys[0]][keys[1]]... = value`` in place. An error names ``--set`` and the key
    path, or ``named`` (file, key path) where the assignment was written (a district file's
    ``streets.N.set.KEY``)."""

    def error(where_file, where_key, message):
        return ScenarioError(*(named or (where_file, where_key)), message)

    section = data.get(keys[0])
    if len(keys) > 2 and keys[0] in NAMED_SECTIONS and isinstance(section, dict) and keys[1] not in section:
        raise error("--set", ".".join(keys), f"{file} has no {keys[0]} entry {keys[1]!r} "
                    f"(it has: {', '.join(map(str, section))})")  # fmt: skip
    node = data
    for i, k in enumerate(keys[:-1]):
        nxt = node.get(k)
        if nxt is None:
            nxt = node[k] = {}
        if not isinstance(nxt, dict):
            raise error(file, ".".join(keys[: i + 1]), f"{'.'.join(keys[: i + 1])} is not a mapping; cannot set below it"
                        if named else "is not a mapping; cannot set below it")  # fmt: skip
        node = nxt
    if keys[-1] in ("count", "per") and isinstance(value, (int, float)):
        # Setting a count replaces a ratio rule and vice versa: one staffing rule per role.
        other = ("per", "of") if keys[-1] == "count" else ("count",)
        for o in other:
            node.pop(o, None)
    node[keys[-1]] = value


def format_validation_error(file, err: ValidationError) -> ScenarioError:
    first = err.errors()[0]
    loc = [str(p) for p in first["loc"] if not str(p).startswith(("function-after", "literal["))]
    # pydantic puts union branch names in the path; keep the user's keys only
    loc = [p for p in loc if p not in ("int", "float", "str", "bool", "constrained-int")]
    msg = first["msg"]
    if msg.startswith("Value error, "):
        msg = msg[len("Value error, ") :]
    if first["type"] == "extra_forbidden":
        msg = "unknown key (check the spelling against `streetsim schema`)"
    elif first["type"] != "missing" and "input" in first and not isinstance(first["input"], dict):
        value = first["input"]
        msg = f"{msg}, got {_shown(value)}"
        if first["type"] == "int_type" and isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
            msg += f" (a whole number is written without a decimal point: {int(value)})"  # 1.5e5 reads as 150000.0
    return ScenarioError(file, ".".join(loc), msg)


def _shown(value) -> str:
    """A value as an error line quotes it. A whole number past 15 digits (1e300 is read as one)
    as 1e+300, not its 301 digits."""
    if isinstance(value, int) and 1e15 <= abs(value) <= sys.float_info.max:
        return f"{value:.3g}"
    got = repr(value)
    return got if len(got) <= 60 else got[:57] + "..."


def build(data: dict, file="<scenario>") -> Scenario:
    if isinstance(data, dict) and "streets" in data and "street" not in data:  # was "street: Field required"
        raise ScenarioError(file, "streets", "a district or city file (it has streets:), which `streetsim run` runs; "
                            "this command takes one street's scenario file")  # fmt: skip
    try:
        scenario = Scenario.model_validate(data)
    except ValidationError as e:
        raise format_validation_error(file, e) from None
    except RecursionError:
        raise ScenarioError(file, "", f"nested more than {limits.MAX_NESTING} levels deep") from None
    check_references(scenario, file)
    return scenario


def load(path: str | Path, overrides: list[str] | None = None, read: list | None = None) -> Scenario:
    """Load a scenario file, resolving ``extends:`` and applying ``--set`` overrides; ``read`` as
    :func:`load_raw`'s."""
    return from_raw(load_raw(path, read=read), path, overrides)


def from_raw(data: dict, path: str | Path, overrides: list[str] | None = None) -> Scenario:
    """The scenario ``path``'s :func:`load_raw` gave (``data``), with ``--set`` overrides."""
    if overrides:  # data is a fresh dict: copied (by apply_overrides) only when something is set in it
        data = apply_overrides(data, overrides, path)
    return build(data, path)


# A role's, case type's or calendar's name becomes part of KPI names and CSV cells: a word, and
# none that a table reader takes for a missing value, a number or a truth value.
ENTRY_NAME = re.compile(r"[^\W\d]\w{0,63}")  # whole name (fullmatch: "$" lets a final line break through)
NOT_ENTRY_NAMES = frozenset({"na", "nan", "null", "none", "n_a", "inf", "infinity", "true", "false"})
MAX_NAME_BYTES = 200  # a scenario's name is a folder name (255 bytes on Linux, less room for a suffix)


def check_names(s: Scenario, file) -> None:
    if len(s.name.encode()) > MAX_NAME_BYTES:
        raise ScenarioError(file, "name", f"{len(s.name.encode())} bytes in UTF-8; a folder name allows {MAX_NAME_BYTES}")
    for section in NAMED_SECTIONS:
        for name in getattr(s, section):
            if not ENTRY_NAME.fullmatch(name) or name.lower() in NOT_ENTRY_NAMES:
                raise ScenarioError(file, f"{section}.{name}", "a name must be a word of letters, digits and _ "
                                    "(up to 64, not starting with a digit, and not NA, nan, null, none, inf, true or false)")  # fmt: skip


def duty_sources(s: Scenario, role: str, hours_per_week: float) -> list[tuple[str, float, str]]:
    """``(duty, share of a working day, the key that sets it)`` for the role's fixed duties: its
    own (patrol), then what the investment-promotion and data-sharing levers give it (a lever's
    duty replaces the role's own of the same name). The key is what an error names."""
    lv = s.levers
    sources = [(duty, share, f"staffing.{role}.duties") for duty, share in s.staffing[role].duties.items()]
    ip = lv.investment_promotion
    if ip.enabled and role in ip.roles:
        sources.append(("investment_promotion", ip.share_of_time, "levers.investment_promotion.share_of_time"))
    ds = lv.data_sharing
    if role in ds.roles:
        which = "with" if ds.enabled else "without"
        weekly = getattr(ds, f"collection_hours_per_worker_per_week_{which}")
        sources.append(("data_collection", min(1.0, weekly / hours_per_week),
                        f"levers.data_sharing.collection_hours_per_worker_per_week_{which}"))  # fmt: skip
    return sources


def duty_shares(s: Scenario, role: str, hours_per_week: float) -> dict[str, float]:
    """Shares of a working day the role's staff spend on fixed duties (``duty_sources``).
    sim.street sets each team's from here; keep the order: a worker takes today's duties last
    first (dict.popitem), so reordering them changes every run. A later source of the same duty
    keeps the first one's place, as assigning to a dict does."""
    return {duty: share for duty, share, _key in duty_sources(s, role, hours_per_week)}


def _check_duties(s: Scenario, file) -> None:
    """A role's fixed duties together take at most its whole working day. The error names the
    key to change: the role's own duties if they alone exceed a day, else the levers' keys that
    add duties to it (the role's own key would send the user to a value that is not too large)."""
    from sim.calendar import weekly_hours

    for name, role in s.staffing.items():
        hours = weekly_hours(role.calendar, s.calendars[role.calendar].shifts)
        by_duty = {duty: (share, key) for duty, share, key in duty_sources(s, name, hours)}
        total = sum(share for share, _key in by_duty.values())
        if total <= 1.0 + 1e-9:
            continue
        shares = " + ".join(f"{duty} {share:.3g}" for duty, (share, _key) in by_duty.items())
        own_key = f"staffing.{name}.duties"
        own = sum(share for share, key in by_duty.values() if key == own_key)
        lever_keys = list(dict.fromkeys(key for _share, key in by_duty.values() if key != own_key))
        if own > 1.0 + 1e-9 or not lever_keys:
            raise ScenarioError(file, own_key, f"fixed duties take {shares} = {total:.3g} of a working day; at most 1")
        lever_roles = " and ".join(k.rsplit(".", 1)[0] + ".roles" for k in lever_keys)
        levers_add, it = ("the levers add", "them") if len(lever_keys) > 1 else ("the lever adds", "it")
        raise ScenarioError(file, ", ".join(lever_keys), f"fixed duties of {name} take {shares} = {total:.3g} of a "
                            f"working day with what {levers_add}; at most 1 (lower {it}, or take {name} out of "
                            f"{lever_roles})")  # fmt: skip


def check_references(s: Scenario, file) -> None:
    """Cross-references that the schema alone cannot check."""
    check_names(s, file)
    try:
        limits.check_scenario(s)  # first: staff_count below must not meet 1/1e-300
    except limits.LimitError as e:
        raise ScenarioError(file, e.key, e.message) from None
    for name, role in s.staffing.items():
        if role.calendar not in s.calendars:
            raise ScenarioError(file, f"staffing.{name}.calendar", f"unknown calendar {role.calendar!r}")
        if role.per is not None and staff_count(role, s.street) <= 0:
            raise ScenarioError(file, f"staffing.{name}", "ratio rule gives no staff")
    if s.street.residents < s.street.residential_areas:
        raise ScenarioError(file, "street.residents", f"fewer residents ({s.street.residents}) than residential areas ({s.street.residential_areas})")
    for name, ct in s.case_types.items():
        if len(set(ct.roles)) != len(ct.roles):
            raise ScenarioError(file, f"case_types.{name}.roles", f"a role is listed twice: {ct.roles}")
        for r in ct.roles:
            if r not in s.staffing:
                raise ScenarioError(
                    file, f"case_types.{name}.roles", f"needs role {r!r}, which has no staff in staffing"
                )
        if ct.source == "grid" and ct.channels:
            raise ScenarioError(file, f"case_types.{name}.channels", "grid problems are found on patrol or reported by residents; channels apply to requests")
        if ct.channels is not None and sum(ct.channels.values()) <= 0:
            raise ScenarioError(file, f"case_types.{name}.channels", "shares must add up to more than 0")
    refs = (
        ("loop.registration.role", s.loop.registration.role), ("loop.close.verify_role", s.loop.close.verify_role),
        ("loop.dispatch.role", s.loop.dispatch.role), ("loop.departments.role", s.loop.departments.role),
    )
    for key, role in refs:
        if role is not None and role not in s.staffing:
            raise ScenarioError(file, key, f"role {role!r} has no staff in staffing")
    lv = s.levers
    role_lists = {
        "levers.investment_promotion.roles": lv.investment_promotion.roles,
        "levers.staggered_hours.roles": lv.staggered_hours.roles,
        "levers.data_sharing.roles": lv.data_sharing.roles,
        "levers.devolved_tasks.tasks_per_week": list(lv.devolved_tasks.tasks_per_week),
    }
    for key, roles in role_lists.items():
        for r in roles:
            if r not in s.staffing:
                raise ScenarioError(file, key, f"role {r!r} has no staff in staffing")
    if lv.staggered_hours.enabled:
        for c in lv.staggered_hours.calendars:
            if c not in s.calendars:
                raise ScenarioError(file, "levers.staggered_hours.calendars", f"unknown calendar {c!r}")
    _check_duties(s, file)
    for name, role in s.staffing.items():
        lines = role.lines if isinstance(role.lines, int) else getattr(s.street, role.lines)
        if staff_count(role, s.street) < lines:
            raise ScenarioError(
                file, f"staffing.{name}.lines",
                f"{lines} lines need at least one worker each, but the role has {staff_count(role, s.street)} staff",
            )
    needs_department = any(ct.handling_class != "A" for ct in s.case_types.values())
    if needs_department and s.loop.departments.role is None and s.loop.departments.calendar not in s.calendars:
        raise ScenarioError(file, "loop.departments.calendar", f"unknown calendar {s.loop.departments.calendar!r}")
    if s.behaviour.demand.enabled and s.behaviour.demand.elasticity > 0 and s.levers.staggered_hours.enabled and not s.levers.staggered_hours.roles:
        raise ScenarioError(file, "levers.staggered_hours.roles", "staggered hours need a role whose office hours they extend")
    for key, names, n in (("street.grid_names", s.street.grid_names, s.street.grids),
                          ("street.area_names", s.street.area_names, s.street.residential_areas)):
        if names is not None and len(names) != n:
            raise ScenarioError(file, key, f"gives {len(names)} names for {n}")
    if s.horizon.warmup_days >= s.horizon.days:
        raise ScenarioError(file, "horizon.warmup_days", "must be shorter than horizon.days")


def dump(s: Scenario) -> str:
    """The fully resolved scenario as YAML (every default written out)."""
    return safe_yaml.dump(s.model_dump(mode="json"), sort_keys=False, allow_unicode=True)


def json_schema() -> dict:
    return Scenario.model_json_schema()
