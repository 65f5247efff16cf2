"""The cost of reverse mode, counted and timed, per backend, over output sizes m = 1 … 4096.

For the matrix chain f(x, A1, A2, A3) = A3 · tanh(A2 · tanh(A1 · x)) (input n = 64, hidden 16, output m):
work(f + VJP) / work(f) as counted by each backend's trace counter, the wall-time ratio of one VJP to one
forward, and the full Jacobian's work ratio (m VJPs, computed) for contrast. Then the counters' overhead:
wall time of a counted VJP against the same VJP uncounted.

    PYTHONPATH=. python benchmarks/cost.py [--sizes 1,16,256,4096] [--family matrix-chain]
"""

from __future__ import annotations

import argparse
import pathlib
import sys
import time

import numpy as np

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "plugins" / "advalidate-autograd")]

from advalidate import compile_function  # noqa: E402
from advalidate.backends import numpy_ref  # noqa: E402
from advalidate.cost import examples  # noqa: E402


def best_time(run, budget=0.05, repeats=5) -> float:
    """Seconds per call: the best of ``repeats`` batches, each sized to take about ``budget`` seconds."""
    run()
    t0 = time.perf_counter()
    run()
    one = max(time.perf_counter() - t0, 1e-7)
    n = max(1, int(budget / one))
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        for _ in range(n):
            run()
        best = min(best, (time.perf_counter() - t0) / n)
    return best


class Runner:
    """How one library runs f, its VJP, and its counted VJP."""

    def __init__(self, name):
        self.name = name

    def prepare(self, fn, xs, vs):
        name = self.name
        if name == "numpy-ref":
            ref = numpy_ref.NumpyReference()
            self.f = lambda: numpy_ref.forward(fn, xs)
            self.vjp = lambda: ref.vjp(fn, xs, vs)
            self.count = lambda: ref.work(fn, xs, vs)
        elif name in ("jax", "jax-jit"):
            import jax

            jax.config.update("jax_enable_x64", True)
            from advalidate.backends import jax_backend
            from advalidate.cost import jaxpr

            f = compile_function(fn, "jax")
            jx, jv = jaxpr._jax_arrays(xs), jaxpr._jax_arrays(vs)
            fwd = jax.jit(f) if name == "jax-jit" else f
            pull = (jax.jit(lambda a, b: jax_backend.reverse_mode(f, a, b)) if name == "jax-jit"
                    else lambda a, b: jax_backend.reverse_mode(f, a, b))
            self.f = lambda: jax.block_until_ready(fwd(*jx))
            self.vjp = lambda: jax.block_until_ready(pull(jx, jv))
            self.count = lambda: jaxpr.count_work(f, xs, vs)
            self.xla = lambda: jaxpr.xla_cost(f, xs, vs)
        elif name == "torch":
            import torch

            from advalidate.backends import torch_backend
            from advalidate.cost import dispatch

            torch.set_num_threads(1)  # one thread, like the others here: the ratio, not the parallelism

            f = compile_function(fn, "torch")
            tx = [torch.from_numpy(x) for x in xs]
            tv = [torch.from_numpy(v) for v in vs]

            def fwd():
                with torch.no_grad():
                    f(*tx)

            def vjp():
                torch_backend.reverse_mode(f, [t.detach().requires_grad_(True) for t in tx], tv)

            self.f, self.vjp = fwd, vjp
            self.count = lambda: dispatch.count_work(f, xs, vs)
        elif name == "autograd":
            from advalidate_autograd import work

            sys.path.insert(0, str(ROOT))
            from tests.cost_dialects import autograd_dialect

            f = compile_function(fn, autograd_dialect())
            self.f = lambda: f(*xs)
            self.vjp = lambda: work.standard_vjp(f, xs, vs)
            self.count = lambda: work.count_work(f, xs, vs)
        else:
            raise KeyError(name)
        return self


def available(names):
    import importlib.util

    mods = {"jax": "jax", "jax-jit": "jax", "torch": "torch", "autograd": "autograd"}
    return [n for n in names if n not in mods or importlib.util.find_spec(mods[n])]


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--sizes", default="1,4,16,64,256,1024,4096")
    p.add_argument("--family", default="matrix-chain", choices=sorted(examples.FAMILIES))
    p.add_argument("--n", type=int, default=64)
    p.add_argument("--backends", default="numpy-ref,jax,jax-jit,torch,autograd")
    args = p.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",")]
    names = available(args.backends.split(","))
    print(f"family {args.family}, n = {args.n}; work = unit-cost counts of the trace; Jacobian = m VJPs (computed)")
    print(f"{'backend':10s} {'m':>5s} {'work f':>9s} {'work f+VJP':>11s} {'work ratio':>10s} "
          f"{'time ratio':>10s} {'Jacobian ratio':>14s} {'f (µs)':>9s} {'VJP (µs)':>9s} "
          f"{'counted (µs)':>12s} {'overhead':>8s} {'XLA flops ratio':>15s}")
    for name in names:
        for m in sizes:
            fn = examples.FAMILIES[args.family](args.n, m)
            xs, vs = examples.point(fn, np.random.default_rng(0))
            r = Runner(name).prepare(fn, xs, vs)
            w = r.count()
            tf, tv, tc = best_time(r.f), best_time(r.vjp), best_time(r.count)
            xla = ""
            if hasattr(r, "xla"):
                c = r.xla()
                xla = f"{c['vjp']['flops'] / c['forward']['flops']:15.2f}"
            print(f"{name:10s} {m:5d} {w.forward:9d} {w.vjp:11d} {w.ratio:10.2f} {tv / tf:10.2f} "
                  f"{m * w.ratio:14.1f} {tf * 1e6:9.1f} {tv * 1e6:9.1f} {tc * 1e6:12.1f} {tc / tv:7.1f}× {xla}")
        print()
    print("the seed question: f = f3∘f2∘f1 with N×H, H×H, H×N matrices (H = 16), work against N "
          "(Jacobian = N VJPs, computed)")
    from advalidate.cost import scaling

    for name in names:
        if name == "jax-jit":
            continue
        r = Runner(name)
        sweep = scaling.seed_sweep(lambda fn, xs, vs: r.prepare(fn, xs, vs).count())
        cells = "  ".join(f"{n}:{v}" for n, v in zip(sweep["N"], sweep["vjp"]))
        print(f"{name:10s} slope VJP {sweep['slope_vjp']:.3f}  slope Jacobian {sweep['slope_jacobian']:.3f}  "
              f"slope f {sweep['slope_forward']:.3f}   VJP work by N: {cells}")
    print()
    print("overhead = wall time of counting one VJP (the counter's own trace: jaxpr tracing for jax, a dispatch mode "
          "for torch, counting arrays for numpy-ref/autograd) / wall time of the same VJP uncounted "
          "(jax-jit: against the compiled VJP).")


if __name__ == "__main__":
    main()
