"""``streetsim report``: the PDF annex of a results folder."""

from __future__ import annotations

from pathlib import Path

from sim.cli import given_path
from sim.labels import LANGS


def add_commands(sub) -> None:
    p = sub.add_parser("report", help="a PDF annex (Chinese or English) of a run, compare, district or sweep folder",
                       description="Typeset RESULTS into RESULTS/report_<lang>.pdf offline; figures are redrawn "
                       "in the same language. A report.json in RESULTS adds sections (see README).")
    p.add_argument("results_dir", type=given_path, metavar="RESULTS")
    p.add_argument("--lang", choices=LANGS, default="zh", help="language of the annex (default zh)")
    p.add_argument("--out", type=given_path, default=None, help="PDF file (default RESULTS/report_<lang>.pdf)")
    p.add_argument("--no-figures", dest="figures", action="store_false",
                   help="use the figures already in RESULTS/figures instead of redrawing them")
    p.set_defaults(func=cmd_report)


def cmd_report(args) -> int:
    from sim.scenario import ScenarioError, control_character

    if args.out is None and (control := control_character(str(args.results_dir))):
        # the default file goes into the folder; said of the folder, not of an --out the user did not give
        raise ScenarioError(args.results_dir, "", f"its name contains a control character ({control}) and the report "
                            "would be written into it; name the PDF with --out")  # fmt: skip
    if args.out is not None and args.out.suffix.lower() != ".pdf":
        raise ScenarioError("--out", "", f"{args.out}: the report is a PDF; name a .pdf file")
    if args.out is not None:  # before the plots load; build checks again (its language may fall back to English)
        from sim.report.typeset import check_out_file

        check_out_file(args.out, args.out == args.results_dir / f"report_{args.lang}.pdf")
    from sim.results_folder import check_path_readable

    check_path_readable(args.results_dir)
    if (args.results_dir / "manifest.json").exists():  # a simulation's folder: its tables are checked first
        from sim.results_folder import REPORT_KINDS, REPORT_TABLES, check_results_folder

        check_results_folder(args.results_dir, REPORT_KINDS, REPORT_TABLES)
        _check_facts(args.results_dir / "manifest.json")
    from sim.report import build  # the plots and the typesetter load once the folder is known to be good
    from sim.sweep import store
    try:
        pdf = build(args.results_dir, args.lang, args.out, args.figures)
    except store.Damaged as e:  # a sweep's design.parquet (its damaged parts are skipped, with a warning)
        raise ScenarioError(e.file, "", f"damaged ({e.reason}); run `streetsim sweep` again to rewrite it") from None
    except (ValueError, KeyError, TypeError, OSError) as e:  # tables that read but lack what the report needs
        raise ScenarioError(args.results_dir, "", f"cannot report on this results folder: {type(e).__name__}: "
                            f"{str(e).splitlines()[0][:200] if str(e) else ''}") from None  # fmt: skip
    print(pdf)
    return 0


# What the annex states of how a simulation's results were made (its method section).
FACTS = {"replications": 1, "seed": 0}  # each with the least value streetsim writes


def _check_facts(manifest_file: Path) -> None:
    from sim import notes
    from sim.results_folder import read_json
    from sim.scenario import ScenarioError

    manifest = read_json(manifest_file)
    if manifest.get("kind") == "staffing":  # its report.json says how it was made
        return
    for key, least in FACTS.items():
        value = manifest.get(key)
        if not isinstance(value, int) or isinstance(value, bool) or value < least:
            raise ScenarioError(manifest_file, key, f"missing or not a whole number >= {least}: not a manifest "
                                "streetsim wrote")  # fmt: skip
    if "scenario_notes" in manifest and not notes.is_recorded(manifest["scenario_notes"]):
        raise ScenarioError(manifest_file, "scenario_notes", "not a list of each scenario file's notes as streetsim "
                            "writes it")  # fmt: skip
