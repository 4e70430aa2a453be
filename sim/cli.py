"""The ``streetsim`` command."""

from __future__ import annotations

import argparse
import importlib
import json
import sys
from pathlib import Path

from sim import scenario as scenario_mod
from sim.scenario import ScenarioError

# The simulation, pandas and the figures are imported inside the commands that use them, so
# `validate` and `schema` start in well under a second and `run` loads no plotting library
# until it draws (benchmarks/startup.py measures this; tests/test_startup.py checks it).

EXIT_BAD_INPUT = 2
# Command groups that live beside their code; each module defines add_commands(subparsers)
# and imports its heavy dependencies (dask, solara) only inside the command it runs.
PLUGIN_COMMANDS = ("sim.sweep.commands", "sim.viz.commands")
# sim.sweep.experiment.TOP_KEY, named here so checking a scenario file loads no sweep code
# (tests/test_startup.py checks the two agree).
EXPERIMENT_KEY = "experiment"


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

    run = sub.add_parser("run", help="run one scenario (or a district file): KPI table with 95%% CIs")
    run.add_argument("scenario")
    _common_run_options(run)
    run.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY.PATH=VALUE")
    run.add_argument("--scheduler", default=None, metavar="ADDRESS",
                     help="district and city files: run the streets on this Dask scheduler, e.g. tcp://HOST:8786")
    run.set_defaults(func=cmd_run)

    cmp = sub.add_parser("compare", help="compare scenarios on common random numbers, with paired differences")
    cmp.add_argument("scenarios", nargs="+")
    _common_run_options(cmp)
    cmp.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY.PATH=VALUE",
                     help="applied to every scenario")
    cmp.set_defaults(func=cmd_compare)

    fig = sub.add_parser("figures", help="draw the figures (PNG + SVG) of a results folder")
    fig.add_argument("results_dir", type=Path)
    fig.set_defaults(func=cmd_figures)

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


def _common_run_options(p):
    p.add_argument("--replications", "-r", type=_positive, default=10)
    p.add_argument("--seed", "-s", type=int, default=1)
    p.add_argument("--out", type=Path, default=None, help="default: results/<name>")
    p.add_argument("--workers", "-j", type=_positive, default=None,
                   help="worker processes (default: the machine's cores, at most 8)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")


def _positive(text):
    v = int(text)
    if v <= 0:
        raise argparse.ArgumentTypeError(f"must be > 0, got {v}")
    return v


def cmd_run(args) -> int:
    from sim import district

    if district.is_district_file(args.scenario):
        return run_district(args)
    if args.scheduler:
        raise ScenarioError(args.scenario, "--scheduler", "only district and city files run on a Dask cluster "
                            "(replications of one scenario: streetsim sweep --executor dask)")
    import pandas as pd

    from sim import metrics, runner

    settings = scenario_mod.load(args.scenario, args.overrides)
    out = checked_out(args.out or Path("results") / settings.name)
    results = runner.run_replications(settings, args.replications, args.seed, not args.quiet, _workers(args))
    summary = pd.DataFrame([r.kpis for r in results])
    print(f"\n{settings.name}: {args.replications} replications, seed {args.seed}, {settings.horizon.days} days")
    print(format_table(metrics.summarise(summary)))
    m = runner.manifest("run", sys.argv, args.seed, args.replications, [args.scenario])
    m["scenario_names"] = [settings.name]
    with runner.AtomicFolder(out) as tmp:
        runner.write_tables(tmp, settings, results)
        runner.write_manifest(tmp, m)
        _draw_figures(tmp)
    print(f"\nwrote {out}/: summary.csv cases.parquet timeseries.parquet roles.csv scenario.resolved.yaml "
          "manifest.json figures/")
    return 0


def cmd_compare(args) -> int:
    import pandas as pd

    from sim import compare, runner

    scenarios = {}
    for path in args.scenarios:
        s = scenario_mod.load(path, args.overrides)
        if s.name in scenarios:
            raise ScenarioError(path, "name", f"two scenarios are named {s.name!r}; names must differ to compare")
        scenarios[s.name] = s
    out = checked_out(args.out or Path("results") / "compare")
    # Every scenario runs replication i on the same seeds: common random numbers.
    seeds = runner.replication_seeds(args.seed, args.replications)
    jobs = [(s, ss, i) for s in scenarios.values() for i, ss in enumerate(seeds)]
    done = runner.run_many(jobs, _workers(args), not args.quiet, "compare")
    results = {n: done[k * args.replications:(k + 1) * args.replications] for k, n in enumerate(scenarios)}
    summaries = {n: pd.DataFrame([r.kpis for r in res]) for n, res in results.items()}
    table = compare.comparison_table(summaries)
    print(f"\n{len(scenarios)} scenarios, {args.replications} replications each, seed {args.seed}")
    print(compare.format_comparison(table))  # every KPI: headline ones first, then per role
    m = runner.manifest("compare", sys.argv, args.seed, args.replications, args.scenarios)
    m["scenario_names"] = list(scenarios)
    with runner.AtomicFolder(out) as tmp:
        table.to_csv(tmp / "comparison.csv", index=False, float_format="%.10g")
        for name, res in results.items():
            runner.write_tables(tmp / name, scenarios[name], res)
        runner.write_manifest(tmp, m)
        _draw_figures(tmp)
    print(f"\nwrote {out}/: comparison.csv, figures/ (kpi_bars, backlog, staff_time; PNG and SVG), "
          "and each scenario's outputs in its own folder")
    return 0


def run_district(args) -> int:
    """A district or city file: every street, then totals per district (city files) and overall."""
    from sim import district, metrics, runner

    dist, streets = district.load(args.scenario, args.overrides)
    out = checked_out(args.out or Path("results") / dist.name)
    jobs = district.street_jobs(streets, args.seed, args.replications)
    done = district.run_streets(jobs, _workers(args), not args.quiet, dist.name, args.scheduler)
    names = list(streets)
    per_street = {n: done[k * args.replications:(k + 1) * args.replications] for k, n in enumerate(names)}
    street_rows = district.street_table(dist, per_street)
    districts = district.per_district_kpis(dist, per_street, streets)
    summary = district.district_kpis(per_street, streets)
    print(f"\n{dist.name}: {len(names)} streets, {args.replications} replications, seed {args.seed}")
    print(format_table(metrics.summarise(summary)))
    if len(districts):
        print("\nper district (mean over replications):")
        print(district.mean_table(districts, "district").to_string(float_format=_fmt))
    print("\nper street (mean over replications):")
    print(district.mean_table(street_rows, "street").to_string(float_format=_fmt))
    m = runner.manifest("district", sys.argv, args.seed, args.replications, [args.scenario])
    m["scenario_names"] = [dist.name]
    m["street_names"] = names
    with runner.AtomicFolder(out) as tmp:
        summary.to_csv(tmp / "summary.csv", index=False, float_format="%.10g")
        street_rows.to_csv(tmp / "streets.csv", index=False, float_format="%.10g")
        if len(districts):
            districts.to_csv(tmp / "districts.csv", index=False, float_format="%.10g")
        for name, res in per_street.items():
            runner.write_tables(tmp / "streets" / name, streets[name], res)
        runner.write_manifest(tmp, m)
        _draw_figures(tmp)
    written = "summary.csv (total), " + ("districts.csv (per district), " if len(districts) else "")
    print(f"\nwrote {out}/: {written}streets.csv (per street), streets/<name>/, figures/")
    return 0


def _draw_figures(folder: Path) -> None:
    from sim import figures  # matplotlib and scipy.stats load here, once the simulation is done

    figures.draw(folder)


def _workers(args) -> int:
    from sim import runner  # not at parse time: the runner loads the whole simulation

    return args.workers or runner.default_workers()


def checked_out(out: Path) -> Path:
    """Refuse an output path that cannot become a folder, before any simulation runs."""
    for p in (out, *out.parents):
        if p.exists() and not p.is_dir():
            raise ScenarioError(out, "--out", f"{p} is a file, not a folder")
    return out


def cmd_figures(args) -> int:
    from sim import figures

    if not (args.results_dir / "manifest.json").exists():
        raise ScenarioError(args.results_dir, "", "not a results folder (no manifest.json)")
    for f in figures.draw(args.results_dir):
        print(f)
    return 0


def cmd_validate(args) -> int:
    """Scenario, district and experiment files alike; one line per file."""
    bad = 0
    for f in args.files:
        try:
            print(f"{f}: ok ({validate_file(f)})")
        except ScenarioError as e:
            print(f"error: {e}", file=sys.stderr)
            bad += 1
    return EXIT_BAD_INPUT if bad else 0


def validate_file(path) -> str:
    raw = scenario_mod.load_raw(path)
    if "streets" in raw:
        from sim import district

        dist, streets = district.load(path)
        return f"district {dist.name}, {len(streets)} streets"
    if isinstance(raw, dict) and EXPERIMENT_KEY in raw:
        from sim.sweep import experiment  # numpy, pandas and the model: only for experiment files

        experiment.load(path)
        return "experiment"
    return scenario_mod.load(path).name


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
