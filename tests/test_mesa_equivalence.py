"""uprising's ``mesa-default`` scenario against Mesa 3.3.1's own Epstein example (reduced check).

The full comparison (30 runs per side x 500 steps, two settings) is
``benchmarks/mesa_equivalence.py``, whose result is in ``docs/validation.md``. This
test uses the same functions (``benchmarks/_mesa_runner.py``) on smaller samples
so that it runs in CI in about a minute on two cores.

Design and tolerances
---------------------
* Mesa is slow (about 80-100 ms a step at 40x40 on one core) and uprising is not,
  so the samples are unbalanced: few Mesa runs, many uprising runs. Rank and KS
  tests handle unequal sizes, and the large uprising sample makes the reference
  distribution sharp, so a small Mesa sample can still reject: with 6 Mesa runs
  against 32 uprising runs the smallest Mann-Whitney p-value is 2/C(38,6) ~ 7e-7,
  and with 4 against 32 it is 2/C(36,4) ~ 3e-5, below the corrected alpha even
  after Holm's factor (at most 16 tests). 4 against 4 could never reject at 0.01
  (2/C(8,4) ~ 0.03), which is why the sides are unbalanced.
* alpha = 0.01 per setting with a Holm correction over all the tests of that
  setting (``_mesa_runner.ALPHA``, ``_mesa_runner.holm``): if the models are the
  same, the chance that a setting fails is at most 1%. Both models are seeded,
  so the outcome is deterministic: the test cannot flicker between runs.
* The negative controls rerun uprising with one input or rule changed and must be
  rejected by the very same machinery against the very same Mesa sample; they
  show the equivalence test has power and is not passing vacuously.
* The Mesa-defaults setting is quiet by design (model-notes §6): no episodes
  above 50 actives are expected on either side, and the episode statistics are
  then reported as "no episodes on either side" rather than tested.
"""

from __future__ import annotations

import sys
from pathlib import Path

import mesa  # the test extra always installs Mesa 3.3.1
import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))

import _mesa_runner as mr  # noqa: E402

RUN2 = mr.SETTINGS["run2"]
DEFAULTS = mr.SETTINGS["mesa_defaults"]
# Run 2 has an outburst every ~50 steps, so 120 steps give 2-3 per run: enough for the per-run waits.
RUN2_MESA_SEEDS, RUN2_STEPS = range(6), 120
# The defaults are quiet; the comparison rests on activity, arrests and the jail filling up.
DEFAULTS_MESA_SEEDS, DEFAULTS_STEPS = range(4), 60
UPRISING_SEEDS = range(32)  # cheap (milliseconds a run)

pytestmark = pytest.mark.slow  # about a minute on two cores (>30 s), nearly all of it Mesa


@pytest.fixture(scope="module")
def mesa_runs() -> dict[str, list[mr.Run]]:
    jobs = [(s, RUN2_STEPS, RUN2["mesa"]) for s in RUN2_MESA_SEEDS]
    jobs += [(s, DEFAULTS_STEPS, DEFAULTS["mesa"]) for s in DEFAULTS_MESA_SEEDS]
    runs = mr.run_mesa_jobs(jobs, workers=2)
    n = len(RUN2_MESA_SEEDS)
    return {"run2": runs[:n], "mesa_defaults": runs[n:]}


def _describe(comps: list[mr.Comparison]) -> str:
    return "\n".join(f"{c.stat}: Mesa {np.mean(c.mesa) if len(c.mesa) else float('nan'):.4g} "
                     f"uprising {np.mean(c.upr) if len(c.upr) else float('nan'):.4g} "
                     f"raw {c.tests} Holm {c.adjusted} -> {c.verdict()}" for c in comps)


def test_mesa_is_3_3_1():
    assert mesa.__version__ == "3.3.1"


def test_arrest_counting_leaves_mesa_unchanged():
    """The cop-step wrapper draws no random numbers: same seed, same counts as plain Mesa."""
    from mesa.examples.advanced.epstein_civil_violence.model import EpsteinCivilViolence

    run = mr.run_mesa(3, 15, RUN2["mesa"])
    plain = EpsteinCivilViolence(seed=3, **RUN2["mesa"])
    rows = []
    for _ in range(15):
        plain.step()
        rows.append((plain.QUIET, plain.ACTIVE, plain.ARRESTED))
    assert np.array_equal(run.counts[1:, :3], np.array(rows))
    arrests, jailed = run.column("arrests"), run.column("jailed")
    assert arrests.sum() > 0
    # arrests can only add prisoners: jailed grows by at most the step's arrests
    assert (np.diff(jailed) <= arrests[1:]).all()
    # in step 1 nobody was in jail before, so prisoners = arrests minus those already re-activated (term 0)
    assert 0 <= arrests[1] - jailed[1] <= max(2, arrests[1] // 10)


def test_run2_inputs_indistinguishable_from_mesa(mesa_runs):
    upr = mr.run_uprising_many(UPRISING_SEEDS, RUN2_STEPS, RUN2["uprising"])
    comps = mr.compare(mesa_runs["run2"], upr)
    tested = [c for c in comps if c.tested]
    # not vacuous: every statistic, episode ones included, is actually tested in this setting
    assert len(tested) == len(comps), _describe(comps)
    assert not mr.setting_rejects(comps), _describe(comps)


def test_mesa_defaults_indistinguishable_from_mesa(mesa_runs):
    upr = mr.run_uprising_many(UPRISING_SEEDS, DEFAULTS_STEPS, DEFAULTS["uprising"])
    comps = mr.compare(mesa_runs["mesa_defaults"], upr)
    by = {c.stat: c for c in comps}
    for stat in ("mean_active_fraction", "mean_jailed_fraction", "final_jailed_fraction",
                 "arrests_per_step_per_citizen"):
        assert by[stat].tested, _describe(comps)
    assert by["episode_count"].note == "no episodes on either side", _describe(comps)
    assert not mr.setting_rejects(comps), _describe(comps)


@pytest.mark.parametrize("setting, changes", [
    # Epstein's Run 2 with legitimacy 0.70 instead of 0.82: far more grievance
    ("run2", {"legitimacy": 0.70}),
    # the paper's plain ratio instead of Mesa's round(C/A): deterrence never collapses, no outbursts
    ("run2", {"arrest_rule": "ratio"}),
    # Mesa's defaults with legitimacy 0.75 instead of 0.8: still quiet, but more arrests and a fuller jail.
    # (A rule switch such as floor(C/A) is NOT a usable control here: in this quiet regime A is almost
    # always 1, where floor and round agree; the full benchmark's sensitivity table shows what it resolves.)
    ("mesa_defaults", {"legitimacy": 0.75}),
], ids=["run2-legitimacy-0.70", "run2-ratio-rule", "defaults-legitimacy-0.75"])
def test_negative_control_is_distinguished(mesa_runs, setting, changes):
    """The same machinery must reject a model that differs from Mesa's in one input or rule."""
    spec = mr.SETTINGS[setting]
    steps = RUN2_STEPS if setting == "run2" else DEFAULTS_STEPS
    upr = mr.run_uprising_many(UPRISING_SEEDS, steps, {**spec["uprising"], **changes})
    comps = mr.compare(mesa_runs[setting], upr)
    assert mr.setting_rejects(comps), _describe(comps)
    # and clearly so, not by a hair: the smallest Holm-adjusted p-value is 5x below alpha. (With 4 Mesa
    # runs the smallest reachable adjusted p is ~3e-4, so a 10x margin would demand perfect separation.)
    assert min(p for c in comps for p in c.adjusted.values()) < mr.ALPHA / 5, _describe(comps)
