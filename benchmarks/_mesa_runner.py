"""Reusable pieces of the Mesa-equivalence check (``benchmarks/mesa_equivalence.py``).

Runs Mesa 3.3.1's own Epstein example and uprising's ``mesa-default`` scenario
side by side, reduces each run to a few per-run statistics and compares the two
samples of runs with two-sample tests. Importable from the tests: they put the
``benchmarks`` folder on ``sys.path`` and ``import _mesa_runner``.

Mesa's rules are never changed. Mesa records no arrests, so each cop's ``step``
is wrapped (on the instance, the class is untouched): the wrapper takes the
cop's vision neighbourhood before the call (Mesa's cached ``CellCollection``,
whose agent lists are live), counts the ACTIVE citizens in it before and after
the original ``Cop.step`` runs, and adds the difference. Inside ``Cop.step`` the
only change to the citizens in that neighbourhood is the arrestee going from
ACTIVE to ARRESTED (the cop's own move changes no citizen), so the difference is
exactly the number of arrests (0 or 1). The wrapper draws no random numbers, so
the run is the same as an uninstrumented run with the same seed.
"""

from __future__ import annotations

import math
import platform
import time
import types
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
SCENARIO_PATH = REPO / "scenarios" / "mesa-default.toml"
EPISODE_THRESHOLD = 50  # Epstein (2002) Run 2: outbursts are periods with more than 50 actives
ALPHA = 0.01  # family-wise significance level per setting, Holm-corrected

# Column order of a run's per-step record (row 0 = the initial state).
COLUMNS = ("quiet", "active", "jailed", "arrests")

# The two settings: Mesa constructor kwargs and the matching uprising scenario changes.
SETTINGS: dict[str, dict] = {
    "mesa_defaults": {
        "title": "(a) Mesa's defaults (L 0.8, cops 0.074, J_max 1000)",
        "mesa": {},
        "uprising": {},
    },
    "run2": {
        "title": "(b) Epstein Run 2 inputs under Mesa's rules (L 0.82, cops 0.04, J_max 30)",
        "mesa": {"legitimacy": 0.82, "cop_density": 0.04, "max_jail_term": 30},
        "uprising": {"legitimacy": 0.82, "cop_density": 0.04, "max_jail_term": 30},
    },
}


# --------------------------------------------------------------------------- runs
@dataclass
class Run:
    """One run, either side: per-step counts (steps+1 rows) and the citizen count."""

    source: str  # "mesa" or "uprising"
    seed: int
    counts: np.ndarray  # (steps + 1) x 4 int64, columns COLUMNS
    citizens: int
    wall_seconds: float

    def column(self, name: str) -> np.ndarray:
        return self.counts[:, COLUMNS.index(name)]


def _counting_cop_step(cop, original_step, model):
    """Wrap one cop's ``step``: count its arrests without touching Mesa's rules."""
    from mesa.examples.advanced.epstein_civil_violence.agents import Citizen, CitizenState

    active = CitizenState.ACTIVE

    def step(self):
        hood = self.cell.get_neighborhood(radius=self.vision)  # cached, no random draws
        before = sum(1 for a in hood.agents if isinstance(a, Citizen) and a.state is active)
        original_step()
        after = sum(1 for a in hood.agents if isinstance(a, Citizen) and a.state is active)
        model.arrests_this_step += before - after

    return types.MethodType(step, cop)


def run_mesa(seed: int, steps: int, kwargs: dict | None = None) -> Run:
    """Run Mesa's ``EpsteinCivilViolence`` for ``steps`` steps; record counts and arrests per step."""
    from mesa.examples.advanced.epstein_civil_violence.agents import Citizen, Cop
    from mesa.examples.advanced.epstein_civil_violence.model import EpsteinCivilViolence

    start = time.perf_counter()
    model = EpsteinCivilViolence(seed=seed, max_iters=max(steps, 1000), **(kwargs or {}))
    model.arrests_this_step = 0
    for cop in list(model.agents_by_type[Cop]):
        cop.step = _counting_cop_step(cop, cop.step, model)
    citizens = len(model.agents_by_type[Citizen])
    out = np.zeros((steps + 1, len(COLUMNS)), dtype=np.int64)
    out[0] = (model.QUIET, model.ACTIVE, model.ARRESTED, 0)
    for t in range(1, steps + 1):
        model.arrests_this_step = 0
        model.step()
        out[t] = (model.QUIET, model.ACTIVE, model.ARRESTED, model.arrests_this_step)
    assert (out[:, :3].sum(axis=1) == citizens).all()
    return Run("mesa", seed, out, citizens, time.perf_counter() - start)


def _run_mesa_job(job: tuple[int, int, dict]) -> Run:
    seed, steps, kwargs = job
    return run_mesa(seed, steps, kwargs)


def run_mesa_jobs(jobs: list[tuple[int, int, dict]], workers: int = 2, progress=None) -> list[Run]:
    """Mesa runs for ``(seed, steps, kwargs)`` jobs on ``workers`` processes (results in job order)."""
    jobs = [(int(seed), int(steps), dict(kwargs or {})) for seed, steps, kwargs in jobs]
    runs: list[Run] = []
    if workers <= 1:
        results = map(_run_mesa_job, jobs)
        for run in results:
            runs.append(run)
            if progress:
                progress(run, len(runs), len(jobs))
        return runs
    with ProcessPoolExecutor(max_workers=workers) as pool:
        for run in pool.map(_run_mesa_job, jobs):
            runs.append(run)
            if progress:
                progress(run, len(runs), len(jobs))
    return runs


def run_mesa_many(seeds, steps: int, kwargs: dict | None = None, workers: int = 2,
                  progress=None) -> list[Run]:
    """Mesa runs for ``seeds`` with the same ``kwargs`` on ``workers`` processes (results in seed order)."""
    return run_mesa_jobs([(s, steps, kwargs or {}) for s in seeds], workers, progress)


def uprising_scenario(changes: dict | None = None):
    from uprising.scenario import Scenario

    scenario = Scenario.load(SCENARIO_PATH)
    return scenario.replace(**changes) if changes else scenario


def run_uprising(seed: int, steps: int, changes: dict | None = None, scenario=None) -> Run:
    """Run uprising's ``mesa-default`` scenario (with ``changes``) from ``seed``."""
    from uprising.simulate import simulate

    scenario = uprising_scenario(changes) if scenario is None else scenario
    start = time.perf_counter()
    res = simulate(scenario, steps, int(seed))
    cols = [res.column(name) for name in COLUMNS]
    out = np.stack(cols, axis=1).astype(np.int64)
    return Run("uprising", int(seed), out, int(res.citizens), time.perf_counter() - start)


def run_uprising_many(seeds, steps: int, changes: dict | None = None) -> list[Run]:
    scenario = uprising_scenario(changes)
    return [run_uprising(s, steps, scenario=scenario) for s in seeds]


# --------------------------------------------------------------------------- statistics
def episodes(run: Run) -> list[tuple[int, int, int]]:
    """Outbursts above EPISODE_THRESHOLD actives, uprising's own definition, on either side."""
    from uprising.simulate import outbursts

    return outbursts(run.column("active"), EPISODE_THRESHOLD)


def per_run_stats(run: Run) -> dict[str, float]:
    """The per-run statistics compared between the two samples (NaN where undefined)."""
    n = max(run.citizens, 1)
    act = run.column("active")[1:]
    jail = run.column("jailed")[1:]
    arr = run.column("arrests")[1:]
    ep = episodes(run)
    starts = [e[0] for e in ep]
    return {
        "mean_active_fraction": float(act.mean() / n),
        "mean_jailed_fraction": float(jail.mean() / n),
        "final_jailed_fraction": float(jail[-1] / n),
        "arrests_per_step_per_citizen": float(arr.mean() / n),
        "episode_count": float(len(ep)),
        "mean_wait_between_episodes": float(np.mean(np.diff(starts))) if len(ep) > 1 else math.nan,
        "mean_activation_per_episode": float(np.mean([e[2] for e in ep])) if ep else math.nan,
    }


def pooled_episode_values(runs: list[Run]) -> dict[str, np.ndarray]:
    """Waits between episode starts and total activations, pooled over runs."""
    waits, sizes = [], []
    for run in runs:
        ep = episodes(run)
        waits.extend(np.diff([e[0] for e in ep]).tolist())
        sizes.extend(e[2] for e in ep)
    return {"pooled_wait": np.asarray(waits, float), "pooled_activation": np.asarray(sizes, float)}


STAT_LABELS = {
    "mean_active_fraction": "mean active fraction",
    "mean_jailed_fraction": "mean jailed fraction",
    "final_jailed_fraction": "jailed fraction at the final step",
    "arrests_per_step_per_citizen": "arrests per step per citizen",
    "episode_count": f"episodes (> {EPISODE_THRESHOLD} actives) per run",
    "mean_wait_between_episodes": "mean wait between episode starts (per run)",
    "mean_activation_per_episode": "mean total activation per episode (per run)",
    "pooled_wait": "wait between episode starts (pooled over runs)",
    "pooled_activation": "total activation per episode (pooled over runs)",
}
EPISODE_STATS = {"episode_count", "mean_wait_between_episodes", "mean_activation_per_episode",
                 "pooled_wait", "pooled_activation"}
MIN_VALUES = 3  # fewer values than this on a side: no test


@dataclass
class Comparison:
    stat: str
    mesa: np.ndarray
    upr: np.ndarray
    tests: dict[str, float] = field(default_factory=dict)  # test name -> raw p-value
    adjusted: dict[str, float] = field(default_factory=dict)  # test name -> Holm-adjusted p-value
    note: str = ""  # why there is no test

    @property
    def tested(self) -> bool:
        return bool(self.tests)

    def rejects(self, alpha: float = ALPHA) -> bool:
        return any(p <= alpha for p in self.adjusted.values())

    def verdict(self, alpha: float = ALPHA) -> str:
        if not self.tested:
            return self.note
        return f"distinguishable at {alpha}" if self.rejects(alpha) else f"indistinguishable at {alpha}"


def holm(pvalues: list[float]) -> list[float]:
    """Holm (1979) step-down adjusted p-values (family-wise error control)."""
    m = len(pvalues)
    order = np.argsort(pvalues)
    adjusted = np.empty(m)
    running = 0.0
    for rank, i in enumerate(order):
        running = max(running, (m - rank) * pvalues[i])
        adjusted[i] = min(1.0, running)
    return adjusted.tolist()


def _two_sample(a: np.ndarray, b: np.ndarray, pooled: bool) -> dict[str, float]:
    from scipy.stats import ks_2samp, mannwhitneyu

    if np.array_equal(np.unique(a), np.unique(b)) and len(np.unique(a)) == 1:
        # both samples are the same constant: nothing to distinguish (scipy would warn or give nan)
        return {"KS": 1.0} if pooled else {"MWU": 1.0, "KS": 1.0}
    tests = {"KS": float(ks_2samp(a, b).pvalue)}
    if not pooled:
        tests = {"MWU": float(mannwhitneyu(a, b, alternative="two-sided").pvalue), **tests}
    return tests


def compare(mesa_runs: list[Run], upr_runs: list[Run], alpha: float = ALPHA) -> list[Comparison]:
    """Two-sample tests of every statistic; Holm correction over all tests of this setting.

    Per-run statistics get a Mann-Whitney U and a two-sample Kolmogorov-Smirnov
    test; the pooled episode distributions get a KS test. A statistic with fewer
    than MIN_VALUES values on a side is reported, not tested.
    """
    m_stats = [per_run_stats(r) for r in mesa_runs]
    u_stats = [per_run_stats(r) for r in upr_runs]
    comps = []
    for stat in STAT_LABELS:
        if stat.startswith("pooled"):
            a = pooled_episode_values(mesa_runs)[stat]
            b = pooled_episode_values(upr_runs)[stat]
        else:
            a = np.array([s[stat] for s in m_stats])
            b = np.array([s[stat] for s in u_stats])
            a, b = a[~np.isnan(a)], b[~np.isnan(b)]
        comp = Comparison(stat, a, b)
        no_episodes = stat in EPISODE_STATS and not any(per_run_stats(r)["episode_count"] for r in mesa_runs + upr_runs)
        if no_episodes:
            comp.note = "no episodes on either side"
        elif len(a) < MIN_VALUES or len(b) < MIN_VALUES:
            comp.note = f"not tested: too few values (Mesa {len(a)}, uprising {len(b)})"
        else:
            comp.tests = _two_sample(a, b, pooled=stat.startswith("pooled"))
        comps.append(comp)
    flat = [(c, name) for c in comps for name in c.tests]
    adjusted = holm([c.tests[name] for c, name in flat]) if flat else []
    for (c, name), p in zip(flat, adjusted):
        c.adjusted[name] = p
    return comps


def setting_rejects(comps: list[Comparison], alpha: float = ALPHA) -> bool:
    return any(c.rejects(alpha) for c in comps)


# --------------------------------------------------------------------------- report
def _fmt(x: float) -> str:
    if not np.isfinite(x):
        return "–"
    if x == 0:
        return "0"
    if abs(x) < 1e-2 or abs(x) >= 1e4:
        return f"{x:.3g}"
    return f"{x:.4g}" if abs(x) < 10 else f"{x:.1f}"


def _mean_sd(v: np.ndarray) -> str:
    if len(v) == 0:
        return "– (n=0)"
    sd = float(np.std(v, ddof=1)) if len(v) > 1 else math.nan
    return f"{_fmt(float(np.mean(v)))} ± {_fmt(sd)} (n={len(v)})"


def _p(x: float | None) -> str:
    if x is None:
        return "–"
    return f"{x:.2g}" if x < 0.001 else f"{x:.3f}"


def markdown_table(comps: list[Comparison], alpha: float = ALPHA) -> str:
    lines = ["| statistic | Mesa mean ± sd | uprising mean ± sd | MWU p | KS p | Holm-adjusted min p | verdict |",
             "|---|---|---|---|---|---|---|"]
    for c in comps:
        adj = min(c.adjusted.values()) if c.adjusted else None
        lines.append(f"| {STAT_LABELS[c.stat]} | {_mean_sd(c.mesa)} | {_mean_sd(c.upr)} | "
                     f"{_p(c.tests.get('MWU'))} | {_p(c.tests.get('KS'))} | {_p(adj)} | {c.verdict(alpha)} |")
    return "\n".join(lines)


def machine() -> str:
    import os

    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{platform.platform()}, {cpu}, {os.cpu_count()} CPUs, Python {platform.python_version()}"


def replace_section(path: Path, body: str, start: str = "<!-- mesa-equivalence:start -->",
                    end: str = "<!-- mesa-equivalence:end -->") -> None:
    """Write ``body`` between the markers of ``path``, leaving the rest of the file alone."""
    block = f"{start}\n{body.rstrip()}\n{end}\n"
    text = path.read_text(encoding="utf-8") if path.exists() else ""
    if start in text and end in text:
        head, _, rest = text.partition(start)
        _, _, tail = rest.partition(end)
        text = head + block.rstrip("\n") + tail
        if not text.endswith("\n"):
            text += "\n"
    else:
        text = (text.rstrip() + "\n\n" if text.strip() else "") + block
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
