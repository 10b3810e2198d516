"""Figures of a country scenario's posterior (:mod:`uprising.experiment.posterior`).

* ``posterior-marginals.png``: each parameter's weighted posterior against its prior, on the prior's range
  (a log axis for a log-uniform prior), with the 90% interval shaded and the share of the prior's 90% width
  it keeps in the title;
* ``posterior-pairs.png``: the pairwise scatter of the particles (darker = heavier) for the parameters the
  data narrow most (smallest width ratio);
* ``predictive.png``: every target's posterior predictive 5-95% interval and median (fresh runs) against the
  record's range, fit targets above and test targets below, counts on a log axis and days on their own.

Each function takes the posterior and plain rows and writes one PNG; none runs a simulation.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import matplotlib
import matplotlib.ticker

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from .style import save  # noqa: E402

POSTERIOR = "#1f4e79"
PRIOR_GREY = "#95a5a6"
RECORD = "#c0392b"
TEST = "#8e44ad"


def _save(fig: Any, path: Path) -> Path:
    fig.tight_layout()
    return save(fig, path)


def marginals(posterior: Any, path: Path, title: str = "") -> Path:
    """A histogram per parameter: each bin's share of the posterior's weight over the prior's range, in 20 bins of
    the prior's own scale (so the prior is flat at 1/20), the 90% interval shaded."""
    rows = posterior.summary()
    n = len(rows)
    cols = 5 if n > 8 else max(n, 1)
    lines = math.ceil(n / cols)
    fig, axes = plt.subplots(lines, cols, figsize=(3.0 * cols, 2.3 * lines + 0.6), squeeze=False)
    for ax in axes.flat[n:]:
        ax.axis("off")
    for k, (ax, prior, row) in enumerate(zip(axes.flat, posterior.priors, rows)):
        x = posterior.values[:, k]
        if prior.log:
            edges = np.geomspace(prior.low, prior.high, 21)
            ax.set_xscale("log")
        else:
            edges = np.linspace(prior.low, prior.high, 21)
        # each bin's share of the posterior's weight; the prior puts 1/20 in every bin of its own scale
        ax.hist(x, bins=edges, weights=posterior.weights / posterior.weights.sum(), color=POSTERIOR, alpha=0.8,
                label="posterior")
        ax.stairs(np.full(len(edges) - 1, 1.0 / (len(edges) - 1)), edges, color=PRIOR_GREY, linewidth=1.5,
                  label="prior")
        ax.xaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
        ax.axvspan(row["q5"], row["q95"], color=POSTERIOR, alpha=0.12)
        ax.set_title(f"{prior.name}\n90% width / prior's {row['width_ratio']:.2f}", fontsize=7.5)
        ax.tick_params(labelsize=6.5)
        ax.set_yticks([])
    if n:
        axes.flat[0].legend(fontsize=6.5, loc="upper right")
    fig.suptitle(title or "posterior marginals", fontsize=10)
    fig.tight_layout(rect=(0, 0, 1, 0.98))
    return save(fig, path)


def pairs(posterior: Any, path: Path, title: str = "", most: int = 8) -> Path:
    """Pairwise scatter of the particles for the ``most`` parameters whose posterior is narrowest against the
    prior (each axis in the prior's quantile, 0-1, so that every panel shows the whole prior)."""
    rows = posterior.summary()
    order = sorted(range(len(rows)), key=lambda k: rows[k]["width_ratio"])[:most]
    m = len(order)
    fig, axes = plt.subplots(m, m, figsize=(1.6 * m + 0.8, 1.6 * m + 0.8), squeeze=False)
    w = posterior.weights / posterior.weights.max()
    u = np.column_stack([np.clip(posterior.priors[k].quantile(posterior.values[:, k]), 0, 1) for k in order])
    for i in range(m):
        for j in range(m):
            ax = axes[i, j]
            ax.set_xticks([])
            ax.set_yticks([])
            if i == j:
                ax.hist(u[:, i], bins=np.linspace(0, 1, 16), weights=posterior.weights, color=POSTERIOR, alpha=0.8)
                ax.set_xlim(0, 1)
            elif i > j:
                ax.scatter(u[:, j], u[:, i], s=5, c=[(0.12, 0.31, 0.47, 0.15 + 0.85 * a) for a in w])
                ax.set_xlim(0, 1)
                ax.set_ylim(0, 1)
            else:
                ax.axis("off")
            if i == m - 1:
                ax.set_xlabel(posterior.priors[order[j]].name, fontsize=6, rotation=30, ha="right")
            if j == 0:
                ax.set_ylabel(posterior.priors[order[i]].name, fontsize=6, rotation=0, ha="right")
    fig.suptitle((title + ": " if title else "") + f"the {m} narrowest parameters (prior quantiles 0-1)", fontsize=9)
    return _save(fig, path)


def predictive(rows: list[Any], path: Path, start_label: str = "", title: str = "") -> Path:
    """Each target's predictive 5-95% interval (bar) and median (dot) against the record (red), fit then test."""
    counts = [r for r in rows if r.kind == "count"]
    days = [r for r in rows if r.kind == "day"]
    fig, axes = plt.subplots(1, 2, figsize=(13, 0.28 * max(len(counts), len(days), 4) + 1.5),
                             gridspec_kw={"width_ratios": [3, 2]})
    for ax, group, log in ((axes[0], counts, True), (axes[1], days, False)):
        group = sorted(group, key=lambda r: (r.split != "fit",))
        for y, r in enumerate(group):
            colour = POSTERIOR if r.split == "fit" else TEST
            lo, hi = r.q5, (r.q95 if math.isfinite(r.q95) else None)
            if math.isfinite(lo):
                right = hi if hi is not None else (max(r.high, lo) * (3 if log else 1) + (0 if log else 3))
                ax.plot([max(lo, 0.5) if log else lo, right], [y, y], color=colour, linewidth=4, alpha=0.5,
                        solid_capstyle="butt")
            if math.isfinite(r.median):
                ax.plot([max(r.median, 0.5) if log else r.median], [y], "o", color=colour, markersize=4)
            ax.plot([max(r.low, 0.5) if log else r.low, max(r.high, 0.5) if log else r.high], [y, y], color=RECORD,
                    linewidth=1.5)
            ax.plot([max(r.low, 0.5) if log else r.low], [y], "|", color=RECORD, markersize=8)
        ax.set_yticks(range(len(group)))
        ax.set_yticklabels([f"{r.label} [{r.split}]" + ("" if r.covered else " x") for r in group], fontsize=6.5)
        ax.invert_yaxis()
        if log:
            ax.set_xscale("log")
            ax.set_xlabel("people (log)")
        else:
            ax.set_xlabel(f"days from the start{(' (' + start_label + ')') if start_label else ''}")
        ax.grid(axis="x", alpha=0.3)
    fig.suptitle((title + ": " if title else "") + "posterior predictive 5-95% (bar, median dot; blue fit, purple "
                 "test) against the record (red); x = the record outside it", fontsize=9)
    return _save(fig, path)


def draw_all(posterior: Any, rows: list[Any], out: Path, title: str = "") -> list[Path]:
    """The three figures into ``out``."""
    out = Path(out)
    return [marginals(posterior, out / "posterior-marginals.png", title=f"{title}: posterior (blue) and prior (grey)"),
            pairs(posterior, out / "posterior-pairs.png", title=title),
            predictive(rows, out / "predictive.png", title=title)]


def tension(run: Any, path: Path, title: str = "") -> Path:
    """A joint posterior's tension (:mod:`uprising.experiment.joint`): every point's loss in the first episode
    against its loss in each later one (log axes), the joint posterior's points marked, and each episode's own
    best points: where one behaviour fits both, the marked points sit in the lower left corner."""
    first = run.episodes[0]
    later = run.episodes[1:]
    fig, axes = plt.subplots(1, len(later), figsize=(5.6 * len(later), 4.8), squeeze=False)
    for ax, e in zip(axes[0], later):
        x, y = first.distances, e.distances
        ok = np.isfinite(x) & np.isfinite(y)
        ax.scatter(x[ok], y[ok], s=5, color="0.75", label=f"every point ({ok.sum():,})", rasterized=True)
        k1 = run.alone(0)[0]
        k2 = run.alone(run.episodes.index(e))[0]
        ax.scatter(x[k1], y[k1], s=9, color="tab:blue", label=f"{first.name} alone (best {len(k1)})")
        ax.scatter(x[k2], y[k2], s=9, color="tab:orange", label=f"{e.name} alone (best {len(k2)})")
        ax.scatter(x[run.kept], y[run.kept], s=14, facecolor="none", edgecolor="k", label="joint posterior")
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel(f"loss on {first.name}'s fit targets")
        ax.set_ylabel(f"loss on {e.name}'s fit targets")
        ax.legend(fontsize=7, loc="upper right")
    fig.suptitle(title)
    return _save(fig, path)
