"""Oracle throughput: directional derivatives per second and seconds per full VJP, with and without gmpy2.

Usage: python benchmarks/oracle.py [--quick]
Prints one table; the no-gmpy2 rows come from a child process with MPMATH_NOGMPY=1 (mpmath's own switch),
so both are measured in the same run. "floor ratio" = time of one directional derivative / time of two plain
mpmath evaluations of the function at the oracle's precision: the cost of the oracle beyond the evaluations
that any central difference needs.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import numpy as np


def functions():
    from advalidate import Builder

    def elementwise(n):
        b = Builder()
        x = b.input(n)
        return b.build(b.sum(b.mul(b.sin(x), b.exp(b.mul(x, b.input(()))))))

    def softmax_mix(n):
        b = Builder()
        x = b.input(n)
        return b.build(b.log_softmax(b.add(b.tanh(x), b.square(b.cos(x)))))

    def seed_chain(n):
        N = max((n - 4) // 5, 1)
        b = Builder()
        A1, A2, A3, x = b.input(2, N), b.input(2, 2), b.input(N, 2), b.input(N)
        return b.build(b.matmul(A3, b.tanh(b.matmul(A2, b.tanh(b.matmul(A1, x))))))

    return {"sum sin(x) exp(cx)": elementwise, "log_softmax(tanh x + cos^2 x)": softmax_mix,
            "seed chain A3 tanh(A2 tanh(A1 x)), H=2": seed_chain}


def measure(quick: bool):
    import mpmath

    from advalidate.evaluate import to_mp, trace
    from advalidate.oracle import Oracle

    oracle = Oracle()
    rng = np.random.default_rng(0)
    rows = []
    for label, make in functions().items():
        for n in (8, 32, 128):
            fn = make(n)
            xs = [rng.uniform(-1, 1, size=s) for s in fn.inputs]
            vs = [rng.normal(size=s) for s in fn.output_shapes]
            size = sum(x.size for x in xs)
            mxs = [to_mp(x) for x in xs]
            t = time.perf_counter()
            reps = 3
            with mpmath.workprec(oracle.prec):
                for _ in range(2 * reps):
                    trace(fn, mxs, "mp")
            floor = (time.perf_counter() - t) / reps
            direction = [rng.normal(size=s) for s in fn.inputs]
            t = time.perf_counter()
            for _ in range(reps):
                oracle.directional(fn, xs, vs, direction)
            per_dd = (time.perf_counter() - t) / reps
            full = None
            if not (quick and size > 40):
                t = time.perf_counter()
                oracle.vjp(fn, xs, vs)
                full = time.perf_counter() - t
            rows.append(dict(function=label, elements=size, dd_per_s=1 / per_dd, full_vjp_s=full,
                             floor_ratio=per_dd / floor))
    return rows


def main():
    quick = "--quick" in sys.argv
    if "--child" in sys.argv:
        print(json.dumps(measure(quick)))
        return
    import mpmath

    results = {mpmath.libmp.BACKEND: measure(quick)}
    env = dict(os.environ, MPMATH_NOGMPY="1")
    child = subprocess.run([sys.executable, __file__, "--child"] + (["--quick"] if quick else []), env=env,
                           capture_output=True, text=True, check=True)
    results["python (no gmpy2)"] = json.loads(child.stdout)
    print(f"{'function':42s} {'n':>4s} | {'backend':18s} {'dir.deriv/s':>11s} {'full VJP s':>10s} {'floor ratio':>11s}")
    print("-" * 104)
    for i, row in enumerate(results["gmpy"]):
        for backend, rows in results.items():
            r = rows[i]
            full = f"{r['full_vjp_s']:10.3f}" if r["full_vjp_s"] is not None else f"{'-':>10s}"
            print(f"{r['function']:42s} {r['elements']:4d} | {backend:18s} {r['dd_per_s']:11.1f} {full} "
                  f"{r['floor_ratio']:11.2f}")


if __name__ == "__main__":
    main()
