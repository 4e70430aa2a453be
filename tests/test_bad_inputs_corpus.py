"""The bad-input corpus (tests/bad_inputs/ and generated cases): every one ends in one line naming
the file or flag, the key path where there is one, and what is wrong; exit status 2; no
traceback; nothing written; a few seconds and bounded memory (in-process: tracemalloc peak; the
heaviest in a subprocess under an address-space limit and a timeout)."""

from __future__ import annotations

import atexit
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

import pytest

from sim.cli import main

ROOT = Path(__file__).resolve().parents[1]
BAD = ROOT / "tests" / "bad_inputs"
MMC = str(ROOT / "scenarios" / "validation" / "mmc.yaml")
RUN = ["run", "--replications", "1", "--quiet", "--workers", "1"]
SECONDS = 10  # per case, on a loaded 2-core machine; the checks themselves take milliseconds
PEAK_BYTES = 100e6  # Python allocations while handling one case (tracemalloc)


def scenario(name, where, what):
    return (["run", str(BAD / name), *RUN[1:]], f"{BAD / name}: " + (f"{where}: " if where else ""), what)


# (argv, the line starts with "error: " + this, and contains this)
CASES = {
    # YAML itself: aliases, encodings, nesting, duplicates, tags
    "alias bomb": scenario("alias_bomb.yaml", "x_bomb.a9", "more than 200,000 values once aliases are expanded"),
    "alias bomb at top level": scenario("alias_bomb_description.yaml", "a9", "alias bomb"),
    "Latin-1": scenario("latin1.yaml", "", "not UTF-8 text (byte 0xe9 on line 2)"),
    "UTF-16 with BOM": scenario("utf16_bom.yaml", "", "is UTF-16 text; save it as UTF-8"),
    "UTF-16 without BOM": scenario("utf16le_no_bom.yaml", "", "characters are not allowed"),  # libyaml: control, PyYAML: special
    "UTF-32": scenario("utf32.yaml", "", "is UTF-32 text"),
    "garbage bytes": scenario("garbage.bin", "", "not UTF-8 text"),
    "NUL bytes": scenario("nul_bytes.yaml", "", "characters are not allowed"),  # libyaml: control, PyYAML: special
    "3000 nested mappings (block)": scenario("deep_block.yaml", "", "nested more than 40 levels deep (line 42)"),
    "5000 nested lists (flow)": scenario("deep_flow.yaml", "", "nested more than 40 levels deep"),
    "5000 nested mappings (flow)": scenario("deep_flow_mapping.yaml", "", "nested more than 40 levels deep"),
    "duplicate key": scenario("duplicate_key.yaml", "staffing.servers.count", "given twice"),
    "duplicate top-level key": scenario("duplicate_top_key.yaml", "horizon", "given twice (lines 2 and 3)"),
    "python tag": scenario("python_tag.yaml", "", "could not determine a constructor"),
    "undefined alias": scenario("undefined_alias.yaml", "", "undefined alias"),
    # an alias inside the value its anchor names: the walk over the expanded values never ended
    "alias in its own list": scenario("recursive_alias_list.yaml", "description.1", "refers to the value that contains it"),
    "mapping merging itself": scenario("recursive_alias_mapping.yaml", "street.<<", "refers to the value that contains it"),
    "unhashable key": scenario("unhashable_key.yaml", "", "unhashable key"),
    "top-level list": scenario("top_level_list.yaml", "", "must be a mapping of keys, got list"),
    "key on (read as true: named 1 or calendars.1.[key])": scenario("bool_key.yaml", "calendars.on",
                                                                    "YAML reads this one as true or false (line 3); put it in quotes: 'on'"),
    "key 2015-01-01 (read as a date: named datetime.date(...))": scenario("date_key.yaml", "levers.devolved_tasks.tasks_per_week.2015-01-01",
                                                                         "YAML reads this one as a date"),
    "empty file": scenario("empty.yaml", "", "is empty; a scenario file starts with `name: <name>`"),
    "extends a list": scenario("extends_not_string.yaml", "extends", "must be a file path"),
    "extends /dev/zero": scenario("extends_dev_zero.yaml", "extends", "/dev/zero: larger than 1,000,000 bytes"),
    "extends: '' (taken for the folder: named it, not the file)": scenario("extends_empty.yaml", "extends", "empty; give the path"),
    "extends a 305-character name (OSError traceback)": scenario("extends_long_name.yaml", "extends", "File name too long"),
    "integer of 5000 digits": scenario("int_5000_digits.yaml", "", "more than 4,300 digits"),
    # numbers: finite, strict
    "deadline .nan": scenario("nan_deadline.yaml", "case_types.job.deadline_hours", "finite number, got nan"),
    "channel share .inf": scenario("inf_channel_share.yaml", "case_types.job.channels.hotline", "finite number, got inf"),
    "rate .inf": scenario("inf_rate.yaml", "case_types.job.arrivals.per_hour", "finite number, got inf"),
    "1e400 overflows to inf": scenario("overflow_float.yaml", "case_types.job.handle.mean_hours", "finite number"),
    "count: true": scenario("count_true.yaml", "staffing.servers.count", "valid integer, got True"),
    "count: '3'": scenario("count_string.yaml", "staffing.servers.count", "valid integer, got '3'"),
    "count: 3.5": scenario("count_float.yaml", "staffing.servers.count", "valid integer, got 3.5"),
    "enabled: 1": scenario("enabled_number.yaml", "behaviour.trust.enabled", "valid boolean, got 1"),
    # sizes: refused before anything is allocated
    "rate 1e12 per hour": scenario("huge_rate.yaml", "case_types.job.arrivals", "the limit is 5,000,000"),
    "10^7 staff": scenario("huge_staff.yaml", "staffing.servers.count", "less than or equal to 10000"),
    "10^9 residents": scenario("huge_residents.yaml", "street.residents", "less than or equal to 2000000"),
    "10^8 residential areas": scenario("huge_areas.yaml", "street.residential_areas", "less than or equal to 10000"),
    "10^12 organisations": scenario("huge_orgs.yaml", "street.two_new_orgs", "less than or equal to 1000000"),
    "10^9 lines": scenario("huge_lines.yaml", "staffing.servers.lines", "less than or equal to 10000"),
    "10^12 respondents": scenario("huge_respondents.yaml", "survey.respondents", "less than or equal to 1000000"),
    "more respondents than residents": scenario("respondents_over_residents.yaml", "survey.respondents", "only 1,000 residents"),
    "10^7 days": scenario("huge_horizon.yaml", "horizon.days", "less than or equal to 3650"),
    "ratio 1/1e-300": scenario("tiny_ratio.yaml", "staffing.servers", "the limit is 10,000 a role"),
    "ratio rule giving 900,000 staff": scenario("ratio_many_staff.yaml", "staffing.servers", "gives 900,000 staff"),
    "10^15 devolved tasks a week": scenario("huge_devolved_tasks.yaml", "levers.devolved_tasks.tasks_per_week.servers", "limit"),
    "10^9 patrol passes a day": scenario("huge_patrol_passes.yaml", "loop.discovery.patrol_passes_per_day", "less than or equal to 96"),
    # names that become folders
    "300-character name": scenario("long_name.yaml", "name", "at most 100 characters"),
    "name ..": scenario("name_dotdot.yaml", "name", "should match pattern"),
    "name ../../etc": scenario("name_escapes.yaml", "name", "should match pattern"),
    # district files
    "district: duplicate key": (["run", str(BAD / "district_duplicate_key.yaml"), *RUN[1:]],
                                f"{BAD / 'district_duplicate_key.yaml'}: name: ", "given twice"),
    "district: street named ..": (["run", str(BAD / "district_street_dotdot.yaml"), *RUN[1:]],
                                  f"{BAD / 'district_street_dotdot.yaml'} (streets.0: ..): name: ", "pattern"),
    "district: street scenario /dev/zero": (["run", str(BAD / "district_dev_zero.yaml"), *RUN[1:]],
                                            f"{BAD / 'district_dev_zero.yaml'}: streets.0.scenario: ", "larger than"),
    "district: street scenario ''": (["run", str(BAD / "district_scenario_empty.yaml"), *RUN[1:]],
                                       f"{BAD / 'district_scenario_empty.yaml'}: streets.0.scenario: ", "empty; give the path"),
    "district: street scenario of 5,000 characters": (
        ["run", str(BAD / "district_scenario_long_name.yaml"), *RUN[1:]],
        f"{BAD / 'district_scenario_long_name.yaml'}: streets.0.scenario: ", "File name too long"),
    "district: alias bomb": (["run", str(BAD / "district_alias_bomb.yaml"), *RUN[1:]],
                             f"{BAD / 'district_alias_bomb.yaml'}: streets", "alias bomb"),
    # --set
    "--set count=true": (["run", MMC, *RUN[1:], "--set", "staffing.servers.count=true"],
                         f"{MMC}: staffing.servers.count: ", "valid integer, got True"),
    "--set deadline=.nan": (["run", MMC, *RUN[1:], "--set", "case_types.job.deadline_hours=.nan"],
                            f"{MMC}: case_types.job.deadline_hours: ", "finite number"),
    "--set alias bomb": (["run", MMC, *RUN[1:], "--set", "description=[&a [1,1,1,1,1,1,1,1,1,1], &b [*a,*a,*a,*a,*a,*a,*a,*a,*a,*a], "
                          "&c [*b,*b,*b,*b,*b,*b,*b,*b,*b,*b], &d [*c,*c,*c,*c,*c,*c,*c,*c,*c,*c], [*d,*d,*d,*d,*d,*d,*d,*d,*d,*d], "
                          "[*d,*d,*d,*d,*d,*d,*d,*d,*d,*d], [*d,*d,*d,*d,*d,*d,*d,*d,*d,*d]]"],
                         f"{MMC}: --set: ", "alias bomb"),
    "--set alias in its own list": (["run", MMC, *RUN[1:], "--set", "description=&d [a, *d]"],
                                    f"{MMC}: --set: description.1: ", "refers to the value that contains it"),
    "--set without =": (["run", MMC, *RUN[1:], "--set", "staffing.servers.count"], f"{MMC}: --set: ", "expected KEY.PATH=VALUE"),
    "--set below a number": (["run", MMC, *RUN[1:], "--set", "horizon.days.x=1"], f"{MMC}: horizon.days: ", "not a mapping"),
    "--set residents=10^9": (["run", MMC, *RUN[1:], "--set", "street.residents=1000000000"],
                             f"{MMC}: street.residents: ", "less than or equal to 2000000"),
    # flags
    "--seed -1": (["run", MMC, *RUN[1:], "--seed", "-1"], "streetsim run: argument --seed/-s: ", "must be >= 0, got -1"),
    # before: viz took any int and started serving; the page's model then failed on the seed
    "viz --seed -1": (["viz", MMC, "--seed", "-1"], "streetsim viz: argument --seed/-s: ", "must be >= 0, got -1"),
    "--seed abc": (["run", MMC, *RUN[1:], "--seed", "abc"], "streetsim run: argument --seed/-s: ", "whole number"),
    "--replications 0": (["run", MMC, "--replications", "0", "--quiet"], "streetsim run: argument --replications/-r: ", "> 0"),
    "--replications 10^9": (["run", MMC, "--replications", "1000000000", "--quiet"], "streetsim run: argument", "at most 100,000"),
    "--workers -1": (["run", MMC, *RUN[1:], "--workers", "-1"], "streetsim run: argument --workers/-j: ", "> 0"),
    # a process per replication, each holding the model: memory ran out rather than a line said so
    # (a scenario that is not there: were the check gone, the run stops at "file not found")
    "--workers 100000": (["run", str(BAD / "nowhere.yaml"), "--workers", "100000"], "--workers: ",
                         "processes on this machine"),
    "sweep --workers 100000": (["sweep", str(BAD / "exp_needs_yes.yaml"), "--workers", "100000"], "--workers: ",
                               "processes on this machine"),
    # a Dask cluster's workers run elsewhere: --workers past this machine's cap is not what is refused
    "sweep on Dask: --workers 64 then a scheduler that is down": (
        ["sweep", str(BAD / "exp_needs_yes.yaml"), "--executor", "dask", "--scheduler", "tcp://127.0.0.1:1",
         "--workers", "64"], "--scheduler: ", "no Dask scheduler answers"),
    "unknown flag": (["run", MMC, "--replicatons", "3"], "streetsim: unrecognized arguments", "--replicatons"),
    "compare: same scenario twice": (["compare", MMC, MMC, *RUN[1:]], f"{MMC}: name: ", "'mmc' is named twice"),
    "scenario is a folder": (["run", str(BAD), *RUN[1:]], f"{BAD}: ", "is a folder, not a file"),
    "scenario is /dev/zero": (["run", "/dev/zero", *RUN[1:]], "/dev/zero: ", "larger than 1,000,000 bytes"),
    "missing scenario": (["run", str(BAD / "nowhere.yaml"), *RUN[1:]], f"{BAD / 'nowhere.yaml'}: ", "file not found"),
    # an empty path became Path("."): "error: .: is a folder", naming neither the argument nor the
    # fix, and an empty sweep/calibrate/staff --out wrote into the working folder
    **{
        f"{argv[0]}: empty {arg}": (argv, f"streetsim {argv[0]}: argument {arg}: ", "empty; give a path")
        for argv, arg in [
            (["run", "", *RUN[1:]], "scenario"),
            (["compare", MMC, " "], "scenarios"),
            (["validate", ""], "files"),
            (["sweep", ""], "experiment"),
            (["sweep", str(BAD / "exp_needs_yes.yaml"), "--out", ""], "--out"),
            (["calibrate", "", "x.yaml"], "scenario"),
            (["calibrate", MMC, ""], "observed"),
            (["calibrate", MMC, "x.yaml", "--out", ""], "--out"),
            (["staff", "", "--target", "x"], "scenario"),
            (["staff", MMC, "--targets", ""], "--targets"),
            (["staff", MMC, "--target", "x", "--out", ""], "--out"),
            (["viz", ""], "scenario"),
            (["figures", ""], "results_dir"),
            (["report", ""], "RESULTS"),
            (["report", "x", "--out", ""], "--out"),
            (["sweep-results", ""], "results"),
            (["sweep-results", "x", "--to", ""], "--to"),
        ]
    },
    # "-" made a folder named "-"; a line break or escape made a name every listing mangles
    "run --out -": (["run", MMC, *RUN[1:], "--out", "-"], "--out: ", "'-' is not written to standard output"),
    "staff --out -": (["staff", MMC, "--target", "on_time_resident>=0.5", "--roles", "servers", "--out", "-"],
                      "--out: ", "'-' is not written to standard output"),
    "run --out with a line break": (["run", MMC, *RUN[1:], "--out", "a\nb"], "--out: ",
                                    "contains a control character (U+000A)"),
    "report --out with an escape": (["report", "x", "--out", "a\x1b[31m.pdf"], "--out: ",
                                    "contains a control character (U+001B)"),
    # taken as plain text: written into the manifest and printed to the terminal
    "--set with an escape": (["run", MMC, *RUN[1:], "--set", "description=a\x1b[31mred"], f"{MMC}: --set: ",
                             "contains a control character (U+001B)"),
    # an escape written as YAML's "\e" is a control character only once the text is read
    "description with a YAML escape": scenario("description_escape.yaml", "description",
                                               "contains a control character (U+001B)"),
    # a bidirectional override reorders what a table or report shows after it ("Trojan Source")
    "description with a bidirectional override": scenario("description_bidi.yaml", "description",
                                                          "contains a control character (U+202E)"),
    # a place name is shown on the map and in its tooltips: reordered by an override there
    "grid name with a bidirectional override": scenario("grid_name_bidi.yaml", "street.grid_names.0",
                                                        "contains a control character (U+202E)"),
    "--set an area name with a YAML-escaped isolate": (["run", MMC, *RUN[1:], "--set", 'street.area_names=["a\\u2066b"]'],
                                                       f"{MMC}: street.area_names.0: ", "contains a control character (U+2066)"),
    "--set with a bidirectional isolate": (["run", MMC, *RUN[1:], "--set", "description=a\u2067b"], f"{MMC}: --set: ",
                                           "contains a control character (U+2067)"),
    # Python's splitlines (and some readers) break a line at U+2028
    "--set with a line separator": (["run", MMC, *RUN[1:], "--set", "description=a\u2028b"], f"{MMC}: --set: ",
                                    "contains a control character (U+2028)"),
    "--set with a YAML escape": (["run", MMC, *RUN[1:], "--set", 'description="a\\e[31mred"'], f"{MMC}: description: ",
                                 "contains a control character (U+001B)"),
    "experiment description with a YAML escape": (["sweep", str(BAD / "exp_description_escape.yaml")],
                                                  f"{BAD / 'exp_description_escape.yaml'}: description: ",
                                                  "contains a control character (U+001B)"),
    # an error line quotes what it names with control characters escaped: no command reaches the terminal
    "district: street name with a YAML escape": (["run", str(BAD / "district_street_name_escape.yaml"), *RUN[1:]],
                                                 f"{BAD / 'district_street_name_escape.yaml'} (streets.0: a\\x1b[31mb): name: ",
                                                 "pattern"),
    "district label with a YAML escape": (["run", str(BAD / "district_label_escape.yaml"), *RUN[1:]],
                                          f"{BAD / 'district_label_escape.yaml'}: streets.0.district: ",
                                          "contains a control character (U+001B)"),
    "experiment parameter label with a C1 escape": (["sweep", str(BAD / "exp_label_c1.yaml")],
                                                    f"{BAD / 'exp_label_c1.yaml'}: parameters.staffing.servers.count.label: ",
                                                    "contains a control character (U+009B)"),
    "validate garbage": (["validate", str(BAD / "garbage.bin")], f"{BAD / 'garbage.bin'}: ", "not UTF-8"),
    # validate built every point of any design up to 10,000,000 runs (~5 ms each): unbounded time
    "validate 12,000 runs without --yes": (["validate", str(BAD / "exp_needs_yes.yaml")],
                                           f"{BAD / 'exp_needs_yes.yaml'}: design: ", "add --yes"),
    # a name past 255 bytes: pathlib's exists() raised OSError (File name too long), a traceback
    **{
        f"{argv[0]}: {what} of 300 bytes": (argv, prefix, text)
        for argv, what, prefix, text in [
            (["figures", "y" * 300], "a results folder", "y" * 300 + ": ", "cannot read: File name too long"),
            (["report", "y" * 300, "--no-figures"], "a results folder", "y" * 300 + ": ", "cannot read: File name too long"),
            (["sweep-results", "y" * 300], "a results folder", "y" * 300 + ": ", "cannot read: File name too long"),
            (["report", "x", "--out", "y" * 300 + ".pdf"], "--out", "--out: ", "file name yyyy"),
            (["sweep-results", "x", "--to", "y" * 300 + ".csv"], "--to", "--to: ", "file name yyyy"),
        ]
    },
    # experiment files
    **{
        name: (["sweep", str(BAD / f), "--quiet"], f"{BAD / f}: {key}: ", what)
        for name, f, key, what in [
            ("experiment named ..", "exp_name_dotdot.yaml", "experiment", "should match pattern"),
            ("experiment named ../../tmp/x", "exp_name_escapes.yaml", "experiment", "should match pattern"),
            ("factorial step 1e-12", "exp_tiny_step.yaml", "parameters.case_types.job.handle.mean_hours.step", "1e+12 levels"),
            ("LHS with 10^12 samples", "exp_huge_lhs.yaml", "design.samples", "the limit is 10,000,000 runs"),
            ("10^9 replications", "exp_huge_replications.yaml", "replications", "less than or equal to 100000"),
            ("12,000 runs without --yes", "exp_needs_yes.yaml", "design", "add --yes"),
            ("experiment seed -1", "exp_negative_seed.yaml", "seed", "greater than or equal to 0"),
            ("experiment min .nan", "exp_nan_min.yaml", "parameters.case_types.job.handle.mean_hours.min", "finite number"),
            ("experiment duplicate key", "exp_duplicate_key.yaml", "replications", "given twice"),
            ("replications: true", "exp_replications_true.yaml", "replications", "valid integer, got True"),
            ("experiment alias bomb", "exp_alias_bomb.yaml", "parameters.staffing.servers.count.values", "alias bomb"),
            ("design point over a limit", "exp_point_over_limit.yaml", "parameters", "street.residents: Input should be less"),
            ("experiment kpis: typo", "exp_kpi_typo.yaml", "kpis", "unknown KPI 'on_time_rte' (did you mean on_time_reported or"),
            # every run was kept without a KPI; its figures ended in a ZeroDivisionError
            ("experiment kpis: []", "exp_kpis_empty.yaml", "kpis", "empty; name the KPIs to keep"),
            ("experiment scenario: '' (taken for the folder)", "exp_scenario_empty.yaml", "scenario", "empty; give the path"),
            ("experiment scenario: a 305-character name (traceback)", "exp_scenario_long_name.yaml", "scenario", "File name too long"),
        ]
    },
}

# Generated at test time (too big or needing a results folder): name -> (make(tmp) -> argv, prefix, text)
GENERATED = {}


def generated(name):
    def register(make):
        GENERATED[name] = make
        return make

    return register


@generated("2 MB scenario file")
def _big_file(tmp):
    f = tmp / "big.yaml"
    f.write_text("name: big\ndescription: '" + "x" * 2_000_000 + "'\n")
    return ["run", str(f), *RUN[1:]], f"{f}: ", "larger than 1,000,000 bytes"


def _results(tmp, manifest='{"kind": "run"}', summary="replication,cases_arrived\n0,5\n"):
    folder = tmp / "res"
    folder.mkdir()
    (folder / "manifest.json").write_text(manifest)
    if summary is not None:
        (folder / "summary.csv").write_text(summary)
    return folder


# Manifests that are not a streetsim manifest, to figures or report: (case, manifest.json's text,
# the command, the key path the line names, what it says). A kind that is a list or a mapping was
# a TypeError traceback (looked up among the kinds).
for _what, _manifest, _cmd, _key, _text in [
        ("figures: broken manifest.json", '{"kind": "run", ', ["figures"], "", "not a readable manifest"),
        ("figures: manifest of an unknown kind", '["run"]', ["figures"], "", "not a readable manifest"),
        ("figures: manifest.json whose kind is a list", '{"kind": ["run"]}', ["figures"], "kind: ",
         'not a kind streetsim writes: ["run"]'),
        ("report: manifest.json whose kind is a mapping", '{"kind": {"run": 1}}', ["report", "--lang", "en"], "kind: ",
         "not a kind streetsim writes")]:  # fmt: skip
    def _odd_manifest(tmp, manifest=_manifest, cmd=_cmd, key=_key, text=_text):
        folder = _results(tmp, manifest=manifest)
        return [cmd[0], str(folder), *cmd[1:]], f"{folder / 'manifest.json'}: {key}", text

    generated(_what)(_odd_manifest)


# Manifests no streetsim command writes, which every command that reads a results folder's
# manifest took in whole: one nested 200,000 lists deep (the JSON parser's RecursionError was a
# traceback, until results_folder.read_json), and one of 8 GB (a sparse file: it takes no disk;
# it was read into memory, until results_folder.read_own_text held it to
# limits.MAX_RESULTS_FILE_BYTES). `run --out` only says the folder is not a run's result.
def _deep_manifest(path: Path, kind: str) -> None:
    path.write_text(f'{{"kind": "{kind}", "x": ' + "[" * 200_000 + "]" * 200_000 + "}")


def _sparse_manifest(path: Path, kind: str) -> None:
    path.write_text(f'{{"kind": "{kind}", "x": "')
    with open(path, "r+b") as f:
        f.truncate(8 * 2**30)


for _what, _write, _text in [("nested 200,000 deep", _deep_manifest, "nested too deep"),
                             ("sparse, of 8 GB", _sparse_manifest, "larger than 64,000,000 bytes")]:
    for _argv, _kind in [(["figures", "{res}"], "run"), (["report", "{res}", "--no-figures"], "run"),
                         (["sweep-results", "{res}"], "sweep"), (["run", MMC, *RUN[1:], "--out", "{res}"], "run")]:
        def _odd_size_manifest(tmp, argv=_argv, kind=_kind, write=_write, text=_text):
            folder = _results(tmp)
            write(folder / "manifest.json", kind)
            if argv[0] == "run":
                text, where = "not a streetsim run result", "--out: "
            else:
                where = f"{folder / 'manifest.json'}: "
            return [a.replace("{res}", str(folder)) for a in argv], where, text

        generated(f"{_argv[0]}: a manifest {_what}")(_odd_size_manifest)


@generated("figures: empty summary.csv")
def _empty_summary(tmp):
    folder = _results(tmp, summary="")
    return ["figures", str(folder)], f"{folder / 'summary.csv'}: ", "damaged or empty table"


@generated("figures: header-only summary.csv")
def _header_summary(tmp):
    folder = _results(tmp, summary="replication,cases_arrived\n")
    return ["figures", str(folder)], f"{folder / 'summary.csv'}: ", "damaged or empty table"


@generated("figures: truncated cases.parquet")
def _bad_parquet(tmp):
    folder = _results(tmp)
    (folder / "cases.parquet").write_bytes(b"PAR1\x00\x00")
    return ["figures", str(folder)], f"{folder / 'cases.parquet'}: ", "damaged Parquet file"


@generated("figures: no manifest")
def _no_manifest(tmp):
    folder = tmp / "notes"
    folder.mkdir()
    (folder / "todo.txt").write_text("x")
    return ["figures", str(folder)], f"{folder}: ", "not a results folder"


@generated("figures: missing folder")
def _missing_folder(tmp):
    return ["figures", str(tmp / "nowhere")], f"{tmp / 'nowhere'}: ", "folder not found"


@generated("sweep-results: no design")
def _no_design(tmp):
    folder = _results(tmp, manifest='{"kind": "sweep"}', summary=None)
    return ["sweep-results", str(folder)], f"{folder}: ", "no design.parquet"


@generated("sweep-results: a run's folder")
def _not_sweep(tmp):
    folder = _results(tmp)
    return ["sweep-results", str(folder)], f"{folder / 'manifest.json'}: kind: ", "not a sweep's results folder"


@generated("sweep-results: broken manifest")
def _sweep_broken_manifest(tmp):
    folder = _results(tmp, manifest="{", summary=None)
    return ["sweep-results", str(folder)], f"{folder / 'manifest.json'}: ", "not a readable manifest"


@generated("sweep-results: no manifest")
def _sweep_no_manifest(tmp):
    return ["sweep-results", str(tmp)], f"{tmp}: ", "no manifest.json"


@generated("sweep-results: --to a file that is neither .csv nor .parquet")
def _sweep_to_xlsx(tmp):
    return ["sweep-results", str(tmp), "--to", "runs.xlsx"], "--to: ", "name a .csv or .parquet file"


@generated("report: --out a file that is not .pdf")
def _report_out_txt(tmp):
    folder = _results(tmp)
    return ["report", str(folder), "--out", "annex.txt"], "--out: ", "name a .pdf file"


@generated("sweep-results: --to a file that exists, without --force")
def _sweep_to_existing(tmp):
    (tmp / "runs.csv").write_text("mine\n")
    return ["sweep-results", str(tmp / "sweep"), "--to", str(tmp / "runs.csv")], "--to: ", "add --force to replace it"


@generated("sweep-results: --to a link to a device")
def _sweep_to_device(tmp):
    (tmp / "dev.csv").symlink_to("/dev/null")  # writing through it replaced /dev/null itself (as root)
    return ["sweep-results", str(tmp / "sweep"), "--to", str(tmp / "dev.csv")], "--to: ", "not a regular file"


@generated("report: --out a PDF it did not write")
def _report_over_a_pdf(tmp):
    folder = _results(tmp)
    (tmp / "proposal.pdf").write_bytes(b"%PDF-1.7 the user's own")
    return ["report", str(folder), "--out", str(tmp / "proposal.pdf")], "--out: ", "is not a streetsim report"


@generated("a named pipe nobody writes to as the scenario")
def _fifo_scenario(tmp):
    import os

    os.mkfifo(tmp / "pipe.yaml")  # read at once, not waited on: a pipe with a writer is read (test_bad_input.py)
    return ["run", str(tmp / "pipe.yaml"), *RUN[1:]], f"{tmp / 'pipe.yaml'}: ", "is a pipe with nothing written to it"


@generated("a loop of symbolic links as the scenario")
def _symlink_loop_scenario(tmp):
    (tmp / "a.yaml").symlink_to(tmp / "b.yaml")
    (tmp / "b.yaml").symlink_to(tmp / "a.yaml")
    return ["run", str(tmp / "a.yaml"), *RUN[1:]], f"{tmp / 'a.yaml'}: ", "cannot read"


@generated("extends: a loop of symbolic links (said to be 'file not found')")
def _extends_symlink_loop(tmp):
    (tmp / "a.yaml").symlink_to(tmp / "b.yaml")
    (tmp / "b.yaml").symlink_to(tmp / "a.yaml")
    (tmp / "s.yaml").write_text("extends: a.yaml\nname: s\n")
    return (["run", str(tmp / "s.yaml"), *RUN[1:]], f"{tmp / 's.yaml'}: extends: ",
            f"a symbolic link that leads to no file (a loop of links, or a missing file): {tmp / 'a.yaml'}")


@generated("compare: a district file (said to lack street:)")
def _compare_a_district(tmp):
    district = ROOT / "scenarios" / "changning_district.yaml"
    return (["compare", str(district), MMC, "--replications", "2", "--quiet", "--out", str(tmp / "cmp")], f"{district}: streets: ",
            "a district or city file (it has streets:), which `streetsim run` runs")


@generated("a loop of symbolic links as --out")
def _symlink_loop_out(tmp):
    (tmp / "o1").symlink_to(tmp / "o2")
    (tmp / "o2").symlink_to(tmp / "o1")
    return ["run", MMC, *RUN[1:], "--out", str(tmp / "o1")], "--out: ", "loop"


@generated("a role named NA (read back as a missing value)")
def _role_na(tmp):
    f = tmp / "na.yaml"
    f.write_text(f"extends: {MMC}\nname: na\nstaffing: {{NA: {{kind: community_worker, count: 3, calendar: around_the_clock}}}}\n")
    return ["run", str(f), *RUN[1:]], f"{f}: staffing.NA: ", "a name must be a word"


REFORM = str(ROOT / "scenarios" / "reform_2015.yaml")


@generated("demand raised by access past the arrivals limit (it ran out of memory)")
def _demand_past_the_limit(tmp):
    sets = ["behaviour.demand.elasticity=3", "levers.one_stop_acceptance.access_gain=10", "behaviour.demand.max_access=100"]
    return (["run", REFORM, *RUN[1:], *[a for s in sets for a in ("--set", s)]], f"{REFORM}: case_types.",
            "the limit is 5,000,000 a replication")


@generated("a tiny gamma cv (its shape overflowed)")
def _gamma_cv_tiny(tmp):
    return (["run", MMC, *RUN[1:], "--set", "case_types.job.handle={dist: gamma, mean_hours: 1, cv: 1.0e-200}"],
            f"{MMC}: case_types.job.handle: ", "at least 0.001")


@generated("a check that always fails (cases reopened forever)")
def _always_fails(tmp):
    return ["run", MMC, *RUN[1:], "--set", "loop.close.fail_probability=1.0"], f"{MMC}: loop.close.fail_probability: ", "less than 1"


@generated("a check that fails whenever handling is rationed (a case reopened at one instant until memory ran out)")
def _fails_when_rationed(tmp):
    return (["run", MMC, *RUN[1:], "--set", "loop.close.verify_role=servers", "--set", "loop.close.fail_probability=0",
             "--set", "behaviour.rationing.enabled=true", "--set", "behaviour.rationing.extra_fail_probability=1.0"],
            f"{MMC}: behaviour.rationing.extra_fail_probability: ", "plus 1 when handling is rationed: 1, over the limit "
            "of 0.99 (a case would be checked forever")  # fmt: skip


@generated("a check that fails 9,999,999 times in 10 million (minutes for a 3-day street)")
def _fails_nearly_always(tmp):
    return (["run", MMC, *RUN[1:], "--set", "loop.close.verify_role=servers", "--set", "behaviour.rationing.enabled=false",
             "--set", "loop.close.fail_probability=0.9999999"],
            f"{MMC}: loop.close.fail_probability: ", "~10,000,000 times; at most 100 on average")  # fmt: skip


@generated("a check that fails 991 times in 1,000 alone, with rationing's extra (rationing's key was named)")
def _fails_alone(tmp):
    return (["run", MMC, *RUN[1:], "--set", "loop.close.verify_role=servers", "--set", "behaviour.rationing.enabled=true",
             "--set", "loop.close.fail_probability=0.991"], f"{MMC}: loop.close.fail_probability: ", "0.991 plus 0.15")


@generated("calibrate: a district file as the scenario (said to lack street:)")
def _calibrate_a_district(tmp):
    district = ROOT / "scenarios" / "changning_district.yaml"
    return (["calibrate", str(district), str(ROOT / "observed" / "changning_2015.yaml"), "--out", str(tmp / "cal")],
            f"{district}: streets: ", "a district or city file (it has streets:)")


@generated("sweep-results: a manifest without its design")
def _sweep_manifest_no_design(tmp):
    import pandas as pd

    folder = _results(tmp, manifest='{"kind": "sweep", "kpis": "all"}', summary=None)
    pd.DataFrame({"run_id": ["r0"], "point": [0], "replication": [0]}).to_parquet(folder / "design.parquet")
    return ["sweep-results", str(folder)], f"{folder / 'manifest.json'}: design: ", "missing or damaged"


@generated("report: a run's manifest without its facts")
def _report_manifest_bare(tmp):
    """Every table a run writes is there, but the manifest says only its kind."""
    import pandas as pd

    folder = _results(tmp)
    pd.DataFrame({"replication": [0], "day": [0], "open_cases": [1]}).to_parquet(folder / "timeseries.parquet")
    (folder / "roles.csv").write_text("replication,role,available\n0,servers,8\n")
    (folder / "scenario.resolved.yaml").write_text("name: res\n")
    return ["report", str(folder), "--no-figures"], f"{folder / 'manifest.json'}: replications: ", "missing or not a whole"


# A hand-edited scenario_notes (what the annex lists as the run's assumptions): a KeyError or
# TypeError traceback from the annex until report checked it (sim.notes.is_recorded).
for _name, _notes in [("a number", "5"), ("an entry without its file", '[{"header": []}]'),
                      ("an assumption that is not a pair", '[{"file": "s.yaml", "header": [], "assumptions": [["k"]], "sources": []}]')]:
    def _report_odd_notes(tmp, notes=_notes):
        import pandas as pd

        folder = _results(tmp, manifest='{"kind": "run", "replications": 1, "seed": 1, "scenario_names": ["res"], '
                          f'"scenarios": ["s.yaml"], "scenario_notes": {notes}}}')
        pd.DataFrame({"replication": [0], "day": [0], "open_cases": [1]}).to_parquet(folder / "timeseries.parquet")
        (folder / "roles.csv").write_text("replication,role,available\n0,servers,8\n")
        (folder / "scenario.resolved.yaml").write_text("name: res\n")
        return ["report", str(folder), "--no-figures"], f"{folder / 'manifest.json'}: scenario_notes: ", "not a list"

    generated(f"report: scenario_notes that is {_name}")(_report_odd_notes)


_MADE_RUN: list[Path] = []


def _run_folder(tmp: Path) -> Path:
    """A copy of a whole run folder (the M/M/c scenario, one replication), made once a session."""
    if not _MADE_RUN:
        made = Path(tempfile.mkdtemp(prefix="streetsim-corpus-")) / "res"
        atexit.register(shutil.rmtree, made.parent, ignore_errors=True)
        subprocess.run([sys.executable, "-m", "sim.cli", *RUN, MMC, "--no-figures", "--out", str(made)], check=True,
                       capture_output=True, env={**os.environ, "PYTHONPATH": str(ROOT)})  # fmt: skip
        _MADE_RUN.append(made)
    return Path(shutil.copytree(_MADE_RUN[0], tmp / "res"))


# A run's scenario.resolved.yaml that streetsim did not write: `report` read it with PyYAML's
# safe_load, unbounded, and its YAML error, RecursionError or MemoryError was a traceback, until
# results_folder.read_resolved_scenario read it as a user's YAML is read.
def _resolved_not_yaml(path: Path) -> None:
    path.write_text("staffing: [\n")


def _resolved_deep(path: Path) -> None:
    path.write_text("[" * 5000 + "]" * 5000 + "\n")


def _resolved_sparse(path: Path) -> None:
    with open(path, "r+b") as f:
        f.truncate(3 * 2**30)


for _what, _write, _text in [("that is not YAML", _resolved_not_yaml, "invalid YAML: line 2"),
                             ("nested 5,000 deep", _resolved_deep, "nested more than 40 levels deep"),
                             ("sparse, of 3 GB", _resolved_sparse, "larger than 64,000,000 bytes")]:
    def _odd_resolved(tmp, write=_write, text=_text):
        folder = _run_folder(tmp)
        write(folder / "scenario.resolved.yaml")
        return ["report", str(folder), "--no-figures"], f"{folder / 'scenario.resolved.yaml'}: ", text

    generated(f"report: a scenario.resolved.yaml {_what}")(_odd_resolved)


@generated("report: a run folder without its daily table")
def _report_without_timeseries(tmp):
    folder = _results(tmp)
    return ["report", str(folder), "--no-figures"], f"{folder / 'timeseries.parquet'}: ", "missing: a run folder holds it"


@generated("figures: a run folder without its daily table (kpi_bars were drawn before the error)")
def _figures_without_timeseries(tmp):
    folder = _results(tmp)
    return ["figures", str(folder)], f"{folder / 'timeseries.parquet'}: ", "missing: a run folder holds it"


@generated("staggered hours naming a calendar there is not (the access level was computed first)")
def _staggered_unknown_calendar(tmp):
    f = tmp / "st.yaml"
    f.write_text(f"extends: {ROOT / 'scenarios' / 'staggered_hours.yaml'}\nname: st\n"
                 "levers: {staggered_hours: {calendars: [nosuch]}}\n")
    return ["run", str(f), *RUN[1:]], f"{f}: levers.staggered_hours.calendars: ", "unknown calendar 'nosuch'"


def _piped(folder: Path, name: str) -> Path:
    import os

    os.mkfifo(folder / name)  # nobody writes to it: reading it waited forever
    return folder / name


@generated("figures: manifest.json is a named pipe (waited forever)")
def _figures_manifest_pipe(tmp):
    (tmp / "res").mkdir()
    pipe = _piped(tmp / "res", "manifest.json")
    return ["figures", str(tmp / "res")], f"{pipe}: ", "not a readable manifest: not a regular file"


@generated("figures: summary.csv is a named pipe (waited forever)")
def _figures_table_pipe(tmp):
    folder = _results(tmp, summary=None)
    pipe = _piped(folder, "summary.csv")
    return ["figures", str(folder)], f"{pipe}: ", "damaged or empty table: not a regular file"


@generated("figures: cases.parquet is a named pipe (waited forever)")
def _figures_parquet_pipe(tmp):
    folder = _results(tmp)
    pipe = _piped(folder, "cases.parquet")
    return ["figures", str(folder)], f"{pipe}: ", "damaged Parquet file: not a regular file"


@generated("sweep-results: manifest.json is a named pipe (waited forever)")
def _sweep_manifest_pipe(tmp):
    (tmp / "sweep").mkdir()
    pipe = _piped(tmp / "sweep", "manifest.json")
    return ["sweep-results", str(tmp / "sweep")], f"{pipe}: ", "not a readable manifest (not a regular file"


@generated("sweep-results: --to a loop of symbolic links")
def _sweep_to_loop(tmp):
    (tmp / "a.csv").symlink_to(tmp / "b.csv")
    (tmp / "b.csv").symlink_to(tmp / "a.csv")
    return ["sweep-results", str(tmp / "sweep"), "--to", str(tmp / "a.csv")], "--to: ", "loop"


@generated("a role named with a final line break (a regex's $ let it through into KPI names and roles.csv)")
def _role_line_break(tmp):
    f = tmp / "nl.yaml"
    f.write_text(f'extends: {MMC}\nname: nl\nstaffing: {{"servers\\n": {{kind: community_worker, count: 3, calendar: around_the_clock}}}}\n')
    return ["run", str(f), *RUN[1:]], f"{f}: staffing.servers\\n: ", "a name must be a word"


@generated("a role named inf (read back as a number)")
def _role_inf(tmp):
    f = tmp / "inf.yaml"
    f.write_text(f"extends: {MMC}\nname: inf\nstaffing: {{inf: {{kind: community_worker, count: 3, calendar: around_the_clock}}}}\n")
    return ["run", str(f), *RUN[1:]], f"{f}: staffing.inf: ", "a name must be a word"


@generated("a terminal as the scenario (a read that does not wait returned nothing)")
def _terminal_scenario(tmp):
    import os

    _main_end, other_end = os.openpty()
    path = os.ttyname(other_end)
    return ["validate", path], f"{path}: ", "terminal"


def _experiment(tmp, parameter: str, design: str = "{type: lhs, samples: 4}") -> Path:
    f = tmp / "exp.yaml"
    f.write_text(f"experiment: e\nscenario: {MMC}\nreplications: 1\nparameters:\n  case_types.job.handle.mean_hours: "
                 f"{parameter}\ndesign: {design}\n")
    return f


@generated("experiment: a lognormal parameter with mean 0 (a ZeroDivisionError)")
def _exp_lognormal_mean0(tmp):
    f = _experiment(tmp, "{dist: lognormal, mean: 0.0, sd: 1.0}")
    return ["validate", str(f)], f"{f}: parameters.case_types.job.handle.mean_hours: ", "lognormal needs mean > 0"


@generated("experiment: a sampler seed below 0")
def _exp_design_seed(tmp):
    f = _experiment(tmp, "{min: 0.5, max: 1.5}", "{type: lhs, samples: 4, seed: -1}")
    return ["validate", str(f)], f"{f}: design.seed: ", "greater than or equal to 0"


@generated("experiment: morris with a trillion levels (ran out of memory)")
def _exp_morris_levels(tmp):
    f = _experiment(tmp, "{min: 0.5, max: 1.5}", "{type: morris, samples: 2, levels: 1000000000000}")
    return ["validate", str(f)], f"{f}: design.levels: ", "less than or equal to 100"


@generated("experiment: a normal parameter with sd 1e300 (an OverflowError)")
def _exp_huge_sd(tmp):
    f = _experiment(tmp, "{dist: normal, mean: 1.0, sd: 1.0e+300}")
    return ["validate", str(f)], f"{f}: parameters.case_types.job.handle.mean_hours: ", "sd must be within"


ROW = "{{quantity: on_time_resident, value: {value}, sd: {sd}, source: x{extra}}}"
BIG = "less than or equal to 1000000000000000"
# name: (the observed row's value and sd, more of the row, parameter range, method, top-level
# lines; the key path; the message). Values, sds and range bounds past
# limits.MAX_OBSERVED_MAGNITUDE (1e15), either sign, were accepted, and an sd of 1e200 overflowed
# when squared after a wave's runs.
OBSERVED_CASES = {
    "a NaN observed value (accepted; NaN results)": ((".nan", 0.05, ""), None, "{}", "", "observed.0.value", "finite number"),
    "a billion points a wave (ran out of memory)": (None, None, "{points: 1000000000}", "", "method.points",
                                                     "less than or equal to 1000"),
    "a value written as text": (('"0.9"', 0.05, ""), None, "{}", "", "observed.0.value", "valid number"),
    "a value of 1e16": (("1.0e16", 0.05, ""), None, "{}", "", "observed.0.value", BIG),
    "a value of -1e16": (("-1.0e16", 0.05, ""), None, "{}", "", "observed.0.value",
                         "greater than or equal to -1000000000000000"),
    "an sd of 1e200": ((0.9, "1.0e200", ""), None, "{}", "", "observed.0.sd", BIG),
    "a discrepancy sd of 1e16": ((0.9, 0.05, ", discrepancy_sd: 1.0e16"), None, "{}", "", "observed.0.discrepancy_sd", BIG),
    "a range's max of 1e16": (None, "{min: 0.5, max: 1.0e16}", "{}", "", "parameters.case_types.job.handle.mean_hours.max", BIG),
    "a range's min of -1e16": (None, "{min: -1.0e16, max: 1.5}", "{}", "", "parameters.case_types.job.handle.mean_hours.min",
                               "greater than or equal to -1000000000000000"),
    "a discrepancy share of 11 (limits.MAX_DISCREPANCY_SHARE is 10)": (None, None, "{}", "discrepancy_share: 11\n",
                                                                        "discrepancy_share", "less than or equal to 10"),
}


def _observed_file(tmp, row=None, rng=None, method="{}", top="") -> Path:
    """A calibration's observed file: one observed row, one parameter range, its method."""
    value, sd, extra = row or (0.9, 0.05, "")
    f = tmp / "obs.yaml"
    f.write_text(f"calibration: c\n{top}observed:\n  - {ROW.format(value=value, sd=sd, extra=extra)}\n"
                 f"parameters:\n  case_types.job.handle.mean_hours: {rng or '{min: 0.5, max: 1.5}'}\nmethod: {method}\n")
    return f


for _name, (_row, _rng, _method, _top, _where, _what) in OBSERVED_CASES.items():
    def _bad_observed(tmp, row=_row, rng=_rng, method=_method, top=_top, where=_where, what=_what):
        f = _observed_file(tmp, row, rng, method, top)
        return ["validate", str(f)], f"{f}: {where}: ", what

    generated(f"observed file: {_name}")(_bad_observed)


@generated("--set with an empty part between dots (taken as the key without it)")
def _set_double_dot(tmp):
    return ["run", MMC, *RUN[1:], "--set", "horizon..days=3"], f"{MMC}: --set: ", "an empty part between dots"


ALIAS_CHAIN = "a chain of 30,000 aliases (8 s: its key path was copied at every value)"


@generated(ALIAS_CHAIN)  # in HEAVY: ~1 s alone, but ~30 s under tracemalloc on a loaded machine
def _alias_chain(tmp):
    f = tmp / "chain.yaml"
    f.write_text("name: chain\na0: &a0 [1]\n" + "".join(f"a{i}: &a{i} [*a{i - 1}]\n" for i in range(1, 30_000)))
    return ["validate", str(f)], f"{f}: a29993: ", "more than 200,000 values once aliases are expanded"


def _case_types(tmp, types: int, extra: str = "") -> Path:
    """A scenario extending mmc.yaml with ``types`` more case types raised by residents, none arriving."""
    ct = ("{category: service, source: residents, arrivals: {per_hour: 0.0}, roles: [servers], "
          "handle: {mean_hours: 1}, deadline_hours: 8}")  # fmt: skip
    f = tmp / "types.yaml"
    f.write_text(f"extends: {MMC}\nname: types\n{extra}case_types: {{" + ", ".join(f"t{i}: {ct}" for i in range(types)) + "}\n")
    return f


@generated("501 case types (6,500 in 0.9 MB ran 42 s for 2 days; accepted)")
def _many_case_types(tmp):
    f = _case_types(tmp, 500)  # and mmc's own
    return ["validate", str(f)], f"{f}: case_types: ", "at most 500 items"


@generated("resident case types x areas x days past the draws limit (accepted)")
def _request_draws(tmp):
    f = _case_types(tmp, 30, "street: {residents: 100000, residential_areas: 10000, grids: 1}\n"
                             "horizon: {days: 3650, warmup_days: 0}\n")  # fmt: skip
    return ["validate", str(f)], f"{f}: case_types: ", "31 case types raised by residents over 10,000 residential areas"


@generated("a string where the scenario's mapping is expected")
def _top_level_string(tmp):
    f = tmp / "sentence.yaml"
    f.write_text("a planner's note, not a scenario\n")
    return ["validate", str(f)], f"{f}: ", "must be a mapping of keys, got str"


@generated("a negative duration")
def _negative_duration(tmp):
    return (["run", MMC, *RUN[1:], "--set", "case_types.job.handle.mean_hours=-1"],
            f"{MMC}: case_types.job.handle.mean_hours: ", "greater than or equal to 0, got -1")


# run as a user runs them (test_heaviest_cases_as_a_user_runs_them), not in-process
HEAVY = ["alias bomb", "scenario is /dev/zero", "ratio 1/1e-300", "LHS with 10^12 samples", ALIAS_CHAIN,
         "figures: a manifest sparse, of 8 GB"]


def snapshot(folder: Path) -> dict:
    return {str(p.relative_to(folder)): (p.lstat().st_size, p.lstat().st_mtime_ns) for p in folder.rglob("*")}


def run_case(argv, tmp_path, monkeypatch, capsys):
    """main(argv) in an empty working folder; the exit status, stderr, seconds and peak bytes."""
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)  # default --out (results/<name>) would land here
    before = snapshot(tmp_path)
    tracemalloc.start()
    t0 = time.perf_counter()
    try:
        status = main(argv)
    except SystemExit as e:  # argparse
        status = e.code
    seconds = time.perf_counter() - t0
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    err = capsys.readouterr().err
    assert snapshot(tmp_path) == before, "something was written"
    return status, err, seconds, peak


def check_one_line(status, err, prefix, text):
    assert status == 2, err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert "Traceback" not in err
    assert lines[0].startswith("error: " + prefix), lines[0]
    assert text in lines[0], lines[0]
    assert len(lines[0]) < 400, lines[0]


@pytest.mark.parametrize("case", list(CASES))
def test_bad_input_corpus(case, tmp_path, monkeypatch, capsys):
    argv, prefix, text = CASES[case]
    status, err, seconds, peak = run_case(argv, tmp_path, monkeypatch, capsys)
    check_one_line(status, err, prefix, text)
    assert seconds < SECONDS, f"{seconds:.1f} s"
    assert peak < PEAK_BYTES, f"{peak / 1e6:.0f} MB"


@pytest.mark.parametrize("case", [c for c in GENERATED if c not in HEAVY])
def test_generated_bad_input(case, tmp_path, monkeypatch, capsys):
    gen = tmp_path / "inputs"
    gen.mkdir()
    argv, prefix, text = GENERATED[case](gen)
    status, err, seconds, peak = run_case(argv, tmp_path, monkeypatch, capsys)
    check_one_line(status, err, prefix, text)
    assert seconds < SECONDS, f"{seconds:.1f} s"


def test_every_corpus_file_is_used():
    used = {Path(a).name for argv, _p, _t in CASES.values() for a in argv}
    assert {f.name for f in BAD.iterdir()} <= used


ADDRESS_SPACE = 1_500_000_000  # the command imports pandas, Mesa and matplotlib (~0.6 GB of address space)


def _limit_memory():
    resource.setrlimit(resource.RLIMIT_AS, (ADDRESS_SPACE, ADDRESS_SPACE))


def test_heaviest_cases_as_a_user_runs_them(tmp_path):
    """The command itself, under a 1.5 GB address-space limit and a timeout: had any of these
    allocated what it asks for, it would die of MemoryError (a traceback) or time out."""
    procs = {}
    for case in HEAVY:
        work = tmp_path / str(len(procs))
        work.mkdir()
        if case in CASES:
            argv, prefix, text = CASES[case]
        else:  # generated outside the folder the command runs in, which must stay empty
            (inputs := tmp_path / f"inputs{len(procs)}").mkdir()
            argv, prefix, text = GENERATED[case](inputs)
        procs[case] = (subprocess.Popen([sys.executable, "-m", "sim.cli", *argv], cwd=work, stdout=subprocess.PIPE,
                                        stderr=subprocess.PIPE, text=True, preexec_fn=_limit_memory,
                                        env={**os.environ, "PYTHONPATH": str(ROOT)}), work, prefix, text)  # fmt: skip
    for case, (proc, work, prefix, text) in procs.items():
        out, err = proc.communicate(timeout=120)  # 4 interpreters start at once on 2 cores
        check_one_line(proc.returncode, err, prefix, text)
        assert list(work.iterdir()) == [], case


def test_limits_are_stated_in_the_schema():
    from sim import limits
    from sim.scenario import json_schema

    text = json.dumps(json_schema())
    for bound in (limits.MAX_RESIDENTS, limits.MAX_STAFF_PER_ROLE, limits.MAX_HORIZON_DAYS, limits.MAX_RESPONDENTS):
        assert f'"maximum": {bound}' in text
