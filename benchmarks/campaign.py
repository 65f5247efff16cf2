"""Campaign throughput: examples per second per backend, and where the time goes, cold and warm.

Usage: python benchmarks/campaign.py [--max-examples N] [--seed S] [--dtype float64|float32]
       python benchmarks/campaign.py --compare OLD_CHECKOUT [--repeat 3] [--max-examples 120]

First the **cold** figure: ``advalidate run`` with every installed backend in a fresh process, as a user runs
it (imports, JAX's per-primitive compilations and every ``jax.jit`` program compiled from nothing; no
persistent compilation cache: ``JAX_COMPILATION_CACHE_DIR`` is removed from its environment). Then the
**warm** ones, in this process: each backend alone (same seed, so the same generated examples), then all of
them together, as `advalidate run` does, after the single runs have warmed JAX's caches.

Shares are of the campaign's wall time: generation (Hypothesis drawing functions and points), the oracle, each
backend's VJP, the error model (tolerances, including the float reference runs), work counting, and shrinking
the findings. The backends that may run concurrently (``advalidate.check.concurrent``: JAX, PyTorch, plug-ins in
a worker process) compute their VJPs and work in threads of their own while the oracle runs, so with several
backends these parts overlap and their shares add up to more than 100%; ``waiting`` is the main thread idle
until a backend's thread ended (part of "other").

``--compare OLD`` measures the speed-up of this checkout over another (a ``git worktree`` of an older commit):
``--repeat`` cold runs of each, interleaved (old, new, old, new, ...: the machine's load hits both alike), each
``advalidate run --out TMP`` with the default settings in a fresh process with that checkout first on
``PYTHONPATH``. It prints every run and the medians of the process's wall time and of the campaign's time.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

HEAD = (f"{'backends':34s} {'examples/s':>10s} {'findings':>8s} | {'generation':>10s} {'oracle':>7s} "
        f"{'VJPs':>6s} {'error model':>11s} {'counting':>8s} {'shrinking':>9s} {'other':>6s}")


def _row(label, results) -> str:
    seconds = results["stats"]["seconds"]
    wall = results["duration_s"]
    share = {
        "generation": seconds.get("generation", 0),
        "oracle": seconds.get("oracle", 0) + seconds.get("oracle (one-sided)", 0),
        "vjp": sum(v for k, v in seconds.items() if k.startswith("vjp ")),
        "error model": seconds.get("error model", 0),
        "counting": sum(v for k, v in seconds.items() if k.startswith("work ")),
        "shrinking": seconds.get("shrinking", 0),
    }
    share["other"] = max(wall - sum(share.values()), 0, seconds.get("waiting", 0))
    cells = " ".join(f"{100 * share[k] / wall:>{w}.0f}%" for k, w in
                     [("generation", 9), ("oracle", 6), ("vjp", 5), ("error model", 10), ("counting", 7),
                      ("shrinking", 8), ("other", 5)])
    return f"{label:34s} {results['summary']['examples'] / wall:10.1f} {results['summary']['findings']:8d} | {cells}"


# The workload of `advalidate run` before issue 14 (regular points only, no probes, no known-behaviour replay): the
# new checkout runs it with these flags when compared with an older one, so both do the same work
BEFORE_ISSUE_14 = ["--no-special", "--no-probes", "--no-known-replay"]


def cold_run(checkout: Path, max_examples: int | None, seed: int, dtype: str, flags=()) -> dict:
    """``advalidate run`` in a fresh process with ``checkout`` first on the path: its wall time and results."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("JAX_COMPILATION_CACHE")}
    env["PYTHONPATH"] = os.pathsep.join([str(checkout), str(checkout / "plugins" / "advalidate-autograd")])
    with tempfile.TemporaryDirectory(prefix="advalidate-cold-") as out:
        command = [sys.executable, "-c", "import sys; from advalidate.cli import main; sys.exit(main())", "run",
                   "--out", out, "--seed", str(seed), "--dtype", dtype, *flags]
        if max_examples:
            command += ["--max-examples", str(max_examples)]
        start, before = time.perf_counter(), resource.getrusage(resource.RUSAGE_CHILDREN)
        done = subprocess.run(command, env=env, cwd=out, capture_output=True, text=True)
        wall = time.perf_counter() - start
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
        load = os.getloadavg()[0]
        path = Path(out) / "results.json"
        if not path.exists():
            raise RuntimeError(f"advalidate run in {checkout} wrote no results (exit {done.returncode}):\n"
                               f"{done.stderr[-2000:]}")
        results = json.loads(path.read_text())
    return {"wall": wall, "cpu": cpu, "load": load, "results": results}


def compare(old: Path, repeat: int, max_examples: int | None, seed: int, dtype: str):
    runs = {"old": [], "new": []}
    print(f"{'run':8s} {'checkout':30s} {'process s':>9s} {'campaign s':>10s} {'CPU s':>7s} {'load':>5s} "
          f"{'examples':>8s} {'findings':>8s}")
    for i in range(repeat):
        for label, tree in (("old", old), ("new", ROOT)):
            r = cold_run(tree, max_examples, seed, dtype, BEFORE_ISSUE_14 if label == "new" else ())
            runs[label].append(r)
            s = r["results"]["summary"]
            print(f"{label} {i + 1:<4d} {str(tree):30s} {r['wall']:9.1f} {r['results']['duration_s']:10.1f} "
                  f"{r['cpu']:7.1f} {r['load']:5.1f} {s['examples']:8d} {s['findings']:8d}", flush=True)
    med = {k: (statistics.median(r["wall"] for r in v), statistics.median(r["results"]["duration_s"] for r in v),
               statistics.median(r["cpu"] for r in v)) for k, v in runs.items()}
    print(f"\nmedian of {repeat} interleaved cold runs: process {med['old'][0]:.1f} s -> {med['new'][0]:.1f} s "
          f"({med['old'][0] / med['new'][0]:.2f}x), campaign {med['old'][1]:.1f} s -> {med['new'][1]:.1f} s "
          f"({med['old'][1] / med['new'][1]:.2f}x), CPU {med['old'][2]:.1f} s -> {med['new'][2]:.1f} s "
          f"({med['old'][2] / med['new'][2]:.2f}x; the load column is the 1-minute load average at the end of each run: "
          f"overlap gains wall time only where a core is idle)")
    def verdicts(r):  # what the runs must agree on: the same examples drawn and judged alike
        res = r["results"]
        return ([(f["backend"], f["kind"], f["signature"]) for f in res["findings"]], res["summary"]["points"],
                res["stats"]["backends"], res["stats"]["error_ratios"], res["stats"]["cost_ratios"])

    every = [verdicts(r) for r in runs["old"] + runs["new"]]
    print("same findings, points, per-backend counts, error and cost ratios in every run:",
          all(v == every[0] for v in every))
    print()
    print(HEAD)
    print("-" * len(HEAD))
    for label in ("old", "new"):
        middle = sorted(runs[label], key=lambda r: r["results"]["duration_s"])[len(runs[label]) // 2]
        print(_row(f"cold, all together ({label})", middle["results"]))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--max-examples", type=int, default=None,
                        help="examples per campaign (default: advalidate run's default for the cold runs, 100 warm)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--dtype", default="float64", choices=["float64", "float32"])
    parser.add_argument("--compare", type=Path, metavar="OLD_CHECKOUT",
                        help="interleaved cold runs of OLD_CHECKOUT and of this checkout, and their medians")
    parser.add_argument("--repeat", type=int, default=3, help="cold runs of each checkout with --compare")
    args = parser.parse_args()
    if args.compare:
        if not (args.compare / "advalidate").is_dir():
            parser.error(f"--compare {args.compare}: not an advalidate checkout (no advalidate/ folder in it)")
        compare(args.compare, args.repeat, args.max_examples, args.seed, args.dtype)
        return

    print(HEAD)
    print("-" * len(HEAD))
    cold = cold_run(ROOT, args.max_examples, args.seed, args.dtype)
    n = len(cold["results"]["settings"]["backends"])
    print(_row(f"all {n}, cold (fresh process)", cold["results"]) + f"   [process {cold['wall']:.1f} s]", flush=True)

    from advalidate.campaign import Campaign, Settings
    from advalidate.backends.registry import load_backends

    backends, errors = load_backends()
    for name, why in errors.items():
        print(f"(skipping {name}: {why})")
    backends = [b for b in backends if args.dtype in b.dtypes]
    runs = [[b] for b in backends] + ([backends] if len(backends) > 1 else [])
    for group in runs:
        settings = Settings(max_examples=args.max_examples or 100, seed=args.seed, dtype=args.dtype)
        results = Campaign(group, settings).run()
        label = "+".join(b.name for b in group) if len(group) < 4 else f"all {len(group)} together, warm"
        print(_row(label, results), flush=True)


if __name__ == "__main__":
    main()
