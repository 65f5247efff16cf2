"""Examples per second with 1 and 2 workers, side by side in one run (goal: >= 1.7x on 2 cores).

Usage: python benchmarks/scale.py [--max-examples N] [--backend NAME ...]

Both runs are `advalidate run` on the same budget and seed (2 workers: two shard tests under pytest-xdist,
merged); the wall time includes start-up (imports, worker processes), as a user sees it.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--max-examples", type=int, default=240)
    parser.add_argument("--backend", action="append", default=None)
    args = parser.parse_args()
    rows = []
    for workers in (1, 2):
        with tempfile.TemporaryDirectory() as out:
            command = [sys.executable, "-m", "advalidate.cli", "run", "--workers", str(workers), "--no-cost",
                       "--max-examples", str(args.max_examples), "--out", out]
            command += [f"--backend={b}" for b in args.backend or []]
            started = time.time()
            subprocess.run(command, capture_output=True, text=True)
            wall = time.time() - started
            results = json.loads((Path(out) / "results.json").read_text())
            rows.append((workers, results["summary"]["examples"], wall))
    base = rows[0][1] / rows[0][2]
    print(f"{'workers':>7s} {'examples':>8s} {'wall s':>7s} {'examples/s':>10s} {'speed-up':>8s}")
    for workers, examples, wall in rows:
        print(f"{workers:7d} {examples:8d} {wall:7.1f} {examples / wall:10.2f} {examples / wall / base:8.2f}")


if __name__ == "__main__":
    main()
