"""streetsim compare: common random numbers, paired differences, comparison.csv and figures."""

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from wcwidth import wcswidth

from sim import compare
from sim import scenario as scenario_mod
from sim.cli import main

SHORT = ["--set", "horizon.days=25", "--set", "horizon.warmup_days=3", "--replications", "3", "--quiet"]


@pytest.fixture
def twin(tmp_path):
    """The reform scenario under another name: every paired difference must be exactly zero."""
    path = tmp_path / "twin.yaml"
    path.write_text("extends: " + str(Path("scenarios/reform_2015.yaml").resolve())
                    + "\nname: reform_twin\n")
    return path


@pytest.mark.parametrize("workers", ["1", "2"])
def test_identical_scenarios_differ_by_exactly_zero_on_any_number_of_workers(twin, tmp_path, workers):
    out = tmp_path / "cmp"
    assert main(["compare", "scenarios/reform_2015.yaml", str(twin), "--out", str(out), "-j", workers, *SHORT]) == 0
    table = pd.read_csv(out / "comparison.csv")
    diffs = table[table["scenario"] == "reform_twin"]
    assert len(diffs) > 50
    assert (diffs["diff_mean"].fillna(0) == 0).all()
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["kind"] == "compare" and manifest["scenario_names"] == ["reform_2015", "reform_twin"]
    for stem in ("differences", "kpi_bars", "backlog", "staff_time"):
        for ext in ("png", "svg", "pdf"):
            assert (out / "figures" / f"{stem}.{ext}").stat().st_size > 5000
    assert (out / "reform_2015" / "summary.csv").exists() and (out / "reform_twin" / "cases.parquet").exists()


def test_compare_reports_the_paired_difference_of_a_real_change(tmp_path, capsys):
    out = tmp_path / "cmp"
    assert main(["compare", "scenarios/reform_2015.yaml", "scenarios/baseline_2013.yaml", "--out", str(out), *SHORT]) == 0
    printed = capsys.readouterr().out
    assert "baseline_2013 − reform_2015:" in printed and "Benjamini–Hochberg" in printed
    table = pd.read_csv(out / "comparison.csv").set_index(["scenario", "kpi"])
    bounces = table.loc[("baseline_2013", "bounces_per_case")]
    assert bounces["diff_ci_low"] > 0  # no responsibility lists: more bounces, and the CI says so
    assert bounces["status"] == "changed"
    assert table.loc[("baseline_2013", "staff_total"), "status"] == "input"  # never tested
    # the paired difference is the mean of per-replication differences
    a = pd.read_csv(out / "reform_2015" / "summary.csv")["bounces_per_case"]
    b = pd.read_csv(out / "baseline_2013" / "summary.csv")["bounces_per_case"]
    assert bounces["diff_mean"] == pytest.approx((b - a).mean())


def _synthetic(seed=3, reps=10, changed=("wait_mean_days",), noise_kpis=40):
    """Two scenarios' summaries: ``changed`` KPIs shift by 30%, the others are pure noise."""
    rng = np.random.default_rng(seed)
    common = {f"queue_wait_hours_role{k}": rng.gamma(9, 1, reps) for k in range(noise_kpis)}
    common["wait_mean_days"] = rng.gamma(25, 0.1, reps)
    a = pd.DataFrame({"replication": range(reps), **common, "staff_party_workers": 8, "staff_total": 200})
    b = a.copy()
    for k in common:  # paired: the same noise plus a little of its own
        b[k] = a[k] * rng.normal(1.0, 0.05, reps)
    for k in changed:
        b[k] = b[k] * 1.3
    b["staff_party_workers"], b["staff_total"] = 6, 198
    return {"base": a, "variant": b}


def test_headline_shows_what_changed_and_holds_the_false_discoveries_down():
    table = compare.comparison_table(_synthetic())
    head = compare.headline(table, "variant")
    assert head["kpi"].tolist()[0] == "wait_mean_days"
    assert head.iloc[0]["relative_change"] == pytest.approx(0.3, abs=0.05)
    # 40 null KPIs tested at once: without a correction ~2 would be marked at 5%; BH keeps it near 0
    assert len(head) <= 2
    rows = table[table["scenario"] == "variant"].set_index("kpi")
    assert rows.loc["staff_party_workers", "status"] == "input" and np.isnan(rows.loc["staff_total", "p_value"])
    text = compare.format_comparison(table, lang="zh")
    assert "平均解决时间（天）" in text and "党群工作者人数（人）" in text and "Benjamini–Hochberg" in text


@pytest.mark.parametrize("lang", ["en", "zh"])
@pytest.mark.parametrize("show_all", [False, True])
def test_tables_fit_100_columns(lang, show_all):
    text = compare.format_comparison(compare.comparison_table(_synthetic(changed=("wait_mean_days", "queue_wait_hours_role1"))),
                                     show_all=show_all, lang=lang)
    widths = [wcswidth(line) for line in text.splitlines()]
    assert max(widths) <= 100
    assert len(text.splitlines()) > (80 if show_all else 8)


def test_a_chinese_scenario_name_is_accepted(tmp_path):
    path = tmp_path / "zh.yaml"
    path.write_text("extends: " + str(Path("scenarios/reform_2015.yaml").resolve()) + "\nname: 改革方案_2015\n",
                    encoding="utf-8")
    assert scenario_mod.load(path).name == "改革方案_2015"
    path.write_text("extends: " + str(Path("scenarios/reform_2015.yaml").resolve()) + "\nname: a/b\n", encoding="utf-8")
    with pytest.raises(scenario_mod.ScenarioError, match="name"):
        scenario_mod.load(path)  # still a safe folder name


def test_scenarios_with_the_same_name_are_refused(tmp_path, capsys):
    status = main(["compare", "scenarios/reform_2015.yaml", "scenarios/reform_2015.yaml", "--out", str(tmp_path / "o"), *SHORT])
    assert status == 2
    assert "names must differ" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()


@pytest.mark.parametrize("names, clash", [
    (["comparison.csv"], "'comparison.csv' is the name of the result folder's own comparison.csv"),
    (["manifest.json"], "'manifest.json' is the name of the result folder's own manifest.json"),
    (["Figures"], "'Figures' is the name of the result folder's own figures"),
    (["report_en.pdf"], "'report_en.pdf' is the name of the result folder's own report_en.pdf"),
    (["plan_a", "Plan_A"], "'Plan_A' and 'plan_a' differ only in case"),
    # é as one character (NFC) and as e + a combining accent (NFD): one name on screen, two folders
    (["caf\u00e9", "cafe\u0301"], "'cafe\u0301' and 'caf\u00e9' differ only in case or in how a letter is encoded"),
])  # fmt: skip
def test_a_scenario_named_as_the_folders_own_files_or_only_in_case_apart_is_refused(names, clash, tmp_path, capsys):
    """Before: 'comparison.csv' or 'manifest.json' ended in a traceback (IsADirectoryError) after
    every run; 'figures' mixed a scenario's tables with the figures; two names apart only in case
    shared one folder on a file system that ignores case, and two spellings of é were two folders
    of one name on screen."""
    reform = Path("scenarios/reform_2015.yaml").resolve()
    files = []
    for k, name in enumerate(names):
        files.append(tmp_path / f"s{k}.yaml")
        files[-1].write_text(f"extends: {reform}\nname: {name}\n", encoding="utf-8")
    if len(files) == 1:
        files.insert(0, reform)
    status = main(["compare", *map(str, files), "--out", str(tmp_path / "o"), *SHORT])
    err = capsys.readouterr().err.strip().splitlines()
    assert status == 2 and len(err) == 1, err
    assert f"{files[-1]}: name: compare writes each scenario into a folder of its name: {clash}" in err[0], err
    assert not (tmp_path / "o").exists()


def test_one_replication_is_refused_before_anything_runs(tmp_path, capsys):
    """A paired difference needs at least two replications to have a spread."""
    status = main(["compare", "scenarios/baseline_2013.yaml", "scenarios/reform_2015.yaml", "--out", str(tmp_path / "o"),
                   *SHORT, "--replications", "1"])
    err = capsys.readouterr().err.strip().splitlines()
    assert status == 2 and len(err) == 1 and "--replications" in err[0] and "at least 2" in err[0], err
    assert not (tmp_path / "o").exists()


def test_district_runs_its_streets_and_adds_them_up(tmp_path):
    reform = Path("scenarios/reform_2015.yaml").resolve()
    district = tmp_path / "district.yaml"
    district.write_text(f"""name: two_streets
streets:
  - {{name: small, scenario: {reform}, set: {{street.residents: 20000, street.residential_areas: 5, street.grids: 1}}}}
  - {{name: large, scenario: {reform}, set: {{street.residents: 60000}}}}
""")
    out = tmp_path / "d"
    assert main(["run", str(district), "--out", str(out), "-j", "2", *SHORT]) == 0
    summary = pd.read_csv(out / "summary.csv")
    streets = pd.read_csv(out / "streets.csv")
    assert list(dict.fromkeys(streets["street"])) == ["small", "large"]
    per_rep = streets.groupby("replication")[["cases_arrived", "staff_total", "staff_cost_per_year"]].sum()
    assert summary.set_index("replication")["cases_arrived"].tolist() == per_rep["cases_arrived"].tolist()
    assert summary["staff_total"].tolist() == per_rep["staff_total"].tolist()
    assert summary["staff_cost_per_year"].to_numpy() == pytest.approx(per_rep["staff_cost_per_year"].to_numpy())
    small, large = (streets[streets["street"] == n]["cases_arrived"].mean() for n in ("small", "large"))
    assert 2 < large / small < 4  # three times the residents
    assert (out / "figures" / "kpi_bars.png").exists()


def test_a_single_scenario_table_names_each_interval_method_within_100_columns():
    runs = _synthetic()
    table = compare.comparison_table({"base": runs["base"]})
    text = compare.format_comparison(table, lang="en")
    assert max(wcswidth(line) for line in text.splitlines()) <= 100
    assert "Student t" in text and "fixed input" in text


def test_headline_leads_with_what_residents_get_changed_or_not():
    data = _synthetic(changed=("queue_wait_hours_role1",))
    rng = np.random.default_rng(3)
    for name in data:
        data[name]["on_time_resident"] = 0.9 + rng.normal(0, 0.01, len(data[name]))
    head = compare.headline(compare.comparison_table(data), "variant")
    assert head["kpi"].tolist()[:2] == ["on_time_resident", "wait_mean_days"]
    assert head.iloc[0]["status"] != "changed"  # shown though it did not change
    assert "queue_wait_hours_role1" in head["kpi"].tolist()


def test_the_terminal_comparison_is_chinese_in_chinese():
    """Its title and footer were English whatever --lang said."""
    table = compare.comparison_table(_synthetic())
    zh, en = compare.format_comparison(table, lang="zh"), compare.format_comparison(table, lang="en")
    for english in ("KPIs changed", "Means:", "paired difference", "Ranked by"):
        assert english in en and english not in zh
    assert "项指标中" in zh and "共同随机数" in zh and "按|Δ %|排序" in zh
