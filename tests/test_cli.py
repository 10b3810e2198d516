"""The command line, run as a user runs it: in a fresh process, judged by exit code, files and stderr."""

from __future__ import annotations

import subprocess

import numpy as np
import pyarrow.parquet as pq
import pytest

from conftest import ROOT, SCENARIOS, cli_cmd
from uprising.scenario import Scenario
from uprising.simulate import read_parquet, simulate

RUN2 = SCENARIOS / "epstein-2002" / "run2.toml"
TIDY = ["run_id", "scenario_hash", "seed", "replicate", "step", "city", "legitimacy", "quiet", "active", "jailed",
        "cops", "arrests", "releases", "citizens", "active_fraction", "jailed_fraction"]


def uprising(*args: str, timeout: int = 180) -> subprocess.CompletedProcess:
    return subprocess.run(cli_cmd(*args), capture_output=True, text=True, timeout=timeout, cwd=ROOT)


@pytest.fixture(scope="module")
def short_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("cli")
    proc = uprising("run", str(RUN2), "--steps", "30", "--seed", "3", "--out", str(out))
    return proc, out


def test_run_exits_zero_and_writes_files(short_run):
    proc, out = short_run
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    table = out / "epstein-2002-run2-seed3.parquet"
    png = out / "epstein-2002-run2-seed3.png"
    assert table.is_file() and png.is_file()
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 5_000
    assert str(table) in proc.stdout and "outbursts above 50" in proc.stdout


def test_run_table_is_tidy_and_matches_the_driver(short_run):
    _, out = short_run
    table = pq.read_table(out / "epstein-2002-run2-seed3.parquet")
    assert table.column_names == TIDY
    assert table.column("step").to_pylist() == list(range(31))
    assert set(table.column("seed").to_pylist()) == {3} and set(table.column("city").to_pylist()) == {"lattice"}
    scenario = Scenario.load(RUN2)
    # the table records the run that was made: the scenario with steps = 30
    assert set(table.column("scenario_hash").to_pylist()) == {scenario.replace(steps=30).hash()}
    assert scenario.replace(steps=30).hash() != scenario.hash()
    # the CLI's numbers are the driver's: same scenario and seed in this process, bit for bit
    expected = simulate(scenario, 30, 3)
    got = np.column_stack([table.column(c).to_numpy() for c in ("quiet", "active", "jailed", "cops", "arrests",
                                                                  "releases")])
    assert np.array_equal(got, expected.counts)
    q = table.column("quiet").to_numpy() + table.column("active").to_numpy() + table.column("jailed").to_numpy()
    assert (q == table.column("citizens").to_numpy()).all()
    _, meta_scenario = read_parquet(out / "epstein-2002-run2-seed3.parquet")
    assert meta_scenario == scenario.replace(steps=30)


def test_run_applies_sets_and_no_plot(tmp_path):
    proc = uprising("run", str(RUN2), "--steps", "5", "--out", str(tmp_path), "--no-plot",
                    "--set", "arrest_rule=ratio", "--set", "legitimacy=0.7", "--set", "cop_schedule.start=3",
                    "--set", "name=tweaked")
    assert proc.returncode == 0, proc.stderr
    assert not list(tmp_path.glob("*.png"))
    _, s = read_parquet(tmp_path / "tweaked-seed0.parquet")
    assert (s.arrest_rule, s.legitimacy, s.cop_schedule.start, s.name) == ("ratio", 0.7, 3, "tweaked")


BAD_FILES = {
    "unknown_key.toml": ("width = 40\ncolour = 'red'\n", "colour"),
    "out_of_range.toml": ("legitimacy = 1.5\n", "legitimacy"),
    "densities.toml": ("citizen_density = 0.9\ncop_density = 0.2\n", "citizen_density + cop_density"),
    "malformed.toml": ("width = = 40\n", "(syntax)"),
    "bad_literal.toml": ("arrest_rule = \"nope\"\n", "arrest_rule"),
    "missing.toml": (None, "(file)"),
}


def assert_one_line_error(proc, *needles):
    assert proc.returncode == 2, (proc.returncode, proc.stderr)
    assert "Traceback" not in proc.stderr and "Traceback" not in proc.stdout
    lines = proc.stderr.splitlines()
    assert len(lines) == 1, proc.stderr
    assert proc.stderr.endswith("\n")
    assert lines[0].startswith("uprising: error: ")
    for needle in needles:
        assert needle in lines[0], (needle, lines[0])


@pytest.mark.parametrize("name", list(BAD_FILES))
def test_bad_scenario_file(name, tmp_path):
    text, field = BAD_FILES[name]
    path = tmp_path / name
    if text is not None:
        path.write_text(text, encoding="utf-8")
    proc = uprising("run", str(path), "--steps", "3", "--out", str(tmp_path / "out"))
    assert_one_line_error(proc, str(path), f": {field}: ")
    assert not (tmp_path / "out").exists()  # nothing ran, nothing written


@pytest.mark.parametrize(("setting", "field", "allowed"), [
    ("legitimacy=2", "legitimacy", "[0.0, 1.0]"),
    ("nokey=1", "nokey", "allowed keys"),
    ("arrest_rule=nope", "arrest_rule", "ratio | floor | round_half_even"),
    ("legitimacy", "legitimacy", "key=value"),
    ("width.x=3", "width.x", "not a table"),
])
def test_bad_set(setting, field, allowed, tmp_path):
    proc = uprising("run", str(RUN2), "--steps", "3", "--out", str(tmp_path), "--set", setting)
    assert_one_line_error(proc, str(RUN2), "--set", f": {field}: ", allowed)


def test_bad_steps_option(tmp_path):
    proc = uprising("run", str(RUN2), "--steps", "0", "--out", str(tmp_path))
    assert_one_line_error(proc, "--steps")


def test_bench_runs():
    proc = uprising("bench", "--sizes", "20", "--steps", "3", "--repeats", "1")
    assert proc.returncode == 0, proc.stderr
    assert "20x20" in proc.stdout and "random_sequential" in proc.stdout and "tiled" in proc.stdout


def test_bench_bad_sizes():
    assert_one_line_error(uprising("bench", "--sizes", "4O,100"), "--sizes", "comma-separated integers")


def test_run_writes_snapshots_when_asked(tmp_path):
    proc = uprising("run", str(RUN2), "--steps", "20", "--seed", "1", "--snapshot-every", "5", "--no-plot",
                    "--out", str(tmp_path))
    assert proc.returncode == 0, proc.stderr
    snaps = np.load(tmp_path / "epstein-2002-run2-seed1-snapshots.npz")
    assert snaps["steps"].tolist() == [0, 5, 10, 15, 20]
    assert snaps["kinds"].shape == (5, 40, 40)
    # the last snapshot is the lattice of the driver's own run with the same seed
    table = pq.read_table(tmp_path / "epstein-2002-run2-seed1.parquet")
    last = snaps["kinds"][-1]
    assert (last == 2).sum() == table.column("active").to_pylist()[-1]
    assert (last == 4).sum() == table.column("cops").to_pylist()[-1]


def test_set_values_are_read_as_toml_and_bare_words_stay_text():
    from uprising.scenario import ScenarioError, parse_sets, parse_value

    assert parse_value("0.7") == 0.7 and parse_value("true") is True and parse_value("inf") == float("inf")
    assert parse_value("floor") == "floor" and parse_value('"floor"') == "floor" and parse_value("[1, 2]") == [1, 2]
    assert parse_sets(("legitimacy=0.7", " arrest_rule = floor"), "x.toml") == {"legitimacy": 0.7,
                                                                               "arrest_rule": "floor"}
    with pytest.raises(ScenarioError, match=r"^x\.toml --set: nokey: expected key=value, e\.g\. --set scale=0\.1$"):
        parse_sets(("nokey",), "x.toml", example="scale=0.1")
    with pytest.raises(ScenarioError, match=r"x\.toml --set: =1: expected key=value"):
        parse_sets(("=1",), "x.toml")


def test_allowed_values_states_choices_bounds_booleans_and_what_may_be_left_out():
    from uprising.scenario import Schedule, allowed_values

    fields = Scenario.model_fields
    assert allowed_values(fields["arrest_rule"]) == "ratio | floor | round_half_even"
    assert allowed_values(fields["legitimacy"]) == "[0.0, 1.0]"
    assert allowed_values(fields["cop_movement"]) == "true | false, or left out"
    assert allowed_values(Schedule.model_fields["value"]) == "[0.0, 1.0], or left out"
    assert allowed_values(fields["name"]) == "" and allowed_values(None) == ""


# ------------------------------------------------------------------ compiling kernels (issue 13, item 10)


def test_a_cold_kernel_cache_is_detected(tmp_path):
    """With an empty numba cache (NUMBA_CACHE_DIR) the kernels must compile: kernels_cold() says so, so the
    CLI can print "compiling kernels (first run only)"; once a run has compiled or loaded them, it does not."""
    import os
    import sys

    probe = "from uprising.cli.common import kernels_cold; print(kernels_cold())"
    cold = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120,
                          env={**os.environ, "NUMBA_CACHE_DIR": str(tmp_path / "empty-cache")})
    assert cold.returncode == 0, cold.stderr
    assert cold.stdout.strip() == "True"
    from uprising.cli.common import kernels_cold

    simulate(Scenario(steps=2), 2, seed=0)  # loads (or compiles) the kernels in this process
    assert kernels_cold() is False


def test_a_warm_run_says_nothing_of_compiling(tmp_path):
    simulate(Scenario(steps=2), 2, seed=0)  # the cache on disk is warm
    proc = uprising("run", str(ROOT / "scenarios" / "epstein-2002" / "run2.toml"), "--steps", "5", "--no-plot",
                    "--out", str(tmp_path))
    assert proc.returncode == 0, proc.stderr
    assert "compiling" not in proc.stderr
