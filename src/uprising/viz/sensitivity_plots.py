"""Figures of `uprising sensitivity`: one per outcome, bars of the indices with their confidence intervals.

Takes the rows of :func:`uprising.experiment.sensitivity.analyse`'s table for one
outcome (dicts with parameter, index, value, conf_low, conf_high) and the table's
metadata; writes a PNG and an SVG. Runs nothing.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

COLORS = {"S1": "#2e86c1", "ST": "#c0392b", "S2": "#7d3c98", "mu_star": "#c0392b", "sigma": "#aab7b8"}
LABELS = {"S1": "S1 (first order)", "ST": "ST (total order)", "S2": "S2 (second order)",
          "mu_star": "μ* (mean |elementary effect|)", "sigma": "σ (sd of elementary effects)"}


def _bars(ax, rows: list[dict[str, Any]], indices: list[str], labels: list[str]) -> None:
    """Grouped bars, one group per label, one bar per index; whiskers where an interval is known."""
    width = 0.8 / len(indices)
    x = np.arange(len(labels))
    for k, index in enumerate(indices):
        by = {r["parameter"]: r for r in rows if r["index"] == index}
        values = np.array([np.nan if by.get(p, {}).get("value") is None else by[p]["value"] for p in labels])
        lo = np.array([np.nan if by.get(p, {}).get("conf_low") is None else by[p]["conf_low"] for p in labels])
        hi = np.array([np.nan if by.get(p, {}).get("conf_high") is None else by[p]["conf_high"] for p in labels])
        pos = x - 0.4 + width * (k + 0.5)
        ax.bar(pos, np.nan_to_num(values), width * 0.9, color=COLORS.get(index, "#566573"),
               label=LABELS.get(index, index))
        has = np.isfinite(lo) & np.isfinite(values)
        if has.any():
            err = np.vstack([values[has] - lo[has], hi[has] - values[has]])
            ax.errorbar(pos[has], values[has], yerr=err, fmt="none", ecolor="#17202a", capsize=3, lw=1)
    ax.set_xticks(x)
    shown = [p.replace(":", " ×\n") for p in labels]  # a pair a:b on two lines
    long = max(len(line) for p in shown for line in p.split("\n")) > 14 and len(labels) > 3
    ax.set_xticklabels(shown, rotation=20 if long else 0, ha="right" if long else "center", fontsize=8)
    ax.axhline(0, color="k", lw=0.6)
    ax.legend(frameon=False, fontsize=8)


def indices_figure(rows: list[dict[str, Any]], meta: dict[str, Any], outcome: str, stem: Path) -> list[Path]:
    """Bars of one outcome's indices with CI whiskers; writes ``STEM.png`` and ``STEM.svg``."""
    method = meta.get("method", "sobol")
    names = list(dict.fromkeys(r["parameter"] for r in rows if r["index"] != "S2"))
    pairs = list(dict.fromkeys(r["parameter"] for r in rows if r["index"] == "S2"))
    level = f"{100 * meta.get('conf_level', 0.95):.0f}%"
    sizes = f"{meta.get('points')} points x {meta.get('replicates')} replicate(s)"
    panels = 2 if pairs else 1
    fig, axes = plt.subplots(1, panels, figsize=(4.0 + 1.3 * len(names) + (1.0 * len(pairs) + 2.5 if pairs else 0),
                                                 4.2), squeeze=False, width_ratios=[len(names) + 1] +
                             ([len(pairs) + 1] if pairs else []))
    ax = axes[0, 0]
    if method == "sobol":
        _bars(ax, rows, ["S1", "ST"], names)
        ax.set_ylabel("Sobol' index (share of the variance of Y)")
        ax.set_title(f"{outcome}: Sobol' indices\n(whiskers: bootstrap {level} CI; {sizes})", fontsize=9)
        if pairs:
            ax2 = axes[0, 1]
            _bars(ax2, rows, ["S2"], pairs)
            ax2.set_ylabel("second-order Sobol' index")
            ax2.set_xlabel("parameter pair")
            ax2.set_title("interactions (S2)", fontsize=9)
    else:
        _bars(ax, rows, ["mu_star", "sigma"], names)
        ax.set_ylabel(f"elementary effect on {outcome}\n(change over the parameter's full range)")
        ax.set_title(f"{outcome}: Morris screening\n(whiskers on μ*: bootstrap {level} CI; {sizes})", fontsize=9)
    ax.set_xlabel("parameter")
    fig.tight_layout()
    stem = Path(stem)
    stem.parent.mkdir(parents=True, exist_ok=True)
    paths = []
    for suffix in (".png", ".svg"):
        path = stem.with_name(stem.name + suffix)
        fig.savefig(path, dpi=120)
        paths.append(path)
    plt.close(fig)
    return paths
