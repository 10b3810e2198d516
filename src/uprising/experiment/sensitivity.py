"""Global sensitivity analysis of an experiment's outcomes with SALib: Sobol' and Morris.

The experiment's ``[design] kind`` names the method. ``sobol`` designs (SALib's
Saltelli/Sobol' sampler, drawn by :class:`~uprising.experiment.spec.Experiment`)
give first-order (``S1``) and total-order (``ST``) indices, and second-order
ones (``S2``) when the design has ``second_order = true``, from
``SALib.analyze.sobol.analyze``. ``morris`` designs (trajectories) give ``mu_star``
(mean absolute elementary effect), ``mu`` and ``sigma`` from
``SALib.analyze.morris.analyze``.

The response ``Y`` handed to SALib, per outcome, is the mean over replicates of the
(points, replicates) outcome matrix of the store (:meth:`ResultStore.outcome_matrix`),
in design order: one number per design point. SALib's estimators need a value at
every point, so :func:`analyse` refuses (:class:`SensitivityError`, one line) when
an outcome is NaN at any point (a run not complete, or an outcome undefined there,
such as the wait between outbursts of a run with fewer than two) rather than
dropping points silently.

Confidence intervals are SALib's bootstrap intervals at 95% (``value ± conf``,
the normal-approximation half-width SALib reports), with :data:`NUM_RESAMPLES`
resamples and a fixed seed (:func:`analysis_seed`), so the same store always
gives the same table. ``mu`` and ``sigma`` have no interval.

:func:`analyse` returns a tidy :class:`pyarrow.Table` (outcome, parameter, method,
index, value, conf_low, conf_high; second-order rows name the pair as
``a:b``) whose schema metadata records how it was made; :func:`write_outputs`
writes it as CSV, Parquet and Markdown. This module draws nothing: ``uprising sensitivity``
draws one figure per outcome (:func:`uprising.cli.experiments.draw_sensitivity`), named by
:func:`outcome_stem`.
"""

from __future__ import annotations

import json
import math
import re
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from ..scenario import ScenarioError
from .spec import Experiment
from .store import ResultStore

#: Design kinds that :func:`analyse` accepts, and the method each selects.
METHODS = ("sobol", "morris")
CONF_LEVEL = 0.95
#: Bootstrap resamples for the confidence intervals (SALib's default is 100).
NUM_RESAMPLES = 1000
#: Index names in the order tables list them.
INDEX_ORDER = ("S1", "ST", "S2", "mu_star", "mu", "sigma")
METADATA_KEY = b"uprising.sensitivity"

SCHEMA = pa.schema([("outcome", pa.string()), ("parameter", pa.string()), ("method", pa.string()),
                    ("index", pa.string()), ("value", pa.float64()), ("conf_low", pa.float64()),
                    ("conf_high", pa.float64())])


class SensitivityError(ValueError):
    """The store cannot be analysed as it stands (one line: what is wrong and what to do)."""


def check_method(exp: Experiment) -> str:
    """The method of ``exp``'s design (``sobol`` or ``morris``); :class:`ScenarioError` for any other kind."""
    kind = exp.design.kind
    if kind not in METHODS:
        raise ScenarioError(exp.source, "design.kind", f"sensitivity needs a sobol or morris design (got {kind!r}); "
                            f"allowed: {' | '.join(METHODS)}")
    return kind


def analysis_seed(exp: Experiment) -> int:
    """The seed of SALib's bootstrap: one more than the design's sampler seed (SALib reads 0 as 'no seed')."""
    return (exp.seed if exp.design.seed is None else exp.design.seed) + 1


def responses(exp: Experiment, store: ResultStore, outcomes: list[str] | None = None) -> dict[str, dict[str, Any]]:
    """Per outcome: ``Y`` (mean over replicates, one value per design point) and counts of what is undefined.

    ``{"Y": array (points,), "missing_runs": runs not complete, "nan_runs": complete runs whose outcome is NaN,
    "nan_points": points where Y is NaN}``. A point is NaN when any of its replicates is.
    """
    names = list(exp.outcomes) if outcomes is None else list(outcomes)
    for name in names:
        if name not in exp.outcomes:
            raise SensitivityError(f"{exp.source}: outcome {name!r} is not one of the experiment's: "
                                   f"{', '.join(exp.outcomes)}")
    table = store.outcomes_for(exp)  # design order, as outcome_matrix reads it; null where a run is not complete
    shape = (len(exp.points()), exp.replicates)
    out = {}
    for name in names:
        column = table.column(name)
        missing = column.is_null().to_numpy(zero_copy_only=False).reshape(shape)
        matrix = column.to_numpy(zero_copy_only=False).astype(float).reshape(shape)  # = store.outcome_matrix
        nan = np.isnan(matrix)
        y = matrix.mean(axis=1)
        out[name] = {"Y": y, "missing_runs": int(missing.sum()), "nan_runs": int((nan & ~missing).sum()),
                     "nan_points": int(np.isnan(y).sum())}
    return out


def _refuse_nan(exp: Experiment, name: str, info: dict[str, Any], everywhere: list[str]) -> SensitivityError:
    points = len(info["Y"])
    what = []
    if info["nan_runs"]:
        what.append(f"{info['nan_runs']} runs gave NaN")
    if info["missing_runs"]:
        what.append(f"{info['missing_runs']} runs are not complete (failed or not run yet)")
    if info["missing_runs"] and not info["nan_runs"]:
        hint = "run the experiment to completion first (`uprising experiment` or `uprising sensitivity` retries them)"
    else:
        hint = ("analyse an outcome defined everywhere instead, e.g. "
                + (", ".join(everywhere[:3]) if everywhere else "mean_active_fraction or mean_jailed_fraction")
                + " (--outcome NAME, or the file's outcomes)")
    return SensitivityError(f"{exp.source}: outcome {name} is NaN at {info['nan_points']} of {points} design points "
                            f"({'; '.join(what)}); SALib's estimators need a value at every point: {hint}")


def _num(value: Any) -> float | None:
    value = float(value)
    return value if math.isfinite(value) else None


def _row(outcome: str, parameter: str, method: str, index: str, value: Any, conf: Any = None) -> dict[str, Any]:
    v = _num(value)
    c = None if conf is None else _num(conf)
    lo = hi = None
    if v is not None and c is not None:
        lo, hi = v - abs(c), v + abs(c)
    return {"outcome": outcome, "parameter": parameter, "method": method, "index": index, "value": v,
            "conf_low": lo, "conf_high": hi}


def _sobol_rows(exp: Experiment, outcome: str, y: np.ndarray, seed: int) -> list[dict[str, Any]]:
    from SALib.analyze import sobol

    problem = exp.salib_problem()
    names = problem["names"]
    second = exp.design.second_order
    if np.ptp(y) == 0:  # SALib divides by the variance of Y: every index is undefined
        rows = [_row(outcome, p, "sobol", i, math.nan) for p in names for i in ("S1", "ST")]
        if second:
            rows += [_row(outcome, f"{a}:{b}", "sobol", "S2", math.nan)
                     for j, a in enumerate(names) for b in names[j + 1:]]
        return rows
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        si = sobol.analyze(problem, y, calc_second_order=second, num_resamples=NUM_RESAMPLES,
                           conf_level=CONF_LEVEL, seed=seed)
    rows = []
    for j, p in enumerate(names):
        rows.append(_row(outcome, p, "sobol", "S1", si["S1"][j], si["S1_conf"][j]))
        rows.append(_row(outcome, p, "sobol", "ST", si["ST"][j], si["ST_conf"][j]))
    if second:
        for j, a in enumerate(names):
            for k in range(j + 1, len(names)):
                rows.append(_row(outcome, f"{a}:{names[k]}", "sobol", "S2", si["S2"][j, k], si["S2_conf"][j, k]))
    return rows


def _morris_rows(exp: Experiment, outcome: str, y: np.ndarray, seed: int) -> list[dict[str, Any]]:
    from SALib.analyze import morris

    problem = exp.salib_problem()
    x = exp.design_matrix()  # the sampler's points before integer rounding: what SALib's trajectories are made of
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        si = morris.analyze(problem, x, y, num_resamples=NUM_RESAMPLES, conf_level=CONF_LEVEL,
                            num_levels=exp.design.levels, seed=seed)
    rows = []
    for j, p in enumerate(problem["names"]):
        rows.append(_row(outcome, p, "morris", "mu_star", si["mu_star"][j], si["mu_star_conf"][j]))
        rows.append(_row(outcome, p, "morris", "mu", si["mu"][j]))
        rows.append(_row(outcome, p, "morris", "sigma", si["sigma"][j]))
    return rows


def analyse(exp: Experiment, store: ResultStore | str | Path, outcomes: list[str] | None = None) -> pa.Table:
    """Sensitivity indices of ``exp``'s outcomes (or ``outcomes``) from the runs in ``store``; runs nothing.

    Returns the tidy table (see the module's docstring), rows in the order outcome,
    then parameter (the file's order), then index. Raises :class:`ScenarioError` if the
    design is not sobol or morris and :class:`SensitivityError` if an outcome is NaN at
    some design point (a run not complete, or the outcome undefined there).
    An outcome constant over the design has undefined Sobol' indices: its rows hold
    nulls and the metadata lists it under ``constant``.
    """
    method = check_method(exp)
    store = store if isinstance(store, ResultStore) else ResultStore(store, create=False)
    wanted = list(exp.outcomes) if outcomes is None else list(dict.fromkeys(outcomes))
    every = responses(exp, store)  # all of the experiment's outcomes: one read of the store
    unknown = [n for n in wanted if n not in every]
    if unknown:
        raise SensitivityError(f"{exp.source}: outcome {unknown[0]!r} is not one of the experiment's: "
                               f"{', '.join(exp.outcomes)}")
    everywhere = [n for n, info in every.items() if not info["nan_points"]]
    data = {n: every[n] for n in wanted}
    for name, info in data.items():
        if info["nan_points"]:
            raise _refuse_nan(exp, name, info, everywhere)
    seed = analysis_seed(exp)
    rows: list[dict[str, Any]] = []
    constant = []
    for name, info in data.items():
        if np.ptp(info["Y"]) == 0:
            constant.append(name)
        rows += (_sobol_rows if method == "sobol" else _morris_rows)(exp, name, info["Y"], seed)
    d = exp.design
    meta = {
        "experiment": exp.name, "source": exp.source, "method": method, "parameters": exp.salib_problem(),
        "samples": d.samples, "second_order": d.second_order if method == "sobol" else None,
        "levels": d.levels if method == "morris" else None, "points": len(exp.points()),
        "replicates": exp.replicates, "runs": len(exp.run_ids()), "steps": exp.steps_per_run,
        "response": "Y = mean over replicates of the outcome at each design point (ResultStore.outcome_matrix)",
        "conf_level": CONF_LEVEL, "num_resamples": NUM_RESAMPLES, "seed": seed, "constant": constant,
        "outcomes": {n: {"mean": float(np.mean(i["Y"])), "sd": float(np.std(i["Y"]))} for n, i in data.items()},
    }
    table = pa.Table.from_pylist(rows, schema=SCHEMA)
    return table.replace_schema_metadata({METADATA_KEY: json.dumps(meta).encode()})


def metadata(table: pa.Table) -> dict[str, Any]:
    """How an :func:`analyse` table was made (experiment, method, sizes, Y, seed, ...)."""
    raw = (table.schema.metadata or {}).get(METADATA_KEY)
    return json.loads(raw) if raw else {}


# ------------------------------------------------------------------ presentation
def _fmt(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value:.3f}" if abs(value) >= 0.001 or value == 0 else f"{value:.2e}"


def wide(table: pa.Table, with_ci: bool = True) -> tuple[list[str], list[list[str]]]:
    """Columns and rows of the indices as text, one row per (outcome, parameter), one column per index:
    ``value ±half`` (``with_ci=False``: the value alone)."""
    present = set(table.column("index").to_pylist())
    indices = [i for i in INDEX_ORDER if i in present]
    cells: dict[tuple[str, str], dict[str, str]] = {}
    for r in table.to_pylist():
        text = _fmt(r["value"])
        if with_ci and r["conf_low"] is not None and r["value"] is not None:
            text += f" ±{_fmt((r['conf_high'] - r['conf_low']) / 2)}"
        cells.setdefault((r["outcome"], r["parameter"]), {})[r["index"]] = text
    rows = [[o, p, *(c.get(i, "") for i in indices)] for (o, p), c in cells.items()]
    return ["outcome", "parameter", *indices], rows


def outcome_stem(name: str) -> str:
    """The stem of an outcome's files (its figure): the name with runs of other characters made ``_``."""
    return re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip("_") or "outcome"


def markdown(table: pa.Table) -> str:
    """The indices as a Markdown section: how they were computed, then the table (value ± 95% half-width)."""
    m = metadata(table)
    method = m.get("method", "")
    if method == "sobol":
        what = ("Sobol' indices (SALib `sobol.analyze`): S1 first order, ST total order"
                + (", S2 second order of the pair `a:b`" if m.get("second_order") else "")
                + f"; N = {m.get('samples')} base samples")
    else:
        what = (f"Morris elementary effects (SALib `morris.analyze`): mu_star (mean |EE|, with its CI), mu, sigma; "
                f"{m.get('samples')} trajectories on {m.get('levels')} levels; an effect is the change of Y "
                "over a step of the design grid, per full range of the parameter")
    bounds = ", ".join(f"{n} in [{lo:g}, {hi:g}]" for n, (lo, hi) in
                       zip(m.get("parameters", {}).get("names", []), m.get("parameters", {}).get("bounds", [])))
    lines = [f"# Sensitivity of {m.get('experiment', '')}", "",
             f"- {what}.",
             f"- Parameters: {bounds}.",
             f"- {m.get('points')} design points x {m.get('replicates')} replicate(s): {m.get('runs')} distinct runs "
             f"of {m.get('steps')} steps; Y = the mean over replicates of each outcome at each point.",
             f"- Intervals: SALib's bootstrap, {m.get('num_resamples')} resamples, "
             f"{100 * m.get('conf_level', CONF_LEVEL):.0f}% (value ± half-width), seed {m.get('seed')}.",
             f"- Source: `{m.get('source', '')}`."]
    if m.get("constant"):
        lines.append(f"- Constant over the design (indices undefined): {', '.join(m['constant'])}.")
    cols, rows = wide(table)
    lines += ["", "| " + " | ".join(cols) + " |", "|" + "|".join("---" for _ in cols) + "|"]
    lines += ["| " + " | ".join(c.replace("|", "\\|") for c in r) + " |" for r in rows]
    return "\n".join(lines) + "\n"


def write_outputs(table: pa.Table, out: str | Path) -> list[Path]:
    """Write ``indices.csv``, ``indices.parquet`` and ``indices.md`` into ``out`` (created). Returns the paths
    written."""
    import pyarrow.csv as pcsv
    import pyarrow.parquet as pq

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    path = out / "indices.csv"
    pcsv.write_csv(table, path)
    written.append(path)
    path = out / "indices.parquet"
    pq.write_table(table, path)
    written.append(path)
    path = out / "indices.md"
    path.write_text(markdown(table), encoding="utf-8")
    written.append(path)
    return written
