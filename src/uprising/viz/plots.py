"""Figures of a run: actives, jailed and arrests over time, with outbursts marked."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from ..simulate import Result, outbursts  # noqa: E402


def plot_run(result: Result, path: str | Path, threshold: int = 50) -> Path:
    """Time series of quiet, active and jailed citizens (Epstein 2002, Fig. 4 style)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    steps = range(result.steps + 1)
    fig, (ax, ax2) = plt.subplots(2, 1, figsize=(9, 5.5), sharex=True, height_ratios=[3, 1])
    ax.plot(steps, result.column("active"), color="#c0392b", lw=1.0, label="active")
    ax.plot(steps, result.column("jailed"), color="#2c3e50", lw=1.0, label="jailed")
    ax.plot(steps, result.column("quiet"), color="#95a5a6", lw=0.8, label="quiet")
    for start, dur, _ in outbursts(result.column("active"), threshold):
        ax.axvspan(start, start + dur, color="#e74c3c", alpha=0.12, lw=0)
    ax.axhline(threshold, color="#c0392b", ls=":", lw=0.8)
    ax.set_ylabel("citizens (agents)")
    ax.set_title(f"{result.scenario.name}  (seed {result.seed}; shaded: outbursts above {threshold} actives)")
    ax.legend(loc="upper right", frameon=False, ncol=3)
    ax2.plot(steps, result.column("arrests"), color="#8e44ad", lw=0.8, label="arrests per step")
    ax2.set_ylabel("arrests / step")
    ax2.set_xlabel("step (tick)")
    ax3 = ax2.twinx()
    ax3.plot(steps, result.legitimacy, color="#27ae60", lw=1.0)
    ax3.set_ylabel("legitimacy L", color="#27ae60")
    ax3.set_ylim(0, 1)
    fig.tight_layout()
    fig.savefig(path, dpi=130)
    plt.close(fig)
    return path
