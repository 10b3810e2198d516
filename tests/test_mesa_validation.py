"""Smoke test of ``benchmarks/mesa_validation.py`` (Epstein Runs 1-4 on Mesa's own example).

Runs the script's ``main`` on tiny samples into a temporary folder, in three
calls that also exercise the merge of a re-run subset into existing outputs,
and checks the shape of both outputs, the conservation of citizens, the
legitimacy schedule of Run 4 and the deception records. Mesa costs about 90 ms
a step at vision 7, so Run 4 gets one seed of 78 steps (step 77, its drop, is
inside) and Run 3, which differs only in its schedule file, one seed of 5 steps,
to keep the whole test near 20 s on one core.
"""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("mesa")
pa = pytest.importorskip("pyarrow")
pq = pytest.importorskip("pyarrow.parquet")

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))

import mesa_validation as mv  # noqa: E402

from uprising.model import legitimacy_path  # noqa: E402
from uprising.scenario import Scenario  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
SEEDS_12, STEPS_RUN1, STEPS_RUN2 = 2, 20, 20
SEEDS_34, STEPS_RUN3, STEPS_RUN4 = 1, 5, 78

pytestmark = pytest.mark.slow  # about 20 s of Mesa on one core


@pytest.fixture(scope="module")
def outputs(tmp_path_factory) -> tuple[dict, dict]:
    out = tmp_path_factory.mktemp("mesa-validation")
    common = ["--out-dir", str(out), "--workers", "1"]
    # run3 stays from the first call; its run1_v1 is replaced by the second call's (the merge keeps only those)
    assert mv.main(["--seeds", "1", "--steps-run1", "5", "--steps-run34", str(STEPS_RUN3),
                    "--settings", "run1_v1,run3", *common]) == 0
    assert mv.main(["--seeds", str(SEEDS_12), "--steps-run1", str(STEPS_RUN1), "--steps-run2", str(STEPS_RUN2),
                    "--settings", "run1_v1,run1_v2,run2", *common]) == 0
    assert mv.main(["--seeds", str(SEEDS_34), "--steps-run34", str(STEPS_RUN4), "--settings", "run4", *common]) == 0
    assert not list(out.glob("*.partial"))
    table = pq.read_table(out / mv.PARQUET_NAME)
    doc = json.loads((out / mv.JSON_NAME).read_text(encoding="utf-8"))
    return table, doc


EXPECTED = {"run1_v1": (SEEDS_12, STEPS_RUN1), "run1_v2": (SEEDS_12, STEPS_RUN1), "run2": (SEEDS_12, STEPS_RUN2),
            "run3": (SEEDS_34, STEPS_RUN3), "run4": (SEEDS_34, STEPS_RUN4)}


def test_series_columns_and_rows(outputs):
    table, doc = outputs
    assert tuple(table.column_names) == mv.SERIES_COLUMNS
    types = {f.name: f.type for f in table.schema}
    assert types["setting"] == pa.string()
    assert types["legitimacy"] == pa.float64() and types["latent"] == pa.float64()
    for c in ("seed", "step", "citizens", "quiet", "active", "jailed", "arrests", "deterred"):
        assert types[c] == pa.int64(), c
    df = table.to_pandas()
    assert set(df["setting"]) == set(EXPECTED)
    for name, (seeds, steps) in EXPECTED.items():
        sub = df[df["setting"] == name]
        got = set(zip(sub["seed"], sub["step"]))
        assert got == {(s, t) for s in range(seeds) for t in range(steps + 1)}, name
        assert len(sub) == len(got), f"{name}: duplicate rows"
        assert doc["settings"][name]["seeds"] == seeds and doc["settings"][name]["steps"] == steps


def test_conservation_and_counts(outputs):
    df = outputs[0].to_pandas()
    assert ((df["quiet"] + df["active"] + df["jailed"]) == df["citizens"]).all()
    assert (df.groupby(["setting", "seed"])["citizens"].nunique() == 1).all()
    assert (df["arrests"] >= 0).all() and (df.loc[df["step"] == 0, "arrests"] == 0).all()
    assert (df["deterred"] >= 0).all() and (df["deterred"] <= df["quiet"]).all()
    assert np.isfinite(df["latent"]).all() and (df["latent"] >= 0).all()
    assert ((df["deterred"] == 0) == (df["latent"] == 0)).all()
    # 40x40 at citizen density 0.7: about 1120 citizens
    assert df["citizens"].between(1000, 1250).all()


def test_run4_legitimacy_follows_uprising_schedule(outputs):
    df = outputs[0].to_pandas()
    path = legitimacy_path(Scenario.load(ROOT / "scenarios" / "epstein-2002" / "run4.toml"), 0, STEPS_RUN4)
    for seed in range(SEEDS_34):
        sub = df[(df["setting"] == "run4") & (df["seed"] == seed)].sort_values("step")
        legit = sub["legitimacy"].to_numpy()
        assert legit[0] == 0.9
        np.testing.assert_array_equal(legit[1:], path)
        steps = sub["step"].to_numpy()
        assert (legit[steps < 77] == 0.9).all() and (legit[steps >= 77] == 0.7).all()
    run3 = df[df["setting"] == "run3"].sort_values(["seed", "step"])
    path3 = legitimacy_path(Scenario.load(ROOT / "scenarios" / "epstein-2002" / "run3.toml"), 0, STEPS_RUN3)
    np.testing.assert_array_equal(run3[run3["seed"] == 0]["legitimacy"].to_numpy()[1:], path3)
    for name in ("run1_v1", "run1_v2", "run2"):
        assert (df[df["setting"] == name]["legitimacy"] == mv.SETTINGS[name]["kwargs"]["legitimacy"]).all()


def test_deception_records(outputs):
    _, doc = outputs
    recs = doc["deception"]
    assert {r["setting"] for r in recs} == {"run1_v1", "run1_v2"}
    for name in ("run1_v1", "run1_v2"):
        keys = {(r["seed"], r["step"]) for r in recs if r["setting"] == name}
        assert keys == {(s, t) for s in range(SEEDS_12) for t in mv.snapshot_steps(STEPS_RUN1)}, name
    for r in recs:
        assert tuple(r) == mv.DECEPTION_FIELDS
        if r["r_obs"] is None:  # nobody or everybody active: no correlation, no test
            assert r["p_perm"] is None
            continue
        assert math.isfinite(r["r_obs"]) and -1 <= r["r_obs"] <= 1
        assert 0 < r["p_perm"] <= 1
        assert r["null_q01"] <= r["null_mean"] and r["null_sd"] >= 0
        assert r["cops"] > 0 and r["active"] >= 0


def test_provenance(outputs):
    _, doc = outputs
    for key in ("generated_by", "date", "mesa_version", "uprising_commit", "machine", "settings", "deception"):
        assert key in doc
    assert doc["mesa_version"] == "3.3.1"
    assert doc["settings"]["run3"]["kwargs"]["max_jail_term"] == mv.HUGE_JAIL
    assert doc["settings"]["run1_v2"]["kwargs"]["citizen_vision"] == 2
    for meta in doc["settings"].values():
        assert meta["wall_seconds"] > 0 and meta["notes"]
