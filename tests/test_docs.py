"""The documentation states what the code does.

The parameter table is generated, not typed, and every scenario switch is documented where it acts
(ODD element 3) and in the rule each value implements (element 7).
"""

import re
from pathlib import Path
from typing import Literal, get_args, get_origin

from uprising.scenario import Scenario, Schedule, parameter_table_markdown

ROOT = Path(__file__).resolve().parents[1]


def test_model_doc_carries_the_current_parameter_table():
    # regenerate with: python -c "from uprising.scenario import parameter_table_markdown as p; print(p())"
    assert parameter_table_markdown() in (ROOT / "docs" / "model.md").read_text()


def _sections(text):
    """The numbered ``## N. Title`` sections of a Markdown page: {N: body up to the next ``## `` heading}."""
    sections, number = {}, None
    for line in text.splitlines():
        if line.startswith("## "):
            match = re.match(r"## (\d+)\. ", line)
            number = int(match.group(1)) if match else None
            if number is not None:
                sections[number] = []
        elif number is not None:
            sections[number].append(line)
    return {n: "\n".join(lines) for n, lines in sections.items()}


def _in_backticks(word, text):
    """``word`` is a code span of ``text``, alone or as a side of ``name = value``."""
    for span in re.findall(r"`([^`\n]+)`", text):
        sides = [side.strip() for side in span.split("=")] if span.count("=") == 1 else [span.strip()]
        if word in sides:
            return True
    return False


def _literal_values(annotation):
    if get_origin(annotation) is Literal:
        return list(get_args(annotation))
    return [v for arg in get_args(annotation) for v in _literal_values(arg)]


def _switches(model):
    """Fields of ``model`` whose metadata unit is "switch" or "choice"."""
    return {name: info for name, info in model.model_fields.items()
            if (info.json_schema_extra or {}).get("unit") in ("switch", "choice")}


def test_model_doc_documents_every_switch_in_scheduling_and_submodels():
    sections = _sections((ROOT / "docs" / "model.md").read_text())
    assert sorted(sections) == list(range(1, 8)), "docs/model.md must have the ODD's seven numbered sections"
    scheduling, submodels = sections[3], sections[7]
    switches = _switches(Scenario)
    assert {"movement", "cop_movement", "arrest_rule", "activation"} <= set(switches)  # the metadata is read
    missing = [f"{name} (§{n})" for name in switches for n, body in ((3, scheduling), (7, submodels))
               if not _in_backticks(name, body)]
    missing += [f"{name} = {value} (§7)" for name, info in switches.items()
                for value in _literal_values(info.annotation) if not _in_backticks(value, submodels)]
    # the schedules' own choice (kind = constant | step | linear) is a submodel too
    missing += [f"{name} = {value} (§7)" for name, info in _switches(Schedule).items()
                for value in _literal_values(info.annotation) if not _in_backticks(value, submodels)]
    assert not missing, "docs/model.md does not document: " + ", ".join(missing)


# ---------------------------------------------------------------------- the country model (docs/country-model.md)
COUNTRY_DOC = ROOT / "docs" / "country-model.md"


def _odd_titles(text):
    """{N: title} of the numbered ``## N. Title`` headings of a Markdown page."""
    return {int(m.group(1)): m.group(2).strip() for m in re.finditer(r"^## (\d+)\. (.+)$", text, re.MULTILINE)}


def _subsection_headings(body):
    return [line for line in body.splitlines() if line.startswith("### ")]


def _module_of(mechanism):
    """The module of ``uprising.mechanisms`` that holds a mechanism of the registry (its last dotted part)."""
    return type(mechanism).__module__.rsplit(".", 1)[1]


def test_country_doc_has_the_seven_odd_sections_of_the_model_doc():
    text = COUNTRY_DOC.read_text()
    assert sorted(_sections(text)) == list(range(1, 8)), \
        "docs/country-model.md must have the ODD's seven numbered sections"
    assert _odd_titles(text) == _odd_titles((ROOT / "docs" / "model.md").read_text())


def test_model_doc_points_to_the_country_model():
    assert "country-model.md" in (ROOT / "docs" / "model.md").read_text()


def test_country_doc_carries_the_current_mechanism_parameter_table():
    # regenerate with:
    # python -c "from uprising.country.params_doc import mechanism_parameter_table_markdown as p; print(p())"
    from uprising.country.params_doc import mechanism_parameter_table_markdown

    table = mechanism_parameter_table_markdown()
    assert "`legitimacy.scope`" in table and "| `shoot_order` |" in table  # mechanisms and events are both listed
    doc = COUNTRY_DOC.read_text()
    assert table in doc
    # once: a regeneration that pasted the new tables after the old ones left five copies in the doc (fixed)
    assert doc.count("Fields of every event:") == 1 and doc.count("| parameter | unit | default |") == 1


def test_country_doc_has_a_submodel_for_every_mechanism_module_and_event_kind():
    from uprising.country.scenario import event_mechanism
    from uprising.mechanisms import MECHANISMS

    sections = _sections(COUNTRY_DOC.read_text())
    submodels = sections[7]
    modules = [_module_of(m) for m in MECHANISMS]
    governing = event_mechanism(MECHANISMS)  # kind -> mechanism, named after its module
    headings = "\n".join(_subsection_headings(submodels))
    missing = [f"a ### subsection naming `uprising.mechanisms.{m}` (§7)" for m in modules
               if not _in_backticks(f"uprising.mechanisms.{m}", headings)]
    # each event kind is named in §3's timeline and in the submodel of the mechanism that governs it
    by_module = {}
    current = None
    for line in submodels.splitlines():
        if line.startswith("### "):
            current = next((m for m in modules if _in_backticks(f"uprising.mechanisms.{m}", line)), None)
        elif current is not None:
            by_module.setdefault(current, []).append(line)
    for kind, module in governing.items():
        if not _in_backticks(kind, sections[3]):
            missing.append(f"event kind {kind} (§3)")
        if not _in_backticks(kind, "\n".join(by_module.get(module, []))):
            missing.append(f"event kind {kind} (§7, under uprising.mechanisms.{module})")
    assert not missing, "docs/country-model.md does not document: " + ", ".join(missing)


def test_country_doc_documents_every_mechanism_switch_in_scheduling_and_submodels():
    from uprising.mechanisms import MECHANISMS

    sections = _sections(COUNTRY_DOC.read_text())
    switches = {f"{m.name}.{name}": info for m in MECHANISMS for name, info in _switches(m.parameters).items()}
    assert {"price.enabled", "price.relief", "legitimacy.feedback", "legitimacy.scope"} <= set(switches)
    missing = [f"{name} (§{n})" for name in switches for n in (3, 7) if not _in_backticks(name, sections[n])]
    missing += [f"{name} = {value} (§{n})" for name, info in switches.items()
                for value in _literal_values(info.annotation) for n in (3, 7)
                if not _in_backticks(value, sections[n])]
    assert not missing, "docs/country-model.md does not document: " + ", ".join(missing)


def test_the_posterior_doc_carries_the_priors_of_the_experiment_file():
    from uprising.experiment import Experiment
    from uprising.experiment.posterior import prior_table_markdown

    doc = (ROOT / "docs" / "posterior.md").read_text(encoding="utf-8")
    table = prior_table_markdown(Experiment.load(ROOT / "experiments" / "kazakhstan-v2-posterior.toml"))
    start, end = doc.index("<!-- priors:start -->"), doc.index("<!-- priors:end -->")
    assert doc[start:end].strip().removeprefix("<!-- priors:start -->").strip() == table, \
        "regenerate docs/posterior.md's priors with uprising.experiment.posterior.prior_table_markdown"
