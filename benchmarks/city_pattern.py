"""Where the violence is: an ensemble of a country scenario scored against the record's per-city pattern.

Runs ``--replicates`` runs of ``--scenario`` (default ``scenarios/kazakhstan-2022.toml`` at its own scale) from
``--seed`` (the runs of ``uprising run --seed S --replicates R``), or reads them from ``--parquet`` (a table
written by ``uprising run``), and scores them with :func:`uprising.country.fit.score_city_pattern` against
``data/kz2022/city_pattern.csv``. Prints the per-city table and the checks as Markdown
(docs/kazakhstan.md, "Where the violence is: the record's pattern"); ``--json FILE`` keeps the numbers.

Usage: python benchmarks/city_pattern.py [--replicates 10] [--seed 101] [--set scale=0.02] [--workers 2]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scenario", type=Path, default=REPO / "scenarios" / "kazakhstan-2022.toml")
    ap.add_argument("--pattern", type=Path, default=REPO / "data" / "kz2022" / "city_pattern.csv")
    ap.add_argument("--replicates", type=int, default=10)
    ap.add_argument("--seed", type=int, default=101)
    ap.add_argument("--set", dest="sets", action="append", default=[], metavar="KEY=VALUE")
    ap.add_argument("--workers", type=int, default=None)
    ap.add_argument("--parquet", type=Path, default=None, help="score the runs of this table instead of running")
    ap.add_argument("--json", type=Path, default=None)
    args = ap.parse_args()

    from uprising.country import fit as F

    record = F.load_city_pattern(args.pattern)
    if args.parquet is not None:
        from uprising.country.simulate import read_country_results

        results = read_country_results(args.parquet)
        what = f"the {len(results)} runs of {args.parquet}"
    else:
        from uprising import execution as E
        from uprising.country.scenario import CountryScenario
        from uprising.scenario import parse_sets

        scenario = CountryScenario.load(args.scenario)
        if args.sets:
            scenario = scenario.replace(parse_sets(args.sets, "--set"), source="--set")
        with E.executor_for(args.workers) as ex:
            results = E.run_many(E.tasks(scenario, args.replicates, args.seed), ex)
        what = (f"{args.replicates} runs of {args.scenario.name} from seed {args.seed} at scale {scenario.scale:g}"
                f" [{scenario.hash()}]")
    s = F.score_city_pattern(record, results)
    lines = [f"Scored: {what}; means over the runs.", "",
             "| city | record | model (rank cut) | violent person-hours | per 1,000 residents | deaths |",
             "|---|---|---|---|---|---|"]
    lines += [f"| {r['city']} | {r['record']} | {r['model']} | {r['violent_person_hours']:,} | "
              f"{r['violent_person_hours_per_1000']:,.1f} | {r['deaths']:,.0f} |" for r in s.rows()]
    lines += ["", "| check | on the means | share of runs |", "|---|---|---|"]
    lines += [f"| {k} | {'yes' if v else 'no' if v is not None else 'n/a'} | "
              f"{'n/a' if s.runs_passing[k] is None else format(s.runs_passing[k], '.0%')} |" for k, v in s.checks.items()]
    spearman = "undefined" if s.spearman is None else f"{s.spearman:+.2f}"
    lines += ["", f"Class agreement {s.class_agreement:.0%} ({round(s.class_agreement * len(s.cities))} of "
              f"{len(s.cities)} cities); peaceful / not peaceful agreement {s.peaceful_agreement:.0%}; Spearman "
              f"rank correlation of the record's order with violent person-hours per resident {spearman}."]
    print("\n".join(lines))
    if args.json:
        args.json.write_text(json.dumps({"scored": what, "rows": s.rows(), "checks": s.checks,
                                         "runs_passing": s.runs_passing, "class_agreement": s.class_agreement,
                                         "peaceful_agreement": s.peaceful_agreement, "spearman": s.spearman},
                                        indent=1), encoding="utf-8")


if __name__ == "__main__":
    main()
