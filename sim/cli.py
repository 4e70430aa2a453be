"""The ``streetsim`` command."""

from __future__ import annotations

import argparse
import importlib
import json
import os
import signal
import sys
from pathlib import Path

from sim import limits, notes
from sim import scenario as scenario_mod
from sim.labels import LANGS, replications_text, word
from sim.results_folder import AtomicFolder, check_out, check_results_folder, subfolder_name_clash
from sim.scenario import CommandFailed, Interrupted, ScenarioError, printable

# The simulation, pandas and the figures are imported inside the commands that use them, so
# `validate` and `schema` start in well under a second and `run` loads no plotting library
# until it draws (benchmarks/startup.py measures this; tests/test_startup.py checks it).

EXIT_BAD_INPUT = 2
# Command groups that live beside their code; each module defines add_commands(subparsers)
# and imports its heavy dependencies (dask, solara) only inside the command it runs.
PLUGIN_COMMANDS = (
    "sim.sweep.commands", "sim.viz.commands", "sim.calibrate.commands", "sim.report.commands", "sim.staffing.commands",
)  # fmt: skip
# sim.sweep.experiment.TOP_KEY, named here so checking a scenario file loads no sweep code
# (tests/test_startup.py checks the two agree).
EXPERIMENT_KEY = "experiment"
OBSERVED_KEY = "calibration"  # sim.calibrate.observed.TOP_KEY
TARGET_FILE_KEYS = ("targets", "roles", "case_types")  # sim.staffing.targets.TARGET_FILE_KEYS


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    # the command as a user would type it again (recorded in manifest.json and the report)
    args.command = ["streetsim", *(sys.argv[1:] if argv is None else argv)]
    caught = _stop_on_sigterm()
    try:
        return args.func(args)
    except ScenarioError as e:
        print(f"error: {e}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except CommandFailed as e:  # not bad input; a SLURM task ends FAILED
        print(f"error: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt as e:
        sig = caught[0] if caught else signal.SIGINT
        what = str(e) if isinstance(e, Interrupted) else "workers stopped, nothing written"
        print(f"\ninterrupted ({signal.Signals(sig).name}); {what}", file=sys.stderr)
        return 128 + sig


def _stop_on_sigterm() -> list[int]:
    """SIGTERM (kill, a batch system's time limit) stops a command the way Ctrl-C does: workers
    ended, temporary files removed. Returns a list that will hold the signal received."""
    caught: list[int] = []

    def handler(signum, frame):
        caught.append(signum)
        raise KeyboardInterrupt

    try:
        signal.signal(signal.SIGTERM, handler)
        # Ctrl-C and `kill -INT` stop a command even when it was started from a shell that
        # ignores SIGINT for background jobs (Python then leaves SIGINT ignored).
        signal.signal(signal.SIGINT, signal.default_int_handler)
    except ValueError:  # not the main thread (e.g. called from a test runner thread)
        pass
    return caught


class OneLineParser(argparse.ArgumentParser):
    """A bad flag gives one line (not the usage block) and exit status 2."""

    def error(self, message):
        # the message quotes what was typed (an unknown argument may be a file name from a glob)
        self.exit(EXIT_BAD_INPUT, printable(f"error: {self.prog}: {message} (see {self.prog} --help)") + "\n")


def _parser():
    p = OneLineParser(prog="streetsim", description=__doc__)
    sub = p.add_subparsers(required=True, metavar="COMMAND")

    run = sub.add_parser("run", help="run one scenario (or a district file): KPI table with 95%% CIs")
    run.add_argument("scenario", type=given_file)
    _common_run_options(run)
    run.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY.PATH=VALUE")
    run.add_argument("--scheduler", default=None, metavar="ADDRESS",
                     help="district and city files: run the streets on this Dask scheduler, e.g. tcp://HOST:8786")
    run.set_defaults(func=cmd_run)

    cmp = sub.add_parser("compare", help="compare scenarios on common random numbers, with paired differences")
    cmp.add_argument("scenarios", nargs="+", type=given_file)
    _common_run_options(cmp)
    cmp.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY.PATH=VALUE",
                     help="applied to every scenario")
    cmp.add_argument("--all", dest="show_all", action="store_true",
                     help="every KPI, not only those that changed")
    cmp.set_defaults(func=cmd_compare)

    fig = sub.add_parser("figures", help="draw the figures (PNG, SVG, PDF) of a results folder")
    fig.add_argument("results_dir", type=given_path)
    fig.add_argument("--lang", choices=LANGS, default="en", help="language of the labels (zh or en)")
    fig.set_defaults(func=cmd_figures)

    val = sub.add_parser("validate", help="check scenario files; one line per problem")
    val.add_argument("files", nargs="+", type=given_file)
    val.add_argument("--yes", action="store_true",
                     help="check every point of an experiment design of more than 10,000 runs too (sim/limits.py; "
                          "~5 ms a point)")  # fmt: skip
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
    p.add_argument("--replications", "-r", type=replication_count, default=10)
    p.add_argument("--seed", "-s", type=seed, default=1, help="a whole number >= 0")
    p.add_argument("--out", default=None, help="default: results/<name>; a new folder, or an earlier result with --force")
    p.add_argument("--force", action="store_true", help="replace the earlier result in --out (kept until the new one is complete; files streetsim "
                        "did not write are moved to <out>-kept-<time>-<hex>, not deleted)")
    p.add_argument("--workers", "-j", type=positive_int, default=None,
                   help="worker processes (default: the machine's cores, at most 8; at most 4 a CPU)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.add_argument("--lang", choices=LANGS, default="en", help="language of tables and figures (zh or en)")
    p.add_argument("--no-figures", dest="figures", action="store_false", help="skip drawing figures (scripted use)")


def _figures_written(args, text: str = " figures/") -> str:
    return text if args.figures else ""


def given_file(text):
    """argparse type: a file or folder path. An empty one became Path("."): the error named the
    working folder ("is a folder, not a file") instead of the argument, and an empty --out wrote
    into the working folder."""
    if not text.strip():
        raise argparse.ArgumentTypeError("empty; give a path")
    return text


def given_path(text):
    """given_file, as a Path."""
    return Path(given_file(text))


def positive_int(text):
    """argparse type: a whole number > 0 (one line otherwise); the plugin commands use it too."""
    try:
        v = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a whole number, got {text[:40]!r}") from None
    if v <= 0:
        raise argparse.ArgumentTypeError(f"must be > 0, got {v}")
    return v


def replication_count(text):
    """argparse type: replications, 1 to limits.MAX_REPLICATIONS (staff takes it too)."""
    v = positive_int(text)
    if v > limits.MAX_REPLICATIONS:
        raise argparse.ArgumentTypeError(f"at most {limits.MAX_REPLICATIONS:,}, got {v:,}")
    return v


def check_local_workers(workers: int | None) -> None:
    """--workers started as processes on this machine (run, compare, a sweep's local or SLURM
    executor): at most limits.WORKERS_PER_CPU a CPU. A Dask cluster's workers are not capped:
    they run elsewhere, and --workers then sizes the chunks of runs sent to them."""
    cpus = os.cpu_count() or 1
    if workers is not None and workers > limits.WORKERS_PER_CPU * cpus:
        raise ScenarioError("--workers", "", f"{workers:,} processes on this machine of {cpus} CPUs; at most "
                            f"{limits.WORKERS_PER_CPU * cpus:,} ({limits.WORKERS_PER_CPU} a CPU)")  # fmt: skip


def seed(text):
    """numpy's SeedSequence takes whole numbers >= 0."""
    try:
        v = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a whole number >= 0, got {text[:40]!r}") from None
    if v < 0:
        raise argparse.ArgumentTypeError(f"must be >= 0, got {v}")
    return v


def cmd_run(args) -> int:
    from sim import district

    if not args.scheduler:  # a district's streets on a Dask cluster run elsewhere
        check_local_workers(args.workers)
    read: list = []  # each file read, with its text: the notes kept are of what ran
    raw = scenario_mod.load_raw(args.scenario, read=read)
    if district.is_district(raw):
        return run_district(args, raw, read)
    if args.scheduler:
        raise ScenarioError(args.scenario, "--scheduler", "only district and city files run on a Dask cluster "
                            "(replications of one scenario: streetsim sweep --executor dask)")
    settings = scenario_mod.from_raw(raw, args.scenario, args.overrides)
    scenario_notes = notes.recorded_from(read)
    out = check_out(args.out if args.out is not None else Path("results") / settings.name, "run", args.force)
    import pandas as pd  # the simulation and its tables load once the input is known to be good

    from sim import compare, runner

    results = runner.run_replications(settings, args.replications, args.seed, not args.quiet, _workers(args))
    summary = pd.DataFrame([r.kpis for r in results])
    print(f"\n{settings.name}: {replications_text(args.replications)}, seed {args.seed}, {settings.horizon.days} days")
    print(compare.format_comparison(compare.comparison_table({settings.name: summary}), lang=args.lang))
    m = runner.manifest("run", args.command, args.seed, args.replications, [args.scenario], scenario_notes)
    m["scenario_names"] = [settings.name]
    with AtomicFolder(out, "run") as tmp:
        runner.write_tables(tmp, settings, results)
        runner.write_manifest(tmp, m)
        if args.figures:
            _draw_figures(tmp, args.lang)
    print(f"\nwrote {out}/: summary.csv cases.parquet timeseries.parquet roles.csv scenario.resolved.yaml "
          f"manifest.json{_figures_written(args)}")
    return 0


def cmd_compare(args) -> int:
    check_local_workers(args.workers)
    scenarios, read = {}, []
    for path in args.scenarios:
        s = scenario_mod.load(path, args.overrides, read)
        clash = subfolder_name_clash(s.name, scenarios)
        if clash:
            raise ScenarioError(path, "name", f"compare writes each scenario into a folder of its name: {clash}")
        scenarios[s.name] = s
    scenario_notes = notes.recorded_from(read)
    if args.replications < 2:
        raise ScenarioError("--replications", "", "compare needs at least 2: differences are paired over replications")
    out = check_out(args.out if args.out is not None else Path("results") / "compare", "compare", args.force)
    import pandas as pd  # the simulation and its tables load once the input is known to be good

    from sim import compare, runner

    # Every scenario runs replication i on the same seeds: common random numbers.
    seeds = runner.replication_seeds(args.seed, args.replications)
    jobs = [(s, ss, i) for s in scenarios.values() for i, ss in enumerate(seeds)]
    done = runner.run_many(jobs, _workers(args), not args.quiet, "compare")
    results = {n: done[k * args.replications:(k + 1) * args.replications] for k, n in enumerate(scenarios)}
    summaries = {n: pd.DataFrame([r.kpis for r in res]) for n, res in results.items()}
    table = compare.comparison_table(summaries)
    print(f"\n{len(scenarios)} scenarios, {args.replications} replications each, seed {args.seed}")
    print(compare.format_comparison(table, args.show_all, args.lang))
    m = runner.manifest("compare", args.command, args.seed, args.replications, args.scenarios, scenario_notes)
    m["scenario_names"] = list(scenarios)
    with AtomicFolder(out, "compare") as tmp:
        table.to_csv(tmp / "comparison.csv", index=False, float_format="%.10g")
        for name, res in results.items():
            runner.write_tables(tmp / name, scenarios[name], res)
        runner.write_manifest(tmp, m)
        if args.figures:
            _draw_figures(tmp, args.lang)
    print(f"\nwrote {out}/: comparison.csv{_figures_written(args, ', figures/ (PNG, SVG, PDF)')}, "
          "and each scenario's outputs in its own folder")
    return 0


def run_district(args, raw: dict, read: list) -> int:
    """A district or city file (``raw``, as read into ``read``): every street, then totals per
    district (city files) and overall."""
    from sim import district

    dist, streets = district.load(args.scenario, args.overrides, read, raw)
    scenario_notes = notes.recorded_from(read)  # the district file's and each street scenario file's
    out = check_out(args.out if args.out is not None else Path("results") / dist.name, "district", args.force)
    if args.scheduler:
        from sim.sweep.commands import check_scheduler

        check_scheduler(args.scheduler)
    from sim import compare, runner  # the simulation loads once the input is known to be good

    jobs = district.street_jobs(streets, args.seed, args.replications)
    names = list(streets)
    m = runner.manifest("district", args.command, args.seed, args.replications, [args.scenario], scenario_notes)
    m["scenario_names"] = [dist.name]
    m["street_names"] = names
    with AtomicFolder(out, "district") as tmp:  # each street's tables are written as it finishes
        tables = district.StreetTables(tmp / "streets", streets, args.replications)
        done = district.run_streets(jobs, _workers(args), not args.quiet, dist.name, args.scheduler, tables.keep)
        per_street = {n: done[k * args.replications:(k + 1) * args.replications] for k, n in enumerate(names)}
        street_rows = district.street_table(dist, per_street)
        districts = district.per_district_kpis(dist, per_street, streets)
        summary = district.district_kpis(per_street, streets)
        print(f"\n{dist.name}: {len(names)} streets, {replications_text(args.replications)}, seed {args.seed}")
        print(compare.format_comparison(compare.comparison_table({dist.name: summary}), lang=args.lang))
        if len(districts):
            print("\n" + word("per_district_means", args.lang))
            print(district.mean_table_text(districts, "district", args.lang))
        print("\n" + word("per_street_means", args.lang))
        print(district.mean_table_text(street_rows, "street", args.lang))
        summary.to_csv(tmp / "summary.csv", index=False, float_format="%.10g")
        street_rows.to_csv(tmp / "streets.csv", index=False, float_format="%.10g")
        if len(districts):
            districts.to_csv(tmp / "districts.csv", index=False, float_format="%.10g")
        runner.write_manifest(tmp, m)
        if args.figures:
            _draw_figures(tmp, args.lang)
    written = "summary.csv (total), " + ("districts.csv (per district), " if len(districts) else "")
    print(f"\nwrote {out}/: {written}streets.csv (per street), streets/<name>/{_figures_written(args, ', figures/')}")
    return 0


def _draw_figures(folder: Path, lang: str) -> None:
    from sim import figures  # matplotlib loads here, once the simulation is done (scipy.stats at a first interval)

    figures.draw(folder, lang)


def _workers(args) -> int:
    from sim import runner  # not at parse time: the runner loads the whole simulation

    return args.workers or runner.default_workers()


def cmd_figures(args) -> int:
    folder = check_results_folder(args.results_dir)
    from sim import figures  # matplotlib loads once the folder is known to be good

    try:
        drawn = figures.draw(folder, args.lang)
    except (ValueError, KeyError, OSError) as e:  # a table that reads but lacks what figures need
        raise ScenarioError(folder, "", f"cannot draw figures from this results folder: {type(e).__name__}: "
                            f"{str(e).splitlines()[0][:200] if str(e) else ''}") from None  # fmt: skip
    for f in drawn:
        print(printable(str(f)))  # the folder's name came from the command line
    return 0


def cmd_validate(args) -> int:
    """Scenario, district and experiment files alike; one line per file."""
    bad = 0
    for f in args.files:
        try:
            print(f"{printable(f)}: ok ({validate_file(f, args.yes)})")  # a name from a glob may hold an escape
        except ScenarioError as e:
            print(f"error: {e}", file=sys.stderr)
            bad += 1
    return EXIT_BAD_INPUT if bad else 0


def validate_file(path, confirmed: bool = False) -> str:
    """What the file is, once checked: a scenario, district, experiment, targets or observed file.
    A targets or observed file is checked on its own here; `staff` and `calibrate` also check
    its KPIs and parameters against the scenario they are given."""
    raw = scenario_mod.load_raw(path)
    if isinstance(raw, dict) and OBSERVED_KEY in raw:
        from sim.calibrate import observed

        spec = observed.load_alone(Path(path))
        return f"observed file {spec.calibration}, {len(spec.observed)} quantities, {len(spec.parameters)} parameters"
    if isinstance(raw, dict) and raw and set(raw) <= set(TARGET_FILE_KEYS):
        from sim.staffing import targets

        return f"targets file, {len(targets.load_file(path))} targets"
    if "streets" in raw:
        from sim import district

        dist, streets = district.load(path)
        return f"district {dist.name}, {len(streets)} streets"
    if isinstance(raw, dict) and EXPERIMENT_KEY in raw:
        from sim.sweep import experiment  # numpy, pandas and the model: only for experiment files

        # As `sweep` does: a design past the runs that need --yes is refused before its points are
        # built (each is a scenario validated, ~5 ms: a mistyped 40,000-point design took minutes)
        experiment.load(path, confirmed=confirmed)
        return "experiment"
    # A scenario: built from what was read above. scenario_mod.load(path) would read and parse the
    # file (and each file it extends) again: half of the ~7 s a 1 MB scenario took to validate.
    return scenario_mod.build(raw, path).name


def cmd_schema(args) -> int:
    json.dump(scenario_mod.json_schema(), sys.stdout, indent=2)
    print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
