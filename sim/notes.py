"""The assumptions and sources written as comments in scenario files.

Scenario files mark every number that has no source with ``# assumption: ...`` and cite the
others with a source id (``# 001: 782,000 residents / 10``, ``# 12345: ...``, ``# CJ/T 315 ...``).
YAML loaders drop comments, so they are read here line by line, each with the key path it
stands beside. A run, compare or district takes them from the text of every file it read (the
scenario files, the files they extend, a district's street scenario files) and keeps them in its
manifest (:func:`recorded_from`), so the report's annex lists them as they were run, built from
any folder, even if a file was edited or moved since.

A folder made before manifests kept the notes has its files read again (:func:`recorded`,
following ``extends:``), each only if it is a regular file of at most MAX_SOURCE_BYTES: a named
pipe there waited for a writer forever, and a device (/dev/zero) never ended. Such a file is
named as not read (``read_notes`` gives None) instead.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from sim import files, limits

MAX_SOURCE_BYTES = limits.MAX_FILE_BYTES  # a scenario file's own limit: 1 MB

KEY_LINE = re.compile(r"^(?P<indent>\s*)(?:-\s+)?(?P<key>[^\s#:][^#:]*?):(?:\s|$)")
BLOCK_START = re.compile(r"\s*[|>][-+0-9]*\s*(?:#.*)?$")  # what follows ``key:`` when a block of text starts
NOTES_BYTES = 16_000_000
"""What one manifest keeps of all its files' notes, as JSON. A shipped file's are ~5-20 kB; a file
of a megabyte of comment lines, each kept with its key path, came to megabytes (and an unbounded
number of files in a compare to any size), past what a results folder's reader takes
(limits.MAX_RESULTS_FILE_BYTES). Notes past it are cut, and the annex says so."""
COMMENT = re.compile(r"(?:^|\s)#\s?(?P<text>.*)$")
ASSUMPTION = re.compile(r"\bassumption\b:?\s*", re.IGNORECASE)
SOURCE = re.compile(r"^(?:\d{3}(?:\s*,\s*\d{3})*|12345|CJ/T\s*315|domain\.md|seeds/)\b", re.IGNORECASE)


@dataclass
class Notes:
    header: list[str] = field(default_factory=list)  # comment lines before the first key
    assumptions: list[tuple[str, str]] = field(default_factory=list)  # (key path, text)
    sources: list[tuple[str, str]] = field(default_factory=list)


def read_text(path: str | Path) -> str | None:
    """The text of a regular file of at most MAX_SOURCE_BYTES; None for anything else (a pipe,
    a device, a larger file, one that cannot be opened): sim.files opens it without waiting, so
    that a named pipe nobody writes to is found out rather than waited on."""
    try:
        data = files.read_regular(path, MAX_SOURCE_BYTES, "scenario files")
    except (OSError, files.TooLarge):
        return None
    return data.decode("utf-8", errors="replace")


def read_notes(path: str | Path) -> Notes | None:
    """The file's notes; None if it was not read (``read_text``)."""
    text = read_text(path)
    return None if text is None else notes_of(text)


def notes_of(text: str) -> Notes:
    """The notes of a scenario file's text. Lines inside a block of text (``description: |``)
    are text, not keys or comments."""
    notes = Notes()
    stack: list[tuple[int, str]] = []  # (indent, key) of the keys enclosing the current line
    seen_key = False
    block_over = None  # inside a block of text: the indent its lines are deeper than
    for line in text.splitlines():
        indent = len(line) - len(line.lstrip())
        if block_over is not None:
            if not line.strip() or indent > block_over:
                continue
            block_over = None
        key = KEY_LINE.match(line)
        if key:
            indent = len(key["indent"])
            while stack and stack[-1][0] >= indent:
                stack.pop()
            stack.append((indent, key["key"].strip()))
            seen_key = True
            if BLOCK_START.match(line, key.end()):
                block_over = key.start("key")
        comment = COMMENT.search(_without_strings(line))
        if not comment:
            continue
        text = line[comment.start("text"):].strip()  # as written: quotes inside the comment are kept
        where = ".".join(k for _, k in stack)  # the key on this line, or the one above a comment line
        if not text:
            continue
        if not seen_key:
            notes.header.append(text)
        elif ASSUMPTION.search(text):
            notes.assumptions.append((where, text))
        elif SOURCE.match(text):
            notes.sources.append((where, text))
    return notes


def _without_strings(line: str) -> str:
    """Blank out quoted strings so a '#' inside a description is not taken for a comment."""
    return re.sub(r'"[^"]*"|\'[^\']*\'', lambda m: " " * len(m.group()), line)


def recorded_from(read: list[tuple[Path, str]]) -> list[dict]:
    """What a manifest keeps of each file a command read (``read`` as sim.scenario.load_raw fills
    it: each scenario, district or street file and each file it extends, with its text as read),
    each once: its name and its notes, within NOTES_BYTES. Taken from the text the command ran,
    not read again, so a file edited meanwhile cannot pair one text's numbers with another's
    notes, and a scenario read from a pipe has its notes too."""
    kept, seen, budget = [], set(), [NOTES_BYTES]
    for path, text in read:
        key = _same_file(path)
        if key not in seen:
            seen.add(key)
            kept.append(_entry(path, notes_of(text), budget))
    return kept


def _same_file(path: Path):
    try:
        return path.resolve()
    except (OSError, RuntimeError):  # a loop of symbolic links: its text was read all the same
        return path


def recorded(paths: list[str | Path]) -> list[dict]:
    """:func:`recorded_from` for a results folder made before manifests kept the notes: each
    scenario file (and each file it extends) read as it is now, or why it was not read
    (``not_read``: ``missing``, or ``not_regular`` for a pipe, a device or a file over 1 MB)."""
    kept, budget = [], [NOTES_BYTES]
    for path in scenario_files(paths):
        notes = read_notes(path)
        if notes is None:
            kept.append({"file": str(path), "not_read": "not_regular" if path.exists() else "missing"})
        else:
            kept.append(_entry(path, notes, budget))
    return kept


def _entry(path: Path, notes: Notes, budget: list[int]) -> dict:
    """A file's notes as a manifest keeps them, each item counted against what is left of the
    manifest's ``budget`` (its JSON size); ``cut`` if some did not fit."""
    entry = {"file": str(path), "header": [], "assumptions": [], "sources": []}
    budget[0] -= len(json.dumps(entry)) + 60  # the entry's own keys, line breaks and indents
    items = [("header", t) for t in notes.header] + [("assumptions", list(a)) for a in notes.assumptions] + [
        ("sources", list(s)) for s in notes.sources]  # fmt: skip
    for name, item in items:
        budget[0] -= len(json.dumps(item)) + 40  # the line breaks and indents a manifest adds (indent=2)
        if budget[0] < 0:
            entry["cut"] = True
            break
        entry[name].append(item)
    return entry


def is_recorded(value) -> bool:
    """``value`` is as :func:`recorded` writes it (a manifest may have been edited by hand)."""
    def texts(v):
        return isinstance(v, list) and all(isinstance(t, str) for t in v)

    def pairs(v):
        return isinstance(v, list) and all(isinstance(p, list) and len(p) == 2 and texts(p) for p in v)

    return isinstance(value, list) and all(
        isinstance(e, dict) and isinstance(e.get("file"), str)
        and (e.get("not_read") in ("missing", "not_regular")
             or (texts(e.get("header")) and pairs(e.get("assumptions")) and pairs(e.get("sources"))
                 and isinstance(e.get("cut", False), bool)))
        for e in value)  # fmt: skip


def scenario_files(paths: list[str | Path]) -> list[Path]:
    """The scenario files ``paths`` and the files they extend, each once."""
    files: list[Path] = []
    todo = [Path(p) for p in paths]
    while todo:
        path = todo.pop(0)
        if path in files:
            continue
        files.append(path)
        if path.is_file():  # a pipe (a run read from /dev/stdin) is not read again here
            parent = _extends(path)
            if parent is not None:
                todo.insert(0, parent)
    return files


def _extends(path: Path) -> Path | None:
    text = read_text(path)
    if text is None:
        return None
    try:
        raw = yaml.safe_load(text)
    except (yaml.YAMLError, RecursionError):
        return None
    if isinstance(raw, dict) and isinstance(raw.get("extends"), str):
        return Path(_relative(path.parent / raw["extends"]))
    return None


def _relative(p: Path) -> Path:
    p = p.resolve()
    try:
        return p.relative_to(Path.cwd())
    except ValueError:
        return p
