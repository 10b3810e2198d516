"""The country commands as a user runs them (fresh processes): run, fit and compare on the two-towns country."""

from __future__ import annotations

import csv
import json

import numpy as np
import pyarrow.parquet as pq
import pytest

from country_helpers import TWO_TOWNS, assert_one_line_error, two_towns, uprising
from uprising.country import fit as F
from uprising.country.compare import OUTCOMES
from uprising.country.simulate import simulate_country
from uprising.kernels import codes

PNG = b"\x89PNG\r\n\x1a\n"


def assert_png(path):
    assert path.is_file(), path
    assert path.read_bytes()[:8] == PNG and path.stat().st_size > 5_000, path


# ------------------------------------------------------------------ run


@pytest.fixture(scope="module")
def country_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("run")
    proc = uprising("run", str(TWO_TOWNS), "--replicates", "2", "--workers", "2", "--seed", "5", "--out", str(out))
    return proc, out


def test_run_exits_zero_and_writes_the_table_and_figures(country_run):
    proc, out = country_run
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "Traceback" not in proc.stderr
    table = out / "two-towns-seed5.parquet"
    assert table.is_file() and str(table) in proc.stdout
    for kind in ("cities", "record", "map"):
        assert_png(out / f"two-towns-seed5-{kind}.png")
    # the summary names every city
    for city in ("Oilton", "Portville", "Hilltop"):
        assert city in proc.stdout
    # the two towns have buildings (sites on): the summary counts those attacked and burnt
    assert "buildings attacked" in proc.stdout and "buildings burnt" in proc.stdout


def test_run_table_is_tidy_and_is_the_driver_run(country_run):
    _, out = country_run
    table = pq.read_table(out / "two-towns-seed5.parquet")
    names = set(table.column_names)
    assert {"run_id", "scenario_hash", "seed", "replicate", "city", "step", "time", "quiet", "active", "violent",
            "jailed", "cops", "arrests", "killed_protesters", "killed_bystanders", "killed_security",
            "injured_security", "site_attacks", "swept", "legitimacy", "information", "troops", "citizens",
            "residents_per_agent"} <= names
    assert table.num_rows == 2 * 3 * 49  # 2 runs x 3 cities x (48 steps + the start)
    assert set(table.column("replicate").to_pylist()) == {0, 1} and set(table.column("seed").to_pylist()) == {5}
    assert set(table.column("scenario_hash").to_pylist()) == {two_towns().hash()}
    df = table.to_pandas()
    assert str(df["time"].min()) == "2022-01-01 00:00:00" and str(df["time"].max()) == "2022-01-03 00:00:00"
    # the numbers are the driver's own runs, made in this process from the same seed and replicates
    for r in (0, 1):
        res = simulate_country(two_towns(), 5, r)
        for i, city in enumerate(res.names):
            rows = df[(df.replicate == r) & (df.city == city)].sort_values("step")
            assert rows["step"].tolist() == list(range(49))
            got = np.column_stack([rows[name].to_numpy() for name in codes.OUT_ALL_NAMES])
            np.testing.assert_array_equal(got, res.counts[i], err_msg=f"{city} replicate {r}")


# ------------------------------------------------------------------ fit

TARGETS = """quantity,value_low,value_high,date,source
detained_cumulative,100,200,2022-01-02,a test figure
deaths_total_official,5,10,2022-01-03,a test figure
day_protests_start (Oilton),2022-01-01,2022-01-01,2022-01-01,a test figure
population_oilton,150000,150000,2021,an input: not scored
"""


@pytest.fixture(scope="module")
def country_fit(tmp_path_factory):
    root = tmp_path_factory.mktemp("fit")
    targets = root / "targets.csv"
    targets.write_text(TARGETS, encoding="utf-8")
    out = root / "out"
    proc = uprising("fit", str(TWO_TOWNS), "--targets", str(targets), "--replicates", "2", "--workers", "2",
                    "--out", str(out))
    return proc, out, targets


def test_fit_writes_scores_with_a_row_per_target(country_fit):
    proc, out, targets = country_fit
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "not scored: population_oilton" in proc.stderr
    with (out / "scores.csv").open(newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    assert [r["target"] for r in rows] == ["detained_cumulative by 02 Jan", "deaths_total_official",
                                           "day_protests_start (Oilton)"]
    assert {r["verdict"] for r in rows} <= {"hit", "miss"}
    md = (out / "scores.md").read_text(encoding="utf-8")
    table_lines = [line for line in md.splitlines() if line.startswith("| ")]
    assert len(table_lines) == 1 + 3 and "| deaths_total_official |" in md  # the header and one line per target
    data = json.loads((out / "scores.json").read_text(encoding="utf-8"))
    assert data["replicates"] == 2 and data["seed"] == 0 and data["scenario_hash"] == two_towns().hash()
    assert len(data["scores"]) == 3
    # the scores are those of the same runs made here
    results = [simulate_country(two_towns(), 0, r) for r in (0, 1)]
    expected = F.as_rows(F.score(F.load_targets(targets, two_towns()).targets, results), two_towns().clock.start.date())
    assert data["scores"] == json.loads(json.dumps(expected))
    assert data["loss"] == pytest.approx(sum(r["error"] for r in expected), abs=1e-2)


def test_fit_with_a_missing_targets_file_is_a_one_line_error(tmp_path):
    missing = tmp_path / "nowhere.csv"
    proc = uprising("fit", str(TWO_TOWNS), "--targets", str(missing), "--replicates", "2", "--out", str(tmp_path / "o"))
    assert_one_line_error(proc, str(missing), "(file)", "no such file")
    assert not (tmp_path / "o").exists()


# ------------------------------------------------------------------ compare


@pytest.fixture(scope="module")
def country_compare(tmp_path_factory):
    out = tmp_path_factory.mktemp("compare")
    proc = uprising("compare", str(TWO_TOWNS), "--variant", "no-troops", "--replicates", "2", "--workers", "2",
                    "--out", str(out))
    return proc, out


def test_compare_writes_a_row_per_outcome(country_compare):
    proc, out = country_compare
    assert proc.returncode == 0, proc.stderr[-3000:]
    with (out / "compare.csv").open(newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    assert [r["outcome"] for r in rows] == list(OUTCOMES)
    assert {r["variant"] for r in rows} == {"no-troops"} and {r["replicates"] for r in rows} == {"2"}
    md = (out / "compare.md").read_text(encoding="utf-8")
    assert md.count("| no-troops |") == len(OUTCOMES)
    assert_png(out / "compare.png")
    runs = pq.read_table(out / "runs.parquet")
    assert runs.num_rows == 2 * 2 * 3 * 49  # baseline and variant, 2 runs each
    # the differences are paired: variant minus baseline of the same replicates, run here
    base = [simulate_country(two_towns().variant("baseline"), 0, r) for r in (0, 1)]
    variant = [simulate_country(two_towns().variant("no-troops"), 0, r) for r in (0, 1)]
    for row in rows:
        fn = OUTCOMES[row["outcome"]][2]
        diff = np.mean([fn(v) - fn(b) for b, v in zip(base, variant)])
        assert float(row["difference"]) == pytest.approx(diff, rel=1e-9, abs=1e-9), row["outcome"]


def test_compare_with_an_unknown_variant_is_a_one_line_error(tmp_path):
    proc = uprising("compare", str(TWO_TOWNS), "--variant", "no-such-thing", "--out", str(tmp_path / "o"))
    assert_one_line_error(proc, str(TWO_TOWNS), "--variant", "no-such-thing", "allowed: baseline, no-troops")
    assert not (tmp_path / "o").exists()


def test_compare_with_an_unknown_variant_and_few_replicates_is_still_one_line(tmp_path):
    # The note about fewer than 20 replicates is printed before the variants are checked, so a bad --variant
    # with --replicates 2 prints two lines on stderr, not the one-line error the command promises.
    proc = uprising("compare", str(TWO_TOWNS), "--variant", "no-such-thing", "--replicates", "2",
                    "--out", str(tmp_path / "o"))
    assert_one_line_error(proc, str(TWO_TOWNS), "--variant", "no-such-thing", "allowed: baseline, no-troops")
    assert not (tmp_path / "o").exists()


def test_run_keeps_the_lattices_of_its_first_replicate(tmp_path):
    # --snapshot-every keeps replicate 0's lattices while it runs (no second run): each snapshot holds as many
    # cells of each kind as the table says for that replicate, city and step
    proc = uprising("run", str(TWO_TOWNS), "--replicates", "2", "--snapshot-every", "12", "--out", str(tmp_path),
                    "--no-plot")
    assert proc.returncode == 0, proc.stderr
    snaps = np.load(tmp_path / "two-towns-seed0-snapshots.npz")
    table = pq.read_table(tmp_path / "two-towns-seed0.parquet").to_pandas()
    first = table[table.replicate == 0]
    sc = two_towns()
    for city in (c.name for c in sc.cities):
        steps, kinds = snaps[f"{city}/steps"], snaps[f"{city}/kinds"]
        assert steps.tolist() == [0, 12, 24, 36, 48]
        for k, frame in zip(steps, kinds):
            row = first[(first.city == city) & (first.step == k)].iloc[0]
            for name, code in (("quiet", codes.QUIET), ("active", codes.ACTIVE), ("violent", codes.VIOLENT),
                               ("cops", codes.COP)):
                assert (frame == code).sum() == row[name], (city, k, name)


def test_the_record_is_found_beside_the_scenario_then_in_the_folders_given(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    scenario = tmp_path / "a" / "towns.toml"
    scenario.write_text("", encoding="utf-8")
    assert F.find_targets(scenario) is None
    elsewhere = tmp_path / "b" / "towns-targets.csv"
    elsewhere.write_text("x", encoding="utf-8")
    assert F.find_targets(scenario) is None and F.find_targets(scenario, (tmp_path / "b",)) == elsewhere
    assert F.find_targets("towns:no-troops", (tmp_path / "a", tmp_path / "b")) == elsewhere  # a result's name
    beside = tmp_path / "a" / "towns-targets.csv"
    beside.write_text("x", encoding="utf-8")
    assert F.find_targets(scenario, (tmp_path / "b",)) == beside


# ------------------------------------------------------------------ honest numbers (issue 13, item 8)


def test_compare_with_too_few_runs_marks_no_significance(country_compare):
    """2 replicates give bootstrap intervals of almost no width: below the advised count (20) the table and
    compare.md say "too few runs" instead of "yes" or "no", and the command warns."""
    from uprising.country.compare import ADVISED_REPLICATES

    proc, out = country_compare
    assert ADVISED_REPLICATES == 20
    md = (out / "compare.md").read_text(encoding="utf-8")
    assert "| yes |" not in md and "| no |" not in md
    assert md.count("| too few runs |") == len(OUTCOMES)
    assert "at least 20" in proc.stderr and "significance is not marked" in proc.stderr
    with (out / "compare.csv").open(newline="", encoding="utf-8") as fh:
        assert {r["significant"] for r in csv.DictReader(fh)} == {"too few runs"}


def test_every_printed_result_shows_its_scale(country_run, country_compare, country_fit):
    for proc in (country_run[0], country_compare[0], country_fit[0]):
        assert proc.returncode == 0, proc.stderr[-2000:]
        assert "scale 0.01" in " ".join(proc.stdout.split()), proc.stdout
    _, out = country_compare
    assert "scale 0.01" in (out / "compare.md").read_text(encoding="utf-8")
    _, out, _ = country_fit
    assert "scale 0.01" in (out / "scores.md").read_text(encoding="utf-8")


def test_a_version_of_a_scenario_shares_the_record_of_its_name(tmp_path):
    # towns-v2.toml, with no towns-v2-targets.csv, is scored against towns-targets.csv; a file of its own wins;
    # a name that merely ends in digits (towns2) is not a version. Fails if the suffix is not stripped, or always is.
    version = tmp_path / "towns-v2.toml"
    version.write_text("", encoding="utf-8")
    record = tmp_path / "towns-targets.csv"
    record.write_text("x", encoding="utf-8")
    assert F.find_targets(version) == record
    assert F.find_targets("towns-v2:no-troops", (tmp_path,)) == record
    own = tmp_path / "towns-v2-targets.csv"
    own.write_text("x", encoding="utf-8")
    assert F.find_targets(version) == own
    other = tmp_path / "towns2.toml"
    other.write_text("", encoding="utf-8")
    assert F.find_targets(other) is None
