"""Where a command's results go (``--out``), and writing them so nothing is lost.

One rule: no command deletes anything it did not write. ``--out`` may be a new folder, an empty
folder, or an earlier result of the same kind (a ``manifest.json`` with the same ``kind``), and
replacing an earlier result needs ``--force``. Results are written into a temporary folder
beside ``--out`` and moved into place only when complete; the earlier result is renamed aside
first and cleared only after the new one is in place. Clearing removes the files the earlier
result wrote (:func:`own_files`, from its manifest: what its kind writes, the reports, the
figures, the tables of each scenario it names; not what the new one writes) and nothing else:
whatever else the earlier folder held (a user's notes, figures, subfolders, a folder named as a
new scenario) is moved whole to ``<out>-kept-<time>-<hex>`` beside it, with one warning line. A
failure while clearing is a warning too: the new result is already in place. Folders are
created with the user's umask (not ``drwx------``), so colleagues on a shared cluster can read them.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import sys
import time
import unicodedata
import uuid
from pathlib import Path

from sim import limits, safe_yaml
from sim.files import check_regular, read_regular
from sim.processes import alive, interrupts_deferred
from sim.scenario import Interrupted, ScenarioError, control_character, printable

NAME_MAX = 255  # bytes in one file name on Linux file systems (ext4, xfs, NFS)


def suffix_room() -> int:
    """What a temporary name adds to the name it stands for: a folder's
    ".<name>.tmp-<host>-<pid>-<hex8>" (temporary_name) and a file's ".<name>.<host>-<pid>-<hex8>.tmp"
    (write_atomic) at most 23 bytes and the host's name, which on a cluster node can be long; the
    kept folder's "<name>-kept-<time>-<hex6>" 28. At least 40, as before the host was named."""
    return max(40, 24 + len(os.fsencode(socket.gethostname())))


# What `figures` draws from. `report` also takes a staffing folder: its report.json makes the annex.
FIGURE_KINDS = ("run", "compare", "district", "sweep")
REPORT_KINDS = (*FIGURE_KINDS, "staffing")
# Folders whose command draws their figures itself, in both languages, from what only it holds
# (the staffings searched, the posterior draws): `figures` says where they are, draws nothing.
DRAWN_BY_THEIR_COMMAND = {"staffing": "streetsim staff", "calibration": "streetsim calibrate"}
CALIBRATION_MANIFEST = "calibration.json"  # a calibration's manifest (sim.calibrate.fit writes it)


# What sim.runner.write_tables writes for each scenario (a run, each of a compare's, each street
# of a district) that the figures read; the report reads the resolved scenario too.
FIGURE_TABLES = ("summary.csv", "timeseries.parquet", "roles.csv")
RESOLVED_SCENARIO = "scenario.resolved.yaml"  # the scenario as run, every default filled in
REPORT_TABLES = (*FIGURE_TABLES, RESOLVED_SCENARIO)
# All that sim.runner.write_tables writes (the figures and the report do not read cases.parquet).
SCENARIO_TABLES = (*REPORT_TABLES, "cases.parquet")
# What sim.figures draws into each kind's figures/, each in every format (sim.figures.FORMATS is
# this tuple: one place). Differences need a compare; a district's streets side by side in
# staff_time would not be readable.
KIND_FIGURES = {"run": ("kpi_bars", "backlog", "staff_time"),
                "compare": ("differences", "kpi_bars", "backlog", "staff_time"),
                "district": ("kpi_bars", "backlog")}  # fmt: skip
FIGURE_FORMATS = ("png", "svg", "pdf")
REPORTS = ("report_zh.pdf", "report_en.pdf")  # `streetsim report`'s default files
# What each kind's command writes at the top of its folder besides the scenario tables (a run's
# scenario folder is the top; districts.csv only for a city file, so a new result may lack it).
RESULT_FILES = {"run": ("manifest.json",), "compare": ("manifest.json", "comparison.csv"),
                "district": ("manifest.json", "summary.csv", "streets.csv", "districts.csv")}  # fmt: skip


def check_results_folder(folder: Path, kinds: tuple[str, ...] = FIGURE_KINDS,
                         tables: tuple[str, ...] = FIGURE_TABLES) -> Path:
    """A readable streetsim results folder of one of ``kinds``: its manifest and every table
    open, none is empty, each scenario's ``tables`` there. Checked before drawing, so a damaged
    folder gets one line and no half-drawn figures."""
    check_path_readable(folder)
    if not folder.is_dir():
        raise ScenarioError(folder, "", "not a folder" if folder.exists() else "folder not found")
    manifest = folder / "manifest.json"
    if not manifest.exists() and (folder / CALIBRATION_MANIFEST).exists() and "calibration" not in kinds:
        raise _drawn_by_their_command(folder, "calibration")
    if not manifest.exists():
        raise ScenarioError(folder, "", "not a results folder (no manifest.json)")
    try:
        facts = read_json(manifest)
        kind = facts.get("kind")
    except (ValueError, AttributeError, OSError) as e:
        raise ScenarioError(manifest, "", f"not a readable manifest: {str(e).splitlines()[0][:120]}") from None
    if not isinstance(kind, str):  # a list or a mapping is no kind (and cannot be looked up: a traceback)
        raise ScenarioError(manifest, "kind", f"not a kind streetsim writes: {json.dumps(kind)[:60]}")
    if kind not in kinds and kind in DRAWN_BY_THEIR_COMMAND:
        raise _drawn_by_their_command(folder, kind)
    if kind not in kinds:
        raise ScenarioError(manifest, "kind", f"unknown kind {kind!r} (expected one of {', '.join(kinds)})")
    import pandas as pd  # the tables' readers load once the manifest is known to be good
    import pyarrow.parquet as pq

    for f in sorted(folder.rglob("*.csv")):
        try:
            check_regular(f)
            if pd.read_csv(f, nrows=2).empty:
                raise ValueError("no rows")
        except (ValueError, OSError, pd.errors.ParserError) as e:
            raise ScenarioError(f, "", f"damaged or empty table: {str(e).splitlines()[0][:120] or 'no data'}") from None
    # a sweep's part files are the store's to check: it reports and skips damaged ones
    store_parts = {"sweep": {"parts", "timeseries"}, "staffing": {"runs"}}.get(kind, set())
    for f in sorted(p for p in folder.rglob("*.parquet") if not store_parts & set(p.relative_to(folder).parts[:1])):
        try:
            check_regular(f)
            pq.read_metadata(f)
        except Exception as e:  # pyarrow raises several types for a damaged file
            raise ScenarioError(f, "", f"damaged Parquet file: {str(e).splitlines()[0][:120]}") from None
    if kind in ("run", "compare", "district"):  # nothing is drawn from a folder that lacks a table
        _check_facts(manifest, facts)
        _check_scenario_tables(folder, facts, tables)
    return folder


def _check_facts(manifest: Path, facts: dict) -> None:
    """The names and files that figures and the report follow from a run's, compare's or
    district's manifest, as streetsim writes them: a hand-edited one is one line, not a name
    followed out of the folder ("..", "/etc") or a line worded by Python. (What the report states
    as facts, the replications and the seed, sim.report.commands checks.)"""
    for key in ("scenario_names", "street_names"):
        names = facts.get(key)
        if names is None:
            continue  # a compare's are missed by _check_scenario_tables; a run's and district's are optional
        # what keeps a name inside this folder: one path component (the scenario's name rule
        # itself is checked where a scenario is read, by pydantic; not a second copy here)
        if not (isinstance(names, list) and names and len(set(map(str, names))) == len(names)
                and all(isinstance(n, str) and n not in ("", ".", "..") and not {"/", "\0"} & set(n) for n in names)):  # fmt: skip
            raise ScenarioError(manifest, key, "not a list of distinct scenario names as streetsim writes them "
                                "(each a folder inside this one)")  # fmt: skip
    scenarios = facts.get("scenarios", [])
    if not (isinstance(scenarios, list) and all(isinstance(p, str) for p in scenarios)):
        raise ScenarioError(manifest, "scenarios", "not a list of scenario files as streetsim writes it")


def read_own_text(path: Path) -> str:
    """A file streetsim wrote into a results folder (a manifest), as text: a regular file of at most
    MAX_RESULTS_FILE_BYTES (sim.files: a named pipe in its place blocked the read forever, a device
    or a sparse file of gigabytes filled memory). OSError if it cannot be opened or is not a
    regular file (callers say the file is not readable), ValueError if it is too large."""
    return read_regular(path, limits.MAX_RESULTS_FILE_BYTES, "a file streetsim writes").decode("utf-8")


def read_json(path: Path):
    """A JSON file streetsim wrote (a manifest), parsed. ValueError for text that is not JSON, and
    for nesting too deep to be one of ours (the parser's RecursionError, a traceback otherwise);
    OSError and ValueError as :func:`read_own_text`."""
    text = read_own_text(path)
    try:
        return json.loads(text)
    except RecursionError:
        raise ValueError("nested too deep to be a streetsim file") from None


def _drawn_by_their_command(folder: Path, kind: str) -> ScenarioError:
    return ScenarioError(folder, "", f"a {kind} folder: `{DRAWN_BY_THEIR_COMMAND[kind]}` already drew its figures, "
                         f"in Chinese and English, into {folder / 'figures'}/; `streetsim report {folder}` "
                         "typesets them into the annex (nothing drawn)")


def scenario_folders(results_dir: Path, manifest: dict) -> dict[str, Path]:
    """Each scenario's folder in a run, compare or district results folder, by name."""
    if manifest.get("kind") == "compare":
        return {n: results_dir / n for n in manifest["scenario_names"]}
    if manifest.get("kind") == "district":
        # a manifest without street_names (before 2026-11-25, or edited): each folder a street's run wrote
        names = manifest.get("street_names") or sorted(p.name for p in (results_dir / "streets").iterdir()
                                                       if (p / RESOLVED_SCENARIO).is_file())
        return {n: results_dir / "streets" / n for n in names}
    name = manifest.get("scenario_names", [results_dir.name])[0]
    return {name: results_dir}


def _check_scenario_tables(folder: Path, manifest: dict, tables: tuple[str, ...]) -> None:
    try:
        folders = scenario_folders(folder, manifest)
    except (KeyError, TypeError, IndexError, OSError):  # names missing or not a list; no streets/
        raise ScenarioError(folder / "manifest.json", "", "does not name the scenarios of this folder") from None
    needed = [d / name for d in folders.values() for name in tables]
    if manifest.get("kind") == "district":
        needed += [folder / "summary.csv", folder / "streets.csv"]
    for f in needed:
        if not f.is_file():
            raise ScenarioError(f, "", f"missing: a {manifest['kind']} folder holds it (run the command that made it again)")
    if RESOLVED_SCENARIO in tables:
        for d in folders.values():
            read_resolved_scenario(d)


def read_resolved_scenario(folder: Path) -> dict:
    """A scenario folder's scenario.resolved.yaml, read as any user's YAML is (sim.safe_yaml:
    nesting, aliases and values held to their limits) within MAX_RESULTS_FILE_BYTES: a damaged
    or hostile one was a YAML error, a RecursionError or a MemoryError traceback from `report`.
    One line naming the file otherwise."""
    path = folder / RESOLVED_SCENARIO
    try:
        data = safe_yaml.parse(read_own_text(path))
    except safe_yaml.YamlError as e:
        raise ScenarioError(path, e.key, e.message) from None
    except (OSError, ValueError) as e:  # not a regular file, too large, not UTF-8
        raise ScenarioError(path, "", f"not readable: {getattr(e, 'strerror', None) or e}") from None
    if not isinstance(data, dict):
        raise ScenarioError(path, "", "not a scenario as streetsim writes it (a mapping of keys)")
    return data


def manifest_kind(folder: Path) -> str | None:
    """The ``kind`` a streetsim manifest names, or None if there is no readable manifest."""
    try:  # a named pipe is not waited on
        m = read_json(folder / "manifest.json")
    except (OSError, ValueError):
        return None
    kind = m.get("kind") if isinstance(m, dict) else None
    return kind if isinstance(kind, str) else None


def unreadable(path: Path) -> str | None:
    """Why the file ``path`` cannot be read (a folder, no permission, ...), or None if it can. Only
    a regular file can: a named pipe waits for a writer, and a link to /dev/zero (size 0 to a size
    check) never ends."""
    try:
        check_regular(path)
        with open(path, "rb"):
            return None
    except OSError as e:
        return e.strerror or str(e)


def resolve(path: Path, flag: str) -> Path:
    """``path`` resolved; one line (not a RuntimeError traceback) for a loop of symbolic links."""
    try:
        return path.resolve()
    except (OSError, RuntimeError) as e:  # RuntimeError: a loop of symbolic links
        raise ScenarioError(flag, "", f"{path}: {getattr(e, 'strerror', None) or e}") from None


def check_path_readable(path: Path) -> None:
    """One line for a path no file can have (a name past the system's 255 bytes): pathlib's
    exists() and is_dir() raise OSError for it (ENAMETOOLONG), a traceback."""
    try:
        path.exists()
    except OSError as e:
        raise ScenarioError(path, "", f"cannot read: {e.strerror or e}") from None


def check_regular_file(path: Path, flag: str) -> None:
    """A file a command writes over must be a plain file: never a link, device, pipe or folder."""
    check_name(path, flag, "file")  # a name too long for a file (or for the temporary one beside it)
    if path.is_symlink() or (path.exists() and not path.is_file()):
        raise ScenarioError(flag, "", f"{path} is not a regular file; give a new file name")


def check_name(out, flag: str = "--out", what: str = "folder") -> Path:
    """Refuse names no folder can have (empty, too long) before touching the disk."""
    text = str(out) if out is not None else ""
    if not text.strip():
        raise ScenarioError(flag, "", "empty; give a folder name such as results/my_run")
    if "\0" in text:
        raise ScenarioError(flag, "", "contains a NUL character")
    if control := control_character(text):
        # a line break or escape in a name breaks every listing, shell loop and log that shows it
        raise ScenarioError(flag, "", f"contains a control character ({control}); give a plain {what} name")
    if text == "-":  # elsewhere "-" means standard output; here it made a folder named "-"
        raise ScenarioError(flag, "", f"'-' is not written to standard output here; give a {what} name")
    path = Path(text)
    for part in path.parts:
        size = len(os.fsencode(part))
        if size > NAME_MAX - suffix_room() and part != path.anchor:
            raise ScenarioError(flag, "", f"{what} name {part[:40]}... is {size} bytes; the limit is {NAME_MAX - suffix_room()}")
    if len(os.fsencode(text)) > 3000:
        raise ScenarioError(flag, "", "path longer than 3,000 bytes")
    return path


def check_out(out, kind: str, force: bool = False, flag: str = "--out") -> Path:
    """A folder ``kind`` results may be written to; one line and exit 2 otherwise. Nothing is written."""
    out = check_name(out, flag)
    here = Path.cwd().resolve()
    resolved = resolve(out, flag)
    if out.name in ("", ".", "..") or resolved == here or resolved in here.parents:
        raise ScenarioError(flag, "", f"{out} is the current folder or above it; give a new folder name such as results/my_run")
    if out.is_symlink():
        raise ScenarioError(flag, "", f"{out} is a symbolic link; give the folder it points to, or a new name")
    for p in reversed(out.parents):
        if p.exists() and not p.is_dir():
            raise ScenarioError(flag, "", f"{p} is a file, not a folder")
        if p.is_symlink() and not p.exists():  # it failed once the results were made (FileExistsError)
            raise ScenarioError(flag, "", f"{p} is a symbolic link that leads to no folder")
    if out.exists():
        if not out.is_dir():
            raise ScenarioError(flag, "", f"{out} is a file, not a folder")
        if not replaceable(out, kind):
            raise ScenarioError(flag, "", f"{out} exists and is not a streetsim {kind} result; choose a new folder "
                                "(nothing was changed)")  # fmt: skip
        if any(out.iterdir()) and not force:
            raise ScenarioError(flag, "", f"{out} holds an earlier {kind} result; add --force to replace it "
                                "(it is kept until the new result is complete)")  # fmt: skip
    check_writable(out, flag)
    return out


def replaceable(out: Path, kind: str) -> bool:
    """An empty folder, or a result of this kind that streetsim wrote."""
    try:
        return not any(out.iterdir()) or manifest_kind(out) == kind
    except OSError:
        return False


def check_writable(out: Path, flag: str = "--out") -> None:
    """Try to create (and remove at once) a folder where the results will go."""
    base = next((p for p in (out, *out.parents) if p.exists()), Path("."))
    if not base.is_dir():
        raise ScenarioError(flag, "", f"{base} is a file, not a folder")
    probe = base / f".streetsim-probe-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    try:
        probe.mkdir()
        probe.rmdir()
    except OSError as e:
        raise ScenarioError(flag, "", f"cannot write in {base}: {e.strerror or e}") from None


class AtomicFolder:
    """Write into a temporary folder beside ``out``; move it into place only on success.

    ``kind``: what the folder will hold, so that ``out`` is replaced only if it (still) is an
    empty folder or a result of that kind; anything else that appeared meanwhile is left alone
    and the new results are moved to a name beside it.

    The folders above ``out`` that it makes (``--out p1/p2/out`` with no p1/) are removed again,
    if still empty, when it ends without a result in place (a failure or a stop while the block
    runs: a district's streets run inside it), so that "nothing written" holds.
    """

    def __init__(self, out: Path, kind: str | None = None):
        self.out, self.kind = Path(out), kind

    def __enter__(self) -> Path:
        self.made = []
        try:
            self.tmp = temporary_name(self.out)
            for attempt in range(3):
                make_parents(self.out, self.made)
                try:
                    self.tmp.mkdir()  # not tempfile.mkdtemp: that makes drwx------, unreadable to colleagues
                    break
                except FileNotFoundError:  # another command removed a parent it had made: make it again
                    if attempt == 2:
                        raise
        except BaseException:
            remove_if_empty(self.made)
            raise
        return self.tmp

    def __exit__(self, exc_type, exc, tb):
        if exc_type is not None:
            shutil.rmtree(self.tmp, ignore_errors=True)
            remove_if_empty(self.made)
            return False
        try:
            self._move_into_place()
        except OSError as e:  # the new result stays in self.tmp, and the folders above it with it
            raise ScenarioError("--out", "", f"cannot move the results into {self.out}: {e.strerror or e}; "
                                f"they are in {self.tmp}") from None  # fmt: skip
        return False

    def _move_into_place(self) -> None:
        out = self.out
        if not out.exists() and not out.is_symlink():
            self.tmp.rename(out)
            return
        if out.is_symlink() or not out.is_dir() or (self.kind is not None and not replaceable(out, self.kind)):
            beside = out.with_name(f"{out.name}-{time.strftime('%Y%m%d-%H%M%S')}")
            self.tmp.rename(beside)
            raise ScenarioError("--out", "", f"{out} changed while running and is not a streetsim result; "
                                f"the new results are in {beside}")  # fmt: skip
        old = out.parent / f".{out.name}.old-{os.getpid()}-{uuid.uuid4().hex[:8]}"
        # Ctrl-C here waits until the earlier result is cleared (a second one stops at once, and
        # clear_earlier still leaves what is left under a name the user sees, not hidden)
        try:
            with interrupts_deferred():
                out.rename(old)  # the earlier result stays whole until the new one is in place
                self.tmp.rename(out)
                clear_earlier(old, out)
        except (KeyboardInterrupt, OSError) as e:
            if self.tmp.exists():  # the new result is not in place: the earlier one goes back
                self._put_back(old, keep_new=isinstance(e, OSError))
                raise
            raise Interrupted(printable(f"the new result is in {out}")) from None

    def _put_back(self, old: Path, keep_new: bool) -> None:
        """A rename failed or was stopped before the new result was in place: the earlier result
        goes back in ``out`` (not left hidden). The new one stays in its temporary folder if a
        rename failed (the error names it), and is removed if the user stopped the command."""
        with interrupts_deferred():
            if old.exists() and not self.out.exists():
                old.rename(self.out)
            if not keep_new:
                shutil.rmtree(self.tmp, ignore_errors=True)


def make_parents(folder: Path, made: list[Path]) -> None:
    """Make the folders missing above ``folder`` (mode 0o777 & ~umask), as
    ``mkdir(parents=True, exist_ok=True)`` does, adding each to ``made`` as it is made (so a stop
    between two leaves none unlisted; one that another process made meanwhile is not among them)."""
    for parent in reversed(folder.parents):
        if parent.is_dir():
            continue
        try:
            parent.mkdir()
        except FileExistsError:
            if not parent.is_dir():
                raise
            continue
        made.append(parent)


def remove_if_empty(folders: list[Path]) -> None:
    """Remove each of ``folders`` (in the order :func:`make_parents` made them: the deepest
    last) that is an empty folder, deepest first; stop at the first that is not: the folders
    above it hold it."""
    for folder in reversed(folders):
        try:
            folder.rmdir()
        except OSError:
            return


def clear_earlier(old: Path, out: Path) -> Path | None:
    """After the new result is in ``out``: remove streetsim's own files from the earlier result
    (renamed to ``old``) and move what is left, a user's own files and folders, to a new folder
    ``<out>-kept-<time>-<hex>`` beside ``out``, saying so in one line on stderr. Returns that
    folder, or None when nothing else was there. Never raises but to stop (Ctrl-C): a failure here
    is one warning line (the new result is in place; what is left of the earlier one is named),
    and so is a stop, before it goes on."""
    kept = None
    try:
        kind, scenarios = _earlier_result(old)  # read before its manifest goes
        for rel in own_files(kind, scenarios):
            _remove_own_file(old, rel)
        _remove_empty_own_folders(old, kind, scenarios)
        if not any(old.iterdir()):
            old.rmdir()
            return None
        kept = kept_name(out)
        old.rename(kept)
        files = sum(1 for p in kept.rglob("*") if p.is_symlink() or not p.is_dir())
    except BaseException as e:  # noqa: BLE001 - the new result is in place: a warning, never a traceback
        stopped = not isinstance(e, Exception)  # Ctrl-C, SIGTERM: say where the rest is, then stop
        why = "stopped" if stopped else getattr(e, "strerror", None) or str(e) or type(e).__name__
        left = kept if kept is not None and kept.exists() else old
        try:
            if left == old and old.exists():
                left = kept_name(out)
                old.rename(left)  # visible, not a hidden ".old" folder
        except OSError:
            left = old
        print(printable(f"warning: --out: the new result is in {out}; clearing the earlier one failed ({why}): "
                        f"what is left of it is in {left}"), file=sys.stderr)  # fmt: skip
        if stopped:
            raise
        return left
    what = f"{files} file{'s' if files != 1 else ''}" if files else "folders"
    print(printable(f"warning: --out: what streetsim did not write in the earlier result ({what}) was moved, "
                    f"not deleted, to {kept}"), file=sys.stderr)  # fmt: skip
    return kept


def kept_name(out: Path) -> Path:
    """Where what a user put into an earlier result goes: ``<out>-kept-<YYYYmmdd-HHMMSS>-<hex6>``."""
    return out.with_name(f"{out.name}-kept-{time.strftime('%Y%m%d-%H%M%S')}-{uuid.uuid4().hex[:6]}")


def own_files(kind: str | None, scenarios: list[Path]) -> set[Path]:
    """The paths (relative) that the earlier result, of ``kind``, wrote: what that kind's command
    writes at the top and in figures/ (not another kind's: a user's comparison.csv in a run's
    folder is theirs), the reports, and each scenario's tables in the folders the EARLIER manifest
    names (``scenarios``). Never what the new result writes: a folder of the new result's
    scenario or street that the earlier one had not is the user's, and so is all in it."""
    rel = {Path(f) for f in (*REPORTS, *RESULT_FILES.get(kind, ()))}
    rel |= {Path("figures", f"{stem}.{ext}") for stem in KIND_FIGURES.get(kind, ()) for ext in FIGURE_FORMATS}
    for folder in scenarios:
        rel |= {folder / t for t in SCENARIO_TABLES}
    return rel


def _earlier_result(old: Path) -> tuple[str | None, list[Path]]:
    """The earlier result's kind and the scenario folders (relative to ``old``) its manifest
    names; (None, []) if it cannot be read. A name that leads out of ``old`` is left out."""
    try:
        manifest = read_json(old / "manifest.json")
    except (OSError, ValueError):
        return None, []
    kind = manifest.get("kind") if isinstance(manifest, dict) else None
    kind = kind if isinstance(kind, str) else None
    try:  # names that are not a list of names name no folder (a string was read letter by letter)
        names = [manifest.get(k) for k in ("scenario_names", "street_names") if manifest.get(k) is not None]
        if any(not isinstance(n, list) or not all(isinstance(x, str) for x in n) for n in names):
            raise TypeError("scenario names not a list of names")
        folders = scenario_folders(old, manifest) if kind in RESULT_FILES else {}
    except (OSError, ValueError, KeyError, TypeError, IndexError, AttributeError):
        return kind, []  # its own top files are still its own (its tables go to the kept folder)
    rel = []
    for folder in folders.values():
        try:
            r = Path(folder).relative_to(old)
        except (ValueError, TypeError):
            continue
        if ".." not in r.parts:
            rel.append(r)
    return kind, rel


def _own_folders(kind: str | None, scenarios: list[Path]) -> list[Path]:
    """Folders (relative) that the earlier result, of ``kind``, made, deepest first: its figures/,
    a district's streets/ and the folders its manifest names (``scenarios``)."""
    rel = {Path("figures")} if kind in KIND_FIGURES else set()
    rel |= {Path("streets")} if kind == "district" else set()
    rel |= {*scenarios}
    return sorted((r for r in rel if r.parts), key=lambda r: -len(r.parts))


def _remove_empty_own_folders(old: Path, kind: str | None, scenarios: list[Path]) -> None:
    for rel in _own_folders(kind, scenarios):
        folder = old / rel
        if _inside(old, rel) and folder.is_dir() and not folder.is_symlink() and not any(folder.iterdir()):
            folder.rmdir()


def _inside(old: Path, rel: Path) -> bool:
    """Every folder on the way from ``old`` to ``old/rel`` is a real folder (no link that leads
    elsewhere: a file there is not the earlier result's)."""
    here = old
    for part in rel.parts[:-1]:
        here = here / part
        if here.is_symlink() or not here.is_dir():
            return False
    return True


def _remove_own_file(old: Path, rel: Path) -> None:
    """Remove ``old/rel`` if it is a regular file inside ``old`` (streetsim writes nothing else)."""
    path = old / rel
    if _inside(old, rel) and not path.is_symlink() and path.is_file():
        path.unlink()


def temporary_name(final: Path) -> Path:
    """Where a folder is written before it is moved to ``final``: beside it, as
    ``.<name>.tmp-<host>-<pid>-<hex8>``, so remove_dead_writers_files can tell a dead writer's."""
    final = Path(final)
    return final.parent / f".{final.name}.tmp-{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:8]}"


def write_whole(final: Path, write) -> list[Path]:
    """Call ``write(tmp)`` with a new temporary folder beside ``final``; it returns the files it
    wrote there. Only when it returns are they moved into ``final`` (the folder renamed when
    ``final`` is new, else file by file, each replacing the file of that name); on any failure
    the temporary folder is removed and ``final`` is as it was. Returns the files in ``final``."""
    final = Path(final)
    if final.is_symlink() or (final.exists() and not final.is_dir()):  # checked before anything is drawn
        raise ScenarioError(final, "", "is not a folder (a file or a link); move it away to write here")
    tmp = temporary_name(final)
    tmp.mkdir()  # the user's umask, as AtomicFolder's
    try:
        rel = [Path(p).relative_to(tmp) for p in write(tmp)]
        if not final.exists() and not final.is_symlink():
            tmp.rename(final)
        else:
            for r in rel:
                (final / r).parent.mkdir(parents=True, exist_ok=True)
                os.replace(tmp / r, final / r)
        return [final / r for r in rel]
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def write_atomic(path: Path, write) -> None:
    """Call ``write(tmp_path)``, then move the file into place in one rename."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:8]}.tmp")
    try:
        write(tmp)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


TEMPORARY_FOLDER = re.compile(r"\..+\.tmp-(?P<host>.+)-(?P<pid>[0-9]{1,10})-[0-9a-f]{8}")  # temporary_name's


def remove_dead_writers_files(out: Path, recursive: bool = True) -> int:
    """Remove the temporary files write_atomic left under ``out`` when its process was killed
    mid-write (never read: a sweep runs their runs again, a figure is drawn again), and the
    temporary folders (temporary_name: a drawing of figures killed before its files were moved
    into place). Only this host's, and only those whose writer is gone: a shard writing now on
    this or another host keeps its file. A folder only if it is a real folder (not a link) named
    as temporary_name names one. ``recursive=False``: only what is directly in ``out``."""
    host = socket.gethostname()
    found = list(Path(out).rglob(".*") if recursive else Path(out).glob(".*"))  # listed before removing
    removed = 0
    for tmp in sorted(found, key=lambda p: len(p.parts)):  # a folder before what is in it
        if tmp.is_symlink() or not tmp.exists():  # gone with a dead writer's folder
            continue
        if tmp.is_dir():
            m = TEMPORARY_FOLDER.fullmatch(tmp.name)
            if m and m["host"] == host and not alive(int(m["pid"])):
                shutil.rmtree(tmp)
                removed += 1
            continue
        if not tmp.name.endswith(".tmp"):
            continue
        name = tmp.name.removesuffix(".tmp").rsplit("-", 2)  # .<file>.<host>-<pid>-<tag>.tmp
        if len(name) != 3:
            continue
        head, pid, tag = name
        if head.endswith(f".{host}") and pid.isdigit() and len(pid) <= 10 and len(tag) == 8 and not alive(int(pid)):
            tmp.unlink(missing_ok=True)
            removed += 1
    return removed


# What a compare's or a district's folder holds besides a folder per scenario or street: a
# scenario or street of one of these names would be written over them, or they over it.
OWN_NAMES = (*dict.fromkeys(f for files in RESULT_FILES.values() for f in files), "figures", *REPORTS, "report.json")


def subfolder_name_clash(name: str, earlier, beside_own_files: bool = True) -> str | None:
    """Why ``name`` cannot be a scenario's or a street's folder beside the ``earlier`` ones in
    one result folder, or None. Names are compared ignoring case and Unicode's two spellings of
    one letter (é as one character or as e and an accent): on a file system that ignores case
    (macOS, a Windows share) two such folders are one, and two names that look the same on screen
    would be two folders elsewhere. ``beside_own_files``: the folders sit beside the result's own
    files (a compare's; a district's streets are under streets/)."""
    key = _folder_key(name)
    own = next((n for n in OWN_NAMES if _folder_key(n) == key), None) if beside_own_files else None
    if own:
        return f"{name!r} is the name of the result folder's own {own}; choose another name"
    same = next((n for n in earlier if _folder_key(n) == key), None)
    if same == name:
        return f"{name!r} is named twice; names must differ"
    if same:
        return (f"{name!r} and {same!r} differ only in case or in how a letter is encoded; on some file systems "
                "their folders are one")  # fmt: skip
    return None


def _folder_key(name: str) -> str:
    """What makes two folder names one: the same letters in NFC, ignoring case."""
    return unicodedata.normalize("NFC", name).casefold()
