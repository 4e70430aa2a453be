"""sim.notes: the assumptions and sources a command keeps of every file it read, from the text it
read (its manifest's ``scenario_notes``, which the report's annex lists)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tracemalloc
from collections import Counter
from pathlib import Path

import pytest

from sim import files, notes, safe_yaml
from sim.cli import main

ROOT = Path(__file__).resolve().parents[1]
MMC = str(ROOT / "scenarios" / "validation" / "mmc.yaml")
RUN = ["--replications", "1", "--quiet", "--workers", "1", "--no-figures", "--set", "horizon.days=3",
       "--set", "horizon.warmup_days=1"]
OWN_ASSUMPTION = "assumption: a test's own name"


def _extending_mmc(folder: Path) -> Path:
    child = folder / "child.yaml"
    child.write_text(f"extends: {MMC}\nname: child  # {OWN_ASSUMPTION}\n", encoding="utf-8")
    return child


def _kept(out: Path) -> list[dict]:
    return json.loads((out / "manifest.json").read_text(encoding="utf-8"))["scenario_notes"]


def test_a_run_reads_each_scenario_file_once_and_keeps_the_notes_of_what_it_read(tmp_path, monkeypatch):
    """The notes were taken by reading every file (and the files it extends) a second time after
    the run had read them: an edit in between paired one text's numbers with another's notes."""
    child = _extending_mmc(tmp_path)
    opened, real = Counter(), files.opened

    def counted(path):
        opened[Path(path).resolve()] += 1
        return real(path)

    monkeypatch.setattr(files, "opened", counted)
    assert main(["run", str(child), *RUN, "--out", str(tmp_path / "out")]) == 0
    assert opened[child.resolve()] == 1 and opened[Path(MMC).resolve()] == 1, opened
    kept = _kept(tmp_path / "out")
    assert [k["file"] for k in kept] == [str(child), MMC]
    assert kept[0]["assumptions"] == [["name", OWN_ASSUMPTION]]
    assert kept[1]["header"][0].startswith("The known answer: one M/M/c stage")


def test_a_district_run_reads_and_parses_each_file_once(tmp_path, monkeypatch):
    """`run` read and parsed a district file (and each file it extends) to tell it was one, then
    again to build its streets; the notes parsed each file a third time."""
    child = _extending_mmc(tmp_path)
    town = tmp_path / "town.yaml"
    town.write_text(f"name: town  # {OWN_ASSUMPTION}\nstreets:\n  - {{name: one, scenario: {child.name}}}\n"
                    f"  - {{name: two, scenario: {child.name}}}\n", encoding="utf-8")  # fmt: skip
    opened, parsed = Counter(), []
    real_open, real_parse = files.opened, safe_yaml.parsed

    def counted(path):
        opened[Path(path).resolve()] += 1
        return real_open(path)

    monkeypatch.setattr(files, "opened", counted)
    monkeypatch.setattr(safe_yaml, "parsed", lambda text: (parsed.append(text), real_parse(text))[1])
    assert main(["run", str(town), *RUN, "--out", str(tmp_path / "out")]) == 0
    texts = [f.read_text(encoding="utf-8") for f in (town, child, Path(MMC))]
    assert list(opened.values()) == [1, 1, 1], opened
    assert [parsed.count(t) for t in texts] == [1, 1, 1]  # (--set values are parsed too, alone)
    assert [Path(k["file"]).name for k in _kept(tmp_path / "out")] == ["town.yaml", "child.yaml", "mmc.yaml"]


def test_a_scenario_read_from_a_pipe_keeps_its_notes(tmp_path):
    """A scenario piped in (`streetsim run /dev/stdin`) was named "not read" in the annex: its
    notes were to be read again from the pipe, which had been read to its end."""
    text = _extending_mmc(tmp_path).read_text(encoding="utf-8")
    proc = subprocess.run([sys.executable, "-m", "sim.cli", "run", "/dev/stdin", *RUN, "--out", str(tmp_path / "out")],
                          input=text, capture_output=True, text=True, cwd=tmp_path, timeout=120,
                          env={**os.environ, "PYTHONPATH": str(ROOT)})  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    kept = _kept(tmp_path / "out")
    assert kept[0]["file"] == "/dev/stdin" and kept[0]["assumptions"] == [["name", OWN_ASSUMPTION]], kept[0]
    assert [k["file"] for k in kept[1:]] == [MMC]


def test_a_compare_keeps_each_file_once(tmp_path):
    """Two scenarios extending one file: the file's notes are kept once."""
    first = _extending_mmc(tmp_path)
    second = tmp_path / "second.yaml"
    second.write_text(f"extends: {MMC}\nname: second\n", encoding="utf-8")
    assert main(["compare", str(first), str(second), *RUN[:1], "2", *RUN[2:], "--out", str(tmp_path / "cmp")]) == 0
    assert [k["file"] for k in _kept(tmp_path / "cmp")] == [str(first), MMC, str(second)]


# What the YAML parser reads as text is not keys and comments; a comment after a block of text
# is one. (Lines were matched one by one: a block's or a quoted string's lines were taken for keys
# and comments, and a comment less indented than the block's text was dropped.)
NOT_KEYS_NOR_COMMENTS = {
    "a block of text": ("description: |\n  kkk: x   # assumption: text\n\n  # 001: text too\n"
                        "street:  # 001: a source\n  residents: 5  # assumption: a guess\n",
                        [("street.residents", "assumption: a guess")], [("street", "001: a source")]),
    "a folded block, then a key": ("street:\n  notes: >-\n    a: b # 002\n  grids: 1 # 003: after the block\n",
                                   [], [("street.grids", "003: after the block")]),
    "a quoted string over lines": ('description: "a\n  Note: b\n  # assumption: text"\nstreet:\n  residents: 5\n', [], []),
    "a comment less indented than the block": ("a:\n  description: |\n      text\n    # assumption: kept\n  b: 1\n",
                                               [("a.description", "assumption: kept")], []),
    "tagged, anchored and list blocks": ("a: !!str |\n  # 001: text\nb: &x |\n  # 002: text\nc:\n  - |\n    # 003\n"
                                         "  - 2  # 004: the list's second item\n", [], [("c.1", "004: the list's second item")]),
    "a flow mapping's comment is its line's first key's": ("levers:\n  data_sharing: {enabled: false}  # assumption: none\n",
                                                           [("levers.data_sharing", "assumption: none")], []),
    "a '#' in a quoted value before the comment": ('description: "Road #2"  # 001: survey\nlevers: {a: "#4"}  # assumption: b\n',
                                                   [("levers", "assumption: b")], [("description", "001: survey")]),
    "an anchor's keys are where it is written": ("base: &b\n  speed: 1  # assumption: s\nother: *b\nmore:\n  <<: *b\n",
                                                 [("base.speed", "assumption: s")], []),
    "lines ended by a carriage return": ("a: 1  # 001: x\rb: 2  # assumption: y\r", [("b", "assumption: y")], [("a", "001: x")]),
    "a list item's keys": ("observed:\n  - quantity: a\n    sd: 1  # assumption: one\n  - quantity: b\n"
                           "    sd: 2  # assumption: two\n", [("observed.0.sd", "assumption: one"), ("observed.1.sd", "assumption: two")], []),
}


@pytest.mark.parametrize("case", NOT_KEYS_NOR_COMMENTS)
def test_keys_and_comments_are_where_the_yaml_parser_puts_them(case):
    text, assumptions, sources = NOT_KEYS_NOR_COMMENTS[case]
    n = notes.notes_of("name: x\n" + text)
    assert (n.assumptions, n.sources) == (assumptions, sources)


def test_key_like_lines_in_a_quoted_description_cost_no_memory():
    """A quoted description of 200 lines like keys of 1,000 characters, then 2,000 comment lines:
    each comment was kept with a 'key path' of 200 kB, 400 MB in all (a 1 MB file: ~15 GB)."""
    lines = [" " * (i + 1) + "k" * 1000 + ": x" for i in range(200)] + ["  #assumption"] * 2000
    text = 'name: x\ndescription: "\n' + "\n".join(lines) + '\n  end"\n'
    tracemalloc.start()
    try:
        n = notes.notes_of(text)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert n.assumptions == [] and peak < 20e6, peak


def test_a_manifest_keeps_at_most_its_budget_of_notes_and_says_what_it_cut(tmp_path):
    """Each note is kept with its key path: a file of 100,000 one-word source lines under a long
    key path made 13.6 MB of JSON, and a compare of several such files a manifest past what
    streetsim reads back (limits.MAX_RESULTS_FILE_BYTES). Every file is still named, as the
    manifest's ``scenarios`` names it: ~150 bytes a file past the budget."""
    key = "case_types:\n  " + "t" * 64 + ":\n    arrivals:\n"
    text = "name: x\n" + key + "      #001\n" * 100_000
    read = [(tmp_path / f"s{i}.yaml", text, None) for i in range(3)]
    kept = notes.recorded_from(read)
    size = len(json.dumps({"scenario_notes": kept}, indent=2))  # as sim.runner.write_manifest writes it
    assert 0.99 * notes.NOTES_BYTES < size <= notes.NOTES_BYTES + 200 * len(read), size
    assert [k.get("cut", False) for k in kept] == [False, True, True]
    assert len(kept[0]["sources"]) == 100_000 and notes.is_recorded(kept)


def test_the_annex_says_when_notes_were_cut():
    from sim.labels import word
    from sim.report import annex

    entry = {"file": "s.yaml", "header": [], "assumptions": [["a", "assumption: b"]], "sources": [], "cut": True}
    for lang in ("en", "zh"):
        texts = [b.get("text") for b in annex.assumption_blocks({"scenario_notes": [entry]}, lang)]
        assert word("notes_cut", lang, mb=f"{notes.NOTES_BYTES / 1e6:g}", file="s.yaml") in texts
