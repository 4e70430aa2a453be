"""Broken scenario files: one line naming the file and key path, exit 2, no traceback, nothing written."""

import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from sim.cli import main

BAD = Path(__file__).parent / "bad_scenarios"

CORPUS = [
    ("bad_yaml_syntax.yaml", "", "invalid YAML: line 3"),
    ("wrong_type.yaml", "staffing.servers.count", "valid integer"),
    ("negative_staff.yaml", "staffing.servers.count", "greater than 0, got -5"),
    ("zero_staff.yaml", "staffing.servers.count", "greater than 0, got 0"),
    ("ratio_per_zero.yaml", "staffing.party_workers.per", "greater than 0, got 0"),
    ("unknown_key.yaml", "staffing.servers.calender", "unknown key"),
    ("missing_file.yaml", "", "file not found"),
    ("extends_missing.yaml", "extends", "file not found"),
    ("role_without_staff.yaml", "case_types.job.roles", "'police', which has no staff"),
    ("negative_deadline.yaml", "case_types.job.deadline_hours", "greater than or equal to 0, got -8"),
    ("duplicate_role.yaml", "case_types.job.roles", "listed twice"),
    ("empty_name.yaml", "name", "at least 1 character"),
    ("fewer_residents_than_areas.yaml", "street.residents", "fewer residents (3) than residential areas (5)"),
]


@pytest.mark.parametrize("name,key,message", CORPUS, ids=[c[0] for c in CORPUS])
def test_bad_scenario_gives_one_line_and_exit_2_and_writes_nothing(name, key, message, tmp_path, capsys):
    out = tmp_path / "out"
    status = main(["run", str(BAD / name), "--replications", "1", "--out", str(out), "--quiet"])
    err = capsys.readouterr().err.strip()
    assert status == 2
    assert len(err.splitlines()) == 1, err
    prefix = f"error: {BAD / name}: " + (f"{key}: " if key else "")
    assert err.startswith(prefix), err
    assert message in err
    assert list(tmp_path.iterdir()) == []  # not even a temporary folder


CYCLES = {  # files (name: its extends:), the one given, the line (after "error: <folder>/")
    "two files": ({"a": "b", "b": "a"}, "a", "b.yaml: extends: a.yaml makes a cycle (a.yaml → b.yaml → a.yaml)"),
    "a file extending itself": ({"a": "a"}, "a", "a.yaml: extends: a.yaml makes a cycle (a.yaml → a.yaml)"),
    "a cycle below the file given": ({"top": "a", "a": "b", "b": "c", "c": "a"}, "top",
                                     "c.yaml: extends: a.yaml makes a cycle (a.yaml → b.yaml → c.yaml → a.yaml)"),
}  # fmt: skip


@pytest.mark.parametrize("case", list(CYCLES))
def test_an_extends_cycle_names_the_file_that_closes_it_and_the_cycle_once(case, tmp_path, capsys):
    """Before: `a.yaml: extends: cycle: a.yaml -> b.yaml -> a.yaml`, named on a.yaml though b.yaml's
    extends: closes the cycle; below the file given, the chain from it (top.yaml -> a.yaml -> ...)."""
    files, given, line = CYCLES[case]
    for name, parent in files.items():
        (tmp_path / f"{name}.yaml").write_text(f"extends: {parent}.yaml\nname: {name}\n")
    out = tmp_path / "out"
    status = main(["run", str(tmp_path / f"{given}.yaml"), "--out", str(out), "--quiet"])
    assert status == 2
    assert capsys.readouterr().err.strip().splitlines() == [f"error: {tmp_path}/{line}"]
    assert not out.exists()


def test_validate_names_the_file_that_closes_the_shipped_cycle(capsys):
    assert main(["validate", str(BAD / "extends_cycle_a.yaml")]) == 2
    assert capsys.readouterr().err == (f"error: {BAD / 'extends_cycle_b.yaml'}: extends: extends_cycle_a.yaml makes a "
                                       "cycle (extends_cycle_a.yaml → extends_cycle_b.yaml → extends_cycle_a.yaml)\n")


def test_bad_set_override_names_the_key(tmp_path, capsys):
    status = main(["run", "scenarios/validation/mmc.yaml", "--set", "staffing.servers.count=-1",
                   "--out", str(tmp_path / "o"), "--quiet"])
    assert status == 2
    assert "staffing.servers.count: Input should be greater than 0, got -1" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()


def test_validate_reports_every_bad_file_and_passes_good_ones(capsys):
    files = [str(BAD / "zero_staff.yaml"), "scenarios/validation/mmc.yaml", str(BAD / "unknown_key.yaml")]
    assert main(["validate", *files]) == 2
    captured = capsys.readouterr()
    assert len(captured.err.strip().splitlines()) == 2
    assert "mmc.yaml: ok" in captured.out


def test_out_path_under_a_file_is_refused_before_running(tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    status = main(["run", "scenarios/validation/mmc.yaml", "--out", str(blocker / "out"), "--quiet"])
    assert status == 2
    assert "--out: " in capsys.readouterr().err
    assert blocker.read_text() == "x"


def test_command_line_prints_no_traceback(tmp_path):
    proc = subprocess.run(
        [sys.executable, "-m", "sim.cli", "run", str(BAD / "negative_staff.yaml"), "--out", str(tmp_path / "o")],
        capture_output=True, text=True,
    )
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    assert proc.stderr.count("\n") == 1
    assert not (tmp_path / "o").exists()


def _chain(folder: Path, files: int, values_each: int) -> Path:
    """f0 extends f1 extends ... f<files-1>; each holds a list of ``values_each`` numbers."""
    for i in range(files):
        parent = f"extends: f{i + 1}.yaml\n" if i < files - 1 else ""
        (folder / f"f{i}.yaml").write_text(parent + f"x{i}: [" + ",".join(["1"] * values_each) + "]\n")
    return folder / "f0.yaml"


@pytest.mark.parametrize("files,values_each,named,message,limit", [
    (17, 1, "f15.yaml", "f16.yaml would be file 17 of the chain from f0.yaml: ", "a chain of more than 16 files"),
    # 300 kB each: ~5 minutes before; f3 is the one too many, added by f2's extends
    (12, 150_000, "f2.yaml", "f3.yaml makes the chain from f0.yaml 4 files of 1,200,", "the limit is 1,000,000 in all"),
])  # fmt: skip
def test_a_long_or_large_extends_chain_is_refused_in_bounded_time(files, values_each, named, message, limit, tmp_path,
                                                                  capsys):
    """The line names the file whose extends: makes the chain too long or large: the one to edit
    (before: the file it extends, which may be fine and shared)."""
    top = _chain(tmp_path, files, values_each)
    t0 = time.perf_counter()
    assert main(["validate", str(top)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith(f"error: {tmp_path / named}: extends: {message}"), err
    assert limit in err[0]
    assert time.perf_counter() - t0 < 60  # the chain's first megabyte is read: seconds


IP_SHARE = "levers.investment_promotion.share_of_time"
DS_HOURS = "levers.data_sharing.collection_hours_per_worker_per_week_with"


@pytest.mark.parametrize("changes,key,shares", [
    ("staffing:\n  police: {duties: {patrol: 0.9, data_collection: 0.3}}\n",
     "staffing.police.duties", "fixed duties take patrol 0.9 + data_collection 0.3 = 1.2 of a "),
    # the role's own 0.6 is fine: the lever's 0.5 pushed it over, so the lever's key is named
    ("staffing:\n  police: {duties: {patrol: 0.6}}\n"
     "levers:\n  investment_promotion: {enabled: true, roles: [police], share_of_time: 0.5}\n",
     IP_SHARE, "fixed duties of police take patrol 0.6 + investment_promotion 0.5 = 1.1 of a "),
    # two levers together (data collection: 34 of the office's 42.5 hours a week = 0.8)
    ("staffing:\n  police: {duties: {patrol: 0.1}}\n"
     "levers:\n  investment_promotion: {enabled: true, roles: [police], share_of_time: 0.3}\n"
     "  data_sharing: {roles: [police], collection_hours_per_worker_per_week_with: 34}\n",
     f"{IP_SHARE}, {DS_HOURS}", "fixed duties of police take patrol 0.1 + investment_promotion 0.3 + "
     "data_collection 0.8 = 1.2 of a "),
])  # fmt: skip
def test_duties_over_a_whole_working_day_name_the_key_to_change(changes, key, shares, tmp_path, capsys):
    """Before: accepted; the staff then spent each day and the next on duties, never on cases.
    Then: refused, but always naming staffing.<role>.duties, even when a lever had pushed it over."""
    f = tmp_path / "duties.yaml"
    f.write_text(f"extends: {Path('scenarios/reform_2015.yaml').resolve()}\nname: duties\n{changes}")
    assert main(["validate", str(f)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith(f"error: {f}: {key}: {shares}"), err


ROOT = Path(__file__).resolve().parents[1]


def _streetsim(args, stdin_text, cwd):
    """The command as a user runs it, its standard input a real pipe holding ``stdin_text``."""
    return subprocess.run([sys.executable, "-m", "sim.cli", *args], input=stdin_text, capture_output=True, text=True,
                          cwd=cwd, env={**os.environ, "PYTHONPATH": str(ROOT)}, timeout=120)  # fmt: skip


def test_a_scenario_piped_to_standard_input_is_read_once_and_checked(tmp_path):
    """Before: `cat f | streetsim validate /dev/stdin` was refused ("is a named pipe or socket").
    Validate reads a file twice (what kind it is, then the scenario): a pipe is read once and kept.
    A relative extends: from standard input starts in the working folder (not /dev)."""
    piped = "extends: scenarios/validation/mmc.yaml\nname: piped\n"
    proc = _streetsim(["validate", "/dev/stdin"], piped, ROOT)
    assert (proc.returncode, proc.stdout, proc.stderr) == (0, "/dev/stdin: ok (piped)\n", "")
    out = tmp_path / "out"
    proc = _streetsim(["run", "/dev/stdin", "-r", "1", "--set", "horizon={days: 3}", "--out", str(out), "--quiet",
                       "--no-figures"], piped, ROOT)  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert "horizon:\n  days: 3" in (out / "scenario.resolved.yaml").read_text()


@pytest.mark.parametrize("stdin_text,message", [
    ("#" * 1_000_001, "larger than 1,000,000 bytes"),  # size-limited as a file is
    ("", "is a pipe with nothing written to it"),  # a writer that failed: not an empty scenario
    ("name: [\n", "invalid YAML"),
])  # fmt: skip
def test_a_bad_scenario_on_a_pipe_is_one_line(stdin_text, message, tmp_path):
    proc = _streetsim(["validate", "/dev/stdin"], stdin_text, tmp_path)
    assert proc.returncode == 2 and proc.stdout == "", proc.stderr
    assert proc.stderr.startswith("error: /dev/stdin: ") and proc.stderr.count("\n") == 1 and message in proc.stderr
    assert list(tmp_path.iterdir()) == []


def _writer(fifo: Path, text: str | None, opened: threading.Event) -> threading.Thread:
    """A named pipe's writer, connected when this returns: pauses, writes ``text`` and closes it;
    ``text`` None: writes nothing and holds it open until ``opened`` is cleared.

    It opens the pipe read-write, which (on Linux) does not wait for a reader, and the reader is
    started only once it has: a writer still starting when the reader looks is a pipe with no
    writer, which the reader rightly refuses at once (under load, the thread's start came late)."""

    def write():
        with os.fdopen(os.open(fifo, os.O_RDWR), "w") as f:
            opened.set()
            if text is None:
                while opened.is_set():
                    time.sleep(0.05)
                return
            time.sleep(0.5)  # the reader is already waiting: it must wait for the text, not take "nothing"
            f.write(text)

    thread = threading.Thread(target=write, daemon=True)
    thread.start()
    assert opened.wait(10)
    return thread


def test_a_named_pipe_is_read_when_its_writer_writes(tmp_path, capsys):
    fifo = tmp_path / "scenario.yaml"
    os.mkfifo(fifo)
    opened = threading.Event()
    writer = _writer(fifo, f"extends: {ROOT / 'scenarios/validation/mmc.yaml'}\nname: from_a_fifo\n", opened)
    assert main(["validate", str(fifo)]) == 0
    assert capsys.readouterr().out == f"{fifo}: ok (from_a_fifo)\n"
    writer.join(5)


def test_a_named_pipe_whose_writer_never_finishes_is_one_line_within_the_bound(tmp_path, capsys, monkeypatch):
    from sim import limits

    monkeypatch.setattr(limits, "PIPE_SECONDS", 1)
    fifo = tmp_path / "scenario.yaml"
    os.mkfifo(fifo)
    opened = threading.Event()
    writer = _writer(fifo, None, opened)
    t0 = time.perf_counter()
    try:
        assert main(["validate", str(fifo)]) == 2
    finally:
        opened.clear()
        writer.join(5)
    assert time.perf_counter() - t0 < 3
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [f"error: {fifo}: is a pipe that did not end within 1 s (its writer neither finished nor closed it)"]


MMC = "scenarios/validation/mmc.yaml"
BOUNDED = [  # (key, its bound in sim.limits): times no run outlasts, hours no day or week holds, costs past any budget
    ("behaviour.hiring.delay_days", "MAX_HORIZON_DAYS"),
    ("case_types.job.handle.mean_hours", "MAX_DURATION_HOURS"),
    ("case_types.job.deadline_hours", "MAX_DURATION_HOURS"),
    ("loop.discovery.patrol_pass_hours", "MAX_DURATION_HOURS"),
    ("loop.dispatch.district_transfer_hours", "MAX_DURATION_HOURS"),
    ("loop.departments.lag_hours", "MAX_DURATION_HOURS"),
    ("loop.hotline.deadline_hours", "MAX_DURATION_HOURS"),
    ("levers.sections.handoff_hours", "MAX_DURATION_HOURS"),
    ("behaviour.overload_window_hours", "MAX_DURATION_HOURS"),
    ("behaviour.overtime.max_hours_per_day", "MAX_OVERTIME_HOURS_PER_DAY"),
    ("levers.data_sharing.collection_hours_per_worker_per_week_without", "MAX_HOURS_PER_WEEK"),
    ("staffing.servers.cost_per_year", "MAX_COST_PER_YEAR"),
    ("levers.purchased_services.cost_per_year", "MAX_COST_PER_YEAR"),
]


@pytest.mark.parametrize("key,limit", BOUNDED, ids=[k for k, _ in BOUNDED])
def test_a_time_or_cost_past_its_bound_is_refused_and_the_bound_itself_accepted(key, limit, tmp_path, capsys):
    """Before: accepted without any upper bound (1e300 hours of handling, a hiring delay of 1e300
    days, a post costing 1e308 yuan: cases never ended, posts never refilled, staff cost inf)."""
    from sim import limits, scenario

    bound = float(getattr(limits, limit))
    assert scenario.load(MMC, [f"{key}={bound:.17e}"])  # the largest value allowed is still a scenario
    for over in (bound + 1, 1.0e300):
        out = tmp_path / "out"
        sets = ["--set", "horizon={days: 2}", "--set", f"{key}={over:.17e}"]  # 2 days: quick where it is accepted
        assert main(["run", MMC, *sets, "--out", str(out), "--quiet", "--no-figures"]) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and err[0].startswith(f"error: {MMC}: {key}: Input should be less than or equal to "), err
        assert not out.exists()


MMC_PATH = str(ROOT / MMC)  # for tests that run in another working folder
EMPTY = [  # (the command, {f} for the empty file; what the line says a file of that kind starts with)
    (["validate", "{f}"], "a scenario file starts with `name: <name>`"),
    (["run", "{f}", "-r", "1", "--quiet"], "a scenario file starts with `name: <name>`"),  # or a district file
    (["sweep", "{f}", "--quiet"], "an experiment file starts with `experiment: <name>`"),
    (["calibrate", MMC_PATH, "{f}"], "an observed file starts with `calibration: <name>`"),
    (["staff", MMC_PATH, "--targets", "{f}"], "a targets file has targets, roles, case_types"),
]


@pytest.mark.parametrize("text", ["", "# to do\n\n   \n"], ids=["no bytes", "only comments"])
@pytest.mark.parametrize("argv,starts", EMPTY, ids=[argv[0] for argv, _ in EMPTY])
def test_an_empty_file_of_any_kind_says_it_is_empty(argv, starts, text, tmp_path, capsys, monkeypatch):
    """Before (e7c9a55): a scenario's `name: Field required`, an experiment's or observed file's
    `missing: ...` top key, a targets file's `targets: no targets given`."""
    f = tmp_path / "empty.yaml"
    f.write_text(text)
    monkeypatch.chdir(tmp_path)
    assert main([a.replace("{f}", str(f)) for a in argv]) == 2
    assert capsys.readouterr().err == f"error: {f}: is empty; {starts}\n"
    assert list(tmp_path.iterdir()) == [f]


def test_extending_an_empty_file_is_refused_on_the_extends(tmp_path, capsys):
    """Before (e7c9a55): accepted, the empty file taken for a scenario with no keys."""
    (tmp_path / "base.yaml").write_text("")
    child = tmp_path / "child.yaml"
    child.write_text("extends: base.yaml\n" + Path(MMC_PATH).read_text())  # a whole scenario: it validated alone
    assert main(["validate", str(child)]) == 2
    assert capsys.readouterr().err == f"error: {child}: extends: base.yaml: is empty; a scenario file starts with `name: <name>`\n"


def test_a_number_in_exponent_form_is_read_as_a_number_in_a_file_and_in_set(tmp_path, capsys):
    """Before (e7c9a55): YAML 1.1 read 1e5 as text, `street.residents: Input should be a valid
    integer, got '1e5'`. A whole number without a point is that integer; 1.5e5 is a float, refused
    by a count as 150000.0 is; 1e300 is refused by the limit on residents, in one line."""
    from sim import scenario

    f = tmp_path / "exponent.yaml"
    f.write_text(f"extends: {MMC_PATH}\nstreet: {{residents: 1e5}}\ncase_types:\n  job: {{handle: {{mean_hours: 5e-1}}}}\n")
    for s in (scenario.load(f), scenario.load(MMC, ["street.residents=1e5", "case_types.job.handle.mean_hours=5e-1"])):
        assert (s.street.residents, s.case_types["job"].handle.mean_hours) == (100_000, 0.5)
    for value, says in [
        ("1.5e5", "Input should be a valid integer, got 150000.0 (a whole number is written without a decimal point: 150000)"),
        ("1e300", "Input should be less than or equal to 2000000, got 1e+300"),
    ]:  # fmt: skip
        f.write_text(f"extends: {MMC_PATH}\nstreet: {{residents: {value}}}\n")
        assert main(["validate", str(f)]) == 2
        assert capsys.readouterr().err == f"error: {f}: street.residents: {says}\n"
        out = tmp_path / "out"
        assert main(["run", MMC, "--set", f"street.residents={value}", "--out", str(out), "--quiet"]) == 2
        assert capsys.readouterr().err == f"error: {MMC}: street.residents: {says}\n"
        assert not out.exists()
