"""The report package (uprising.report): the comments of a scenario file as sources, the ODD text as package
data (and from an installed wheel), tables derived from the schema (a new Model I switch needs no report
code), variants read from the changes the suite recorded, and a page built from results handed to it.

The command as a user runs it (``uprising report``) is tested in tests/test_plot_commands.py."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from pydantic import Field

from conftest import ROOT, SCENARIOS
from uprising.report import (CheckoutRecord, OddTextMissing, load_odd_text, odd, plan_report, read_checkout_record,
                             read_notes, render_report)
from uprising.report.html import Markdown
from uprising.report.model_one import variant_scenario
from uprising.report.odd import COUNTRY_TEXT, MODEL_ONE_TEXT
from uprising.report.parameters import NOT_RULES, rule_names, rule_rows, switch_rows
from uprising.scenario import Scenario

RUN2 = SCENARIOS / "epstein-2002" / "run2.toml"


# ------------------------------------------------------------------ the file's comments
def test_the_comments_of_a_toml_file_are_found_by_their_key(tmp_path):
    path = tmp_path / "s.toml"
    path.write_text(textwrap.dedent('''\
        # A scenario
        # ----------
        name = "x"  # the name
        sizes = [1,   # first
                 2]   # second
        text = """a # not a comment
        b"""

        # the rules
        [rules]  # Model I
        legitimacy = 0.8  # source: the paper

        [[cities]]
        population = 10  # census
        [[cities]]
        population = 20
        '''), encoding="utf-8")
    notes = read_notes(path)
    assert notes.blocks["(preamble)"] == "A scenario"
    assert notes.values["name"] == "the name"
    assert notes.values["sizes"] == "first second"
    assert "text" not in notes.values  # a '#' inside a string is no comment
    assert notes.blocks["rules"] == "the rules" and notes.tables["rules"] == "Model I"
    assert notes.values["rules.legitimacy"] == "source: the paper"
    assert notes.values["cities[0].population"] == "census" and "cities[1].population" not in notes.values


# ------------------------------------------------------------------ the ODD text
def test_the_odd_text_is_package_data_and_the_same_text_as_the_docs():
    for name in (MODEL_ONE_TEXT, COUNTRY_TEXT):
        text = load_odd_text(name)
        assert sorted(text.elements) == [1, 2, 3, 4, 5, 6, 7], name
        assert text.text == (ROOT / "docs" / name).read_text(encoding="utf-8")  # one copy, kept in docs/
        assert text.section("References")


def test_a_missing_odd_text_is_an_error_not_silence(monkeypatch, tmp_path):
    monkeypatch.setattr(odd, "odd_folder", lambda: tmp_path)
    with pytest.raises(OddTextMissing, match="model.md is not installed"):
        load_odd_text(MODEL_ONE_TEXT)


@pytest.mark.slow
def test_an_installed_wheel_has_the_odd_text(tmp_path):
    """Build a wheel from the checkout, install it alone into a folder and load the ODD text from there, in
    a fresh process started outside the checkout."""
    wheels, target, elsewhere = tmp_path / "wheels", tmp_path / "site", tmp_path / "elsewhere"
    elsewhere.mkdir()
    try:  # without build isolation when this environment can build wheels itself (setuptools + wheel)
        import wheel  # noqa: F401

        isolation = ["--no-build-isolation"]
    except ImportError:
        isolation = []
    build = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", *isolation, "-w", str(wheels), str(ROOT)],
                           capture_output=True, text=True, timeout=600)
    assert build.returncode == 0, build.stdout[-2000:] + build.stderr[-2000:]
    (wheel_file,) = wheels.glob("uprising-*.whl")
    install = subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "--no-index", "--target", str(target),
                              str(wheel_file)], capture_output=True, text=True, timeout=600)
    assert install.returncode == 0, install.stdout[-2000:] + install.stderr[-2000:]
    assert not (target / "uprising" / "report" / "odd" / "model.md").is_symlink()  # a copy of the text, not a link
    probe = textwrap.dedent('''\
        import uprising.report as R
        print(R.__file__)
        for name in ("model.md", "country-model.md"):
            text = R.load_odd_text(name)
            print(name, sorted(text.elements), len(text.text))
        ''')
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env["PYTHONPATH"] = str(target)
    run = subprocess.run([sys.executable, "-c", probe], cwd=elsewhere, env=env, capture_output=True, text=True,
                         timeout=300)
    assert run.returncode == 0, run.stderr[-2000:]
    lines = run.stdout.splitlines()
    assert Path(lines[0]).resolve().is_relative_to(target.resolve())  # the installed copy, not the checkout
    for name, line in zip(("model.md", "country-model.md"), lines[1:]):
        size = len((ROOT / "docs" / name).read_text(encoding="utf-8"))
        assert line == f"{name} [1, 2, 3, 4, 5, 6, 7] {size}", line


# ------------------------------------------------------------------ tables from the schema
class WithNewSwitch(Scenario):
    """Model I with one more switch, as a developer would add it to the schema."""

    new_switch: bool = Field(False, description="a switch added for this test",
                             json_schema_extra={"unit": "switch", "reference": "test"})


def test_a_new_model_one_switch_appears_in_the_report_with_no_report_code():
    scenario = WithNewSwitch(name="x", new_switch=True)
    md = Markdown()
    rows, _ = switch_rows(scenario, {"new_switch"}, read_notes(RUN2), "", md, load_odd_text(MODEL_ONE_TEXT))
    assert ["<code>new_switch</code>", "true"] in [[str(r[0]), r[1]] for r in rows]
    assert "new_switch" in rule_names(WithNewSwitch)
    assert ["<code>new_switch</code>", "true", "switch"] in [[str(r[0]), r[1], r[2]]
                                                             for r in rule_rows(scenario, {}, read_notes(RUN2))]


def test_the_rules_of_element_7_are_every_field_but_the_lattice_the_run_and_the_schedules():
    names = rule_names()
    assert set(names) | NOT_RULES | {"legitimacy_schedule", "cop_schedule"} == set(Scenario.model_fields)
    for switch in ("arrest_rule", "vision_shape", "jail_countdown", "jailed_hold_cell", "order", "cop_movement"):
        assert switch in names


# ------------------------------------------------------------------ the suite's variants
def test_a_variant_is_the_paper_scenario_with_the_changes_the_suite_recorded():
    paper = Scenario.load(SCENARIOS / "epstein-2002" / "run2.toml")
    key = "floor-euclidean+jail_term=fixed"
    recorded = {"changes": {key: {"arrest_rule": "floor", "vision_shape": "euclidean", "jail_term": "fixed"}}}
    variant = variant_scenario(key, recorded, paper)
    assert variant.jail_term == "fixed" and variant.arrest_rule == "floor"
    assert variant_scenario(key, {}, paper) is None  # no changes recorded: nothing is read from the key
    assert variant_scenario(key, {"changes": {key: {"arrest_rule": "nonsense"}}}, paper) is None


def test_every_variant_of_the_committed_record_carries_its_changes():
    suite = read_checkout_record(ROOT).suite
    paper = Scenario.load(SCENARIOS / "epstein-2002" / "run2.toml")
    for section in ("run1", "run2", "run34"):
        for key in suite[section]:
            assert variant_scenario(key, suite, paper) is not None, key


# ------------------------------------------------------------------ the page, from results handed to it
def test_the_page_is_built_from_results_handed_to_it_and_draws_nothing(tmp_path):
    """In a fresh process: run the plan's tasks, then forbid any simulation and build the page; neither
    matplotlib nor uprising.viz is imported."""
    probe = textwrap.dedent(f'''\
        import sys
        import uprising.execution as X
        import uprising.simulate as S
        from uprising.report import plan_report, read_checkout_record, render_report
        plan = plan_report({str(RUN2)!r}, {str(tmp_path / "r.html")!r}, replicates=2, steps=30)
        results = X.run_many(plan.tasks())
        def forbidden(*a, **k):
            raise AssertionError("the report ran a simulation")
        X.run_task = X.run_many = S.simulate = forbidden
        page = render_report(plan, results, record=read_checkout_record({str(ROOT)!r}))
        assert "this scenario's rules" in page and "<code>jail_countdown</code>" in page
        drawn = sorted(m for m in sys.modules if m.startswith(("matplotlib", "uprising.viz")))
        print("drawn:", drawn)
        ''')
    run = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert run.returncode == 0, run.stderr[-3000:]
    assert run.stdout.strip() == "drawn: []"


def test_without_a_checkout_record_the_report_says_so(tmp_path):
    from uprising.execution import run_many

    plan = plan_report(RUN2, tmp_path / "r.html", replicates=1, steps=20)
    page = render_report(plan, run_many(plan.tasks()), record=None)
    assert "No validation data here" in page
    assert "General description, from <code>docs/model.md, element 7</code>" in page  # the ODD text is there
    assert read_checkout_record(tmp_path) is None  # a folder without docs/ is no checkout
    assert isinstance(read_checkout_record(ROOT), CheckoutRecord)


def test_uprising_report_without_its_odd_text_stops_in_one_line_before_running(monkeypatch, tmp_path, capsys):
    from uprising.cli import main

    monkeypatch.setattr(odd, "odd_folder", lambda: tmp_path / "nothing")
    out = tmp_path / "out" / "r.html"
    with pytest.raises(SystemExit) as stop:
        main(["report", str(RUN2), "--replicates", "1", "--steps", "10", "--out", str(out)])
    assert stop.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("uprising: error: ") and "model.md is not installed" in err[0]
    assert not out.parent.exists()


def test_a_country_report_runs_at_the_scenarios_own_scale(tmp_path):
    """One default scale everywhere (issue 13, item 8): the report's ensemble runs at the file's scale unless
    --scale says otherwise, and its description and command name that scale."""
    from uprising.country.scenario import CountryScenario

    kazakhstan = ROOT / "scenarios" / "kazakhstan-2022.toml"
    plan = plan_report(kazakhstan, tmp_path / "r.html")
    assert plan.scale == CountryScenario.load(kazakhstan).scale == 0.02
    assert plan.ensemble_scenario.scale == 0.02
    assert "at scale 0.02" in plan.describe_ensemble() and "--scale 0.02" in plan.command()
    assert plan_report(kazakhstan, tmp_path / "r.html", scale=0.002).scale == 0.002


def test_the_report_cites_sources_that_exist_in_an_installed_package():
    """The ODD text shipped as package data cites the project's notes by what exists (no ../shared/ path)."""
    for text in (MODEL_ONE_TEXT, COUNTRY_TEXT):
        body = load_odd_text(text).text if hasattr(load_odd_text(text), "text") else str(load_odd_text(text))
        assert "../shared/" not in body
