"""History matching in waves: rule out the parameter region where the model cannot give what was
observed, wave by wave, with emulators refitted to every run so far.

Wave 1 is a Latin hypercube over the whole range. After each wave, one emulator per observed row
is fitted to all runs, and a candidate point is *non-implausible* when every row's implausibility
is below the cutoff (3: for any unimodal distribution, at least 95% of the mass lies within three
standard deviations). The next wave's points are spread over the non-implausible region
(greedy maximin). A row that no point in the whole range brings below the cutoff is
*irreconcilable*: it is reported with how far the model stays from it, and left out of the
region (and of the posterior) instead of dragging the fit.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from sim.calibrate import emulator
from sim.calibrate.observed import Calibration
from sim.calibrate.simulate import Execution, run_batch
from sim.calibrate.space import Space, maximin_subset

BOX_MARGIN = 0.05  # the next candidates' box reaches this share of the range beyond the region
MIN_REGION = 2000  # candidates wanted in the final region (more rounds are drawn if fewer)
LEAST_IMPLAUSIBLE_SHARE = 0.01  # with no joint fit: keep this share of candidates, the least implausible


@dataclass
class Wave:
    index: int
    u: np.ndarray  # design points (unit cube)
    runs: int
    ran: int
    stored: int
    failed: int
    region_share: float = float("nan")  # non-implausible share of the whole prior box
    irreconcilable: list[int] = field(default_factory=list)
    joint_fit: bool = True


@dataclass
class History:
    waves: list[Wave]
    runs: pd.DataFrame  # every finished run: wave, point, replication, u0..ud-1, parameters, quantities
    emulators: list[emulator.Emulator]  # fitted to every run, one per observed row
    region: np.ndarray  # candidates (unit cube) of the final region
    region_imp: np.ndarray  # their implausibility, (n, rows)
    min_imp: np.ndarray  # per row: the smallest implausibility anywhere in the prior box
    best_u: np.ndarray  # per row: where that smallest implausibility is
    irreconcilable: list[int]
    joint_fit: bool
    # every wave's emulators checked on the runs they were fitted to (emulator.leave_one_out): a row
    # per wave and observed row (check_table), and each run's standardised error (its ``runs``)
    check: pd.DataFrame = field(default_factory=pd.DataFrame)
    check_runs: pd.DataFrame = field(default_factory=pd.DataFrame)


class Matcher:
    def __init__(self, cal: Calibration, space: Space, out: Path, how: Execution):
        self.cal, self.space, self.out, self.how = cal, space, out, how
        m = cal.spec.method
        self.method = m
        self.obs = np.array([o.value for o in cal.spec.observed])
        self.obs_var = np.array([o.sd**2 + cal.discrepancy_sd(o) ** 2 for o in cal.spec.observed])
        self.quantities = [o.quantity for o in cal.spec.observed]

    def run(self) -> History:
        m, space = self.method, self.space
        box = space.uniform_in_box(m.candidates, np.zeros(space.dim), np.ones(space.dim), m.seed)
        waves, frames, filters, checks = [], [], [], []
        region = box
        region_imp = None
        joint = True
        irreconcilable: list[int] = []
        for k in range(1, m.waves + 1):
            if k == 1:
                design = space.latin_hypercube(m.points, m.seed)
            else:
                design = maximin_subset(region, m.points, m.seed + k)
            design = self._fixed_points(k, design)
            batch = run_batch(self.cal, space, space.to_values(design), self.out / "waves" / f"wave-{k}",
                              f"{self.cal.spec.calibration}-wave-{k}", m.replications, m.seed, self.how, batch=k)  # fmt: skip
            runs = batch.runs.assign(wave=k)
            for j in range(space.dim):
                runs[f"u{j}"] = design[runs["point"].to_numpy(), j]
            frames.append(runs)
            data = pd.concat(frames, ignore_index=True)
            ems = self._fit(data, k)
            checks.append(self._check(data, ems, k))
            imp_box, _, _ = emulator.implausibility(ems, box, self.obs, self.obs_var)
            min_imp = imp_box.min(axis=0)
            best_u = box[imp_box.argmin(axis=0)]
            # "not below" rather than ">=": a quantity the runs never produced (NaN) is irreconcilable too
            irreconcilable = [j for j in range(len(self.obs)) if not min_imp[j] < m.cutoff]
            active = [j for j in range(len(self.obs)) if j not in irreconcilable]
            filters.append(ems)
            region, region_imp, share, joint = self._region(filters, active, region, k)
            waves.append(Wave(k, design, len(runs), batch.ran, batch.stored, batch.failed, share, irreconcilable, joint))
        tables, runs = zip(*checks)
        return History(waves, data, ems, region, region_imp, min_imp, best_u, irreconcilable, joint,
                       pd.concat(tables, ignore_index=True), pd.concat(runs, ignore_index=True))  # fmt: skip

    def _fixed_points(self, k: int, design: np.ndarray) -> np.ndarray:
        """A wave's points are written once (first writer wins) and read back after: SLURM array
        shards on different machines must agree on them to the last bit."""
        path = self.out / "waves" / f"wave-{k}" / "points.parquet"
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_name(f".points.{os.getpid()}.tmp")
            pd.DataFrame(design, columns=[f"u{j}" for j in range(self.space.dim)]).to_parquet(tmp, index=False)
            try:
                os.link(tmp, path)  # fails if another process wrote it first
            except FileExistsError:
                pass
            finally:
                tmp.unlink(missing_ok=True)
        return pd.read_parquet(path).to_numpy()

    def _fit(self, data: pd.DataFrame, k: int) -> list[emulator.Emulator]:
        u = data[[f"u{j}" for j in range(self.space.dim)]].to_numpy()
        return [emulator.fit(u, data[q].to_numpy(dtype=float), self.method.seed + 1000 * k + j)
                for j, q in enumerate(self.quantities)]  # fmt: skip

    def _check(self, data: pd.DataFrame, ems: list[emulator.Emulator], k: int) -> tuple[pd.DataFrame, pd.DataFrame]:
        """Wave ``k``'s emulators' leave-one-out check: a row per observed row, and a row per run
        (the run's wave, point and replication, what it gave, its prediction and z)."""
        rows, runs = [], []
        for q, em in zip(self.quantities, ems):
            c, loo = emulator.check(em)
            rows.append(c.row(wave=k, quantity=q))
            if loo is not None:  # the emulator was fitted to the runs that gave a number, in order
                fitted = data.loc[np.isfinite(data[q].to_numpy(dtype=float)), ["wave", "point", "replication", q]]
                runs.append(fitted.rename(columns={"wave": "run_wave", q: "value"}).assign(
                    wave=k, quantity=q, loo_mean=loo.mean, loo_sd=np.sqrt(loo.var), z=loo.z))
        columns = ["wave", "quantity", "run_wave", "point", "replication", "value", "loo_mean", "loo_sd", "z"]
        return pd.DataFrame(rows), pd.concat(runs, ignore_index=True)[columns] if runs else pd.DataFrame(columns=columns)

    def _region(self, filters, active, previous: np.ndarray, k: int):
        """Candidates in the box around the previous region that every wave's emulators keep."""
        m, space = self.method, self.space
        lo = np.clip(previous.min(axis=0) - BOX_MARGIN, 0, 1)
        hi = np.clip(previous.max(axis=0) + BOX_MARGIN, 0, 1)
        box_share = float(np.prod(hi - lo))
        kept, kept_imp, drawn, best = [], [], 0, None
        for attempt in range(5):
            cand = space.uniform_in_box(m.candidates, lo, hi, m.seed + 7919 * k + attempt)
            drawn += len(cand)
            ok = np.ones(len(cand), dtype=bool)
            for ems in filters:
                imp, _, _ = emulator.implausibility(ems, cand, self.obs, self.obs_var)
                worst = imp[:, active].max(axis=1) if active else np.zeros(len(cand))
                ok &= worst < m.cutoff
            kept.append(cand[ok])
            kept_imp.append(imp[ok])  # the latest wave's emulators
            best = (cand, imp) if best is None else best
            if sum(len(c) for c in kept) >= MIN_REGION:
                break
        region = np.concatenate(kept)
        region_imp = np.concatenate(kept_imp)
        if len(region):
            return region, region_imp, box_share * len(region) / drawn, True
        # No point fits every reconcilable row at once: keep the least implausible few, and say so.
        cand, imp = best
        worst = imp[:, active].max(axis=1) if active else np.zeros(len(cand))
        n = max(m.points, int(LEAST_IMPLAUSIBLE_SHARE * len(cand)))
        idx = np.argsort(worst)[:n]
        return cand[idx], imp[idx], 0.0, False

