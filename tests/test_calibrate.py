"""streetsim calibrate: recovers parameters it generated data from, reports what it cannot fit,
rejects bad observed files with one line, and reuses finished runs.

The calibration runs on a small street (tests/calibration/small_street.yaml: 12,000 residents,
45 days) through the real command and the local sweep executor with 2 workers, seeded.
"""

import json
import platform
import re
import shutil
import subprocess
from collections import Counter
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from test_sweep_helpers import ASCII_PUNCTUATION_BY_CJK, figure_text, kpi_table, raw_run_ids, report_texts

from sim import provenance, runner, scenario
from sim.calibrate import commands as calibrate_commands
from sim.calibrate import emulator, fit
from sim.calibrate import observed as observed_file
from sim.calibrate.measures import measure
from sim.cli import _parser as cli_parser
from sim.cli import main
from sim.labels import label, parameter_label, word
from sim.report import annex
from sim.scenario import ScenarioError
from sim.sweep import store

ROOT = Path(__file__).resolve().parents[1]
SMALL = "tests/calibration/small_street.yaml"
# The parameters generating the "observed" data, and the ranges the calibration searches.
TRUTH = {
    "case_types.street_environment.arrivals.per_resident_per_year": (0.26, {"min": 0.1, "max": 0.4}),
    "loop.discovery.resident_report_per_day": (0.08, {"min": 0.02, "max": 0.3, "scale": "log"}),
}
IMPOSSIBLE_ON_SPOT = 0.6  # on-the-spot fixes are ~15% and no parameter in the ranges moves them
METHOD = {"waves": 2, "points": 12, "replications": 2, "seed": 11, "candidates": 4000, "posterior_draws": 4}


def _observed_from_truth(reps=4, seed=99):
    """What a street run at TRUTH shows: the mean of 4 runs on seeds the calibration never uses,
    with its standard error as the observation's sd."""
    sets = [f"{k}={v}" for k, (v, _) in TRUTH.items()]
    settings = scenario.load(SMALL, sets)
    rows = []
    for i, ss in enumerate(runner.replication_seeds(seed, reps)):
        rep = runner.run_replication(settings, ss, i)
        rows.append({**rep.kpis, **measure(settings, rep)})
    table = pd.DataFrame(rows)
    out = []
    for q in ("grid_cases_per_resident_per_year", "patrol_discovery_share"):
        se = float(table[q].std(ddof=1) / np.sqrt(reps))
        out.append({"quantity": q, "value": float(table[q].mean()), "sd": max(se, 1e-4), "source": "the model at TRUTH"})
    return out


@pytest.fixture(scope="module")
def calibrated(tmp_path_factory):
    folder = tmp_path_factory.mktemp("calib")
    observed = {
        "calibration": "recover",
        "discrepancy_share": 0.0,  # the model made the data: no model discrepancy
        "observed": [
            *_observed_from_truth(),
            {"quantity": "on_spot_share", "value": IMPOSSIBLE_ON_SPOT, "sd": 0.01, "source": "impossible on purpose"},
        ],
        "parameters": {k: r for k, (_, r) in TRUTH.items()},
        "method": METHOD,
    }
    obs_file = folder / "recover.yaml"
    obs_file.write_text(yaml.safe_dump(observed), encoding="utf-8")
    out = folder / "out"
    assert main(["calibrate", SMALL, str(obs_file), "--out", str(out), "--workers", "2", "--quiet"]) == 0
    return obs_file, out


def test_recovers_the_parameters_that_generated_the_observations(calibrated):
    _, out = calibrated
    post = pd.read_csv(out / "posterior.csv").set_index("parameter")
    for key, (true, _) in TRUTH.items():
        lo, hi = post.loc[key, "posterior_q025"], post.loc[key, "posterior_q975"]
        assert lo <= true <= hi, f"{key}: true {true} outside the 95% interval [{lo:.4g}, {hi:.4g}]"
    # and the interval is informative where the data pin it: the grid-case rate fixes the arrival rate
    key = "case_types.street_environment.arrivals.per_resident_per_year"
    width = post.loc[key, "posterior_q975"] - post.loc[key, "posterior_q025"]
    assert width < 0.4 * (TRUTH[key][1]["max"] - TRUTH[key][1]["min"]), f"interval {width:.3f} wide"
    table = pd.read_csv(out / "observed_vs_predicted.csv").set_index("quantity")
    for q in ("grid_cases_per_resident_per_year", "patrol_discovery_share"):
        assert table.loc[q, "reproduced"], table.loc[q, "verdict"]


def test_an_observation_no_parameter_reaches_is_reported_irreconcilable(calibrated):
    _, out = calibrated
    row = pd.read_csv(out / "observed_vs_predicted.csv").set_index("quantity").loc["on_spot_share"]
    assert row["irreconcilable"] and not row["reproduced"]
    assert row["simulated_max"] < IMPOSSIBLE_ON_SPOT - 0.3, "the model was not expected to come near 0.6"
    assert row["smallest_implausibility_in_ranges"] > 3
    assert "cannot be reproduced" in row["verdict"]
    report = json.loads((out / "report.json").read_text(encoding="utf-8"))
    assert "share fixed on the spot" in report["sections"][0]["text"]["en"]
    assert report["title"]["zh"] and all(s["heading"]["zh"] for s in report["sections"])
    for section in report["sections"]:
        for lang in ("zh", "en"):  # each table and figure in each language
            for t in section["tables"]:
                assert (out / t["csv"][lang]).exists()
            for f in section["figures"]:
                assert (out / f["file"][lang]).stat().st_size > 1000


# Headers of the report's tables (sim.calibrate.outputs.report_tables) and words in its cells.
REPORT_HEADERS = ("observed_quantity", "observed_value", "predicted_mean", "predicted_interval", "decision",
                  "parameter", "key_path", "scenario_value", "prior_range", "scale",
                  "parameter", "non_implausible_range", "calibrated_median", "posterior_interval", "wave", "points", "runs", "ran_now", "already_stored", "failed_runs",
                  "region_share", "joint_fit", "irreconcilable_quantities",
                  "wave", "observed_quantity", "runs", ("check_beyond", "2"), ("check_beyond", "3"), "check_max_z",
                  "check_result")  # fmt: skip


def _header(key, lang):
    """A header of REPORT_HEADERS in ``lang``: a key, or (key, z) for the emulator check's shares."""
    return word(key[0], lang, z=key[1]) if isinstance(key, tuple) else word(key, lang)
REPORT_CELL_WORDS = ("scale_linear", "scale_log")
# Latin words a Chinese annex of this calibration may show besides the parameters' scenario keys:
# its own names (recover, small_street), the method's names, symbols and the authors it cites.
LATIN_IN_ZH = {"recover", "small_street", "small_street_calibrated", "yaml", "scikit", "learn", "sqrt", "I", "z",
               "Vernon", "Goldstein", "Bower", "Andrianakis", "Rasmussen", "Williams"}


def _verdict(row, lang):
    """The words the report's table gives an observed row's verdict, up to its number of sd (a
    long cell may wrap there): irreconcilable, or reproduced or not at the calibrated model."""
    key = ("verdict_irreconcilable" if row.irreconcilable else
           "verdict_reproduced" if row.reproduced else "verdict_not_reproduced")  # fmt: skip
    return word(key, lang, z="\0").split("\0")[0]


def test_the_annex_is_chinese_in_chinese_and_english_in_english(calibrated):
    """`streetsim report` on what `calibrate` wrote, read back: in Chinese the tables' headers,
    verdicts and words and the figures' labels are Chinese, none of the CSVs' English field names
    shows; in English nothing is Chinese; the software line names the Python version."""
    _, out = calibrated
    fit = pd.read_csv(out / "observed_vs_predicted.csv")
    field_names = {*fit.columns, *pd.read_csv(out / "posterior.csv").columns, *pd.read_csv(out / "waves.csv").columns}
    keys = {part for key in TRUTH for part in key.split(".")}
    sections = json.loads((out / "report.json").read_text(encoding="utf-8"))["sections"]
    for lang in ("zh", "en"):
        headers = [h for s in sections for t in s["tables"] for h in pd.read_csv(out / t["csv"][lang]).columns]
        assert headers == [_header(k, lang) for k in REPORT_HEADERS], (lang, headers)
        assert main(["report", str(out), "--lang", lang]) == 0
        text = subprocess.run(["pdftotext", str(out / f"report_{lang}.pdf"), "-"], capture_output=True, text=True,
                              check=True).stdout  # fmt: skip
        body, software = text.split(word("sec_software", lang))  # the command to reproduce is the user's own text
        squashed = "".join(body.split())
        # English headers wrap and hyphenate in narrow columns, so only the Chinese ones are read back
        shown = [_header(k, lang) for k in (*(REPORT_HEADERS if lang == "zh" else ()), *REPORT_CELL_WORDS)]
        missing = [w for w in (*shown, *(_verdict(r, lang) for r in fit.itertuples(index=False)))
                   if "".join(w.split()) not in squashed]  # fmt: skip
        assert not missing, (lang, missing)
        assert f"Python {platform.python_version()}" in software, software
        for figure in ("observed_vs_predicted", "posterior_marginals"):
            svg = (out / f"figures/{figure}_{lang}.svg").read_text(encoding="utf-8")  # text kept as text
            assert word("posterior" if figure == "posterior_marginals" else "not_reproduced", lang) in svg, (lang, figure)
        if lang == "zh":
            latin = set(re.findall(r"[A-Za-z_]+", body)) - keys - LATIN_IN_ZH
            assert not latin & (field_names | {"True", "False", "linear", "log", "reproduced"}), (lang, latin)
            assert not latin, latin
        else:
            assert not re.search(r"[\u4e00-\u9fff]", text), text


def test_the_annex_names_each_parameter_and_keeps_its_key_path(calibrated):
    """The posterior table named a parameter by its key path only, in Chinese too; now by its
    name in the table's language (sim.labels), its key path beside it."""
    _, out = calibrated
    for lang in ("zh", "en"):
        table = pd.read_csv(out / f"report_parameters_{lang}.csv")
        assert table[word("key_path", lang)].str.replace("\n", "").tolist() == list(TRUTH)  # long ones in two lines
        names = table[word("parameter", lang)].tolist()
        assert names == [parameter_label(k, lang) for k in TRUTH] and None not in names
        assert pd.read_csv(out / f"report_posterior_{lang}.csv")[word("parameter", lang)].tolist() == names
        if lang == "zh":
            assert all(re.search(r"[\u4e00-\u9fff]", n) and not re.search("[A-Za-z]", n) for n in names), names



def _two_misfits():
    """What sim.calibrate.outputs.report_json reads of a calibration that fits neither of two
    observed quantities, one of them irreconcilable, with no joint fit: every branch of its text."""
    from types import SimpleNamespace

    table = pd.DataFrame([
        {"quantity": "patrol_discovery_share", "reproduced": False, "irreconcilable": False, "observed": 0.97,
         "predicted_mean": 0.912, "z": -4.21, "smallest_implausibility_in_ranges": 1.2,
         "verdict": "not reproduced: 4.2 sd off at the calibrated point"},
        {"quantity": "on_spot_share", "reproduced": False, "irreconcilable": True, "observed": 0.6,
         "predicted_mean": 0.151, "z": -12.04, "smallest_implausibility_in_ranges": 11.8,
         "verdict": "cannot be reproduced: 11.8 sd off at best"},
    ])  # fmt: skip
    method = SimpleNamespace(points=4, replications=2, cutoff=3.0)
    cal = SimpleNamespace(spec=SimpleNamespace(method=method, calibration="kunming", discrepancy_share=0.05),
                          scenario_file=Path("small_street.yaml"))  # fmt: skip
    check = pd.DataFrame([  # the emulator of on_spot_share fails its check in wave 2
        emulator.Check("failed" if failed else "passed", 8, 4, 0.125, 0.25 if failed else 0.0, 4.5 if failed else 2.1,
                       0.1).row(wave=w, quantity=q)
        for w in (1, 2) for q, failed in (("patrol_discovery_share", False), ("on_spot_share", w == 2))])  # fmt: skip
    return SimpleNamespace(cal=cal, history=SimpleNamespace(joint_fit=False, waves=[1, 2], check=check), table=table,
                           runs_total=22, posterior=SimpleNamespace(ess=1966.4))  # fmt: skip


# _two_misfits' report in English as ce39d42 wrote it (the Chinese punctuation changed, not this), but
# for the full stop its list of misfits lacked ('… 11.8 sd off at best No parameter values …'), and with
# the emulator check: its warning in the result, its section last.
TWO_MISFITS_EN = [
    'Calibration: small_street against kunming',
    'Result',
    '22 simulation runs (2 history-matching waves of 4 points × 2 replications, then prediction runs at '
    'the calibrated point and at posterior draws). Not reproduced within its uncertainty: share found on '
    'patrol — not reproduced: 4.2 sd off at the calibrated point; share fixed on the spot — cannot be '
    'reproduced: 11.8 sd off at best. No parameter values fit all reconcilable quantities at once: the '
    'values reported are the least implausible ones, not a fit. EMULATOR CHECK FAILED for share fixed on the '
    'spot (wave 2: 25.0% of its runs): more than 5% of the runs beyond 3 sd of their leave-one-out '
    'prediction, so the implausibility cut and the posterior rest on emulators that misfit (see Emulator '
    'check). The calibrated scenario is small_street_calibrated.yaml.',
    "Observed against the calibrated model's prediction (95% interval)",
    "Observed (± 2 sd) and the calibrated model's prediction",
    'Posterior of the parameters',
    'The posterior is importance sampling over the non-implausible region with the Gaussian-process '
    "emulators' (scikit-learn) Gaussian likelihood; effective sample size 1966. Calibrated values are "
    'posterior medians; intervals are the 2.5–97.5% quantiles.',
    'The parameters calibrated: scenario value and prior range',
    'Each parameter: non-implausible range and posterior',
    'Posterior marginals of the parameters',
    'History matching',
    'Implausibility I = |observed − E[simulated]| / sqrt(Var_obs + Var_discrepancy + Var_noise + '
    'Var_emulator), cutoff 3; the model-discrepancy sd is 5% of |observed| unless a row states its own. A'
    ' quantity that stays above the cutoff everywhere in the ranges is irreconcilable: it is reported '
    'with its gap and left out of the fit.',
    'History-matching waves',
    'Emulator check',
    "Before its implausibility cut is trusted, each wave's emulator of each quantity is checked (Vernon, "
    "Goldstein & Bower 2010; Andrianakis et al. 2015): each design point's runs are left out in turn and "
    "predicted from the runs at every other point (hyperparameters as fitted; Rasmussen & Williams 2006, "
    "eq. 5.12), with standardised error z = (prediction − run) / predictive sd. Under a correct Gaussian "
    "predictive P(|z| > 3) = 0.27%; more than 5% of a quantity's runs beyond 3 sd fails the emulator; fewer "
    "than 3 design points are not checked. Runs "
    "beyond 3 sd in the last wave: share found on patrol 0.0% (largest |z| 2.1); share fixed on the spot "
    "25.0% (largest |z| 4.5). EMULATOR CHECK FAILED for share fixed on the spot (wave 2: 25.0% of its runs): "
    "more than 5% of the runs beyond 3 sd of their leave-one-out prediction, so the implausibility cut and "
    "the posterior rest on emulators that misfit.",
    "Each wave's emulators checked by leave-one-out",
]


def test_the_chinese_report_is_set_with_full_width_punctuation_and_the_english_one_is_unchanged(tiny):
    """The Chinese report read '模型校准:…', '…再现:巡查发现占比(观测 0.97,模型 0.912,…);现场处置占比(…)'
    and 'sqrt(观测方差 + …),截断值 3;': ASCII colons, brackets, commas and semicolons in Chinese
    text. Now full-width, the misfits set apart by sim.labels.join_clauses; English as it was."""
    from sim.calibrate.outputs import report_json

    _, out = tiny
    written = json.loads((out / "report.json").read_text(encoding="utf-8"))  # every quantity reproduced
    misfits = report_json(_two_misfits(), "small_street_calibrated.yaml")
    for report in (written, misfits):
        assert [t for t in report_texts(report, "zh") if ASCII_PUNCTUATION_BY_CJK.search(t)] == []
    assert written["title"]["zh"] == "模型校准：small_street 对照 bad"
    assert ("以下观测量未能在其不确定性范围内再现：巡查发现占比（观测 0.97，模型 0.912，差 -0.058，未再现：校准点偏离4.2个标准差）；"
            "现场处置占比（观测 0.6，") in misfits["sections"][0]["text"]["zh"]
    assert report_texts(misfits, "en") == TWO_MISFITS_EN


def test_the_report_states_the_cutoff_used_and_the_same_implausibility_in_both_languages():
    """The report said |z| ≤ 3 whatever method.cutoff was; and the Chinese text gave an
    irreconcilable row the calibrated point's |z| (12.0) as the best the ranges reach, where the
    table and the English text give the smallest implausibility in the ranges (11.8)."""
    from sim.calibrate.outputs import report_json

    misfits = _two_misfits()
    zh = report_json(misfits, "x.yaml")["sections"][0]["text"]["zh"]
    assert "现场处置占比（观测 0.6，模型 0.151，差 -0.449，不可调和：参数范围内最近也偏离11.8个标准差）" in zh
    assert "12.0" not in zh
    misfits.table["reproduced"] = True
    misfits.cal.spec.method.cutoff = 2.5
    texts = report_json(misfits, "x.yaml")["sections"][0]["text"]
    assert "(|z| ≤ 2.5)" in texts["en"] and "（|z| ≤ 2.5）" in texts["zh"], texts

def test_the_observed_values_are_formatted_as_every_other_table_cell():
    """The annex's observed column was formatted by hand ('1.235e+04 ± 2.3e+02', four figures
    where every other cell has three); now by sim.cells, as the interval beside it."""
    from sim.calibrate.outputs import report_fit_table

    row = {"predicted_mean": 0.5, "predicted_q025": 0.4, "predicted_q975": 0.6, "reproduced": True,
           "irreconcilable": False, "z": 0.1, "smallest_implausibility_in_ranges": 0.1}
    table = pd.DataFrame([{**row, "quantity": "grid_cases_per_resident_per_year", "observed": 12345.678, "observed_sd": 234.5},
                          {**row, "quantity": "patrol_discovery_share", "observed": 0.96712, "observed_sd": 0.0123}])
    for lang in ("zh", "en"):
        fit_table = report_fit_table(table, lang)
        assert fit_table[word("observed_value", lang)].tolist() == ["12,346 ± 234", "0.967 ± 0.0123"]
        assert fit_table[word("predicted_interval", lang)].tolist() == ["[0.4, 0.6]"] * 2


def test_the_terminal_summary_names_each_parameter_with_its_key_path_under_it(calibrated, capsys):
    """The summary's parameter rows began with the raw key path; now with the parameter's name
    (the summary is in English), the key path on the line under it."""
    obs_file, out = calibrated
    capsys.readouterr()
    assert main(["calibrate", SMALL, str(obs_file), "--out", str(out), "--workers", "2", "--quiet"]) == 0
    lines = capsys.readouterr().out.splitlines()
    names = {"case_types.street_environment.arrivals.per_resident_per_year": "arrival rate, street environment",
             "loop.discovery.resident_report_per_day": "daily chance a resident reports a problem first"}
    for key, name in names.items():
        (row,) = [i for i, line in enumerate(lines) if line.startswith(name)]
        assert lines[row + 1].strip() == key, lines[row:row + 2]
        assert not any(line.startswith(key) for line in lines)  # the path is no longer the row's name


def _settings(argv: list[str]) -> tuple:
    """What a calibrate command line fixes: the calibration (files, method, overrides: its
    digest and method) and its --out."""
    args = cli_parser().parse_args(argv)
    cal = observed_file.load(args.scenario, args.observed, args.overrides, calibrate_commands.method_overrides(args))
    return cal.digest(), cal.spec.method, cal.sets, cal.scenario_file, cal.file, args.out


def test_the_command_written_to_reproduce_reruns_the_same_calibration(calibrated):
    """The annex's command was `streetsim calibrate SCENARIO OBSERVED`: no --out (its runs not
    reused) and none of the flags that changed the result."""
    obs_file, out = calibrated
    command = json.loads((out / "calibration.json").read_text(encoding="utf-8"))["command"]
    assert command[:2] == ["streetsim", "calibrate"]
    assert _settings(command[1:]) == _settings(["calibrate", SMALL, str(obs_file), "--out", str(out)])
    software = annex.software_blocks(json.loads((out / "calibration.json").read_text(encoding="utf-8")), "en")
    assert software[-1]["text"] == " ".join(command)


def test_the_command_to_reproduce_keeps_every_flag_that_changes_the_result(tmp_path):
    obs = tmp_path / "obs.yaml"
    obs.write_text(yaml.safe_dump({**GOOD, "method": {**TINY_METHOD, "set": ["horizon.days=40"]}}), encoding="utf-8")
    argv = ["calibrate", SMALL, str(obs), "--out", str(tmp_path / "out"), "--waves", "3", "--points", "5",
            "--replications", "3", "--seed", "8", "--set", "horizon.warmup_days=4", "--workers", "2", "--quiet"]
    _, method, sets, scenario_file, observed, out = given = _settings(argv)
    cal = observed_file.load(scenario_file, observed, sets[1:], method.model_dump())
    command = calibrate_commands.reproduce_command(cal, out)
    assert _settings(command[1:]) == given
    assert (method.waves, method.points, method.replications, method.seed) == (3, 5, 3, 8)
    assert sets == ["horizon.days=40", "horizon.warmup_days=4"]  # the file's own set once, not twice


def test_fitted_scenario_extends_the_original_with_the_posterior_medians(calibrated):
    _, out = calibrated
    fitted = out / "small_street_calibrated.yaml"
    text = fitted.read_text(encoding="utf-8")
    assert "NOT reproduced anywhere in the ranges (left out of the fit): on_spot_share" in text
    assert yaml.safe_load(text)["extends"].endswith("small_street.yaml")
    settings = scenario.load(fitted)
    post = pd.read_csv(out / "posterior.csv").set_index("parameter")
    got = settings.case_types["street_environment"].arrivals.per_resident_per_year
    assert got == pytest.approx(post.loc["case_types.street_environment.arrivals.per_resident_per_year", "calibrated_value"])
    assert "# calibrated: posterior median" in text


def _fitted_scenario(tmp_path, scenario_name: str, sets: list[str], name: str | None = None):
    """The calibrated scenario sim.calibrate.outputs writes for a calibration of SMALL (under
    ``scenario_name``, its scenario ``name`` if given, run with ``--set`` ``sets`` and method.set
    horizon.days=40) whose posterior medians are 0.1 reports a day and 12,345 residents; and the
    --set giving that model."""
    from types import SimpleNamespace

    from sim import safe_yaml
    from sim.calibrate import outputs

    original = tmp_path / "sc" / scenario_name
    original.parent.mkdir()
    named = {"name": name} if name is not None else {}
    original.write_text(safe_yaml.dump({"extends": str(ROOT / SMALL), **named}), encoding="utf-8")
    obs = tmp_path / "obs.yaml"
    ranges = {"loop.discovery.resident_report_per_day": {"min": 0.02, "max": 0.3},
              "street.residents": {"min": 8000, "max": 16000}}  # fmt: skip
    obs.write_text(yaml.safe_dump({**GOOD, "parameters": ranges, "method": {"set": ["horizon.days=40"]}}), encoding="utf-8")
    cal = observed_file.load(original, obs, sets)
    row = {"posterior_mean": 0.11, "posterior_q025": 0.05, "posterior_q975": 0.2, "prior_min": 0, "prior_max": 1}
    params = pd.DataFrame([{**row, "parameter": "loop.discovery.resident_report_per_day", "calibrated_value": 0.1, "scenario_value": 0.05},
                           {**row, "parameter": "street.residents", "calibrated_value": 12345, "scenario_value": 12000}])  # fmt: skip
    result = SimpleNamespace(cal=cal, parameters=params, runs_total=22,
                             history=SimpleNamespace(waves=[1, 2], irreconcilable=[], joint_fit=True, check=pd.DataFrame()))  # fmt: skip
    out = tmp_path / "out"
    out.mkdir()
    fitted = outputs.fitted_scenario(result, out)
    return fitted, original, [*sets, "loop.discovery.resident_report_per_day=0.1", "street.residents=12345"]


@pytest.mark.parametrize("name", ["reform 2015 #2.yaml", "a: b.yaml", "on.yaml"])
def test_the_calibrated_scenario_is_the_model_calibrated_whatever_the_scenario_file_is_called(tmp_path, name):
    """`extends: ../sc/reform 2015 #2.yaml` was written bare (the rest read as a comment, and the
    command ended naming a .tmp file after every run); the command line's --set was left out, so
    the "calibrated" file was another model; a count was written 12345.0. Now the file loads as
    the original with the --set and the calibrated values, and without method.set's horizon."""
    sets = ["levers.staggered_hours.enabled=true", "staffing.city_management.count=4"]
    fitted, original, meant = _fitted_scenario(tmp_path, name, sets)
    got, want = scenario.load(fitted), scenario.load(original, meant)
    assert got.name == want.name + "_calibrated"
    assert got.model_dump(exclude={"name"}) == want.model_dump(exclude={"name"})
    assert got.horizon.days == 45 and got.street.residents == 12345  # not method.set's 40 days
    text = fitted.read_text(encoding="utf-8")
    assert "Not written here: the observed file's method.set (horizon.days=40)" in text


# Names the scenario-name limit allows (100 characters, 200 bytes in UTF-8) to which "_calibrated"
# added 11 more: 100 letters; 65 Chinese characters (195 bytes); 89 letters and a final 改 (90 characters, 92 bytes).
LONG_NAMES = ["a" * 100, "长宁区街道改革" * 9 + "方案", "b" * 89 + "改"]


@pytest.mark.parametrize("name", LONG_NAMES, ids=["100_letters", "195_bytes", "90_characters"])
def test_a_calibrated_scenario_named_past_the_name_limit_is_written_under_a_name_that_loads(tmp_path, name):
    """A scenario named up to the limit was written back as `<name>_calibrated`, over the limit:
    the file could not be loaded, and the command failed after every run. Now its name keeps as
    much of the original's start as fits, then a hash of the whole name, then _calibrated; two
    names that share their start keep different calibrated names."""
    got = {}
    for i, variant in enumerate((name, name[:-1] + "x")):  # the same start, another last character
        folder = tmp_path / str(i)
        folder.mkdir()
        fitted, original, meant = _fitted_scenario(folder, "long.yaml", [], name=variant)
        loaded = scenario.load(fitted)
        assert loaded.model_dump(exclude={"name"}) == scenario.load(original, meant).model_dump(exclude={"name"})
        assert loaded.name.endswith("_calibrated") and loaded.name[:60] == variant[:60], loaded.name
        assert len(loaded.name) <= 100 and len(loaded.name.encode()) <= 200
        assert f"# name: {variant}_calibrated would be over the scenario-name limit" in fitted.read_text(encoding="utf-8")
        got[variant] = loaded.name
    assert len(set(got.values())) == 2, got
    (tmp_path / "short").mkdir()
    fitted, _, _ = _fitted_scenario(tmp_path / "short", "short.yaml", [], name="reform_2015")  # a name that fits is as it was
    assert scenario.load(fitted).name == "reform_2015_calibrated"


def test_a_scenario_file_whose_calibrated_copy_cannot_be_named_is_refused_before_anything_runs(tmp_path, capsys):
    """`<stem>_calibrated.yaml` of a scenario file named with 230 bytes passed the file-name limit
    (with the temporary name it is written under): OSError 'File name too long' after every run,
    the CSVs already written. Now one line before any run, naming the scenario file."""
    long = tmp_path / ("s" * 230 + ".yaml")
    long.write_text(f"extends: {Path(SMALL).resolve()}\nname: long\n", encoding="utf-8")
    obs = tmp_path / "obs.yaml"
    obs.write_text(yaml.safe_dump(GOOD), encoding="utf-8")
    out = tmp_path / "out"
    assert main(["calibrate", str(long), str(obs), "--out", str(out), "--quiet"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith(f"error: {long}: calibrated scenario file name ssss") and "bytes" in err[0], err
    assert not out.exists()


def test_a_set_the_calibrated_scenario_cannot_say_is_refused_before_anything_runs(tmp_path):
    """A --set replacing a mapping drops its other keys; a scenario extending the original keeps
    them, so the calibrated file could not be the model calibrated."""
    obs = tmp_path / "obs.yaml"
    obs.write_text(yaml.safe_dump(GOOD), encoding="utf-8")
    with pytest.raises(ScenarioError, match=r"^--set: replaces a whole mapping, .* set the mapping's keys one by one"):
        observed_file.load(SMALL, obs, ["levers.one_stop_acceptance={enabled: false}"])
    observed_file.load(SMALL, obs, ["levers.one_stop_acceptance.enabled=false"])


def test_running_again_reuses_every_finished_run(calibrated, capsys):
    obs_file, out = calibrated
    parts = sorted(p.name for p in out.glob("**/parts/part-*.parquet"))
    before = (out / "observed_vs_predicted.csv").read_bytes()
    capsys.readouterr()
    assert main(["calibrate", SMALL, str(obs_file), "--out", str(out), "--workers", "2", "--quiet"]) == 0
    assert "(0 run now)" in capsys.readouterr().out
    assert sorted(p.name for p in out.glob("**/parts/part-*.parquet")) == parts
    assert (out / "observed_vs_predicted.csv").read_bytes() == before
    runs = sum(len(store.finished(p.parent)) for p in out.glob("**/parts/") if p.is_dir())
    assert runs == 2 * 12 * 2 + 5 * 2  # two waves of 12 points, then the calibrated point and 4 draws; 2 replications each


def test_runs_of_other_model_code_are_refused_in_one_line_and_left_alone(calibrated, capsys, monkeypatch):
    """The run ids do not name the model code: the folder's record of it does, checked on resume."""
    obs_file, out = calibrated
    before = {p: p.stat().st_mtime_ns for p in out.rglob("*")}
    assert json.loads((out / "calibration.json").read_text())["code"] == provenance.code_fingerprint()
    monkeypatch.setattr(provenance, "code_fingerprint", lambda: "0000feed0000feed")  # as if the model changed
    capsys.readouterr()
    assert main(["calibrate", SMALL, str(obs_file), "--out", str(out), "--workers", "2", "--quiet"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith(f"error: {out}: --out: its stored calibration runs were made by model code"), err
    assert "give a new --out" in err[0]
    assert {p: p.stat().st_mtime_ns for p in out.rglob("*")} == before


GOOD = {
    "calibration": "bad",
    "observed": [{"quantity": "patrol_discovery_share", "value": 0.97, "sd": 0.01, "source": "Kunming"}],
    "parameters": {"loop.discovery.resident_report_per_day": {"min": 0.02, "max": 0.3}},
}


@pytest.mark.parametrize(
    "change, key, words",
    [
        ({"observed": [{"quantity": "patrol_discovery_share", "value": 0.97, "source": "x"}]}, "observed.0.sd", "required"),
        ({"observed": [{"quantity": "patrol_discovery_share", "value": 0.97, "sd": -1, "source": "x"}]}, "observed.0.sd", "greater than 0"),
        ({"observed": [{"quantity": "on_tme", "value": 0.9, "sd": 0.1, "source": "x"}]}, "observed.0.quantity", "unknown quantity"),
        ({"parameters": {"staffing.grid_supervisors.count": {"min": 4, "max": 12}}}, "parameters.staffing.grid_supervisors.count", "never moves"),
        ({"parameters": {"loop.discovery.no_such_key": {"min": 0, "max": 1}}}, "parameters.loop.discovery.no_such_key", "no such key"),
        ({"parameters": {"levers.grid_management.level": {"min": 0, "max": 1}}}, "parameters.levers.grid_management.level", "not a number"),
        ({"parameters": {"loop.discovery.resident_report_per_day": {"min": 0.3, "max": 0.1}}}, "parameters.loop.discovery.resident_report_per_day", "greater than min"),
        ({"parameters": {"loop.close.fail_probability": {"min": 0.1, "max": 1.5}}}, "parameters.loop.close.fail_probability", "invalid scenario"),
        ({"method": {"cutoff": 0}}, "method.cutoff", "greater than 0"),
        ({"colour": "red"}, "colour", "unknown key"),
        # a source is a cell of the calibration table and a line of the terminal's
        ({"observed": [{"quantity": "patrol_discovery_share", "value": 0.97, "sd": 0.01, "source": "K\x1b[31m"}]},
         "observed.0.source", "control character (U+001B)"),
        ({"observed": [{"quantity": "patrol_discovery_share", "value": 0.97, "sd": 0.01, "source": "K\nline two"}]},
         "observed.0.source", "control character (U+000A)"),
        ({"observed": [{"quantity": "patrol_discovery_share", "value": 0.97, "sd": 0.01, "source": "K", "note": "\x9b2J"}]},
         "observed.0.note", "control character (U+009B)"),
        ({"parameters": {"loop.discovery.resident_report_per_day": {"min": 0.02, "max": 0.3, "source": "\x07"}}},
         "parameters.loop.discovery.resident_report_per_day.source", "control character (U+0007)"),
    ],
)
def test_bad_observed_file_gives_one_line_and_exit_2(tmp_path, capsys, change, key, words):
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump({**GOOD, **change}), encoding="utf-8")
    out = tmp_path / "out"
    assert main(["calibrate", SMALL, str(bad), "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "Traceback" not in err
    assert err.startswith(f"error: {bad}: {key}: "), err
    assert words in err
    assert not out.exists()


def test_a_whole_number_parameter_is_checked_and_run_with_whole_numbers(tmp_path):
    """`street.residents: {min: 8000, max: 16000}` was refused: each end was tried as
    `street.residents=8000.0`, and a count is written without a point. The check now writes the
    ends as the runs write their values; the runs' residents are whole numbers in the range."""
    from sim.calibrate.simulate import _plan
    from sim.calibrate.space import Space

    obs = tmp_path / "obs.yaml"
    residents = {"street.residents": {"min": 8000, "max": 16000}}
    obs.write_text(yaml.safe_dump({**GOOD, "parameters": residents}), encoding="utf-8")
    cal = observed_file.load(SMALL, obs)
    space = Space(cal.spec.parameters)
    plan = _plan(cal, space, space.to_values(space.latin_hypercube(6, seed=1)), "whole", 2, 1, batch=1)
    residents = {scenario.build(scenario.apply_overrides(cal.base, run.overrides, SMALL), SMALL).street.residents
                 for run in plan.runs()}  # fmt: skip
    assert len(residents) == 6 and all(isinstance(r, int) and 8000 <= r <= 16000 for r in residents), residents


@pytest.mark.parametrize("flag,value,words", [
    ("--seed", "-1", "greater than or equal to 0"), ("--replications", "1000", "less than or equal to 100"),
    ("--points", "5000", "less than or equal to 1000"),
])  # fmt: skip
def test_a_bad_method_flag_is_named_as_the_flag(tmp_path, capsys, flag, value, words):
    """Before: the error named the observed file's method.seed, a key the user had not written."""
    good = tmp_path / "good.yaml"
    good.write_text(yaml.safe_dump(GOOD), encoding="utf-8")
    assert main(["calibrate", SMALL, str(good), flag, value, "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith(f"error: {flag}: ") and words in err[0], err
    assert not (tmp_path / "out").exists()


ROW = {"quantity": "patrol_discovery_share", "value": 0.97, "sd": 0.01, "source": "Kunming"}


@pytest.mark.parametrize("change, words", [
    ({"method": {"waves": 10, "points": 1000, "replications": 10}},
     "10 waves x 1000 points x 10 replications (100,000 runs) and 20,000 candidates, for 1 parameter(s) and 1 observed row(s)"),
    ({"method": {"candidates": 1_000_000}, "observed": [ROW] * 60}, "of candidates"),
])  # fmt: skip
def test_a_method_past_what_the_emulators_can_hold_is_refused_before_anything_runs(tmp_path, capsys, change, words):
    """Each bound of the method was accepted on its own: 100,000 runs to fit a Gaussian process
    on (terabytes) or a million candidates for each of 60 observed rows (3.4 GB) ended in a
    MemoryError, with a traceback, after thousands of runs."""
    obs = tmp_path / "obs.yaml"
    obs.write_text(yaml.safe_dump({**GOOD, **change}), encoding="utf-8")
    assert main(["validate", str(obs)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith(f"error: {obs}: method: ") and words in err[0], err
    assert "at most 3 GB: fewer waves, points, replications or candidates" in err[0]


def test_method_flags_past_what_the_emulators_can_hold_are_named_as_the_flags(tmp_path):
    good = tmp_path / "good.yaml"
    good.write_text(yaml.safe_dump(GOOD), encoding="utf-8")
    with pytest.raises(ScenarioError, match=r"^--points, --replications: 3 waves x 1000 points x 100 replications"):
        observed_file.load(SMALL, good, method={"points": 1000, "replications": 100})
    observed_file.load(SMALL, good, method={"points": 500, "replications": 2})  # 3,000 runs: 0.8 GB


def test_candidates_are_predicted_in_chunks_that_hold_what_the_limit_says(monkeypatch):
    """predict held four (candidates x runs) arrays at once: a million candidates on 1,000 runs
    was 32 GB. In chunks of PREDICT_BYTES (4 MB here), the same predictions in a tenth of it."""
    import tracemalloc

    rng = np.random.default_rng(0)
    u = rng.random((200, 2))
    em = emulator.fit(u, u[:, 0] + rng.normal(0, 0.1, 200), seed=0)
    cand = rng.random((20_000, 2))
    whole = em.gp.predict(cand, return_std=True)  # 128 MB at once
    monkeypatch.setattr(emulator, "PREDICT_BYTES", 4 * 2**20, raising=False)
    tracemalloc.start()
    mean, var = em.predict(cand)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < 12 * 2**20, f"{peak / 2**20:.0f} MB"
    np.testing.assert_allclose(mean, whole[0], rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(var, np.maximum(whole[1] ** 2, em.noise_var), rtol=1e-9, atol=1e-15)


def test_not_yaml_and_no_calibration_key_are_one_line_errors(tmp_path, capsys):
    for text, words in (("observed: [", "invalid YAML"), ("observed: []\n", "calibration: missing")):
        bad = tmp_path / "bad.yaml"
        bad.write_text(text, encoding="utf-8")
        assert main(["calibrate", SMALL, str(bad), "--out", str(tmp_path / "out")]) == 2
        err = capsys.readouterr().err.strip()
        assert len(err.splitlines()) == 1 and words in err.replace(f"{bad}: ", ""), err


def test_the_checks_posterior_draws_are_drawn_with_the_posteriors_weights():
    """The check's posterior draws were picked alike among the distinct points of the posterior
    sample, so a point resampled 16 times counted as one drawn once: their spread was that of the
    region the sample touched. A 1-D posterior, normal (mean 0.3, sd 0.05) on a grid of 2,001
    candidates, resampled 4,000 times as sim.calibrate.posterior does: 2,000 draws (with how often
    each was drawn) have its mean and sd within 0.005 (the sd's standard error is ~0.001; picked
    alike among distinct points, the sd was ~0.075)."""
    from sim.calibrate.posterior import Posterior
    from sim.calibrate.space import Space

    rng = np.random.default_rng(3)
    cand = np.linspace(0, 1, 2001)[:, None]
    w = np.exp(-0.5 * ((cand[:, 0] - 0.3) / 0.05) ** 2)
    u = cand[rng.choice(len(cand), size=4000, p=w / w.sum())]
    space = Space({"loop.discovery.resident_report_per_day": observed_file.Range(min=0, max=1)})
    post = Posterior(u, space.to_values(u), ess=float("nan"), candidates=len(cand))
    values, drawn = fit._prediction_points(post, pd.DataFrame({"calibrated_value": [0.3]}), space, 2000, seed=1)
    drawn[0] -= 1  # the calibrated point (the medians) is run once besides the draws
    picked = np.repeat(values[:, 0], drawn)
    assert len(picked) == 2000
    assert abs(picked.mean() - 0.3) < 0.005 and abs(picked.std() - 0.05) < 0.005, (picked.mean(), picked.std())


def test_the_settled_closure_rate_leaves_out_cases_too_young_to_have_closed():
    """A 75-day run's closure_rate_reported counts the cases of its last days, which cannot close
    before it ends, against a city's yearly rate (0.870 against 0.967 settled, at about the
    shipped calibration's values): the observed file compares the settled rate instead."""
    from types import SimpleNamespace

    settings = scenario.load(ROOT / "scenarios/reform_2015.yaml", ["horizon.days=70", "horizon.warmup_days=10"])
    day = 24.0
    cases = pd.DataFrame({
        "discovered": [5 * day, 20 * day, 30 * day, 50 * day, 60 * day, 69 * day],  # 5: warm-up; 60, 69: last 14 days
        "reported_closed": [6 * day, 21 * day, np.nan, 52 * day, np.nan, np.nan],
        "source": "grid", "channel": "patrol", "escalated": False,
    })  # fmt: skip
    roles = pd.DataFrame({"role": ["grid_supervisors"], "posts": [8]})
    rep = SimpleNamespace(cases=cases, roles=roles, kpis={"hotline_orders": 0.0})
    assert measure(settings, rep)["closure_rate_reported_settled"] == pytest.approx(2 / 3)  # days 20, 30, 50
    cal = observed_file.load(ROOT / "scenarios/reform_2015.yaml", ROOT / "observed/changning_2015.yaml")
    assert "closure_rate_reported_settled" in [o.quantity for o in cal.spec.observed]


def test_emulator_separates_run_to_run_noise_from_the_trend():
    """y = 2u + noise (sd 0.1) at 100 points, each run twice: the white-noise term finds the noise
    variance (0.01, within 40%) and the mean follows the line (within 0.05)."""
    rng = np.random.default_rng(0)
    u = np.repeat(rng.random((100, 1)), 2, axis=0)
    y = 2 * u[:, 0] + rng.normal(0, 0.1, len(u))
    em = emulator.fit(u, y, seed=0)
    assert 0.006 < em.noise_var < 0.014, em.noise_var
    mean, var = em.predict(np.array([[0.25], [0.75]]))
    assert np.allclose(mean, [0.5, 1.5], atol=0.05)
    assert np.all(var >= em.noise_var)
    imp, _, _ = emulator.implausibility([em], np.array([[0.5]]), np.array([1.0 + 3 * np.sqrt(0.01 + 0.01)]), np.array([0.01]))
    assert imp[0, 0] == pytest.approx(3.0, rel=0.1)  # three sd away, counting observation and run noise


def _rough(n_points=40, replications=2, seed=1):
    """y = sin(40 u) + noise (sd 0.05) at n_points on [0, 1], each run ``replications`` times: a
    function that turns over every 0.08 in u."""
    rng = np.random.default_rng(seed)
    u = np.repeat(np.linspace(0, 1, n_points)[:, None], replications, axis=0)
    return u, np.sin(40 * u[:, 0]) + rng.normal(0, 0.05, len(u))


def test_the_closed_form_leave_one_out_is_the_refit_without_each_point():
    """The emulator check's closed form (Rasmussen & Williams eq. 5.12, a point's replications left
    out together) against a GP refitted without each design point's runs, with the emulator's
    hyperparameters and scaling: the same predictions and variances (to 1e-6) at every run."""
    from sklearn.gaussian_process import GaussianProcessRegressor

    rng = np.random.default_rng(3)
    u = np.repeat(rng.random((30, 2)), 2, axis=0)
    y = np.sin(3 * u[:, 0]) + u[:, 1] ** 2 + rng.normal(0, 0.05, len(u))
    em = emulator.fit(u, y, seed=0)
    c, loo = emulator.check(em)
    assert len(set(loo.point)) == 30 and np.allclose(loo.y, y)
    scaled = (y - y.mean()) / y.std()  # the scale the GP works in (normalize_y)
    for p in range(30):
        out = loo.point == p
        assert out.sum() == 2  # both replications of the point
        refit = GaussianProcessRegressor(em.gp.kernel_, optimizer=None, alpha=em.gp.alpha).fit(u[~out], scaled[~out])
        mean, sd = refit.predict(u[out], return_std=True)
        np.testing.assert_allclose(loo.mean[out], mean * y.std() + y.mean(), rtol=0, atol=1e-6)
        np.testing.assert_allclose(loo.var[out], sd**2 * y.var(), rtol=0, atol=1e-6)
    np.testing.assert_allclose(loo.z, (loo.mean - y) / np.sqrt(loo.var))
    assert c.status == "passed"


def test_an_emulator_that_misfits_fails_its_leave_one_out_check_with_a_warning():
    """On a rough function (_rough), an emulator forced to a length scale of 30 (a near-straight
    line) with little noise predicts the runs left out far beyond its sd: most runs lie beyond 3 sd
    and the check fails, where the fitted emulator on the same runs passes. The failure is a
    warning in the terminal and the report, not an error."""
    from sklearn.gaussian_process.kernels import RBF, ConstantKernel, WhiteKernel

    from sim.calibrate import outputs

    u, y = _rough()
    fitted = emulator.check(emulator.fit(u, y, seed=0))[0]
    forced = ConstantKernel(1.0, "fixed") * RBF(30.0, "fixed") + WhiteKernel(1e-3, "fixed")
    wrong = emulator.check(emulator.fit(u, y, seed=0, kernel=forced))[0]
    assert fitted.beyond <= emulator.LOO_BEYOND_SHARE and fitted.status == "passed", fitted
    assert wrong.beyond > 0.5 and wrong.failed, wrong
    check = pd.DataFrame([wrong.row(wave=1, quantity="on_spot_share")])
    share = f"{wrong.beyond:.1%}"
    assert calibrate_commands.check_lines(check) == [
        f"! EMULATOR CHECK FAILED for on_spot_share (wave 1): {share} of its runs beyond 3 sd of their leave-one-out "
        "prediction, at most 5% allowed; the implausibility cut and the posterior are not to be trusted as they stand "
        "(emulator_check.csv)"]  # fmt: skip
    assert calibrate_commands.check_lines(check, "zh")[0].startswith("！现场处置占比（比例）的仿真器未通过留一法检验（第1轮）")
    en, zh = outputs.check_warning(check)
    assert en.startswith(f" EMULATOR CHECK FAILED for share fixed on the spot (wave 1: {share} of its runs)") and zh
    table = outputs.report_check_table(check, "en")
    assert table[word("check_result", "en")].tolist() == ["FAILED"]


def test_an_emulator_is_not_checked_on_fewer_than_three_points_nor_called_constant_without_runs():
    """With one design point the "prediction from the other points" was the mean of the runs left
    out themselves (normalize_y's), |z| < 1 by construction, and the check passed; a quantity no run
    gave a number for was called constant."""
    u, y = _rough(n_points=2)
    c, loo = emulator.check(emulator.fit(u, y, seed=0))
    assert c.status == "too_few_points" and not c.failed and loo is not None
    assert emulator.check(emulator.fit(u, np.full(len(u), np.nan), seed=0))[0].status == "no_runs"
    assert emulator.check(emulator.fit(u, np.full(len(u), 2.0), seed=0))[0].status == "constant"
    assert emulator.check(emulator.fit(*_rough(n_points=3), seed=0))[0].status in emulator.CHECKED
    check = pd.DataFrame([c.row(wave=1, quantity="on_spot_share")])
    assert calibrate_commands.check_lines(check) == []  # nothing checked: nothing said to pass
    from sim.calibrate import outputs

    text = outputs.check_section(check)["text"]
    assert "Every emulator" not in text["en"] and "No emulator was checked" in text["en"], text["en"]
    assert "均通过" not in text["zh"] and "没有可检验的仿真器" in text["zh"], text["zh"]
    assert outputs.report_check_table(check, "en")[word("check_result", "en")].tolist() == [
        "fewer than 3 design points, not checked"]


def test_each_checked_run_is_named_by_its_wave_point_and_replication_with_its_own_value():
    """emulator_check_runs.csv took each run's value from the emulator's own copy (so a run named by
    another's wave, point or replication could not show); now from the runs, and z agrees with it."""
    from types import SimpleNamespace

    from sim.calibrate.history import Matcher

    u, y = _rough(n_points=12)
    y[5] = np.nan  # a run that gave no number is left out of the fit and of the check
    data = pd.DataFrame({"wave": np.repeat([1, 2], 12), "point": np.repeat(np.arange(12), 2),
                         "replication": np.tile([0, 1], 12), "u0": u[:, 0], "q": y})  # fmt: skip
    _, runs = Matcher._check(SimpleNamespace(quantities=["q"]), data, [emulator.fit(u, y, seed=0)], 2)
    assert len(runs) == 23 and (runs["wave"] == 2).all()
    by_key = data.set_index(["wave", "point", "replication"])["q"]
    keys = list(zip(runs["run_wave"], runs["point"], runs["replication"]))
    np.testing.assert_array_equal(runs["value"].to_numpy(), by_key.loc[keys].to_numpy())
    np.testing.assert_allclose(runs["z"], (runs["loo_mean"] - runs["value"]) / runs["loo_sd"], rtol=1e-12)


def test_the_check_says_no_run_is_beyond_rather_than_naming_one_of_equals_the_worst():
    check = pd.DataFrame([emulator.Check("passed", 8, 4, 0.0, 0.0, 1.5, 0.1).row(wave=w, quantity=q)
                          for w in (1, 2) for q in ("patrol_discovery_share", "on_spot_share")])  # fmt: skip
    assert calibrate_commands.check_lines(check) == ["\nemulator check (leave-one-out): no run beyond 3 sd; at most 5% allowed"]
    text = __import__("sim.calibrate.outputs", fromlist=["x"]).check_section(check)["text"]
    assert "P(|z| > 3) = 0.27%" in text["en"] and "|z| > 3 的概率为 0.27%" in text["zh"]


def test_the_calibration_writes_each_waves_emulator_check(tiny):
    """emulator_check.csv: a row per wave and observed row; emulator_check_runs.csv: each run's
    leave-one-out prediction and z, as many runs as the wave's emulators were fitted to; both in
    the report, a passing check a line of the terminal summary."""
    _, out = tiny
    check = pd.read_csv(out / "emulator_check.csv")
    waves = pd.read_csv(out / "waves.csv")
    assert check[["wave", "quantity"]].values.tolist() == [[w, "patrol_discovery_share"] for w in waves["wave"]]
    assert (check["runs"] == waves["runs"].cumsum()).all() and (check["points"] == waves["points"].cumsum()).all()
    runs = pd.read_csv(out / "emulator_check_runs.csv")
    assert len(runs) == check["runs"].sum() and np.isfinite(runs["z"]).all()
    z = (runs["loo_mean"] - runs["value"]) / runs["loo_sd"]  # from the CSV's 6 significant figures
    rounding = 1e-5 * ((runs["loo_mean"].abs() + runs["value"].abs()) / runs["loo_sd"] + runs["z"].abs())
    assert ((runs["z"] - z).abs() <= rounding).all()
    for w, rows in runs.groupby("wave"):
        row = check.set_index("wave").loc[w]
        assert row["share_abs_z_over_3"] == pytest.approx(float(np.mean(np.abs(rows["z"]) > 3)), abs=1e-6)

    sections = json.loads((out / "report.json").read_text(encoding="utf-8"))["sections"]
    assert sections[-1]["heading"] == {"zh": "仿真器检验", "en": "Emulator check"}
    for lang in ("zh", "en"):
        assert len(pd.read_csv(out / sections[-1]["tables"][0]["csv"][lang])) == len(check)


def test_slurm_array_shards_run_each_batch_in_turn_and_agree_with_one_process(tmp_path, capsys):
    """Two array shards called in turn, never at once: each runs its half of the first unfinished
    batch, waits --shard-wait for the other half and stops; the shard that completes a batch goes
    on to its half of the next (wave 1, wave 2, the check: four calls). Once all are stored, a call
    without --shard writes the results, running nothing."""
    observed = {**GOOD, "method": {"waves": 2, "points": 4, "replications": 2, "seed": 5, "candidates": 1000,
                                   "posterior_draws": 2}}  # fmt: skip
    obs_file = tmp_path / "obs.yaml"
    obs_file.write_text(yaml.safe_dump(observed), encoding="utf-8")
    out = tmp_path / "out"
    shard = ["calibrate", SMALL, str(obs_file), "--out", str(out), "--executor", "slurm-array", "--quiet", "--workers", "1",
             "--shard-wait", "1"]  # fmt: skip
    said = []
    for i in (1, 2, 1, 2):
        assert main([*shard, "--shard", f"{i}/2"]) == 0
        said.append(capsys.readouterr().out)
    for s, batch in zip(said, ("wave-1", "wave-2", "predict")):
        n = 3 if batch == "predict" else 4  # the other shard's half of 8 runs (4 points) or 6 (3 points)
        assert f"stopped: {n} runs of bad-{batch} are not stored by the other shards after 1 s" in s, said
    assert "every run is stored" in said[-1], said
    assert not (out / "observed_vs_predicted.csv").exists()
    assert main(["calibrate", SMALL, str(obs_file), "--out", str(out), "--quiet"]) == 0
    assert "(0 run now)" in capsys.readouterr().out
    assert (out / "observed_vs_predicted.csv").exists()


# --------------------------------------------------------------------------- executors
# A tiny calibration (3 batches: two waves of 4 points and the check at 3 points, 2 replications
# each: 22 runs) run on one process, then on a Dask LocalCluster and as SLURM array tasks.
TINY_METHOD = {"waves": 2, "points": 4, "replications": 2, "seed": 5, "candidates": 1000, "posterior_draws": 2}
BATCHES = ("waves/wave-1", "waves/wave-2", "predict")


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    folder = tmp_path_factory.mktemp("tiny")
    obs_file = folder / "obs.yaml"
    obs_file.write_text(yaml.safe_dump({**GOOD, "method": TINY_METHOD}), encoding="utf-8")
    local = folder / "local"
    assert main(["calibrate", str(ROOT / SMALL), str(obs_file), "--out", str(local), "--quiet", "--workers", "1"]) == 0
    return obs_file, local



def test_a_sweep_into_a_calibrations_run_store_is_refused(tiny, tmp_path, capsys):
    """`streetsim sweep EXP --out CAL/waves/wave-K` (or CAL/predict) mixed the sweep's design and
    runs into the calibration's own store."""
    from test_sweep_helpers import write_experiment

    _, local = tiny
    stores = sorted((local / "waves").iterdir()) + [local / "predict"]
    assert len(stores) >= 2 and all((s / "manifest.json").exists() for s in stores)
    exp = write_experiment(tmp_path / "exp.yaml", days=5, replications=1)
    capsys.readouterr()
    for store_dir in stores:
        before = {p: p.read_bytes() for p in store_dir.rglob("*") if p.is_file()}
        assert main(["sweep", str(exp), "--out", str(store_dir), "--quiet"]) == 2
        err = capsys.readouterr().err
        assert f"is inside {local.resolve()}, a calibration folder whose runs are its own" in err, err
        assert {p: p.read_bytes() for p in store_dir.rglob("*") if p.is_file()} == before


def _same_calibration(out, local):
    """Every batch's stored runs (KPIs and measures, by run_id) and the written results are equal."""
    for batch in BATCHES:
        pd.testing.assert_frame_equal(kpi_table(out / batch), kpi_table(local / batch))
        counts = Counter(raw_run_ids(out / batch))
        assert max(counts.values()) == 1, f"{batch}: a run stored twice"
    for f in ("observed_vs_predicted.csv", "posterior.csv"):
        assert (out / f).read_bytes() == (local / f).read_bytes(), f
    how_run = ["ran_now", "already_stored"]  # differs with what this call found stored
    pd.testing.assert_frame_equal(pd.read_csv(out / "waves.csv").drop(columns=how_run),
                                  pd.read_csv(local / "waves.csv").drop(columns=how_run))  # fmt: skip


def test_on_a_dask_cluster_the_calibration_equals_the_local_one_and_resumes(tiny, tmp_path, capsys):
    from dask.distributed import LocalCluster

    obs_file, local = tiny
    out = tmp_path / "dask"
    cmd = ["calibrate", str(ROOT / SMALL), str(obs_file), "--out", str(out), "--quiet", "--executor", "dask"]
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        capsys.readouterr()
        assert main([*cmd, "--scheduler", cluster.scheduler_address]) == 0
        assert "22 runs (22 run now)" in capsys.readouterr().out
        workers = set(store.read_results(out / "predict")["worker_pid"])
        assert workers <= {w.pid for w in cluster.workers.values()} and len(workers) >= 1  # ran on the cluster
        _same_calibration(out, local)
        assert main([*cmd, "--scheduler", cluster.scheduler_address]) == 0
        assert "22 runs (0 run now)" in capsys.readouterr().out



# The summary's words (sim.labels) and the names in it of the tiny calibration's quantity and parameter.
SUMMARY_WORDS = ("calibrate_quantity", "calibrate_observed", "calibrate_predicted", "calibrate_interval",
                 "calibrate_verdict", "parameter", "calibrate_was", "calibrate_calibrated")
VERDICT_WORDS = ("calibrate_ok", "calibrate_not_reproduced", "calibrate_irreconcilable")


def test_the_terminal_summary_is_in_the_language_asked_for(tiny, tmp_path, capsys):
    """`calibrate` had no --lang: its summary was English only. With --lang zh it is Chinese (the
    words of sim.labels, full-width punctuation, no English word but the key paths under the
    names); by default, and with --lang en, it is the English summary it was."""
    obs_file, local = tiny
    out = tmp_path / "out"
    shutil.copytree(local, out)  # every run is reused: the command only writes the results again
    said = {}
    for lang in ("zh", "en", None):
        capsys.readouterr()
        argv = ["calibrate", str(ROOT / SMALL), str(obs_file), "--out", str(out), "--quiet", "--workers", "1"]
        assert main(argv + (["--lang", lang] if lang else [])) == 0
        said[lang] = capsys.readouterr().out.split("\nwrote ")[0]  # the summary; the files written follow it
    zh, en = said["zh"], said["en"]
    quantity, parameter = "patrol_discovery_share", "loop.discovery.resident_report_per_day"
    for lang, text in (("zh", zh), ("en", en)):
        assert all(word(k, lang) in text for k in SUMMARY_WORDS), (lang, text)
        assert any(word(k, lang) in text for k in VERDICT_WORDS), (lang, text)
        assert label(quantity, lang) in text and parameter_label(parameter, lang) in text, (lang, text)
    assert "本次运行0次" in zh, zh
    latin = set(re.findall(r"[A-Za-z]+", "\n".join(line for line in zh.splitlines() if line.strip() != parameter)))
    assert latin <= {"bad"}, latin  # the calibration's own name
    assert not ASCII_PUNCTUATION_BY_CJK.search(zh), ASCII_PUNCTUATION_BY_CJK.findall(zh)
    # English by default, as it was: its head, its columns and a fit line's verdict
    assert re.sub(r"\d+ s;", "", said[None]) == re.sub(r"\d+ s;", "", en)
    assert "bad: 22 runs (0 run now), 2 waves, " in en
    assert f"{'quantity':<44} {'observed':>18} {'predicted':>10} {'95% interval':>22}  verdict" in en
    assert f"{'parameter':<58} {'was':>10} {'calibrated':>11} {'95% interval':>24}" in en
    assert re.search(r"  (ok|NOT REPRODUCED|IRRECONCILABLE) \([+-]\d+\.\d sd\)", en), en


def test_the_chinese_summary_says_what_is_not_reproduced_and_that_nothing_fits_jointly():
    """The summary's lines for a calibration with misfits and no joint fit (_two_misfits), which the
    tiny calibration has not: Chinese with --lang zh, each misfit by its name and the report's
    short verdict; in English the table's own verdicts, as before."""
    result = _two_misfits()
    result.table = result.table.assign(observed_sd=0.01, predicted_q025=0.85, predicted_q975=0.95,
                                       smallest_implausibility_in_ranges=[3.4, 11.8])  # fmt: skip
    result.ran, result.seconds = 0, 3.0
    result.parameters = pd.DataFrame([{"parameter": "loop.discovery.resident_report_per_day", "scenario_value": 0.07,
                                       "calibrated_value": 0.15, "posterior_q025": 0.03, "posterior_q975": 0.29}])  # fmt: skip
    zh = calibrate_commands.summary_text(result, "zh")
    assert word("calibrate_no_joint_fit", "zh") in zh
    assert "！巡查发现占比（比例）——未再现：校准点偏离4.2个标准差" in zh.splitlines(), zh
    assert "！现场处置占比（比例）——不可调和：参数范围内最近也偏离11.8个标准差" in zh.splitlines(), zh
    latin = set(re.findall(r"[A-Za-z]+", zh.replace("loop.discovery.resident_report_per_day", "")))
    assert latin <= {"kunming"}, latin
    assert not ASCII_PUNCTUATION_BY_CJK.search(zh), ASCII_PUNCTUATION_BY_CJK.findall(zh)
    en = calibrate_commands.summary_text(result)
    assert "NO JOINT FIT: no parameter values fit every reconcilable quantity at once; the values below are the " \
           "least implausible, not a fit" in en
    assert "! on_spot_share: cannot be reproduced: 11.8 sd off at best" in en.splitlines(), en


def test_every_calibration_figure_comes_as_png_svg_and_pdf_with_its_text(tiny):
    """The calibration's figures were PNG and SVG only (their own writer, at 150 dpi, the legend
    hung below the figure and kept by a tight bounding box); proposals print them: each one is in
    the three formats, the legend inside the figure, its words read back from the PDF."""
    _, out = tiny
    for lang in ("zh", "en"):
        assert word("model_tick", lang) in figure_text(out / "figures", f"observed_vs_predicted_{lang}"), lang
        assert word("posterior", lang) in figure_text(out / "figures", f"posterior_marginals_{lang}"), lang


@pytest.mark.parametrize("lang", ["zh", "en"])
@pytest.mark.parametrize("figure", ["observed_vs_predicted", "posterior_marginals"])
def test_calibration_figures_print_at_a4_full_width_with_8pt_text(tiny, figure, lang):
    """The calibration figures were 3.4 in a panel (up to 4 a row: 13.6 in) with 7 pt text, and
    grew to their legend's width: printed at the text width, that text was ~3 pt. Now each is
    sim.figures.FULL_WIDTH_IN wide (PNG at 300 dpi, SVG in pt) and no text is under FONT_PT."""
    from PIL import Image

    from sim import figures

    folder = tiny[1] / "figures"
    png = Image.open(folder / f"{figure}_{lang}.png")
    assert png.size[0] == pytest.approx(figures.FULL_WIDTH_IN * figures.PNG_DPI, abs=2)
    svg = (folder / f"{figure}_{lang}.svg").read_text(encoding="utf-8")
    width_pt = float(re.search(r'<svg[^>]*width="([\d.]+)pt"', svg).group(1))
    assert width_pt == pytest.approx(figures.FULL_WIDTH_IN * 72, abs=0.5)
    sizes = [float(s) for s in re.findall(r"font[^;\"]*?([\d.]+)px", svg)]  # SVG px at 72/in = pt
    assert sizes and min(sizes) >= figures.FONT_PT, sorted(set(sizes))


def test_calibration_figures_of_many_panels_keep_the_page_width_and_8pt_text(tmp_path):
    """observed/changning_2015.yaml's size (8 quantities, 6 parameters, 3 on a log scale), drawn from
    made-up results: two panels a row within FULL_WIDTH_IN, no taller than the page's text, and no
    text under FONT_PT (a log axis's 10^-1 set its exponent at 70% of it)."""
    from types import SimpleNamespace

    from sim import figures
    from sim.calibrate import outputs

    spec = yaml.safe_load((ROOT / "observed/changning_2015.yaml").read_text(encoding="utf-8"))
    table = pd.DataFrame([{"quantity": o["quantity"], "observed": o["value"], "observed_sd": o["sd"],
                           "discrepancy_sd": 0.05 * o["value"], "predicted_mean": 1.1 * o["value"],
                           "predicted_q025": o["value"], "predicted_q975": 1.2 * o["value"], "reproduced": i % 3 != 2}
                          for i, o in enumerate(spec["observed"])])  # fmt: skip
    params = pd.DataFrame([{"parameter": k, "prior_min": p["min"], "prior_max": p["max"], "scale": p.get("scale", "linear"),
                            "region_min": p["min"], "region_max": p["max"], "calibrated_value": (p["min"] + p["max"]) / 2,
                            "scenario_value": p["min"]} for k, p in spec["parameters"].items()])  # fmt: skip
    draws = np.random.default_rng(1).uniform(params["prior_min"], params["prior_max"], (200, len(params)))
    result = SimpleNamespace(space=SimpleNamespace(dim=len(params)), posterior=SimpleNamespace(values=draws), parameters=params)
    for lang in ("zh", "en"):
        drawn = figures.use_language(lang)
        for stem, fig in (("fit", outputs.observed_vs_predicted(table, drawn)), ("posterior", outputs.posterior_marginals(result, drawn))):
            assert fig.axes[1].get_position().x0 > fig.axes[0].get_position().x1 > 0.3, (lang, stem)  # two a row
            assert fig.get_figwidth() == pytest.approx(figures.FULL_WIDTH_IN), (lang, stem)
            assert fig.get_figheight() <= figures.TEXT_HEIGHT_IN, (lang, stem)
            figures.save(fig, tmp_path, f"{stem}_{lang}")
            svg = (tmp_path / f"{stem}_{lang}.svg").read_text(encoding="utf-8")
            sizes = [float(s) for s in re.findall(r"font[^;\"]*?([\d.]+)px", svg)]
            assert sizes and min(sizes) >= figures.FONT_PT, (lang, stem, sorted(set(sizes)))


def test_runs_that_all_fail_are_one_line_and_the_same_command_runs_them_again(tiny, tmp_path, capsys, monkeypatch):
    """Nothing to fit when every run of a batch fails (a model defect, memory): one line, exit 1,
    not a traceback; the runs are stored as failed and the same command runs them again."""
    from sim.sweep import worker

    real = worker.runner.run_replication

    def broken(*args, **kwargs):
        raise MemoryError("no room for the case table")

    obs_file, local = tiny
    out = tmp_path / "again"
    cmd = ["calibrate", str(ROOT / SMALL), str(obs_file), "--out", str(out), "--quiet", "--workers", "1"]
    monkeypatch.setattr(worker.runner, "run_replication", broken)
    capsys.readouterr()
    code = main(cmd)
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 1 and len(err) == 1, err
    assert err[0].startswith("error: 8 of 8 simulation runs failed") and "MemoryError: no room" in err[0], err
    assert (store.read_results(out / BATCHES[0])["status"] == "failed").all()
    monkeypatch.setattr(worker.runner, "run_replication", real)
    assert main(cmd) == 0
    _same_calibration(out, local)


def test_as_slurm_array_tasks_the_calibration_equals_the_local_one(tiny, slurm, tmp_path, capsys):
    """One 2-task array does every batch (the shards wait for each other between batches); then one
    call without --shard writes the results and runs nothing."""
    obs_file, local = tiny
    out = tmp_path / "slurm"
    cmd = f"{ROOT / '.venv/bin/streetsim'} calibrate {ROOT / SMALL} {obs_file} --out {out} --quiet --workers 1"
    states, logs = slurm.shards_of(cmd, 2, tmp_path)
    assert {s for s, _ in states.values()} == {"COMPLETED"}, (states, logs)
    assert len(logs) == 2 and all("every run is stored" in log for log in logs), logs
    assert all((out / b / "parts").is_dir() for b in BATCHES)
    capsys.readouterr()
    assert main(["calibrate", str(ROOT / SMALL), str(obs_file), "--out", str(out), "--quiet", "--workers", "1"]) == 0
    assert "22 runs (0 run now)" in capsys.readouterr().out
    _same_calibration(out, local)
    workers = {w for b in BATCHES for w in store.read_results(out / b)["worker"]}
    assert len(workers) == 2, workers  # both array tasks ran runs


def test_array_shards_starting_together_share_the_folder(tmp_path):
    """A shard may find another's half-written manifest (a temporary name) or its finished one; either
    way it goes on with the same calibration, and never replaces the manifest another shard wrote."""
    obs_file = tmp_path / "obs.yaml"
    obs_file.write_text(yaml.safe_dump({**GOOD, "method": TINY_METHOD}), encoding="utf-8")
    cal = observed_file.load(ROOT / SMALL, obs_file)
    out = tmp_path / "out"
    out.mkdir()
    (out / ".calibration.json.4242-deadbeef.tmp").write_text("{")  # another shard, mid-write
    fit.claim_folder(cal, out)
    first = (out / "calibration.json").read_text()
    fit._write_first(out / "calibration.json", "another shard's text")
    assert (out / "calibration.json").read_text() == first
    fit.claim_folder(cal, out)  # the second shard: same calibration, same code
    (out / "stray.txt").write_text("x")
    (out / "calibration.json").unlink()
    with pytest.raises(ScenarioError, match="other files in it"):
        fit.claim_folder(cal, out)


def test_calibration_panel_titles_are_broken_by_the_figures_one_title_wrapper(monkeypatch):
    """The calibration figures kept a textwrap copy of their own beside sim.figures' wrapper; the
    titles still break where they did (34 letters; a long key path in two at a dot)."""
    from sim import figures
    from sim.calibrate import outputs

    key = "levers.devolved_tasks.accepted_share_with_gatekeeping"
    assert outputs._parameter_title(key, "en") == ("share of devolved tasks accepted\nwith gatekeeping (share)\n"
                                                   "levers.devolved_tasks.\naccepted_share_with_gatekeeping")
    assert outputs._parameter_title(key, "zh").split("\n")[0] == "准入把关后接收的下沉任务比例（比例）"
    monkeypatch.setattr(figures, "wrap", lambda text, lang, width=30: f"<{lang} {width}>")
    assert outputs._parameter_title(key, "en").split("\n")[0] == "<en 34>"
    assert outputs._parameter_title(key, "zh").split("\n")[0] == "<zh 37>"


def test_a_calibrated_key_yaml_would_read_as_true_is_written_quoted():
    """A role or case type may be named `on` (quoted in its scenario); written bare, the calibrated
    scenario's `on:` read back as the key True, which the loader refuses, after the whole run."""
    from types import SimpleNamespace

    from sim import safe_yaml
    from sim.calibrate.outputs import Calibrated, _emit

    row = Calibrated(SimpleNamespace(calibrated_value=0.25, posterior_mean=0.26, posterior_q025=0.1, posterior_q975=0.4,
                                     prior_min=0.0, prior_max=1.0, scenario_value=0.3), 0.25)  # fmt: skip
    text = "\n".join(_emit({"case_types": {"on": {"bounce_probability": row}, "job": {"no": row}}}, 0)) + "\n"
    assert safe_yaml.parse(text) == {"case_types": {"on": {"bounce_probability": 0.25}, "job": {"no": 0.25}}}


def test_an_out_folder_whose_calibration_json_is_a_named_pipe_is_one_line_not_a_wait(tmp_path, capsys):
    """Nobody writes to the pipe: claiming the folder read it and waited forever."""
    import os
    import signal

    obs = tmp_path / "obs.yaml"
    obs.write_text(yaml.safe_dump({**GOOD, "method": TINY_METHOD}), encoding="utf-8")
    out = tmp_path / "out"
    out.mkdir()
    os.mkfifo(out / "calibration.json")

    def waited(*_):
        raise TimeoutError("calibrate waited on the named pipe")

    signal.signal(signal.SIGALRM, waited)
    signal.alarm(60)  # were it to wait again, this test fails rather than hang the suite
    try:
        assert main(["calibrate", SMALL, str(obs), "--out", str(out), "--quiet"]) == 2
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, signal.SIG_DFL)
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith(f"error: {out}: --out: its calibration.json cannot be read"), err
    assert sorted(p.name for p in out.iterdir()) == ["calibration.json"]  # nothing written
