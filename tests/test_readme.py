"""The README's "Using it" example runs as written (the country part at the scale it names)."""

from __future__ import annotations

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_the_using_it_example_runs(tmp_path, monkeypatch):
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split("## Using it", 1)[1]
    code = section.split("```python", 1)[1].split("```", 1)[0]
    assert "simulate_country" in code and "simulate(" in code, "the first screen shows both kinds of scenario"
    code = code.replace('"scenarios/', f'"{ROOT}/scenarios/').replace("steps=1000", "steps=50")
    monkeypatch.chdir(tmp_path)
    scope: dict = {}
    exec(compile(code, "README.md", "exec"), scope)  # noqa: S102 - our own README
    deaths = scope["run"].total_people(["killed_protesters", "killed_bystanders", "killed_security"])
    assert deaths >= 0 and (tmp_path / "kz.parquet").is_file() and os.path.getsize(tmp_path / "kz.parquet") > 0
