"""Figures of country runs: per-city timelines, the national timeline, the record (detentions and deaths against
the official figures), a map of the cities on the country's outline, and counterfactual comparisons.
Optional layer: the core never imports it.

Each ``plot_*`` function writes one figure to the path it is given, in the format its suffix names (PNG, SVG
or PDF; :func:`uprising.viz.style.save`), and returns the path. The ``*_figure`` functions build the same
figure and return it unsaved (``uprising plot`` writes one figure in several formats). Counts are in people
(agents divided by the scale: ``CountryResult.people``), or per 1,000 residents; times are the scenario's local clock times.
"""

from __future__ import annotations

import datetime as dt
import json
from functools import lru_cache
from pathlib import Path
from typing import Sequence

import matplotlib

matplotlib.use("Agg")
import matplotlib.dates as mdates  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from ..country import observables as O  # noqa: E402
from ..country.simulate import CountryResult  # noqa: E402
from .style import COLOURS, legend_above, runs_phrase, save, styled, thousands  # noqa: E402
from .unrest_colours import UNREST_LEGEND, UNREST_MAX_PER_1000, UNREST_STOPS  # noqa: E402


def _save(fig, path: Path) -> Path:
    return save(fig, path)


def _tz(result: CountryResult) -> str:
    """The scenario's zone, short ("UTC+06:00" of "UTC+06:00 (Almaty ...)"), or "local"."""
    zone = (result.scenario.timezone or "").split(" (")[0].strip()
    return zone or "local"


def _dates(ax, result: CountryResult | None = None, label: bool = True) -> None:
    """Date ticks suited to the run's length, and (``label``) the axis label with the year and the zone."""
    if result is not None:
        clock = result.clock
        days = (clock.end - clock.start) / dt.timedelta(days=1)
        if days <= 3:
            ax.xaxis.set_major_locator(mdates.HourLocator(byhour=[0, 12]))
            ax.xaxis.set_major_formatter(mdates.DateFormatter("%d %b\n%H:%M"))
        else:
            ax.xaxis.set_major_locator(mdates.DayLocator(interval=max(1, int(round(days / 8)))))
            ax.xaxis.set_major_formatter(mdates.DateFormatter("%d %b"))
        ax.set_xlim(clock.start, clock.time_of(result.steps))
        if label:
            ax.set_xlabel(f"date ({clock.start.year}, local time {_tz(result)})")
    else:
        ax.xaxis.set_major_locator(mdates.DayLocator(interval=2))
        ax.xaxis.set_major_formatter(mdates.DateFormatter("%d %b"))
    ax.grid(alpha=0.3)


def _rotate(ax, result: CountryResult) -> None:
    """Day labels slanted; two-line day-and-hour labels (runs of three days or less) upright."""
    clock = result.clock
    if (clock.end - clock.start) / dt.timedelta(days=1) > 3:
        plt.setp(ax.get_xticklabels(), rotation=30, ha="right")


def _band(ax, x, runs: np.ndarray, colour: str, label: str, **line) -> None:
    """Median line and 5-95% band over runs (rows); ``line`` styles the median line."""
    ax.plot(x, np.median(runs, axis=0), color=colour, label=label, **{"lw": 1.6, **line})
    if runs.shape[0] > 1:
        ax.fill_between(x, np.percentile(runs, 5, axis=0), np.percentile(runs, 95, axis=0), color=colour,
                        alpha=0.2, lw=0)


def _events(ax, result: CountryResult) -> None:
    """Dashed lines at the shoot order and at the arrival of outside troops."""
    seen = set()
    for e in result.scenario.events:
        if e.kind in ("shoot_order", "intervention"):
            when = e.span()[0]
            if (when, e.kind) in seen:  # one line for the force's arrival in several cities at once
                continue
            seen.add((when, e.kind))
            ax.axvline(when, color="grey", lw=0.8, ls="--")
            ax.annotate("shoot order" if e.kind == "shoot_order" else "troops arrive", (when, 1.0),
                        xycoords=("data", "axes fraction"), rotation=90, va="top", ha="right", fontsize=7,
                        color="grey")


def _scale_note(result: CountryResult) -> str:
    return f"1 agent per {result.residents_per_agent:,.0f} residents"


# ------------------------------------------------------------------ per city
@styled
def cities_figure(results: Sequence[CountryResult]):
    """One panel per city: active and violent citizens per 1,000 residents over time; median and 5-95%."""
    r0 = results[0]
    x = r0.times()
    n = len(r0.names)
    cols = min(4, n)
    rows = -(-n // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(3.9 * cols, 2.5 * rows + 0.8), sharex=True, squeeze=False)
    for i, name in enumerate(r0.names):
        ax = axes[i // cols][i % cols]
        per = 1000.0 / r0.citizens[i]
        _band(ax, x, np.array([r.column("active")[i] * per for r in results]), COLOURS["active"],
              "active (peaceful)")
        # violent residents (an organised core among the crowds included) per 1,000 residents
        _band(ax, x, np.array([r.violent_residents()[i] * 1000.0 / r.scenario.cities[i].population for r in results]),
              COLOURS["violent"], "violent")
        ax.set_title(f"{name} ({r0.scenario.cities[i].population:,} residents)", fontsize=9.5)
        _dates(ax, r0, label=False)
        ax.set_ylim(bottom=0)
        if i % cols == 0:
            ax.set_ylabel("per 1,000 residents")
    for j in range(n, rows * cols):
        axes[j // cols][j % cols].axis("off")
    # date labels under the lowest panel of each column
    for c in range(cols):
        last = max(r for r in range(rows) if r * cols + c < n)
        ax = axes[last][c]
        ax.xaxis.set_tick_params(labelbottom=True)
        ax.set_xlabel(f"date ({r0.clock.start.year}, {_tz(r0)})")
        _rotate(ax, r0)
    handles, labels = axes[0][0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="upper right", ncol=2, bbox_to_anchor=(1.0, 1.0))
    fig.suptitle(f"{r0.scenario.name}: active and violent citizens by city, per 1,000 residents\n"
                 f"{runs_phrase(len(results))}; {_scale_note(r0)}", x=0.01, ha="left")
    fig.tight_layout(rect=(0, 0, 1, 0.97))
    return fig


def plot_cities(results: Sequence[CountryResult], path: str | Path) -> Path:
    """One panel per city: active and violent citizens (per 1,000 residents) over time; median and 5-95%."""
    return _save(cities_figure(results), path)


# ------------------------------------------------------------------ the nation
@styled
def national_figure(results: Sequence[CountryResult]):
    """The country as a whole, in people: quiet citizens; active, violent and jailed at once; killed and
    injured so far."""
    r0 = results[0]
    x = r0.times()
    fig, (a0, a1, a2) = plt.subplots(1, 3, figsize=(15, 4.4))
    quiet = np.array([r.people("quiet") for r in results])
    _band(a0, x, quiet, COLOURS["quiet"], "quiet")
    a0.set_ylabel("people")
    a0.set_title("Quiet citizens")
    for key, label in (("active", "active (peaceful)"), ("violent", "violent"), ("jailed", "jailed")):
        _band(a1, x, np.array([r.people(key) for r in results]), COLOURS[key], label)
    a1.set_ylabel("people at once")
    a1.set_title("Active, violent and jailed")
    _band(a2, x, np.array([O.deaths_curve(r) for r in results]), COLOURS["killed"], "killed (all)")
    prot = np.array([r.people("killed_protesters", cumulative=True) for r in results])
    _band(a2, x, prot, COLOURS["violent"], "killed: protesters", ls=":")
    sec = np.array([r.people("killed_security", cumulative=True) for r in results])
    _band(a2, x, sec, COLOURS["security"], "killed: security", ls="--")
    injured = np.array([r.people(("injured_security", "injured_protesters"), cumulative=True) for r in results])
    _band(a2, x, injured, COLOURS["injured"], "injured (protesters and security)")
    a2.set_ylabel("people (cumulative)")
    a2.set_title("Killed and injured")
    for ax in (a0, a1, a2):
        _dates(ax, r0)
        _events(ax, r0)
        thousands(ax)
        ax.set_ylim(bottom=0)
        if ax is not a0:
            legend_above(ax)
        _rotate(ax, r0)
    fig.suptitle(f"{r0.scenario.name}: all {len(r0.names)} cities ({runs_phrase(len(results))}; "
                 f"{_scale_note(r0)})", x=0.01, ha="left")
    fig.tight_layout()
    return fig


def plot_national(results: Sequence[CountryResult], path: str | Path) -> Path:
    """The national timeline (quiet, active, violent, jailed; killed and injured) in people; median and 5-95%."""
    return _save(national_figure(results), path)


# ------------------------------------------------------------------ the record
@styled
def record_figure(results: Sequence[CountryResult], targets: Sequence | None):
    """Cumulative detained and deaths against the official figures (targets' ranges as bars), and unrest."""
    r0 = results[0]
    x = r0.times()
    fig, (a1, a2, a3) = plt.subplots(1, 3, figsize=(15, 4.4))
    _band(a1, x, np.array([O.detained_curve(r) for r in results]), COLOURS["detained"],
          "model: detained (arrests + sweeps)")
    _band(a2, x, np.array([O.deaths_curve(r) for r in results]), COLOURS["killed"], "model: deaths, all")
    sec = np.array([r.people("killed_security", cumulative=True) for r in results])
    _band(a2, x, sec, COLOURS["security"], "model: deaths, security")
    _band(a3, x, np.array([O.national_unrest(r) for r in results]), COLOURS["active"], "model: active + violent")
    _band(a3, x, np.array([r.violent_residents().sum(axis=0) for r in results]), COLOURS["violent"], "model: violent")
    shown = set()
    for t in targets or []:
        if t.kind != "count":
            continue
        base = t.quantity.split(" (")[0]
        when = dt.datetime.combine(t.date, dt.time(23, 59)) if t.date else r0.clock.end
        ax = a1 if base == "detained_cumulative" else a2 if base in (
            "deaths_total_official", "security_killed_final", "security_killed_cumulative") else None
        if ax is None:
            continue
        colour = COLOURS["security"] if "security" in base else COLOURS["detained"] if ax is a1 else COLOURS["killed"]
        ax.errorbar([when], [(t.low + t.high) / 2], yerr=[[(t.high - t.low) / 2], [(t.high - t.low) / 2]],
                    fmt="o", color=colour, ms=5, capsize=3, mfc="white")
        shown.add(ax)
    if targets:
        a1.plot([], [], "o", color=COLOURS["detained"], mfc="white", label="official figure (range)")
        a2.plot([], [], "o", color=COLOURS["killed"], mfc="white", label="official figure (range)")
    a1.set_ylabel("people (cumulative)")
    a2.set_ylabel("people (cumulative)")
    a3.set_ylabel("people at once")
    a1.set_title("Detained")
    a2.set_title("Deaths")
    a3.set_title("Unrest, all cities")
    for ax in (a1, a2, a3):
        _dates(ax, r0)
        _events(ax, r0)
        thousands(ax)
        ax.set_ylim(bottom=0)
        legend_above(ax)
        _rotate(ax, r0)
    against = "model against the record" if targets else "detained, deaths and unrest (no record given)"
    fig.suptitle(f"{r0.scenario.name}: {against} ({runs_phrase(len(results))}; {_scale_note(r0)})",
                 x=0.01, ha="left")
    fig.tight_layout()
    return fig


def plot_record(results: Sequence[CountryResult], targets: Sequence | None, path: str | Path) -> Path:
    """Cumulative detained and deaths against the official figures (targets' ranges as bars)."""
    return _save(record_figure(results, targets), path)


# ------------------------------------------------------------------ counterfactuals
@styled
def compare_figure(baseline: Sequence[CountryResult], variants: dict[str, Sequence[CountryResult]], rows):
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
    ax.set_ylabel("active + violent citizens (people at once)")
    ax.set_title("Unrest, all cities")
    _dates(ax, r0)
    thousands(ax)
    ax.set_ylim(bottom=0)
    _rotate(ax, r0)
    ax.legend(fontsize=8)
    ax = axes[1]
    labels, positions, ys = [], [], 0.0
    for k, name in enumerate(variants):
        for key in keys:
            c = next((c for c in rows if c.variant == name and c.outcome == key), None)
            if c is None:  # no paired difference for this outcome (e.g. rows not computed yet)
                continue
            scale = abs(c.baseline_mean) or 1.0
            mid = 100 * c.difference / scale
            lo, hi = 100 * c.difference_ci[0] / scale, 100 * c.difference_ci[1] / scale
            ax.errorbar([mid], [ys], xerr=[[mid - lo], [hi - mid]], fmt="o", color=palette(k), capsize=3)
            labels.append(f"{name}: {OUTCOMES[key][0]}")
            positions.append(ys)
            ys += 1
        ys += 0.5
    ax.axvline(0, color="grey", lw=0.8)
    ax.set_yticks(positions)
    ax.set_yticklabels(labels, fontsize=7.5)
    ax.invert_yaxis()
    ax.set_xlabel("difference from baseline (% of the baseline mean; 95% CI, paired by seed)")
    ax.grid(alpha=0.3, axis="x")
    ax.set_title("Paired differences")
    fig.suptitle(f"{r0.scenario.name}: counterfactuals ({len(baseline)} runs each, median and 5-95% band; "
                 f"{_scale_note(r0)})", x=0.01, ha="left")
    fig.tight_layout()
    return fig


def plot_compare(baseline: Sequence[CountryResult], variants: dict[str, Sequence[CountryResult]], rows,
                 path: str | Path) -> Path:
    """National unrest under each variant (median, 5-95%) and the paired differences in key outcomes."""
    return _save(compare_figure(baseline, variants, rows), path)


def compare_posterior_figure(rows, outcomes: Sequence[str] = ("deaths_total", "detained_total",
                                                               "unrest_person_days", "end_of_unrest")):
    """Per outcome, each variant's effect: at the scenario's parameters over seeds (95% CI of the mean, grey) and
    over the posterior (95% CI of the mean, thick blue; 2.5-97.5% of one run's effect, thin blue)."""
    from ..country.compare import OUTCOMES

    outcomes = [o for o in outcomes if any(r.outcome == o for r in rows)]
    variants = list(dict.fromkeys(r.variant for r in rows))
    fig, axes = plt.subplots(1, len(outcomes), figsize=(3.6 * len(outcomes), 0.45 * len(variants) + 1.6),
                             squeeze=False)
    for ax, outcome in zip(axes[0], outcomes):
        for y, v in enumerate(variants):
            c = next(r for r in rows if r.outcome == outcome and r.variant == v)
            ax.plot(c.posterior_interval, [y, y], color="#1f4e79", linewidth=1, alpha=0.6)
            ax.plot(c.posterior_ci, [y, y], color="#1f4e79", linewidth=5, solid_capstyle="butt")
            ax.plot([c.posterior_mean], [y], "o", color="white", markeredgecolor="#1f4e79", markersize=4)
            if c.point_runs:
                ax.plot(c.point_ci, [y + 0.25, y + 0.25], color="#7f8c8d", linewidth=3, solid_capstyle="butt")
        ax.axvline(0, color="black", linewidth=0.8)
        ax.set_yticks(range(len(variants)))
        ax.set_yticklabels(variants if ax is axes[0][0] else [""] * len(variants), fontsize=8)
        ax.invert_yaxis()
        label, unit = OUTCOMES[outcome][:2]
        ax.set_title(f"{label} ({unit})", fontsize=8.5)
        ax.tick_params(axis="x", labelsize=7)
    fig.suptitle("variant minus baseline: posterior (blue: 95% CI of the mean, thin: one run 2.5-97.5%) and the "
                 "scenario's own parameters (grey: 95% CI, seeds only)", fontsize=8.5)
    return fig


def plot_compare_posterior(rows, path: str | Path) -> Path:
    """:func:`compare_posterior_figure` as a PNG."""
    return _save(compare_posterior_figure(rows), path)


# ------------------------------------------------------------------ the map
@lru_cache(maxsize=1)
def outline() -> list[np.ndarray]:
    """Kazakhstan's outline (package data: Natural Earth 1:110m, public domain) as rings of (lon, lat)."""
    from importlib.resources import files

    data = json.loads(files("uprising").joinpath("data/kazakhstan.geojson").read_text(encoding="utf-8"))
    rings = []
    for feature in data["features"]:
        geom = feature["geometry"]
        polys = [geom["coordinates"]] if geom["type"] == "Polygon" else geom["coordinates"]
        for poly in polys:
            rings.append(np.asarray(poly[0], dtype=float))
    return rings


def _marker_size(population: float) -> float:
    return 25.0 + population / 6000.0


@styled
def unrest_cmap():
    """The unrest scale of :mod:`uprising.viz.unrest_colours` as a matplotlib colormap (the explorer uses the
    same stops)."""
    from matplotlib.colors import LinearSegmentedColormap

    return LinearSegmentedColormap.from_list("uprising-unrest", list(UNREST_STOPS))


def map_figure(results: Sequence[CountryResult], day: dt.date | None = None):
    """The cities on the country's outline, sized by population and coloured by peak unrest per 1,000 residents
    (over the run, or over ``day`` only)."""
    r0 = results[0]
    cities = r0.scenario.cities
    if day is not None:
        days = O.day_index(r0)
        steps = np.nonzero(days == day)[0]
        if len(steps) == 0:
            raise ValueError(f"day: {day} is outside the run ({r0.clock.start.date()} to {r0.clock.end.date()})")
    else:
        steps = np.arange(1, r0.steps + 1)
    share = np.array([[r.unrest()[i][steps].max() * 1000.0 / r.citizens[i] for i in range(len(cities))]
                      for r in results])
    peak_share = np.median(share, axis=0)
    lon = np.array([c.lon for c in cities])
    lat = np.array([c.lat for c in cities])
    fig, ax = plt.subplots(figsize=(9.5, 6))
    rings = outline()
    lo_lon, hi_lon = lon.min(), lon.max()
    lo_lat, hi_lat = lat.min(), lat.max()
    near = [ring for ring in rings if ring[:, 0].min() - 3 <= hi_lon and ring[:, 0].max() + 3 >= lo_lon
            and ring[:, 1].min() - 3 <= hi_lat and ring[:, 1].max() + 3 >= lo_lat]
    for ring in near:
        ax.fill(ring[:, 0], ring[:, 1], facecolor="#f4f1ea", edgecolor="#6b6b6b", lw=0.9, zorder=0)
        lo_lon, hi_lon = min(lo_lon, ring[:, 0].min()), max(hi_lon, ring[:, 0].max())
        lo_lat, hi_lat = min(lo_lat, ring[:, 1].min()), max(hi_lat, ring[:, 1].max())
    # the one unrest scale (uprising.viz.unrest_colours): light for calm, dark for disturbed, a fixed range
    sc = ax.scatter(lon, lat, s=[_marker_size(c.population) for c in cities], c=peak_share, cmap=unrest_cmap(),
                    edgecolor="k", linewidths=0.6, vmin=0.0, vmax=UNREST_MAX_PER_1000, zorder=3)
    for c in cities:
        ax.annotate(c.name, (c.lon, c.lat), textcoords="offset points", xytext=(6, 4), fontsize=8, zorder=4)
    when = f"on {day.strftime('%d %b %Y')}" if day is not None else "over the run"
    fig.colorbar(sc, ax=ax, shrink=0.8, extend="max",
                 label=f"peak {UNREST_LEGEND} {when}\n(median of {len(results)} "
                       f"run{'s' if len(results) != 1 else ''}; fixed range 0 to {UNREST_MAX_PER_1000:g})")
    for pop in (100_000, 500_000, 2_000_000):
        ax.scatter([], [], s=_marker_size(pop), facecolor="none", edgecolor="k", label=f"{pop:,} residents")
    # below the map, outside the country: inside it would hide a city's label (Oral, top left of Kazakhstan)
    fig.legend(*ax.get_legend_handles_labels(), loc="lower center", ncol=3, title="population", frameon=False,
               columnspacing=2.5, borderpad=0.4)
    pad = 1.0
    ax.set_xlim(lo_lon - pad, hi_lon + pad)
    ax.set_ylim(lo_lat - pad, hi_lat + pad)
    ax.set_aspect(1.0 / np.cos(np.radians((lo_lat + hi_lat) / 2)))  # degrees of longitude shrink with latitude
    ax.set_xlabel("longitude (degrees east)")
    ax.set_ylabel("latitude (degrees north)")
    ax.set_title(f"{r0.scenario.name}: peak unrest by city {when}")
    fig.tight_layout(rect=(0.0, 0.13, 1.0, 1.0))  # room for the population legend below
    return fig


def plot_map(results: Sequence[CountryResult], path: str | Path, day: dt.date | None = None) -> Path:
    """The cities on the country's outline, sized by population and coloured by peak unrest share."""
    return _save(map_figure(results, day), path)
