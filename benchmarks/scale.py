"""Examples per second with 1 and 2 workers, side by side in one run (goal: >= 1.7x on 2 cores).

Usage: python benchmarks/scale.py [--max-examples N] [--backend NAME ...] [--workers 1 2 ...]

Each row is ``advalidate run --workers W --no-cost`` on the same budget and seed, in a fresh output folder;
the wall time includes everything a user waits for (imports, worker processes, merging, the report). The CPU
column is the processes' user+system time, and "cores" is CPU / wall: how much of the machine a row used.
A row whose 1-worker run already keeps more than one core busy (XLA compiles on a second thread) cannot
reach 2x on 2 cores: its ceiling is 2 / cores(1 worker).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def measure(workers: int, max_examples: int, backends) -> dict:
    with tempfile.TemporaryDirectory() as out:
        command = [sys.executable, "-m", "advalidate.cli", "run", "--workers", str(workers), "--no-cost",
                   "--max-examples", str(max_examples), "--out", out]
        command += [f"--backend={b}" for b in backends or []]
        cpu, started = _children_cpu(), time.perf_counter()
        done = subprocess.run(command, capture_output=True, text=True)
        wall, cpu = time.perf_counter() - started, _children_cpu() - cpu
        path = Path(out) / "results.json"
        if not path.exists():
            raise SystemExit(f"{' '.join(command)} wrote no results (exit {done.returncode}):\n{done.stderr[-2000:]}")
        results = json.loads(path.read_text())
    shards = [s["examples"] for s in results["progress"].get("shards", [])] or [results["summary"]["examples"]]
    return {"workers": workers, "examples": results["summary"]["examples"], "wall": wall, "cpu": cpu,
            "findings": results["summary"]["findings"], "split": "+".join(map(str, shards))}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--max-examples", type=int, default=1200)
    parser.add_argument("--backend", action="append", default=None, help="repeatable (default: every backend)")
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    args = parser.parse_args(argv)
    rows = [measure(w, args.max_examples, args.backend) for w in args.workers]
    base = rows[0]["examples"] / rows[0]["wall"]
    print(f"backends: {', '.join(args.backend) if args.backend else 'all'}; {args.max_examples} examples; "
          f"{os.cpu_count()} cores")
    print(f"{'workers':>7s} {'examples':>8s} {'split':>11s} {'findings':>8s} {'wall s':>7s} {'CPU s':>7s} "
          f"{'cores':>5s} {'examples/s':>10s} {'speed-up':>8s}")
    for r in rows:
        rate = r["examples"] / r["wall"]
        print(f"{r['workers']:7d} {r['examples']:8d} {r['split']:>11s} {r['findings']:8d} {r['wall']:7.1f} "
              f"{r['cpu']:7.1f} {r['cpu'] / r['wall']:5.2f} {rate:10.2f} {rate / base:8.2f}")


if __name__ == "__main__":
    main()
