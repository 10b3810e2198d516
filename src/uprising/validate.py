"""The validation suite: Epstein (2002)'s named results, under which rules they hold.

``uprising validate [--quick]`` runs ensembles of the paper's runs
(``scenarios/epstein-2002/run1..4.toml``) under every combination of the
contested rules it studies (arrest rule ratio / floor / round, and the vision
shapes), measures each named result with :mod:`uprising.analysis`, and writes
``docs/validation.md`` (a section between ``<!-- validate:start -->`` and
``<!-- validate:end -->``), its figures, and the numbers as JSON.

Mesa's values come from ``docs/data/mesa-validation.parquet`` and ``.json``,
written by ``benchmarks/mesa_validation.py`` (Mesa 3.3.1's own example, run
unmodified); the same functions measure both sides.

This is a driver: it owns ensembles, seeds, parallel runs and I/O. Every
number in the report is computed here from runs made by this command (or, for
Mesa, by that benchmark script); nothing is typed in except the paper's values.
"""

from __future__ import annotations

import json
import math
import os
import platform
import subprocess
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Callable

import numpy as np

from . import analysis
from . import model as _model
from .kernels import codes
from .scenario import Scenario
from .simulate import simulate

# --------------------------------------------------------------------------- the paper
PAPER = {
    "run2_wait_mean": 60.0, "run2_wait_sd": 55.0,  # Epstein (2002), Run 2, as transcribed in model-notes §3
    "run2_size_mean": 708.0, "run2_size_sd": 230.0,
}
OUTBURST_THRESHOLD = 50  # Run 2: an outburst is a period with more than 50 actives
RUN34_EVENT_STEP = 77  # Runs 3 and 4: legitimacy starts to fall (3) or drops (4) at t = 77
ARREST_RULES = ("ratio", "floor", "round_half_even")
RULE_LABEL = {"ratio": "ratio", "floor": "floor", "round_half_even": "round"}
# the fields that make up a "rule set" (everything a published implementation decides, not the inputs)
RULE_FIELDS = ("arrest_rule", "vision_shape", "own_cell_in_vision", "order", "cop_moves_to_arrestee",
               "jail_term", "jail_countdown", "jailed_hold_cell", "placement")
MARK_START, MARK_END = "<!-- validate:start -->", "<!-- validate:end -->"


def repo_root() -> Path:
    """The checkout this module runs from (scenarios/ and docs/ live there)."""
    return Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class Budget:
    """Ensemble sizes of a suite run."""

    name: str
    seeds_run1: int
    steps_run1: int
    snapshots_run1: tuple[int, ...]
    null_draws: int
    seeds_run2: int
    steps_run2: int
    burn_in: int
    seeds_run34: int
    steps_run34: int
    shapes: tuple[str, ...]
    sensitivity: bool  # one-at-a-time switch changes around the closest Run 2 combination
    search_rounds: int = 3  # rounds of the greedy Run 2 search


FULL = Budget("full", seeds_run1=20, steps_run1=200, snapshots_run1=(50, 100, 150, 200), null_draws=200,
              seeds_run2=40, steps_run2=3000, burn_in=100, seeds_run34=50, steps_run34=200,
              shapes=("euclidean", "von_neumann", "moore"), sensitivity=True)
QUICK = Budget("quick", seeds_run1=10, steps_run1=100, snapshots_run1=(50, 100), null_draws=100,
               seeds_run2=20, steps_run2=1000, burn_in=100, seeds_run34=20, steps_run34=200,
               shapes=("euclidean", "von_neumann"), sensitivity=False)


@dataclass(frozen=True)
class Variant:
    """One combination of rules: a label and the scenario changes that make it."""

    key: str
    label: str
    changes: tuple[tuple[str, object], ...]

    def apply(self, scenario: Scenario) -> Scenario:
        return scenario.replace(**dict(self.changes)) if self.changes else scenario


def rule_set(path: Path) -> dict[str, object]:
    """The rule fields of a scenario file (e.g. Mesa's or NetLogo's rules), without its inputs."""
    s = Scenario.load(path)
    return {k: getattr(s, k) for k in RULE_FIELDS}


def grid_variants(shapes: tuple[str, ...]) -> list[Variant]:
    """Arrest rule x vision shape, every other rule as in the paper's scenario files."""
    return [Variant(f"{r}-{s}", f"{RULE_LABEL[r]}, {s.replace('_', ' ')}", (("arrest_rule", r), ("vision_shape", s)))
            for r in ARREST_RULES for s in shapes]


def implementation_variants(root: Path) -> list[Variant]:
    """The complete rule sets of Mesa's example and of NetLogo's Rebellion, on the paper's inputs."""
    out = []
    for key, label, fname in (("mesa-rules", "Mesa's rules (all switches)", "mesa-default.toml"),
                              ("netlogo-rules", "NetLogo's rules (all switches)", "netlogo-rebellion.toml")):
        out.append(Variant(key, label, tuple(rule_set(root / "scenarios" / fname).items())))
    return out


# the switches the search may change, with every value each can take (the inputs stay the paper's)
SEARCH_SWITCHES: dict[str, tuple] = {
    "arrest_rule": ARREST_RULES,
    "vision_shape": ("euclidean", "von_neumann", "moore"),
    "order": ("move_then_act", "act_then_move"),
    "own_cell_in_vision": (False, True),
    "cop_moves_to_arrestee": (False, True),
    "jail_term": ("uniform_inclusive", "uniform_exclusive", "fixed"),
    "placement": ("exact", "binomial"),
    "jailed_hold_cell": (False, True),
    "cop_movement": (True, False),
}


def _show(value: object) -> str:
    return str(value).lower() if isinstance(value, bool) else str(value)


def variant_of(changes: dict[str, object], file_scenario: Scenario) -> Variant:
    """A variant named by its arrest rule and vision shape, then every other switch that differs from the file."""
    rule = changes.get("arrest_rule", file_scenario.arrest_rule)
    shape = changes.get("vision_shape", file_scenario.vision_shape)
    label = f"{RULE_LABEL[rule]}, {shape.replace('_', ' ')}"
    extras = []
    for key in SEARCH_SWITCHES:
        if key in ("arrest_rule", "vision_shape") or key not in changes:
            continue
        current = getattr(file_scenario, key)
        if key == "cop_movement" and current is None:
            current = file_scenario.movement
        if changes[key] != current:
            extras.append(f"{key} = {_show(changes[key])}")
    label += "".join(f"; {e}" for e in extras)
    key = f"{rule}-{shape}" + "".join(f"+{e.replace(' ', '')}" for e in extras)
    items = dict(changes)
    if items.get("jailed_hold_cell"):
        items["jail_countdown"] = "own_activation"  # Mesa's pairing: a prisoner on its cell counts down itself
    return Variant(key, label, tuple(sorted(items.items(), key=lambda kv: kv[0])))


def sensitivity_variants(base: Variant, file_scenario: Scenario) -> list[Variant]:
    """Every switch of SEARCH_SWITCHES changed to each of its other values, one at a time, from ``base``."""
    b = {k: v for k, v in base.changes if k in SEARCH_SWITCHES}
    current = {k: b.get(k, getattr(file_scenario, k)) for k in SEARCH_SWITCHES}
    if current["cop_movement"] is None:
        current["cop_movement"] = file_scenario.movement
    out = []
    for key, values in SEARCH_SWITCHES.items():
        for value in values:
            if value == current[key]:
                continue
            if key == "cop_moves_to_arrestee" and value and current["jailed_hold_cell"]:
                continue  # a cop cannot step onto a prisoner that keeps its cell
            if key == "jailed_hold_cell" and value and current["cop_moves_to_arrestee"]:
                continue
            out.append(variant_of(dict(b, **{key: value}), file_scenario))
    return out


# --------------------------------------------------------------------------- one run (worker side)
def _run1_job(scenario: Scenario, seed: int, steps: int, snapshots: tuple[int, ...], null_draws: int) -> dict:
    """Run 1: deception snapshots and, with citizens fixed, transitions after cops leave."""
    mdl, state = _model.init(scenario, seed)
    legit = _model.legitimacy_path(scenario, 0, steps)
    cops = _model.cop_targets(scenario, state.initial_cops, 0, steps)
    shape = (scenario.height, scenario.width)
    r, shape_v = scenario.citizen_vision, scenario.vision_shape
    records = []
    fell_total = fell_turned = other_total = other_turned = 0
    citizens_fixed = not scenario.movement
    before = state.kinds().reshape(shape).copy()
    example = None
    for t in range(steps):
        _model.step(mdl, state, legit[t:t + 1], cops[t:t + 1])
        after = state.kinds().reshape(shape).copy()
        if citizens_fixed and t >= 10:
            a, b, c, d = analysis.transition_after_cops_leave(before, after, state.hardship, float(legit[t]),
                                                              scenario.threshold, r, shape_v)
            fell_total += a
            fell_turned += b
            other_total += c
            other_turned += d
        if t + 1 in snapshots:
            obs = analysis.deception(after, r, shape_v)
            null = analysis.deception_null(after, r, shape_v, np.random.default_rng((seed, t + 1)), null_draws)
            null = null[np.isfinite(null)]
            records.append({"step": t + 1, "r_obs": obs, "null_mean": float(null.mean()) if null.size else math.nan,
                            "null_sd": float(null.std()) if null.size else math.nan,
                            "null_q01": float(np.quantile(null, 0.01)) if null.size else math.nan,
                            "p_perm": float((1 + np.sum(null <= obs)) / (null.size + 1)) if null.size else math.nan,
                            "active": int((after == codes.ACTIVE).sum())})
            if example is None:
                example = (after.copy(), null.copy())
        before = after
    return {"seed": seed, "records": records, "transitions": (fell_total, fell_turned, other_total, other_turned),
            "example": example}


def _run2_job(scenario: Scenario, seed: int, steps: int) -> dict:
    """Run 2: actives and jailed per step, and tension (deterred quiet citizens) per step."""
    mdl, state = _model.init(scenario, seed)
    legit = _model.legitimacy_path(scenario, 0, steps)
    cops = _model.cop_targets(scenario, state.initial_cops, 0, steps)
    counts = np.zeros((steps + 1, codes.OUT_SIZE), dtype=np.int64)
    c0 = state.counts()
    counts[0, :4] = (c0["quiet"], c0["active"], c0["jailed"], c0["cops"])
    deterred = np.zeros(steps + 1, dtype=np.int64)
    latent = np.zeros(steps + 1)
    deterred[0], latent[0] = analysis.tension(state.kinds(), state.hardship, scenario.legitimacy, scenario.threshold)
    for t in range(steps):
        counts[t + 1] = _model.step(mdl, state, legit[t:t + 1], cops[t:t + 1])[0]
        deterred[t + 1], latent[t + 1] = analysis.tension(state.kinds(), state.hardship, float(legit[t]),
                                                          scenario.threshold)
    return {"seed": seed, "active": counts[:, codes.OUT_ACTIVE], "jailed": counts[:, codes.OUT_JAILED],
            "deterred": deterred, "latent": latent, "citizens": state.citizens}


def _run34_job(scenario: Scenario, seed: int, steps: int) -> dict:
    res = simulate(scenario, steps, seed)
    return {"seed": seed, "active": res.column("active"), "jailed": res.column("jailed"),
            "legitimacy": res.legitimacy, "citizens": res.citizens}


def _dispatch(job: tuple) -> tuple:
    key, fn, args = job
    return key, {"run1": _run1_job, "run2": _run2_job, "run34": _run34_job}[fn](*args)


# --------------------------------------------------------------------------- statistics
def _bootstrap_ci(groups: list[np.ndarray], stat: Callable[[np.ndarray], float], rng: np.random.Generator,
                  n: int = 2000) -> tuple[float, float]:
    """95% percentile interval of ``stat`` over the pooled values, resampling whole runs (seeds).

    Episodes within one run are not independent; resampling runs keeps that
    dependence inside each resample (a cluster bootstrap).
    """
    groups = [g for g in groups if g.size]
    if len(groups) < 2:
        return math.nan, math.nan
    vals = np.empty(n)
    idx = rng.integers(0, len(groups), size=(n, len(groups)))
    for i in range(n):
        vals[i] = stat(np.concatenate([groups[j] for j in idx[i]]))
    return float(np.quantile(vals, 0.025)), float(np.quantile(vals, 0.975))


def wilson(k: int, n: int) -> tuple[float, float]:
    """95% Wilson score interval of a proportion k/n."""
    if n == 0:
        return math.nan, math.nan
    z = 1.959964
    p = k / n
    den = 1 + z * z / n
    mid = (p + z * z / (2 * n)) / den
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / den
    return max(0.0, mid - half), min(1.0, mid + half)


def fisher_exact_greater(k1: int, n1: int, k2: int, n2: int) -> float:
    """One-sided Fisher exact p that proportion 1 exceeds proportion 2 (hypergeometric tail)."""
    total, successes = n1 + n2, k1 + k2
    denom = math.comb(total, n1)
    p = 0.0
    for k in range(k1, min(n1, successes) + 1):
        p += math.comb(successes, k) * math.comb(total - successes, n1 - k) / denom
    return min(1.0, p)


def run2_stats(actives: list[np.ndarray], burn_in: int, seed: int = 0) -> dict:
    """Outbursts after ``burn_in``: counts, waits (onset and gap), total activation, with CIs.

    Means and sds are over all episodes of all runs (pooled); the 95%
    intervals of the means come from a bootstrap over runs.
    """
    rng = np.random.default_rng(seed)
    per_waits, per_gaps, per_sizes, n_eps, steps = [], [], [], [], 0
    act_frac = []
    for a in actives:
        a = np.asarray(a)[burn_in:]
        steps += len(a)
        ep = analysis.outbursts(a, OUTBURST_THRESHOLD)
        n_eps.append(len(ep))
        per_waits.append(analysis.waits(ep, "onset").astype(float))
        per_gaps.append(analysis.waits(ep, "gap").astype(float))
        per_sizes.append(np.array([e[2] for e in ep], dtype=float))
        act_frac.append(a.mean())
    w, g, s = (np.concatenate(x) if x else np.zeros(0) for x in (per_waits, per_gaps, per_sizes))
    out = {"runs": len(actives), "steps_per_run": steps // max(len(actives), 1), "episodes": int(sum(n_eps)),
           "episodes_per_1000_steps": 1000.0 * sum(n_eps) / max(steps, 1),
           "mean_active": float(np.mean(act_frac)) if act_frac else math.nan}
    for name, vals, groups in (("wait", w, per_waits), ("gap", g, per_gaps), ("size", s, per_sizes)):
        out[f"{name}_n"] = int(vals.size)
        out[f"{name}_mean"] = float(vals.mean()) if vals.size else math.nan
        out[f"{name}_sd"] = float(vals.std(ddof=1)) if vals.size > 1 else math.nan
        lo, hi = _bootstrap_ci(groups, np.mean, rng) if vals.size > 1 else (math.nan, math.nan)
        out[f"{name}_ci"] = (lo, hi)
    out["distance"] = paper_distance(out["wait_mean"], out["size_mean"])
    return out


def paper_distance(wait_mean: float, size_mean: float) -> float:
    """How far an ensemble's Run 2 means lie from the paper's, in units of the paper's sds.

    ``sqrt(((wait - 60) / 55)**2 + ((size - 708) / 230)**2)``; infinite when there are no outbursts.
    """
    if not (math.isfinite(wait_mean) and math.isfinite(size_mean)):
        return math.inf
    return math.hypot((wait_mean - PAPER["run2_wait_mean"]) / PAPER["run2_wait_sd"],
                      (size_mean - PAPER["run2_size_mean"]) / PAPER["run2_size_sd"])


def number_verdict(paper: float, mean: float, ci: tuple[float, float]) -> str:
    """``matches`` (paper value inside the 95% CI), ``close`` (within 25%), ``differs``, or ``no outbursts``."""
    if not math.isfinite(mean):
        return "no outbursts"
    lo, hi = ci
    if math.isfinite(lo) and lo <= paper <= hi:
        return "matches"
    if abs(mean - paper) <= 0.25 * paper:
        return "close"
    return "differs"


def run34_stats(run3: list[np.ndarray], run4: list[np.ndarray], citizens: list[int], event: int) -> dict:
    """Gradual (Run 3) against sudden (Run 4) loss of legitimacy, seed by seed.

    An explosion is a peak of more than 50 actives from the event step on
    (row ``event`` of a run's counts is the state after the first step under
    the new legitimacy).
    """
    def side(actives):
        peaks = np.array([int(np.max(np.asarray(a)[event:])) for a in actives])  # row t: after step t
        k = int(np.sum(peaks > OUTBURST_THRESHOLD))
        return {"peaks": peaks, "exploded": k, "n": len(peaks), "fraction": k / max(len(peaks), 1),
                "fraction_ci": wilson(k, len(peaks)), "peak_mean": float(peaks.mean()),
                "peak_median": float(np.median(peaks)), "peak_max": int(peaks.max())}
    s3, s4 = side(run3), side(run4)
    p = fisher_exact_greater(s4["exploded"], s4["n"], s3["exploded"], s3["n"])
    both = sum(1 for a, b in zip(s3["peaks"], s4["peaks"]) if b > a)
    return {"run3": s3, "run4": s4, "fisher_p": p, "run4_higher_same_seed": both / max(len(run3), 1)}


def run34_verdict(st: dict) -> str:
    f3, f4 = st["run3"]["fraction"], st["run4"]["fraction"]
    if f4 >= 0.8 and f3 <= 0.2:
        return "reproduced"
    if st["fisher_p"] < 0.01 and f4 > f3:
        return "partly: the jump explodes more often, but not as cleanly as the paper says"
    if f3 >= 0.5 and f4 >= 0.5:
        return "not reproduced: both paths explode"
    return "not reproduced"


def tension_stats(runs: list[dict], burn_in: int, window: int = 5, seed: int = 0) -> dict:
    """Epstein's fig. 8: tension builds in calm and is released in outbursts.

    For every outburst with ``window`` calm steps on both sides: *release* is
    the mean number of deterred citizens (quiet, G > T) in the ``window`` steps
    before it minus that in the ``window`` steps after it; *build-up* is, for
    each calm spell between two outbursts, the deterred count just before the
    next outburst minus that just after the previous one. Both should be
    positive; their 95% intervals come from a bootstrap over runs.
    """
    rng = np.random.default_rng(seed)
    releases, buildups = [], []
    for run in runs:
        a = np.asarray(run["active"])
        d = np.asarray(run["deterred"], dtype=float)
        ep = [e for e in analysis.outbursts(a, OUTBURST_THRESHOLD) if e[0] >= burn_in]
        rel, bld = [], []
        for i, (s, dur, _) in enumerate(ep):
            e = s + dur
            if s - window < burn_in or e + window > len(a):
                continue
            rel.append(d[s - window:s].mean() - d[e:e + window].mean())
        for (s0, dur0, _), (s1, _, _) in zip(ep, ep[1:]):
            e0 = s0 + dur0
            if s1 - e0 >= 2 * window:
                bld.append(d[s1 - window:s1].mean() - d[e0:e0 + window].mean())
        releases.append(np.asarray(rel))
        buildups.append(np.asarray(bld))
    r = np.concatenate(releases) if releases else np.zeros(0)
    b = np.concatenate(buildups) if buildups else np.zeros(0)
    out = {"outbursts": int(r.size), "calm_spells": int(b.size)}
    for name, vals, groups in (("release", r, releases), ("buildup", b, buildups)):
        out[f"{name}_mean"] = float(vals.mean()) if vals.size else math.nan
        out[f"{name}_positive"] = float(np.mean(vals > 0)) if vals.size else math.nan
        out[f"{name}_ci"] = _bootstrap_ci(groups, np.mean, rng) if vals.size > 1 else (math.nan, math.nan)
    mean_det = [np.asarray(run["deterred"])[burn_in:].mean() for run in runs]
    out["deterred_mean"] = float(np.mean(mean_det)) if mean_det else math.nan
    return out


def tension_verdict(st: dict) -> str:
    if st["outbursts"] == 0:
        return "no outbursts to release tension"
    ok_r = st["release_ci"][0] > 0
    ok_b = math.isfinite(st["buildup_ci"][0]) and st["buildup_ci"][0] > 0
    if ok_r and ok_b:
        return "reproduced"
    if ok_r or ok_b:
        return "partly"
    return "not reproduced"


def run1_stats(jobs: list[dict]) -> dict:
    recs = [r for j in jobs for r in j["records"]]
    obs = np.array([r["r_obs"] for r in recs], dtype=float)
    ok = np.isfinite(obs)
    nm = np.array([r["null_mean"] for r in recs], dtype=float)
    sig = np.array([r["p_perm"] < 0.05 for r in recs]) & ok  # below 95% of the shuffles (one-sided)
    ft = np.sum([j["transitions"] for j in jobs], axis=0) if jobs else np.zeros(4, int)
    seed_means = [np.nanmean([r["r_obs"] for r in j["records"]]) for j in jobs if j["records"]]
    seed_means = np.array([m for m in seed_means if np.isfinite(m)])
    half = 1.96 * seed_means.std(ddof=1) / math.sqrt(seed_means.size) if seed_means.size > 1 else math.nan
    return {"snapshots": int(len(recs)), "defined": int(ok.sum()),
            "r_obs_mean": float(obs[ok].mean()) if ok.any() else math.nan,
            "r_obs_ci": (float(seed_means.mean() - half), float(seed_means.mean() + half)) if seed_means.size > 1
            else (math.nan, math.nan),
            "null_mean": float(np.nanmean(nm)) if np.isfinite(nm).any() else math.nan,
            "significant": float(sig.sum() / max(ok.sum(), 1)),
            "mean_active": float(np.mean([r["active"] for r in recs])) if recs else math.nan,
            "fell_total": int(ft[0]), "fell_turned": int(ft[1]), "other_total": int(ft[2]),
            "other_turned": int(ft[3])}


def run1_verdict(st: dict) -> str:
    if st["defined"] == 0:
        return "no actives: nothing to correlate"
    if st["r_obs_mean"] < 0 and st["r_obs_ci"][1] < st["null_mean"] and st["significant"] >= 0.9:
        return "reproduced"
    if st["r_obs_mean"] < st["null_mean"]:
        return "partly"
    return "not reproduced"


# --------------------------------------------------------------------------- Mesa's side
def load_mesa(data_dir: Path) -> dict | None:
    """Mesa's runs written by ``benchmarks/mesa_validation.py``, or None if absent."""
    pq_path, js_path = data_dir / "mesa-validation.parquet", data_dir / "mesa-validation.json"
    if not (pq_path.exists() and js_path.exists()):
        return None
    import pyarrow.parquet as pq

    table = pq.read_table(pq_path)
    meta = json.loads(js_path.read_text())
    cols = {name: table.column(name).to_numpy(zero_copy_only=False) for name in table.column_names}
    series: dict[str, list[dict]] = {}
    for setting in np.unique(cols["setting"]):
        sel = cols["setting"] == setting
        seeds = cols["seed"][sel]
        for seed in np.unique(seeds):
            rows = np.flatnonzero(sel & (cols["seed"] == seed))
            rows = rows[np.argsort(cols["step"][rows])]
            series.setdefault(str(setting), []).append({k: cols[k][rows] for k in
                                                        ("active", "jailed", "deterred", "legitimacy", "citizens")})
    return {"meta": meta, "series": series, "deception": meta.get("deception", [])}


def mesa_stats(mesa: dict, budget: Budget) -> dict:
    out: dict = {"meta": mesa["meta"]}
    s = mesa["series"]
    if "run2" in s:
        out["run2"] = run2_stats([r["active"] for r in s["run2"]], budget.burn_in)
        out["tension"] = tension_stats(s["run2"], budget.burn_in)
    if "run3" in s and "run4" in s:
        out["run34"] = run34_stats([r["active"] for r in s["run3"]], [r["active"] for r in s["run4"]],
                                   [int(r["citizens"][0]) for r in s["run3"]], RUN34_EVENT_STEP)
    dec = mesa["deception"]
    for setting in sorted({d["setting"] for d in dec}):
        recs = [d for d in dec if d["setting"] == setting]
        by_seed: dict[int, list] = {}
        for d in recs:
            by_seed.setdefault(d["seed"], []).append(d)
        jobs = [{"records": v, "transitions": (0, 0, 0, 0)} for v in by_seed.values()]
        kw = mesa["meta"].get("settings", {}).get(setting, {}).get("kwargs", {})
        label = (f"vision {kw['citizen_vision']} (von Neumann), everyone moves" if "citizen_vision" in kw
                 else setting)
        out.setdefault("run1", {})[label] = run1_stats(jobs)
    return out


# --------------------------------------------------------------------------- the suite
@dataclass
class SuiteResult:
    budget: Budget
    run1: dict = field(default_factory=dict)  # variant key -> stats
    run1_labels: dict = field(default_factory=dict)
    run1_example: tuple | None = None
    run2: dict = field(default_factory=dict)
    run2_labels: dict = field(default_factory=dict)
    run2_example: dict | None = None  # the closest variant's first run (for the time-series figure)
    run2_examples: dict = field(default_factory=dict)  # a few named variants' first runs
    run2_sizes: dict = field(default_factory=dict)  # variant -> (waits, sizes) pooled
    tension: dict = field(default_factory=dict)
    run34: dict = field(default_factory=dict)
    run34_paths: dict = field(default_factory=dict)  # variant -> (run3 runs, run4 runs)
    run34_labels: dict = field(default_factory=dict)
    search_path: list = field(default_factory=list)  # Run 2 search: the variant kept after each round
    search_rounds: list = field(default_factory=list)  # Run 2 search: the variants tried in each round
    mesa: dict | None = None
    closest: str = ""
    wall_seconds: float = 0.0
    commit: str = ""  # the checkout the runs were made at


def _execute(jobs: list[tuple], workers: int, progress: Callable[[str, int, int], None] | None, label: str) -> dict:
    results: dict = {}
    total = len(jobs)
    if workers <= 1:
        for i, job in enumerate(jobs):
            key, res = _dispatch(job)
            results.setdefault(key, []).append(res)
            if progress:
                progress(label, i + 1, total)
    else:
        with ProcessPoolExecutor(max_workers=workers, initializer=_single_thread) as pool:
            for i, (key, res) in enumerate(pool.map(_dispatch, jobs, chunksize=1)):
                results.setdefault(key, []).append(res)
                if progress:
                    progress(label, i + 1, total)
    return results


def _single_thread() -> None:
    os.environ.setdefault("NUMBA_NUM_THREADS", "1")


def run_suite(budget: Budget = QUICK, workers: int = 1, root: Path | None = None,
              mesa_dir: Path | None = None, progress: Callable[[str, int, int], None] | None = None) -> SuiteResult:
    """Run every part of the suite and return its statistics (no files are written)."""
    root = repo_root() if root is None else root
    start = time.perf_counter()
    paper = {n: Scenario.load(root / "scenarios" / "epstein-2002" / f"run{n}.toml") for n in (1, 2, 3, 4)}
    res = SuiteResult(budget, commit=_commit(root))
    grid = grid_variants(budget.shapes)
    impl = implementation_variants(root)

    # Run 1: deception, under each rule combination, and with everyone / nobody moving
    run1_variants = grid + [Variant("floor-euclidean-all-move", "floor, euclidean; citizens move too",
                                    (("arrest_rule", "floor"), ("vision_shape", "euclidean"), ("movement", True))),
                            Variant("floor-euclidean-none-move", "floor, euclidean; nobody moves",
                                    (("arrest_rule", "floor"), ("vision_shape", "euclidean"),
                                     ("cop_movement", False)))]
    jobs = [(v.key, "run1", (v.apply(paper[1]), seed, budget.steps_run1, budget.snapshots_run1, budget.null_draws))
            for v in run1_variants for seed in range(budget.seeds_run1)]
    out = _execute(jobs, workers, progress, "Run 1 (deception)")
    for v in run1_variants:
        res.run1[v.key] = run1_stats(out[v.key])
        res.run1_labels[v.key] = v.label
    res.run1_example = out["floor-euclidean"][0]["example"] if "floor-euclidean" in out else None

    # Run 2: punctuated equilibrium and tension
    run2_variants = grid + impl
    res.run2_labels.update({v.key: v.label for v in run2_variants})
    jobs = [(v.key, "run2", (v.apply(paper[2]), seed, budget.steps_run2))
            for v in run2_variants for seed in range(budget.seeds_run2)]
    out = _execute(jobs, workers, progress, "Run 2 (outbursts)")
    if budget.sensitivity:
        # greedy search: from the best arrest rule x vision shape, change one switch at a time and keep the
        # change that brings both means closest to the paper's; stop when no change gains 0.05 in distance
        def dist(key: str) -> float:
            return run2_stats([r["active"] for r in out[key]], budget.burn_in)["distance"]

        current = min(grid, key=lambda v: dist(v.key))
        res.search_path.append(current.key)
        for round_ in range(budget.search_rounds):
            cands = sensitivity_variants(current, paper[2])
            res.run2_labels.update({v.key: v.label for v in cands if v.key not in res.run2_labels})
            jobs = [(v.key, "run2", (v.apply(paper[2]), seed, budget.steps_run2))
                    for v in cands if v.key not in out for seed in range(budget.seeds_run2)]
            out.update(_execute(jobs, workers, progress, f"Run 2 (switch search, round {round_ + 1})"))
            res.search_rounds.append([v.key for v in cands])
            best = min(cands, key=lambda v: dist(v.key), default=None)
            if best is None or dist(best.key) > dist(current.key) - 0.05:
                break
            current = best
            res.search_path.append(current.key)
    for key, runs in out.items():
        res.run2[key] = run2_stats([r["active"] for r in runs], budget.burn_in)
        res.tension[key] = tension_stats(runs, budget.burn_in)
        waits = np.concatenate([analysis.waits(analysis.outbursts(np.asarray(r["active"])[budget.burn_in:],
                                                                  OUTBURST_THRESHOLD)) for r in runs])
        sizes = np.array([e[2] for r in runs
                          for e in analysis.outbursts(np.asarray(r["active"])[budget.burn_in:], OUTBURST_THRESHOLD)])
        res.run2_sizes[key] = (waits, sizes)
    res.closest = choose_closest(res)
    res.run2_example = out[res.closest][0] if res.run2[res.closest]["episodes"] else out["floor-euclidean"][0]
    res.run2_example = dict(res.run2_example, variant=res.closest)
    res.run2_examples = {k: out[k][0] for k in ("floor-euclidean", "ratio-euclidean", "round_half_even-von_neumann")
                         if k in out}

    # Runs 3 and 4 on the same seeds
    run34_variants = grid + impl
    if budget.sensitivity:
        floor_euclid = next(v for v in grid if v.key == "floor-euclidean")
        known = {v.key for v in run34_variants}
        run34_variants += [v for v in sensitivity_variants(floor_euclid, paper[3]) if v.key not in known]
    jobs = []
    for v in run34_variants:
        for seed in range(budget.seeds_run34):
            jobs.append((v.key + "|3", "run34", (v.apply(paper[3]), seed, budget.steps_run34)))
            jobs.append((v.key + "|4", "run34", (v.apply(paper[4]), seed, budget.steps_run34)))
    out = _execute(jobs, workers, progress, "Runs 3 and 4")
    for v in run34_variants:
        res.run34_labels[v.key] = v.label
        r3, r4 = out[v.key + "|3"], out[v.key + "|4"]
        res.run34[v.key] = run34_stats([r["active"] for r in r3], [r["active"] for r in r4],
                                       [r["citizens"] for r in r3], RUN34_EVENT_STEP)
        res.run34_paths[v.key] = (r3, r4)

    mesa = load_mesa(mesa_dir if mesa_dir is not None else root / "docs" / "data")
    res.mesa = mesa_stats(mesa, budget) if mesa else None
    res.wall_seconds = time.perf_counter() - start
    return res


def choose_closest(res: SuiteResult) -> str:
    """The Run 2 combination reported as closest: where the search ended, or (no search) the nearest measured.

    Combinations within 0.05 of it in distance are as close at these ensemble sizes; the report lists them.
    """
    if res.search_path:
        return res.search_path[-1]
    return min(res.run2, key=lambda k: res.run2[k]["distance"])


# --------------------------------------------------------------------------- the report
def _f(x: float, digits: int = 0) -> str:
    if x is None or not math.isfinite(x):
        return "–"
    return f"{x:.{digits}f}"


def _ci(ci: tuple[float, float], digits: int = 0) -> str:
    lo, hi = ci
    if not (math.isfinite(lo) and math.isfinite(hi)):
        return ""
    return f" ({lo:.{digits}f}–{hi:.{digits}f})"


def _pct(x: float) -> str:
    return "–" if not math.isfinite(x) else f"{100 * x:.0f}%"


def _commit(root: Path) -> str:
    try:
        return subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=root, capture_output=True, text=True,
                              timeout=10).stdout.strip() or "unknown"
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def _mesa_label(res: SuiteResult) -> str:
    meta = res.mesa["meta"] if res.mesa else {}
    return f"Mesa {meta.get('mesa_version', '?')} (its own rules)"


RUN2_HEADER = ("| rules | outbursts per 1000 steps | wait: mean (95% CI) | sd | wait verdict | gap mean | "
               "total activation: mean (95% CI) | sd | size verdict | distance |",
               "|---|---|---|---|---|---|---|---|---|---|")
RUN34_HEADER = ("| rules | Run 3 explodes | Run 3 mean peak | Run 4 explodes | Run 4 mean peak | same seed: Run 4 higher | "
                "Fisher p | verdict |", "|---|---|---|---|---|---|---|---|")


def _run2_row(label: str, st: dict) -> str:
    return (f"| {label} | {_f(st['episodes_per_1000_steps'], 1)} | {_f(st['wait_mean'])}{_ci(st['wait_ci'])} | "
            f"{_f(st['wait_sd'])} | {number_verdict(PAPER['run2_wait_mean'], st['wait_mean'], st['wait_ci'])} | "
            f"{_f(st['gap_mean'])} | {_f(st['size_mean'])}{_ci(st['size_ci'])} | {_f(st['size_sd'])} | "
            f"{number_verdict(PAPER['run2_size_mean'], st['size_mean'], st['size_ci'])} | {_f(st['distance'], 2)} |")


def _run1_row(label: str, st: dict, fixed: bool) -> str:
    p_fell = st["fell_turned"] / st["fell_total"] if st["fell_total"] else math.nan
    p_other = st["other_turned"] / st["other_total"] if st["other_total"] else math.nan
    trans = (f"{_pct(p_fell)} of {st['fell_total']} | {_pct(p_other)} of {st['other_total']}" if fixed
             else "n/a (citizens move) | n/a")
    return (f"| {label} | {st['defined']}/{st['snapshots']} | {_f(st['r_obs_mean'], 3)}{_ci(st['r_obs_ci'], 3)} | "
            f"{_f(st['null_mean'], 3)} | {_pct(st['significant'])} | {trans} | {run1_verdict(st)} |")


def _run34_row(label: str, st: dict) -> str:
    a, b = st["run3"], st["run4"]
    return (f"| {label} | {a['exploded']}/{a['n']} = {_pct(a['fraction'])}{_ci(tuple(100 * x for x in a['fraction_ci']))} | "
            f"{_f(a['peak_mean'])} | {b['exploded']}/{b['n']} = {_pct(b['fraction'])}"
            f"{_ci(tuple(100 * x for x in b['fraction_ci']))} | {_f(b['peak_mean'])} | "
            f"{_pct(st['run4_higher_same_seed'])} | {st['fisher_p']:.2g} | {run34_verdict(st)} |")


def _tension_row(label: str, st: dict) -> str:
    return (f"| {label} | {st['outbursts']} | {_f(st['deterred_mean'])} | {_f(st['release_mean'], 1)}"
            f"{_ci(st['release_ci'], 1)} | {_pct(st['release_positive'])} | {_f(st['buildup_mean'], 1)}"
            f"{_ci(st['buildup_ci'], 1)} | {_pct(st['buildup_positive'])} | {tension_verdict(st)} |")


def render_markdown(res: SuiteResult, figures: dict[str, str], root: Path, command: str) -> str:
    """The validation section of docs/validation.md, from a suite's statistics."""
    b = res.budget
    lab2 = res.run2_labels
    grid_keys = [v.key for v in grid_variants(b.shapes)]
    impl_keys = ["mesa-rules", "netlogo-rules"]
    best = res.closest
    bst = res.run2[best]
    mesa = res.mesa
    L: list[str] = [MARK_START, "## Epstein (2002)'s named results: what holds, under which rules", ""]
    L.append(f"*Generated by `{command}` ({b.name} ensembles) on {date.today().isoformat()} at commit "
             f"`{getattr(res, 'commit', '') or _commit(root)}`, in {res.wall_seconds:.0f} s on {platform.machine()} with {os.cpu_count()} CPUs. "
             "Every number below is measured by that command; only the paper's values are typed in.*")
    L.append("")
    L.append("The paper's runs are `scenarios/epstein-2002/run1..4.toml`. Each result is measured under every "
             "combination of the arrest rule (`ratio`: the paper's printed P = 1 − exp(−k C/A); `floor`: NetLogo's; "
             "`round`: Mesa's round-half-even) and the vision shape"
             f" ({', '.join(f'`{s}`' for s in b.shapes)}), every other rule as in the scenario files, and under the "
             "complete rule sets of Mesa's example and NetLogo's Rebellion on the paper's inputs. "
             + ("Mesa's own values come from `benchmarks/mesa_validation.py` (Mesa "
                f"{mesa['meta'].get('mesa_version', '?')} run unmodified, {mesa['meta'].get('date', '?')}); "
                "the same functions (`uprising.analysis`) measure both." if mesa else
                "Mesa's own values are missing: run `benchmarks/mesa_validation.py` to add them."))
    L.append("")

    # summary
    L += ["### Summary", "", "| result | paper | Mesa | uprising, closest rules | verdict |", "|---|---|---|---|---|"]
    mr2 = mesa.get("run2") if mesa else None
    L.append(f"| Run 2: mean wait between outbursts (steps) | 60 (sd 55) | "
             f"{_f(mr2['wait_mean']) + ' (sd ' + _f(mr2['wait_sd']) + ')' if mr2 else '–'} | "
             f"{_f(bst['wait_mean'])} (sd {_f(bst['wait_sd'])}), {lab2[best]} | "
             f"{number_verdict(PAPER['run2_wait_mean'], bst['wait_mean'], bst['wait_ci'])} |")
    L.append(f"| Run 2: mean total activation per outburst | 708 (sd 230) | "
             f"{_f(mr2['size_mean']) + ' (sd ' + _f(mr2['size_sd']) + ')' if mr2 else '–'} | "
             f"{_f(bst['size_mean'])} (sd {_f(bst['size_sd'])}), {lab2[best]} | "
             f"{number_verdict(PAPER['run2_size_mean'], bst['size_mean'], bst['size_ci'])} |")
    r1 = res.run1.get("floor-euclidean")
    if r1:
        m1 = (mesa or {}).get("run1", {})
        m1s = "; ".join(f"r = {_f(v['r_obs_mean'], 3)} vs {_f(v['null_mean'], 3)} ({k})" for k, v in m1.items()) or "–"
        L.append(f"| Run 1: deception (cops in vision vs. activity) | aggrieved agents hide near cops | {m1s} | "
                 f"r = {_f(r1['r_obs_mean'], 3)} vs {_f(r1['null_mean'], 3)} shuffled (floor, euclidean) | "
                 f"{run1_verdict(r1)} |")
    r34 = res.run34.get("floor-euclidean")
    if r34:
        m34 = (mesa or {}).get("run34")
        L.append(f"| Runs 3 vs 4: gradual loss quiet, sudden drop explodes | no outburst vs. explosion | "
                 + (f"{_pct(m34['run3']['fraction'])} vs {_pct(m34['run4']['fraction'])} of seeds explode"
                    if m34 else "–")
                 + f" | {_pct(r34['run3']['fraction'])} vs {_pct(r34['run4']['fraction'])} of seeds explode "
                 f"(floor, euclidean) | {run34_verdict(r34)} |")
    tb = res.tension.get(best)
    if tb:
        mt = (mesa or {}).get("tension")
        L.append(f"| Tension (fig. 8): builds in calm, released in outbursts | qualitative | "
                 + (f"release {_f(mt['release_mean'], 1)}, build-up {_f(mt['buildup_mean'], 1)}" if mt else "–")
                 + f" | release {_f(tb['release_mean'], 1)}, build-up {_f(tb['buildup_mean'], 1)} deterred citizens "
                 f"({lab2[best]}) | {tension_verdict(tb)} |")
    L.append("")

    # Run 2 first: it is the contested one
    L += ["### Run 2: punctuated equilibrium", "",
          f"{b.seeds_run2} runs of {b.steps_run2} steps per rule combination (seeds 0–{b.seeds_run2 - 1}); the "
          f"first {b.burn_in} steps are dropped. An outburst is a spell of more than {OUTBURST_THRESHOLD} actives; "
          "its total activation is the sum of the active counts over its steps. *Wait* is onset to onset "
          "(`uprising.analysis.waits(..., 'onset')`); *gap* is the calm time only (end to next onset). Means and sds "
          "are over all outbursts of all runs; 95% intervals (in brackets) come from a bootstrap over runs. "
          "A number *matches* when the paper's value lies in that interval, is *close* within 25%, and *differs* "
          "otherwise. *Distance* is √(((wait − 60)/55)² + ((size − 708)/230)²), the gap to the paper in its own sds.",
          "",
          *RUN2_HEADER,
          "| **Epstein (2002)** | – | 60 | 55 | – | – | 708 | 230 | – | 0 |"]
    if mr2:
        L.append(_run2_row(f"**{_mesa_label(res)}**", mr2))
    for k in grid_keys + impl_keys:
        if k in res.run2:
            name = f"**{lab2[k]}**" if k == best else lab2[k]
            L.append(_run2_row(name, res.run2[k]))
    L.append("")
    no_bursts = [lab2[k] for k in grid_keys if res.run2[k]["episodes"] == 0]
    L.append(f"**Closest to both of the paper's numbers: {lab2[best]}**, at distance {_f(bst['distance'], 2)}: "
             f"waits {_f(bst['wait_mean'])} (paper 60) and total activation {_f(bst['size_mean'])} (paper 708). "
             + (f"No combination comes within the paper's interval on both numbers. " if
                not (number_verdict(60, bst['wait_mean'], bst['wait_ci']) == "matches" and
                     number_verdict(708, bst['size_mean'], bst['size_ci']) == "matches") else "")
             + (f"With the {', '.join(no_bursts)} rules there are no outbursts at all." if no_bursts else ""))
    L.append("")
    ties = [k for k in res.run2 if k != best and res.run2[k]["distance"] < bst["distance"] + 0.05]
    if ties:
        L.append("Within 0.05 of that distance, as close at this ensemble size: "
                 + "; ".join(f"{lab2[k]} ({_f(res.run2[k]['distance'], 2)})" for k in
                             sorted(ties, key=lambda k: res.run2[k]["distance"])) + ".")
        L.append("")
    published = min(grid_keys + impl_keys, key=lambda k: res.run2[k]["distance"] if k in res.run2 else math.inf)
    if published != best:
        pst = res.run2[published]
        L.append(f"Among the arrest rule × vision shape grid and the published rule sets, the closest is "
                 f"**{lab2[published]}** (distance {_f(pst['distance'], 2)}: waits {_f(pst['wait_mean'])}, "
                 f"total activation {_f(pst['size_mean'])}).")
        L.append("")
    if res.search_rounds:
        L += ["**The search.** From the grid's closest combination, every other switch was changed to each of its "
              "other values, one at a time, on the same ensembles; the change that brought the means closest to "
              "the paper's was kept, and the search went on from there until no change gained 0.05 in distance "
              f"(at most {b.search_rounds} rounds). Path: "
              + " → ".join(f"{lab2[k]} ({_f(res.run2[k]['distance'], 2)})" for k in res.search_path) + ".", ""]
        tried = sorted({k for r in res.search_rounds for k in r}, key=lambda k: res.run2[k]["distance"])
        L += ["Every combination the search tried, closest first:", "",
              *RUN2_HEADER]
        for k in tried:
            L.append(_run2_row(f"**{lab2[k]}**" if k == best else lab2[k], res.run2[k]))
        L.append("")
    for key in ("run2_map", "run2_hist", "run2_series"):
        if key in figures:
            L += [f"![{key}]({figures[key]})", ""]

    # Run 1
    L += ["### Run 1: deception", "",
          f"{b.seeds_run1} runs of {b.steps_run1} steps per rule combination; at steps "
          f"{', '.join(map(str, b.snapshots_run1))} the correlation over citizens between the number of cops in "
          "vision and being active (`uprising.analysis.deception`) is compared with the same correlation after the "
          f"cops are shuffled over the cells without citizens, {b.null_draws} times "
          "(`deception_null`). Citizens stay in place in Run 1's file and cops patrol (our reading: the paper "
          "shows aggrieved agents turning active when cops move *away*), so each citizen can also be followed: "
          "among quiet citizens whose grievance exceeds the threshold (deterred only by risk), the share that "
          "turns active in the next step when the number of cops in its vision fell, against when it did not. "
          "Vision 1.7 in the `von_neumann` and `moore` shapes is radius 1 (4 and 8 cells); `euclidean` 1.7 is the "
          "8 cells of `moore` 1, so those rows coincide. "
          "A snapshot counts as *below the shuffles* when fewer than 5% of the shuffles give a lower r.",
          "",
          "| rules | snapshots with actives | mean r (95% CI over runs) | mean r, cops shuffled | snapshots below "
          "the shuffles | turn active when cops in vision fell | otherwise | verdict |",
          "|---|---|---|---|---|---|---|---|"]
    if mesa and mesa.get("run1"):
        for k, st in mesa["run1"].items():
            L.append(_run1_row(f"**{_mesa_label(res)}, {k}**", st, fixed=False))
    for k, st in res.run1.items():
        fixed = not k.endswith("all-move")
        L.append(_run1_row(res.run1_labels[k], st, fixed))
    L.append("")
    if "run1" in figures:
        L += [f"![run1]({figures['run1']})", ""]

    # Runs 3 and 4
    L += ["### Runs 3 and 4: gradual against sudden loss of legitimacy", "",
          f"{b.seeds_run34} seeds, each run once as Run 3 (L falls 0.01 a step from step {RUN34_EVENT_STEP}, to 0.6: "
          "the stop value is our assumption) and once as Run 4 (L drops from 0.9 to 0.7 at step "
          f"{RUN34_EVENT_STEP}), {b.steps_run34} steps, J_max infinite, cops 0.074. A seed *explodes* when actives "
          f"exceed {OUTBURST_THRESHOLD} from step {RUN34_EVENT_STEP} on. Brackets: 95% Wilson intervals. *Same seed* is "
          "the share of seeds whose Run 4 peak exceeds its Run 3 peak; Fisher's exact test (one-sided) asks whether "
          "Run 4 explodes more often. *Reproduced* means Run 4 explodes in at least 80% of seeds and Run 3 in at "
          "most 20%.",
          "",
          *RUN34_HEADER]
    if mesa and mesa.get("run34"):
        L.append(_run34_row(f"**{_mesa_label(res)}**", mesa["run34"]))
    for k in grid_keys + impl_keys:
        if k in res.run34:
            L.append(_run34_row(res.run34_labels.get(k, k), res.run34[k]))
    L.append("")
    sens34 = [k for k in res.run34 if "+" in k]
    if sens34:
        L += ["Every other switch, one at a time, away from floor, euclidean:", "",
              *RUN34_HEADER]
        for k in sens34:
            L.append(_run34_row(res.run34_labels[k], res.run34[k]))
        L.append("")
    repro = [res.run34_labels.get(k, k) for k, st in res.run34.items() if run34_verdict(st) == "reproduced"]
    L.append("Combinations under which the paper's claim holds (Run 4 explodes in ≥ 80% of seeds, Run 3 in ≤ 20%): "
             + (", ".join(repro) if repro else "**none** of those measured") + ".")
    L.append("")
    if "run34" in figures:
        L += [f"![run34]({figures['run34']})", ""]

    # Tension
    L += ["### Tension (the paper's fig. 8)", "",
          "Tension is the number of quiet citizens whose grievance exceeds the threshold, G = H(1 − L) > T, who "
          "stay quiet only for fear of arrest (`uprising.analysis.tension`). *Release* is its mean over the 5 "
          "steps before an outburst minus its mean over the 5 steps after; *build-up* is, over a calm spell of at "
          "least 10 steps between two outbursts, its mean in the last 5 steps minus that in the first 5. Both "
          "should be positive: tension accumulates while prisoners return and is spent when the deterred rise "
          "and are jailed. Measured on the Run 2 ensembles above.",
          "",
          "| rules | outbursts used | mean tension | release (95% CI) | releases > 0 | build-up (95% CI) | "
          "build-ups > 0 | verdict |",
          "|---|---|---|---|---|---|---|---|"]
    if mesa and mesa.get("tension"):
        L.append(_tension_row(f"**{_mesa_label(res)}**", mesa["tension"]))
    for k in grid_keys + impl_keys + ([best] if best not in grid_keys + impl_keys else []):
        if k in res.tension:
            L.append(_tension_row(lab2[k], res.tension[k]))
    L.append("")
    if "tension" in figures:
        L += [f"![tension]({figures['tension']})", ""]
    L += [MARK_END]
    return "\n".join(L) + "\n"


def write_figures(res: SuiteResult, fig_dir: Path, rel_to: Path) -> dict[str, str]:
    """Write the suite's figures; returns their paths relative to ``rel_to`` (the Markdown's folder)."""
    from .viz import validation_plots as vp

    fig_dir.mkdir(parents=True, exist_ok=True)
    out: dict[str, Path] = {}
    lab = res.run2_labels
    keep = set(res.search_path) | {res.closest}
    points = {lab[k]: st for k, st in res.run2.items() if "+" not in k or k in keep}
    if res.mesa and res.mesa.get("run2"):
        points[_mesa_label(res)] = res.mesa["run2"]
    out["run2_map"] = vp.run2_map(points, PAPER, fig_dir / "validation-run2-map.png", highlight=lab[res.closest])
    samples = {lab[res.closest]: res.run2_sizes[res.closest]}
    if "mesa-rules" in res.run2_sizes and res.closest != "mesa-rules":
        samples[lab["mesa-rules"]] = res.run2_sizes["mesa-rules"]
    out["run2_hist"] = vp.run2_histograms(samples, PAPER, fig_dir / "validation-run2-histograms.png")
    series = {f"{lab[k]} (seed 0)": r["active"] for k, r in res.run2_examples.items()}
    out["run2_series"] = vp.run2_timeseries(series, fig_dir / "validation-run2-series.png")
    if res.run1_example is not None:
        grid, null = res.run1_example
        out["run1"] = vp.run1_deception(grid, null, float(analysis.deception(grid, 1.7, "euclidean")),
                                        fig_dir / "validation-run1.png", "Run 1 (floor, euclidean), seed 0")
    panels = {lab.get(k, k): res.run34_paths[k] for k in ("floor-euclidean", "mesa-rules", "ratio-euclidean")
              if k in res.run34_paths}
    out["run34"] = vp.run34_overlay(panels, fig_dir / "validation-run34.png", RUN34_EVENT_STEP)
    ex = res.run2_example
    out["tension"] = vp.tension(ex["active"], ex["deterred"], fig_dir / "validation-tension.png",
                                f"Run 2 ({lab[ex['variant']]}, seed {ex['seed']}): actives and tension")
    return {k: os.path.relpath(p, rel_to) for k, p in out.items()}


def _jsonable(x):
    if isinstance(x, dict):
        return {str(k): _jsonable(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_jsonable(v) for v in x]
    if isinstance(x, np.ndarray):
        return _jsonable(x.tolist())
    if isinstance(x, (np.integer,)):
        return int(x)
    if isinstance(x, (float, np.floating)):
        return float(x) if math.isfinite(x) else None
    return x


def summary_json(res: SuiteResult) -> dict:
    """The suite's statistics as plain JSON (for the report command and for diffing runs)."""
    return _jsonable({"budget": vars(res.budget), "closest_run2": res.closest, "labels": res.run2_labels,
                      "run1": res.run1, "run2": res.run2, "tension": res.tension,
                      "run34": {k: {"run3": {a: b for a, b in v["run3"].items() if a != "peaks"},
                                    "run4": {a: b for a, b in v["run4"].items() if a != "peaks"},
                                    "fisher_p": v["fisher_p"], "run4_higher_same_seed": v["run4_higher_same_seed"],
                                    "verdict": run34_verdict(v)} for k, v in res.run34.items()},
                      "verdicts": {"run1": {k: run1_verdict(v) for k, v in res.run1.items()},
                                   "tension": {k: tension_verdict(v) for k, v in res.tension.items()}},
                      "wall_seconds": res.wall_seconds})


def splice(existing: str, section: str) -> str:
    """Put ``section`` between the validate markers of ``existing`` (or after its title when absent)."""
    if MARK_START in existing and MARK_END in existing:
        head, rest = existing.split(MARK_START, 1)
        _, tail = rest.split(MARK_END, 1)
        return head + section.rstrip("\n") + tail
    title = "# Validation\n\n"
    body = existing[len(title):] if existing.startswith(title) else existing
    return title + section + "\n" + body


def write_report(res: SuiteResult, out: Path, fig_dir: Path, json_path: Path | None, root: Path,
                 command: str) -> Path:
    """Write figures, the Markdown section (atomically) and the JSON numbers."""
    figures = write_figures(res, fig_dir, out.parent)
    section = render_markdown(res, figures, root, command)
    old = out.read_text(encoding="utf-8") if out.exists() else ""
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(out.suffix + ".partial")
    tmp.write_text(splice(old, section), encoding="utf-8")
    tmp.replace(out)
    if json_path is not None:
        json_path.parent.mkdir(parents=True, exist_ok=True)
        tmp = json_path.with_suffix(json_path.suffix + ".partial")
        tmp.write_text(json.dumps(summary_json(res), indent=1), encoding="utf-8")
        tmp.replace(json_path)
    return out
