"""The country model's speed per core on the Kazakhstan v2 scenario: this checkout against an earlier commit, and
the calibration's scale against the smaller one the posterior's counterfactuals run at, all in the same run.

Each configuration runs in its own single-threaded process (as a worker of a sweep does), ``--runs`` whole runs
of ``simulate_country`` (initialisation, every step, the recording) after one warm-up run that is not counted;
the configurations take turns, ``--rounds`` times, so that the machine's load falls on all of them alike. For
each it reports the median seconds per run and the agent-steps per second per core (citizens and cops, every
step, over the whole run's wall time; and over the steps' loop alone, the kernel's rate).

``--before REF`` adds the commit REF (its ``src/`` unpacked by ``git archive`` into a temporary folder) at the
first scale: the "before" of a speed change. ``--write`` replaces the section between the markers below in
BENCHMARKS.md.

Usage: python benchmarks/country_speed.py [--before REF] [--scales 0.005 0.0025] [--runs 3] [--rounds 3] [--write]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SCENARIO = REPO / "scenarios" / "kazakhstan-2022-v2.toml"
START = "<!-- country-speed:start -->"
END = "<!-- country-speed:end -->"
ENV = {"NUMBA_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


def worker(scale: float, runs: int, seed: int) -> None:
    """Print one JSON line per counted run (this process: one core)."""
    from uprising.country.scenario import CountryScenario
    from uprising.country.simulate import simulate_country

    scenario = CountryScenario.load(SCENARIO).replace({"scale": scale}, source=f"{SCENARIO} --scale")
    for r in range(runs + 1):
        started = time.perf_counter()
        result = simulate_country(scenario, seed, r)
        wall = time.perf_counter() - started
        cops = int(result.column("cops")[:, 1:].sum())
        agent_steps = int(result.citizens.sum()) * result.steps + cops
        if r:  # the first run warms the caches (numba's compiled kernels read from disk)
            print(json.dumps({"wall_s": wall, "loop_s": result.wall_seconds, "agent_steps": agent_steps}), flush=True)


def unpack(ref: str, into: Path) -> Path:
    """``src/`` of commit ``ref`` unpacked into ``into``; returns the folder to put on PYTHONPATH."""
    archive = subprocess.run(["git", "-C", str(REPO), "archive", ref, "src"], check=True, capture_output=True).stdout
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive, check=True)
    return into / "src"


def run_config(src: Path, scale: float, runs: int, seed: int) -> list[dict]:
    env = {**os.environ, **ENV, "PYTHONPATH": str(src)}
    proc = subprocess.run([sys.executable, __file__, "--worker", "--scale", repr(scale), "--runs", str(runs),
                           "--seed", str(seed)], env=env, capture_output=True, text=True, check=True, cwd=REPO)
    return [json.loads(line) for line in proc.stdout.splitlines() if line.startswith("{")]


def summarise(rows: list[dict]) -> dict:
    wall = statistics.median(r["wall_s"] for r in rows)
    return {"runs": len(rows), "wall_s": wall,
            "rate": statistics.median(r["agent_steps"] / r["wall_s"] for r in rows),
            "loop_rate": statistics.median(r["agent_steps"] / r["loop_s"] for r in rows),
            "agent_steps": statistics.median(r["agent_steps"] for r in rows)}


def section(result: dict) -> str:
    head = result["configs"][0]
    argv, skip = [], False
    for a in result["argv"]:  # the command as a reader would give it: no --json FILE, no --write
        if skip or a in ("--json", "--write"):
            skip = a == "--json"
            continue
        argv.append(a)
    lines = [START, "## The country model's speed per core (issue 15)", "",
             "Written by `python benchmarks/country_speed.py " + " ".join([*argv, "--write"]) + "`: "
             f"`scenarios/kazakhstan-2022-v2.toml`, {result['runs']} runs per configuration and round after a "
             f"warm-up, {result['rounds']} rounds taking turns, each configuration in its own one-thread process. "
             "Agent-steps per second per core over the whole run (initialisation, the mechanisms, the kernels, "
             "the recording) and over the steps' loop alone.", "",
             f"- machine: {result.get('machine', '?')}",
             f"- date: {result['date']}; load average before {result['load_before']}, after {result['load_after']}",
             "", "| code | scale | citizens x steps | seconds per run (median) | agent-steps/s per core, whole run | "
             "in the loop | speed per run against the first row |", "|---|---|---|---|---|---|---|"]
    for c in result["configs"]:
        s = c["summary"]
        lines.append(f"| {c['code']} | {c['scale']:g} | {s['agent_steps']:.3g} | {s['wall_s']:.2f} | "
                     f"{s['rate']:.3g} | {s['loop_rate']:.3g} | {head['summary']['wall_s'] / s['wall_s']:.2f}x |")
    lines += ["", END]
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--scale", type=float, default=0.005, help=argparse.SUPPRESS)
    ap.add_argument("--before", default=None, help="a commit to time at the first scale, before this checkout")
    ap.add_argument("--scales", type=float, nargs="+", default=[0.005, 0.0025])
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--write", action="store_true", help="replace the section in BENCHMARKS.md")
    ap.add_argument("--json", default=None, help="also write the measurements to this file")
    args = ap.parse_args()
    if args.worker:
        worker(args.scale, args.runs, args.seed)
        return
    with tempfile.TemporaryDirectory() as tmp:
        configs = []
        if args.before:
            sha = subprocess.run(["git", "-C", str(REPO), "rev-parse", "--short", args.before], check=True,
                                 capture_output=True, text=True).stdout.strip()
            configs.append({"code": f"before ({sha})", "src": unpack(args.before, Path(tmp)), "scale": args.scales[0]})
        head = subprocess.run(["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"], capture_output=True,
                              text=True).stdout.strip() or "this checkout"
        dirty = subprocess.run(["git", "-C", str(REPO), "status", "--porcelain", "src"], capture_output=True,
                               text=True).stdout.strip()
        for scale in args.scales:
            configs.append({"code": f"this checkout ({head}{'+changes' if dirty else ''})", "src": REPO / "src",
                            "scale": scale})
        rows: list[list[dict]] = [[] for _ in configs]
        load_before = os.getloadavg()[0]
        for rnd in range(args.rounds):
            for k, c in enumerate(configs):
                rows[k] += run_config(c["src"], c["scale"], args.runs, args.seed + 100 * rnd)
                print(f"round {rnd + 1}/{args.rounds}: {c['code']} at {c['scale']:g}: "
                      f"{summarise(rows[k])['wall_s']:.2f} s per run so far", file=sys.stderr, flush=True)
    from _mesa_runner import machine  # benchmarks/ is on sys.path when run as a script

    result = {"argv": sys.argv[1:], "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), "machine": machine(),
              "runs": args.runs, "rounds": args.rounds, "load_before": round(load_before, 2),
              "load_after": round(os.getloadavg()[0], 2),
              "configs": [{"code": c["code"], "scale": c["scale"], "summary": summarise(r)}
                          for c, r in zip(configs, rows)]}
    text = section(result)
    print(text)
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")
    if args.write:
        from _mesa_runner import replace_section

        replace_section(REPO / "BENCHMARKS.md", text.removeprefix(START).removesuffix(END).strip("\n"), START, END)


if __name__ == "__main__":
    main()
