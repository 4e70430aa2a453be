"""The ``streetsim`` command."""

from __future__ import annotations

import argparse
import importlib
import json
import sys
from pathlib import Path

from sim import metrics, runner
from sim import scenario as scenario_mod
from sim.scenario import ScenarioError

EXIT_BAD_INPUT = 2
# Command groups that live beside their code; each module defines add_commands(subparsers)
# and imports its heavy dependencies (dask, solara) only inside the command it runs.
PLUGIN_COMMANDS = ("sim.sweep.commands", "sim.viz.commands")


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except ScenarioError as e:
        print(f"error: {e}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        print("interrupted; nothing written", file=sys.stderr)
        return 130


def _parser():
    p = argparse.ArgumentParser(prog="streetsim", description=__doc__)
    sub = p.add_subparsers(required=True, metavar="COMMAND")

    run = sub.add_parser("run", help="run one scenario: KPI table with 95%% CIs, outputs in --out")
    run.add_argument("scenario")
    run.add_argument("--replications", "-r", type=_positive, default=10)
    run.add_argument("--seed", "-s", type=int, default=1)
    run.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY.PATH=VALUE")
    run.add_argument("--out", type=Path, default=None, help="default: results/<scenario name>")
    run.add_argument("--quiet", action="store_true", help="no progress bar")
    run.set_defaults(func=cmd_run)

    val = sub.add_parser("validate", help="check scenario files; one line per problem")
    val.add_argument("files", nargs="+")
    val.set_defaults(func=cmd_validate)

    sch = sub.add_parser("schema", help="print the JSON Schema of scenario files")
    sch.set_defaults(func=cmd_schema)

    for module in PLUGIN_COMMANDS:
        try:
            importlib.import_module(module).add_commands(sub)
        except ModuleNotFoundError as e:
            if not module.startswith(e.name or "\0"):
                raise
    return p


def _positive(text):
    v = int(text)
    if v <= 0:
        raise argparse.ArgumentTypeError(f"must be > 0, got {v}")
    return v


def cmd_run(args) -> int:
    settings = scenario_mod.load(args.scenario, args.overrides)
    out = args.out or Path("results") / settings.name
    results = runner.run_replications(settings, args.replications, args.seed, progress=not args.quiet)
    summary = runner.pd.DataFrame([r.kpis for r in results])
    print(f"\n{settings.name}: {args.replications} replications, seed {args.seed}, {settings.horizon.days} days")
    print(format_table(metrics.summarise(summary)))
    runner.write_run(out, settings, results, runner.manifest(sys.argv, args.seed, args.replications, [args.scenario]))
    print(f"\nwrote {out}/: summary.csv cases.parquet timeseries.parquet scenario.resolved.yaml manifest.json")
    return 0


def cmd_validate(args) -> int:
    bad = 0
    for f in args.files:
        try:
            s = scenario_mod.load(f)
            print(f"{f}: ok ({s.name})")
        except ScenarioError as e:
            print(f"error: {e}", file=sys.stderr)
            bad += 1
    return EXIT_BAD_INPUT if bad else 0


def cmd_schema(args) -> int:
    json.dump(scenario_mod.json_schema(), sys.stdout, indent=2)
    print()
    return 0


def format_table(table) -> str:
    lines = [f"{'kpi':<34} {'mean':>14} {'95% CI':>29}"]
    for row in table.itertuples():
        lines.append(f"{row.kpi:<34} {_fmt(row.mean):>14} [{_fmt(row.ci_low):>12}, {_fmt(row.ci_high):>12}]")
    return "\n".join(lines)


def _fmt(x) -> str:
    if x != x:
        return "n/a"
    if abs(x) >= 1000:
        return f"{x:,.0f}"
    return f"{x:.4g}"


if __name__ == "__main__":
    sys.exit(main())
