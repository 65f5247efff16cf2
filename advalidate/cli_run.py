"""``advalidate run``: the conformance campaign, writing results.json and the HTML report."""

from __future__ import annotations

import _thread
import argparse
import contextlib
import functools
import os
import shutil
import signal
import sys
import tempfile
import threading
from pathlib import Path

__all__ = ["add_parser", "main", "load_backends"]


def add_parser(sub) -> argparse.ArgumentParser:
    p = sub.add_parser("run", help="check every installed backend on generated functions; write the report",
                       description="The conformance campaign: generated functions, points and cotangents through "
                                   "every selected backend, each VJP against the mpmath oracle and the cost bound. "
                                   "Exit 0 when every finding is a known behaviour, 1 otherwise, 2 on a usage error.")
    p.add_argument("--backend", action="append", metavar="NAME", help="a backend to check (repeatable; default: all)")
    p.add_argument("--max-examples", type=_positive, default=None, metavar="N",
                   help="examples to generate (default: 120, or 40 with --dtype float32 or --special)")
    p.add_argument("--seed", type=int, default=0, help="the random seed: the same seed gives the same findings")
    p.add_argument("--dtype", choices=["float64", "float32"], default="float64")
    p.add_argument("--special", action=argparse.BooleanOptionalAction, default=False,
                   help="draw special points: zeros, ties, kinks, saturation tails, large logits, extremes")
    p.add_argument("--out", default="reports", metavar="DIR", help="where results.json and index.html go")
    p.add_argument("--workers", type=_positive, default=1, metavar="N", help="parallel workers (processes)")
    p.add_argument("--known-dir", default=None, metavar="DIR",
                   help="a folder of <backend>.txt known-behaviour files (default: the ones shipped)")
    p.add_argument("--no-cost", dest="cost", action="store_false", help="skip work counting and the cost sweeps")
    p.add_argument("--database", default=None, metavar="DIR|redis://HOST:PORT/DB",
                   help="a Hypothesis example database shared by workers and machines: every counterexample found "
                        "anywhere is replayed first everywhere (default: none, so a seed reproduces a run)")
    p.add_argument("--isolate", choices=["plugins", "all", "none"], default="plugins",
                   help="run backends in worker processes, so that a hang or a crash is a finding, not the end of "
                        "the run (default: third-party plug-ins)")
    p.add_argument("--timeout", type=float, default=120.0, metavar="S",
                   help="seconds an isolated backend may take for one VJP before it counts as hung")
    p.add_argument("--resume", action="store_true",
                   help="continue the interrupted campaign saved in DIR/results.json (same settings)")
    p.set_defaults(func=main)
    return p


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {value}")
    return value


def check_names(names=None) -> list[str]:
    """The backends ``names`` selects (all known ones when empty); LookupError naming the known ones for an
    unknown name. Nothing is imported."""
    from .backends.registry import default_registry

    known = default_registry().entries()
    unknown = [n for n in names or [] if n not in known]
    if unknown:
        raise LookupError(f"unknown backend(s) {', '.join(map(repr, unknown))}; known: {', '.join(known)}")
    return list(names or known)


def load_backends(names=None, isolate: str = "none", timeout: float = 120.0):
    """(backends, load errors by name). Unknown names raise LookupError naming the known ones.

    ``isolate``: "plugins" runs third-party backends (entry points) in a worker process, "all" every backend,
    "none" none (see :mod:`advalidate.isolation`: a hang past ``timeout`` or a crash becomes an error finding).
    """
    from .backends.registry import default_registry

    registry = default_registry()
    entries = [registry.load(n) for n in check_names(names)]
    errors = {e.name: e.error for e in entries if e.error is not None}
    backends = []
    for e in entries:
        if e.error is not None:
            continue
        if isolate == "all" or (isolate == "plugins" and e.source != "built-in"):
            from .isolation import Isolated

            try:
                backends.append(Isolated(e.name, timeout=timeout))
            except RuntimeError as problem:
                errors[e.name] = f"in a worker process: {problem}"
            continue
        backends.append(e.backend)
    return backends, errors


def _progress():
    if sys.stdout.isatty():
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        progress = Progress(TextColumn("[bold]checking"), BarColumn(), MofNCompleteColumn(),
                            TextColumn("{task.fields[findings]} findings"), TimeElapsedColumn())
        task = progress.add_task("run", total=None, findings=0)
        progress.start()

        def update(done, total, findings):
            progress.update(task, completed=done, total=total, findings=findings)

        return update, progress.stop
    state = {"last": -1}

    def plain(done, total, findings):
        step = max(total // 10, 1)
        if done // step != state["last"] or done == total:
            state["last"] = done // step
            print(f"checked {done}/{total} examples, {findings} findings", flush=True)

    return plain, lambda: None


STRAY_SHOWN = 8  # modules whose uncaptured warnings the end of a run names one by one


def _warnings_summarised(run):
    """``run`` with every warning it raises outside a backend's VJP (Hypothesis's, jax's at import, our own)
    collected, and summarised once at the end, one line per module, instead of printed between the progress
    lines. A backend's warnings are kept with its outcome (:mod:`advalidate.warnings_capture`)."""

    @functools.wraps(run)
    def wrapper(args):
        from .warnings_capture import collecting

        with collecting() as stray:
            try:
                return run(args)
            finally:
                lines = stray.summary()
                if lines:
                    print("warnings raised outside the backends' VJPs (collected during the run):", file=sys.stderr)
                for line in lines[:STRAY_SHOWN]:
                    print(f"  {line}", file=sys.stderr)
                if len(lines) > STRAY_SHOWN:
                    print(f"  and warnings from {len(lines) - STRAY_SHOWN} more modules", file=sys.stderr)

    return wrapper


@_warnings_summarised
def main(args) -> int:
    from .campaign import Campaign, Settings
    from .results import write_json

    if args.workers > 1:
        if args.resume:
            print("advalidate run: --resume runs one worker (the saved campaign is one process's)", file=sys.stderr)
            return 2
        return _run_parallel(args)
    try:
        backends, errors = load_backends(args.backend, args.isolate, args.timeout)
    except LookupError as e:
        print(f"advalidate run: {e}", file=sys.stderr)
        return 2
    if not backends:
        print("advalidate run: no backend could be loaded: " + "; ".join(f"{k}: {v}" for k, v in errors.items()),
              file=sys.stderr)
        return 2
    for name, why in errors.items():
        print(f"warning: backend {name} did not load: {why}", file=sys.stderr)
    backends = [b for b in backends if args.dtype in b.dtypes]
    max_examples = args.max_examples or (40 if args.dtype == "float32" or args.special else 120)
    out = Path(args.out)
    settings = Settings(max_examples=max_examples, seed=args.seed, dtype=args.dtype, special=args.special,
                        out=str(out), workers=args.workers, known_dir=args.known_dir, measure_work=args.cost,
                        database=args.database)
    update, stop = _progress()
    termination = _Termination()

    def progress(done, total, findings):
        update(done, total, findings)
        termination.check()

    def checkpoint(results):
        write_json(out / "results.json", results)

    campaign = Campaign(backends, settings, load_errors=errors, progress=progress, checkpoint=checkpoint)
    if args.resume:
        from .results import load

        try:
            campaign.resume(load(out / "results.json"))
        except (FileNotFoundError, ValueError) as e:
            stop()
            print(f"advalidate run --resume: {e}", file=sys.stderr)
            return 2
    previous = signal.signal(signal.SIGTERM, termination.handler)
    try:
        results = campaign.run()
        termination.cancel()
        if args.cost and not campaign.interrupted:
            results["cost"] = _cost_sweeps(backends)
    finally:
        termination.cancel()
        signal.signal(signal.SIGTERM, previous)
        stop()
    write_json(out / "results.json", results)
    report = _write_report(results, out)
    _print_summary(results, out, report)
    if campaign.interrupted:
        print("interrupted: the results cover what was done", file=sys.stderr)
        return 130
    return 1 if results["summary"]["unexpected"] else 0


UNMATCHED_SHOWN = 5  # known behaviours that matched nothing, named one by one on the terminal


def _print_summary(results, out: Path, report):
    summary = results["summary"]
    print(f"{summary['examples']} examples, {summary['findings']} findings "
          f"({summary['unexpected']} unexpected, {summary['known']} known) in {results['duration_s']:.0f} s")
    for f in results["findings"]:
        tag = "known" if f["known"] else "NEW"
        print(f"  {f['id']} [{tag}] {f['backend']}: {f['kind']} on {f['signature']}: {f['message'].splitlines()[0]}")
    unmatched = results["known_unmatched"]
    for e in unmatched[:UNMATCHED_SHOWN]:
        print(f"warning: known behaviour {e['source']} ({e['kind']} {e['pattern']}) matched no finding", file=sys.stderr)
    if len(unmatched) > UNMATCHED_SHOWN:
        print(f"warning: {len(unmatched) - UNMATCHED_SHOWN} more known behaviours matched no finding (fixed upstream, "
              f"or not reached by this budget): all are listed in the report and in results.json", file=sys.stderr)
    print(f"results: {out / 'results.json'}" + (f"\nreport:  {report}" if report else ""))


def _run_parallel(args) -> int:
    """The campaign as shard tests under pytest-xdist (``advalidate.conformance.test_shards``), merged."""
    import importlib.util
    import subprocess
    import time

    from .merge import merge_results
    from .results import load, write_json

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
    max_examples = args.max_examples or (40 if args.dtype == "float32" or args.special else 120)
    # --assert=plain: pytest would otherwise rewrite the asserts of every advalidate module it imports (0.7 s)
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--assert=plain",
               "-n", str(args.workers), "--pyargs", "advalidate.conformance.test_shards",
               "--advalidate-shards", str(args.workers),
               "--advalidate-max-examples", str(max_examples), "--advalidate-seed", str(args.seed),
               "--advalidate-dtype", args.dtype, "--advalidate-out", str(out),
               "--advalidate-isolate", args.isolate, "--advalidate-timeout", str(args.timeout), "--advalidate-no-merge"]
    command += [f"--advalidate-backend={b}" for b in args.backend or []]
    command += ["--advalidate-special"] if args.special else []
    command += ["--advalidate-no-cost"] if not args.cost else []
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


JAX_CACHE = "JAX_COMPILATION_CACHE_DIR"


@contextlib.contextmanager
def shared_compile_cache(environ):
    """The environment for the workers, with one JAX compilation cache they all share.

    Each worker process compiles its own XLA programs: JAX eager compiles every primitive once per shape and
    dtype, and most of those recur in every worker. Through JAX's persistent cache a program one worker has
    compiled is loaded, not compiled again, by the others. Thresholds at 0 because eager programs compile in
    milliseconds (JAX caches only those over 1 s by default). The folder is temporary and removed after the
    run, unless ``JAX_COMPILATION_CACHE_DIR`` is set already: then that cache is used as it is configured.
    """
    env = dict(environ)
    if env.get(JAX_CACHE):
        yield env
        return
    folder = tempfile.mkdtemp(prefix="advalidate-jax-cache-")
    env.update({JAX_CACHE: folder, "JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS": "0",
                "JAX_PERSISTENT_CACHE_MIN_ENTRY_SIZE_BYTES": "-1"})
    try:
        yield env
    finally:
        shutil.rmtree(folder, ignore_errors=True)


TERM_GRACE_S = 5.0  # seconds SIGTERM waits for the campaign to reach its next example before interrupting at once


class _Termination:
    """SIGTERM stops the campaign at its next example, where Hypothesis unwinds cleanly: an exception raised by the
    signal handler itself can land inside Hypothesis's own bookkeeping (seen as an AssertionError in
    ``wrapped_test`` and exit 1 instead of 130, when SIGTERM came as a new round of the campaign started). A
    second SIGTERM, or ``TERM_GRACE_S`` seconds without a next example (a long shrink, a hung backend that is not
    isolated), interrupts at once, as before."""

    def __init__(self):
        self.requested = False
        self._timer = None

    def handler(self, signum, frame):
        if self.requested:
            raise KeyboardInterrupt(f"signal {signum}")
        self.requested = True
        self._timer = threading.Timer(TERM_GRACE_S, _thread.interrupt_main)
        self._timer.daemon = True
        self._timer.start()

    def check(self):
        if self.requested:
            self.cancel()
            raise KeyboardInterrupt("SIGTERM")

    def cancel(self):
        if self._timer is not None:
            self._timer.cancel()


def _cost_sweeps(backends):
    try:
        from .cost import scaling
    except ImportError:
        return None
    return scaling.campaign_data(backends)


def _write_report(results, out: Path):
    try:
        from .report import write_report
    except ImportError:
        return None
    return write_report(results, out / "index.html")
