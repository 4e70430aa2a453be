"""The staffing planner, end to end: check the input, pilot, first guess, search, answer."""

from __future__ import annotations

import sys
import time
from pathlib import Path

from sim import provenance
from sim import scenario as scenario_mod
from sim.scenario import ScenarioError
from sim.staffing import first_guess, output, search
from sim.staffing.evaluate import Evaluator, confirmation_seed
from sim.staffing.request import STORE, Request
from sim.sweep.run import RunsFailed
from sim.sweep.worker import describe_error


class StaffingPlan:
    """The planner's state: the scenario, the measured loads, the guess, the search's result."""

    def __init__(self, req: Request, settings: scenario_mod.Scenario):
        self.req = req
        self.settings = settings
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
            self.settings,
        )  # fmt: skip
        try:
            self.result = search.search(self.evaluator, self.guess, self.floors, self.scenario_posts, self.cost)
        except (search.Unreachable, search.Unconfirmed) as e:
            raise ScenarioError(req.scenario, "--target", str(e)) from None
        finally:
            self.seconds = time.perf_counter() - t0

    def manifest(self) -> dict:
        ev = self.evaluator
        return {
            "kind": "staffing",
            "scenario_names": [self.settings.name],
            **provenance.record(),
            "python": provenance.python_version(),
            "started": self.started,
            "command": self.req.command,
            "scenario": str(self.req.scenario.resolve()),  # a later call from another folder compares it
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
            # the answer's checks and CIs come from these runs, not the search's (sim.staffing.search)
            "confirmations": [
                {"staffing": dict(zip(self.roles, e.staffing)), "seed": confirmation_seed(self.req.seed, j),
                 "alpha": e.level, "status": e.status, "replications": e.n}
                for j, e in enumerate(self.result.confirmations, start=1)],
            "cost_per_year": self.cost(self.result.chosen.staffing)[0],
            "staffings_tried": len(self.result.tried),
            "simulation_runs": len(ev.runs_used),
            "simulation_runs_this_call": ev.runs_new,
            "wall_seconds": round(self.seconds, 1),
            "store": STORE,
            "finished": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        }


def record_code(out: Path) -> None:
    """Which model code makes the runs about to be stored (checked by check_request on resume)."""
    import json

    from sim.results_folder import write_atomic

    text = json.dumps(provenance.record(), indent=2) + "\n"
    if provenance.read_recorded(out / provenance.RECORD) is None:
        write_atomic(out / provenance.RECORD, lambda p: p.write_text(text, encoding="utf-8"))


def plan(req: Request, settings: scenario_mod.Scenario) -> StaffingPlan:
    """Plan for a request that has passed ``check_request`` (streetsim staff checks it before
    this module loads); ``settings`` is its scenario, loaded once by the command."""
    record_code(req.out)
    if req.replaces:
        output.remove_answer(req.out)
    p = StaffingPlan(req, settings)
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
