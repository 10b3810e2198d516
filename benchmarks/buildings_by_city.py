"""Where the buildings are attacked, seized, burnt and looted in a country scenario with the ``sites`` mechanism on,
against the cities the record names (issue 14: finite targets).

    python benchmarks/buildings_by_city.py SCENARIO [--runs 20] [--seed 1] [--scale 0.005] [--out CSV]

Per city, the means over the runs of the buildings attacked (government and police among them), seized at
some time, burnt and looted by the end of the run, and the people injured over buildings; then the share of
all buildings attacked that lie in the cities the official tally names (targets.csv ``buildings_attacked``:
Almaty, Taldykorgan, Taraz, Shymkent, Kyzylorda, Oskemen (Ust-Kamenogorsk), Aktobe, Atyrau, Semey) and the
cities where the record has a building burnt (city_events.csv ``building_burnt``: Almaty, Taraz,
Taldykorgan). The scenario's targets are not read and nothing is fitted here.
"""
from __future__ import annotations

import argparse
import csv
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))

from uprising.country.scenario import CountryScenario  # noqa: E402
from uprising.execution import default_executor, run_many, tasks  # noqa: E402

#: the cities of targets.csv's buildings_attacked row (Ust-Kamenogorsk is Oskemen)
TALLY = ("Almaty", "Taldykorgan", "Taraz", "Shymkent", "Kyzylorda", "Oskemen", "Aktobe", "Atyrau", "Semey")
#: cities with a building_burnt row in data/kz2022/city_events.csv
BURNT = ("Almaty", "Taraz", "Taldykorgan")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("scenario")
    ap.add_argument("--runs", type=int, default=20)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--scale", type=float, default=0.005)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--out", default=None)
    a = ap.parse_args()
    sc = CountryScenario.load(a.scenario).replace({"scale": a.scale})
    if not sc.sites.enabled:
        sys.exit(f"{a.scenario}: sites.enabled: the sites mechanism is off; allowed: a scenario with [sites] enabled = true")
    with default_executor(a.workers) as ex:
        results = run_many(tasks(sc, a.runs, a.seed), ex)
    names = results[0].names
    last = lambda name: np.array([np.nan_to_num(r.reports[name][:, -1]) for r in results])  # noqa: E731
    injured = np.array([np.nansum(r.reports["site_injured_security"], axis=1) for r in results])
    table = {"buildings_attacked": last("buildings_attacked"), "government_attacked": last("government_attacked"),
             "police_attacked": last("police_attacked"), "buildings_burnt": last("buildings_burnt"),
             "shops_looted": last("shops_looted"), "security_injured_over_buildings": injured}
    rows = []
    for i, city in enumerate(names):
        rows.append({"city": city, "in_tally": city in TALLY, "burnt_in_record": city in BURNT,
                     **{k: round(float(v[:, i].mean()), 1) for k, v in table.items()}})
    total = table["buildings_attacked"].sum(axis=1)
    in_tally = table["buildings_attacked"][:, [names.index(c) for c in TALLY if c in names]].sum(axis=1)
    burnt = table["buildings_burnt"]
    burnt_share = burnt[:, [names.index(c) for c in BURNT if c in names]].sum(axis=1) / np.maximum(burnt.sum(axis=1), 1)
    print(f"{a.scenario}: {a.runs} runs at scale {a.scale}, seed {a.seed}")
    print(f"{'city':12s} {'tally':>5s} {'attacked':>9s} {'govt':>6s} {'police':>6s} {'burnt':>6s} {'looted':>7s} {'sec.inj':>8s}")
    for r in sorted(rows, key=lambda r: -r["buildings_attacked"]):
        print(f"{r['city']:12s} {'yes' if r['in_tally'] else 'no':>5s} {r['buildings_attacked']:9.1f} {r['government_attacked']:6.1f} "
              f"{r['police_attacked']:6.1f} {r['buildings_burnt']:6.1f} {r['shops_looted']:7.1f} {r['security_injured_over_buildings']:8.1f}")
    share = in_tally / np.maximum(total, 1)
    print(f"share of buildings attacked in the tally's 9 cities: {share.mean():.2f} (runs 5-95%: "
          f"{np.percentile(share, 5):.2f}-{np.percentile(share, 95):.2f}); their share of the residents: "
          f"{sum(c.population for c in sc.cities if c.name in TALLY) / sum(c.population for c in sc.cities):.2f}")
    print(f"share of burnt buildings in the record's 3 cities with a building burnt: {burnt_share.mean():.2f}")
    if a.out:
        with open(a.out, "w", newline="") as fh:
            w = csv.DictWriter(fh, fieldnames=list(rows[0]))
            w.writeheader()
            w.writerows(rows)
        print(f"table: {a.out}")


if __name__ == "__main__":
    main()
