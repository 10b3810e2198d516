"""The fast selection (``./test -m "not slow"``) names real modules and tests, so a rename cannot silently
move a heavy test into it."""

from __future__ import annotations

import ast
import os
import subprocess
from pathlib import Path

from conftest import SLOW_MODULES, SLOW_TESTS

TESTS = Path(__file__).resolve().parent


def test_every_slow_module_exists():
    missing = [m for m in SLOW_MODULES if not (TESTS / f"{m}.py").is_file()]
    assert not missing, f"SLOW_MODULES names modules that do not exist: {missing}"


def test_every_slow_test_exists():
    defined = {node.name for path in TESTS.rglob("test_*.py")
               for node in ast.walk(ast.parse(path.read_text())) if isinstance(node, ast.FunctionDef)}
    missing = [t for t in SLOW_TESTS if t not in defined]
    assert not missing, f"SLOW_TESTS names tests that do not exist: {missing}"


def _setup(tmp_path: Path, lines: str) -> list[str]:
    """Run scripts/setup.sh's functions with a stand-in apt-get that records its arguments."""
    fake = tmp_path / "bin"
    fake.mkdir()
    log = tmp_path / "apt.log"
    (fake / "apt-get").write_text(f"#!/bin/sh\necho \"$*\" >> {log}\n")
    (fake / "apt-get").chmod(0o755)
    (fake / "sudo").write_text("#!/bin/sh\nexec \"$@\"\n")
    (fake / "sudo").chmod(0o755)
    env = {**os.environ, "PATH": f"{fake}:{os.environ['PATH']}"}
    subprocess.run(["bash", "-c", f"source scripts/setup.sh; {lines}"], cwd=TESTS.parent, env=env, check=True,
                   capture_output=True, text=True)
    return log.read_text().splitlines() if log.exists() else []


def test_setup_installs_what_is_missing_with_apt(tmp_path):
    calls = _setup(tmp_path, "need_apt no-such-browser-here chromium; need_apt sh dash; install_apt")
    assert calls == ["update -qq", "install -y -qq chromium"], calls


def test_setup_installs_nothing_when_all_is_there(tmp_path):
    assert _setup(tmp_path, "need_apt sh dash; need_apt bash bash; install_apt") == []


def test_the_readme_opens_with_the_two_scripts_and_ci_runs_only_the_test_one():
    root = TESTS.parent
    for script, needs in (("test", ("need_apt chromium chromium", "need_venv test", "pytest")),
                          ("demo", ("need_venv plot", "uprising run scenarios/kazakhstan-2022.toml"))):
        text = (root / script).read_text()
        assert all(n in text for n in needs), f"./{script} lost one of {needs}"
    ci = [line for line in (root / ".ci" / "run").read_text().splitlines()
          if line.strip() and not line.lstrip().startswith("#") and not line.startswith(("set ", "cd "))]
    assert ci == ["./test"], f".ci/run must run the README's test command and nothing else, got {ci}"
    readme = (root / "README.md").read_text()
    first_blocks = readme.split("```")[1:4:2]
    assert [b.strip().splitlines()[-1].strip() for b in first_blocks] == ["./demo", "./test"], \
        "the README opens with ./demo and ./test"
