"""The documentation states what the code does: the parameter table is generated, not typed."""

from pathlib import Path

from uprising.scenario import parameter_table_markdown

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
