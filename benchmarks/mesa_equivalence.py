"""Side by side: uprising's ``mesa-default`` scenario against Mesa 3.3.1's own Epstein example.

Runs Mesa's real ``EpsteinCivilViolence`` (arrests per step counted by wrapping
each cop's ``step``; Mesa's rules untouched) and uprising's
``scenarios/mesa-default.toml`` for the same seeds count and steps, in two
settings: (a) Mesa's defaults, (b) Epstein's Run 2 inputs (L 0.82, cop density
0.04, J_max 30) under Mesa's rules. Each run is reduced to per-run statistics
and the two samples are compared with two-sample Mann-Whitney U and
Kolmogorov-Smirnov tests at alpha = 0.01, Holm-corrected over all tests of a
setting. Writes a section of ``docs/validation.md`` and
``docs/figures/mesa-equivalence.png``.

    .venv/bin/python benchmarks/mesa_equivalence.py --seeds 30 --steps 500 --workers 2

The reusable parts live in ``benchmarks/_mesa_runner.py``.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import os
import pickle
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _mesa_runner as mr  # noqa: E402

FIGURE = Path("docs/figures/mesa-equivalence.png")

# Sensitivity check: uprising with one input or rule switch changed, against the same Mesa sample.
# Shows what "indistinguishable" can resolve with this many runs (uprising runs only: cheap).
POWER_VARIANTS: dict[str, list[dict]] = {
    "mesa_defaults": [
        {"legitimacy": 0.79}, {"legitimacy": 0.78}, {"cop_density": 0.07},
        {"arrest_rule": "floor"}, {"arrest_rule": "ratio"},
        {"order": "move_then_act"}, {"vision_shape": "euclidean"},
    ],
    "run2": [
        {"legitimacy": 0.81}, {"legitimacy": 0.80}, {"cop_density": 0.045}, {"max_jail_term": 25},
        {"arrest_rule": "floor"}, {"arrest_rule": "ratio"},
        {"order": "move_then_act"}, {"vision_shape": "euclidean"}, {"own_cell_in_vision": True},
        {"jail_term": "uniform_exclusive"}, {"jail_countdown": "end_of_step"}, {"placement": "exact"},
    ],
}


def _progress(label: str, t0: float):
    def report(run: mr.Run, done: int, total: int) -> None:
        print(f"  [{label}] Mesa seed {run.seed:3d} done ({done}/{total}), {run.citizens} citizens, "
              f"{run.counts.shape[0] - 1} steps in {run.wall_seconds:.1f} s; elapsed {time.perf_counter() - t0:.0f} s",
              flush=True)
    return report


def run_setting(key: str, seeds: int, steps: int, workers: int) -> dict:
    spec = mr.SETTINGS[key]
    print(f"{spec['title']}: {seeds} seeds x {steps} steps", flush=True)
    t0 = time.perf_counter()
    mesa_runs = mr.run_mesa_many(range(seeds), steps, spec["mesa"], workers=workers, progress=_progress(key, t0))
    mesa_wall = time.perf_counter() - t0
    print(f"  Mesa: {mesa_wall:.1f} s wall on {workers} processes", flush=True)
    t1 = time.perf_counter()
    mr.run_uprising(0, 2, spec["uprising"])  # compile / load the numba cache outside the timing
    t1 = time.perf_counter()
    upr_runs = mr.run_uprising_many(range(seeds), steps, spec["uprising"])
    upr_wall = time.perf_counter() - t1
    print(f"  uprising: {upr_wall:.2f} s wall on 1 process", flush=True)
    return {"key": key, "mesa": mesa_runs, "uprising": upr_runs, "mesa_wall": mesa_wall, "uprising_wall": upr_wall,
            "mesa_cpu": sum(r.wall_seconds for r in mesa_runs), "uprising_cpu": sum(r.wall_seconds for r in upr_runs),
            "loadavg": os.getloadavg()}


def power_rows(res: dict) -> list[tuple[str, bool, float, str, float]]:
    """(variant, rejected, smallest Holm-adjusted p, its statistic, smallest per-run one) per POWER_VARIANTS entry."""
    rows = []
    seeds = [r.seed for r in res["uprising"]]
    steps = res["uprising"][0].counts.shape[0] - 1
    base = mr.SETTINGS[res["key"]]["uprising"]
    for change in POWER_VARIANTS.get(res["key"], []):
        upr = mr.run_uprising_many(seeds, steps, {**base, **change})
        comps = mr.compare(res["mesa"], upr)
        p, stat = min(((min(c.adjusted.values()), c.stat) for c in comps if c.adjusted), default=(1.0, "-"))
        per_run = min((min(c.adjusted.values()) for c in comps if c.adjusted and not c.stat.startswith("pooled")),
                      default=1.0)
        label = ", ".join(f"{k} = {v}" for k, v in change.items())
        rows.append((label, mr.setting_rejects(comps), p, stat, per_run))
        print(f"  power [{res['key']}] {label}: {'rejected' if rows[-1][1] else 'not rejected'} (min Holm p {p:.2g})",
              flush=True)
    return rows


# --------------------------------------------------------------------------- figure
def _band(runs: list[mr.Run], column: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    frac = np.stack([r.column(column) / max(r.citizens, 1) for r in runs])
    return frac.mean(axis=0), np.quantile(frac, 0.1, axis=0), np.quantile(frac, 0.9, axis=0)


def figure(results: list[dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(len(results), 2, figsize=(12, 4.2 * len(results)), squeeze=False)
    colours = {"mesa": "#1f77b4", "uprising": "#d62728"}
    names = {"mesa": f"Mesa {_mesa_version()} example", "uprising": "uprising mesa-default"}
    for row, res in enumerate(results):
        for col, column in enumerate(("active", "jailed")):
            ax = axes[row, col]
            for side in ("mesa", "uprising"):
                mean, lo, hi = _band(res[side], column)
                t = np.arange(len(mean))
                ax.fill_between(t, lo, hi, color=colours[side], alpha=0.18, linewidth=0)
                ax.plot(t, mean, color=colours[side], lw=1.4,
                        label=f"{names[side]}: mean, 10-90% band (n={len(res[side])})")
            ax.set_title(f"{mr.SETTINGS[res['key']]['title']}\n{column} fraction of citizens", fontsize=10)
            ax.set_xlabel("step")
            ax.set_ylabel(f"{column} / citizens")
            ax.set_xlim(0, len(t) - 1)
            ax.grid(alpha=0.3)
            ax.legend(fontsize=8, loc="upper right")
    fig.suptitle("uprising mesa-default vs Mesa's EpsteinCivilViolence: per-step fractions across seeds", fontsize=12)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)


# --------------------------------------------------------------------------- report
def _mesa_version() -> str:
    import mesa

    return mesa.__version__


def _commit() -> str:
    import subprocess

    try:
        out = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=mr.REPO, capture_output=True, text=True,
                             check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--", "src"], cwd=mr.REPO, capture_output=True,
                               text=True).stdout.strip()
        return f"`{out}`" + (" (with uncommitted changes under src/)" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def _wait_size_line(runs: list[mr.Run]) -> str:
    pooled = mr.pooled_episode_values(runs)
    w, s = pooled["pooled_wait"], pooled["pooled_activation"]
    n_ep = sum(len(mr.episodes(r)) for r in runs)
    if n_ep == 0:
        return "no episodes"
    sd = lambda v: f"{np.std(v, ddof=1):.0f}" if len(v) > 1 else "–"  # noqa: E731
    wtxt = f"wait {np.mean(w):.0f} (sd {sd(w)})" if len(w) else "wait –"
    return f"{n_ep} episodes, {wtxt}, total activation {np.mean(s):.0f} (sd {sd(s)})"


def report(results: list[dict], args, total_wall: float, figure_rel: str) -> str:
    alpha = mr.ALPHA
    lines = [
        "## Equivalence with Mesa 3.3.1's Epstein example",
        "",
        f"*Generated by `benchmarks/mesa_equivalence.py --seeds {args.seeds} --steps {args.steps} "
        f"--workers {args.workers}` on {_dt.date.today().isoformat()}.*",
        "",
        "**Question.** Is uprising's `scenarios/mesa-default.toml` statistically indistinguishable from Mesa's own "
        "`mesa.examples.advanced.epstein_civil_violence` model? Both sides are run independently (different random "
        "number generators; uprising seeds 0..N-1 and Mesa `seed=0..N-1`), and the two samples of runs are compared.",
        "",
        f"- Mesa version: **{_mesa_version()}**; uprising at commit {_commit()}; machine: {mr.machine()}.",
        f"- {args.seeds} runs per side and setting, {args.steps} steps each; 40×40 torus, binomial placement "
        "(every statistic is normalised by the run's own citizen count).",
        "- Mesa is run unmodified. It records no arrests, so each cop's `step` is wrapped on the instance: the wrapper "
        "counts the ACTIVE citizens in the cop's (cached) vision neighbourhood before and after the original "
        "`Cop.step`; the only citizen change inside that call is the arrestee going ACTIVE→ARRESTED, so the difference "
        "is the arrest count. The wrapper draws no random numbers (a run with and without it gives identical counts).",
        f"- Episodes are periods with more than {mr.EPISODE_THRESHOLD} actives, found with "
        "`uprising.simulate.outbursts(active, 50)` on both sides. Row 0 (the all-quiet initial state) is excluded "
        "from every mean; the initial transient is included.",
        f"- **Tests.** Per-run statistics: two-sided Mann–Whitney U and two-sample Kolmogorov–Smirnov "
        f"(`scipy.stats`). Pooled episode waits and sizes (all episodes of all runs of a side): KS. "
        f"**alpha = {alpha}, Holm correction over all tests of a setting** (family-wise error ≤ {alpha} per "
        f"setting). A statistic is *indistinguishable* when none of its tests rejects after correction. Statistics "
        f"with fewer than {mr.MIN_VALUES} values on a side are reported but not tested. The pooled KS treats "
        "episodes as independent draws, which episodes within a run are not; read it as a check on the shape.",
        "",
    ]
    for res in results:
        comps = mr.compare(res["mesa"], res["uprising"], alpha)
        verdict = ("**distinguishable**" if mr.setting_rejects(comps, alpha)
                   else f"**indistinguishable at alpha = {alpha}** (Holm)")
        n_tests = sum(len(c.tests) for c in comps)
        lines += [
            f"### {mr.SETTINGS[res['key']]['title']}",
            "",
            f"Verdict for the setting: {verdict}; {n_tests} tests in the family. "
            f"Wall time: Mesa {res['mesa_wall']:.0f} s on {args.workers} processes "
            f"({res['mesa_cpu']:.0f} s of run time, {res['mesa_cpu'] / (len(res['mesa']) * args.steps) * 1e3:.0f} ms "
            f"per step); uprising {res['uprising_wall']:.2f} s on one process "
            f"({res['uprising_cpu'] / (len(res['uprising']) * args.steps) * 1e6:.0f} µs per step).",
            "",
            mr.markdown_table(comps, alpha),
            "",
            f"Episodes: Mesa {_wait_size_line(res['mesa'])}; uprising {_wait_size_line(res['uprising'])}.",
            "",
        ]
        if res.get("loadavg"):
            lines += [f"Load average after the Mesa runs: {', '.join(f'{x:.1f}' for x in res['loadavg'])}.", ""]
        rows = power_rows(res) if args.power else []
        if rows:
            lines += [
                f"*Sensitivity.* The same tests, same Mesa sample, against uprising with one input or rule "
                f"changed ({len(res['uprising'])} runs x {args.steps} steps each); a rejection means this comparison "
                "can see a change of that size. Rejections that come only from a pooled KS test are weaker evidence "
                "(episodes of one run are not independent, so that test is somewhat anti-conservative):",
                "",
                "| uprising changed to | rejected at alpha (Holm) | smallest adjusted p | from | "
                "smallest adjusted p of the per-run tests |",
                "|---|---|---|---|---|",
                *[f"| {label} | {'yes' if rej else 'no'} | {mr._p(p)} | {mr.STAT_LABELS.get(stat, stat)} | "
                  f"{mr._p(pr)} |" for label, rej, p, stat, pr in rows],
                "",
            ]
    lines += [
        f"![Mean active and jailed fraction over time, 10–90% bands, Mesa vs uprising]({figure_rel})",
        "",
        f"*Figure: `{FIGURE.as_posix()}`: mean (line) and 10–90% band across the {args.seeds} runs of each side, "
        "active fraction (left) and jailed fraction (right), Mesa's defaults (top) and Run 2's inputs (bottom).*",
        "",
        f"Total wall time of the runs: {total_wall / 60:.1f} min.",
    ]
    if args.note:
        lines += ["", args.note]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--seeds", type=int, default=30, help="runs per side and setting (seeds 0..N-1)")
    p.add_argument("--steps", type=int, default=500, help="steps per run")
    p.add_argument("--workers", type=int, default=2, help="processes for the Mesa runs")
    p.add_argument("--out", default="docs/validation.md", help="Markdown file whose section is (re)written")
    p.add_argument("--figure", default=str(FIGURE), help="PNG figure")
    p.add_argument("--settings", default="mesa_defaults,run2", help="comma-separated: mesa_defaults, run2")
    p.add_argument("--save-runs", help="pickle all runs here (to re-render without re-running)")
    p.add_argument("--load-runs", help="re-render from a pickle written by --save-runs")
    p.add_argument("--no-power", dest="power", action="store_false",
                   help="skip the sensitivity table (uprising variants against the same Mesa sample)")
    p.add_argument("--note", default="", help="a paragraph appended to the report (e.g. about the machine's load)")
    args = p.parse_args(argv)

    t0 = time.perf_counter()
    if args.load_runs:
        with open(args.load_runs, "rb") as fh:
            saved = pickle.load(fh)
        results, total_wall = saved["results"], saved["total_wall"]
        for k in ("seeds", "steps", "workers"):
            setattr(args, k, saved["args"][k])
    else:
        results = [run_setting(k, args.seeds, args.steps, args.workers) for k in args.settings.split(",")]
        total_wall = time.perf_counter() - t0
        if args.save_runs:
            with open(args.save_runs, "wb") as fh:
                pickle.dump({"results": results, "total_wall": total_wall,
                             "args": {"seeds": args.seeds, "steps": args.steps, "workers": args.workers}}, fh)

    out = Path(args.out)
    fig = Path(args.figure)
    figure(results, fig)
    try:
        figure_rel = fig.resolve().relative_to(out.resolve().parent).as_posix()
    except ValueError:
        figure_rel = fig.as_posix()
    body = report(results, args, total_wall, figure_rel)
    mr.replace_section(out, body)
    print(body)
    print(f"wrote {out} and {fig}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
