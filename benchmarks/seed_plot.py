"""The seed question measured in every installed backend: work of f + VJP and of the full Jacobian against N
for f = f3∘f2∘f1 (N×H, H×H, H×N; H = 16), with fitted log-log slopes. Writes docs/seed-chain.svg (for the README)
and prints the slopes.

Usage: python benchmarks/seed_plot.py
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def main():
    from advalidate.backends.registry import load_backends
    from advalidate.cost.scaling import campaign_data
    from advalidate.plots import seed_chain

    backends, _ = load_backends()
    data = campaign_data([b for b in backends if b.name != "jax-jit"], families=("matrix-chain",))
    svg, why = seed_chain(data)
    if svg is None:
        raise SystemExit(why)
    (ROOT / "docs" / "seed-chain.svg").write_text(svg)
    print(f"{'backend':10s} {'H':>3s} {'VJP slope':>9s} {'Jacobian slope':>14s}  m-sweep ratio (m = 1 -> 4096)")
    for name, seed in data["seed"].items():
        sweep = data["outputs"][name][0]
        print(f"{name:10s} {seed['H']:3d} {seed['slope_vjp']:9.3f} {seed['slope_jacobian']:14.3f}  "
              f"{sweep['ratio'][0]:.2f} -> {sweep['ratio'][-1]:.2f} (full Jacobian {sweep['jacobian_ratio'][-1]:.0f})")


if __name__ == "__main__":
    main()
