"""Figures of an ABC-SMC calibration (:mod:`uprising.experiment.calibrate`).

Each function takes plain rows (dicts, as written to ``particles.parquet`` and
``populations.parquet``) and writes one PNG; none runs a simulation.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

POSTERIOR = "#1f4e79"
PRIOR_GREY = "#7f8c8d"
BEST_RED = "#c0392b"


def _save(fig: Any, path: Path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def _kde_1d(x: np.ndarray, w: np.ndarray, grid: np.ndarray) -> np.ndarray | None:
    """A weighted Gaussian KDE on ``grid`` (None when the points do not spread)."""
    from scipy.stats import gaussian_kde

    if x.size < 2 or np.ptp(x) <= 0:
        return None
    try:
        return gaussian_kde(x, weights=w)(grid)
    except (np.linalg.LinAlgError, ValueError):
        return None


def _kde_2d(x: np.ndarray, y: np.ndarray, w: np.ndarray, gx: np.ndarray, gy: np.ndarray) -> np.ndarray | None:
    from scipy.stats import gaussian_kde

    if x.size < 3 or np.ptp(x) <= 0 or np.ptp(y) <= 0:
        return None
    try:
        kde = gaussian_kde(np.vstack([x, y]), weights=w)
    except (np.linalg.LinAlgError, ValueError):
        return None
    xx, yy = np.meshgrid(gx, gy)
    return kde(np.vstack([xx.ravel(), yy.ravel()])).reshape(xx.shape)


def posterior_pairs(particles: list[dict[str, Any]], names: list[str], ranges: dict[str, tuple[float, float]],
                    path: Path, title: str = "", median: dict[str, float] | None = None,
                    best: dict[str, float] | None = None) -> Path:
    """Marginal densities on the diagonal (every population, the last darkest; the uniform prior dashed) and the
    last population's weighted pairwise KDE below it (contours, particles sized by weight). ``median`` (the
    posterior's weighted median) is drawn as a grey line or cross, ``best`` (the chosen parameter set) in red."""
    ts = sorted({int(p["t"]) for p in particles})
    last = ts[-1] if ts else 0
    by_t = {t: [p for p in particles if int(p["t"]) == t] for t in ts}
    d = len(names)
    size = 2.6 if d > 1 else 4.2
    fig, axes = plt.subplots(d, d, figsize=(size * d + 0.6, size * d + 0.4), squeeze=False)
    cmap = plt.get_cmap("Blues")
    for i, ni in enumerate(names):
        lo, hi = ranges[ni]
        grid = np.linspace(lo, hi, 200)
        ax = axes[i][i]
        for k, t in enumerate(ts):
            rows = by_t[t]
            x = np.array([r[ni] for r in rows], dtype=float)
            w = np.array([r["weight"] for r in rows], dtype=float)
            dens = _kde_1d(x, w / w.sum(), grid)
            shade = cmap(0.3 + 0.7 * (k + 1) / len(ts))
            if dens is not None:
                ax.plot(grid, dens, color=POSTERIOR if t == last else shade, lw=2.2 if t == last else 1.0,
                        label=f"population {t + 1}" if t == last or k == 0 else None)
            elif t == last and x.size:
                ax.hist(x, bins=10, range=(lo, hi), weights=w, density=True, color=POSTERIOR, alpha=0.6)
        ax.axhline(1.0 / (hi - lo), color=PRIOR_GREY, ls="--", lw=1, label="prior")
        if median and ni in median:
            ax.axvline(median[ni], color=PRIOR_GREY, lw=1.2, label="weighted median")
        if best and ni in best:
            ax.axvline(best[ni], color=BEST_RED, lw=1.2, label="best (best.toml)")
        ax.set_xlim(lo, hi)
        ax.set_yticks([])
        ax.set_xlabel(ni)
        if i == 0 and d == 1:
            ax.legend(fontsize=7, loc="upper right", frameon=False)
        elif i == 0:  # in the empty corner, off the curves
            handles, labels = ax.get_legend_handles_labels()
            axes[0][d - 1].legend(handles, labels, fontsize=8, loc="center", frameon=False)
        for j in range(d):
            if j == i:
                continue
            ax2 = axes[i][j]
            if j > i:
                ax2.axis("off")
                continue
            nj = names[j]
            rows = by_t.get(last, [])
            x = np.array([r[nj] for r in rows], dtype=float)
            y = np.array([r[ni] for r in rows], dtype=float)
            w = np.array([r["weight"] for r in rows], dtype=float)
            (xl, xh), (yl, yh) = ranges[nj], ranges[ni]
            gx, gy = np.linspace(xl, xh, 80), np.linspace(yl, yh, 80)
            dens = _kde_2d(x, y, w / w.sum() if w.size else w, gx, gy)
            if dens is not None:
                ax2.contourf(gx, gy, dens, levels=8, cmap="Blues", alpha=0.85)
            if x.size:
                ax2.scatter(x, y, s=4 + 400 * w / w.sum(), color=POSTERIOR, alpha=0.5, lw=0)
            if median and ni in median and nj in median:
                ax2.plot(median[nj], median[ni], marker="x", color=PRIOR_GREY, ms=9, mew=2)
            if best and ni in best and nj in best:
                ax2.plot(best[nj], best[ni], marker="+", color=BEST_RED, ms=12, mew=2)
            ax2.set_xlim(xl, xh)
            ax2.set_ylim(yl, yh)
            ax2.set_xlabel(nj)
            ax2.set_ylabel(ni)
    if title:
        fig.suptitle(title, fontsize=10)
    return _save(fig, path)


def epsilon_per_population(populations: list[dict[str, Any]], path: Path, title: str = "") -> Path:
    """Epsilon per population (log scale) with the acceptance rate on a second axis."""
    t = np.array([p["t"] + 1 for p in populations], dtype=float)
    eps = np.array([p["epsilon"] for p in populations], dtype=float)
    rate = np.array([p["acceptance_rate"] for p in populations], dtype=float)
    fig, ax = plt.subplots(figsize=(5.6, 3.8))
    ok = np.isfinite(eps) & (eps > 0)
    ax.plot(t[ok], eps[ok], "o-", color=POSTERIOR, label="epsilon")
    if ok.any() and np.nanmax(eps[ok]) / max(np.nanmin(eps[ok]), 1e-300) > 20:
        ax.set_yscale("log")
    ax.set_xlabel("population")
    ax.set_ylabel("epsilon (weighted distance)")
    ax.set_xticks(t)
    ax2 = ax.twinx()
    ax2.plot(t, rate, "s--", color=BEST_RED, label="acceptance rate")
    ax2.set_ylabel("acceptance rate")
    top = np.nanmax(rate) if np.isfinite(rate).any() else 1.0
    ax2.set_ylim(0, min(1.05, max(0.05, 1.2 * top)) if math.isfinite(top) else 1.05)
    lines = ax.get_lines() + ax2.get_lines()
    ax.legend(lines, [ln.get_label() for ln in lines], fontsize=8, frameon=False)
    if title:
        ax.set_title(title, fontsize=10)
    return _save(fig, path)
