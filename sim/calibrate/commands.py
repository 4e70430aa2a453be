"""``streetsim calibrate``. Heavy imports (scikit-learn, the sweep executors) stay inside the handler."""

from __future__ import annotations

from pathlib import Path

from sim.cells import cut, display_width, pad
from sim.cli import given_file, given_path, positive_int
from sim.labels import LANGS
from sim.scenario import Interrupted
from sim.sweep.commands import add_executor_arguments  # calibration runs go through the sweep executors


def add_commands(sub) -> None:
    p = sub.add_parser(
        "calibrate",
        help="fit a scenario's uncertain parameters to observed figures (history matching + posterior)",
        description="Rule out parameter values that cannot reproduce OBSERVED (history matching in waves), estimate "
        "the remaining parameters' posterior, and check the calibrated model against every observed quantity. "
        "Runs go through the sweep executors and are reused when the command is repeated.",
    )
    p.add_argument("scenario", type=given_file, help="the scenario to calibrate (scenarios/*.yaml)")
    p.add_argument("observed", type=given_file, help="observed quantities and the parameters allowed to move (observed/*.yaml)")
    p.add_argument("--out", type=given_path, default=None, help="default: results/calibrate_<calibration name>/")
    add_executor_arguments(p, batches=True)
    p.add_argument("--waves", type=positive_int, default=None, help="history-matching waves (default: the observed file's method)")
    p.add_argument("--points", type=positive_int, default=None, help="parameter points per wave")
    p.add_argument("--replications", type=positive_int, default=None, help="replications per point (>= 2)")
    p.add_argument("--seed", type=int, default=None)
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY.PATH=VALUE",
                   help="fixed scenario overrides while calibrating (after the observed file's method.set); "
                   "part of the model calibrated, so written into the calibrated scenario")  # fmt: skip
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.add_argument("--lang", choices=LANGS, default="en", help="language of the printed summary (zh or en)")
    p.set_defaults(func=cmd_calibrate)


def checked_out(out) -> Path:
    """A calibration's --out, checked before any run: a name a folder can have, under folders, and
    writable. (Whether it holds this calibration, to resume, or something else is checked when
    the calibration opens it: sim.calibrate.fit.)"""
    from sim import results_folder
    from sim.scenario import ScenarioError

    out = results_folder.check_name(out)
    for p in (out, *out.parents):
        if p.exists() and not p.is_dir():
            raise ScenarioError("--out", "", f"{p} is a file, not a folder")
    results_folder.check_writable(out)
    return out


def cmd_calibrate(args) -> int:
    from sim.calibrate import observed
    from sim.sweep.commands import executor_shard

    shard = executor_shard(args.executor, args.shard, args.scheduler, args.workers)
    cal = observed.load(args.scenario, args.observed, args.overrides, method_overrides(args))
    out = checked_out(args.out or Path("results") / f"calibrate_{cal.spec.calibration}")
    from sim import results_folder

    results_folder.check_name(observed.calibrated_file(cal, out), str(cal.scenario_file), "calibrated scenario file")
    from sim.calibrate.simulate import Execution  # the runs' machinery loads once the input is known to be good
    from sim.sweep.shards import Pending

    how = Execution(args.executor, args.workers, args.scheduler, shard, args.shard_wait, progress=not args.quiet)
    from sim.calibrate import fit, outputs

    try:
        result = fit.calibrate(cal, out, how)
    except Pending as e:
        print(f"shard {shard[0]}/{shard[1]} stopped: {e}. Submit the array again (the same command): every finished "
              "run is reused; once every batch is stored, run the command once without --shard to write the results.")  # fmt: skip
        return 0
    except KeyboardInterrupt:
        raise Interrupted.keeping(out) from None
    if shard is not None:
        print(f"every run is stored in {out}/; run the command once without --shard to write the results")
        return 0
    files = outputs.write(result, out, reproduce_command(cal, out))
    print(summary_text(result, args.lang))
    print(f"\nwrote {out}/: {' '.join(files)}")
    return 0


def reproduce_command(cal, out: Path) -> list[str]:
    """The command that reruns this calibration into ``out`` (reusing its runs): both files and
    every setting that changes the result as it was in effect, the observed file's method with
    this command's flags applied, and this command's --set. The executor flags are left out:
    they change where runs go, not what they give."""
    m = cal.spec.method
    flags = {"--waves": m.waves, "--points": m.points, "--replications": m.replications, "--seed": m.seed}
    return ["streetsim", "calibrate", str(cal.scenario_file), str(cal.file), "--out", str(out),
            *(str(a) for flag, value in flags.items() for a in (flag, value)),
            *(a for s in cal.overrides for a in ("--set", s))]  # method.set is the observed file's own


def method_overrides(args) -> dict:
    names = {"waves": args.waves, "points": args.points, "replications": args.replications, "seed": args.seed}
    return {k: v for k, v in names.items() if v is not None}


def summary_text(result, lang: str = "en") -> str:
    """What the terminal shows of a calibration, in ``lang`` (sim.labels): how many runs, the fit of
    each observed quantity, the parameters, and a line per quantity not reproduced."""
    from sim.calibrate.outputs import quantity_name, verdict_words
    from sim.labels import label, word

    lines = ["\n" + word("calibrate_head", lang, name=result.cal.spec.calibration, runs=result.runs_total,
                         ran=result.ran, waves=len(result.history.waves), seconds=f"{result.seconds:.0f}",
                         ess=f"{result.posterior.ess:.0f}")]  # fmt: skip
    if not result.history.joint_fit:
        lines.append(word("calibrate_no_joint_fit", lang))
    lines.append(f"\n{pad(word('calibrate_quantity', lang), 44)} {pad(word('calibrate_observed', lang), 18, True)} "
                 f"{pad(word('calibrate_predicted', lang), 10, True)} {pad(word('calibrate_interval', lang), 22, True)}  "
                 f"{word('calibrate_verdict', lang)}")  # fmt: skip
    for r in result.table.itertuples(index=False):
        obs = f"{r.observed:.4g} ± {r.observed_sd:.2g}"
        interval = f"[{r.predicted_q025:.4g}, {r.predicted_q975:.4g}]"
        verdict = "calibrate_ok" if r.reproduced else ("calibrate_irreconcilable" if r.irreconcilable else "calibrate_not_reproduced")
        lines.append(f"{pad(cut(label(r.quantity, lang), 44), 44)} {obs:>18} {r.predicted_mean:>10.4g} {interval:>22}  "
                     f"{word(verdict, lang)}{word('calibrate_sd', lang, z=f'{r.z:+.1f}')}")  # fmt: skip
    lines += parameter_lines(result.parameters, lang)
    lines += check_lines(result.history.check, lang)
    for r in result.table.itertuples(index=False):
        if not r.reproduced:
            # the table's verdict (fit.verdict) is a long English sentence; Chinese gets the
            # report's short verdict, the quantity by its name (the key is in the table above)
            quantity, verdict = ((r.quantity, r.verdict) if lang == "en" else
                                 (quantity_name(r.quantity, lang), verdict_words(r, lang)))  # fmt: skip
            lines.append(word("calibrate_misfit", lang, quantity=quantity, verdict=verdict))
    return "\n".join(lines)


def check_lines(check, lang: str = "en") -> list[str]:
    """The emulators' leave-one-out check: a warning line per quantity whose emulator failed it, or
    one line with the largest share of runs beyond LOO_Z sd when every one passed."""
    from sim.calibrate.emulator import BEYOND, CHECKED, LOO_BEYOND_SHARE, LOO_Z
    from sim.calibrate.outputs import failed_checks, quantity_name
    from sim.labels import join_list, word

    name = (lambda q: q) if lang == "en" else (lambda q: quantity_name(q, lang))  # as the misfit lines
    limits = {"z": f"{LOO_Z:g}", "limit": f"{LOO_BEYOND_SHARE:.0%}"}
    failed = failed_checks(check)
    if failed:
        return [word("calibrate_check_failed", lang, quantity=name(q), waves=join_list(waves, lang), share=f"{share:.1%}",
                     **limits) for q, waves, share in failed]  # fmt: skip
    checked = check[check["status"].isin(CHECKED)] if not check.empty else check
    if checked.empty:
        return []
    worst = checked.loc[checked[BEYOND].idxmax()]
    if worst[BEYOND] == 0:  # naming one quantity and wave as the worst of equals would say it stood out
        return ["\n" + word("calibrate_check_none_beyond", lang, **limits)]
    return ["\n" + word("calibrate_check_ok", lang, quantity=name(worst["quantity"]), wave=int(worst["wave"]),
                        share=f"{worst[BEYOND]:.1%}", **limits)]  # fmt: skip


def parameter_lines(params, lang: str = "en") -> list[str]:
    """Each parameter by its name (sim.labels, in ``lang`` as the rest of the summary), with its
    values, and its key path under it to find it in the scenario; a key with no name keeps its path."""
    from sim.calibrate.outputs import parameter_name
    from sim.labels import word

    names = [parameter_name(p, lang) for p in params["parameter"]]
    width = max([58, *(display_width(n) for n in names)])
    lines = [f"\n{pad(word('parameter', lang), width)} {pad(word('calibrate_was', lang), 10, True)} "
             f"{pad(word('calibrate_calibrated', lang), 11, True)} {pad(word('calibrate_interval', lang), 24, True)}"]
    for name, r in zip(names, params.itertuples(index=False)):
        interval = f"[{r.posterior_q025:.4g}, {r.posterior_q975:.4g}]"
        lines.append(f"{pad(name, width)} {r.scenario_value!s:>10} {r.calibrated_value!s:>11} {interval:>24}")
        if name != r.parameter:
            lines.append(f"  {r.parameter}")
    return lines
