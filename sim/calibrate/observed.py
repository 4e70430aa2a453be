"""Observed files: what a street is seen to do, and which scenario parameters may move to match it.

    calibration: changning_2015
    discrepancy_share: 0.05          # model discrepancy sd, as a share of |observed value|
    observed:
      - quantity: patrol_discovery_share      # a KPI column, or a measure (sim.calibrate.measures)
        value: 0.966
        sd: 0.015                             # the observation's uncertainty (one standard deviation)
        source: "Kunming 2024 97.6%; Tianmen 2016 95.7% (domain.md)"
    parameters:                               # dotted key paths, as `--set` writes them
      loop.discovery.resident_report_per_day: {min: 0.01, max: 0.3, scale: log}
    method: {waves: 3, points: 30, replications: 2, cutoff: 3, seed: 2015, set: ["horizon.days=120"]}

Staffing is what a planner studies, so it never moves in a calibration: a ``staffing.`` path is
an error, as is a path the scenario does not have or that does not hold a number.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from sim import limits, safe_yaml
from sim import scenario as scenario_mod
from sim.columns import kpi_names, unknown
from sim.scenario import ScenarioError, Text, TextLine

TOP_KEY = "calibration"
STARTS = f"an observed file starts with `{TOP_KEY}: <name>`"  # said of a file without it, or empty
FORBIDDEN_PREFIXES = ("staffing.",)  # the staffing under study never moves


class Strict(BaseModel):
    # as scenario files: "0.05" is not a number, and no NaN or infinity (an infinite sd gave NaN weights)
    model_config = ConfigDict(extra="forbid", strict=True, allow_inf_nan=False)


Positive = Annotated[float, Field(gt=0)]
# an observed value, sd or range bound past this is a typo, and squared it overflows (sim.limits)
Magnitude = Annotated[float, Field(ge=-limits.MAX_OBSERVED_MAGNITUDE, le=limits.MAX_OBSERVED_MAGNITUDE)]


class Observation(Strict):
    quantity: str = Field(description="a KPI column of summary.csv or a measure (sim.calibrate.measures)")
    value: Magnitude
    sd: Annotated[float, Field(gt=0, le=limits.MAX_OBSERVED_MAGNITUDE)] = Field(description="the observation's uncertainty, one standard deviation, in the quantity's unit")
    source: TextLine = Field(min_length=1, description="where the figure comes from")
    discrepancy_sd: Annotated[float, Field(ge=0, le=limits.MAX_OBSERVED_MAGNITUDE)] | None = Field(
        None, description="model discrepancy sd for this row (default: discrepancy_share x |value|)"
    )
    note: Text = ""


class Range(Strict):
    min: Magnitude
    max: Magnitude
    scale: Literal["linear", "log"] = Field("linear", description="log: uniform in the logarithm (prior and design)")
    source: TextLine = ""

    @model_validator(mode="after")
    def _ordered(self):
        if self.max <= self.min:
            raise ValueError(f"max ({self.max}) must be greater than min ({self.min})")
        if self.scale == "log" and self.min <= 0:
            raise ValueError("scale log needs min > 0")
        return self


class Method(Strict):
    # upper bounds: what a calibration on a laptop or a cluster can hold (each point is a batch of runs;
    # candidates and draws are held in memory at once); together, MEMORY_BYTES
    waves: Annotated[int, Field(ge=1, le=10)] = 3
    points: Annotated[int, Field(ge=4, le=1000)] = 30
    replications: Annotated[int, Field(ge=2, le=100)] = 2
    cutoff: Positive = Field(3.0, description="implausibility cutoff (Pukelsheim's three-sigma rule)")
    seed: Annotated[int, Field(ge=0, le=2**32 - 1)] = 1
    candidates: Annotated[int, Field(ge=1000, le=1_000_000)] = 20000
    posterior_draws: Annotated[int, Field(ge=2, le=10_000)] = 10
    set: list[str] = Field(default_factory=list, description="fixed overrides while calibrating, e.g. a shorter horizon")


class ObservedFile(Strict):
    calibration: str = Field(pattern=r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,99}$", description="the calibration's name")
    description: Text = ""
    discrepancy_share: Annotated[float, Field(ge=0, le=limits.MAX_DISCREPANCY_SHARE)] = Field(0.05, description="default model discrepancy sd / |value|")
    observed: list[Observation] = Field(min_length=1)
    parameters: dict[str, Range] = Field(min_length=1)
    method: Method = Method()


# What a calibration's emulators and candidates may hold at once (a laptop's, or a cluster task's,
# few GB), besides the chunks candidates are predicted in (sim.calibrate.emulator.PREDICT_BYTES).
# Measured with tracemalloc (scikit-learn 1.9; README, Calibration): a Gaussian-process fit on N runs
# with d parameters peaks at 3 x N^2 x (d + 2) 8-byte numbers (its likelihood's gradient) and a
# fitted one keeps N^2 (its Cholesky factor), for every observed row and every wave; the candidate
# steps (history matching, the posterior) hold about 7 numbers per candidate per observed row and
# parameter. 10 waves of 1,000 points x 100 replications asked for terabytes after thousands of runs.
MEMORY_BYTES = 3 * 10**9
CANDIDATE_NUMBERS = 7


def memory_needed(m: Method, parameters: int, rows: int) -> tuple[int, int]:
    """Bytes the emulators and the candidates hold at most (see MEMORY_BYTES)."""
    per_wave = m.points * m.replications
    runs = m.waves * per_wave
    kept = rows * sum((k * per_wave) ** 2 for k in range(1, m.waves + 1))  # the emulators fitted after wave k
    return 8 * (3 * runs**2 * (parameters + 2) + kept), 8 * CANDIDATE_NUMBERS * m.candidates * (rows + parameters)


def _check_memory(spec: ObservedFile, file: Path, flags: dict) -> None:
    """Before any run: the method fits MEMORY_BYTES. Named by the command's flags if any were given."""
    m, d, rows = spec.method, len(spec.parameters), len(spec.observed)
    emulators, candidates = memory_needed(m, d, rows)
    if emulators + candidates <= MEMORY_BYTES:
        return
    given = [f"--{k}" for k in ("waves", "points", "replications") if k in flags]
    where = (", ".join(given), "") if given else (file, "method")
    raise ScenarioError(*where, (
        f"{m.waves} waves x {m.points} points x {m.replications} replications ({m.waves * m.points * m.replications:,} runs) "
        f"and {m.candidates:,} candidates, for {d} parameter(s) and {rows} observed row(s), would hold "
        f"{(emulators + candidates) / 1e9:.1f} GB at once ({emulators / 1e9:.1f} GB of Gaussian-process emulators, which "
        f"grow as the runs squared; {candidates / 1e9:.1f} GB of candidates); at most {MEMORY_BYTES / 1e9:g} GB: "
        "fewer waves, points, replications or candidates"))  # fmt: skip


@dataclass
class Calibration:
    """A checked observed file against a scenario."""

    spec: ObservedFile
    file: Path
    text: str
    scenario_file: Path
    base: dict  # the scenario's raw data with extends:, method.set and the command line's --set applied
    sets: list[str]
    original: dict  # the scenario's raw data with extends: applied, nothing set

    @property
    def params(self) -> list[str]:
        return list(self.spec.parameters)

    @property
    def overrides(self) -> list[str]:
        """The command line's --set: part of the model calibrated. The observed file's method.set,
        before them in ``sets``, is how the calibration's runs were made (a shorter horizon)."""
        return self.sets[len(self.spec.method.set) :]

    def discrepancy_sd(self, obs: Observation) -> float:
        return obs.discrepancy_sd if obs.discrepancy_sd is not None else self.spec.discrepancy_share * abs(obs.value)

    def digest(self) -> str:
        """What the runs and designs depend on: a folder holding another digest is another calibration.
        The number of waves and of posterior draws are left out, so a calibration can be extended."""
        spec = self.spec.model_dump(mode="json", exclude={"method": {"waves", "posterior_draws"}, "description": True})
        for row in spec["observed"]:  # sources and notes are words; they change no run
            row.pop("source"), row.pop("note")
        blob = json.dumps({"spec": spec, "base": self.base}, sort_keys=True, default=str)
        return hashlib.sha256(blob.encode()).hexdigest()[:16]


def load_alone(observed_file: Path, method: dict | None = None) -> ObservedFile:
    """The observed file checked on its own (``load`` checks it against the scenario too)."""
    data = scenario_mod.read_yaml(observed_file, STARTS)
    if TOP_KEY not in data:
        raise ScenarioError(observed_file, TOP_KEY, f"missing: {STARTS}")
    try:
        spec = ObservedFile.model_validate(data)
    except ValidationError as e:
        raise scenario_mod.format_validation_error(observed_file, e) from None
    if method:
        try:
            spec.method = Method.model_validate({**spec.method.model_dump(), **method})
        except ValidationError as e:
            err = scenario_mod.format_validation_error(observed_file, e)
            name = err.key.split(".")[0]
            if name in method:  # the command line's --waves, --points, --replications or --seed
                raise ScenarioError(f"--{name}", "", err.message) from None
            raise ScenarioError(observed_file, f"method.{err.key}", err.message) from None
    _check_memory(spec, observed_file, method or {})
    return spec


def load(scenario_file: str | Path, observed_file: str | Path, extra_sets: list[str] | None = None,
         method: dict | None = None) -> Calibration:
    """Read and check both files; raises ScenarioError (one line) on anything wrong. ``method``
    overrides the file's method settings (the command's --waves, --points, ...)."""
    from sim.calibrate.measures import measure_names  # pandas: not needed to check the file alone
    from sim.sweep.experiment import point_overrides  # how the runs will write each value

    observed_file, scenario_file = Path(observed_file), Path(scenario_file)
    spec = load_alone(observed_file, method)
    sets = [*spec.method.set, *(extra_sets or [])]
    original = scenario_mod.load_raw(scenario_file)
    base = scenario_mod.apply_overrides(original, sets, scenario_file)
    settings = scenario_mod.build(base, scenario_file)
    resolved = settings.model_dump(mode="json")
    for key, rng in spec.parameters.items():
        _check_parameter(observed_file, key, resolved)
        for end in (rng.min, rng.max):  # the whole range must give valid scenarios
            # written as the runs write it: a whole number without a point (a count's 20000, not 20000.0)
            assignment = point_overrides([key], [end])
            try:
                scenario_mod.build(scenario_mod.apply_overrides(base, assignment, scenario_file), scenario_file)
            except ScenarioError as e:
                raise ScenarioError(observed_file, f"parameters.{key}", f"{end:g} gives an invalid scenario: {e.key}: {e.message}") from None
    known = set(kpi_names(settings)) | set(measure_names(settings))
    for i, obs in enumerate(spec.observed):
        if obs.quantity not in known:
            raise ScenarioError(observed_file, f"observed.{i}.quantity", unknown("quantity", obs.quantity, known,
                                                f"a KPI, a column of summary.csv, or one of {', '.join(measure_names(settings))}"))
    text = safe_yaml.read_text(observed_file)  # as read and checked above (a pipe is read once)
    cal = Calibration(spec, observed_file, text, scenario_file, base, sets, original)
    _check_writable(cal)
    return cal


CALIBRATED = "_calibrated"  # the calibrated scenario's file and name are the original's with this suffix


def calibrated_file(cal, out: Path) -> Path:
    """Where the calibrated scenario is written: in ``out``, named after the scenario file (checked
    before any run: sim.calibrate.commands; a name past the file-name limit failed after them all)."""
    return out / f"{cal.scenario_file.stem}{CALIBRATED}.yaml"


def calibrated_model(cal: Calibration, values: dict) -> dict:
    """The raw data of the model calibrated, at ``values`` (key path -> value): the original with
    the command line's --set and ``values``, not the observed file's method.set."""
    from sim.sweep.experiment import point_overrides  # how the runs write each value

    assignments = [*cal.overrides, *point_overrides(list(values), list(values.values()))]
    return scenario_mod.apply_overrides(cal.original, assignments, cal.scenario_file)


def changes(before: dict, after: dict) -> dict:
    """What a scenario extending ``before`` says to give ``after`` (scenario.deep_merge), as far
    as it can: the keys changed, and a removed key (a role's ``per`` when a --set gave its count)
    as None, since a merge of mappings cannot remove one."""
    out = {k: None for k in before if k not in after}
    for k, v in after.items():
        if isinstance(v, dict) and isinstance(before.get(k), dict):
            if inner := changes(before[k], v):
                out[k] = inner
        elif k not in before or before[k] != v:
            out[k] = v
    return out


def _check_writable(cal: Calibration) -> None:
    """Before any run: the calibrated scenario, which extends the original, can say the model
    calibrated. It can add and change keys, not remove them: a --set that replaces a mapping
    (levers.x={enabled: true}) drops its other keys, and a scenario extending the original keeps them."""
    values = {key: rng.min for key, rng in cal.spec.parameters.items()}  # any valid point will do
    meant = calibrated_model(cal, values)
    model = scenario_mod.build(meant, cal.scenario_file).model_dump(mode="json")
    try:
        written = scenario_mod.build(scenario_mod.deep_merge(cal.original, changes(cal.original, meant)), cal.scenario_file)
    except ScenarioError:  # a removed key written as None, where None is not a value
        written = None
    if written is None or written.model_dump(mode="json") != model:
        raise ScenarioError("--set", "", "replaces a whole mapping, which the calibrated scenario (it extends "
                            f"{cal.scenario_file.name}) cannot say: set the mapping's keys one by one (KEY.PATH.KEY=VALUE)")  # fmt: skip


def _check_parameter(file: Path, key: str, resolved: dict) -> None:
    where = f"parameters.{key}"
    if key.startswith(FORBIDDEN_PREFIXES) or key == "staffing":
        raise ScenarioError(file, where, "staffing is what the scenario studies; a calibration never moves it")
    node = resolved
    for part in key.split("."):
        if not isinstance(node, dict) or part not in node:
            raise ScenarioError(file, where, "the scenario has no such key (check it against `streetsim schema`)")
        node = node[part]
    if isinstance(node, bool) or not isinstance(node, (int, float)):
        raise ScenarioError(file, where, f"holds {node!r}, not a number; only numbers can be calibrated")
