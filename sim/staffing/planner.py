"""The staffing planner, end to end: check the input, pilot, first guess, search, answer."""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from sim import metrics, provenance
from sim import scenario as scenario_mod
from sim.labels import unit
from sim.scenario import ScenarioError
from sim.staffing import first_guess, output, search
from sim.staffing import targets as targets_mod
from sim.staffing.evaluate import Evaluator
from sim.sweep.run import RunsFailed
from sim.sweep.worker import describe_error

STORE = "runs"  # the sweep store of every run, inside --out


@dataclass
class Request:
    """What the user asked for (the command line, checked)."""

    scenario: Path
    targets: list
    roles: list[str]
    overrides: list[str] = field(default_factory=list)
    replications: int = 10
    max_replications: int = 40
    confidence: float = 0.95
    seed: int = 1
    pilot_replications: int = 2
    out: Path = Path("results/staff")
    executor: str = "local"
    workers: int | None = None
    scheduler: str | None = None
    shard: tuple[int, int] | None = None  # slurm-array: this task's shard of every batch
    shard_wait: float = 0.0  # seconds a shard waits for the other shards' runs of a batch
    progress: bool = True
    command: list[str] = field(default_factory=list)


class StaffingPlan:
    """The planner's state: the scenario, the measured loads, the guess, the search's result."""

    def __init__(self, req: Request):
        self.req = req
        self.settings = scenario_mod.load(req.scenario, req.overrides)
        self.roles, self.targets = req.roles, req.targets
        self.alpha = 1.0 - req.confidence
        self.store_dir = req.out / STORE
        self.scenario_posts = tuple(scenario_mod.staff_count(self.settings.staffing[r], self.settings.street) for r in self.roles)
        posts = {r: scenario_mod.staff_count(role, self.settings.street) for r, role in self.settings.staffing.items()}
        self._fixed_cost = sum(posts[r] * role.cost_per_year for r, role in self.settings.staffing.items() if r not in self.roles)
        self._fixed_posts = sum(posts[r] for r in self.settings.staffing if r not in self.roles)
        self.loads, self.guess, self.floors = {}, (), ()
        self.evaluator: Evaluator | None = None
        self.result: search.Result | None = None
        self.seconds = 0.0
        self.started = time.strftime("%Y-%m-%dT%H:%M:%S%z")

    def cost(self, staffing) -> tuple[float, int]:
        """Staff cost per year of every role (the chosen ones at ``staffing``), then posts to break ties."""
        money = self._fixed_cost + sum(n * self.settings.staffing[r].cost_per_year for r, n in zip(self.roles, staffing))
        return float(money), self._fixed_posts + int(sum(staffing))

    def run(self) -> None:
        t0 = time.perf_counter()
        req = self.req
        try:
            reps = first_guess.pilot(self.settings, req.pilot_replications, req.seed, req.workers or 1, req.progress)
        except ScenarioError:
            raise
        except Exception as e:  # one line, as a failed run of the search gives (its error and where)
            raise RunsFailed(f"the pilot run of the scenario as written failed: {describe_error(e)}") from e
        loads = first_guess.measure(self.settings, reps, self.roles)
        self.loads = {r: first_guess.guess(loads[r], self.targets) for r in self.roles}
        self.guess = tuple(self.loads[r].guess for r in self.roles)
        self.floors = tuple(max(1, self.loads[r].lines) for r in self.roles)
        self.evaluator = Evaluator(
            req.scenario, req.overrides, self.roles, self.targets, req.seed, req.replications, req.max_replications,
            self.alpha, self.store_dir, req.executor, req.workers, req.scheduler, req.progress, req.shard, req.shard_wait,
        )  # fmt: skip
        try:
            self.result = search.search(self.evaluator, self.guess, self.floors, self.scenario_posts, self.cost)
        except search.Unreachable as e:
            raise ScenarioError(req.scenario, "--target", str(e)) from None
        finally:
            self.seconds = time.perf_counter() - t0

    def manifest(self) -> dict:
        ev = self.evaluator
        return {
            "kind": "staffing",
            "scenario_names": [self.settings.name],
            **provenance.record(),
            "python": sys.version.split()[0],
            "started": self.started,
            "command": self.req.command,
            "scenario": str(self.req.scenario),
            "overrides": self.req.overrides,
            "roles": self.roles,
            "targets": [str(t) for t in self.targets],
            "seed": self.req.seed,
            "confidence": self.req.confidence,
            "looks": ev.looks,
            "alpha_per_target_and_look": ev.alpha_each,
            "pilot_replications": self.req.pilot_replications,
            "first_guess": dict(zip(self.roles, self.guess)),
            "answer": dict(zip(self.roles, self.result.chosen.staffing)),
            "cost_per_year": self.cost(self.result.chosen.staffing)[0],
            "staffings_tried": len(self.result.tried),
            "simulation_runs": len(ev.runs_used),
            "simulation_runs_this_call": ev.runs_new,
            "wall_seconds": round(self.seconds, 1),
            "store": STORE,
            "finished": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        }


def check_request(req: Request) -> None:
    """Every check that needs no simulation: bad input fails here, before anything is written."""
    settings = scenario_mod.load(req.scenario, req.overrides)
    if not req.roles:
        raise ScenarioError(req.scenario, "--roles", "name the roles to staff, e.g. --roles party_workers,community_workers")
    for r in req.roles:
        if r not in settings.staffing:
            raise ScenarioError(req.scenario, "--roles", f"the scenario has no role {r!r} (it has: {', '.join(settings.staffing)})")
    if len(set(req.roles)) != len(req.roles):
        raise ScenarioError(req.scenario, "--roles", "a role is named twice")
    targets_mod.check(req.targets, metrics.kpi_names(settings))
    for t in req.targets:
        if unit(t.kpi) == "share" and ((t.op == ">=" and t.bound > 1) or (t.op == "<=" and t.bound < 0)):
            raise ScenarioError("--target", str(t), "a share lies between 0 and 1: no staffing can meet this target")
    if not 0.5 <= req.confidence < 1:
        raise ScenarioError("--confidence", "", f"must be in [0.5, 1), got {req.confidence}")
    if req.max_replications < req.replications:
        raise ScenarioError("--max-replications", "", f"must be at least --replications ({req.replications})")
    if req.replications < 2:
        raise ScenarioError("--replications", "", "a confidence bound needs at least 2 replications")
    for p in (req.out, *req.out.parents):
        if p.exists() and not p.is_dir():
            raise ScenarioError(req.out, "--out", f"{p} is a file, not a folder")
    store = req.out / STORE
    if (store / "manifest.json").exists():
        from sim.sweep.store import read_manifest

        if read_manifest(store).get("kind") != "sweep":
            raise ScenarioError(req.out, "--out", f"{store} holds something other than the planner's runs")
    mine = req.out / "manifest.json"
    if mine.exists():
        import json

        try:
            kind = json.loads(mine.read_text(encoding="utf-8")).get("kind")
        except (ValueError, AttributeError):
            kind = None
        if kind != "staffing":
            raise ScenarioError(req.out, "--out", "holds other results (its manifest.json is not the planner's); choose another folder")
    elif req.out.exists() and any(not _planner_file(p.name) for p in req.out.iterdir()):
        raise ScenarioError(req.out, "--out", "is a folder with other files in it; choose an empty or new folder")
    if store.exists() and any(store.iterdir()):
        # run ids name the scenario, seed and replication, not the model code that ran them
        provenance.check_same_code(provenance.read_recorded(req.out / provenance.RECORD), req.out, "staffing")


def _planner_file(name: str) -> bool:
    """What a search in progress has written (SLURM array shards start together: another shard's
    record may be half-written, under a temporary name)."""
    return name in (STORE, provenance.RECORD) or (name.startswith(f".{provenance.RECORD}.") and name.endswith(".tmp"))


def record_code(out: Path) -> None:
    """Which model code makes the runs about to be stored (checked by check_request on resume)."""
    import json

    from sim.sweep.store import write_atomic

    text = json.dumps(provenance.record(), indent=2) + "\n"
    if provenance.read_recorded(out / provenance.RECORD) is None:
        write_atomic(out / provenance.RECORD, lambda p: p.write_text(text, encoding="utf-8"))


def plan(req: Request) -> StaffingPlan:
    check_request(req)
    record_code(req.out)
    p = StaffingPlan(req)
    p.run()
    if req.shard is not None:  # the answer is written once, by a call without --shard
        i, n = req.shard
        print(f"shard {i}/{n}: the search is complete and every run is stored in {req.out / STORE}/; run the "
              "command once without --shard to write the answer (it runs nothing)")  # fmt: skip
        return p
    output.print_answer(p)
    files = output.write(p, req.out)
    print(f"\nwrote {req.out}/: {' '.join(files)} (runs in {req.out / STORE}/)", file=sys.stdout)
    return p
