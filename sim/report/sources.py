"""The assumptions and sources written as comments in scenario files.

Scenario files mark every number that has no source with ``# assumption: ...`` and cite the
others with a source id (``# 001: 782,000 residents / 10``, ``# 12345: ...``, ``# CJ/T 315 ...``).
YAML loaders drop comments, so they are read here line by line, each with the key path it
stands beside; files named by ``extends:`` are followed.

A file named in a manifest is read only if it is a regular file of at most MAX_SOURCE_BYTES: a
named pipe there waited for a writer forever, and a device (/dev/zero) never ended. Such a file
is named as not read (``read_notes`` gives None) instead.
"""

from __future__ import annotations

import os
import re
import stat
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from sim import limits

MAX_SOURCE_BYTES = limits.MAX_FILE_BYTES  # a scenario file's own limit: 1 MB

KEY_LINE = re.compile(r"^(?P<indent>\s*)(?:-\s+)?(?P<key>[^\s#:][^#:]*?):(?:\s|$)")
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
    a device, a larger file, one that cannot be opened). Opened without waiting, so that a named
    pipe nobody writes to is found out rather than waited on."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    except OSError:
        return None
    with os.fdopen(fd, "rb") as f:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode) or st.st_size > MAX_SOURCE_BYTES:
            return None
        data = f.read(MAX_SOURCE_BYTES + 1)  # a file growing meanwhile is still read within the limit
    if len(data) > MAX_SOURCE_BYTES:
        return None
    return data.decode("utf-8", errors="replace")


def read_notes(path: str | Path) -> Notes | None:
    """The file's notes; None if it was not read (``read_text``)."""
    text = read_text(path)
    if text is None:
        return None
    notes = Notes()
    stack: list[tuple[int, str]] = []  # (indent, key) of the keys enclosing the current line
    seen_key = False
    for line in text.splitlines():
        key = KEY_LINE.match(line)
        if key:
            indent = len(key["indent"])
            while stack and stack[-1][0] >= indent:
                stack.pop()
            stack.append((indent, key["key"].strip()))
            seen_key = True
        comment = COMMENT.search(_without_strings(line))
        if not comment:
            continue
        text = line[comment.start("text"):].strip()  # as written: quotes inside the comment are kept
        where = ".".join(k for _, k in stack)  # the key on this line, or the one above a comment line
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


def scenario_files(manifest: dict) -> list[Path]:
    """The scenario files of a run or comparison and the files they extend, each once."""
    files: list[Path] = []
    todo = [Path(p) for p in manifest.get("scenarios", [])]
    if manifest.get("scenario_file"):
        todo.append(Path(manifest["scenario_file"]))
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
