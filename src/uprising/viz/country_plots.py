"""Figures of country runs: per-city timelines, the record (detentions and deaths against the official
figures), a map of the cities, and counterfactual comparisons. Optional layer: the core never imports it."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Sequence

import matplotlib

matplotlib.use("Agg")
import matplotlib.dates as mdates  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from ..country import observables as O  # noqa: E402
from ..country.simulate import CountryResult  # noqa: E402

COLOURS = {"active": "#d95f02", "violent": "#7f0000", "jailed": "#1b9e77", "killed": "#000000",
           "quiet": "#7570b3"}


def _save(fig, path: Path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=130)
    plt.close(fig)
    return path


def _dates(ax) -> None:
    ax.xaxis.set_major_locator(mdates.DayLocator(interval=2))
    ax.xaxis.set_major_formatter(mdates.DateFormatter("%d %b"))
    ax.grid(alpha=0.3)


def _band(ax, x, runs: np.ndarray, colour: str, label: str, **line) -> None:
    """Median line and 5-95% band over runs (rows); ``line`` styles the median line."""
    ax.plot(x, np.median(runs, axis=0), color=colour, label=label, **{"lw": 1.6, **line})
    if runs.shape[0] > 1:
        ax.fill_between(x, np.percentile(runs, 5, axis=0), np.percentile(runs, 95, axis=0), color=colour,
                        alpha=0.2, lw=0)


def _events(ax, result: CountryResult) -> None:
    seen = set()
    for e in result.scenario.events:
        if e.kind in ("shoot_order", "intervention"):
            when = e.span()[0]
            if (when, e.kind) in seen:  # one line for the force's arrival in several cities at once
                continue
            seen.add((when, e.kind))
            ax.axvline(when, color="grey", lw=0.8, ls="--")
            ax.annotate("shoot order" if e.kind == "shoot_order" else "CSTO", (when, 1.0),
                        xycoords=("data", "axes fraction"), rotation=90, va="top", ha="right", fontsize=7,
                        color="grey")


def plot_cities(results: Sequence[CountryResult], path: str | Path) -> Path:
    """One panel per city: active and violent citizens (per 1,000 residents) over time; median and 5-95%."""
    r0 = results[0]
    x = r0.times()
    n = len(r0.names)
    cols = 4
    rows = -(-n // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(4.0 * cols, 2.4 * rows), sharex=True, squeeze=False)
    for i, name in enumerate(r0.names):
        ax = axes[i // cols][i % cols]
        per = 1000.0 / r0.citizens[i]
        _band(ax, x, np.array([r.column("active")[i] * per for r in results]), COLOURS["active"], "active")
        _band(ax, x, np.array([r.column("violent")[i] * per for r in results]), COLOURS["violent"], "violent")
        ax.set_title(f"{name} ({r0.scenario.cities[i].population / 1e6:.2f} M)", fontsize=9)
        _dates(ax)
        if i % cols == 0:
            ax.set_ylabel("per 1,000 residents")
        if i == 0:
            ax.legend(fontsize=7, loc="upper right")
    for j in range(n, rows * cols):
        axes[j // cols][j % cols].axis("off")
    fig.suptitle(f"{r0.scenario.name}: unrest by city ({len(results)} runs, median and 5-95%; "
                 f"{1 / r0.scale:g} residents per agent)", fontsize=11)
    fig.autofmt_xdate()
    fig.tight_layout()
    return _save(fig, path)


def plot_record(results: Sequence[CountryResult], targets: Sequence | None, path: str | Path) -> Path:
    """Cumulative detained and deaths against the official figures (targets' ranges as bars)."""
    r0 = results[0]
    x = r0.times()
    fig, (a1, a2, a3) = plt.subplots(1, 3, figsize=(15, 4.2))
    _band(a1, x, np.array([O.detained_curve(r) for r in results]), "#1f78b4", "model: detained (arrests + sweeps)")
    _band(a2, x, np.array([O.deaths_curve(r) for r in results]), "#000000", "model: deaths, all")
    sec = np.array([np.cumsum(np.r_[0, r.national("killed_security")[1:]]) / r.scale for r in results])
    _band(a2, x, sec, "#e31a1c", "model: deaths, security")
    _band(a3, x, np.array([O.national_unrest(r) for r in results]), COLOURS["active"], "model: active + violent")
    _band(a3, x, np.array([r.national("violent") / r.scale for r in results]), COLOURS["violent"], "model: violent")
    for t in targets or []:
        if t.kind != "count":
            continue
        base = t.quantity.split(" (")[0]
        when = dt.datetime.combine(t.date, dt.time(23, 59)) if t.date else r0.clock.end
        ax = a1 if base == "detained_cumulative" else a2 if base in (
            "deaths_total_official", "security_killed_final", "security_killed_cumulative") else None
        if ax is None:
            continue
        colour = "#e31a1c" if "security" in base else "#1f78b4" if ax is a1 else "#000000"
        ax.errorbar([when], [(t.low + t.high) / 2], yerr=[[(t.high - t.low) / 2], [(t.high - t.low) / 2]],
                    fmt="o", color=colour, ms=5, capsize=3, mfc="white")
    a1.plot([], [], "o", color="#1f78b4", mfc="white", label="official (range)")
    a2.plot([], [], "o", color="#000000", mfc="white", label="official (range)")
    a1.set_ylabel("people (cumulative)")
    a2.set_ylabel("people (cumulative)")
    a3.set_ylabel("people at once")
    a1.set_title("Detained")
    a2.set_title("Deaths")
    a3.set_title("Unrest, all cities")
    for ax in (a1, a2, a3):
        _dates(ax)
        _events(ax, r0)
        ax.legend(fontsize=7, loc="upper left")
    fig.suptitle(f"{r0.scenario.name}: model against the record ({len(results)} runs, median and 5-95%)")
    fig.autofmt_xdate()
    fig.tight_layout()
    return _save(fig, path)


def plot_compare(baseline: Sequence[CountryResult], variants: dict[str, Sequence[CountryResult]], rows,
                 path: str | Path) -> Path:
    """National unrest under each variant (median, 5-95%) and the paired differences in key outcomes."""
    from ..country.compare import OUTCOMES

    r0 = baseline[0]
    x = r0.times()
    keys = ["deaths_total", "deaths_security", "detained_total", "peak_unrest", "unrest_person_days"]
    fig, axes = plt.subplots(1, 2, figsize=(15, 5), gridspec_kw={"width_ratios": [1.3, 1]})
    ax = axes[0]
    palette = plt.get_cmap("tab10")
    for k, (name, runs) in enumerate(variants.items()):
        _band(ax, x, np.array([O.national_unrest(r) for r in runs]), palette(k), name, lw=1.3)
    # the baseline last and dashed, so that it shows where a variant follows it
    _band(ax, x, np.array([O.national_unrest(r) for r in baseline]), "#000000", "baseline", ls="--", zorder=5)
    ax.set_ylabel("active + violent citizens (people)")
    ax.set_title("Unrest, all cities")
    _dates(ax)
    ax.legend(fontsize=8)
    ax = axes[1]
    labels, ys = [], 0
    for k, name in enumerate(variants):
        for key in keys:
            c = next(c for c in rows if c.variant == name and c.outcome == key)
            scale = abs(c.baseline_mean) or 1.0
            mid = 100 * c.difference / scale
            lo, hi = 100 * c.difference_ci[0] / scale, 100 * c.difference_ci[1] / scale
            ax.errorbar([mid], [ys], xerr=[[mid - lo], [hi - mid]], fmt="o", color=palette(k), capsize=3)
            labels.append(f"{name}: {OUTCOMES[key][0]}")
            ys += 1
        ys += 0.5
    ax.axvline(0, color="grey", lw=0.8)
    positions = []
    y = 0
    for _ in variants:
        positions += [y + i for i in range(len(keys))]
        y += len(keys) + 0.5
    ax.set_yticks(positions)
    ax.set_yticklabels(labels, fontsize=7)
    ax.invert_yaxis()
    ax.set_xlabel("difference from baseline, % of the baseline mean (95% CI, paired by seed)")
    ax.grid(alpha=0.3, axis="x")
    fig.suptitle(f"{r0.scenario.name}: counterfactuals ({len(baseline)} runs each)")
    fig.autofmt_xdate()
    fig.tight_layout()
    return _save(fig, path)


def plot_map(results: Sequence[CountryResult], path: str | Path, day: dt.date | None = None) -> Path:
    """The cities on a longitude-latitude plane, sized by population and coloured by peak unrest share."""
    r0 = results[0]
    cities = r0.scenario.cities
    share = np.array([[r.unrest()[i].max() * 1000.0 / r.citizens[i] for i in range(len(cities))] for r in results])
    peak_share = np.median(share, axis=0)
    fig, ax = plt.subplots(figsize=(9, 5.5))
    sc = ax.scatter([c.lon for c in cities], [c.lat for c in cities], s=[30 + c.population / 8000 for c in cities],
                    c=peak_share, cmap="inferno_r", edgecolor="k", vmin=0)
    for c in cities:
        ax.annotate(c.name, (c.lon, c.lat), textcoords="offset points", xytext=(6, 4), fontsize=8)
    fig.colorbar(sc, ax=ax, label="peak active + violent per 1,000 residents (median over runs)")
    ax.set_xlabel("longitude (degrees east)")
    ax.set_ylabel("latitude (degrees north)")
    ax.set_title(f"{r0.scenario.name}: peak unrest by city")
    ax.grid(alpha=0.3)
    fig.tight_layout()
    return _save(fig, path)
