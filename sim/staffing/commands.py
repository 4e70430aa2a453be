"""``streetsim staff``: the least-cost staffing per role that meets service targets."""

from __future__ import annotations

import sys
from pathlib import Path

from sim import limits, results_folder
from sim.cli import given_file, given_path, replication_count, seed
from sim.sweep.commands import add_executor_arguments  # the planner's runs go through the sweep executors


def add_commands(sub) -> None:
    p = sub.add_parser(
        "staff",
        help="the fewest staff per role that meet service targets (Erlang C guess, then simulation)",
        description="Find the least-cost staff counts for --roles such that every target holds with the stated "
        "confidence. Runs are stored in OUT/runs (a sweep store): an interrupted search resumes and reuses them.",
    )
    p.add_argument("scenario", type=given_file)
    p.add_argument("--target", dest="target_texts", action="append", default=[], metavar="KPI>=VALUE",
                   help="a target on a KPI column of summary.csv, e.g. on_time_resident>=0.9 (repeatable)")  # fmt: skip
    p.add_argument("--targets", type=given_path, default=None, metavar="FILE", help="a targets file (see experiments/targets/reform_2015.yaml)")
    p.add_argument("--roles", default="", help="comma-separated roles to staff; the others stay as in the scenario")
    p.add_argument("--replications", "-r", type=replication_count, default=10, help="replications per staffing at the first look (default 10)")
    p.add_argument("--max-replications", type=replication_count, default=None, help="cap per staffing (default 4x --replications)")
    p.add_argument("--confidence", type=float, default=0.95, help="confidence that each target is met (default 0.95)")
    p.add_argument("--seed", "-s", type=seed, default=1, help="a whole number >= 0")
    p.add_argument("--pilot-replications", type=replication_count, default=2, help="replications of the pilot run (default 2)")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY.PATH=VALUE")
    p.add_argument("--out", type=given_path, default=None, help="default: results/staff_<scenario name>")
    add_executor_arguments(p, batches=True)
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.set_defaults(func=cmd_staff)


def cmd_staff(args) -> int:
    from sim import scenario as scenario_mod
    from sim.scenario import Interrupted
    from sim.staffing import request
    from sim.staffing import targets as targets_mod
    from sim.sweep.commands import executor_shard

    targets = [targets_mod.parse(t, "--target") for t in args.target_texts]
    if args.targets is not None:
        targets += targets_mod.load_file(args.targets)
    shard = executor_shard(args.executor, args.shard, args.scheduler, args.workers)
    settings = scenario_mod.load(args.scenario, args.overrides)
    out = results_folder.check_name(args.out or Path("results") / f"staff_{settings.name}")
    req = request.Request(
        scenario=Path(args.scenario), targets=targets, roles=[r.strip() for r in args.roles.split(",") if r.strip()],
        overrides=args.overrides, replications=args.replications,
        max_replications=args.max_replications or min(4 * args.replications, limits.MAX_REPLICATIONS), confidence=args.confidence, seed=args.seed,
        pilot_replications=args.pilot_replications, out=out, executor=args.executor, workers=args.workers,
        scheduler=args.scheduler, shard=shard, shard_wait=args.shard_wait, progress=not args.quiet, command=sys.argv,
    )  # fmt: skip
    request.check_request(req, settings)
    from sim.staffing import planner  # the runs' machinery loads once the input is known to be good
    from sim.sweep.shards import Pending

    try:
        planner.plan(req, settings)
    except Pending as e:
        print(f"shard {shard[0]}/{shard[1]} stopped: {e}. Submit the array again (the same command): every "
              "finished run is reused.")  # fmt: skip
        return 0
    except KeyboardInterrupt:
        raise Interrupted.keeping(out / request.STORE) from None
    return 0
