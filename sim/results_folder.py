"""Where a command's results go (``--out``), and writing them so nothing is lost.

One rule: no command deletes anything it did not write. ``--out`` may be a new folder, an empty
folder, or an earlier result of the same kind (a ``manifest.json`` with the same ``kind``), and
replacing an earlier result needs ``--force``. Results are written into a temporary folder
beside ``--out`` and moved into place only when complete; an earlier result is removed only
after the new one is in place. Folders are created with the user's umask (not ``drwx------``),
so colleagues on a shared cluster can read them.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import stat
import time
import uuid
from pathlib import Path

from sim import limits
from sim.processes import alive
from sim.scenario import SAFE_NAME, ScenarioError, control_character

NAME_MAX = 255  # bytes in one file name on Linux file systems (ext4, xfs, NFS)


def suffix_room() -> int:
    """What a temporary name adds to the name it stands for: a folder's ".<name>.tmp-<pid>-<hex>"
    (AtomicFolder) 40 bytes; a file's ".<name>.<host>-<pid>-<hex8>.tmp" (write_atomic) 24 and
    the host's name, which on a cluster node can be long."""
    return max(40, 24 + len(os.fsencode(socket.gethostname())))


# What `figures` draws from. `report` also takes a staffing folder: its report.json makes the annex.
FIGURE_KINDS = ("run", "compare", "district", "sweep")
REPORT_KINDS = (*FIGURE_KINDS, "staffing")
# Folders whose command draws their figures itself, in both languages, from what only it holds
# (the staffings searched, the posterior draws): `figures` says where they are, draws nothing.
DRAWN_BY_THEIR_COMMAND = {"staffing": "streetsim staff", "calibration": "streetsim calibrate"}
CALIBRATION_MANIFEST = "calibration.json"  # a calibration's manifest (sim.calibrate.fit.MANIFEST)


# What sim.runner.write_tables writes for each scenario (a run, each of a compare's, each street
# of a district) that the figures read; the report reads the resolved scenario too.
FIGURE_TABLES = ("summary.csv", "timeseries.parquet", "roles.csv")
REPORT_TABLES = (*FIGURE_TABLES, "scenario.resolved.yaml")


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
        facts = json.loads(read_own_text(manifest))
        kind = facts.get("kind")
    except (ValueError, AttributeError, OSError) as e:
        raise ScenarioError(manifest, "", f"not a readable manifest: {str(e).splitlines()[0][:120]}") from None
    if kind not in kinds and kind in DRAWN_BY_THEIR_COMMAND:
        raise _drawn_by_their_command(folder, kind)
    if kind not in kinds:
        raise ScenarioError(manifest, "kind", f"unknown kind {kind!r} (expected one of {', '.join(kinds)})")
    import pandas as pd  # the tables' readers load once the manifest is known to be good
    import pyarrow.parquet as pq

    for f in sorted(folder.rglob("*.csv")):
        try:
            _check_regular(f)
            if pd.read_csv(f, nrows=2).empty:
                raise ValueError("no rows")
        except (ValueError, OSError, pd.errors.ParserError) as e:
            raise ScenarioError(f, "", f"damaged or empty table: {str(e).splitlines()[0][:120] or 'no data'}") from None
    # a sweep's part files are the store's to check: it reports and skips damaged ones
    store_parts = {"sweep": {"parts", "timeseries"}, "staffing": {"runs"}}.get(kind, set())
    for f in sorted(p for p in folder.rglob("*.parquet") if not store_parts & set(p.relative_to(folder).parts[:1])):
        try:
            _check_regular(f)
            pq.read_metadata(f)
        except Exception as e:  # pyarrow raises several types for a damaged file
            raise ScenarioError(f, "", f"damaged Parquet file: {str(e).splitlines()[0][:120]}") from None
    if kind in ("run", "compare", "district"):  # nothing is drawn from a folder that lacks a table
        _check_facts(manifest, facts)
        _check_scenario_tables(folder, facts, tables)
    return folder


def _check_facts(manifest: Path, facts: dict) -> None:
    """What figures and the report take from a run's, compare's or district's manifest, as
    streetsim writes it. A hand-edited manifest is one line, not a name followed out of the
    folder ("..", "/etc"), a Python error's wording, or nonsense printed as a fact."""
    for key in ("scenario_names", "street_names"):
        names = facts.get(key)
        if names is None and (key == "street_names" or facts["kind"] == "run"):
            continue  # older manifests of a run, and district manifests before street_names
        if not (isinstance(names, list) and names and len(set(map(str, names))) == len(names)
                and all(isinstance(n, str) and len(n) <= limits.MAX_NAME_CHARS and re.fullmatch(SAFE_NAME, n)
                        for n in names)):  # fmt: skip
            raise ScenarioError(manifest, key, "not a list of distinct scenario names as streetsim writes them "
                                "(each a folder inside this one)")  # fmt: skip
    scenarios = facts.get("scenarios")
    if not (isinstance(scenarios, list) and all(isinstance(p, str) for p in scenarios)):
        raise ScenarioError(manifest, "scenarios", "not a list of scenario files as streetsim writes it")
    replications, seed = facts.get("replications"), facts.get("seed")
    if type(replications) is not int or not 1 <= replications <= limits.MAX_REPLICATIONS:
        raise ScenarioError(manifest, "replications", f"not a whole number from 1 to {limits.MAX_REPLICATIONS:,}")
    if type(seed) is not int or seed < 0:
        raise ScenarioError(manifest, "seed", "not a whole number >= 0")


def read_own_text(path: Path) -> str:
    """A file streetsim wrote into a results folder (a manifest), as text. Opened without waiting
    and read only if it is a regular file: a named pipe in its place blocked the read forever,
    a device never ended. OSError otherwise (callers say the file is not readable)."""
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    with os.fdopen(fd, "rb") as f:
        _check_regular(path, os.fstat(fd).st_mode)
        return f.read().decode("utf-8")


def _check_regular(path: Path, mode: int | None = None) -> None:
    """OSError unless ``path`` is a regular file (what a results folder's files all are)."""
    if not stat.S_ISREG(path.stat().st_mode if mode is None else mode):
        raise OSError("not a regular file (a named pipe, device or folder)")


def _drawn_by_their_command(folder: Path, kind: str) -> ScenarioError:
    return ScenarioError(folder, "", f"a {kind} folder: `{DRAWN_BY_THEIR_COMMAND[kind]}` already drew its figures, "
                         f"in Chinese and English, into {folder / 'figures'}/; `streetsim report {folder}` "
                         "typesets them into the annex (nothing drawn)")


def scenario_folders(results_dir: Path, manifest: dict) -> dict[str, Path]:
    """Each scenario's folder in a run, compare or district results folder, by name."""
    if manifest.get("kind") == "compare":
        return {n: results_dir / n for n in manifest["scenario_names"]}
    if manifest.get("kind") == "district":
        names = manifest.get("street_names") or sorted(p.name for p in (results_dir / "streets").iterdir())
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


def manifest_kind(folder: Path) -> str | None:
    """The ``kind`` a streetsim manifest names, or None if there is no readable manifest."""
    try:  # a named pipe is not waited on
        m = json.loads(read_own_text(folder / "manifest.json"))
    except (OSError, ValueError):
        return None
    return m.get("kind") if isinstance(m, dict) else None


def unreadable(path: Path) -> str | None:
    """Why the file ``path`` cannot be read (a folder, no permission, ...), or None if it can. Only
    a regular file can: a named pipe waits for a writer, and a link to /dev/zero (size 0 to a size
    check) never ends."""
    try:
        _check_regular(path)
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
    """

    def __init__(self, out: Path, kind: str | None = None):
        self.out, self.kind = Path(out), kind

    def __enter__(self) -> Path:
        self.out.parent.mkdir(parents=True, exist_ok=True)  # mode 0o777 & ~umask
        self.tmp = self.out.parent / f".{self.out.name}.tmp-{os.getpid()}-{uuid.uuid4().hex[:8]}"
        self.tmp.mkdir()  # not tempfile.mkdtemp: that makes drwx------, unreadable to colleagues
        return self.tmp

    def __exit__(self, exc_type, exc, tb):
        if exc_type is not None:
            shutil.rmtree(self.tmp, ignore_errors=True)
            return False
        try:
            self._move_into_place()
        except OSError as e:
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
        out.rename(old)  # the earlier result stays whole until the new one is in place
        self.tmp.rename(out)
        shutil.rmtree(old)


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


def remove_dead_writers_files(out: Path) -> int:
    """Remove the temporary files write_atomic left under ``out`` when its process was killed
    mid-write (never read: a sweep runs their runs again, a figure is drawn again). Only this
    host's, and only those whose writer is gone: a shard writing now on this or another host
    keeps its file."""
    host = socket.gethostname()
    removed = 0
    for tmp in Path(out).rglob(".*.tmp"):
        name = tmp.name.removesuffix(".tmp").rsplit("-", 2)  # .<file>.<host>-<pid>-<tag>.tmp
        if len(name) != 3:
            continue
        head, pid, tag = name
        if head.endswith(f".{host}") and pid.isdigit() and len(tag) == 8 and not alive(int(pid)):
            tmp.unlink(missing_ok=True)
            removed += 1
    return removed


# What a compare's or a district's folder holds besides a folder per scenario or street: a
# scenario or street of one of these names would be written over them, or they over it.
OWN_NAMES = ("manifest.json", "comparison.csv", "summary.csv", "streets.csv", "districts.csv", "figures",
             "report_zh.pdf", "report_en.pdf", "report.json")  # fmt: skip


def subfolder_name_clash(name: str, earlier) -> str | None:
    """Why ``name`` cannot be a scenario's or a street's folder beside the ``earlier`` ones in
    one result folder, or None. Names are compared ignoring case: on a file system that ignores
    case (macOS, a Windows share) two such folders are one."""
    own = next((n for n in OWN_NAMES if n.casefold() == name.casefold()), None)
    if own:
        return f"{name!r} is the name of the result folder's own {own}; choose another name"
    same = next((n for n in earlier if n.casefold() == name.casefold()), None)
    if same == name:
        return f"{name!r} is named twice; names must differ"
    if same:
        return f"{name!r} and {same!r} differ only in case; on a file system that ignores case their folders are one"
    return None
