"""The country driver: owns time, recording, snapshots and I/O for a :class:`CountryScenario`.

``simulate_country(scenario, seed, replicate)`` steps every city through the run's
clock (:class:`uprising.clock.Clock`) and records, per city and step, the kernel's
counts (``codes.OUT_ALL_NAMES``) and what the mechanisms reported (legitimacy,
hardship shift, information push, blackout level, troops, ...). Step 0 is the
state at the clock's start. The same scenario, seed and replicate give
bit-identical results in any process.
"""

from __future__ import annotations

import concurrent.futures as cf
import datetime as dt
import json
import time
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Sequence

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from .. import model as model_one
from ..clock import Clock
from ..kernels import codes
from ..simulate import write_parquet
from . import model as country_model
from .scenario import CountryScenario



def recorded(scenario_class: type[CountryScenario]) -> tuple[str, ...]:
    """What is recorded per city and step for a scenario class: the legitimacy, each mechanism's reports
    (its ``recorded``, in the registry's order) and the cop target (NaN where a mechanism reported nothing,
    or was switched off)."""
    return ("legitimacy", *(name for m in scenario_class.mechanisms for name in m.recorded), "cop_target")


#: what is recorded each step for :class:`CountryScenario`
REPORTED = recorded(CountryScenario)

ProgressCallback = Callable[[int, int], None]

#: entropy word that sets the people-count streams apart from the lattices' (``people_seed``)
PEOPLE_STREAM = 0x70656F706C65


def people_seed(seed: int, replicate: int, city: str) -> np.random.SeedSequence:
    """The stream from which a city's casualties in people are drawn (``repression.casualties = "people"``):
    from the run's seed and replicate and the city's name, like :func:`uprising.country.scenario.city_seed`,
    but with entropy of its own, so it shares nothing with the lattice's streams."""
    return np.random.SeedSequence([seed, PEOPLE_STREAM], spawn_key=(replicate, zlib.crc32(city.encode("utf-8"))))


@dataclass
class CountryResult:
    """One run of a country scenario: counts and reports per city and step, and timing."""

    scenario: CountryScenario
    seed: int
    replicate: int
    counts: np.ndarray  # n_cities x (steps + 1) x codes.OUT_ALL_SIZE, int64; step 0 is the initial state
    reports: dict[str, np.ndarray]  # name -> n_cities x (steps + 1), float64
    citizens: np.ndarray  # agents per city
    snapshots: dict[str, dict[int, np.ndarray]] = field(default_factory=dict)  # city -> step -> kinds (h x w)
    wall_seconds: float = 0.0
    # n_cities x (steps + 1) x codes.PEOPLE_SIZE, int64, in people (repression.casualties = "people"); else None
    people_counts: np.ndarray | None = None

    @property
    def names(self) -> list[str]:
        return [c.name for c in self.scenario.cities]

    @property
    def clock(self) -> Clock:
        return self.scenario.clock.clock()

    @property
    def steps(self) -> int:
        return self.counts.shape[1] - 1

    @property
    def scale(self) -> float:
        return self.scenario.scale

    @property
    def run_id(self) -> str:
        return f"{self.scenario.hash()}-s{self.seed}-r{self.replicate}"

    def column(self, name: str) -> np.ndarray:
        """Counts of ``name`` per city and step (n_cities x steps + 1)."""
        return self.counts[:, :, codes.OUT_ALL_NAMES.index(name)]

    def national(self, name: str) -> np.ndarray:
        """Counts of ``name`` summed over the cities, per step."""
        return self.column(name).sum(axis=0)

    def unrest(self) -> np.ndarray:
        """Active and violent citizens per city and step."""
        return self.column("active") + self.column("violent")

    # ---- in people: the one place where agents become residents (counts divided by the scale)
    @property
    def residents_per_agent(self) -> float:
        """How many residents one agent stands for: 1 / scale."""
        return 1.0 / self.scale

    def in_people(self, agents):
        """A count of agents (a number or an array) in residents: divided by the scale (agents per resident)."""
        return agents / self.scale

    def counted_in_people(self, names: str | Sequence[str]) -> tuple[str, ...]:
        """Those of ``names`` that this run counted in people (none unless ``repression.casualties`` was
        ``"people"``: then the deaths, injuries, arrests and sweeps, ``codes.PEOPLE_NAMES``)."""
        names = (names,) if isinstance(names, str) else tuple(names)
        if self.people_counts is None:
            return ()
        return tuple(name for name in names if name in codes.PEOPLE_NAMES)

    def _counted(self, name: str, city: str | int | None) -> np.ndarray:
        """The people counts of ``name`` per step, of one city or of all (None)."""
        i = self.names.index(city) if isinstance(city, str) else city
        col = self.people_counts[:, :, codes.PEOPLE_NAMES.index(name)]
        return col.sum(axis=0) if i is None else col[i]

    def _residents(self, names: str | Sequence[str], city: str | int | None) -> np.ndarray:
        """Per step, in residents: counts of people where the run has them, the other names' agents divided
        by the scale (summed first, divided once), added."""
        names = (names,) if isinstance(names, str) else tuple(names)
        counted = self.counted_in_people(names)
        rest = [name for name in names if name not in counted]
        out = self.in_people(self._agents(rest, city)) if rest else None
        for name in counted:
            x = self._counted(name, city).astype(np.float64)
            out = x if out is None else out + x
        return out

    def _agents(self, names: str | Sequence[str], city: str | int | None) -> np.ndarray:
        """The counts of ``names`` (summed) per step, of one city (a name or an index) or of all (None)."""
        names = (names,) if isinstance(names, str) else tuple(names)
        i = self.names.index(city) if isinstance(city, str) else city
        out = None
        for name in names:
            x = self.national(name) if i is None else self.column(name)[i]
            out = x if out is None else out + x
        return out

    def people(self, names: str | Sequence[str], city: str | int | None = None, *,
               cumulative: bool = False) -> np.ndarray:
        """Per step, in residents: the counts of ``names`` (several are summed) of ``city`` (None: the country).

        ``cumulative=True`` gives the running total of a per-step count (arrests,
        killed, ...) from step 1 on (step 0, the initial state, counts as none).
        The agents are summed first and divided by the scale once.
        """
        if self.counted_in_people(names):
            x = self._residents(names, city)
            if cumulative:
                x = x.copy()
                x[0] = 0
                x = np.cumsum(x)
            return x
        agents = self._agents(names, city)
        if cumulative:
            agents = agents.copy()
            agents[0] = 0
            agents = np.cumsum(agents)
        return self.in_people(agents)

    def total_people(self, names: str | Sequence[str], upto: int | None = None, city: str | int | None = None) -> float:
        """The sum of a per-step count of ``names`` over steps 1 to ``upto`` (default: the run), in residents."""
        k = self.steps if upto is None else upto
        if self.counted_in_people(names):
            return float(self._residents(names, city)[1:k + 1].sum())
        return float(self._agents(names, city)[1:k + 1].sum()) / self.scale

    def violent_residents(self) -> np.ndarray:
        """Residents violent per city and step (n_cities x steps + 1): the people counted
        (``codes.PEOPLE_VIOLENT``: a violent agent's people and an organised core among the active ones',
        :mod:`uprising.mechanisms.escalation`) where this run counts casualties in people, else the violent agents
        divided by the scale."""
        if self.people_counts is not None:
            return self.people_counts[:, :, codes.PEOPLE_VIOLENT].astype(np.float64)
        return self.in_people(self.column("violent").astype(np.float64))

    def times(self) -> list[dt.datetime]:
        clock = self.clock
        return [clock.time_of(k) for k in range(self.steps + 1)]

    @property
    def table(self) -> pa.Table:
        """Tidy table: one row per city and step, with counts, reports and the scale."""
        n_city, n_step = self.counts.shape[:2]
        names = self.names
        times = self.times()
        cols: dict[str, pa.Array] = {
            "run_id": pa.array([self.run_id] * (n_city * n_step), pa.string()),
            "scenario_hash": pa.array([self.scenario.hash()] * (n_city * n_step), pa.string()),
            "seed": pa.array(np.full(n_city * n_step, self.seed, dtype=np.int64)),
            "replicate": pa.array(np.full(n_city * n_step, self.replicate, dtype=np.int64)),
            "step": pa.array(np.tile(np.arange(n_step, dtype=np.int64), n_city)),
            "time": pa.array(times * n_city, pa.timestamp("s")),
            "city": pa.array([name for name in names for _ in range(n_step)], pa.string()),
        }
        for i, name in enumerate(codes.OUT_ALL_NAMES):
            cols[name] = pa.array(self.counts[:, :, i].reshape(-1))
        for name in recorded(type(self.scenario)):
            cols[name] = pa.array(self.reports[name].reshape(-1))
        if self.people_counts is not None:
            for i, name in enumerate(codes.PEOPLE_NAMES):
                cols["people_" + name] = pa.array(self.people_counts[:, :, i].reshape(-1))
        cols["citizens"] = pa.array(np.repeat(self.citizens, n_step))
        cols["residents_per_agent"] = pa.array(np.full(n_city * n_step, self.residents_per_agent))
        meta = {b"uprising.country_scenario": json.dumps(self.scenario.to_dict()).encode(),
                b"uprising.seed": str(self.seed).encode(), b"uprising.replicate": str(self.replicate).encode()}
        return pa.table(cols).replace_schema_metadata(meta)

    def to_parquet(self, path: str | Path) -> Path:
        """Write the tidy table (the scenario, as JSON, in the file's metadata)."""
        return write_parquet(self.table, path)


def simulate_country(scenario: CountryScenario, seed: int = 0, replicate: int = 0, *,
                     progress: ProgressCallback | None = None, progress_every: int = 24,
                     snapshot_every: int | None = None, snapshot_cities: list[str] | None = None,
                     threads: int = 1) -> CountryResult:
    """Run ``scenario`` over its clock from ``seed`` (replicate ``replicate``).

    ``progress(done, total)`` is called every ``progress_every`` steps and at the end.
    ``snapshot_every=k`` keeps the lattices of ``snapshot_cities`` (default: all) every
    ``k`` steps and at step 0, as cell kinds (``codes.EMPTY`` .. ``codes.VIOLENT``).
    ``threads > 1`` advances the cities side by side in that many threads of this process
    (the same results bit for bit; use it for one large run, not inside a pool of processes).
    """
    cm = country_model.init(scenario, seed, replicate)
    ticks = cm.ctx.clock.ticks
    n = cm.ctx.n
    counts = np.zeros((n, ticks + 1, codes.OUT_ALL_SIZE), dtype=np.int64)
    people = None
    if scenario.repression.casualties == "people":
        # super-individuals: every agent stands for 1/scale people (as in_people), counted from streams of their own
        people = np.zeros((n, ticks + 1, codes.PEOPLE_SIZE), dtype=np.int64)
        clock = cm.ctx.clock
        first = clock.day_of(1)
        step_day = np.array([(clock.day_of(k) - first).days for k in range(1, ticks + 1)], dtype=np.int64)
        for city, state in zip(scenario.cities, cm.states):
            model_one.count_people(state, 1.0 / scenario.scale, people_seed(seed, replicate, city.name))
            model_one.count_participants(state, step_day)  # daily participants (observables.participants_by_day)
    counts[:, 0] = cm.initial_counts()
    reports = {name: np.full((n, ticks + 1), np.nan) for name in recorded(type(scenario))}
    reports["legitimacy"][:, 0] = cm.ctx.base_legitimacy
    reports["cop_target"][:, 0] = cm.ctx.police
    wanted = [] if not snapshot_every else (snapshot_cities or list(cm.ctx.names))
    unknown = [c for c in wanted if c not in cm.ctx.names]
    if unknown:
        raise ValueError(f"snapshot_cities: unknown city {unknown[0]!r}; allowed: {', '.join(cm.ctx.names)}")
    snapshots: dict[str, dict[int, np.ndarray]] = {c: {} for c in wanted}

    def snap(k: int) -> None:
        for name in wanted:
            i = cm.ctx.names.index(name)
            sc = cm.models[i].scenario
            snapshots[name][k] = cm.states[i].kinds().reshape(sc.height, sc.width).copy()

    if wanted:
        snap(0)
    start = time.perf_counter()
    pool = cf.ThreadPoolExecutor(threads, thread_name_prefix="uprising-city") if threads > 1 else None
    try:
        for k in range(1, ticks + 1):
            out, inputs = cm.step(k, pool)
            counts[:, k] = out
            if people is not None:
                for c, state in enumerate(cm.states):
                    people[c, k] = state.people_last[0]
            reports["legitimacy"][:, k] = inputs.legitimacy
            reports["cop_target"][:, k] = inputs.cop_target
            for name, values in inputs.report.items():
                if name in reports:
                    reports[name][:, k] = values
            if wanted and k % snapshot_every == 0:
                snap(k)
            if progress is not None and (k % progress_every == 0 or k == ticks):
                progress(k, ticks)
    finally:
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)
    wall = time.perf_counter() - start
    return CountryResult(scenario, seed, replicate, counts, reports, cm.ctx.agents.copy(), snapshots, wall, people)


def read_country_results(path: str | Path) -> list[CountryResult]:
    """The runs in a country result table (``uprising run``'s Parquet), rebuilt as :class:`CountryResult` objects.

    The runs of the scenario stored in the file's metadata are rebuilt, in replicate order; rows of other
    scenarios (a comparison's variants) are left out. Raises ``ValueError`` for a table of another kind.
    """
    table, scenario = read_country_parquet(path)
    if scenario is None:
        raise ValueError(f"{path}: not a country result table (no uprising.country_scenario in its metadata)")
    return country_results_from_table(table, scenario, source=str(path))


def country_results_from_table(table: pa.Table, scenario: CountryScenario, source: str = "<table>") -> list[CountryResult]:
    """The runs of ``scenario`` in a country result table (:attr:`CountryResult.table`'s columns), rebuilt, in
    replicate order; rows of other scenarios are left out. Raises ``ValueError`` when it holds none."""
    path = source
    want = scenario.hash()
    names = [c.name for c in scenario.cities]
    cols = {name: table.column(name).to_numpy() for name in table.column_names
            if name in ("scenario_hash", "seed", "replicate", "step", "city", "citizens", *codes.OUT_ALL_NAMES,
                        *REPORTED)}
    city_index = {name: i for i, name in enumerate(names)}
    out = []
    keys = sorted({(int(s), int(r)) for h, s, r in zip(cols["scenario_hash"], cols["seed"], cols["replicate"])
                   if h == want}, key=lambda k: (k[1], k[0]))
    if not keys:
        raise ValueError(f"{path}: no run of the scenario in its metadata ({scenario.name})")
    for seed, replicate in keys:
        rows = np.nonzero((cols["scenario_hash"] == want) & (cols["seed"] == seed) & (cols["replicate"] == replicate))[0]
        city = np.array([city_index[c] for c in cols["city"][rows]])
        step = cols["step"][rows].astype(np.int64)
        n_step = int(step.max()) + 1
        counts = np.zeros((len(names), n_step, codes.OUT_ALL_SIZE), dtype=np.int64)
        for i, name in enumerate(codes.OUT_ALL_NAMES):
            counts[city, step, i] = cols[name][rows]
        reports = {}
        for name in REPORTED:
            arr = np.full((len(names), n_step), np.nan)
            if name in cols:  # a table written before this report existed keeps NaN (not recorded)
                arr[city, step] = cols[name][rows]
            reports[name] = arr
        citizens = np.zeros(len(names), dtype=np.int64)
        citizens[city] = cols["citizens"][rows]
        people = None
        if "people_" + codes.PEOPLE_NAMES[0] in table.column_names:
            people = np.zeros((len(names), n_step, codes.PEOPLE_SIZE), dtype=np.int64)
            for i, name in enumerate(codes.PEOPLE_NAMES):
                if "people_" + name in table.column_names:  # a table written before the column existed: zeros
                    people[city, step, i] = table.column("people_" + name).to_numpy()[rows]
        out.append(CountryResult(scenario, seed, replicate, counts, reports, citizens, people_counts=people))
    return out


def read_country_parquet(path: str | Path) -> tuple[pa.Table, CountryScenario | None]:
    """Read a country result table and the scenario stored in its metadata."""
    table = pq.read_table(path)
    text = (table.schema.metadata or {}).get(b"uprising.country_scenario")
    if text is None:
        return table, None
    return table, CountryScenario.from_dict(json.loads(text.decode()), source=str(path))
