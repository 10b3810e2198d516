"""No figure hides a label behind its legend (issue 13, item 10).

Every figure the package draws is captured as it is saved (``Figure.savefig`` wrapped), drawn with
matplotlib's renderer, and each visible text (titles, axis labels, tick labels, annotations) outside a
legend is checked against the window extent of every legend: no overlap.
"""

from __future__ import annotations

import numpy as np
import pytest

matplotlib = pytest.importorskip("matplotlib")
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.text import Text  # noqa: E402

from country_helpers import two_towns  # noqa: E402
from uprising.country.compare import compare  # noqa: E402
from uprising.country.simulate import simulate_country  # noqa: E402
from uprising.scenario import Scenario  # noqa: E402
from uprising.simulate import simulate  # noqa: E402


def hidden_labels(fig) -> list[str]:
    """The texts of ``fig`` whose box overlaps a legend's box (texts inside a legend excepted)."""
    if not hasattr(fig.canvas, "get_renderer"):  # a Figure() made without pyplot
        from matplotlib.backends.backend_agg import FigureCanvasAgg

        FigureCanvasAgg(fig)
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    legends = [leg for leg in [*fig.legends, *(ax.get_legend() for ax in fig.axes)] if leg is not None
               and leg.get_visible()]
    inside = {id(t) for leg in legends for t in leg.findobj(Text)}
    found = []
    for text in fig.findobj(Text):
        if id(text) in inside or not text.get_visible() or not text.get_text().strip():
            continue
        box = text.get_window_extent(renderer)
        if box.width <= 0 or box.height <= 0:
            continue
        for leg in legends:
            if box.overlaps(leg.get_window_extent(renderer)):
                found.append(f"{text.get_text()!r} under the legend {[t.get_text() for t in leg.get_texts()]}")
    return found


@pytest.fixture
def saved(monkeypatch):
    """Every figure saved while the test runs, in order."""
    figures = []
    original = Figure.savefig

    def capture(self, *args, **kwargs):
        figures.append(self)
        return original(self, *args, **kwargs)

    monkeypatch.setattr(Figure, "savefig", capture)
    return figures


def check(figures) -> None:
    assert figures
    problems = [p for fig in figures for p in hidden_labels(fig)]
    assert not problems, problems


def test_model_one_run_figure(saved, tmp_path):
    from uprising.viz.plots import plot_run

    plot_run(simulate(Scenario(steps=200), 200, seed=1), tmp_path / "run.png")
    check(saved)


@pytest.fixture(scope="module")
def country_runs():
    base = [simulate_country(two_towns().variant("baseline"), 0, r) for r in (0, 1)]
    variant = [simulate_country(two_towns().variant("no-troops"), 0, r) for r in (0, 1)]
    return base, variant


def test_country_figures(saved, tmp_path, country_runs):
    from uprising.country import fit as F
    from uprising.viz import country_plots as P

    base, variant = country_runs
    targets = F.load_targets(F.find_targets(two_towns_path()), two_towns()).targets if F.find_targets(
        two_towns_path()) else None
    P.plot_cities(base, tmp_path / "cities.png")
    P.plot_national(base, tmp_path / "national.png")
    P.plot_record(base, targets, tmp_path / "record.png")
    P.plot_map(base, tmp_path / "map.png")
    rows = compare(base, {"no-troops": variant})
    P.plot_compare(base, {"no-troops": variant}, rows, tmp_path / "compare.png")
    check(saved)


def test_publication_figures(saved, tmp_path):
    from uprising.viz import publication as Pub

    results = [simulate(Scenario(steps=150), 150, seed=s) for s in (0, 1)]
    for draw in Pub.model_one_figures(results).values():
        fig = draw()
        saved.append(fig)
    check(saved)


def test_validation_figures(saved, tmp_path):
    from uprising.viz import validation_plots as V

    rng = np.random.default_rng(0)
    V.run2_timeseries({"floor, euclidean": rng.integers(0, 200, 3000).astype(float),
                       "ratio, euclidean": rng.integers(0, 20, 3000).astype(float)}, tmp_path / "ts.png")
    V.tension(rng.random(400) * 100, rng.random(400) * 300, tmp_path / "tension.png", "tension")
    check(saved)


def two_towns_path():
    from country_helpers import TWO_TOWNS

    return TWO_TOWNS


def test_validation_run2_map_of_the_committed_record(saved, tmp_path):
    """The Run 2 map as docs/validation.md shows it: every rule combination of the committed record labelled."""
    import json

    from conftest import ROOT
    from uprising.analysis import PAPER
    from uprising.viz import validation_plots as V

    data = json.loads((ROOT / "docs" / "data" / "validation.json").read_text(encoding="utf-8"))
    nan = float("nan")
    points = {data["labels"].get(key, key): {name: (nan if value is None else value) if not isinstance(value, list)
                                             else [nan if v is None else v for v in value]
                                             for name, value in stats.items()}
              for key, stats in data["run2"].items()}
    V.run2_map(points, PAPER, tmp_path / "map.png")
    check(saved)


def test_kazakhstan_map_hides_no_city_label(saved, tmp_path):
    """The map of the real scenario: its population legend once hid Oral's label (top left of the country)."""
    from conftest import SCENARIOS
    from uprising.country.scenario import CountryScenario
    from uprising.viz import country_plots as P

    scenario = CountryScenario.load(SCENARIOS / "kazakhstan-2022.toml").replace({"scale": 0.001})
    P.plot_map([simulate_country(scenario, 0, 0)], tmp_path / "map.png")
    check(saved)
