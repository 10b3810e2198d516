"""Bad input on the command line (issue 13, item 6; item 10's scale bound): each case is one line on stderr,
``uprising: error: FILE: FIELD: ...`` (or the option), exit code 2, no traceback, and it is caught before any
simulation starts: nothing is written where the output would have gone.
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from conftest import ROOT
from country_helpers import TWO_TOWNS, assert_one_line_error, uprising

RUN2 = ROOT / "scenarios" / "epstein-2002" / "run2.toml"
SWEEP = ROOT / "experiments" / "legitimacy-sweep.toml"


def two_towns_with(tmp_path, name: str, old: str, new: str):
    """A copy of the two towns with one line of its file changed."""
    text = TWO_TOWNS.read_text(encoding="utf-8")
    assert old in text
    path = tmp_path / name
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    return path


def assert_nothing_written(folder):
    assert not folder.exists(), sorted(folder.rglob("*"))


# ------------------------------------------------------------------ malformed files


def test_deeply_nested_toml_is_one_line(tmp_path):
    path = tmp_path / "deep.toml"
    path.write_text("name = " + "[" * 50_000 + "]" * 50_000 + "\n", encoding="utf-8")
    proc = uprising("run", str(path), "--out", str(tmp_path / "out"))
    line = assert_one_line_error(proc, str(path), "nested")
    assert len(line) < 300
    assert_nothing_written(tmp_path / "out")


def test_huge_value_is_cut_in_the_error(tmp_path):
    path = tmp_path / "huge.toml"
    path.write_text('legitimacy = "' + "x" * 5_000_000 + '"\n', encoding="utf-8")
    proc = uprising("run", str(path), "--out", str(tmp_path / "out"))
    line = assert_one_line_error(proc, str(path), "legitimacy")
    assert len(line) < 400, len(line)
    assert "5,000,000 characters" in line  # says how much it left out
    assert_nothing_written(tmp_path / "out")


def test_huge_value_of_a_country_field_is_cut(tmp_path):
    path = two_towns_with(tmp_path, "huge.toml", "lat = 43.34", 'lat = "' + "y" * 1_000_000 + '"')
    proc = uprising("run", str(path), "--out", str(tmp_path / "out"))
    line = assert_one_line_error(proc, str(path), "cities[0].lat")
    assert len(line) < 400, len(line)
    assert_nothing_written(tmp_path / "out")


def test_huge_set_value_is_cut(tmp_path):
    proc = uprising("run", str(RUN2), "--set", "legitimacy=" + "z" * 100_000, "--out", str(tmp_path / "out"))
    line = assert_one_line_error(proc, "legitimacy", "--set")
    assert len(line) < 400, len(line)
    assert_nothing_written(tmp_path / "out")


def test_empty_scenario_is_refused(tmp_path):
    path = tmp_path / "empty.toml"
    path.write_text("# nothing here\n\n", encoding="utf-8")
    proc = uprising("run", str(path), "--out", str(tmp_path / "out"))
    assert_one_line_error(proc, str(path), "empty")
    assert_nothing_written(tmp_path / "out")


# ------------------------------------------------------------------ the clock and the scale


@pytest.mark.parametrize("year", [3000, 9999])
def test_a_clock_too_long_for_the_machine_names_clock_end(tmp_path, year):
    path = two_towns_with(tmp_path, f"y{year}.toml", 'end = "2022-01-03T00:00"', f'end = "{year}-01-01T00:00"')
    proc = uprising("run", str(path), "--replicates", "1", "--out", str(tmp_path / "out"))
    line = assert_one_line_error(proc, str(path), "clock.end", "allowed")
    assert "steps" in line
    assert_nothing_written(tmp_path / "out")


def test_memory_estimate_names_the_field_to_change():
    """The estimate against a machine with 1 GiB available: lattices of 300 million agents name the scale,
    a year of steps kept for 10,000 runs names clock.end; the machine's own memory is read from the system."""
    from uprising.cli.common import UsageFailure, available_memory, check_memory
    from country_helpers import two_towns

    assert available_memory() > 0
    big = two_towns().replace({"cities.*.population": 100_000_000, "scale": 1.0})
    with pytest.raises(UsageFailure, match=r"^x.toml: scale: the runs need about .* GiB .*1.0 GiB available; allowed"):
        check_memory(big.memory_estimate(1, 1), "x.toml", available=1024 ** 3)
    long = two_towns().replace({"clock.end": "2023-01-01T00:00"})
    with pytest.raises(UsageFailure, match=r"^x.toml: clock.end: .*10000 x 3 cities x 8,761 steps"):
        check_memory(long.memory_estimate(10_000, 2), "x.toml", available=1024 ** 3)
    check_memory(two_towns().memory_estimate(20, 2), "x.toml", available=1024 ** 3)  # the usual run fits


def test_memory_estimate_is_checked_before_a_country_run(tmp_path):
    # 20,000 runs of a year of 1-hour steps: about 200 GiB of tables, more than any machine this runs on
    path = two_towns_with(tmp_path, "year.toml", 'end = "2022-01-03T00:00"', 'end = "2023-01-01T00:00"')
    proc = uprising("run", str(path), "--replicates", "20000", "--out", str(tmp_path / "out"))
    assert_one_line_error(proc, str(path), "clock.end", "memory", "allowed")
    assert_nothing_written(tmp_path / "out")


def test_tiny_tick_is_blamed_on_tick_hours(tmp_path):
    path = two_towns_with(tmp_path, "tick.toml", "tick_hours = 1", "tick_hours = 0.00001")
    proc = uprising("run", str(path), "--out", str(tmp_path / "out"))
    line = assert_one_line_error(proc, str(path), "clock.tick_hours", "allowed")
    assert "max_jail_term" not in line
    assert_nothing_written(tmp_path / "out")


def test_a_scale_that_leaves_a_city_without_agents_is_refused(tmp_path):
    proc = uprising("run", str(TWO_TOWNS), "--set", "scale=1e-300", "--out", str(tmp_path / "out"))
    line = assert_one_line_error(proc, str(TWO_TOWNS), "scale", "smallest allowed")
    # the smallest town has 60,000 residents: 1 agent needs a scale of at least 1/60,000
    assert f"{1 / 60000:.3g}" in line, line
    assert_nothing_written(tmp_path / "out")


# ------------------------------------------------------------------ outputs that cannot be written
# The tests run as root, to whom a chmod'ed read-only folder is still writable; a path below a regular file
# cannot be created by anyone, so it stands for every unwritable output here.


@pytest.fixture
def a_file(tmp_path):
    path = tmp_path / "a-file"
    path.write_text("not a folder\n", encoding="utf-8")
    return path


def _unchanged(a_file):
    assert a_file.read_text(encoding="utf-8") == "not a folder\n"
    assert not list(a_file.parent.rglob("*.parquet"))


def test_run_out_is_an_existing_file(a_file):
    proc = uprising("run", str(RUN2), "--steps", "50", "--out", str(a_file))
    assert_one_line_error(proc, "--out", str(a_file))
    _unchanged(a_file)


def test_run_out_below_a_file(a_file):
    proc = uprising("run", str(RUN2), "--steps", "50", "--out", str(a_file / "results"))
    assert_one_line_error(proc, "--out", str(a_file))
    _unchanged(a_file)


def test_country_run_out_below_a_file(a_file):
    proc = uprising("run", str(TWO_TOWNS), "--replicates", "1", "--out", str(a_file / "results"))
    assert_one_line_error(proc, "--out", str(a_file))
    _unchanged(a_file)


def test_compare_out_below_a_file(a_file):
    proc = uprising("compare", str(TWO_TOWNS), "--replicates", "2", "--out", str(a_file / "results"))
    assert_one_line_error(proc, "--out", str(a_file))
    _unchanged(a_file)


def test_fit_out_below_a_file(a_file, tmp_path):
    targets = tmp_path / "targets.csv"
    targets.write_text("quantity,value_low,value_high,date,source\ndeaths_total_official,5,10,2022-01-03,test\n",
                       encoding="utf-8")
    proc = uprising("fit", str(TWO_TOWNS), "--targets", str(targets), "--replicates", "1",
                    "--out", str(a_file / "results"))
    assert_one_line_error(proc, "--out", str(a_file))
    _unchanged(a_file)


def test_experiment_store_below_a_file(a_file):
    proc = uprising("experiment", str(SWEEP), "--workers", "1", "--store", str(a_file / "store"))
    assert_one_line_error(proc, "--store", str(a_file))
    _unchanged(a_file)


def test_unwritable_folder_is_refused(tmp_path, monkeypatch):
    """A folder without write permission (as any user but root sees a chmod 555 folder): checked with
    os.access, so this stands in for it by making os.access say no."""
    from uprising.cli.common import UsageFailure, writable_folder

    monkeypatch.setattr(os, "access", lambda path, mode, **kw: False)
    with pytest.raises(UsageFailure, match="--out: .*cannot write"):
        writable_folder(tmp_path / "out", "--out")
    assert not (tmp_path / "out").exists()


# ------------------------------------------------------------------ optional dependencies


def test_fit_search_without_scipy_names_the_extra(tmp_path):
    targets = tmp_path / "targets.csv"
    targets.write_text("quantity,value_low,value_high,date,source\ndeaths_total_official,5,10,2022-01-03,test\n",
                       encoding="utf-8")
    blocked = "import sys; sys.modules['scipy'] = None; from uprising.cli import main; main()"
    proc = subprocess.run([sys.executable, "-c", blocked, "fit", str(TWO_TOWNS), "--targets", str(targets),
                           "--replicates", "1", "--refine", "1", "--vary", "price.elasticity=0.1:0.5",
                           "--out", str(tmp_path / "out")], capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert_one_line_error(proc, "--refine", "scipy", "pip install 'uprising[experiments]'")
    assert_nothing_written(tmp_path / "out")


def test_a_model_one_lattice_too_big_for_the_machine_names_width(tmp_path):
    # 100,000 x 100,000 cells is within the fields' bounds; at 16 bytes a cell it needs about 150 GiB
    proc = uprising("run", str(RUN2), "--set", "width=100000", "--set", "height=100000", "--steps", "10",
                    "--out", str(tmp_path / "out"))
    assert_one_line_error(proc, str(RUN2), "width", "memory", "allowed")
    assert_nothing_written(tmp_path / "out")


def test_report_out_below_a_file(a_file):
    proc = uprising("report", str(TWO_TOWNS), "--replicates", "1", "--out", str(a_file / "reports" / "r.html"))
    assert_one_line_error(proc, "--out", str(a_file))
    _unchanged(a_file)
