"""Outcomes for the experiment tests, importable as ``experiment_helpers:NAME`` in any worker process.

They are real outcomes (functions of a Result) that also leave a trace the tests can count:
``mark`` records each execution as a file, ``slow`` sleeps so that a sweep lasts long enough to be
interrupted without burning CPU, ``fragile`` raises for some parameter values. The folder they use
is ``$UPRISING_TEST_DIR`` (set by the test modules before any worker starts, so workers inherit it).
"""

from __future__ import annotations

import os
import secrets
import time
from pathlib import Path


def control() -> Path:
    return Path(os.environ["UPRISING_TEST_DIR"])


def marks(run_id: str) -> int:
    """How many times ``run_id`` (HASH-rREP) was executed."""
    folder = control() / "marks"
    return len(list(folder.glob(f"{run_id}.*"))) if folder.is_dir() else 0


def mark(result) -> float:
    """Counts executions: one file per call, named after the run."""
    folder = control() / "marks"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{result.scenario.hash()}-r{result.replicate}.{os.getpid()}.{secrets.token_hex(4)}").touch()
    return 1.0


def slow(result) -> float:
    """Sleeps for the seconds written in $UPRISING_TEST_DIR/sleep (0 if absent)."""
    path = control() / "sleep"
    time.sleep(float(path.read_text()) if path.is_file() else 0.0)
    return 0.0


def fragile(result) -> float:
    """Raises for legitimacy above 0.7, as an outcome undefined there would."""
    if result.scenario.legitimacy > 0.7:
        raise ValueError(f"fragile: undefined for legitimacy {result.scenario.legitimacy} > 0.7")
    return result.scenario.legitimacy
