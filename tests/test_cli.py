"""The command line itself: what `streetsim validate` reads, and how often."""

import shutil
from pathlib import Path

import pytest

from sim import safe_yaml
from sim.cli import main

SCENARIOS = Path(__file__).parent.parent / "scenarios"


@pytest.fixture
def parses(monkeypatch):
    """The texts safe_yaml parses (safe_yaml.parsed: parse calls it too), in order."""
    seen = []
    real = safe_yaml.parsed
    monkeypatch.setattr(safe_yaml, "parsed", lambda text: (seen.append(text), real(text))[1])
    return seen


def test_validate_parses_a_scenario_file_once(tmp_path, parses, capsys):
    """A 1 MB scenario took 6-8 s to validate: the file, and each file it extends, was read and
    parsed once to see what kind of file it is and again to build the scenario."""
    shutil.copy(SCENARIOS / "reform_2015.yaml", tmp_path)
    child = tmp_path / "child.yaml"
    child.write_text("extends: reform_2015.yaml\nname: child\n")
    assert main(["validate", str(child)]) == 0
    assert capsys.readouterr().out == f"{child}: ok (child)\n"
    assert len(parses) == 2 and parses[0] == child.read_text()  # the file, then the one it extends


def test_validate_reports_a_bad_scenario_in_one_line_having_parsed_it_once(tmp_path, parses, capsys):
    bad = tmp_path / "bad.yaml"
    bad.write_text((SCENARIOS / "validation" / "mmc.yaml").read_text() + "\nhorizon_typo: {days: 5}\n")
    assert main(["validate", str(bad)]) == 2
    err = capsys.readouterr().err
    assert err == f"error: {bad}: horizon_typo: unknown key (check the spelling against `streetsim schema`)\n"
    assert len(parses) == 1


def test_validate_checks_a_design_past_10000_runs_only_with_yes(capsys):
    """As `sweep` does: without --yes the design's size is refused before any point is built (a
    mistyped 40,000-point design took minutes to validate); with --yes every point is checked."""
    exp = Path(__file__).parent / "bad_inputs" / "exp_needs_yes.yaml"  # 2 points x 6,000 replications
    assert main(["validate", str(exp)]) == 2
    assert "design: 12,000 runs (more than 10,000)" in capsys.readouterr().err
    assert main(["validate", "--yes", str(exp)]) == 0
    assert capsys.readouterr().out == f"{exp}: ok (experiment)\n"


def test_validate_writes_a_file_name_with_an_escape_as_text(tmp_path, capsys):
    """A glob such as `scenarios/*` can pick up a file whose name holds ESC or a bidirectional
    override: its `ok` line printed the name raw, so the terminal ran the escape."""
    shutil.copy(SCENARIOS / "validation" / "mmc.yaml", tmp_path / "a\x1b[31mb\u202ec.yaml")
    assert main(["validate", str(tmp_path / "a\x1b[31mb\u202ec.yaml")]) == 0
    assert capsys.readouterr().out == f"{tmp_path}/a\\x1b[31mb\\u202ec.yaml: ok (mmc)\n"


def test_a_command_that_fails_writes_its_line_without_control_characters(monkeypatch, capsys):
    """A failed command's line quotes a run's error or a folder (sim.sweep.run.RunsFailed): it
    reached the terminal raw, where ScenarioError lines were escaped."""
    from sim import cli
    from sim.scenario import CommandFailed

    def fails(args):
        raise CommandFailed("1 of 2 simulation runs failed, e.g. r1: ValueError: area 'a\x1b[31mb'")

    monkeypatch.setattr(cli, "cmd_validate", fails)
    assert main(["validate", "x.yaml"]) == 1
    assert capsys.readouterr().err == "error: 1 of 2 simulation runs failed, e.g. r1: ValueError: area 'a\\x1b[31mb'\n"


def test_an_unknown_argument_is_quoted_without_control_characters(capsys):
    """argparse's "unrecognized arguments" line quotes what was typed (a glob's file names too)."""
    with pytest.raises(SystemExit) as stop:
        main(["validate", "x.yaml", "-a\x1b[31mb\u202ec"])
    assert stop.value.code == 2
    assert capsys.readouterr().err == ("error: streetsim: unrecognized arguments: -a\\x1b[31mb\\u202ec "
                                       "(see streetsim --help)\n")


def test_an_interrupted_command_writes_its_line_without_control_characters(monkeypatch, capsys):
    """Ctrl-C's line names the store the finished runs are in (sim.scenario.Interrupted.keeping)."""
    import signal

    from sim import cli
    from sim.scenario import Interrupted

    def interrupted(args):
        raise Interrupted.keeping("runs/a\x1b[31mb")

    monkeypatch.setattr(cli, "cmd_validate", interrupted)
    monkeypatch.setattr(cli, "_stop_on_sigterm", lambda: [])  # leave the test runner's handlers alone
    assert main(["validate", "x.yaml"]) == 128 + signal.SIGINT
    assert capsys.readouterr().err == ("\ninterrupted (SIGINT); finished runs are stored in runs/a\\x1b[31mb/ — run "
                                       "the same command again to resume\n")
