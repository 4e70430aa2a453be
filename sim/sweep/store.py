"""The sweep store: ``results/<experiment>/``.

    manifest.json          kind "sweep", the design, seeds, code version, the experiment file's text
    design.parquet         one row per run: run_id, point, replication, one column per parameter
    parts/part-*.parquet   one row per finished run: run_id, status, error, seconds, worker, KPIs
    timeseries/part-*.parquet   daily series (when the experiment keeps them), by run_id; one
                           file per part file, of the same name

Part files are written by whoever ran the runs (a local process, a Dask worker, a SLURM array
task), to a temporary name and then renamed with ``os.replace``, so a reader never sees half a
file and a killed writer leaves nothing behind that counts. A run is finished once its row is in
a readable part file and, when the sweep keeps time series, its series is in the part's readable
time series file; that is what a re-run skips.

Every Parquet file carries page checksums, and every read checks them, so a byte changed later
is found, not read as a number. A damaged part or time series file (truncated, zeroed,
overwritten, a series missing) is reported in one line and, when a sweep runs, set aside with its
partner as ``damaged-<name>`` (kept, not deleted: it may help to see what happened); its runs
count as not stored, so the next ``streetsim sweep`` runs them again. A damaged manifest.json or
design.parquet is rewritten from the experiment file by the next sweep (``run.prepare``). Reading
never counts a run twice: rows are de-duplicated by run_id (a success outranks a recorded failure).
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from sim import results_folder
from sim.scenario import ScenarioError, printable

PARTS = "parts"
TIMESERIES = "timeseries"
MANIFEST = "manifest.json"
DESIGN = "design.parquet"
LOCK = ".lock"  # and .lock-guard: see sim.sweep.run.sweep_lock
SHARD_LOCKS = ".locks"


def write_parquet(path: Path, table: pd.DataFrame) -> None:
    """Atomically, with page checksums (read_table checks them)."""
    results_folder.write_atomic(path, lambda p: table.to_parquet(p, index=False, write_page_checksum=True))


class Damaged(ValueError):
    """A file the store wrote cannot be read back as written; ``file`` names it."""

    def __init__(self, file: Path, reason: str):
        self.file, self.reason = Path(file), reason
        super().__init__(f"{file}: {reason}")


def read_table(f: Path, columns: list[str] | None = None) -> pa.Table:
    """A Parquet file of the store, every page read checked against its checksum."""
    try:
        return pq.read_table(f, columns=columns, page_checksum_verification=True)
    except FileNotFoundError:
        raise
    except Exception as e:  # pyarrow raises ArrowInvalid, OSError, ... for a damaged file
        first = str(e).splitlines()[0][:150] if str(e) else ""
        raise Damaged(f, f"{type(e).__name__}: {first}") from None


def write_part(out: Path, name: str, rows: pd.DataFrame, series: pd.DataFrame | None = None) -> None:
    """Store a chunk's rows. The time series go first: a run counts as finished only when its
    row is in ``parts/``, and by then its series are already there."""
    out = Path(out)
    if series is not None and len(series):
        write_parquet(out / TIMESERIES / f"{name}.parquet", series)
    write_parquet(out / PARTS / f"{name}.parquet", rows)


def part_files(out: Path, kind: str = PARTS) -> list[Path]:
    return sorted((Path(out) / kind).glob("part-*.parquet"))


def series_file(part: Path) -> Path:
    return part.parent.parent / TIMESERIES / part.name


def read_part(f: Path) -> pa.Table:
    """A part file as a pyarrow Table; Damaged if it cannot be read or lacks run_id/status."""
    t = read_table(f)
    missing = {"run_id", "status"} - set(t.column_names)
    if missing:
        raise Damaged(f, f"no column {', '.join(sorted(missing))}")
    if not all(_is_text(t.schema.field(c).type) for c in ("run_id", "status")):
        raise Damaged(f, "run_id or status is not text")
    return t


def _is_text(kind: pa.DataType) -> bool:
    return pa.types.is_string(kind) or pa.types.is_large_string(kind)


def read_series(part: Path, rows: pa.Table, needed: set[str]) -> pa.Table | None:
    """The part's time series file, checked to hold a series for every successful run of the part
    that ``needed`` names (the current design's runs, when the sweep keeps series)."""
    ok = rows.filter(pc.equal(rows.column("status"), "ok")).column("run_id").to_pylist()
    want = needed.intersection(ok)
    f = series_file(part)
    if not want:
        return None  # nothing of the current design needs it (an older design's, or none kept)
    try:
        t = read_table(f)
    except FileNotFoundError:
        raise Damaged(f, "missing") from None
    if not {"run_id", "day"} <= set(t.column_names) or not _is_text(t.schema.field("run_id").type):
        raise Damaged(f, "no text column run_id or no column day")
    lacking = want - set(pc.unique(t.column("run_id")).to_pylist())
    if lacking:
        raise Damaged(f, f"no series for {len(lacking)} of the part's {len(want)} runs")
    return t


def set_aside(part: Path, damage: Damaged, heal: bool) -> None:
    """Report a damaged file in one line; when healing, rename the part file and its time series
    file so that neither counts and the runs are run again."""
    kind = "time series file" if damage.file.parent.name == TIMESERIES else "part file"
    if heal:
        partner = series_file(part)
        try:
            os.replace(part, part.with_name(f"damaged-{part.name}"))
        except FileNotFoundError:  # another shard set it aside first
            return
        try:
            os.replace(partner, partner.with_name(f"damaged-{partner.name}"))
        except FileNotFoundError:  # none kept, or deleted: nothing to set aside
            pass
        what = "set aside with its partner; its runs will be run again"
    else:
        what = "its runs count as not stored; `streetsim sweep` runs them again"
    print(printable(f"warning: damaged {kind} {damage.file} ({damage.reason}): {what}"), file=sys.stderr)


def runs_needing_series(out: Path) -> set[str]:
    """run_ids of the current design when the sweep keeps time series (parts of an older design
    in the folder may lack them), else none."""
    try:
        keeps = read_manifest(out).get("timeseries")
    except (OSError, ValueError, AttributeError):
        keeps = None
    if not keeps:
        return set()
    try:
        return set(read_table(Path(out) / DESIGN, ["run_id"]).column("run_id").to_pylist())
    except (OSError, Damaged):
        return set()


def stored_parts(out: Path, heal: bool = False) -> Iterator[tuple[Path, pa.Table, pa.Table | None]]:
    """(part file, its rows, its series or None) for every part whose files are all readable and
    complete; the others reported in one line each (and set aside if ``heal``)."""
    needed = runs_needing_series(out)
    for f in part_files(out):
        try:
            rows = read_part(f)
            series = read_series(f, rows, needed)
        except FileNotFoundError:
            continue  # replaced meanwhile by a retried chunk, or set aside by another shard
        except Damaged as damage:
            set_aside(f, damage, heal)
            continue
        yield f, rows, series


def finished(out: Path, heal: bool = True) -> dict[str, str]:
    """run_id -> status ("ok" or "failed") of every stored run."""
    done: dict[str, str] = {}
    for _f, t, _series in stored_parts(out, heal):
        for rid, status in zip(t.column("run_id").to_pylist(), t.column("status").to_pylist()):
            if done.get(rid) != "ok":  # a success outranks an earlier recorded failure
                done[rid] = status
    return done


def drop_failed(out: Path, run_ids: set[str]) -> int:
    """Remove failed rows for ``run_ids`` from their part files (before retrying them)."""
    n = 0
    for f, t, _series in stored_parts(out, heal=True):
        t = t.to_pandas()
        bad = t["run_id"].isin(run_ids) & (t["status"] != "ok")
        if bad.any():
            n += int(bad.sum())
            keep = t[~bad]
            if len(keep):
                write_parquet(f, keep)
            else:
                f.unlink()
    return n


def read_manifest(out: Path) -> dict:
    """The manifest; ValueError if it is not a JSON object (damaged)."""
    manifest = results_folder.read_json(Path(out) / MANIFEST)
    if not isinstance(manifest, dict):
        raise ValueError(f"a JSON {type(manifest).__name__}, not an object")
    return manifest


def write_manifest(out: Path, manifest: dict) -> None:
    text = json.dumps(manifest, indent=2, default=str) + "\n"
    results_folder.write_atomic(Path(out) / MANIFEST, lambda p: p.write_text(text, encoding="utf-8"))


def write_design(out: Path, design: pd.DataFrame) -> None:
    write_parquet(Path(out) / DESIGN, design)


def read_design(out: Path) -> pd.DataFrame:
    """design.parquet; Damaged if it cannot be read or has no run_id (``streetsim sweep`` rewrites it)."""
    t = read_table(Path(out) / DESIGN)
    if not {"run_id", "point", "replication"} <= set(t.column_names):
        raise Damaged(Path(out) / DESIGN, "no column run_id, point or replication")
    return t.to_pandas()


def read_results(out: str | Path, status: str | None = None, design: pd.DataFrame | None = None) -> pd.DataFrame:
    """Every run of the sweep as one table: the design (run_id, point, replication, parameters)
    joined with what the runs stored (status, error, seconds, worker, KPIs). Runs not yet done,
    or whose files are damaged, have status "pending". Rows from an older design in the same
    folder are left out.

    ``status="ok"`` keeps successful runs only. ``design`` (a Plan's design_table()) instead of
    design.parquet: for a reader whose design another process may have replaced meanwhile.
    """
    out = Path(out)
    design = read_design(out) if design is None else design
    parts = [t.to_pandas() for _f, t, _series in stored_parts(out)]
    if parts:
        runs = pd.concat(parts, ignore_index=True)
        # one row per run_id even if a failure was later retried successfully
        runs["_ok"] = runs["status"] == "ok"
        runs = runs.sort_values("_ok").drop_duplicates("run_id", keep="last").drop(columns="_ok")
        runs = runs.drop(columns=[c for c in ("point", "replication") if c in runs.columns])
        table = design.merge(runs, on="run_id", how="left")
        table["status"] = table["status"].fillna("pending")
    else:
        table = design.assign(status="pending")
    table = table.sort_values(["point", "replication"]).reset_index(drop=True)
    if status is not None:
        table = table[table["status"] == status].reset_index(drop=True)
    return table


def read_timeseries(out: str | Path) -> pd.DataFrame:
    """Daily series of every stored run (``timeseries:`` in the experiment), with the design's
    point, replication and parameter columns. Series of runs whose part file is damaged are left
    out with them."""
    out = Path(out)
    design = read_design(out)
    tables = [series.to_pandas() for _f, _rows, series in stored_parts(out) if series is not None]
    if not tables:
        return design.iloc[0:0]
    ts = pd.concat(tables, ignore_index=True).drop_duplicates(["run_id", "day"], keep="last")
    return design.merge(ts, on="run_id", how="inner")


def check_store(out: Path) -> None:
    """What ``sweep-results`` needs before reading: a sweep manifest and its design."""
    results_folder.check_path_readable(out)
    if not out.is_dir():
        raise ScenarioError(out, "", "folder not found" if not out.exists() else "not a folder")
    if not (out / MANIFEST).exists():
        raise ScenarioError(out, "", "no manifest.json: not a sweep's results folder")
    try:
        manifest = read_manifest(out)
    except (ValueError, OSError) as e:
        raise ScenarioError(out / MANIFEST, "", f"damaged, not a readable manifest ({str(e).splitlines()[0][:120]}); "
                            "run `streetsim sweep` again to rewrite it") from None  # fmt: skip
    if manifest.get("kind") != "sweep":
        raise ScenarioError(out / MANIFEST, "kind", f"{manifest.get('kind')!r}: not a sweep's results folder")
    try:
        read_design(out)
    except FileNotFoundError:
        raise ScenarioError(out, "", "no design.parquet: the sweep never started here (run `streetsim sweep`)") from None
    except Damaged as e:
        raise ScenarioError(e.file, "", f"damaged ({e.reason}); run `streetsim sweep` again to rewrite it") from None
    design = manifest.get("design")
    if not isinstance(design, dict) or not isinstance(design.get("parameters"), dict) or "kpis" not in manifest:
        raise ScenarioError(out / MANIFEST, "design", "missing or damaged; run `streetsim sweep` again to rewrite it")


# Commands whose runs are a sweep store inside their own --out (staff: runs/; calibrate:
# predict/ and waves/wave-K/), by the manifest each writes at the top of that folder
PLANNERS = {"manifest.json": "staffing", results_folder.CALIBRATION_MANIFEST: "calibration"}


def check_out(out) -> Path:
    """A sweep's --out: new, empty, or a sweep's store (resumed, never replaced), and not the run
    store of a staffing plan or a calibration. One line otherwise."""
    out = results_folder.check_name(out)
    planner = _planner_above(out)
    if planner is not None:
        folder, kind = planner
        raise ScenarioError("--out", "", f"{out} is inside {folder}, a {kind} folder whose runs are its own; give the "
                            "sweep a folder of its own (nothing was changed)")  # fmt: skip
    if out.exists():
        if not out.is_dir():
            raise ScenarioError("--out", "", f"{out} is a file, not a folder")
        kind = results_folder.manifest_kind(out)
        if kind is None and (out / MANIFEST).exists() and any((out / f).exists() for f in (DESIGN, PARTS)):
            kind = "sweep"  # a sweep's store whose manifest is damaged: prepare() rewrites it
        if kind is None and any(out.iterdir()) and not _being_started(out):
            raise ScenarioError("--out", "", f"{out} exists and is not a sweep's results folder; choose a new folder "
                                "(nothing was changed)")  # fmt: skip
        if kind not in (None, "sweep"):
            raise ScenarioError("--out", "", f"{out} holds {kind} results, not a sweep's; choose another folder")
    results_folder.check_writable(out)
    return out


def _planner_above(out: Path) -> tuple[Path, str] | None:
    """The staffing plan or calibration folder ``out`` is inside (up to two levels up), if any:
    a sweep written there mixed its runs and design into the planner's store."""
    resolved = results_folder.resolve(out, "--out")
    for folder in list(resolved.parents)[:2]:
        kind = _planner_kind(folder)
        if kind is not None:
            return folder, kind
    return None


def _planner_kind(folder: Path) -> str | None:
    """``staffing`` or ``calibration`` if ``folder`` is that command's --out, finished or not."""
    from sim import provenance

    for name, kind in PLANNERS.items():
        try:
            found = results_folder.read_json(folder / name)
        except (OSError, ValueError):
            continue
        if isinstance(found, dict) and found.get("kind") == kind:
            return kind
    # a plan still searching, or stopped: its manifest.json comes at the end, its code record
    # first (before runs/); only the planner writes one there
    if (folder / provenance.RECORD).is_file():
        return "staffing"
    return None


def _being_started(out: Path) -> bool:
    """A sweep (another shard of the array) has taken the folder and is writing its design and
    manifest: nothing in it but its lock files and what the store writes, finished or not."""
    names = {f.name for f in out.iterdir()}
    ours = {LOCK, f"{LOCK}-guard", SHARD_LOCKS, DESIGN, MANIFEST, PARTS, TIMESERIES}
    return bool(names & {LOCK, f"{LOCK}-guard"}) and all(n in ours or (n.startswith(".") and n.endswith(".tmp")) for n in names)
