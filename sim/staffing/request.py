"""What a user asks the staffing planner for, and every check of it that needs no simulation.

Apart from the planner so that `streetsim staff` answers bad input (an unknown role, a target
on a KPI the scenario does not report, a confidence out of range, an --out that holds other
results) before the model, pandas and the executors load.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path

from sim import provenance
from sim import scenario as scenario_mod
from sim.columns import kpi_names
from sim.results_folder import manifest_kind, read_json, unreadable
from sim.scenario import ScenarioError, printable
from sim.staffing import targets as targets_mod

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
    replaces: bool = False  # --out holds another request's answer (check_request): removed before the search


def check_request(req: Request, settings: scenario_mod.Scenario) -> None:
    """Every check that needs no simulation: bad input fails here, before anything is written.
    ``settings`` is the request's scenario, loaded with its overrides."""
    if not req.roles:
        raise ScenarioError(req.scenario, "--roles", "name the roles to staff, e.g. --roles party_workers,community_workers")
    for r in req.roles:
        if r not in settings.staffing:
            raise ScenarioError(req.scenario, "--roles", f"the scenario has no role {r!r} (it has: {', '.join(settings.staffing)})")
    if len(set(req.roles)) != len(req.roles):
        raise ScenarioError(req.scenario, "--roles", "a role is named twice")
    unsearched = {r: scenario_mod.staff_count(role, settings.street) for r, role in settings.staffing.items() if r not in req.roles}
    targets_mod.check(req.targets, kpi_names(settings), unsearched=unsearched)  # names, bounds the KPI's unit allows
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
    for manifest in (req.out / "manifest.json", store / "manifest.json"):
        if manifest.exists() and (why := unreadable(manifest)):
            raise ScenarioError(req.out, "--out", f"{manifest} cannot be read ({why}); choose another folder")
    if (store / "manifest.json").exists() and manifest_kind(store) != "sweep":  # damaged counts as other
        raise ScenarioError(req.out, "--out", f"{store} holds something other than the planner's runs")
    if (req.out / "manifest.json").exists():
        if manifest_kind(req.out) != "staffing":
            raise ScenarioError(req.out, "--out", "holds other results (its manifest.json is not the planner's); choose another folder")
        req.replaces = _say_if_another_request(req)
    elif req.out.exists() and any(not _planner_file(p.name) for p in req.out.iterdir()):
        raise ScenarioError(req.out, "--out", "is a folder with other files in it; choose an empty or new folder")
    if store.exists() and any(store.iterdir()):
        # run ids name the scenario, seed and replication, not the model code that ran them
        provenance.check_same_code(provenance.read_recorded(req.out / provenance.RECORD), req.out, "staffing")


# What a plan answers to: another value of any of these in the earlier plan's manifest makes its
# answer another request's (the replications only say how precisely it was answered).
REQUEST_KEYS = ("scenario", "overrides", "roles", "targets", "seed", "confidence")


def _say_if_another_request(req: Request) -> bool:
    """One line when ``--out`` holds the plan of another request (True then): its answer files are
    removed before this search (one that fails or is stopped must not leave them to be read as its
    answer), and the stored runs that this search needs again are reused."""
    earlier = read_json(req.out / "manifest.json")
    # the manifest holds the scenario's resolved path (planner.manifest): ./mmc.yaml and mmc.yaml,
    # typed in any folder, are one file; this one was read already, so it resolves
    now = {"scenario": str(req.scenario.resolve()), "overrides": req.overrides, "roles": req.roles,
           "targets": [str(t) for t in req.targets], "seed": req.seed, "confidence": req.confidence}  # fmt: skip
    changed = [k for k in REQUEST_KEYS if earlier.get(k) != now[k]]
    if changed:
        print(printable(f"warning: {req.out} holds the plan of another request (other {', '.join(changed)}; made "
                        f"{earlier.get('started', '?')}): its answer files are removed and this search writes its "
                        "own; the stored runs this search needs again are reused"), file=sys.stderr)  # fmt: skip
    return bool(changed)


def _planner_file(name: str) -> bool:
    """What a search in progress has written (SLURM array shards start together: another shard's
    record may be half-written, under a temporary name)."""
    return name in (STORE, provenance.RECORD) or (name.startswith(f".{provenance.RECORD}.") and name.endswith(".tmp"))
