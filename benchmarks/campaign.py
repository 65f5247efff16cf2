"""Campaign throughput: examples per second per backend, and where the time goes, cold and warm.

Usage: python benchmarks/campaign.py [--max-examples N] [--seed S] [--dtype float64|float32]
       python benchmarks/campaign.py --compare OLD_CHECKOUT [--repeat 3] [--max-examples 120] [--workload default|old-primitives|judged]

First the **cold** figures: ``advalidate run`` with every installed backend in a fresh process, as a user runs
it (imports, JAX's per-primitive compilations and every ``jax.jit`` program), twice: with an empty JAX
compilation cache (the first run on a machine: every XLA program compiled from nothing), then with the cache
that run left (every later run: ``advalidate run`` keeps JAX's persistent cache in ``~/.cache/advalidate/jax``,
:mod:`advalidate.compile_cache`). Each uses a temporary cache of its own, never the user's. Then the **warm**
ones, in this process: each backend alone (same seed, so the same generated examples), then all of them
together, as `advalidate run` does, after the single runs have warmed JAX's caches.

Shares are of the campaign's wall time: generation (Hypothesis drawing functions and points), the oracle, each
backend's VJP, the error model (tolerances, including the float reference runs), work counting, and shrinking
the findings. The backends that may run concurrently (``advalidate.check.concurrent``: JAX, PyTorch, plug-ins in
a worker process) compute their VJPs and work in threads of their own while the oracle runs, so with several
backends these parts overlap and their shares add up to more than 100%; ``waiting`` is the main thread idle
until a backend's thread ended (part of "other").

``--compare OLD`` measures the speed-up of this checkout over another (a ``git worktree`` of an older commit):
``--repeat`` rounds of cold runs, interleaved (old, new with an empty cache, new with the cache the previous run
left; then again: the machine's load hits all alike), each ``advalidate run --out TMP`` in a fresh process with
that checkout first on ``PYTHONPATH``; the old checkout runs without any persistent cache (as it did), the new one
on the old workload (:data:`BEFORE_ISSUE_14`). It prints every run and the medians of the process's wall time, of
the campaign's time and of the CPU time.
``--workload default`` runs both checkouts on ``advalidate run``'s own default workload instead (special points,
probes, known-behaviour replay): the old one, the new one without any persistent cache (``--jax-cache none``, like
for like: issue 15's CPU criterion) and the new one with a cache an untimed run filled first.
``--workload old-primitives`` runs both on that default workload without a persistent cache, the new checkout with
its catalogue cut to the old checkout's primitives (unregistered before the run): what the primitives both have
cost now against before (issue 16's CPU criterion).
``--workload judged`` takes the draws out of the comparison: ``--max-examples`` examples (default 150) drawn once by
the old checkout's strategies, then judged by each checkout's engine (oracle, every backend, error model, work
counting; no shrinking), the new one's catalogue cut to the old one's primitives; interleaved rounds, CPU of the
judging alone.
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


def cold_run(checkout: Path, max_examples: int | None, seed: int, dtype: str, flags=(), cache=None,
             only=None, motifs=None) -> dict:
    """``advalidate run`` in a fresh process with ``checkout`` first on the path: its wall time and results.

    ``cache``: the folder of JAX's persistent compilation cache (``--jax-cache``), or None: no persistent cache
    (an old checkout, which has no such option). ``only``: the primitives to keep in the catalogue (the others are
    unregistered before the run: the new checkout on an old catalogue). ``motifs``: the motifs to keep (the others
    are never drawn: the new checkout with an old checkout's motifs), or None: all of them."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("JAX_COMPILATION_CACHE", "JAX_PERSISTENT_CACHE"))}
    env["PYTHONPATH"] = os.pathsep.join([str(checkout), str(checkout / "plugins" / "advalidate-autograd")])
    with tempfile.TemporaryDirectory(prefix="advalidate-cold-") as out:
        trim = ("from advalidate.primitives import registry as r; "
                f"[r.unregister(n) for n in list(r.CATALOGUE) if n not in {sorted(only)!r}]; ") if only else ""
        if motifs is not None:
            trim += ("import strategies._functions as f; "
                     f"f.MOTIFS = tuple(m for m in f.MOTIFS if m in {sorted(motifs)!r}); ")
        command = [sys.executable, "-c", f"import sys; {trim}from advalidate.cli import main; sys.exit(main())", "run",
                   "--out", out, "--seed", str(seed), "--dtype", dtype, *flags]
        if only:  # the known behaviours about the kept primitives only (the others name primitives not registered)
            command += ["--known-dir", known_subset(checkout, only, Path(out) / "known")]
        if cache is not None:
            command += ["--jax-cache", str(cache)]
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


RUNS = (("old", "old"), ("new, empty cache", "new"), ("new, cache kept", "new"))
# --workload default: both checkouts run `advalidate run`'s own default workload; the new one once without any
# persistent cache (as the old one runs: the like-for-like figure) and once with a cache an untimed run filled
RUNS_DEFAULT = (("old", "old"), ("new, no cache", "new"), ("new, cache kept", "new"))
# --workload old-primitives: both checkouts on the default workload without any persistent cache, the new one with
# its catalogue cut to the old checkout's primitives (issue 16's criterion: the old primitives cost no more)
RUNS_OLD_PRIMITIVES = (("old", "old"), ("new, old primitives", "new"))


def known_subset(checkout: Path, only, folder: Path) -> str:
    """``checkout``'s known-behaviour files without the entries whose example uses a primitive outside ``only``
    (an entry is its header line and the indented field lines after it)."""
    import re

    folder.mkdir(parents=True, exist_ok=True)
    keep = set(only)
    for path in sorted((checkout / "advalidate" / "known").glob("*.txt")):
        out, entry = [], []

        def flush():
            text = "\n".join(entry)
            function = re.search(r"^    function: (.*)$", text, re.M)
            names = set(re.findall(r"([A-Za-z_][A-Za-z0-9_]*)\(", function.group(1))) if function else set()
            if names <= keep:
                out.extend(entry)
            entry.clear()

        for line in path.read_text().splitlines():
            if line.startswith("    ") and entry:
                entry.append(line)
                continue
            if entry:
                flush()
            if line and not line.startswith("#"):
                entry.append(line)  # a header
            else:
                out.append(line)
        if entry:
            flush()
        (folder / path.name).write_text("\n".join(out) + "\n")
    return str(folder)


def catalogue_of(checkout: Path) -> tuple[list[str], list[str]]:
    """The primitive names ``checkout`` registers and the motifs its strategies draw (imported in a fresh process
    with it first on the path)."""
    env = dict(os.environ, PYTHONPATH=str(checkout))
    done = subprocess.run([sys.executable, "-c", "from advalidate import primitives as p; print(' '.join(p.CATALOGUE)); "
                           "from advalidate.strategies import MOTIFS; print(' '.join(MOTIFS))"],
                          env=env, cwd=str(checkout), capture_output=True, text=True, check=True)
    names, motifs = done.stdout.splitlines()
    return names.split(), motifs.split()


def compare(old: Path, repeat: int, max_examples: int | None, seed: int, dtype: str, workload: str = "issue14"):
    runs_kinds = {"issue14": RUNS, "default": RUNS_DEFAULT, "old-primitives": RUNS_OLD_PRIMITIVES}[workload]
    only, motifs = catalogue_of(old) if workload == "old-primitives" else (None, None)
    if only:
        print(f"the old checkout's catalogue: {len(only)} primitives and {len(motifs)} motifs "
              f"({', '.join(motifs)}); the new one's cut to them. Round i runs seed {seed} + i in both checkouts: "
              f"a campaign's CPU depends on the findings its draw hits and how long they take to shrink, so one "
              f"seed repeated measures one draw")
    runs = {label: [] for label, _ in runs_kinds}
    print(f"{'run':20s} {'process s':>9s} {'campaign s':>10s} {'CPU s':>7s} {'load':>5s} {'examples':>8s} "
          f"{'findings':>8s}")
    kept = tempfile.TemporaryDirectory(prefix="advalidate-jax-cache-kept-")
    if workload == "default":  # the cache every "cache kept" run loads, filled once by an untimed run
        cold_run(ROOT, max_examples, seed, dtype, cache=kept.name)
    for i in range(repeat):
        round_seed = seed + i if workload == "old-primitives" else seed
        with tempfile.TemporaryDirectory(prefix="advalidate-jax-cache-") as cache:
            for label, tree in runs_kinds:
                if tree == "old":
                    r = cold_run(old, max_examples, round_seed, dtype,
                                 cache="none" if workload == "old-primitives" else None)
                elif workload == "old-primitives":
                    r = cold_run(ROOT, max_examples, round_seed, dtype, cache="none", only=only, motifs=motifs)
                elif workload == "default":
                    r = cold_run(ROOT, max_examples, seed, dtype,
                                 cache="none" if label == "new, no cache" else kept.name)
                else:  # the first new run of the round fills the empty cache, the second loads from it
                    r = cold_run(ROOT, max_examples, seed, dtype, BEFORE_ISSUE_14, cache=cache)
                runs[label].append(r)
                s = r["results"]["summary"]
                sec = r["results"]["stats"]["seconds"]
                print(f"{label + ' ' + str(i + 1):20s} {r['wall']:9.1f} {r['results']['duration_s']:10.1f} "
                      f"{r['cpu']:7.1f} {r['load']:5.1f} {s['examples']:8d} {s['findings']:8d}"
                      f"   [seed {round_seed}; shrinking {sec.get('shrinking', 0):.0f} s, generation "
                      f"{sec.get('generation', 0):.0f} s]", flush=True)
    kept.cleanup()
    med = {k: (statistics.median(r["wall"] for r in v), statistics.median(r["results"]["duration_s"] for r in v),
               statistics.median(r["cpu"] for r in v)) for k, v in runs.items()}
    print(f"\nmedians of {repeat} interleaved rounds (the load column is the 1-minute load average at the end of "
          f"each run: overlap gains wall time only where a core is idle):")
    print(f"{'':20s} {'process s':>9s} {'speed-up':>8s} {'campaign s':>10s} {'speed-up':>8s} {'CPU s':>7s} "
          f"{'speed-up':>8s}")
    for label, _ in runs_kinds:
        m, o = med[label], med["old"]
        print(f"{label:20s} {m[0]:9.1f} {o[0] / m[0]:7.2f}x {m[1]:10.1f} {o[1] / m[1]:7.2f}x {m[2]:7.1f} "
              f"{o[2] / m[2]:7.2f}x")

    def verdicts(r):  # what the runs must agree on: the same examples drawn and judged alike
        res = r["results"]
        return ([(f["backend"], f["kind"], f["signature"]) for f in res["findings"]], res["summary"]["points"],
                res["stats"]["backends"], res["stats"]["error_ratios"], res["stats"]["cost_ratios"])

    for checkout, labels in (("old", ["old"]), ("new", [label for label, tree in runs_kinds if tree == "new"])):
        if workload == "old-primitives":
            break  # a seed per round: different draws by design
        every = [verdicts(r) for label in labels for r in runs[label]]
        print(f"{checkout}: same findings, points, per-backend counts, error and cost ratios in every run "
              f"({' and '.join(labels)}): {all(v == every[0] for v in every)}")
    print()
    print(HEAD)
    print("-" * len(HEAD))
    for label, _ in runs_kinds:
        middle = sorted(runs[label], key=lambda r: r["results"]["duration_s"])[len(runs[label]) // 2]
        print(_row(f"cold ({label})", middle["results"]))


_DRAW = """
import json, sys
import numpy as np
from hypothesis import HealthCheck, Phase, given, seed, settings
from advalidate.strategies import examples
out = []
@settings(max_examples={n}, database=None, deadline=None, suppress_health_check=list(HealthCheck), phases=[Phase.generate])
@seed({seed})
@given(examples(dtype={dtype!r}, special=0.25))
def draw(ex):
    out.append({{"function": ex.function.to_json(), "inputs": [np.asarray(x, np.float64).tolist() for x in ex.inputs],
                "cotangents": [np.asarray(v, np.float64).tolist() for v in ex.cotangents]}})
draw()
json.dump(out, open({path!r}, "w"))
"""

_JUDGE = """
import json, time, warnings
import numpy as np
only = {only!r}
try:
    from advalidate.primitives import registry
    [registry.unregister(n) for n in list(registry.CATALOGUE) if n not in only]
except ImportError:  # a checkout before the registry: its catalogue is the old one
    pass
from advalidate.backends.registry import load_backends
from advalidate.check import check_example
from advalidate.ir import Function
from advalidate.oracle import Oracle
examples = json.load(open({path!r}))
backends, _ = load_backends()
oracle = Oracle(dtype={dtype!r})
points = {{}}
start = time.process_time()
with warnings.catch_warnings(), np.errstate(all="ignore"):
    warnings.simplefilter("ignore")
    for e in examples:
        fn = Function.from_json(e["function"])
        xs = [np.asarray(x, fn.dtype).reshape(s) for x, s in zip(e["inputs"], fn.inputs)]
        vs = [np.asarray(v, fn.dtype).reshape(s) for v, s in zip(e["cotangents"], fn.output_shapes)]
        result = check_example(fn, xs, vs, backends, oracle, measure_work=True)
        points[result.point] = points.get(result.point, 0) + 1
print(json.dumps({{"cpu": time.process_time() - start, "points": points, "backends": [b.name for b in backends]}}))
"""


def judged_compare(old: Path, repeat: int, n: int, seed: int, dtype: str):
    """``--workload judged``: the same examples (drawn once by ``old``'s strategies) judged by each checkout."""
    only, _ = catalogue_of(old)

    def run(checkout: Path, code: str) -> str:
        env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(checkout), str(checkout / "plugins" / "advalidate-autograd")]))
        done = subprocess.run([sys.executable, "-c", code], env=env, cwd=str(checkout), capture_output=True, text=True)
        if done.returncode:
            raise RuntimeError(f"in {checkout}:\n{done.stderr[-3000:]}")
        return done.stdout

    with tempfile.TemporaryDirectory(prefix="advalidate-judged-") as folder:
        path = str(Path(folder) / "examples.json")
        run(old, _DRAW.format(n=n, seed=seed, dtype=dtype, path=path))
        print(f"{n} examples drawn by {old}'s strategies (seed {seed}, a quarter at special points), judged by each "
              f"checkout's engine on its backends ({len(only)} primitives)")
        print(f"{'run':12s} {'CPU s':>7s}  points")
        cpu = {"old": [], "new": []}
        for i in range(repeat):
            for label, tree in (("old", old), ("new", ROOT)):
                r = json.loads(run(tree, _JUDGE.format(only=only, path=path, dtype=dtype)).splitlines()[-1])
                cpu[label].append(r["cpu"])
                print(f"{label + ' ' + str(i + 1):12s} {r['cpu']:7.1f}  {r['points']}  ({', '.join(r['backends'])})",
                      flush=True)
    o, m = statistics.median(cpu["old"]), statistics.median(cpu["new"])
    print(f"\nmedians of {repeat}: old {o:.1f} s, new {m:.1f} s of CPU: {(m / o - 1) * 100:+.1f}%")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--max-examples", type=int, default=None,
                        help="examples per campaign (default: advalidate run's default for the cold runs, 100 warm)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--dtype", default="float64", choices=["float64", "float32"])
    parser.add_argument("--compare", type=Path, metavar="OLD_CHECKOUT",
                        help="interleaved cold runs of OLD_CHECKOUT and of this checkout, and their medians")
    parser.add_argument("--repeat", type=int, default=3, help="cold runs of each checkout with --compare")
    parser.add_argument("--workload", choices=["issue14", "default", "old-primitives", "judged"], default="issue14",
                        help="with --compare: the new checkout on the workload before issue 14 (regular points, "
                             "no probes, no replay), or both on advalidate run's default workload, or both on it "
                             "without a persistent cache and the new catalogue cut to the old one's primitives, "
                             "or the same examples (drawn once by the old checkout) judged by each")
    args = parser.parse_args()
    if args.compare:
        if not (args.compare / "advalidate").is_dir():
            parser.error(f"--compare {args.compare}: not an advalidate checkout (no advalidate/ folder in it)")
        if args.workload == "judged":
            judged_compare(args.compare, args.repeat, args.max_examples or 150, args.seed, args.dtype)
        else:
            compare(args.compare, args.repeat, args.max_examples, args.seed, args.dtype, args.workload)
        return

    print(HEAD)
    print("-" * len(HEAD))
    with tempfile.TemporaryDirectory(prefix="advalidate-jax-cache-") as cache:
        for label in ("empty cache", "cache kept"):  # the first run fills the cache, the second loads from it
            cold = cold_run(ROOT, args.max_examples, args.seed, args.dtype, cache=cache)
            n = len(cold["results"]["settings"]["backends"])
            print(_row(f"all {n}, cold, {label}", cold["results"]) + f"   [process {cold['wall']:.1f} s]",
                  flush=True)

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
