"""``advalidate run --workers N``: the campaign as shard tests under pytest-xdist, merged into one results.json.

The shards share one budget and the findings kept (:mod:`advalidate.shards`) and one JAX compilation cache
(:func:`shared_compile_cache`); :func:`advalidate.merge.merge_results` makes one run of them.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import sys
import tempfile
from pathlib import Path

from .compile_cache import JAX_CACHE, environment

__all__ = ["run_parallel", "shared_compile_cache", "JAX_CACHE"]


def run_parallel(args) -> int:
    """The campaign as shard tests under pytest-xdist (``advalidate.conformance.test_shards``), merged."""
    import importlib.util
    import subprocess
    import time

    from .cli_run import _cost_sweeps, _print_summary, _write_report, default_examples
    from .merge import merge_results
    from .results import load, write_json

    from .backends.registry import check_names, load_backends

    try:
        check_names(args.backend)  # a usage error is ours to report, before any worker starts (nothing imported)
    except LookupError as e:
        print(f"advalidate run: {e}", file=sys.stderr)
        return 2
    missing = [name for name in ("pytest", "xdist") if importlib.util.find_spec(name) is None]
    if missing:
        print(f"advalidate run: --workers {args.workers} runs the campaign's shards under pytest-xdist, and "
              f"{' and '.join(missing)} {'is' if len(missing) == 1 else 'are'} not installed: "
              f"pip install 'advalidate[parallel]'", file=sys.stderr)
        return 2
    out = Path(args.out)
    shutil.rmtree(out / "shards", ignore_errors=True)
    max_examples = default_examples(args)
    # --assert=plain: pytest would otherwise rewrite the asserts of every advalidate module it imports (0.7 s)
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--assert=plain",
               "-n", str(args.workers), "--pyargs", "advalidate.conformance.test_shards",
               "--advalidate-shards", str(args.workers),
               "--advalidate-max-examples", str(max_examples), "--advalidate-seed", str(args.seed),
               "--advalidate-dtype", args.dtype, "--advalidate-out", str(out),
               "--advalidate-isolate", args.isolate, "--advalidate-timeout", str(args.timeout), "--advalidate-no-merge"]
    command += [f"--advalidate-backend={b}" for b in args.backend or []]
    command += [f"--advalidate-primitive={p}" for p in args.primitive or []]
    command += [f"--advalidate-special-share={args.special_share}"]
    command += [f"--advalidate-mode={m}" for m in args.mode or []]
    command += [f"--advalidate-max-side={args.max_side}"] if args.max_side else []
    command += ["--advalidate-no-cost"] if not args.cost else []
    command += ["--advalidate-no-probes"] if not args.probes else []
    command += ["--advalidate-no-known-replay"] if not args.known_replay else []
    command += [f"--advalidate-known-dir={args.known_dir}"] if args.known_dir else []
    command += [f"--advalidate-database={args.database}"] if args.database else []
    print(f"{args.workers} workers: {' '.join(command[2:])}", flush=True)
    started = time.time()
    try:
        with shared_compile_cache(os.environ) as env:
            subprocess.run(command, check=False, env=env)
    except KeyboardInterrupt:
        pass  # the shards wrote what they did; merge it below
    shards = sorted((out / "shards").glob("shard-*.json"))
    if not shards:
        print("advalidate run: the workers wrote no results", file=sys.stderr)
        return 2
    results = merge_results([load(p) for p in shards])
    if args.cost and results.get("cost") is None and results["complete"]:
        results["cost"] = _cost_sweeps(load_backends(args.backend, args.isolate, args.timeout)[0])
    results["duration_s"] = round(time.time() - started, 3)
    write_json(out / "results.json", results)
    report = _write_report(results, out)
    _print_summary(results, out, report)
    if not results["complete"]:
        return 130
    return 1 if results["summary"]["unexpected"] else 0


@contextlib.contextmanager
def shared_compile_cache(environ):
    """The environment for the workers, with one JAX compilation cache they all share.

    Each worker process compiles its own XLA programs: JAX eager compiles every primitive once per shape and
    dtype, and most of those recur in every worker. Through JAX's persistent cache a program one worker has
    compiled is loaded, not compiled again, by the others (:mod:`advalidate.compile_cache`). ``advalidate run``
    sets ``JAX_COMPILATION_CACHE_DIR`` to its persistent cache (``--jax-cache``): then that cache is used as it
    is configured. Otherwise (``--jax-cache none``) the folder is temporary and removed after the run.
    """
    env = dict(environ)
    if env.get(JAX_CACHE):
        yield env
        return
    folder = tempfile.mkdtemp(prefix="advalidate-jax-cache-")
    env.update(environment(folder))
    try:
        yield env
    finally:
        shutil.rmtree(folder, ignore_errors=True)
