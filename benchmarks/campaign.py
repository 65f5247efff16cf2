"""Campaign throughput: examples per second per backend, and where the time goes.

Usage: python benchmarks/campaign.py [--max-examples N] [--seed S] [--dtype float64|float32]

Each installed backend runs the default campaign alone (same seed, so the same generated examples), then all
of them together, as `advalidate run` does. Shares are of the campaign's wall time: generation (Hypothesis
drawing functions and points), the oracle, each backend's VJP, the error model (tolerances, including the
float reference runs), work counting, and shrinking the findings.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--max-examples", type=int, default=100)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--dtype", default="float64", choices=["float64", "float32"])
    args = parser.parse_args()

    from advalidate.campaign import Campaign, Settings
    from advalidate.backends.registry import load_backends

    backends, errors = load_backends()
    for name, why in errors.items():
        print(f"(skipping {name}: {why})")
    backends = [b for b in backends if args.dtype in b.dtypes]
    runs = [[b] for b in backends] + ([backends] if len(backends) > 1 else [])
    head = (f"{'backends':34s} {'examples/s':>10s} {'findings':>8s} | {'generation':>10s} {'oracle':>7s} "
            f"{'VJPs':>6s} {'error model':>11s} {'counting':>8s} {'shrinking':>9s} {'other':>6s}")
    print(head)
    print("-" * len(head))
    for group in runs:
        settings = Settings(max_examples=args.max_examples, seed=args.seed, dtype=args.dtype)
        results = Campaign(group, settings).run()
        seconds = results["stats"]["seconds"]
        wall = results["duration_s"]
        share = {
            "generation": seconds.get("generation", 0), "oracle": seconds.get("oracle", 0)
            + seconds.get("oracle (one-sided)", 0),
            "vjp": sum(v for k, v in seconds.items() if k.startswith("vjp ")),
            "error model": seconds.get("error model", 0),
            "counting": sum(v for k, v in seconds.items() if k.startswith("work ")),
            "shrinking": seconds.get("shrinking", 0),
        }
        share["other"] = max(wall - sum(share.values()), 0)
        label = "+".join(b.name for b in group) if len(group) < 4 else f"all {len(group)} together"
        cells = " ".join(f"{100 * share[k] / wall:>{w}.0f}%" for k, w in
                         [("generation", 9), ("oracle", 6), ("vjp", 5), ("error model", 10), ("counting", 7),
                          ("shrinking", 8), ("other", 5)])
        print(f"{label:34s} {results['summary']['examples'] / wall:10.1f} {results['summary']['findings']:8d} | {cells}",
              flush=True)


if __name__ == "__main__":
    main()
