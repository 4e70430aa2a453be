"""District and city runs (sim.district): the Shanghai city file, totals per district and for the
city, and the same results on one worker, two workers or a Dask cluster."""

import json
from pathlib import Path

import pandas as pd
import pytest
import yaml

from sim import district
from sim.cli import main

CITY = Path("scenarios/shanghai_city.yaml")
SHORT = ["--set", "horizon.days=15", "--set", "horizon.warmup_days=2", "--replications", "1", "--quiet"]


def test_city_file_holds_the_sources_totals(capsys):
    assert main(["validate", str(CITY)]) == 0, capsys.readouterr().err
    dist, streets = district.load(CITY)
    places = [s.street for s in streets.values()]
    assert len(streets) == 213  # domain.md: 213 streets and towns
    assert sum(p.residential_areas for p in places) == 4563  # residents' committees
    assert sum(p.grids for p in places) == 1829  # responsibility grids
    groups = dist.groups()
    assert len(groups) == 16 and len(groups["xuhui"]) == 13 and len(groups["changning"]) == 10  # 000, 001
    changning = [streets[n].street for n in groups["changning"]]
    assert sum(p.residents for p in changning) == 782_000 and sum(p.grids for p in changning) == 33  # 001


def test_a_city_names_a_district_for_every_street_or_none(tmp_path, capsys):
    raw = yaml.safe_load(CITY.read_text())
    raw["streets"] = raw["streets"][:2]
    raw["streets"][1]["district"] = ""
    raw["streets"][0]["scenario"] = raw["streets"][1]["scenario"] = str(CITY.parent.resolve() / "shanghai_street.yaml")
    bad = tmp_path / "bad_city.yaml"
    bad.write_text(yaml.safe_dump(raw))
    assert main(["validate", str(bad)]) == 2
    assert "streets.1.district: name a district for every street or for none" in capsys.readouterr().err


@pytest.mark.parametrize("first, second, clash", [
    ("chongming_12", "Chongming_12", "'Chongming_12' and 'chongming_12' differ only in case"),
    ("chongming_12", "chongming_12", "'chongming_12' is named twice"),
    # é as one character (NFC) and as e + a combining accent (NFD): one name on screen, two folders
    ("caf\u00e9_12", "cafe\u0301_12", "'cafe\u0301_12' and 'caf\u00e9_12' differ only in case or in how a letter is"),
])  # fmt: skip
def test_two_streets_named_only_in_case_apart_are_refused(first, second, clash, tmp_path, capsys):
    """Before: two names apart only in case shared one folder on a file system that ignores case,
    and two spellings of é were two folders of one name on screen. (A street named summary.csv
    or figures is fine: the streets' folders are under streets/.)"""
    raw = yaml.safe_load(CITY.read_text())
    raw["streets"] = raw["streets"][:2]
    raw["streets"][0]["name"], raw["streets"][1]["name"] = first, second
    for s in raw["streets"]:
        s["scenario"] = str(CITY.parent.resolve() / s["scenario"])
    bad = tmp_path / "bad_city.yaml"
    bad.write_text(yaml.safe_dump(raw))
    assert main(["run", str(bad), "--out", str(tmp_path / "o"), *SHORT]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and f"streets.1.name: each street's results go into a folder of its name: {clash}" in err[0], err
    assert not (tmp_path / "o").exists()


def _two_street_city(tmp_path, **first_street) -> Path:
    raw = yaml.safe_load(CITY.read_text())
    raw["streets"] = raw["streets"][:2]
    for s in raw["streets"]:
        s["scenario"] = str(CITY.parent.resolve() / s["scenario"])
    raw["streets"][0].update(first_street)
    path = tmp_path / "city.yaml"
    path.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    return path


@pytest.mark.parametrize("sets, where, why", [
    ({"description=evil": 3}, "description=evil", "unknown key"),
    ({"staffing.no_such_role.count": 3}, "streets.0.set.staffing.no_such_role.count", "has no staffing entry 'no_such_role'"),
    ({"street.residents.x": 3}, "streets.0.set.street.residents.x", "street.residents is not a mapping"),
    ({"horizon..days": 3}, "streets.0.set.horizon..days", "an empty part between dots"),
])  # fmt: skip
def test_a_streets_set_error_names_the_key_where_it_is_written(sets, where, why, tmp_path, capsys):
    """Before: each street's set: went through --set's KEY=VALUE text, so its errors named --set,
    and a key holding "=" split there: description=evil: 3 set the description to 'evil=3'."""
    city = _two_street_city(tmp_path, set=sets)
    assert main(["validate", str(city)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--set" not in err[0] and f"{where}: " in err[0] and why in err[0], err
    assert err[0].startswith(f"error: {city}"), err


def test_a_street_whose_scenario_is_a_district_file_is_told_so(tmp_path, capsys):
    city = _two_street_city(tmp_path)
    raw = yaml.safe_load(city.read_text(encoding="utf-8"))
    raw["streets"][0]["scenario"] = city.name  # the file itself
    city.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    assert main(["validate", str(city)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [f"error: {city}: streets.0.scenario: city.yaml is a district file (it has streets:); "
                   "a street names a scenario file"], err


def test_a_streets_set_still_sets_its_keys(tmp_path):
    city = _two_street_city(tmp_path, set={"street.residents": 12345, "staffing.grid_supervisors.count": 7})
    _, streets = district.load(city)
    first = next(iter(streets.values()))
    assert first.street.residents == 12345 and first.staffing["grid_supervisors"].count == 7


@pytest.fixture(scope="module")
def small_city(tmp_path_factory):
    """Three of the city's smallest places, in two districts (two Chongming towns, one Jinshan)."""
    raw = yaml.safe_load(CITY.read_text())
    keep = ["chongming_12", "chongming_15", "jinshan_02"]
    raw["name"] = "small_city"
    raw["streets"] = [s for s in raw["streets"] if s["name"] in keep]
    for s in raw["streets"]:
        s["scenario"] = str(CITY.parent.resolve() / s["scenario"])
    path = tmp_path_factory.mktemp("city") / "small_city.yaml"
    path.write_text(yaml.safe_dump(raw))
    return path


def _table_after(lines: list[str], heading: str) -> list[str]:
    """The lines of the table printed under ``heading``, up to the blank line that ends it."""
    start = lines.index(heading) + 1
    return lines[start:lines.index("", start)]


def test_the_per_district_and_per_street_tables_are_chinese_with_lang_zh(small_city, tmp_path, capsys):
    """Their columns were headed by KPI keys (cases_arrived, ...) whatever --lang said; now by the KPI's
    label and unit, as the comparison above them and the report's table of streets."""
    assert main(["run", str(small_city), "--out", str(tmp_path / "zh"), "--lang", "zh", "--no-figures", *SHORT]) == 0
    lines = capsys.readouterr().out.splitlines()
    for heading, first_header, names in (("各区（重复间均值）：", "区", ["chongming", "jinshan"]),
                                         ("各街镇（重复间均值）：", "街道", ["chongming_12", "chongming_15", "jinshan_02"])):
        table = _table_after(lines, heading)
        assert not any(k in line for k in district.TABLE_KPIS for line in table), table
        rule = next(i for i, line in enumerate(table) if line.startswith("---"))
        headers, rows = "\n".join(table[:rule]), table[rule + 1:]
        assert headers.split()[0] == first_header, headers
        assert all(h in headers for h in ("案件数（件）", "编制人数（人）", "平均解决时间（天）", "居民满意度")), headers
        assert sorted(r.split()[0] for r in rows) == names and all(len(r.split()) == 6 for r in rows), rows


@pytest.fixture(scope="module")
def runs(small_city, tmp_path_factory):
    """The small city on one worker, on two, and on a two-worker Dask LocalCluster."""
    from dask.distributed import LocalCluster

    root = tmp_path_factory.mktemp("runs")
    outs = {}
    for label, extra in [("one", ["-j", "1"]), ("two", ["-j", "2"])]:
        outs[label] = root / label
        assert main(["run", str(small_city), "--out", str(outs[label]), *extra, *SHORT]) == 0
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0") as cluster:
        outs["dask"] = root / "dask"
        assert main(["run", str(small_city), "--out", str(outs["dask"]), "--scheduler", cluster.scheduler_address,
                     *SHORT]) == 0
    return outs


@pytest.mark.parametrize("table", ["summary.csv", "districts.csv", "streets.csv"])
def test_results_do_not_depend_on_workers_or_dask(runs, table):
    one = (runs["one"] / table).read_bytes()
    assert one == (runs["two"] / table).read_bytes()
    assert one == (runs["dask"] / table).read_bytes()


def test_district_and_city_totals_add_up_the_streets(runs):
    streets = pd.read_csv(runs["one"] / "streets.csv")
    districts = pd.read_csv(runs["one"] / "districts.csv").set_index("district")
    city = pd.read_csv(runs["one"] / "summary.csv")
    by_district = streets.groupby("district")[["cases_arrived", "staff_total"]].sum()
    assert sorted(districts.index) == ["chongming", "jinshan"]
    assert districts.loc["chongming", "streets"] == 2
    for kpi in ("cases_arrived", "staff_total"):
        assert districts[kpi].to_dict() == by_district[kpi].to_dict()
        assert city[kpi].iloc[0] == streets[kpi].sum() > 0
    assert (runs["one"] / "streets" / "jinshan_02" / "cases.parquet").exists()


def test_city_satisfaction_is_the_mean_over_residents_of_every_street(runs):
    """Residents are numbered within their street: resident 7 of area 0 in two streets is two
    people, each with their own mean satisfaction (the pooled total once took them for one)."""
    per_resident = []
    for folder in sorted((runs["one"] / "streets").iterdir()):
        c = pd.read_parquet(folder / "cases.parquet")
        closed = c[(c["discovered"] >= 2 * 24.0) & c["closed_flag"] & (c["resident"] >= 0)]
        per_resident.append(closed.groupby(["area", "resident"])["satisfaction"].mean().to_numpy())
    expected = pd.Series([x for street in per_resident for x in street]).mean()
    city = pd.read_csv(runs["one"] / "summary.csv")["resident_satisfaction"].iloc[0]
    assert city == pytest.approx(expected, rel=1e-9)
    shared = set.intersection(*({(a, r) for a, r in zip(*pd.read_parquet(f / "cases.parquet")[["area", "resident"]]
                                 .to_numpy().T)} for f in (runs["one"] / "streets").iterdir()))  # fmt: skip
    assert shared, "no resident number is used in every street: the test would not tell the two apart"


def test_a_district_keeps_the_notes_of_its_streets_scenario_files(runs, small_city):
    """Only the district file's notes were kept: the report's annex of a city listed none of the
    assumptions of the scenario its streets run (shanghai_street.yaml and reform_2015.yaml)."""
    kept = json.loads((runs["one"] / "manifest.json").read_text(encoding="utf-8"))["scenario_notes"]
    assert [Path(k["file"]).name for k in kept] == [small_city.name, "shanghai_street.yaml", "reform_2015.yaml"]
    assert all(k["assumptions"] for k in kept[1:]), [k["file"] for k in kept if not k["assumptions"]]
