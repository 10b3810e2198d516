"""uprising plot, animate and report as a user runs them: files in every format, labels with units, frame
counts, one self-contained HTML report, and one-line errors (exit 2) that write nothing."""

from __future__ import annotations

import base64
import re
import xml.etree.ElementTree as ET

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from conftest import ROOT, SCENARIOS
from country_helpers import TWO_TOWNS, assert_one_line_error, uprising
from uprising.cli import main

PNG = b"\x89PNG\r\n\x1a\n"
RUN2 = SCENARIOS / "epstein-2002" / "run2.toml"
KAZAKHSTAN = SCENARIOS / "kazakhstan-2022.toml"
ODD = ("1. Purpose and patterns", "2. Entities, state variables and scales", "3. Process overview and scheduling",
       "4. Design concepts", "5. Initialisation", "6. Input data", "7. Submodels")


def cli(capsys, *args: str) -> tuple[int, str, str]:
    """``uprising ARGS`` in this process: (exit code, stdout, stderr)."""
    capsys.readouterr()
    try:
        main([str(a) for a in args])
        code = 0
    except SystemExit as exc:
        code = int(exc.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


def svg_text(path) -> str:
    """All text of an SVG file (it must parse as XML)."""
    root = ET.parse(path).getroot()
    assert root.tag.endswith("svg")
    return " ".join(t.strip() for t in root.itertext() if t.strip())


def check_file(path) -> None:
    data = path.read_bytes()
    if path.suffix == ".png":
        assert data[:8] == PNG and len(data) > 10_000, path
    elif path.suffix == ".pdf":
        assert data[:5] == b"%PDF-" and b"%%EOF" in data[-1024:], path
    elif path.suffix == ".svg":
        svg_text(path)
    else:
        raise AssertionError(path)


# ------------------------------------------------------------------ fixtures: a Model I run and a country run
@pytest.fixture(scope="module")
def model_one(tmp_path_factory):
    out = tmp_path_factory.mktemp("m1")
    main(["run", str(RUN2), "--steps", "60", "--snapshot-every", "10", "--no-plot", "--out", str(out)])
    return out / "epstein-2002-run2-seed0.parquet", out / "epstein-2002-run2-seed0-snapshots.npz"


@pytest.fixture(scope="module")
def country(tmp_path_factory):
    out = tmp_path_factory.mktemp("country")
    main(["run", str(TWO_TOWNS), "--replicates", "2", "--workers", "2", "--snapshot-every", "12", "--no-plot",
          "--out", str(out)])
    return out / "two-towns-seed0.parquet", out / "two-towns-seed0-snapshots.npz"


# ------------------------------------------------------------------ plot
def test_plot_of_a_model_one_run_writes_each_figure_in_png_svg_and_pdf(model_one, tmp_path, capsys):
    table, _ = model_one
    code, out, err = cli(capsys, "plot", table, "--out", tmp_path)
    assert code == 0, err
    written = sorted(tmp_path.iterdir())
    assert {p.suffix for p in written} == {".png", ".svg", ".pdf"}
    assert {p.name for p in written} == {f"epstein-2002-run2-seed0-{f}.{x}" for f in ("timeline", "arrests")
                                         for x in ("png", "svg", "pdf")}
    for p in written:
        check_file(p)
        assert str(p) in out  # the command prints the files it wrote
    text = svg_text(tmp_path / "epstein-2002-run2-seed0-timeline.svg")
    assert "citizens (agents)" in text and "step" in text and "1 run" in text
    arrests = svg_text(tmp_path / "epstein-2002-run2-seed0-arrests.svg")
    assert "citizens per step (agents)" in arrests and "legitimacy L (0-1, dimensionless)" in arrests


def test_plot_of_a_country_ensemble_labels_its_axes_with_units(country, tmp_path, capsys):
    table, _ = country
    code, out, err = cli(capsys, "plot", table, "--out", tmp_path, "--format", "svg,pdf")
    assert code == 0, err
    names = {p.name for p in tmp_path.iterdir()}
    # no targets file beside the two towns: no record figure, and the command says so
    assert names == {f"two-towns-seed0-{f}.{x}" for f in ("cities", "national", "map") for x in ("svg", "pdf")}
    assert "record" in err
    for p in tmp_path.iterdir():
        check_file(p)
    cities = svg_text(tmp_path / "two-towns-seed0-cities.svg")
    assert "per 1,000 residents" in cities and "2 runs, median and 5-95% band" in cities
    assert "date (2022, UTC+05:00)" in cities and "Oilton (150,000 residents)" in cities
    national = svg_text(tmp_path / "two-towns-seed0-national.svg")
    for label in ("people at once", "people (cumulative)", "Quiet citizens", "active (peaceful)", "violent", "jailed",
                  "killed (all)", "injured (protesters and security)", "date (2022, local time UTC+05:00)"):
        assert label in national, label
    themap = svg_text(tmp_path / "two-towns-seed0-map.svg")
    assert "longitude (degrees east)" in themap and "latitude (degrees north)" in themap
    assert "per 1,000 residents" in themap


def test_plot_draws_the_record_from_a_targets_file(country, tmp_path, capsys):
    table, _ = country
    targets = tmp_path / "targets.csv"
    targets.write_text("quantity,value_low,value_high,date,source\n"
                       "detained_cumulative,100,200,2022-01-02,a test figure\n"
                       "deaths_total_official,5,10,2022-01-03,a test figure\n", encoding="utf-8")
    out_dir = tmp_path / "figs"
    code, out, err = cli(capsys, "plot", table, "--out", out_dir, "--format", "svg", "--targets", targets)
    assert code == 0, err
    record = svg_text(out_dir / "two-towns-seed0-record.svg")
    assert "model against the record" in record and "official figure (range)" in record
    assert "people (cumulative)" in record


def test_the_figure_functions_write_the_format_their_path_names(country, tmp_path):
    import datetime as dt

    from uprising.country.simulate import read_country_results
    from uprising.viz import country_plots as P

    results = read_country_results(country[0])
    check_file(P.plot_cities(results, tmp_path / "c.pdf"))
    check_file(P.plot_record(results, None, tmp_path / "r.png"))
    check_file(P.plot_national(results, tmp_path / "n.pdf"))
    day = P.plot_map(results, tmp_path / "m.svg", day=dt.date(2022, 1, 2))
    assert "on 02 Jan 2022" in svg_text(day)
    # a comparison whose paired rows are not there yet still draws its timelines
    check_file(P.plot_compare(results, {"again": results}, [], tmp_path / "x.png"))


def test_the_map_outline_is_kazakhstan():
    from uprising.viz.country_plots import outline

    rings = outline()
    points = np.concatenate(rings)
    assert len(points) > 100
    assert 46 < points[:, 0].min() < 47.5 and 87 < points[:, 0].max() < 88  # longitude, degrees east
    assert 40 < points[:, 1].min() < 41 and 55 < points[:, 1].max() < 56  # latitude, degrees north


# ------------------------------------------------------------------ animate
def test_animate_writes_a_gif_with_one_frame_per_snapshot(model_one, tmp_path, capsys):
    from PIL import Image

    table, npz = model_one
    steps = np.load(npz)["steps"]
    assert len(steps) == 7  # steps 0, 10, ..., 60
    gif = tmp_path / "run2.gif"
    code, out, err = cli(capsys, "animate", table, "--out", gif, "--fps", "5")  # the Parquet: its snapshots beside it
    assert code == 0, err
    assert gif.read_bytes()[:6] in (b"GIF87a", b"GIF89a")
    with Image.open(gif) as im:
        assert im.n_frames == len(steps)
        assert im.info.get("duration") == 200  # 5 frames per second
    assert f"({len(steps)} frames)" in out


def test_animate_writes_an_mp4_of_a_chosen_city_with_clock_times(country, tmp_path, capsys):
    import imageio_ffmpeg

    from uprising.viz.animate import load_frames

    _, npz = country
    steps = np.load(npz)["Oilton/steps"]
    mp4 = tmp_path / "oilton.mp4"
    code, out, err = cli(capsys, "animate", npz, "--city", "Oilton", "--format", "mp4", "--out", mp4)
    assert code == 0, err
    data = mp4.read_bytes()
    assert data[4:8] == b"ftyp" and len(data) > 2_000
    frames, _ = imageio_ffmpeg.count_frames_and_secs(str(mp4))
    assert frames == len(steps) == 5
    # the frame titles carry the scenario's clock (read from the result table beside the snapshots)
    labels = load_frames(npz, "Oilton").labels
    assert labels[0] == "01 Jan 2022, 00:00 (step 0)" and labels[1] == "01 Jan 2022, 12:00 (step 12)"


# ------------------------------------------------------------------ report
EXTERNAL = re.compile(r"""(?:src|href)\s*=\s*["']?\s*(?:https?:)?//""", re.I)


def check_report(path) -> str:
    text = path.read_text(encoding="utf-8")
    assert text.startswith("<!DOCTYPE html>") and text.rstrip().endswith("</html>")
    for title in ODD:
        assert f">{title}</h2>" in text, title
    assert 'id="parameters"' in text and 'id="validation"' in text
    # self-contained: CSS inline, figures embedded, nothing fetched from elsewhere
    assert not EXTERNAL.search(text), EXTERNAL.search(text).group(0)
    assert "<link" not in text and "<script" not in text and "@import" not in text
    images = re.findall(r'src="data:image/png;base64,([A-Za-z0-9+/=]+)"', text)
    assert len(images) >= 2
    assert base64.b64decode(images[0])[:8] == PNG
    assert len(list(path.parent.iterdir())) == 1  # one file, nothing beside it
    return text


def test_report_of_the_kazakhstan_scenario(tmp_path, capsys):
    out = tmp_path / "kz.html"
    code, stdout, err = cli(capsys, "report", KAZAKHSTAN, "--scale", "0.002", "--replicates", "2", "--workers", "2",
                            "--out", out)
    assert code == 0, err
    assert str(out) in stdout and "runs" in err  # progress on stderr
    text = check_report(out)
    # scenario-specific ODD parts: cities, clock, mechanisms, events with dates, the activation switch
    for needle in ("Zhanaozen", "Oskemen", "2022-01-01 00:00", "UTC+06:00", "csto-almaty", "2022-01-07 10:00",
                   "shoot_order", "lethal_force", "<b>tiled</b>", "rules.activation"):
        assert needle in text, needle
    # the parameter table with sources taken from the scenario file's comments
    assert 'class="params"' in text
    assert "source: timeline.csv 2022-01-01, Mangystau: 60 tenge/l before, 120 after" in text  # price.before
    assert "fit (uprising fit): legitimacy lost per active per 1,000 residents, nationally" in text
    # embedded figures: cities, nation, record, map, a lattice
    assert len(re.findall(r'src="data:image/png;base64,', text)) >= 5
    # the validation status: the score per target of this ensemble, and the committed fit
    assert 'class="scores"' in text and "targets hit" in text
    assert "day_protests_start (Zhanaozen)" in text and "docs/kazakhstan.md" in text
    assert re.search(r'<tr class="(hit|miss)">', text)


def test_report_of_a_model_one_scenario(tmp_path, capsys):
    out = tmp_path / "run2.html"
    code, _, err = cli(capsys, "report", RUN2, "--replicates", "2", "--steps", "100", "--out", out)
    assert code == 0, err
    text = check_report(out)
    assert "<b>random_sequential</b>" in text  # the activation switch
    for switch in ("arrest_rule", "vision_shape", "jail_countdown", "jailed_hold_cell", "order"):
        assert f"<code>{switch}</code>" in text, switch
    assert "Table 2, Run 2" in text  # a source from the file's comments
    # the verdicts of docs/data/validation.json for Run 2 under this scenario's rules (floor, euclidean)
    assert "this scenario&#x27;s rules" in text or "this scenario's rules" in text
    assert re.search(r'<tr class="this"><td>floor, euclidean</td>', text)


def test_report_of_an_experiment_has_its_base_and_its_design(tmp_path, capsys):
    out = tmp_path / "sweep.html"
    code, _, err = cli(capsys, "report", ROOT / "experiments" / "legitimacy-sweep.toml", "--replicates", "1",
                       "--steps", "40", "--out", out)
    assert code == 0, err
    text = check_report(out)
    assert 'id="experiment"' in text and "design points" in text
    assert "0.7, 0.76, 0.82, 0.88, 0.94" in text and "factorial" in text
    assert "epstein-2002-run2" in text  # the base scenario's ODD


# ------------------------------------------------------------------ bad input: one line, exit 2, nothing written
def _not_a_result(tmp_path):
    path = tmp_path / "plain.parquet"
    pq.write_table(pa.table({"a": [1, 2]}), path)
    return path


def _garbage(tmp_path):
    path = tmp_path / "garbage.parquet"
    path.write_bytes(b"not parquet at all")
    return path


@pytest.mark.parametrize("case", [
    ("plot", "missing", (), ("missing.parquet", "(file)", "no such file")),
    ("plot", "not-result", (), ("plain.parquet", "(metadata)", "not a result table")),
    ("plot", "garbage", (), ("garbage.parquet", "not a Parquet file")),
    ("plot", "m1", ("--format", "png,jpg"), ("--format", "'jpg'", "png, svg, pdf")),
    ("animate", "country", (), ("--city", "Oilton, Portville, Hilltop")),
    ("animate", "country", ("--city", "Atlantis"), ("--city", "'Atlantis'", "Oilton, Portville, Hilltop")),
    ("animate", "m1", ("--fps", "0"), ("--fps", "[0.1, 60]")),
    ("animate", "m1", ("--fps", "fast"), ("--fps", "'fast'", "[0.1, 60]")),
    ("animate", "m1", ("--format", "avi"), ("--format", "'avi'", "gif | mp4")),
    ("animate", "m1", ("--out", "x.gif", "--format", "mp4"), ("--out", "x.gif")),
    ("animate", "m1-no-snapshots", (), ("(snapshots)", "--snapshot-every")),
    ("report", "missing", (), ("missing.parquet", "no such file")),
    ("report", "run2", ("--scale", "0.1"), ("--scale", "only for country scenarios")),
], ids=lambda c: f"{c[0]}-{c[1]}-{'-'.join(c[2])}")
def test_bad_input_is_one_line_with_exit_code_2_and_writes_nothing(case, model_one, country, tmp_path, capsys):
    command, which, extra, needles = case
    inputs = tmp_path / "in"
    inputs.mkdir()
    target = {"missing": inputs / "missing.parquet", "not-result": _not_a_result(inputs), "garbage": _garbage(inputs),
              "m1": model_one[0], "country": country[1], "run2": RUN2}.get(which)
    if which == "m1-no-snapshots":
        target = inputs / "alone.parquet"
        target.write_bytes(model_one[0].read_bytes())
    out = tmp_path / "out"
    out_args = ("--out", out / ("r.html" if command == "report" else "a.gif" if command == "animate" else ""))
    if "--out" in extra:
        out_args = ()
        extra = tuple(str(out / e) if e.endswith(".gif") else e for e in extra)
    before = sorted(p.name for p in model_one[0].parent.iterdir()) + sorted(p.name for p in country[0].parent.iterdir())
    code, stdout, err = cli(capsys, command, target, *extra, *out_args)
    assert code == 2, (code, err)
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("uprising: error: "), err
    assert "Traceback" not in err + stdout
    for needle in needles:
        assert needle in lines[0], (needle, lines[0])
    assert not out.exists()  # nothing written
    after = sorted(p.name for p in model_one[0].parent.iterdir()) + sorted(p.name for p in country[0].parent.iterdir())
    assert after == before


def test_an_error_in_a_fresh_process_is_one_line_and_exit_code_2(model_one):
    proc = uprising("animate", str(model_one[1]), "--fps", "0")
    assert_one_line_error(proc, str(model_one[1].name), "--fps")
