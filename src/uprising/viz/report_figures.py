"""The figures of ``uprising report``, drawn from its ensemble's results (the optional ``plot`` extra).

The report (:mod:`uprising.report`, a driver) takes its figures as PNG bytes
(:class:`uprising.report.Figure`) and never draws: ``uprising report`` runs the ensemble, calls
:func:`draw_figures` here, at the edge, and hands the figures to :func:`uprising.report.build_report`.
So the page is built, and tested, without matplotlib, and the layers point one way (viz uses the report's
plan; the report knows nothing of viz).
"""

from __future__ import annotations

import io
from typing import Sequence

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from ..report import COUNTRY, Figure, ReportPlan, runs_phrase  # noqa: E402
from . import animate as A  # noqa: E402
from . import country_plots as CP  # noqa: E402
from . import publication as P  # noqa: E402
from .style import RC  # noqa: E402


def png_bytes(fig, dpi: int = 110) -> bytes:
    """A matplotlib figure as PNG bytes, in the house style (the figure is closed)."""
    buf = io.BytesIO()
    with plt.rc_context(RC):
        fig.savefig(buf, format="png", dpi=dpi)
    plt.close(fig)
    return buf.getvalue()


def _picks_around(peak: int, n: int) -> list[int]:
    """Four frames around ``peak`` (of ``n``), the first frame among them when it fits."""
    picks = sorted({max(0, min(n - 1, peak + d)) for d in (-2, -1, 0, 2)} | {0})
    return picks[-4:] if len(picks) > 4 else picks


def model_one_figures(plan: ReportPlan, results: Sequence) -> list[Figure]:
    """Citizens by state, arrests and legitimacy, and four frames of replicate 0's lattice around its peak."""
    n = len(results)
    out = [Figure("Citizens by state", png_bytes(P.model_one_timeline_figure(results)),
                  f"Quiet, active and jailed citizens (agents) over the steps; {runs_phrase(n)}."),
           Figure("Arrests, releases and legitimacy", png_bytes(P.model_one_arrests_figure(results)),
                  "Arrests and releases per step (agents), and the legitimacy L the citizens see.")]
    snaps = results[0].snapshots
    if snaps:
        steps = np.array(sorted(snaps))
        kinds = np.stack([snaps[k] for k in steps])
        frames = A.Frames(kinds, steps, [f"step {k}" for k in steps], plan.scenario.name, None, tuple(range(5)))
        active = (kinds == 2).sum(axis=(1, 2))
        picks = _picks_around(int(np.argmax(active)), len(steps))
        out.append(Figure("The lattice", png_bytes(A.strip_figure(frames, picks)),
                          "Replicate 0's lattice at four steps around its largest number of actives: "
                          "each cell coloured by what holds it."))
    return out


def country_figures(plan: ReportPlan, results: Sequence) -> list[Figure]:
    """Unrest by city, the whole country, the record (with targets), the map, and four frames of the lattice of
    the city with the highest peak of unrest per resident."""
    n = len(results)
    out = [Figure("Unrest by city", png_bytes(CP.cities_figure(results)),
                  f"Active and violent citizens per 1,000 residents in each city; {runs_phrase(n)}."),
           Figure("The whole country", png_bytes(CP.national_figure(results)),
                  "Quiet citizens, active, violent and jailed at once, and killed and injured so far, in "
                  f"people (agents divided by the scale); {runs_phrase(n)}.")]
    if plan.targets is not None:
        out.append(Figure("Against the record", png_bytes(CP.record_figure(results, plan.targets.targets)),
                          f"Cumulative detained and deaths against the official figures of {plan.targets_path} "
                          f"(ranges as bars), and national unrest; {runs_phrase(n)}."))
    out.append(Figure("Map", png_bytes(CP.map_figure(results)),
                      "The cities on the country's outline (Natural Earth 1:110m), sized by population and "
                      "coloured by their peak of active and violent citizens per 1,000 residents."))
    snaps = results[0].snapshots
    if snaps:
        names = results[0].names
        share = [results[0].unrest()[i].max() * 1000.0 / max(results[0].citizens[i], 1) for i in range(len(names))]
        city = names[int(np.argmax(share))]
        frames_by_step = snaps.get(city) or {}
        if frames_by_step:
            clock = plan.scenario.clock.clock()
            steps = np.array(sorted(frames_by_step))
            kinds = np.stack([frames_by_step[k] for k in steps])
            frames = A.Frames(kinds, steps, [clock.time_of(int(k)).strftime("%d %b, %H:%M") for k in steps],
                              plan.scenario.name, city, tuple(range(6)))
            unrest = ((kinds == 2) | (kinds == 5)).sum(axis=(1, 2))
            picks = _picks_around(int(np.argmax(unrest)), len(steps))
            out.append(Figure(f"The lattice of {city}", png_bytes(A.strip_figure(frames, picks)),
                              f"Replicate 0's lattice of {city}, the city with the highest peak of unrest per "
                              "resident in that run, at four times around its peak (local time)."))
    return out


def design_figure(exp) -> Figure | None:
    """The design points of an experiment over its first two parameters (None for a design over choices)."""
    pts = exp.points()
    names = list(exp.parameters)
    try:
        [float(p[n]) for p in pts for n in names[:2]]
    except (TypeError, ValueError, KeyError):
        return None  # a design over choices: no scatter
    with plt.rc_context(RC):
        fig, ax = plt.subplots(figsize=(6.5, 4.8))
        xs = [float(p[names[0]]) for p in pts]
        ys = [float(p[names[1]]) for p in pts] if len(names) > 1 else [0.0] * len(pts)
        ax.scatter(xs, ys, s=28, color="#1f78b4", edgecolor="k", linewidths=0.5)
        ax.set_xlabel(names[0])
        ax.set_ylabel(names[1] if len(names) > 1 else "")
        if len(names) == 1:
            ax.set_yticks([])
        ax.set_title(f"{exp.name}: {len(pts)} design points ({exp.design.kind})")
        fig.tight_layout()
    return Figure("The design", png_bytes(fig), f"The experiment's {len(pts)} design points (its parameters' values "
                  "at each).")


def draw_figures(plan: ReportPlan, results: Sequence) -> list[Figure]:
    """The report's figures of ``results`` (the ensemble of ``plan``, in replicate order), in the page's order."""
    if plan.kind == COUNTRY:
        return country_figures(plan, results)
    out = model_one_figures(plan, results)
    exp = plan.experiment
    if exp is not None and exp.parameters and (fig := design_figure(exp)) is not None:
        out.append(fig)
    return out
