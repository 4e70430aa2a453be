"""The assumptions and sources written as comments in scenario files.

Scenario files mark every number that has no source with ``# assumption: ...`` and cite the
others with a source id (``# 001: 782,000 residents / 10``, ``# 12345: ...``, ``# CJ/T 315 ...``).
YAML loaders drop comments, so they are found here in the text, each with the key path it stands
beside: where the keys are, and which '#'s are inside a value's text, the YAML parser says (its
nodes' places in the text). A run, compare or district takes them from the text of every file it read (the
scenario files, the files they extend, a district's street scenario files) and keeps them in its
manifest (:func:`recorded_from`), so the report's annex lists them as they were run, built from
any folder, even if a file was edited or moved since.

A folder made before manifests kept the notes has its files read again (:func:`recorded`,
following ``extends:``), each only if it is a regular file of at most MAX_SOURCE_BYTES: a named
pipe there waited for a writer forever, and a device (/dev/zero) never ended. Such a file is
named as not read (``read_text`` gives None) instead.
"""

from __future__ import annotations

import bisect
import json
import re
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from sim import files, limits, safe_yaml

MAX_SOURCE_BYTES = limits.MAX_FILE_BYTES  # a scenario file's own limit: 1 MB

NOTES_BYTES = 16_000_000
"""What one manifest keeps of all its files' notes, as JSON. A shipped file's are ~5-20 kB; a file
of a megabyte of comment lines, each kept with its key path, came to megabytes (and an unbounded
number of files in a compare to any size), past what a results folder's reader takes
(limits.MAX_RESULTS_FILE_BYTES). Notes past it are cut, and the annex says so."""
COMMENT_MARK = re.compile(r"(?:^|(?<=\s))#", re.MULTILINE)  # a '#' at a line's start or after a space
LINE_REST = re.compile(r"[^\n\r\x85\u2028\u2029]*")  # to the end of the line, at any break YAML knows
KEY_CHARS = 100  # a key longer than this is shown cut in a key path (a scenario's are names of at most 64)
ASSUMPTION = re.compile(r"\bassumption\b:?\s*", re.IGNORECASE)
SOURCE = re.compile(r"^(?:\d{3}(?:\s*,\s*\d{3})*|12345|CJ/T\s*315|domain\.md|seeds/)\b", re.IGNORECASE)


@dataclass
class Notes:
    header: list[str] = field(default_factory=list)  # comment lines before the first key
    assumptions: list[tuple[str, str]] = field(default_factory=list)  # (key path, text)
    sources: list[tuple[str, str]] = field(default_factory=list)
    cut: bool = False  # some were left out: the budget they were read with ran out


def read_text(path: str | Path) -> str | None:
    """The text of a regular file of at most MAX_SOURCE_BYTES; None for anything else (a pipe,
    a device, a larger file, one that cannot be opened): sim.files opens it without waiting, so
    that a named pipe nobody writes to is found out rather than waited on."""
    try:
        data = files.read_regular(path, MAX_SOURCE_BYTES, "scenario files")
    except (OSError, files.TooLarge):
        return None
    return data.decode("utf-8", errors="replace")


def notes_of(text: str, budget: list[int] | None = None, root: yaml.Node | None = None) -> Notes:
    """The notes of a scenario file's text: its comments, each with the key path of the last key
    before it. Where the keys, and text that merely holds a '#', are comes from the YAML parser
    (sim.safe_yaml, with its limits), so a block of text (``description: |``) or a quoted string
    over several lines is text, not keys and comments. ``budget`` (JSON bytes, as a manifest
    writes them) is spent as notes are kept; past it they are left out (``cut``). ``root``: the
    text's nodes, if the caller has parsed it (sim.safe_yaml.parsed); text that is not YAML
    streetsim reads has no notes."""
    notes = Notes()
    if root is None:
        try:
            root = safe_yaml.parsed(text)[1]  # None for comments only: every comment is the header
        except safe_yaml.YamlError:
            return notes
    names, anchors, texts = _keys_and_texts(root)
    starts = [a[0] for a in anchors]
    text_starts = [t[0] for t in texts]
    paths: dict[int, str] = {}  # made only for keys a note stands beside
    taken_to = -1  # the end of the last comment: a '#' in a comment is part of it
    for mark in COMMENT_MARK.finditer(text):
        at = mark.start()
        inside = bisect.bisect_right(text_starts, at) - 1
        if at < taken_to or (inside >= 0 and at < texts[inside][1]):
            continue  # a '#' in a comment, or in a key's or a value's text
        rest = LINE_REST.match(text, at + 1)
        taken_to = rest.end()
        said = rest.group().strip()
        if not said:
            continue
        anchor = bisect.bisect_left(starts, at) - 1  # the last line's first key before the comment
        if anchor < 0:
            kind, item = "header", said
        else:
            kind = "assumptions" if ASSUMPTION.search(said) else "sources" if SOURCE.match(said) else None
            if kind is None:
                continue
            item = (_path(names, anchors[anchor][1], paths), said)
        if budget is not None:
            budget[0] -= len(json.dumps(item)) + 40  # the line breaks and indents a manifest adds (indent=2)
            if budget[0] < 0:
                notes.cut = True
                break
        getattr(notes, kind).append(item)
    return notes


def _keys_and_texts(root):
    """The document's key names, each as (name, its parent's number or -1), a list's items by
    their index (``observed.3.sd``, as errors name them); the keys a comment can stand beside,
    as (where it starts in the text, its number), the first key of each line only (``levers:
    {enabled: false}  # why`` is about ``levers``), in the text's order; and every scalar's
    (start, end) in the text, in order. Each node is visited once: an alias's keys are where its
    anchor is."""
    names: list[tuple[str, int]] = []
    firsts: dict[int, tuple[int, int]] = {}  # line -> (start, number) of its first key
    texts, seen = [], set()
    stack = [(root, -1)]
    while stack:
        node, parent = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        if isinstance(node, yaml.ScalarNode):
            texts.append((node.start_mark.index, node.end_mark.index))
        elif isinstance(node, yaml.MappingNode):
            for key, value in reversed(node.value):  # popped in the text's order: an anchor before its aliases
                name = str(key.value) if isinstance(key, yaml.ScalarNode) else "<complex key>"
                names.append((name if len(name) <= KEY_CHARS else name[:KEY_CHARS] + "…", parent))
                _first_on_its_line(firsts, key, len(names) - 1)
                stack += [(value, len(names) - 1), (key, parent)]
        elif isinstance(node, yaml.SequenceNode):
            for i in reversed(range(len(node.value))):
                names.append((str(i), parent))
                if isinstance(node.value[i], yaml.ScalarNode):  # `- 2  # why`: about item i
                    _first_on_its_line(firsts, node.value[i], len(names) - 1)
                stack.append((node.value[i], len(names) - 1))
    texts.sort()
    return names, sorted(firsts.values()), texts


def _first_on_its_line(firsts: dict[int, tuple[int, int]], node, number: int) -> None:
    mark = node.start_mark
    if mark.index < firsts.get(mark.line, (mark.index + 1,))[0]:
        firsts[mark.line] = (mark.index, number)


def _path(names: list[tuple[str, int]], key: int, paths: dict[int, str]) -> str:
    if key not in paths:
        name, parent = names[key]
        paths[key] = name if parent < 0 else f"{_path(names, parent, paths)}.{name}"
    return paths[key]


def recorded_from(read: list[tuple[Path, str, yaml.Node | None]]) -> list[dict]:
    """What a manifest keeps of each file a command read (``read`` as sim.scenario.load_raw fills
    it: each scenario, district or street file and each file it extends, with its text as read
    and the YAML nodes parsed from it),
    each once: its name and its notes, within NOTES_BYTES. Taken from the text the command ran,
    not read again, so a file edited meanwhile cannot pair one text's numbers with another's
    notes, and a scenario read from a pipe has its notes too."""
    kept, seen, budget = [], set(), [NOTES_BYTES]
    for path, text, root in read:
        key = _same_file(path)
        if key not in seen:
            seen.add(key)
            kept.append(_entry(path, text, budget, root))
    return kept


def _same_file(path: Path):
    try:
        return path.resolve()
    except (OSError, RuntimeError):  # a loop of symbolic links: its text was read all the same
        return path


def recorded(paths: list[str | Path]) -> list[dict]:
    """:func:`recorded_from` for a results folder made before manifests kept the notes: each
    scenario file (and each file it extends) read as it is now, or why it was not read
    (``not_read``: ``missing``, ``not_regular`` for a pipe, a device or a file over 1 MB, or
    ``not_scenario`` for a file edited since into text that is no scenario: not YAML, or YAML
    whose top is not a mapping of keys, such as a line of prose; listing no notes for it would say
    it has none)."""
    kept, budget = [], [NOTES_BYTES]
    for path in scenario_files(paths):
        text = read_text(path)
        if text is None:
            kept.append({"file": str(path), "not_read": "not_regular" if path.exists() else "missing"})
            continue
        try:
            root = safe_yaml.parsed(text)[1]
        except safe_yaml.YamlError:
            root = False
        if root is False or (root is not None and not isinstance(root, yaml.MappingNode)):  # None: comments only
            kept.append({"file": str(path), "not_read": "not_scenario"})
            continue
        kept.append(_entry(path, text, budget, root))
    return kept


def _entry(path: Path, text: str, budget: list[int], root: yaml.Node | None = None) -> dict:
    """A file's notes as a manifest keeps them, counted against what is left of the manifest's
    ``budget`` (its JSON size); ``cut`` if some did not fit."""
    budget[0] -= len(json.dumps(str(path))) + 120  # the entry's keys, lists, line breaks and indents
    notes = notes_of(text, budget, root)
    entry = {"file": str(path), "header": notes.header, "assumptions": [list(a) for a in notes.assumptions],
             "sources": [list(s) for s in notes.sources]}  # fmt: skip
    if notes.cut:
        entry["cut"] = True
    return entry


def is_recorded(value) -> bool:
    """``value`` is as :func:`recorded_from` (or :func:`recorded`) makes it (a manifest may have
    been edited by hand)."""
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
    found: list[Path] = []
    todo = [Path(p) for p in paths]
    while todo:
        path = todo.pop(0)
        if path in found:
            continue
        found.append(path)
        if path.is_file():  # a pipe (a run read from /dev/stdin) is not read again here
            parent = _extends(path)
            if parent is not None:
                todo.insert(0, parent)
    return found


def _extends(path: Path) -> Path | None:
    text = read_text(path)
    if text is None:
        return None
    try:
        raw = safe_yaml.parse(text)
    except safe_yaml.YamlError:
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
