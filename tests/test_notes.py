"""sim.notes: the assumptions and sources a command keeps of every file it read, from the text it
read (its manifest's ``scenario_notes``, which the report's annex lists)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

from sim import files, notes
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


def test_lines_in_a_block_of_text_are_neither_keys_nor_comments():
    """A description written as a block (``|``) had its lines read as keys and its '#'s as
    comments: a long line in it became the key path of every note below it."""
    text = ("name: x\ndescription: |\n  kkk: x   # assumption: part of the text\n\n  # 001: text too\n"
            "street:  # 001: a source\n  residents: 5  # assumption: a guess\n  notes: >-\n    a: b # 002\n"
            "  grids: 1 # 003: after the block\n")
    n = notes.notes_of(text)
    assert n.assumptions == [("street.residents", "assumption: a guess")]
    assert n.sources == [("street", "001: a source"), ("street.grids", "003: after the block")]


def test_a_manifest_keeps_at_most_its_budget_of_notes_and_says_what_it_cut(tmp_path):
    """Each note is kept with its key path: a file of 100,000 one-word source lines under a long
    key path made 13.6 MB of JSON, and a compare of several such files a manifest past what
    streetsim reads back (limits.MAX_RESULTS_FILE_BYTES). Every file is still named, as the
    manifest's ``scenarios`` names it: ~150 bytes a file past the budget."""
    key = "case_types:\n  " + "t" * 64 + ":\n    arrivals:\n"
    text = "name: x\n" + key + "      #001\n" * 100_000
    read = [(tmp_path / f"s{i}.yaml", text) for i in range(3)]
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
