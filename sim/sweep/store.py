"""The sweep store: ``results/<experiment>/``.

    manifest.json          kind "sweep", the design, seeds, code version, the experiment file's text
    design.parquet         one row per run: run_id, point, replication, one column per parameter
    parts/part-*.parquet   one row per finished run: run_id, status, error, seconds, worker, KPIs
    timeseries/part-*.parquet   daily series (when the experiment keeps them), by run_id

Part files are written by whoever ran the runs (a local process, a Dask worker, a SLURM array
task), to a temporary name and then renamed with ``os.replace``, so a reader never sees half a
file and a killed writer leaves nothing behind that counts. A run is finished once its row is in
a part file; that is what a re-run skips.

A part file damaged afterwards (truncated, zeroed, overwritten) is reported in one line and
set aside as ``parts/damaged-<name>`` (kept, not deleted: it may help to see what happened); its
runs count as not stored, so the next ``streetsim sweep`` runs them again. Reading never counts
a run twice: rows are de-duplicated by run_id (a success outranks a recorded failure).
"""

from __future__ import annotations

import json
import os
import socket
import sys
import uuid
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq

PARTS = "parts"
TIMESERIES = "timeseries"
MANIFEST = "manifest.json"
DESIGN = "design.parquet"


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


def write_part(out: Path, name: str, rows: pd.DataFrame, series: pd.DataFrame | None = None) -> None:
    """Store a chunk's rows. The time series go first: a run counts as finished only when its
    row is in ``parts/``, and by then its series are already there."""
    out = Path(out)
    if series is not None and len(series):
        write_atomic(out / TIMESERIES / f"{name}.parquet", lambda p: series.to_parquet(p, index=False))
    write_atomic(out / PARTS / f"{name}.parquet", lambda p: rows.to_parquet(p, index=False))


def part_files(out: Path, kind: str = PARTS) -> list[Path]:
    return sorted((Path(out) / kind).glob("part-*.parquet"))


class DamagedPart(Exception):
    pass


def read_part(f: Path, columns: list[str] | None = None):
    """A part file as a pyarrow Table; DamagedPart if it cannot be read or lacks run_id/status."""
    try:
        t = pq.read_table(f, columns=columns)
    except FileNotFoundError:
        raise
    except Exception as e:  # pyarrow raises ArrowInvalid, OSError, ... for a damaged file
        raise DamagedPart(f"{type(e).__name__}: {str(e).splitlines()[0][:150] if str(e) else ''}") from None
    missing = {"run_id", "status"} - set(t.column_names)
    if missing:
        raise DamagedPart(f"no column {', '.join(sorted(missing))}")
    return t


def set_aside(f: Path, reason: str, heal: bool) -> None:
    """Report a damaged part file in one line; when healing, rename it so it no longer counts."""
    if heal:
        try:
            os.replace(f, f.with_name(f"damaged-{f.name}"))
        except FileNotFoundError:  # another shard set it aside first
            return
        what = "set aside; its runs will be run again"
    else:
        what = "skipped; `streetsim sweep` runs its runs again"
    print(f"warning: damaged part file {f} ({reason}): {what}", file=sys.stderr)


def readable_parts(out: Path, kind: str = PARTS, columns: list[str] | None = None, heal: bool = False):
    """(file, table) for every readable part file; damaged ones reported (and set aside if heal)."""
    for f in part_files(out, kind):
        try:
            t = read_part(f, columns) if kind == PARTS else pq.read_table(f, columns=columns)
        except FileNotFoundError:
            continue  # replaced meanwhile by a retried chunk, or set aside by another shard
        except DamagedPart as e:
            set_aside(f, str(e), heal)
            continue
        except Exception as e:
            set_aside(f, f"{type(e).__name__}", heal)
            continue
        yield f, t


def finished(out: Path, heal: bool = True) -> dict[str, str]:
    """run_id -> status ("ok" or "failed") of every stored run. Reads two columns per file only."""
    done: dict[str, str] = {}
    for _f, t in readable_parts(out, PARTS, ["run_id", "status"], heal):
        for rid, status in zip(t.column("run_id").to_pylist(), t.column("status").to_pylist()):
            if done.get(rid) != "ok":  # a success outranks an earlier recorded failure
                done[rid] = status
    return done


def drop_failed(out: Path, run_ids: set[str]) -> int:
    """Remove failed rows for ``run_ids`` from their part files (before retrying them)."""
    n = 0
    for f, t in readable_parts(out, PARTS, heal=True):
        t = t.to_pandas()
        bad = t["run_id"].isin(run_ids) & (t["status"] != "ok")
        if bad.any():
            n += int(bad.sum())
            keep = t[~bad]
            if len(keep):
                write_atomic(f, lambda p, k=keep: k.to_parquet(p, index=False))
            else:
                f.unlink()
    return n


def read_manifest(out: Path) -> dict:
    return json.loads((Path(out) / MANIFEST).read_text(encoding="utf-8"))


def write_manifest(out: Path, manifest: dict) -> None:
    text = json.dumps(manifest, indent=2, default=str) + "\n"
    write_atomic(Path(out) / MANIFEST, lambda p: p.write_text(text, encoding="utf-8"))


def write_design(out: Path, design: pd.DataFrame) -> None:
    write_atomic(Path(out) / DESIGN, lambda p: design.to_parquet(p, index=False))


def read_results(out: str | Path, status: str | None = None, design: pd.DataFrame | None = None) -> pd.DataFrame:
    """Every run of the sweep as one table: the design (run_id, point, replication, parameters)
    joined with what the runs stored (status, error, seconds, worker, KPIs). Runs not yet done
    have status "pending". Rows from an older design in the same folder are left out.

    ``status="ok"`` keeps successful runs only. ``design`` (a Plan's design_table()) instead of
    design.parquet: for a reader whose design another process may have replaced meanwhile.
    """
    out = Path(out)
    design = pd.read_parquet(out / DESIGN) if design is None else design
    parts = [t.to_pandas() for _f, t in readable_parts(out, PARTS)]
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
    point, replication and parameter columns."""
    out = Path(out)
    files = part_files(out, TIMESERIES)
    design = pd.read_parquet(out / DESIGN)
    if not files:
        return design.iloc[0:0]
    tables = [t.to_pandas() for _f, t in readable_parts(out, TIMESERIES)]
    if not tables:
        return design.iloc[0:0]
    ts = pd.concat(tables, ignore_index=True).drop_duplicates(["run_id", "day"], keep="last")
    return design.merge(ts, on="run_id", how="inner")
