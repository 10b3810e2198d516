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


def test_readme_opens_with_the_two_commands_ci_runs():
    readme = (ROOT / "README.md").read_text().splitlines()
    blocks = [readme[i + 1] for i, line in enumerate(readme) if line.startswith("```bash")][:2]
    assert "uprising run" in blocks[0] and "pip install" in blocks[0]
    assert "pytest" in blocks[1] and "[test]" in blocks[1]
    assert blocks[1] in (ROOT / ".ci" / "run").read_text()


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
