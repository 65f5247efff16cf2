"""What the coverage phase costs and buys: the default `advalidate run` with and without its probes.

Each run is a fresh process (as the user runs it), interleaved, ``--repeat`` times; the table gives the median
wall time of the campaign (results.json's duration), the examples, the findings and the primitive x backend
pairs no example exercised.

    python benchmarks/coverage.py [--repeat 3] [--backend numpy-ref ...] [--max-examples 120]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path


def run(flags, extra) -> dict:
    with tempfile.TemporaryDirectory() as out:
        subprocess.run([sys.executable, "-m", "advalidate.cli", "run", "--out", out, *flags, *extra],
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
        return json.loads((Path(out) / "results.json").read_text())


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--backend", action="append", default=[])
    p.add_argument("--max-examples", type=int, default=None)
    args = p.parse_args(argv)
    extra = [f"--backend={b}" for b in args.backend]
    if args.max_examples:
        extra.append(f"--max-examples={args.max_examples}")
    modes = {"with probes (default)": ["--probes"], "without probes": ["--no-probes"]}
    runs = {m: [] for m in modes}
    for _ in range(args.repeat):
        for mode, flags in modes.items():
            runs[mode].append(run(flags, extra))
    print("| run | examples + probes | findings (unexpected) | campaign time, median | primitive x backend pairs "
          "not exercised |")
    print("| --- | --- | --- | --- | --- |")
    for mode, results in runs.items():
        r = results[0]
        s = r["summary"]
        pairs = sum(len(v) for v in (s.get("unexercised") or {}).values())
        times = [x["duration_s"] for x in results]
        print(f"| {mode} | {s['examples']} + {s.get('probes', 0)} | {s['findings']} ({s['unexpected']}) | "
              f"{statistics.median(times):.1f} s ({', '.join(f'{t:.1f}' for t in times)}) | {pairs} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
