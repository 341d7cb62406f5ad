"""Benchmark: how fast the `payerfleet` command answers, against a bare Python start in the same run.

    .venv/bin/python bench/cli_startup_bench.py [--runs 9]

Each command runs --runs times as a whole process (the installed `payerfleet` console script, as a
user types it), interleaved so load on the machine hits every command alike; the figure is the
median wall time, with the median CPU time (user + system, from wait4) beside it. Baselines measured
in the same run: `python -c pass` (the floor: interpreter start-up) and an eager start-up that
imports what the commands themselves import (SQLAlchemy, Playwright, Procrastinate, the portal
packages: what every command paid before the CLI imported lazily).
Not a test: it prints figures and the goal, it does not judge them.
"""
from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

GOAL_S = 0.3
BIN = Path(sys.executable).parent
# What the command functions import when they run: loaded up front, this is the old start-up.
EAGER = ("import cli.main, core.config, core.store.models, core.store.migrate, core.vault, core.ingest, "
         "core.routing, evidence.verify, fleet.backends, fleet.procrastinate_backend, portals.registry, "
         "playwright.async_api, scheduler")


def run_once(argv: list[str]) -> tuple[float, float]:
    t0 = time.perf_counter()
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} exited {proc.returncode}")
    return wall, usage.ru_utime + usage.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=9)
    args = parser.parse_args()
    commands = {
        "python -c pass (baseline)": [sys.executable, "-c", "pass"],
        "eager imports (old start-up)": [sys.executable, "-c", EAGER],
        "payerfleet --help": [str(BIN / "payerfleet"), "--help"],
        "payerfleet edi parse --help": [str(BIN / "payerfleet"), "edi", "parse", "--help"],
    }
    for argv in commands.values():  # warm the file cache and .pyc files; not timed
        run_once(argv)
    samples: dict[str, list[tuple[float, float]]] = {name: [] for name in commands}
    for _ in range(args.runs):
        for name, argv in commands.items():
            samples[name].append(run_once(argv))
    wall = {n: statistics.median(w for w, _ in s) for n, s in samples.items()}
    cpu = {n: statistics.median(c for _, c in s) for n, s in samples.items()}
    floor, eager = wall["python -c pass (baseline)"], wall["eager imports (old start-up)"]
    print(f"CLI start-up, median of {args.runs} whole-process runs (load average {os.getloadavg()[0]:.1f})")
    print(f"{'command':<32} {'wall s':>7} {'cpu s':>7} {'x pass':>7} {'x eager':>8}  goal")
    for name in commands:
        goal = ""
        if name.startswith("payerfleet"):
            goal = f"< {GOAL_S} s wall: {'met' if wall[name] < GOAL_S else 'MISSED'}"
        print(f"{name:<32} {wall[name]:>7.3f} {cpu[name]:>7.3f} {wall[name] / floor:>7.1f} "
              f"{wall[name] / eager:>8.2f}  {goal}")


if __name__ == "__main__":
    main()
