"""Examples per second with 1 and 2 workers, side by side in one run (goal: >= 1.7x on 2 cores).

Usage: python benchmarks/scale.py [--max-examples N] [--backend NAME ...] [--workers 1 2 ...]

Two workloads by default: every backend (2,400 examples, about 7 minutes) and the backends without XLA
(numpy-ref, torch, autograd; 6,000 examples, about 3 minutes). Each row is ``advalidate run --workers W --no-cost`` on the same budget and seed, in a fresh output folder;
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


WORKLOADS = {  # name: (backends, default budget); None: every installed backend
    "all backends": (None, 2400),
    "without XLA": (["numpy-ref", "torch", "autograd"], 6000),
}


def table(name: str, backends, max_examples: int, workers) -> None:
    rows = [measure(w, max_examples, backends) for w in workers]
    base = rows[0]["examples"] / rows[0]["wall"]
    cores = os.cpu_count() or 1
    ceiling = cores / (rows[0]["cpu"] / rows[0]["wall"])
    print(f"\n{name} ({', '.join(backends) if backends else 'every installed backend'}): {max_examples} examples, "
          f"{cores} cores; ceiling {ceiling:.2f}x (= {cores} cores / cores busy with 1 worker)")
    print(f"{'workers':>7s} {'examples':>8s} {'split':>11s} {'findings':>8s} {'wall s':>7s} {'CPU s':>7s} "
          f"{'cores':>5s} {'examples/s':>10s} {'speed-up':>8s}")
    for r in rows:
        rate = r["examples"] / r["wall"]
        print(f"{r['workers']:7d} {r['examples']:8d} {r['split']:>11s} {r['findings']:8d} {r['wall']:7.1f} "
              f"{r['cpu']:7.1f} {r['cpu'] / r['wall']:5.2f} {rate:10.2f} {rate / base:8.2f}", flush=True)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--max-examples", type=int, default=None,
                        help="the budget of every row (default: 2400 with all backends, 6000 without XLA)")
    parser.add_argument("--backend", action="append", default=None,
                        help="measure these backends only (repeatable; default: the two workloads above)")
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    args = parser.parse_args(argv)
    workloads = {"selected": (args.backend, 2400)} if args.backend else WORKLOADS
    for name, (backends, budget) in workloads.items():
        table(name, backends, args.max_examples or budget, args.workers)


if __name__ == "__main__":
    main()
