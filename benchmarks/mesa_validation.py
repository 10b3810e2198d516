"""Epstein's (2002) Runs 1-4 measured on Mesa 3.3.1's own, unmodified Epstein example (issue #4).

Runs ``mesa.examples.advanced.epstein_civil_violence`` (``EpsteinCivilViolence``)
with Epstein's inputs passed as constructor keyword arguments, and measures each
run with the same functions that measure uprising's runs
(:mod:`uprising.analysis`): ``deception`` and ``deception_null`` (Run 1),
``tension`` (every step), and the per-step counts that ``outbursts`` reads.

Mesa's rules are never changed. The only things done to a Mesa model from
outside are:

* each cop's ``step`` is wrapped on the instance to count arrests
  (``_mesa_runner._counting_cop_step``; no random draws, no change of state);
* Runs 3 and 4 (legitimacy schedules): before Mesa's step ``t``, if the
  legitimacy in force during step ``t`` differs from the previous one, every
  Citizen gets ``regime_legitimacy = L`` and ``grievance = hardship * (1 - L)``
  (Mesa computes the grievance once, in ``Citizen.__init__``; setting these two
  attributes is how a Mesa user runs a schedule). The path is uprising's own
  (:func:`uprising.model.legitimacy_path` on ``scenarios/epstein-2002/run3.toml``
  and ``run4.toml``).

Settings
--------
``run1_v1``, ``run1_v2``  Run 1 (deception): L 0.89, cops 0.04, citizens 0.7, J_max 15,
                          movement on, integer von Neumann vision V = 1 or 2 (the
                          paper's v = 1.7 cannot be given to Mesa). At the quarter
                          points of the run (steps 50, 100, 150, 200 for 200 steps)
                          the lattice is read into a grid of cell kinds and the
                          cop/active correlation and its shuffled-cop null are stored.
``run2``                  Run 2 inputs: L 0.82, cops 0.04, J_max 30, Mesa's other defaults.
``run3``, ``run4``        Runs 3 and 4: L 0.9 then uprising's schedules, cops 0.074,
                          J_max 10**9 (the paper's is infinite; Mesa draws the term
                          with ``randint(0, max_jail_term)``).

Outputs (written atomically; a run of a subset of ``--settings`` replaces only
those settings' rows in existing outputs):

* ``<out-dir>/mesa-validation.parquet``: one row per (setting, seed, step), row
  step 0 = the initial state; columns setting, seed, step, legitimacy, citizens,
  quiet, active, jailed, arrests, deterred, latent.
* ``<out-dir>/mesa-validation.json``: provenance and the per-snapshot deception
  records.

    .venv/bin/python benchmarks/mesa_validation.py --workers 1

Grid orientation: Mesa's ``OrthogonalVonNeumannGrid((width, height))`` names a
cell ``(x, y)`` with ``0 <= x < width``; the kinds grid is indexed
``grid[x, y]`` and so has shape ``(width, height)``, i.e. it is the transpose of
a ``height x width`` row-major picture. Every measurement here is on a torus and
symmetric under transposition (the von Neumann diamond is), so the values do not
depend on this choice.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import json
import math
import subprocess
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _mesa_runner as mr  # noqa: E402

REPO = mr.REPO
PARQUET_NAME = "mesa-validation.parquet"
JSON_NAME = "mesa-validation.json"
NULL_DRAWS = 100  # shuffled-cop draws per deception snapshot
HUGE_JAIL = 10**9  # stands in for the paper's infinite J_max (Runs 3-4)
ALL_SETTINGS = ("run1_v1", "run1_v2", "run2", "run3", "run4")
SERIES_COLUMNS = ("setting", "seed", "step", "legitimacy", "citizens", "quiet", "active", "jailed", "arrests",
                  "deterred", "latent")
DECEPTION_FIELDS = ("setting", "seed", "step", "r_obs", "null_mean", "null_sd", "null_q01", "p_perm", "active",
                    "cops")

_RUN1_NOTES = ("Epstein 2002 Run 1 (deception) inputs: L 0.89, cop density 0.04, citizen density 0.7, J_max 15. "
               "The paper's vision v = v* = 1.7 is not expressible in Mesa, whose vision is an integer von Neumann "
               "radius (OrthogonalVonNeumannGrid.get_neighborhood); V = {v} is used for both citizens and cops "
               "({cells} cells in vision; a Euclidean radius 1.7 covers 8). Movement is on (Mesa's default; "
               "scenarios/epstein-2002/run1.toml has it off). Deception is measured at the quarter points of the run "
               "with uprising.analysis.deception(grid, {v}, 'von_neumann') and deception_null(..., "
               "rng=np.random.default_rng((seed, step)), n={n}); p_perm = (1 + #(null <= r_obs)) / (n + 1); r_obs, "
               "the null statistics and p_perm are null (JSON) where nobody or everybody is active. deterred and "
               "latent are computed every step as in the other settings.")

SETTINGS: dict[str, dict] = {
    "run1_v1": {
        "kwargs": {"legitimacy": 0.89, "cop_density": 0.04, "citizen_density": 0.7, "max_jail_term": 15,
                   "movement": True, "citizen_vision": 1, "cop_vision": 1},
        "steps_arg": "steps_run1", "vision": 1, "deception": True, "schedule": None,
        "notes": _RUN1_NOTES.format(v=1, cells=4, n=NULL_DRAWS),
    },
    "run1_v2": {
        "kwargs": {"legitimacy": 0.89, "cop_density": 0.04, "citizen_density": 0.7, "max_jail_term": 15,
                   "movement": True, "citizen_vision": 2, "cop_vision": 2},
        "steps_arg": "steps_run1", "vision": 2, "deception": True, "schedule": None,
        "notes": _RUN1_NOTES.format(v=2, cells=12, n=NULL_DRAWS),
    },
    "run2": {
        "kwargs": {"legitimacy": 0.82, "cop_density": 0.04, "max_jail_term": 30},
        "steps_arg": "steps_run2", "vision": 7, "deception": False, "schedule": None,
        "notes": "Epstein 2002 Run 2 inputs (L 0.82, cop density 0.04, J_max 30) under Mesa's rules; other kwargs "
                 "are Mesa's defaults (40x40, citizen density 0.7, vision 7 von Neumann, threshold 0.1, k 2.3, "
                 "movement on). jailed = Mesa's ARRESTED state (prisoners keep their cell). arrests per step are "
                 "counted by wrapping each cop's step (benchmarks/_mesa_runner.py). deterred/latent = "
                 "uprising.analysis.tension over the lattice, checked every step against Mesa's own "
                 "citizen.grievance and citizen.threshold.",
    },
    "run3": {
        "kwargs": {"legitimacy": 0.9, "cop_density": 0.074, "max_jail_term": HUGE_JAIL},
        "steps_arg": "steps_run34", "vision": 7, "deception": False, "schedule": "scenarios/epstein-2002/run3.toml",
        "notes": "Epstein 2002 Run 3 under Mesa's rules: L 0.9, cop density 0.074, other kwargs Mesa's defaults. "
                 "The paper's J_max is infinite; Mesa draws a term with randint(0, max_jail_term) (inclusive), so "
                 f"max_jail_term={HUGE_JAIL} is passed (P(term <= 200) = 201/(1e9+1) per arrest). Legitimacy "
                 "follows uprising.model.legitimacy_path(Scenario.load('scenarios/epstein-2002/run3.toml'), 0, T): "
                 "before Mesa's step t, if L changed, every Citizen gets regime_legitimacy = L and grievance = "
                 "hardship * (1 - L); this is the only intervention in Mesa's model (besides the arrest-counting "
                 "wrapper, which draws no random numbers). The legitimacy column at step t is the value in force "
                 "during step t (step 0: the initial 0.9).",
    },
    "run4": {
        "kwargs": {"legitimacy": 0.9, "cop_density": 0.074, "max_jail_term": HUGE_JAIL},
        "steps_arg": "steps_run34", "vision": 7, "deception": False, "schedule": "scenarios/epstein-2002/run4.toml",
        "notes": "Epstein 2002 Run 4 under Mesa's rules: as run3, with the step schedule of "
                 "scenarios/epstein-2002/run4.toml (L 0.9 -> 0.7 at step 77).",
    },
}


# --------------------------------------------------------------------------- one Mesa run
def snapshot_steps(steps: int) -> list[int]:
    """The quarter points of a run of ``steps`` steps (50, 100, 150, 200 for 200)."""
    return sorted({k * steps // 4 for k in range(1, 5)} - {0})


def legitimacy_schedule(name: str, initial: float, steps: int) -> np.ndarray:
    """Legitimacy at steps 0..steps: element 0 the initial value, element t the one in force during step t."""
    legit = np.full(steps + 1, float(initial))
    path = SETTINGS[name]["schedule"]
    if path is not None:
        from uprising.model import legitimacy_path
        from uprising.scenario import Scenario

        scenario = Scenario.load(REPO / path)
        if scenario.legitimacy != initial:
            raise ValueError(f"{path}: initial legitimacy {scenario.legitimacy} != Mesa kwarg {initial}")
        legit[1:] = legitimacy_path(scenario, 0, steps)
    return legit


def kinds_grid(model) -> tuple[np.ndarray, np.ndarray]:
    """Mesa's lattice as uprising cell kinds, plus a hardship grid (0 off citizens); indexed [x, y]."""
    from mesa.examples.advanced.epstein_civil_violence.agents import Citizen, CitizenState, Cop

    from uprising.kernels import codes

    code = {CitizenState.QUIET: codes.QUIET, CitizenState.ACTIVE: codes.ACTIVE, CitizenState.ARRESTED: codes.JAILED}
    kinds = np.zeros(model.grid.dimensions, dtype=np.uint8)
    hardship = np.zeros(model.grid.dimensions, dtype=np.float64)
    for agent in model.agents:
        xy = agent.cell.coordinate
        if kinds[xy] != codes.EMPTY:
            raise AssertionError(f"two agents on cell {xy}")
        if isinstance(agent, Citizen):
            kinds[xy] = code[agent.state]
            hardship[xy] = agent.hardship
        elif isinstance(agent, Cop):
            kinds[xy] = codes.COP
        else:
            raise AssertionError(f"unexpected agent {agent!r}")
    return kinds, hardship


def mesa_tension(citizens, legitimacy: float) -> tuple[int, float]:
    """Tension from Mesa's own attributes: quiet citizens with grievance > threshold, and sum of the excess."""
    from mesa.examples.advanced.epstein_civil_violence.agents import CitizenState

    quiet = CitizenState.QUIET
    n, latent = 0, 0.0
    for c in citizens:
        if c.state is quiet and c.grievance > c.threshold:
            n += 1
            latent += c.grievance - c.threshold
    return n, latent


def deception_record(name: str, seed: int, step: int, kinds: np.ndarray, vision: int) -> dict:
    from uprising import analysis
    from uprising.kernels import codes

    r_obs = analysis.deception(kinds, vision, "von_neumann")
    null = analysis.deception_null(kinds, vision, "von_neumann", np.random.default_rng((seed, step)), n=NULL_DRAWS)
    rec = {"setting": name, "seed": int(seed), "step": int(step), "r_obs": float(r_obs)}
    finite = null[np.isfinite(null)]
    if math.isfinite(r_obs) and finite.size:
        rec.update(null_mean=float(finite.mean()), null_sd=float(finite.std(ddof=1)) if finite.size > 1 else math.nan,
                   null_q01=float(np.quantile(finite, 0.01)),
                   p_perm=float((1 + np.count_nonzero(null <= r_obs)) / (NULL_DRAWS + 1)))
    else:  # nobody or everybody active: no correlation, no test
        rec.update(null_mean=math.nan, null_sd=math.nan, null_q01=math.nan, p_perm=math.nan)
    rec["active"] = int(np.count_nonzero(kinds == codes.ACTIVE))
    rec["cops"] = int(np.count_nonzero(kinds == codes.COP))
    return rec


def run_one(job: tuple[str, int, int]) -> dict:
    """One Mesa run of setting ``name`` from ``seed`` for ``steps`` steps: per-step series and deception records."""
    from mesa.examples.advanced.epstein_civil_violence.agents import Citizen, Cop
    from mesa.examples.advanced.epstein_civil_violence.model import EpsteinCivilViolence

    from uprising import analysis

    name, seed, steps = job
    spec = SETTINGS[name]
    start = time.perf_counter()
    kwargs = dict(spec["kwargs"])
    legit = legitimacy_schedule(name, kwargs["legitimacy"], steps)
    model = EpsteinCivilViolence(seed=seed, max_iters=max(steps, 1000), **kwargs)
    model.arrests_this_step = 0
    for cop in list(model.agents_by_type[Cop]):
        cop.step = mr._counting_cop_step(cop, cop.step, model)
    citizens = list(model.agents_by_type[Citizen])
    n_cit = len(citizens)
    thresholds = {c.threshold for c in citizens}
    if len(thresholds) != 1:
        raise AssertionError(f"citizens with different thresholds: {thresholds}")
    threshold = thresholds.pop()
    snaps = set(snapshot_steps(steps)) if spec["deception"] else set()

    counts = np.zeros((steps + 1, 4), dtype=np.int64)  # quiet, active, jailed, arrests
    deterred = np.zeros(steps + 1, dtype=np.int64)
    latent = np.zeros(steps + 1, dtype=np.float64)
    records = []
    current = float(kwargs["legitimacy"])

    def record(t: int) -> None:
        kinds, hardship = kinds_grid(model)
        d, lat = analysis.tension(kinds, hardship, current, threshold)
        d_m, lat_m = mesa_tension(citizens, current)  # the same quantity from Mesa's own grievance attribute
        if d != d_m or not math.isclose(lat, lat_m, rel_tol=1e-9, abs_tol=1e-9):
            raise AssertionError(f"{name} seed {seed} step {t}: tension {d, lat} != Mesa's grievance {d_m, lat_m}")
        deterred[t], latent[t] = d, lat
        counts[t, :3] = (model.QUIET, model.ACTIVE, model.ARRESTED)
        if t in snaps:
            records.append(deception_record(name, seed, t, kinds, spec["vision"]))

    record(0)
    for t in range(1, steps + 1):
        if legit[t] != current:  # the schedule: the only intervention in Mesa's model
            current = float(legit[t])
            for c in citizens:
                c.regime_legitimacy = current
                c.grievance = c.hardship * (1 - current)
        model.arrests_this_step = 0
        model.step()
        counts[t, 3] = model.arrests_this_step
        record(t)
    if not (counts[:, :3].sum(axis=1) == n_cit).all():
        raise AssertionError(f"{name} seed {seed}: citizens not conserved")
    return {"setting": name, "seed": int(seed), "steps": int(steps), "citizens": n_cit, "counts": counts,
            "legitimacy": legit, "deterred": deterred, "latent": latent, "deception": records,
            "wall_seconds": time.perf_counter() - start}


# --------------------------------------------------------------------------- outputs
def series_table(runs: list[dict]):
    import pyarrow as pa

    cols: dict[str, list] = {c: [] for c in SERIES_COLUMNS}
    for r in runs:
        n = r["steps"] + 1
        cols["setting"].append(np.array([r["setting"]] * n, dtype=object))
        cols["seed"].append(np.full(n, r["seed"], dtype=np.int64))
        cols["step"].append(np.arange(n, dtype=np.int64))
        cols["legitimacy"].append(r["legitimacy"].astype(np.float64))
        cols["citizens"].append(np.full(n, r["citizens"], dtype=np.int64))
        for i, c in enumerate(("quiet", "active", "jailed", "arrests")):
            cols[c].append(r["counts"][:, i])
        cols["deterred"].append(r["deterred"])
        cols["latent"].append(r["latent"])
    types = {"setting": pa.string(), "legitimacy": pa.float64(), "latent": pa.float64()}
    arrays = {c: pa.array(np.concatenate(v) if v else np.zeros(0), type=types.get(c, pa.int64()))
              for c, v in cols.items()}
    return pa.table(arrays)


def _json_value(x):
    if isinstance(x, float) and not math.isfinite(x):
        return None  # strict JSON has no NaN
    return x


def _uprising_commit() -> dict:
    def git(*args: str) -> str:
        try:
            return subprocess.run(["git", *args], cwd=REPO, capture_output=True, text=True, check=True).stdout
        except (OSError, subprocess.CalledProcessError):
            return ""
    # "XY path" lines: the two status letters, a space, the path (keep the leading space of " M")
    return {"commit": git("rev-parse", "HEAD").strip() or "unknown",
            "dirty": [line[3:] for line in git("status", "--porcelain", "--", "src/uprising").splitlines() if line]}


def write_outputs(out_dir: Path, runs: list[dict], settings_meta: dict, argv: list[str],
                  upr: dict | None = None) -> None:
    """Merge ``runs`` (settings in ``settings_meta``) into the outputs in ``out_dir``, atomically.

    ``upr``: the uprising commit and dirty paths when the runs started (default: now).
    """
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    import mesa

    out_dir.mkdir(parents=True, exist_ok=True)
    pq_path, js_path = out_dir / PARQUET_NAME, out_dir / JSON_NAME
    replaced = set(settings_meta)
    new = series_table(runs)
    if pq_path.exists():
        old = pq.read_table(pq_path).select(list(SERIES_COLUMNS))
        keep = pc.invert(pc.is_in(old["setting"], value_set=pa.array(sorted(replaced), pa.string())))
        new = pa.concat_tables([old.filter(keep).cast(new.schema), new])
    order = {name: i for i, name in enumerate(ALL_SETTINGS)}
    df = new.to_pandas()
    df["_o"] = df["setting"].map(lambda s: order.get(s, len(order)))
    df = df.sort_values(["_o", "setting", "seed", "step"], kind="stable").drop(columns="_o")
    table = pa.Table.from_pandas(df, schema=new.schema, preserve_index=False)

    doc = json.loads(js_path.read_text(encoding="utf-8")) if js_path.exists() else {}
    deception = [d for d in doc.get("deception", []) if d.get("setting") not in replaced]
    for r in runs:
        deception.extend({k: _json_value(rec[k]) for k in DECEPTION_FIELDS} for rec in r["deception"])
    deception.sort(key=lambda d: (order.get(d["setting"], len(order)), d["setting"], d["seed"], d["step"]))
    settings = dict(doc.get("settings", {}))
    settings.update(settings_meta)
    settings = {k: settings[k] for k in sorted(settings, key=lambda s: (order.get(s, len(order)), s))}
    upr = _uprising_commit() if upr is None else upr
    doc = {
        "generated_by": " ".join(["benchmarks/mesa_validation.py", *argv]),
        "date": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "mesa_version": mesa.__version__,
        "uprising_commit": upr["commit"],
        "uprising_dirty_paths": upr["dirty"],
        "machine": mr.machine(),
        "model": "mesa.examples.advanced.epstein_civil_violence.model.EpsteinCivilViolence, unmodified",
        "grid": "kinds grid indexed [x, y] by Mesa's cell.coordinate, shape (width, height); codes: "
                "0 empty, 1 quiet, 2 active, 3 arrested (Mesa's prisoners keep their cell), 4 cop",
        "series": f"{PARQUET_NAME}: one row per (setting, seed, step), step 0 = initial state; deterred and latent "
                  "= uprising.analysis.tension (computed for every setting and step, never missing)",
        "settings": settings,
        "deception": deception,
    }
    tmp_pq = pq_path.with_name(pq_path.name + ".partial")
    tmp_js = js_path.with_name(js_path.name + ".partial")
    pq.write_table(table, tmp_pq)
    tmp_js.write_text(json.dumps(doc, indent=1, allow_nan=False) + "\n", encoding="utf-8")
    tmp_pq.replace(pq_path)
    tmp_js.replace(js_path)


# --------------------------------------------------------------------------- driver
def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--seeds", type=int, default=20, help="seeds 0..N-1 per setting (default 20)")
    p.add_argument("--steps-run1", type=int, default=200)
    p.add_argument("--steps-run2", type=int, default=1000)
    p.add_argument("--steps-run34", type=int, default=200)
    p.add_argument("--workers", type=int, default=1, help="processes (default 1)")
    p.add_argument("--settings", default=",".join(ALL_SETTINGS),
                   help=f"comma-separated subset of {','.join(ALL_SETTINGS)}")
    p.add_argument("--out-dir", default=str(REPO / "docs" / "data"))
    args = p.parse_args(argv)
    args.settings = [s.strip() for s in args.settings.split(",") if s.strip()]
    unknown = [s for s in args.settings if s not in SETTINGS]
    if unknown:
        p.error(f"unknown settings {unknown}; allowed: {', '.join(ALL_SETTINGS)}")
    if args.seeds < 1 or args.workers < 1:
        p.error("--seeds and --workers must be at least 1")
    for s in args.settings:
        if getattr(args, SETTINGS[s]["steps_arg"]) < 1:
            p.error(f"--{SETTINGS[s]['steps_arg'].replace('_', '-')} must be at least 1")
    return args


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    args = parse_args(argv)
    out_dir = Path(args.out_dir)
    jobs = [(name, seed, getattr(args, SETTINGS[name]["steps_arg"]))
            for name in args.settings for seed in range(args.seeds)]
    total_steps = sum(j[2] for j in jobs)
    remaining = {name: args.seeds for name in args.settings}
    by_setting: dict[str, list[dict]] = {name: [] for name in args.settings}
    started = {name: None for name in args.settings}
    upr = _uprising_commit()  # the code the runs import, taken before they start
    t0 = time.perf_counter()
    done_steps = 0
    print(f"Mesa validation: {len(jobs)} runs, {total_steps} Mesa steps, {args.workers} worker(s)",
          file=sys.stderr, flush=True)

    def finished(run: dict) -> None:
        nonlocal done_steps
        name = run["setting"]
        by_setting[name].append(run)
        done_steps += run["steps"]
        remaining[name] -= 1
        elapsed = time.perf_counter() - t0
        eta = elapsed * (total_steps - done_steps) / done_steps
        print(f"  [{name}] seed {run['seed']:3d}: {run['steps']} steps in {run['wall_seconds']:.1f} s, "
              f"peak active {int(run['counts'][1:, 1].max()) if run['steps'] else 0}; "
              f"{len(jobs) - sum(remaining.values())}/{len(jobs)} runs, elapsed {elapsed:.0f} s, ETA {eta:.0f} s",
              file=sys.stderr, flush=True)
        if remaining[name] == 0:  # a setting is complete: merge it into the outputs now
            runs = sorted(by_setting[name], key=lambda r: r["seed"])
            spec = SETTINGS[name]
            meta = {name: {
                "kwargs": {**spec["kwargs"], "max_iters": max(runs[0]["steps"], 1000)},
                "seeds": len(runs), "seed_values": [r["seed"] for r in runs], "steps": runs[0]["steps"],
                "wall_seconds": round(sum(r["wall_seconds"] for r in runs), 2),
                "elapsed_seconds": round(time.perf_counter() - started[name], 2),
                "workers": args.workers,
                "deception_snapshots": snapshot_steps(runs[0]["steps"]) if spec["deception"] else [],
                "generated_by": " ".join(["benchmarks/mesa_validation.py", *argv]),
                "uprising_commit": upr["commit"],
                "notes": spec["notes"],
            }}
            write_outputs(out_dir, runs, meta, argv, upr)
            print(f"  [{name}] complete: {meta[name]['wall_seconds']:.0f} s of runs; written to {out_dir}",
                  file=sys.stderr, flush=True)

    def mark(job):
        if started[job[0]] is None:
            started[job[0]] = time.perf_counter()
        return job

    if args.workers <= 1:
        for job in jobs:
            finished(run_one(mark(job)))
    else:
        with ProcessPoolExecutor(max_workers=args.workers) as pool:
            for job in jobs:
                mark(job)
            for run in pool.map(run_one, jobs):
                finished(run)
    print(f"done in {time.perf_counter() - t0:.0f} s; outputs in {out_dir}", file=sys.stderr, flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
