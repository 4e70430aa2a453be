"""Experiment files: which scenario parameters to vary, over which design, how many replications.

An experiment file is recognised by its top-level ``experiment:`` key (the experiment's name)::

    experiment: party_worker_ratio
    scenario: ../scenarios/reform_2015.yaml      # relative to this file
    set: ["horizon.days=180"]                    # fixed overrides, as `streetsim run --set`
    parameters:
      staffing.party_workers.per: {min: 100, max: 250, step: 25}
    design: factorial                            # or {type: lhs|sobol|morris, samples: N}
    replications: 10
    seed: 2015
    kpis: [on_time_resident, wait_mean_days]
    timeseries: false                            # or true, or a list of daily columns

Designs come from SALib (Latin hypercube, Sobol/Saltelli, Morris); a full factorial is the
product of each parameter's levels. Integer-valued scenario keys (staff counts, ``lines``, days)
are detected from the scenario schema and sampled so that every integer in ``[min, max]`` is
equally likely.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import math
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Literal

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

import sim
from sim import limits, safe_yaml
from sim import scenario as scenario_mod
from sim.provenance import code_fingerprint
from sim.scenario import ScenarioError, Text, TextLine

TOP_KEY = "experiment"  # a YAML file with this top-level key is an experiment, not a scenario
STARTS = f"an experiment file starts with `{TOP_KEY}: <name>`"  # said of a file without it, or empty

SAMPLE_PREFIX = "sample:"  # design.parquet columns holding SALib's unrounded sample


class Strict(BaseModel):
    # as in scenario files: no NaN or infinity, `replications: true` is not 1
    model_config = ConfigDict(extra="forbid", strict=True, allow_inf_nan=False)


Number = int | float


MAX_PARAMETER_MAGNITUDE = 1e12  # larger bounds overflow the samplers (and no scenario key needs them)


class Parameter(Strict):
    """One scenario key to vary: discrete ``values``, a range, or a distribution."""

    values: list[int | float | str | bool] | None = Field(None, min_length=1, description="discrete levels")
    min: float | None = None
    max: float | None = None
    step: float | None = Field(None, gt=0, description="factorial: levels min, min+step, ..., max")
    num: int | None = Field(None, ge=2, description="factorial: num evenly spaced levels from min to max")
    dist: Literal["uniform", "log_uniform", "triangular", "normal", "truncated_normal", "lognormal"] = "uniform"
    mode: float | None = Field(None, description="triangular: the peak")
    mean: float | None = None
    sd: float | None = Field(None, gt=0)
    integer: bool | None = Field(None, description="default: from the scenario schema (counts are integers)")
    label: TextLine | None = Field(None, description="axis label with unit, for figures")

    @model_validator(mode="after")
    def _one_kind(self):
        ranged = self.min is not None or self.max is not None
        if self.values is not None and (ranged or self.mean is not None):
            raise ValueError("give either values or a range/distribution, not both")
        if self.values is None:
            needs = {
                "uniform": ("min", "max"), "log_uniform": ("min", "max"), "triangular": ("min", "max", "mode"),
                "normal": ("mean", "sd"), "truncated_normal": ("min", "max", "mean", "sd"), "lognormal": ("mean", "sd"),
            }[self.dist]  # fmt: skip
            missing = [k for k in needs if getattr(self, k) is None]
            if missing:
                raise ValueError(f"dist {self.dist} needs {', '.join(needs)}; missing {', '.join(missing)}")
            if self.min is not None and self.max is not None and self.max <= self.min:
                raise ValueError(f"max ({self.max}) must be greater than min ({self.min})")
            if self.dist == "log_uniform" and self.min <= 0:
                raise ValueError("log_uniform needs min > 0")
            if self.dist == "triangular" and not self.min <= self.mode <= self.max:
                raise ValueError("triangular needs min <= mode <= max")
            if self.dist == "lognormal" and self.mean <= 0:
                raise ValueError(f"lognormal needs mean > 0 (it is the variable's own mean), got {self.mean}")
            for name in ("min", "max", "mode", "mean", "sd"):  # a sample is a number a scenario key can hold
                value = getattr(self, name)
                if value is not None and abs(value) > MAX_PARAMETER_MAGNITUDE:
                    raise ValueError(f"{name} must be within ±{MAX_PARAMETER_MAGNITUDE:.0e}, got {value:g}")
        return self


class Design(Strict):
    type: Literal["factorial", "lhs", "sobol", "morris"] = "factorial"
    samples: int | None = Field(
        None, gt=0, description="lhs: points; sobol: base N (a power of 2); morris: trajectories"
    )
    second_order: bool = Field(False, description="sobol: also sample for second-order indices")
    levels: int = Field(4, ge=2, le=100, description="morris: grid levels (even)")
    seed: int | None = Field(None, ge=0, le=2**32 - 1, description="sampler seed; default: the experiment's seed")

    @model_validator(mode="after")
    def _samples(self):
        if self.type != "factorial" and self.samples is None:
            raise ValueError(f"design {self.type} needs samples")
        if self.type == "sobol" and self.samples & (self.samples - 1):
            raise ValueError(f"sobol samples must be a power of 2, got {self.samples}")
        if self.type == "morris" and self.levels % 2:
            raise ValueError(f"morris levels must be even, got {self.levels}")
        return self


class JobQueue(Strict):
    """A dask-jobqueue cluster that submits its own worker jobs (SLURM, PBS, ...)."""

    cluster: Literal["slurm", "pbs", "sge", "lsf", "htcondor", "oar", "moab"] = "slurm"
    jobs: Annotated[int, Field(gt=0)] = 1
    options: dict[str, object] = Field(
        default_factory=dict, description="keyword arguments of the cluster class: cores, memory, queue, account, walltime, ..."
    )


class Experiment(Strict):
    experiment: str = Field(pattern=scenario_mod.SAFE_NAME, max_length=limits.MAX_NAME_CHARS,
                            description="the experiment's name; results/<name>/ (not '..': it stays inside results/)")
    description: Text = ""
    scenario: str = Field(description="base scenario, relative to the experiment file")
    set: list[str] = Field(default_factory=list, description="fixed overrides, KEY.PATH=VALUE")
    parameters: dict[str, Parameter] = Field(min_length=1)
    design: Design = Design()
    replications: Annotated[int, Field(gt=0, le=limits.MAX_REPLICATIONS)] = 10
    seed: Annotated[int, Field(ge=0)] = 1
    kpis: list[str] | Literal["all"] = "all"
    timeseries: bool | list[str] = False
    chunk_size: Annotated[int, Field(gt=0)] | None = Field(None, description="runs per task; default: automatic")
    invalid_points: Literal["error", "skip"] = Field(
        "error", description="design points the scenario rejects (e.g. more lines than staff): fail, or leave out"
    )
    dask_jobqueue: JobQueue | None = None

    @model_validator(mode="before")
    @classmethod
    def _design_shorthand(cls, data):
        if isinstance(data, dict) and isinstance(data.get("design"), str):
            data = {**data, "design": {"type": data["design"]}}
        return data


@dataclass
class Run:
    """One replication of one design point; what a worker needs to run it."""

    run_id: str
    point: int
    replication: int
    overrides: list[str]
    stream: tuple[int, ...] = ()  # the spawn key's start (``seed_sequence``); () for common random numbers


@dataclass
class Plan:
    """A loaded, checked experiment: its design points and every run."""

    spec: Experiment
    file: Path
    text: str
    scenario_file: Path
    base: dict  # the base scenario's raw data, `extends:` and `set:` applied
    params: list[str]
    integer: dict[str, bool]
    points: pd.DataFrame  # one row per design point: `point` and one column per parameter
    sample: np.ndarray | None  # SALib's sample, before rounding (Morris analysis needs it)
    problem: dict | None
    skipped: list[dict] = field(default_factory=list)
    digests: list[str] = field(default_factory=list)
    roles: list[str] = field(default_factory=list)
    measures: str | None = None  # see worker.Context.measures; part of every run_id when set
    # None: common random numbers, replication r of every point on one stream (a sweep compares
    # points pairwise). A tuple K: every point its own streams, run (p, r) keyed (*K, p, r), for
    # calibration, whose emulators take each run's noise as independent of every other run's.
    streams: tuple[int, ...] | None = None

    @property
    def name(self) -> str:
        return self.spec.experiment

    def runs(self) -> list[Run]:
        """Every run, point by point; replication r of every point uses the same seed (CRN) unless
        ``streams`` gives each point its own."""
        out = []
        for row, digest in zip(self.points.itertuples(index=False), self.digests):
            overrides = point_overrides(self.params, [getattr(row, f"p{i}") for i in range(len(self.params))])
            stream = () if self.streams is None else (*self.streams, int(row.point))
            for r in range(self.spec.replications):
                out.append(Run(run_id(digest, self.spec.seed, r, stream), int(row.point), r, overrides, stream))
        return out

    def seeding(self) -> str:
        """How the runs are seeded, in words, for the manifest."""
        if self.streams is None:
            return ("run (point p, replication r): numpy SeedSequence(seed, spawn_key=(r,)), the same for every "
                    "point (common random numbers) and equal to `streetsim run --seed`'s replication r")  # fmt: skip
        key = ", ".join(str(k) for k in self.streams)
        return (f"run (point p, replication r): numpy SeedSequence(seed, spawn_key=({key}, p, r)), its own "
                "streams, independent of every other run's")  # fmt: skip

    def design_table(self) -> pd.DataFrame:
        """points x replications with run_id: what design.parquet stores."""
        reps = self.spec.replications
        table = self.points.rename(columns={f"p{i}": p for i, p in enumerate(self.params)})
        table = table.loc[table.index.repeat(reps)].reset_index(drop=True)
        table.insert(1, "replication", np.tile(np.arange(reps), len(self.points)))
        table.insert(0, "run_id", [r.run_id for r in self.runs()])
        if self.sample is not None:  # SALib's unrounded sample, for Morris analysis
            for j, p in enumerate(self.params):
                table[f"{SAMPLE_PREFIX}{p}"] = np.repeat(self.sample[:, j], reps)
        return table


# --------------------------------------------------------------------------- loading
def is_experiment(data: dict) -> bool:
    return isinstance(data, dict) and TOP_KEY in data


def load(path: str | Path, confirmed: bool = True) -> Plan:
    """Read and check an experiment file; build its design. Raises ScenarioError on bad input.

    Every design point is applied to the base scenario and validated, so a typo in a key path or a
    value the scenario rejects is reported before anything runs or is written. A design of more
    than ``limits.SWEEP_RUNS_WITHOUT_YES`` runs needs ``confirmed`` (``--yes``).
    """
    path = Path(path)
    data = scenario_mod.read_yaml(path, STARTS)
    text = safe_read_text(path)
    if not is_experiment(data):
        raise ScenarioError(path, TOP_KEY, f"missing: {STARTS}")
    try:
        spec = Experiment.model_validate(data)
    except ValidationError as e:
        err = scenario_mod.format_validation_error(path, e)
        if err.message.startswith("unknown key"):
            err = ScenarioError(path, err.key, "unknown key in an experiment file")
        raise err from None
    scenario_file = scenario_mod.referenced_file(path, "scenario", path.parent, spec.scenario)
    base = scenario_mod.apply_overrides(scenario_mod.load_raw(scenario_file), spec.set, path)
    try:
        base_settings = scenario_mod.build(base, scenario_file)
    except ScenarioError as e:
        if spec.set:
            raise ScenarioError(path, "set", f"{e.key}: {e.message}") from None
        raise
    roles = list(base_settings.staffing)
    _check_names(spec, path, base_settings)
    _check_kpis(spec, path, base_settings)
    params = list(spec.parameters)
    integer = {p: _integer(spec.parameters[p], p) for p in params}
    # counted before the design is built: a mistyped num or step (9,000,000 levels) is refused at
    # once rather than after a minute of building levels
    problem_runs = limits.check_runs(check_design_size(spec, integer, path) * spec.replications, confirmed)
    if problem_runs:
        raise ScenarioError(path, "design", problem_runs)
    points, sample, problem = make_design(spec, integer, path)
    problem_runs = limits.check_runs(len(points) * spec.replications, confirmed)  # the count made exact
    if problem_runs:
        raise ScenarioError(path, "design", problem_runs)
    plan = Plan(spec, path, text, scenario_file, base, params, integer, points, sample, problem, roles=roles)
    check_points(plan)
    return plan


def safe_read_text(path: Path) -> str:
    return safe_yaml.read_text(path)  # already checked by read_yaml: size and UTF-8


def _check_names(spec: Experiment, path: Path, settings) -> None:
    """A parameter below a named role, case type or calendar must name one the scenario has."""
    for key in spec.parameters:
        parts = key.split(".")
        if len(parts) > 1 and parts[0] in scenario_mod.NAMED_SECTIONS:
            names = getattr(settings, parts[0])
            if parts[1] not in names:
                raise ScenarioError(path, f"parameters.{key}", f"the scenario has no {parts[0]} entry {parts[1]!r} "
                                    f"(it has: {', '.join(names)})")  # fmt: skip


def _check_kpis(spec: Experiment, path: Path, settings) -> None:
    """A typo in `kpis:` or `timeseries:` fails before any run ("all" keeps every KPI)."""
    from sim.columns import daily_series_names, kpi_names, unknown

    if isinstance(spec.timeseries, list):
        series = set(daily_series_names(settings)) - {"day"}
        for c in spec.timeseries:
            if c not in series:
                raise ScenarioError(path, "timeseries", unknown("daily column", c, series, "timeseries.parquet of any run has them all"))
    if spec.kpis == "all":
        return
    if not spec.kpis:  # every run would be kept without a KPI: nothing to compare, nothing to draw
        raise ScenarioError(path, "kpis", "empty; name the KPIs to keep, or leave kpis out to keep them all")
    known = set(kpi_names(settings))
    for k in spec.kpis:
        if k not in known:
            raise ScenarioError(path, "kpis", unknown("KPI", k, known))


def check_points(plan: Plan) -> None:
    """Build every design point's scenario: validation, and the digest its run_ids derive from."""
    keep, digests = [], []
    outputs = {"kpis": plan.spec.kpis, "timeseries": plan.spec.timeseries}
    if plan.measures:
        outputs["measures"] = plan.measures
    for i, row in enumerate(plan.points.itertuples(index=False)):
        values = [getattr(row, f"p{j}") for j in range(len(plan.params))]
        try:
            settings = point_scenario(plan.base, plan.params, values, plan.scenario_file)
        except ScenarioError as e:
            where = ", ".join(f"{p}={v!r}" for p, v in zip(plan.params, values))
            if plan.spec.invalid_points == "skip":
                plan.skipped.append({"values": dict(zip(plan.params, _native(values))), "reason": f"{e.key}: {e.message}"})
                continue
            raise ScenarioError(
                plan.file, "parameters", f"design point {where} is not a valid scenario: {e.key}: {e.message}"
            ) from None
        keep.append(i)
        digests.append(_digest({"scenario": settings.model_dump(mode="json"), "version": sim.__version__,
                                "code": code_fingerprint(), **outputs}))
    if not keep:
        raise ScenarioError(plan.file, "parameters", "no design point gives a valid scenario")
    if plan.skipped and plan.spec.design.type in ("sobol", "morris"):
        # SALib's estimators need the whole sample; leaving points out would bias the indices.
        raise ScenarioError(plan.file, "invalid_points", f"{plan.spec.design.type} designs cannot skip points: {plan.skipped[0]['reason']}")
    plan.points = plan.points.iloc[keep].reset_index(drop=True)
    plan.points["point"] = np.arange(len(plan.points))
    if plan.sample is not None:
        plan.sample = plan.sample[keep]
    plan.digests = digests


def point_scenario(base: dict, params: list[str], values: list, file):
    return scenario_mod.build(scenario_mod.apply_overrides(base, point_overrides(params, values), file), file)


def point_overrides(params: list[str], values: list) -> list[str]:
    """``--set`` strings for a design point; YAML-dumped so the value's type survives the trip."""
    return [f"{p}={safe_yaml.inline(v)}" for p, v in zip(params, _native(values))]


def _native(values) -> list:
    out = []
    for v in values:
        if isinstance(v, np.generic):
            v = v.item()
        if isinstance(v, float) and v.is_integer() and abs(v) < 2**53:
            # 150.0 and 150 are the same design point; keep one spelling in hashes and YAML
            v = int(v)
        out.append(v)
    return out


def _digest(obj) -> str:
    return hashlib.sha256(json.dumps(obj, sort_keys=True, default=str).encode()).hexdigest()


def run_id(point_digest: str, seed: int, replication: int, stream: tuple[int, ...] = ()) -> str:
    """Hash of the point's resolved scenario (so parameters and defaults), model version and
    code (``sim.provenance``), kept outputs, seed, stream and replication: the same run gets the
    same id on any executor or shard, and a sweep resumed after the model changed runs again
    rather than reuse the old model's runs."""
    key = f"{point_digest}:{seed}:{replication}" if not stream else f"{point_digest}:{seed}:{list(stream)}:{replication}"
    return hashlib.sha256(key.encode()).hexdigest()[:20]


def seed_sequence(seed: int, replication: int, stream: tuple[int, ...] = ()) -> np.random.SeedSequence:
    """A run's streams. With no ``stream``, replication r's: the same as ``streetsim run --seed
    SEED``'s replication r, and the same at every design point (common random numbers). With a
    ``stream`` (``Plan.streams`` and the point), the run's own: spawn key ``(*stream, r)``."""
    return np.random.SeedSequence(seed, spawn_key=(*stream, replication))


# --------------------------------------------------------------------------- designs
def _integer(p: Parameter, key: str) -> bool:
    if p.integer is not None:
        return p.integer
    if p.values is not None:
        return False  # levels are used exactly as written
    return _schema_is_int(key.split("."))


def _schema_is_int(keys: list[str]) -> bool:
    """Whether the scenario schema types the key as an integer (e.g. ``staffing.x.count``)."""
    ann = scenario_mod.Scenario
    for k in keys:
        nxt = None
        for t in _flatten(ann):
            if isinstance(t, type) and issubclass(t, BaseModel) and k in t.model_fields:
                nxt = t.model_fields[k].annotation
            elif typing.get_origin(t) is dict:
                nxt = typing.get_args(t)[1]
            if nxt is not None:
                break
        if nxt is None:
            return False
        ann = nxt
    leaves = set(_flatten(ann))
    return int in leaves and float not in leaves


def _flatten(ann) -> list:
    origin = typing.get_origin(ann)
    if origin is Annotated:
        return _flatten(typing.get_args(ann)[0])
    if origin in (typing.Union, types.UnionType):
        return [t for a in typing.get_args(ann) for t in _flatten(a)]
    return [ann]


def design_points(spec: Experiment, integer: dict[str, bool], file="<experiment>") -> int:
    """How many points ``make_design`` gives, counted without building them (never fewer)."""
    params = list(spec.parameters)
    d = spec.design
    if d.type == "factorial":
        return math.prod(factorial_level_count(spec.parameters[p], integer[p], p, file) for p in params)
    k = len(params)
    return d.samples * {"lhs": 1, "sobol": 2 * k + 2 if d.second_order else k + 2, "morris": k + 1}[d.type]


def check_design_size(spec: Experiment, integer: dict[str, bool], file="<experiment>") -> int:
    """The design's points, refused beyond the limit of runs before anything is built."""
    n = design_points(spec, integer, file)
    if n * spec.replications > limits.MAX_SWEEP_RUNS:
        if spec.design.type == "factorial":
            raise ScenarioError(file, "parameters", f"the factorial has {n:,} points; the limit is "
                                f"{limits.MAX_SWEEP_RUNS:,} runs")  # fmt: skip
        raise ScenarioError(file, "design.samples", f"{spec.design.samples:,} samples give {n:,} points; the limit is "
                            f"{limits.MAX_SWEEP_RUNS:,} runs")  # fmt: skip
    return n


def make_design(spec: Experiment, integer: dict[str, bool], file="<experiment>"):
    """Design points as a DataFrame (``point``, ``p0``, ``p1``, ...), SALib's sample and problem."""
    params = list(spec.parameters)
    d = spec.design
    check_design_size(spec, integer, file)  # before the product or SALib's sample is built
    if d.type == "factorial":
        levels = [factorial_levels(spec.parameters[p], integer[p], p, file) for p in params]
        rows = list(itertools.product(*levels))
        sample, problem = None, None
    else:
        problem = salib_problem(spec)
        sample = salib_sample(problem, d, spec.seed if d.seed is None else d.seed)
        cols = [from_unit(spec.parameters[p], integer[p], sample[:, j]) for j, p in enumerate(params)]
        rows = list(zip(*cols))
    points = pd.DataFrame(rows, columns=[f"p{i}" for i in range(len(params))])
    for c in points.columns:
        if points[c].map(type).nunique() > 1 and not all(isinstance(v, Number) for v in points[c]):
            points[c] = points[c].astype(str)  # mixed levels (e.g. 1 and "grids"): one Parquet type
    points.insert(0, "point", np.arange(len(points)))
    return points, sample, problem


def factorial_level_count(p: Parameter, integer: bool, key: str, file="<experiment>") -> int:
    """How many levels ``factorial_levels`` gives, without building them: never fewer, and the
    same but where rounding merges levels (half-to-even, or float levels closer than 1e-12), so
    an oversized design is refused before it is built and the exact count checked after.
    Integer levels: with more levels than whole numbers in range, every whole number is one."""
    if p.values is not None:
        return len(dict.fromkeys(p.values))
    n = _levels_asked(p, key, file)
    return min(n, round(p.max) - round(p.min) + 1) if integer else n


def _levels_asked(p: Parameter, key: str, file) -> int:
    """Levels from min to max by ``step`` or ``num``, before rounding."""
    if p.step is None and p.num is None:
        raise ScenarioError(file, f"parameters.{key}", "a factorial design needs values, or min/max with step or num")
    if p.step is not None:
        steps = (p.max - p.min) / p.step
        if not steps < limits.MAX_SWEEP_RUNS:  # also catches inf/nan
            raise ScenarioError(file, f"parameters.{key}.step", f"gives {steps:.3g} levels; the limit is {limits.MAX_SWEEP_RUNS:,}")
        return int(math.floor(steps + 1e-9)) + 1
    if p.num > limits.MAX_SWEEP_RUNS:
        raise ScenarioError(file, f"parameters.{key}.num", f"{p.num:,} levels; the limit is {limits.MAX_SWEEP_RUNS:,}")
    return p.num


def factorial_levels(p: Parameter, integer: bool, key: str, file="<experiment>") -> list:
    if p.values is not None:
        return list(dict.fromkeys(p.values))
    n = _levels_asked(p, key, file)
    vals = [p.min + i * p.step for i in range(n)] if p.step is not None else list(np.linspace(p.min, p.max, n))
    if integer:
        vals = [int(round(v)) for v in vals]
    else:
        vals = [float(round(v, 12)) for v in vals]
    return list(dict.fromkeys(vals))


def salib_problem(spec: Experiment) -> dict:
    """SALib's problem dict. Integers span [min, max + 1) and discrete values [0, n) so that
    flooring gives every integer or level the same probability."""
    names, bounds, dists = [], [], []
    for name, p in spec.parameters.items():
        names.append(name)
        integer = _integer(p, name)
        if p.values is not None:
            bounds.append([0.0, float(len(p.values))])
            dists.append("unif")
        elif p.dist in ("uniform", "log_uniform"):
            hi = p.max + 1 if integer else p.max
            bounds.append([p.min, hi])
            dists.append("unif" if p.dist == "uniform" else "logunif")
        elif p.dist == "triangular":
            bounds.append([p.min, p.max, (p.mode - p.min) / (p.max - p.min)])
            dists.append("triang")
        elif p.dist == "normal":
            bounds.append([p.mean, p.sd])
            dists.append("norm")
        elif p.dist == "truncated_normal":
            bounds.append([p.min, p.max, p.mean, p.sd])
            dists.append("truncnorm")
        else:  # lognormal given by the variable's own mean and sd
            s2 = math.log(1 + (p.sd / p.mean) ** 2)
            bounds.append([math.log(p.mean) - s2 / 2, math.sqrt(s2)])
            dists.append("lognorm")
    return {"num_vars": len(names), "names": names, "bounds": bounds, "dists": dists}


def salib_sample(problem: dict, d: Design, seed: int) -> np.ndarray:
    from SALib.sample import latin, morris, sobol

    if d.type == "lhs":
        return latin.sample(problem, d.samples, seed=seed)
    if d.type == "sobol":
        return sobol.sample(problem, d.samples, calc_second_order=d.second_order, seed=seed)
    return morris.sample(problem, d.samples, num_levels=d.levels, seed=seed)


def from_unit(p: Parameter, integer: bool, x: np.ndarray) -> list:
    """SALib's scaled column -> the values the scenario gets."""
    if p.values is not None:
        idx = np.clip(np.floor(x).astype(int), 0, len(p.values) - 1)
        return [p.values[i] for i in idx]
    if integer:
        lo = -np.inf if p.min is None else p.min
        hi = np.inf if p.max is None else p.max
        rounded = np.floor(x) if p.dist in ("uniform", "log_uniform") else np.round(x)
        return [int(v) for v in np.clip(rounded, lo, hi)]
    return [float(v) for v in x]


LISTED_SKIPS = 1_000  # skipped points the manifest lists (~260 bytes each); all are counted


def describe(plan: Plan) -> dict:
    """The design as the manifest records it."""
    return {
        "type": plan.spec.design.type,
        "parameters": {p: {**plan.spec.parameters[p].model_dump(exclude_none=True), "integer": plan.integer[p]} for p in plan.params},
        "problem": plan.problem,
        "settings": plan.spec.design.model_dump(),
        "points": len(plan.points),
        "runs": len(plan.points) * plan.spec.replications,
        "skipped_points": plan.skipped[:LISTED_SKIPS],
        "skipped_count": len(plan.skipped),
    }

