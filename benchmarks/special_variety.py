"""Variety of special points: what ``--special`` campaigns find at several seeds, old strategy against new.

    python benchmarks/special_variety.py [--n 150] [--seeds 11 12 13] [--backend jax --backend torch]
    python benchmarks/special_variety.py --strategies new --seeds 12 --save new12.json   (one process per campaign,
    python benchmarks/special_variety.py --table old*.json new*.json                      then one table)

For each strategy and seed it runs a special campaign (``advalidate.campaign.Campaign`` with
``examples(special=True)``, every example special, cost counting off, so no cost-bound findings) on the selected
backends, and prints per seed the findings (distinct (backend, kind, primitive signature), the campaign's own
dedup), then for the seeds together: the distinct findings of all seeds against the mean of one seed, the
findings every seed reports, and the distinct points at which findings occur (a point: all the finding's input
values; a special value: an input value outside the regular range 0.125 <= |x| <= 2).

OLD is the strategy package as it was at commit 9327227 (``git show 9327227:strategies/...`` written into a
temporary package ``strategies_old``); NEW is this checkout's ``strategies``. Both run with this checkout's
``advalidate`` (campaign, oracle, checks, known behaviours), the same backends, seeds and budget.

Measured 2026-12-02 (jax 0.10.2, torch 2.13.0, 300 examples per campaign, one process per campaign on a 2-core
machine at load ~20, about 30 min each): findings per seed 11/12/13 old 3/2/0, new 3/2/6; distinct findings of
the three seeds together old 3 (one seed 1.7), new 11 (one seed 3.7); none found at every seed in either; finding
points old 2, new 6; distinct special values old 2 (1.21e155, 3.40e154), new 9 (tanh tails 12.6..32.0, subnormals
1.7e-317..4.2e-316, ...). At 150 examples: old 3/2/0 (union 3), new 2/0/3 (union 5).
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import subprocess
import sys
import tempfile
import time
import warnings
from collections import Counter

# run as a script, this file's folder comes first on sys.path and benchmarks/strategies.py would shadow the package
_HERE = os.path.dirname(os.path.abspath(__file__))
_ROOT = os.path.dirname(_HERE)
sys.path[:] = [_ROOT] + [p for p in sys.path if os.path.abspath(p or ".") != _HERE]

OLD_COMMIT = "9327227"


def old_strategies(where: str, repo: str = _ROOT):
    """The ``strategies`` package of :data:`OLD_COMMIT` (read from the git checkout ``repo``), imported as
    ``strategies_old`` from ``where``."""
    files = subprocess.run(["git", "-C", repo, "ls-tree", "--name-only", f"{OLD_COMMIT}:strategies"],
                           check=True, capture_output=True, text=True).stdout.split()
    package = os.path.join(where, "strategies_old")
    os.makedirs(package)
    for name in files:
        if name.endswith(".py"):
            text = subprocess.run(["git", "-C", repo, "show", f"{OLD_COMMIT}:strategies/{name}"],
                                  check=True, capture_output=True, text=True).stdout
            with open(os.path.join(package, name), "w") as f:
                f.write(text)
    sys.path.insert(0, where)
    return importlib.import_module("strategies_old")


def load(names):
    from advalidate.backends.registry import default_registry

    registry = default_registry()
    entries = [registry.load(n) for n in names]
    bad = {e.name: e.error for e in entries if e.error is not None}
    if bad:
        raise SystemExit(f"cannot load {bad}")
    return [e.backend for e in entries]


def campaign(backends, strategy, seed: int, n: int, out: str) -> list[dict]:
    import numpy as np

    from advalidate.campaign import Campaign, Settings

    settings = Settings(max_examples=n, seed=seed, special=True, out=out, measure_work=False)
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        return Campaign(backends, settings, strategy=strategy).run()["findings"]


def _values(finding) -> tuple:
    import numpy as np

    from advalidate.results import decode_array

    return tuple(float(x) for a in finding["inputs"] for x in np.ravel(decode_array(a)))


def special_values(point) -> set:
    return {abs(x) for x in point if not 0.125 <= abs(x) <= 2.0}


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--n", type=int, default=150, help="examples per campaign (default 150)")
    p.add_argument("--seeds", type=int, nargs="+", default=[11, 12, 13])
    p.add_argument("--backend", action="append", default=None, help="default: jax and torch")
    p.add_argument("--strategies", nargs="+", choices=["old", "new"], default=["old", "new"])
    p.add_argument("--repo", default=_ROOT, help=f"the git checkout to read {OLD_COMMIT} from (default: this one)")
    p.add_argument("--save", metavar="FILE", help="also write the campaigns' findings and points as JSON")
    p.add_argument("--table", nargs="+", metavar="FILE",
                   help="run nothing: print the table of campaigns saved by --save (e.g. one process per seed)")
    args = p.parse_args(argv)
    if args.table:
        rows = {}
        for path in args.table:
            with open(path) as f:
                for r in json.load(f):
                    rows[r["strategy"], r["seed"]] = ({tuple(k) for k in r["findings"]},
                                                      {tuple(v) for v in r["points"]}, r["seconds"])
        return table(rows, sorted({k[1] for k in rows}), [s for s in ("old", "new") if any(k[0] == s for k in rows)])
    names = args.backend or ["jax", "torch"]
    backends = load(names)
    with tempfile.TemporaryDirectory() as tmp:
        import advalidate.strategies as new

        made = {"old": lambda: old_strategies(tmp, args.repo).examples(special=True),
                "new": lambda: new.examples(special=True)}
        strategies = {label: made[label]() for label in args.strategies}
        print(f"backends {', '.join(names)}; {args.n} examples per campaign, every example special; seeds "
              f"{', '.join(map(str, args.seeds))}; old = strategies at {OLD_COMMIT}, new = {new.__file__}")
        rows = {}
        for label, strategy in strategies.items():
            for seed in args.seeds:
                t0 = time.perf_counter()
                findings = campaign(backends, strategy, seed, args.n, os.path.join(tmp, f"{label}-{seed}"))
                keys = {(f["backend"], f["kind"], f["signature"]) for f in findings}
                points = {_values(f) for f in findings}
                rows[label, seed] = (keys, points, time.perf_counter() - t0)
                print(f"  {label} seed {seed}: {len(keys)} findings at {len(points)} points "
                      f"({rows[label, seed][2]:.0f} s)", flush=True)
    if args.save:
        with open(args.save, "w") as f:
            json.dump([{"strategy": label, "seed": seed, "findings": sorted(keys), "points": sorted(points),
                        "seconds": seconds} for (label, seed), (keys, points, seconds) in rows.items()], f)
    table(rows, args.seeds, list(strategies))


def table(rows, seeds, labels):
    print()
    print(f"{'strategy':8s} " + " ".join(f"{'seed ' + str(s):>8s}" for s in seeds) +
          f" {'one seed':>9s} {'all seeds':>9s} {'in every':>9s} {'points':>7s} {'values':>7s} {'in every':>9s}")
    for label in labels:
        keys = [rows[label, s][0] for s in seeds]
        points = [rows[label, s][1] for s in seeds]
        values = [set().union(*map(special_values, ps)) for ps in points]
        union, common = set().union(*keys), set.intersection(*keys)
        print(f"{label:8s} " + " ".join(f"{len(k):8d}" for k in keys) +
              f" {sum(map(len, keys)) / len(keys):9.1f} {len(union):9d} {len(common):9d}"
              f" {len(set().union(*points)):7d} {len(set().union(*values)):7d} {len(set.intersection(*values)):9d}")
    print("\nfindings: distinct (backend, kind, signature); one seed: their mean per seed; all seeds: the union; "
          "in every: found at every seed.\npoints: distinct finding points (all input values) over the seeds; "
          "values: distinct special input values |x| (outside 0.125..2) over the seeds; in every: those at every seed.")
    for label in labels:
        kinds = Counter(k[1] for s in seeds for k in rows[label, s][0])
        print(f"{label}: findings by kind over the seeds: {dict(sorted(kinds.items()))}")


if __name__ == "__main__":
    main()
