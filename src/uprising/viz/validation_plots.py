"""Figures of the validation suite, in the style of Epstein (2002)'s.

Each function takes plain arrays and dictionaries (what :mod:`uprising.validation`
computes) and writes one PNG; none runs a simulation. :func:`suite_figures` draws
every figure of a suite's result (the command line calls it, then hands the paths
to :func:`uprising.validation.write_report`).
"""

from __future__ import annotations

import math
import os
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.colors import ListedColormap  # noqa: E402

from ..analysis import PAPER, RUN34_EVENT_STEP, deception, outbursts  # noqa: E402
from ..kernels import codes  # noqa: E402

ACTIVE_RED = "#c0392b"
QUIET_BLUE = "#2e86c1"
COP_BLACK = "#17202a"
JAIL_GREY = "#566573"
PAPER_GREEN = "#1e8449"


def _save(fig, path: Path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def run1_deception(grid: np.ndarray, null: np.ndarray, r_obs: float, path: Path, title: str) -> Path:
    """Run 1: the lattice (quiet blue, active red, cops black) and the correlation against shuffles."""
    fig, (ax, ax2) = plt.subplots(1, 2, figsize=(10, 4.4), width_ratios=[1, 1.15])
    cmap = ListedColormap(["#ffffff", QUIET_BLUE, ACTIVE_RED, JAIL_GREY, COP_BLACK])
    ax.imshow(grid, cmap=cmap, vmin=0, vmax=4, interpolation="nearest")
    ax.set_title(f"{title}\nquiet (blue), active (red), cops (black)", fontsize=9)
    ax.set_xticks([])
    ax.set_yticks([])
    ax2.hist(null, bins=30, color="#aab7b8", label="cops shuffled (null)")
    ax2.axvline(r_obs, color=ACTIVE_RED, lw=2, label=f"observed r = {r_obs:.3f}")
    ax2.set_xlabel("correlation over citizens: cops in vision vs. being active (Pearson r)")
    ax2.set_ylabel("shuffles")
    ax2.legend(frameon=False, fontsize=8)
    ax2.set_title("Deception: activity avoids cops", fontsize=9)
    return _save(fig, path)


def run2_timeseries(series: dict[str, np.ndarray], path: Path, threshold: int = 50, window: int = 1000) -> Path:
    """Run 2: actives over time (Epstein 2002, fig. 4 style), outbursts shaded, one panel per rule set."""
    n = len(series)
    fig, axes = plt.subplots(n, 1, figsize=(10, 1.9 * n + 0.6), sharex=True, squeeze=False)
    for ax, (label, active) in zip(axes[:, 0], series.items()):
        a = np.asarray(active)[: window + 1]
        ax.plot(np.arange(a.size), a, color=ACTIVE_RED, lw=0.8)
        for s, d, _ in outbursts(a, threshold):
            ax.axvspan(s, s + d, color=ACTIVE_RED, alpha=0.15, lw=0)
        ax.axhline(threshold, color="k", ls=":", lw=0.7)
        ax.set_ylabel("actives")
        ax.set_title(label, fontsize=9, loc="left")
    axes[-1, 0].set_xlabel("step (tick)")
    return _save(fig, path)


def run2_histograms(samples: dict[str, tuple[np.ndarray, np.ndarray]], paper: dict, path: Path) -> Path:
    """Run 2: histograms of waits between outbursts and of total activation per outburst."""
    fig, (ax, ax2) = plt.subplots(1, 2, figsize=(11, 4))
    colors = [ACTIVE_RED, QUIET_BLUE, "#d68910", "#7d3c98"]
    wmax = max([np.quantile(w, 0.99) for w, _ in samples.values() if len(w)] + [200])
    smax = max([np.quantile(s, 0.99) for _, s in samples.values() if len(s)] + [1500])
    for (label, (w, s)), c in zip(samples.items(), colors):
        if len(w):
            ax.hist(w, bins=np.linspace(0, wmax, 40), density=True, histtype="step", lw=1.5, color=c,
                    label=f"{label} (mean {np.mean(w):.0f}, sd {np.std(w, ddof=1) if len(w) > 1 else 0:.0f})")
        if len(s):
            ax2.hist(s, bins=np.linspace(0, smax, 40), density=True, histtype="step", lw=1.5, color=c,
                     label=f"{label} (mean {np.mean(s):.0f}, sd {np.std(s, ddof=1) if len(s) > 1 else 0:.0f})")
    for a, m, sd in ((ax, paper["run2_wait_mean"], paper["run2_wait_sd"]),
                     (ax2, paper["run2_size_mean"], paper["run2_size_sd"])):
        a.axvline(m, color=PAPER_GREEN, lw=2)
        a.axvspan(max(m - sd, 0), m + sd, color=PAPER_GREEN, alpha=0.1, lw=0)
    ax.set_xlabel("wait between outburst onsets (steps)")
    ax2.set_xlabel("total activation per outburst (agent-steps)")
    ax.set_ylabel("density")
    ax.set_title("Waits (green: paper, mean ± sd)", fontsize=9)
    ax2.set_title("Sizes (green: paper, mean ± sd)", fontsize=9)
    ax.legend(frameon=False, fontsize=7)
    ax2.legend(frameon=False, fontsize=7)
    return _save(fig, path)


def run2_map(points: dict[str, dict], paper: dict, path: Path, highlight: str = "") -> Path:
    """Run 2: mean wait against mean total activation for every rule combination, with 95% CIs."""
    fig, ax = plt.subplots(figsize=(8, 6))
    ax.errorbar([paper["run2_wait_mean"]], [paper["run2_size_mean"]], xerr=[paper["run2_wait_sd"]],
                yerr=[paper["run2_size_sd"]], fmt="*", ms=14, color=PAPER_GREEN, capsize=3,
                label="Epstein (2002): mean ± sd")
    for label, st in points.items():
        w, s = st["wait_mean"], st["size_mean"]
        if not (math.isfinite(w) and math.isfinite(s)):
            continue
        wlo, whi = st["wait_ci"]
        slo, shi = st["size_ci"]
        color = "#17202a" if label == highlight else ("#d68910" if label.startswith("Mesa 3") else QUIET_BLUE)
        ax.errorbar([w], [s], xerr=[[w - wlo], [whi - w]] if math.isfinite(wlo) else None,
                    yerr=[[s - slo], [shi - s]] if math.isfinite(slo) else None, fmt="o", ms=5, color=color,
                    capsize=2, lw=1)
        below = label.startswith("Mesa 3")  # Mesa itself sits on uprising's "Mesa's rules": label it underneath
        ax.annotate(label, (w, s), textcoords="offset points", xytext=(4, -11 if below else 4), fontsize=7)
    ax.set_xlabel("mean wait between outburst onsets (steps)")
    ax.set_ylabel("mean total activation per outburst (agent-steps)")
    ax.set_title("Run 2 under each rule combination (bars: 95% CI over runs)", fontsize=10)
    ax.legend(frameon=False, fontsize=8, loc="upper right")
    ax.set_xlim(left=0)
    ax.set_ylim(bottom=0)
    return _save(fig, path)


def _band(ax, runs: list[np.ndarray], color: str, label: str) -> None:
    a = np.vstack([np.asarray(r, dtype=float) for r in runs])
    t = np.arange(a.shape[1])
    ax.fill_between(t, np.quantile(a, 0.1, axis=0), np.quantile(a, 0.9, axis=0), color=color, alpha=0.2, lw=0)
    ax.plot(t, np.median(a, axis=0), color=color, lw=1.5, label=label)


def run34_overlay(panels: dict[str, tuple[list[dict], list[dict]]], path: Path, event: int) -> Path:
    """Runs 3 and 4 overlaid: actives and jailed (median and 10–90% band over seeds), legitimacy."""
    n = len(panels)
    fig, axes = plt.subplots(n, 2, figsize=(11, 2.9 * n + 0.4), squeeze=False)
    for row, (label, (r3, r4)) in zip(axes, panels.items()):
        ax, axj = row
        _band(ax, [r["active"] for r in r3], QUIET_BLUE, "Run 3: gradual loss")
        _band(ax, [r["active"] for r in r4], ACTIVE_RED, "Run 4: sudden drop")
        ax.set_ylabel("actives")
        ax.set_title(f"{label}: actives (median, 10–90% of seeds)", fontsize=9, loc="left")
        _band(axj, [r["jailed"] for r in r3], QUIET_BLUE, "Run 3")
        _band(axj, [r["jailed"] for r in r4], ACTIVE_RED, "Run 4")
        axj.set_ylabel("jailed")
        axj.set_title("jailed", fontsize=9, loc="left")
        for a in (ax, axj):
            a.axvline(event, color="k", ls=":", lw=0.7)
            tw = a.twinx()
            tw.plot(np.asarray(r3[0]["legitimacy"]), color=QUIET_BLUE, ls="--", lw=0.8)
            tw.plot(np.asarray(r4[0]["legitimacy"]), color=ACTIVE_RED, ls="--", lw=0.8)
            tw.set_ylim(0, 1)
            tw.set_ylabel("legitimacy (dashed)", fontsize=8)
        ax.legend(frameon=False, fontsize=8, loc="upper left")
    for a in axes[-1]:
        a.set_xlabel("step (tick)")
    return _save(fig, path)


def tension(active: np.ndarray, deterred: np.ndarray, path: Path, title: str, start: int = 100,
            length: int = 600, threshold: int = 50) -> Path:
    """Epstein (2002) fig. 8 style: actives and tension (deterred quiet citizens) over time."""
    a = np.asarray(active)[start:start + length]
    d = np.asarray(deterred)[start:start + length]
    t = np.arange(start, start + a.size)
    fig, ax = plt.subplots(figsize=(10, 3.6))
    ax.plot(t, a, color=ACTIVE_RED, lw=0.9, label="actives")
    ax.set_ylabel("actives", color=ACTIVE_RED)
    for s, dur, _ in outbursts(np.asarray(active), threshold):
        if start <= s < start + length:
            ax.axvspan(s, s + dur, color=ACTIVE_RED, alpha=0.12, lw=0)
    tw = ax.twinx()
    tw.plot(t, d, color=QUIET_BLUE, lw=1.2, label="tension: quiet citizens with G > T")
    tw.set_ylabel("tension (deterred quiet citizens)", color=QUIET_BLUE)
    ax.set_xlabel("step (tick)")
    ax.set_title(title, fontsize=9, loc="left")
    return _save(fig, path)


def suite_figures(res, fig_dir: Path, rel_to: Path) -> dict[str, str]:
    """Write a validation suite's figures (a :class:`uprising.validation.SuiteResult`) into ``fig_dir``; their
    paths relative to ``rel_to`` (the Markdown's folder), by name."""
    fig_dir = Path(fig_dir)
    fig_dir.mkdir(parents=True, exist_ok=True)
    out: dict[str, Path] = {}
    lab = res.run2_labels
    keep = set(res.search_path) | {res.closest}
    keep |= set(res.headline_keys())
    points = {lab[k]: st for k, st in res.run2.items() if k in keep}
    if res.mesa and res.mesa.get("run2"):
        points[res.mesa_label()] = res.mesa["run2"]
    out["run2_map"] = run2_map(points, PAPER, fig_dir / "validation-run2-map.png", highlight=lab[res.closest])
    samples = {lab[res.closest]: res.run2_sizes[res.closest]}
    if "mesa-rules" in res.run2_sizes and res.closest != "mesa-rules":
        samples[lab["mesa-rules"]] = res.run2_sizes["mesa-rules"]
    out["run2_hist"] = run2_histograms(samples, PAPER, fig_dir / "validation-run2-histograms.png")
    series = {f"{lab[k]} (seed 0)": r["active"] for k, r in res.run2_examples.items()}
    out["run2_series"] = run2_timeseries(series, fig_dir / "validation-run2-series.png")
    if res.run1_example is not None:
        grid, null = res.run1_example
        out["run1"] = run1_deception(grid, null, float(deception(grid, 1.7, "euclidean")),
                                     fig_dir / "validation-run1.png", "Run 1 (floor, euclidean), seed 0")
    panels = {lab.get(k, k): res.run34_paths[k] for k in ("floor-euclidean", "mesa-rules", "ratio-euclidean")
              if k in res.run34_paths}
    out["run34"] = run34_overlay(panels, fig_dir / "validation-run34.png", RUN34_EVENT_STEP)
    ex = res.run2_example
    out["tension"] = tension(ex["active"], ex["deterred"], fig_dir / "validation-tension.png",
                             f"Run 2 ({lab[ex['variant']]}, seed {ex['seed']}): actives and tension")
    return {k: os.path.relpath(p, rel_to) for k, p in out.items()}
