"""Statistics of runs, as pure functions over arrays (no simulation here).

These are the measurements of Epstein (2002)'s named results that the
validation suite (:mod:`uprising.validation`) reports, with their statistics
(outbursts, waits, bootstrap and Wilson intervals, Fisher's exact test). They take plain arrays, so
the same function measures an uprising run and a Mesa run (the Mesa side builds
a grid of cell kinds from its agents; see ``benchmarks/mesa_validation.py``).

Cell kinds are :mod:`uprising.kernels.codes` values: ``EMPTY``, ``QUIET``,
``ACTIVE``, ``JAILED`` (a prisoner holding its cell, Mesa's rule) and ``COP``.
"""

from __future__ import annotations

import math
from typing import Callable, Sequence

import numpy as np

from .kernels import codes
from .kernels.geometry import offsets

Episode = tuple[int, int, int]  # (start step, duration in steps, total activation)


def outbursts(active: np.ndarray, threshold: int = 50) -> list[Episode]:
    """Episodes with more than ``threshold`` actives: (start step, duration, total activation).

    Epstein (2002), Run 2: an outburst is a period in which the number of
    active citizens exceeds 50; its *total activation* is taken here as the
    sum of the active counts over the episode's steps (agent-steps of
    activity). A citizen active for three steps of one episode counts three
    times; the kernel keeps no agent identities, so distinct participants are
    not counted.
    """
    active = np.asarray(active)
    above = active > threshold
    if not above.any():
        return []
    edges = np.diff(np.concatenate(([0], above.astype(np.int8), [0])))
    starts = np.flatnonzero(edges == 1)
    ends = np.flatnonzero(edges == -1)
    csum = np.concatenate(([0], np.cumsum(active, dtype=np.int64)))
    return [(int(s), int(e - s), int(csum[e] - csum[s])) for s, e in zip(starts, ends)]


WAIT_MEASURES = ("onset", "gap")


def waits(episodes: list[Episode], measure: str = "onset") -> np.ndarray:
    """Waiting times between consecutive outbursts of one run.

    ``onset``: from one outburst's first step to the next one's first step
    (inter-onset interval, our reading of Epstein's "waiting time between
    outbursts"). ``gap``: from the first calm step after an outburst to the
    next outburst's first step (the quiet time only).
    """
    if measure not in WAIT_MEASURES:
        raise ValueError(f"unknown wait measure {measure!r}; allowed: {', '.join(WAIT_MEASURES)}")
    if len(episodes) < 2:
        return np.zeros(0, dtype=np.int64)
    starts = np.array([e[0] for e in episodes], dtype=np.int64)
    if measure == "onset":
        return np.diff(starts)
    ends = np.array([e[0] + e[1] for e in episodes], dtype=np.int64)
    return starts[1:] - ends[:-1]


def vision_counts(mask: np.ndarray, radius: float, shape: str) -> np.ndarray:
    """For every cell of a torus, how many ``True`` cells of ``mask`` lie within its vision.

    The vision is ``uprising.kernels.geometry.offsets(radius, shape)`` without
    the cell itself, the neighbourhood rule A counts cops in (Epstein 2002).
    """
    m = np.asarray(mask, dtype=np.int32)
    dy, dx = offsets(radius, shape, include_center=False)
    out = np.zeros_like(m)
    for a, b in zip(dy, dx):
        # the cell at (y + a, x + b) is seen from (y, x)
        out += np.roll(m, (-int(a), -int(b)), axis=(0, 1))
    return out


def _pearson(x: np.ndarray, y: np.ndarray) -> float:
    if x.size < 3:
        return math.nan
    xs = x - x.mean()
    ys = y - y.mean()
    den = math.sqrt(float(xs @ xs) * float(ys @ ys))
    return float(xs @ ys) / den if den > 0 else math.nan


def deception(kinds: np.ndarray, radius: float, shape: str) -> float:
    """Epstein (2002) Run 1, "deception", as one number: the correlation over citizens
    between the number of cops within vision and being active.

    ``kinds`` is a height x width grid of cell kinds. Over the citizens on the
    lattice (quiet or active; prisoners excluded) it returns Pearson's r
    between the cop count within ``radius`` (``shape``) and the indicator
    "active" (a point-biserial correlation). Deception, aggrieved citizens
    hiding near cops and acting where cops are absent, makes it negative.
    NaN when nobody or everybody is active.
    """
    kinds = np.asarray(kinds)
    cops = vision_counts(kinds == codes.COP, radius, shape)
    citizen = (kinds == codes.QUIET) | (kinds == codes.ACTIVE)
    return _pearson(cops[citizen].astype(np.float64), (kinds[citizen] == codes.ACTIVE).astype(np.float64))


def deception_null(kinds: np.ndarray, radius: float, shape: str, rng: np.random.Generator,
                   n: int = 100) -> np.ndarray:
    """The correlation of :func:`deception` with cop positions shuffled, ``n`` times.

    Citizens and their states stay where they are; the same number of cops is
    placed uniformly at random on the cells that hold no citizen (the null
    hypothesis: where cops stand says nothing about who is active).
    """
    kinds = np.asarray(kinds)
    citizen = (kinds == codes.QUIET) | (kinds == codes.ACTIVE)
    active = (kinds[citizen] == codes.ACTIVE).astype(np.float64)
    free = np.flatnonzero(~citizen.ravel() & (kinds.ravel() != codes.JAILED))
    n_cops = int((kinds == codes.COP).sum())
    out = np.empty(n)
    for i in range(n):
        mask = np.zeros(kinds.size, dtype=bool)
        mask[rng.choice(free, size=n_cops, replace=False)] = True
        cops = vision_counts(mask.reshape(kinds.shape), radius, shape)
        out[i] = _pearson(cops[citizen].astype(np.float64), active)
    return out


def tension(kinds: np.ndarray, hardship: np.ndarray, legitimacy: float, threshold: float) -> tuple[int, float]:
    """Latent grievance among quiet citizens (Epstein 2002, fig. 8's "tension").

    Returns ``(deterred, latent)``: the number of quiet citizens whose
    grievance G = H(1 - L) exceeds the threshold T (they would be active but
    for the risk of arrest), and the sum of G - T over them. Quiet citizens
    on the lattice only; prisoners are not counted.
    """
    kinds = np.asarray(kinds).ravel()
    quiet = kinds == codes.QUIET
    g = np.asarray(hardship, dtype=np.float64).ravel()[quiet] * (1.0 - legitimacy)
    excess = g[g > threshold] - threshold
    return int(excess.size), float(excess.sum())


def transition_after_cops_leave(before: np.ndarray, after: np.ndarray, hardship: np.ndarray,
                                legitimacy: float, threshold: float, radius: float,
                                shape: str) -> tuple[int, int, int, int]:
    """Deception in time, for citizens that stay in place (Run 1 with citizens not moving).

    Among citizens quiet in ``before`` whose grievance exceeds the threshold
    (deterred only by the cops they see), count how many are active in
    ``after``, separately for cells where the number of cops in vision fell
    between the two grids and cells where it did not. Returns
    ``(fell_total, fell_turned, other_total, other_turned)``. The comparison is
    only meaningful when citizens do not move between the grids.
    """
    before = np.asarray(before)
    after = np.asarray(after)
    g = np.asarray(hardship, dtype=np.float64).reshape(before.shape) * (1.0 - legitimacy)
    deterred = (before == codes.QUIET) & (g > threshold) & ((after == codes.QUIET) | (after == codes.ACTIVE))
    c0 = vision_counts(before == codes.COP, radius, shape)
    c1 = vision_counts(after == codes.COP, radius, shape)
    fell = deterred & (c1 < c0)
    other = deterred & ~(c1 < c0)
    turned = after == codes.ACTIVE
    return int(fell.sum()), int((fell & turned).sum()), int(other.sum()), int((other & turned).sum())


# --------------------------------------------------------------------------- intervals
#: resamples of :func:`bootstrap_ci`
BOOTSTRAP_RESAMPLES = 2000


def bootstrap_ci(groups: Sequence[np.ndarray] | np.ndarray, rng: np.random.Generator,
                 stat: Callable[[np.ndarray], float] = np.mean,
                 n: int = BOOTSTRAP_RESAMPLES) -> tuple[float, float]:
    """95% percentile bootstrap interval of ``stat`` over the pooled values, resampling whole groups.

    ``groups`` is either a list of arrays, one per run (a cluster bootstrap:
    values within one run, such as its outbursts, are not independent, so each
    resample draws whole runs and keeps that dependence inside it), or a 1-D
    array of values, each its own group (one value per replicate). Each of the
    ``n`` resamples draws as many groups as there are, with replacement, from
    ``rng``; the interval is the 2.5% and 97.5% quantiles of ``stat`` over the
    resamples (Efron and Tibshirani 1993, the percentile interval). Empty groups
    are dropped; with fewer than two groups the interval is (NaN, NaN).
    """
    if isinstance(groups, np.ndarray) and groups.ndim == 1:
        values = groups
        if values.size < 2:
            return math.nan, math.nan
        idx = rng.integers(0, values.size, size=(n, values.size))
        if stat is np.mean:  # the same numbers as the loop below, at once
            vals = values[idx].mean(axis=1)
        else:
            vals = np.array([stat(values[row]) for row in idx], dtype=float)
    else:
        groups = [g for g in groups if g.size]
        if len(groups) < 2:
            return math.nan, math.nan
        vals = np.empty(n)
        idx = rng.integers(0, len(groups), size=(n, len(groups)))
        for i in range(n):
            vals[i] = stat(np.concatenate([groups[j] for j in idx[i]]))
    return float(np.quantile(vals, 0.025)), float(np.quantile(vals, 0.975))


# --------------------------------------------------------------------------- Epstein (2002)'s named results
# The statistics of the validation suite (:mod:`uprising.validation`), over plain arrays of runs.

#: the paper's Run 2 numbers (Epstein 2002, Run 2, as transcribed in model-notes §3)
PAPER = {
    "run2_wait_mean": 60.0, "run2_wait_sd": 55.0,
    "run2_size_mean": 708.0, "run2_size_sd": 230.0,
}
OUTBURST_THRESHOLD = 50  # Run 2: an outburst is a period with more than 50 actives
RUN34_EVENT_STEP = 77  # Runs 3 and 4: legitimacy starts to fall (3) or drops (4) at t = 77


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
        ep = outbursts(a, OUTBURST_THRESHOLD)
        n_eps.append(len(ep))
        per_waits.append(waits(ep, "onset").astype(float))
        per_gaps.append(waits(ep, "gap").astype(float))
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
        lo, hi = bootstrap_ci(groups, rng) if vals.size > 1 else (math.nan, math.nan)
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
        ep = [e for e in outbursts(a, OUTBURST_THRESHOLD) if e[0] >= burn_in]
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
        out[f"{name}_ci"] = bootstrap_ci(groups, rng) if vals.size > 1 else (math.nan, math.nan)
    mean_det = [np.asarray(run["deterred"])[burn_in:].mean() for run in runs]
    out["deterred_mean"] = float(np.mean(mean_det)) if mean_det else math.nan
    return out


def run1_stats(jobs: list[dict]) -> dict:
    """Run 1 (deception) over runs: the correlation of :func:`deception` against its shuffles, and transitions.

    ``jobs`` are runs' records (each: ``records``, one dict per snapshot with
    ``r_obs``, ``null_mean``, ``p_perm``, ``active``; ``transitions``, the sums of
    :func:`transition_after_cops_leave`). A snapshot counts as *below the
    shuffles* when fewer than 5% of them gave a lower r; the 95% interval of the
    mean r is over the runs' means (normal approximation).
    """
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


def mesa_stats(mesa: dict, burn_in: int) -> dict:
    """Mesa's runs (``benchmarks/mesa_validation.py``'s series and deception records) measured by the same
    functions as ours: Run 2 and tension after ``burn_in``, Runs 3 and 4, Run 1 per Mesa setting."""
    out: dict = {"meta": mesa["meta"]}
    s = mesa["series"]
    if "run2" in s:
        out["run2"] = run2_stats([r["active"] for r in s["run2"]], burn_in)
        out["tension"] = tension_stats(s["run2"], burn_in)
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
