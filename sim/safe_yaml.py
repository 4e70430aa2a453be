"""Reading YAML that anyone may have written, in bounded time and memory.

PyYAML's safe loader builds no arbitrary objects, but it still (1) reads any number of bytes,
(2) recurses once per nesting level (thousands of levels end in RecursionError), (3) expands
aliases without limit when the result is copied or validated (an "alias bomb"), and (4) lets a
key given twice silently replace the first. Here the text is read with a size cap, decoded as
UTF-8 only, its nesting is measured on the event stream (which is iterative), the composed node
graph is walked with a budget of values and checked for duplicate keys, and only then are
Python objects built. Every problem is a YamlError carrying the key path (if any) and one line.

Numbers. PyYAML reads YAML 1.1, which is kept (``1_000`` is 1000, ``1_000.5`` a float, ``yes`` is
true), with one addition from YAML 1.2: a number in exponent form needs neither a point nor a
signed exponent (1.1 read ``1e5`` and ``2e-3`` as text). The rule for those forms:

- written without a point, a whole value is an int whatever the exponent's sign: ``1e5``,
  ``3E+2``, ``1e-0`` and ``100e-2`` are 100000, 300, 1 and 1 (a count may be written so);
- otherwise a float: ``1e-3`` is 0.001, ``1.5e5`` and ``1.0e0`` are floats (a count refuses
  them, as it refuses ``3.0``: the models are strict);
- underscores may group the digits before the exponent, as YAML 1.1 allows in every number:
  ``1_000e3`` is 1000000. (YAML 1.2's core schema has no underscores at all, ``1_000`` is text
  there; one rule for the numbers of one file is less surprising than 1.2's for these only.)

YAML 1.1's octal (``010`` is 8), binary (``0b11``) and base-60 numbers (``1:30`` is 90) are
refused at their key: no one means them in a scenario, and they were taken silently.

``Dumper`` resolves as the loader reads, so text that would read as a number is written quoted.
"""

from __future__ import annotations

import itertools
import math
import os
import re
import stat
from pathlib import Path

import yaml

from sim import files, limits

_MERGE_TAG = "tag:yaml.org,2002:merge"
_BOMS = {b"\xff\xfe\x00\x00": "UTF-32", b"\x00\x00\xfe\xff": "UTF-32", b"\xff\xfe": "UTF-16", b"\xfe\xff": "UTF-16"}


class YamlError(ValueError):
    def __init__(self, key: str, message: str):
        self.key, self.message = key, message
        super().__init__(f"{key}: {message}" if key else message)


def read_text(path: Path, max_bytes: int = limits.MAX_FILE_BYTES) -> str:
    """The file's text: at most ``max_bytes`` read (so /dev/zero ends), UTF-8 only. A pipe
    (/dev/stdin, a named pipe) is read to its end once; reading it again gives the same text."""
    if path.is_dir():
        raise YamlError("", "is a folder, not a file")
    f, mode = files.opened(path)  # OSError is the caller's: it knows how to name the file
    with f:
        if stat.S_ISSOCK(mode):
            raise YamlError("", "is a socket, not a file")
        if stat.S_ISFIFO(mode):
            return decode(_read_pipe_once(f, max_bytes))
        try:
            data = files.read_within(f, max_bytes, SCENARIO_FILES)
        except files.TooLarge as e:
            raise YamlError("", str(e)) from None
    if data is None:  # a terminal (or device) with nothing to read yet: not waited on
        raise YamlError("", "is a terminal or device with nothing to read, not a file")
    return decode(data)


SCENARIO_FILES = "scenario and experiment files"  # what the limit is for, in the error


# A pipe's bytes can be read only once, but a command reads its input file more than once (what
# kind of file it is, then the file itself; each file of a district). What the first read got is
# kept here, with the pipe held open so that no later pipe can take its inode number meanwhile.
_PIPES_READ: dict[tuple[int, int], tuple[int, bytes | YamlError]] = {}


def _read_pipe_once(f, max_bytes: int) -> bytes:
    st = os.fstat(f.fileno())
    ident = (st.st_dev, st.st_ino)
    if ident not in _PIPES_READ:
        try:
            outcome = _read_pipe(f.fileno(), max_bytes, limits.PIPE_SECONDS)
        except YamlError as e:
            outcome = e
        _PIPES_READ[ident] = (os.dup(f.fileno()), outcome)  # a bare descriptor: no file object to warn at exit
    outcome = _PIPES_READ[ident][1]
    if isinstance(outcome, YamlError):
        raise outcome
    return outcome


def _read_pipe(fd: int, max_bytes: int, seconds: float) -> bytes:
    """Everything a pipe's writer sends until it closes the pipe, within ``max_bytes`` and
    ``seconds``. Nothing written is an error: a pipe that ends at once had no writer (a named
    pipe read before its writer started) or a writer that failed, not an empty scenario."""
    import select
    import time

    deadline = time.monotonic() + seconds
    ready = select.poll()  # not select.select: it fails on descriptors numbered 1024 and above
    ready.register(fd, select.POLLIN)
    chunks, size = [], 0
    while True:
        try:
            chunk = os.read(fd, 1 << 16)
        except BlockingIOError:  # the writer is there but has not written (or closed) yet
            left = deadline - time.monotonic()
            if left <= 0 or not ready.poll(left * 1000):  # data, or the writer's close (POLLHUP)
                raise YamlError("", f"is a pipe that did not end within {seconds} s (its writer neither "
                                "finished nor closed it)") from None  # fmt: skip
            continue
        if not chunk:  # the end: every writer has closed it
            break
        chunks.append(chunk)
        size += len(chunk)
        if size > max_bytes:
            raise YamlError("", str(files.TooLarge(max_bytes, SCENARIO_FILES)))
    if not size:
        raise YamlError("", "is a pipe with nothing written to it (a named pipe's writer must start first)")
    return b"".join(chunks)


def decode(data: bytes) -> str:
    for bom, name in _BOMS.items():
        if data.startswith(bom):
            raise YamlError("", f"is {name} text; save it as UTF-8")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        line = data[: e.start].count(b"\n") + 1
        raise YamlError("", f"not UTF-8 text (byte 0x{data[e.start]:02x} on line {line}); save it as UTF-8") from None


# libyaml's parser (PyYAML's wheels include it) reads a file ~10x faster than the pure-Python
# one, which took ~50 s over a megabyte of values; the same safe constructor either way.
class Loader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):
    """The safe loader, reading numbers in exponent form as YAML 1.2 does (below)."""


# PyYAML follows YAML 1.1, whose numbers need a point and a signed exponent: `residents: 1e5`,
# `1.5e5` and `2e-3` were read as text, and refused as "not a valid integer, got '1e5'". YAML 1.2
# reads them as numbers; here too, on this loader only (yaml.SafeLoader is PyYAML's, not ours).
# The rule is the module docstring's. Forms without a point are resolved as ints and
# _construct_int gives a float for the ones that are not whole (1e-3): whether 120e-1 is whole
# depends on its digits, which a resolver's pattern cannot weigh. Underscores are digits' grouping
# before the exponent, as in YAML 1.1's ints and floats (whose constructors drop them), not in it.
_POINTLESS_EXPONENT = re.compile(r"^[-+]?[0-9][0-9_]*[eE][-+]?[0-9]+$")
_EXPONENT = re.compile(r"^[-+]?(?:\.[0-9][0-9_]*|[0-9][0-9_]*(?:\.[0-9_]*)?)[eE][-+]?[0-9]+$")  # YAML 1.2's float, with an exponent
Loader.add_implicit_resolver("tag:yaml.org,2002:int", _POINTLESS_EXPONENT, list("-+0123456789"))
Loader.add_implicit_resolver("tag:yaml.org,2002:float", _EXPONENT, list("-+.0123456789"))


def _construct_int(loader: Loader, node: yaml.ScalarNode):
    """YAML 1.1's integers, and numbers in exponent form without a point: an int if whole, else a float."""
    text = loader.construct_scalar(node)
    if not _POINTLESS_EXPONENT.match(text):
        return loader.construct_yaml_int(node)
    text = text.replace("_", "")
    mantissa, _, exponent = text.lower().partition("e")
    digits, power = mantissa.lstrip("+-"), int(exponent)
    if not digits.strip("0"):  # 0e-5, 0e999999999: 0, and no 10**999999999 is built
        return 0
    if power < 0:  # whole when the mantissa ends in -power zeros: 100e-2 is 1, 1e-3 is 0.001
        if -power < len(digits) and not digits[power:].strip("0"):
            return int(mantissa[:power])
        return float(text)  # (1e-999999999 is 0.0: no 10**999999999 is built)
    value = float(text)
    if not math.isfinite(value):  # past a float's range (1e400): refused as not finite, as 1.0e400 is
        return value
    return int(mantissa) * 10**power  # exact: 12345678901234567e0 is no float's rounding


Loader.add_constructor("tag:yaml.org,2002:int", _construct_int)


class Dumper(yaml.SafeDumper):
    """The safe dumper, resolving as ``Loader`` reads: a string that would read back as a number
    (the text '1e5') is written quoted, so what is dumped is read back as it was."""


Dumper.add_implicit_resolver("tag:yaml.org,2002:int", _POINTLESS_EXPONENT, list("-+0123456789"))
Dumper.add_implicit_resolver("tag:yaml.org,2002:float", _EXPONENT, list("-+.0123456789"))


def dump(data, **options) -> str:
    """YAML text that :func:`parse` reads back as ``data``."""
    return yaml.dump(data, Dumper=Dumper, **options)


def inline(value) -> str:
    """A value as one line of YAML (true, 12, [a, b], '1e5'): the form ``--set KEY=VALUE`` reads back."""
    return dump(value, default_flow_style=True).strip().removesuffix("...").strip()


def parse(text: str):
    """YAML text -> Python objects, refusing deep nesting, alias bombs and duplicate keys."""
    return parsed(text)[0]


def parsed(text: str) -> tuple[object, yaml.Node | None]:
    """:func:`parse`'s objects, and the node graph they were built from (each node with its place
    in the text: where sim.notes finds the keys a comment stands beside)."""
    try:
        _check_nesting(text)
        loader = Loader(text)
        try:
            node = loader.get_single_node()
            if node is None:
                return None, None
            _check_not_endless(node)
            _check_graph(node)
            return loader.construct_document(node), node
        finally:
            loader.dispose()
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        if "maximum nesting depth" in str(getattr(e, "problem", "")) and mark:  # libyaml's own limit (1,000) came first
            raise YamlError("", f"nested more than {limits.MAX_NESTING} levels deep (line {mark.line + 1})") from None
        raise YamlError("", f"invalid YAML: {_describe(e)}") from None
    except (ValueError, RecursionError) as e:  # e.g. an integer of 5,000 digits
        if isinstance(e, YamlError):
            raise
        text = str(e).splitlines()[0] if str(e) else type(e).__name__
        if "integer string conversion" in text:
            text = "a number with more than 4,300 digits"
        raise YamlError("", f"invalid YAML: {text[:200]}") from None


def _check_nesting(text: str) -> None:
    depth = 0
    for event in yaml.parse(text, Loader=Loader):
        if isinstance(event, (yaml.MappingStartEvent, yaml.SequenceStartEvent)):
            depth += 1
            if depth > limits.MAX_NESTING:
                line = event.start_mark.line + 1
                raise YamlError("", f"nested more than {limits.MAX_NESTING} levels deep (line {line})")
        elif isinstance(event, (yaml.MappingEndEvent, yaml.SequenceEndEvent)):
            depth -= 1


# A key path while a document is walked: (parent, key) pairs, joined into "a.b.0" only when an
# error names it. Each step of the walk adds one pair; a tuple or string per node would copy the
# whole path at every step, and a chain of 30,000 aliases (each list holding the one before) took
# ~8 s to walk so, quadratic in its length.
_Path = tuple["_Path", str] | None


def _parts(path: _Path) -> tuple[str, ...]:
    parts = []
    while path is not None:
        path, key = path
        parts.append(key)
    return tuple(reversed(parts))


def _joined(path: _Path) -> str:
    return ".".join(_parts(path))


def _children(node: yaml.Node, path: _Path):
    """(child, its key path) of a mapping or list: a merged mapping (``<<: *x``) at ``<<`` of
    its mapping's path, a complex key at ``<complex key>``."""
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            if key.tag == _MERGE_TAG:
                yield value, (path, "<<")
                continue
            if not isinstance(key, yaml.ScalarNode):
                yield key, (path, "<complex key>")
            yield value, (path, str(key.value) if isinstance(key, yaml.ScalarNode) else "<complex key>")
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            yield item, (path, str(i))


def _check_not_endless(root: yaml.Node) -> None:
    """Refuse a document that contains itself: an alias inside the value its anchor names
    (``a: &x [*x]``, a mapping merging itself with ``<<: *x``). PyYAML composes it as a node
    graph with a cycle; walking it as data (below, and the constructor) would never end. Each
    node is visited once (depth first, without recursion), so this costs the file's size."""
    walking, done = 1, 2
    state = {id(root): walking}
    stack = [(root, _children(root, None))]
    while stack:
        node, children = stack[-1]
        for child, path in children:
            seen = state.get(id(child))
            if seen == walking:
                line = child.start_mark.line + 1
                raise YamlError(_joined(path), f"an alias here refers to the value that contains it (its anchor is on line "
                                f"{line}); a value that holds itself never ends")  # fmt: skip
            if seen is None and isinstance(child, (yaml.MappingNode, yaml.SequenceNode)):
                state[id(child)] = walking
                stack.append((child, _children(child, path)))
                break
        else:
            state[id(node)] = done
            stack.pop()


def _check_graph(root: yaml.Node) -> None:
    """Walk the node graph as the loaded data would be (aliases expanded), within a budget."""
    budget = limits.MAX_YAML_VALUES
    stack: list[tuple[yaml.Node, _Path]] = [(root, None)]
    while stack:
        node, path = stack.pop()
        budget -= 1
        if budget < 0:
            raise _too_many_values(root, _parts(path))
        if isinstance(node, yaml.MappingNode):
            seen = {}
            for key, value in node.value:
                if key.tag == _MERGE_TAG:
                    stack.append((value, path))
                    continue
                name = str(key.value) if isinstance(key, yaml.ScalarNode) else "<complex key>"
                if isinstance(key, yaml.ScalarNode) and key.tag != _STR_TAG:
                    raise _not_a_name(key, (*_parts(path), name))
                ident = (key.tag, key.value) if isinstance(key, yaml.ScalarNode) else id(key)
                if ident in seen:
                    raise YamlError(_joined((path, name)), f"given twice (lines {seen[ident]} and "
                                    f"{key.start_mark.line + 1}); keep one")  # fmt: skip
                seen[ident] = key.start_mark.line + 1
                stack.append((value, (path, name)))
        elif isinstance(node, yaml.SequenceNode):
            stack.extend((item, (path, str(i))) for i, item in enumerate(node.value))
        elif node.tag in _NUMBER_TAGS and _MISREAD_NUMBER.match(node.value) and _misread(node.value):
            raise _misread_number(node, _joined(path))


_STR_TAG = "tag:yaml.org,2002:str"
_NUMBER_TAGS = ("tag:yaml.org,2002:int", "tag:yaml.org,2002:float")
# YAML 1.1 numbers no one means in a scenario: a leading 0 makes octal (010 is 8), 0b binary, and
# colons base 60 (1:30 is 90, 8:30 is 510). 0x hex is left: no one writes it by chance.
_MISREAD_NUMBER = re.compile(r"^[-+]?(?:0[0-7_]+|0b[01_]+|[0-9][0-9_]*(?::[0-5]?[0-9])+(?:\.[0-9_]*)?)$")


def _misread(text: str):
    """What YAML 1.1 reads ``text`` (a ``_MISREAD_NUMBER``) as, if not what its digits say in
    decimals (07 and 00 read as written), else None."""
    as_read = Loader(text).get_single_data()
    digits = text.replace("_", "")
    return None if digits.lstrip("+-").isdigit() and as_read == int(digits) else as_read


def _misread_number(node: yaml.ScalarNode, path: str) -> YamlError:
    """A number YAML 1.1 reads otherwise than it is written (``_MISREAD_NUMBER``): it was taken
    silently (count 010 ran as 8 servers, deadline_hours 1:30 as 90 hours)."""
    text = node.value
    how = ("in base 60" if ":" in text else "in binary" if "b" in text.lower() else "in octal (a leading 0)")
    shown, as_read = _cut(text), _cut(str(_misread(text)))
    return YamlError(path, f"{shown} is read by YAML {how} as {as_read} (line {node.start_mark.line + 1}); write the "
                     "number in plain decimals (hours as 1.5, not 1:30), or put it in quotes for text")  # fmt: skip


def _cut(text: str, most: int = 40) -> str:
    return text if len(text) <= most else text[: most - 3] + "..."
_READS_AS = {"bool": "true or false", "null": "null (nothing)", "int": "a whole number", "float": "a number",
             "timestamp": "a date"}  # fmt: skip


def _not_a_name(key: yaml.ScalarNode, path: tuple[str, ...]) -> YamlError:
    """Every key of every streetsim file is a name. A key YAML reads as something else (``on``
    and ``no`` as true and false, ``~`` as null, 2015-01-01 as a date) was named by its Python
    value (``1``, ``None``, ``datetime.date(2015, 1, 1)``) where the schema refused it; ``on``
    and ``yes`` in one mapping became one key, the first silently lost."""
    what = _READS_AS.get(key.tag.rsplit(":", 1)[-1], f"a {key.tag.rsplit(':', 1)[-1]} value")
    return YamlError(".".join(path), f"a key must be a name, but YAML reads this one as {what} (line "
                     f"{key.start_mark.line + 1}); put it in quotes: '{key.value}'")  # fmt: skip


def _too_many_values(root: yaml.Node, path: tuple[str, ...]) -> YamlError:
    """Past the budget at ``path``. An alias bomb only if the file's own values are within the
    limit, so that expanding aliases made them too many; a file that holds too many values
    itself (with or without aliases) is said to be too large, not suspected of a bomb."""
    limit = limits.MAX_YAML_VALUES
    if _written_values(root, limit) > limit:
        return YamlError("", f"has more than {limit:,} values, the limit for one file")
    keys = itertools.takewhile(lambda k: not k.isdigit(), path)  # where the alias is used
    return YamlError(".".join(keys), f"more than {limit:,} values once aliases are expanded (an alias bomb?)")


def _written_values(root: yaml.Node, limit: int) -> int:
    """Values of the graph counted as the file writes them: each node once, however many
    aliases name it (so a bomb's 10^9 are a few dozen). Stops past ``limit``."""
    seen, stack = set(), [root]
    while stack and len(seen) <= limit:
        node = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        if isinstance(node, yaml.MappingNode):
            stack.extend(value for _key, value in node.value)
        elif isinstance(node, yaml.SequenceNode):
            stack.extend(node.value)
    return len(seen)


def _describe(e: yaml.YAMLError) -> str:
    mark = getattr(e, "problem_mark", None)
    where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
    problem = getattr(e, "problem", None) or str(e).splitlines()[0]
    return (where + problem)[:300]
