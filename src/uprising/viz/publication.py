"""Publication figures of a result table (``uprising plot RESULT``): every figure in PNG, SVG and PDF.

A result table is the Parquet file ``uprising run`` writes. Its metadata says which model made it:

* a Model I run (``uprising.scenario``; one run, or several with different run ids): the citizens by state
  over the steps (quiet, active, jailed), and arrests, releases and legitimacy;
* a country ensemble (``uprising.country_scenario``): the cities' timelines, the national timeline (quiet,
  active, violent, jailed; killed and injured), the record (when a targets file is found or given) and the
  map of the cities on the country's outline.

Axes are labelled with their units (people, agents, per 1,000 residents, dates in the scenario's local
time); titles say what is shown, how many runs, and that lines are medians with 5-95% bands.
Bad input raises :class:`uprising.scenario.ScenarioError` (one line: the file, the field, what is allowed)
before anything is written.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable, Sequence

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from ..kernels import codes  # noqa: E402
from ..scenario import ScenarioError, echo  # noqa: E402
from ..simulate import Result, outbursts  # noqa: E402
from .style import COLOURS, FORMATS, runs_phrase, save_formats, styled, thousands  # noqa: E402

MODEL_ONE = "model1"
COUNTRY = "country"
OUTBURST = 50  # Epstein (2002) Run 2: an outburst is a spell of more than 50 actives


# ------------------------------------------------------------------ reading a result
def parse_formats(text: str | Sequence[str], source: str = "--format") -> tuple[str, ...]:
    """``"png,svg"`` as ("png", "svg"); an unknown format raises a one-line :class:`ScenarioError`."""
    items = text.split(",") if isinstance(text, str) else list(text)
    out = []
    for item in items:
        fmt = item.strip().lower().lstrip(".")
        if not fmt:
            continue
        if fmt not in FORMATS:
            raise ScenarioError(source, "--format", f"unknown format {echo(item.strip())}; allowed: "
                                f"{', '.join(FORMATS)} (comma-separated, e.g. png,svg)")
        if fmt not in out:
            out.append(fmt)
    if not out:
        raise ScenarioError(source, "--format", f"no format given; allowed: {', '.join(FORMATS)}")
    return tuple(out)


def result_kind(path: str | Path) -> str:
    """``"model1"`` or ``"country"`` from a result table's metadata; a missing file, a file that is not
    Parquet, or a Parquet file that is not a result raise :class:`ScenarioError`."""
    import pyarrow.parquet as pq

    path = Path(path)
    if not path.is_file():
        raise ScenarioError(str(path), "(file)", "no such file; give a result table (.parquet) written by uprising run")
    try:
        meta = pq.read_schema(path).metadata or {}
    except Exception:  # noqa: BLE001 (pyarrow raises several kinds for a file that is not Parquet)
        raise ScenarioError(str(path), "(file)", "not a Parquet file; give a result table (.parquet) written by "
                            "uprising run") from None
    if b"uprising.country_scenario" in meta:
        return COUNTRY
    if b"uprising.scenario" in meta:
        return MODEL_ONE
    raise ScenarioError(str(path), "(metadata)", "not a result table of uprising run: its metadata holds neither "
                        "uprising.scenario (Model I) nor uprising.country_scenario (a country)")


def model_one_results(path: str | Path) -> list[Result]:
    """The Model I runs in a result table, one :class:`Result` per run id (in the order of the file)."""
    from ..simulate import read_parquet

    try:
        table, scenario = read_parquet(path)
    except ScenarioError:
        raise
    except Exception as exc:  # noqa: BLE001
        raise ScenarioError(str(path), "(file)", f"cannot be read as a result table ({type(exc).__name__})") from None
    if scenario is None:
        raise ScenarioError(str(path), "(metadata)", "no uprising.scenario in its metadata")
    need = {"run_id", "step", "legitimacy", "citizens", *codes.OUT_NAMES}
    missing = sorted(need - set(table.column_names))
    if missing:
        raise ScenarioError(str(path), missing[0], f"column missing; a Model I result table has {', '.join(sorted(need))}")
    cols = {name: table.column(name).to_numpy(zero_copy_only=False) for name in need | {"seed", "replicate"}
            if name in table.column_names}
    out = []
    run_ids = list(dict.fromkeys(cols["run_id"].tolist()))
    for rid in run_ids:
        rows = np.nonzero(cols["run_id"] == rid)[0]
        rows = rows[np.argsort(cols["step"][rows], kind="stable")]
        counts = np.column_stack([cols[name][rows] for name in codes.OUT_NAMES]).astype(np.int64)
        rep = int(cols["replicate"][rows[0]]) if "replicate" in cols else -1
        out.append(Result(scenario, int(cols["seed"][rows[0]]) if "seed" in cols else 0, None if rep < 0 else rep,
                          counts, cols["legitimacy"][rows].astype(float), int(cols["citizens"][rows[0]])))
    if not out:
        raise ScenarioError(str(path), "(rows)", "the table holds no run")
    return out


def country_results(path: str | Path):
    from ..country.simulate import read_country_results

    try:
        return read_country_results(path)
    except ScenarioError:
        raise
    except (ValueError, KeyError) as exc:
        raise ScenarioError(str(path), "(rows)", str(exc).replace(f"{path}: ", "")) from None


def find_targets(result_path: Path, scenario_name: str, folders: Sequence[str | Path] = ()) -> Path | None:
    """``NAME-targets.csv`` of the scenario named in a result's metadata: beside the result, in ./scenarios,
    or in one of ``folders`` (the command line passes the checkout's scenarios/); None if there is none."""
    from ..country.fit import find_targets as targets_of

    return targets_of(scenario_name, (result_path.parent, Path("scenarios"), *folders))


# ------------------------------------------------------------------ Model I figures
def _steps_band(ax, runs: np.ndarray, colour: str, label: str, **line) -> None:
    x = np.arange(runs.shape[1])
    ax.plot(x, np.median(runs, axis=0), color=colour, label=label, **{"lw": 1.2, **line})
    if runs.shape[0] > 1:
        ax.fill_between(x, np.percentile(runs, 5, axis=0), np.percentile(runs, 95, axis=0), color=colour,
                        alpha=0.2, lw=0)


def _lattice_note(result: Result) -> str:
    s = result.scenario
    return f"{s.width}x{s.height} lattice, {result.citizens:,} citizens, {int(result.column('cops')[0]):,} cops"


@styled
def model_one_timeline_figure(results: Sequence[Result]):
    """Quiet, active and jailed citizens over the steps (median and 5-95% band over runs); outbursts shaded
    for a single run."""
    r0 = results[0]
    steps = min(r.steps for r in results)
    fig, ax = plt.subplots(figsize=(10, 4.6))
    for key in ("quiet", "active", "jailed"):
        _steps_band(ax, np.array([r.column(key)[:steps + 1] for r in results], dtype=float), COLOURS[key], key)
    if len(results) == 1:
        for start, dur, _ in outbursts(r0.column("active"), OUTBURST):
            ax.axvspan(start, start + dur, color=COLOURS["active"], alpha=0.12, lw=0)
    ax.axhline(OUTBURST, color=COLOURS["active"], ls=":", lw=0.8, label=f"outburst threshold ({OUTBURST} actives)")
    ax.set_xlim(0, steps)
    ax.set_ylim(bottom=0)
    ax.set_xlabel("step (one activation of every agent; no calendar meaning in Model I)")
    ax.set_ylabel("citizens (agents)")
    thousands(ax)
    ax.legend(loc="lower right", bbox_to_anchor=(1.0, 1.0), ncol=4)
    shade = "; shaded: outbursts" if len(results) == 1 else ""
    fig.suptitle(f"{r0.scenario.name}: citizens by state ({runs_phrase(len(results))}; {_lattice_note(r0)}{shade})",
                 x=0.01, ha="left")
    fig.tight_layout()
    return fig


@styled
def model_one_arrests_figure(results: Sequence[Result]):
    """Arrests and releases per step, and the legitimacy the citizens see."""
    r0 = results[0]
    steps = min(r.steps for r in results)
    fig, ax = plt.subplots(figsize=(10, 3.8))
    _steps_band(ax, np.array([r.column("arrests")[:steps + 1] for r in results], dtype=float), COLOURS["arrests"],
                "arrests")
    _steps_band(ax, np.array([r.column("releases")[:steps + 1] for r in results], dtype=float), COLOURS["releases"],
                "releases", ls="--")
    ax.set_xlim(0, steps)
    ax.set_ylim(bottom=0)
    ax.set_xlabel("step")
    ax.set_ylabel("citizens per step (agents)")
    ax2 = ax.twinx()
    ax2.plot(np.arange(steps + 1), r0.legitimacy[:steps + 1], color=COLOURS["legitimacy"], lw=1.2, label="legitimacy L")
    ax2.set_ylim(0, 1.02)
    ax2.set_ylabel("legitimacy L (0-1, dimensionless)", color=COLOURS["legitimacy"])
    ax2.grid(False)
    ax2.spines["right"].set_visible(True)
    lines = ax.get_legend_handles_labels()
    more = ax2.get_legend_handles_labels()
    ax.legend(lines[0] + more[0], lines[1] + more[1], loc="lower right", bbox_to_anchor=(1.0, 1.0), ncol=3)
    fig.suptitle(f"{r0.scenario.name}: arrests, releases and legitimacy ({runs_phrase(len(results))})",
                 x=0.01, ha="left")
    fig.tight_layout()
    return fig


def model_one_figures(results: Sequence[Result]) -> dict[str, Callable[[], object]]:
    """The Model I figures by name, each a callable that builds it."""
    return {"timeline": lambda: model_one_timeline_figure(results),
            "arrests": lambda: model_one_arrests_figure(results)}


def country_figures(results, targets=None) -> dict[str, Callable[[], object]]:
    """The country figures by name, each a callable that builds it (the record only with ``targets``)."""
    from . import country_plots as P

    figs = {"cities": lambda: P.cities_figure(results), "national": lambda: P.national_figure(results)}
    if targets:
        figs["record"] = lambda: P.record_figure(results, targets)
    figs["map"] = lambda: P.map_figure(results)
    return figs


# ------------------------------------------------------------------ the command
def plot_result(path: str | Path, out_dir: str | Path | None = None, formats: Sequence[str] = FORMATS,
                targets_path: str | Path | None = None, log: Callable[[str], None] | None = None,
                record_folders: Sequence[str | Path] = ()) -> list[Path]:
    """Write every figure of the result table ``path`` to ``out_dir`` (default: beside it) as
    ``STEM-FIGURE.FORMAT`` for each format; the paths written. Everything is read and checked first.

    A country result's record is ``targets_path``, or else the scenario's targets file found by
    :func:`find_targets` (beside the result, in ./scenarios, then in ``record_folders``)."""
    path = Path(path)
    formats = parse_formats(formats, str(path))
    kind = result_kind(path)
    if kind == MODEL_ONE:
        if targets_path is not None:
            raise ScenarioError(str(path), "--targets", "only for country results (a Model I run has no record)")
        builders = model_one_figures(model_one_results(path))
    else:
        from ..country import fit as F

        results = country_results(path)
        targets = None
        if targets_path is None:
            targets_path = find_targets(path, results[0].scenario.name, record_folders)
            if targets_path is not None and log:
                log(f"record: {targets_path}")
        if targets_path is not None:
            targets = F.load_targets(targets_path, results[0].scenario).targets
        elif log:
            log(f"no targets file {results[0].scenario.name}-targets.csv found: the record figure is left out "
                "(give one with --targets)")
        builders = country_figures(results, targets)
    out_dir = path.parent if out_dir is None else Path(out_dir)
    written = []
    for name, build in builders.items():
        written += save_formats(build(), out_dir / f"{path.stem}-{name}", formats)
    return written
