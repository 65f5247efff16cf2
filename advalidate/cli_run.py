"""``advalidate run``: the conformance campaign, writing results.json and the HTML report."""

from __future__ import annotations

import argparse
import functools
import signal
import sys
from pathlib import Path

from .backends.contract import MODES

__all__ = ["add_parser", "main"]


def add_parser(sub) -> argparse.ArgumentParser:
    p = sub.add_parser("run", help="check every installed backend on generated functions; write the report",
                       description="The conformance campaign: generated functions, points and cotangents through "
                                   "every selected backend, each VJP against the mpmath oracle and the cost bound. "
                                   "Exit 0 when every finding is a known behaviour, 1 otherwise, 2 on a usage error.")
    p.add_argument("--backend", action="append", metavar="NAME",
                   help="a backend to check (repeatable; default: all): a registered name, or a backend that is not "
                        "registered (one under development) as MODULE:ATTR, a class or an instance, run like a plug-in")
    p.add_argument("--extension", action="append", default=[], metavar="MODULE",
                   help="import MODULE, which registers ops of your own (advalidate.extend), and check them beside "
                        "the catalogue (repeatable; looked up in the current folder, then the installed packages)")
    p.add_argument("--primitive", action="append", default=None, metavar="NAME|FAMILY|PATTERN",
                   help="focus the campaign on these primitives (repeatable): a name (cholesky), a family (linalg) "
                        "or a glob pattern ('cum*'); only they are probed, and every program is built around one of "
                        "them with the rest of the catalogue (default: every primitive; `advalidate primitives` "
                        "lists names and families)")
    p.add_argument("--max-examples", type=_positive, default=None, metavar="N",
                   help="random programs to generate (default: 90, or 40 with --dtype float32 or --special), after "
                        "the probes (see --probes)")
    p.add_argument("--probes", action=argparse.BooleanOptionalAction, default=True,
                   help="first check every primitive of the selected backends alone, at a regular and at a special "
                        "point: 2 examples per primitive on top of --max-examples (default: on)")
    p.add_argument("--known-replay", action=argparse.BooleanOptionalAction, default=True,
                   help="first replay the minimal example of every known behaviour of the selected backends, each "
                        "reported present or fixed (default: on)")
    p.add_argument("--mode", action="append", choices=list(MODES), default=None, metavar="MODE",
                   help=f"a mode of AD to check (repeatable; one of {', '.join(MODES)}): vjp is reverse mode (vᵀ·J), "
                        "jvp forward mode (J·w), hvp second order (Hessian-vector products H_v·u, every way the backend "
                        "computes them); default: every mode each backend provides (a backend without a mode "
                        "is 'not supported' in it)")
    p.add_argument("--hvp-every", type=_positive, default=2, metavar="N",
                   help="check second order (mode hvp) on every N-th example and on each primitive's regular probe "
                        "(default 2: it costs the most, its oracle differentiating each input entry twice; 1: every "
                        "example and probe; the known behaviours always)")
    p.add_argument("--max-side", type=_positive, default=None, metavar="N",
                   help="the largest side of the shapes drawn (default 4); past 4 the oracle is skipped and each "
                        "backend's VJP and JVP are checked against each other by the identity <v, J·w> = <Jᵀv, w> "
                        "alone (identity mode: no probes; modes vjp and jvp needed)")
    p.add_argument("--seed", type=int, default=0, help="the random seed: the same seed gives the same findings")
    p.add_argument("--dtype", choices=["float64", "float32"], default="float64")
    p.add_argument("--special", dest="special_share", action="store_const", const=1.0,
                   help="draw every example at special points: zeros, ties, kinks, saturation tails, large logits, "
                        "extremes (the same as --special-share 1)")
    p.add_argument("--no-special", dest="special_share", action="store_const", const=0.0,
                   help="regular points only (the same as --special-share 0)")
    p.add_argument("--special-share", dest="special_share", type=_share, default=DEFAULT_SPECIAL_SHARE, metavar="S",
                   help=f"the share of examples drawn at special points, in [0, 1] (default: {DEFAULT_SPECIAL_SHARE})")
    p.add_argument("--out", default="reports", metavar="DIR", help="where results.json and index.html go")
    p.add_argument("--workers", type=_positive, default=1, metavar="N", help="parallel workers (processes)")
    p.add_argument("--known-dir", default=None, metavar="DIR",
                   help="a folder of <backend>.txt known-behaviour files, added to the ones shipped (advalidate's and "
                        "each plug-in's)")
    p.add_argument("--no-cost", dest="cost", action="store_false", help="skip work counting and the cost sweeps")
    p.add_argument("--database", default=None, metavar="DIR|redis://HOST:PORT/DB",
                   help="a Hypothesis example database shared by workers and machines: every counterexample found "
                        "anywhere is replayed first everywhere (default: none, so a seed reproduces a run)")
    p.add_argument("--isolate", choices=["plugins", "all", "none"], default="plugins",
                   help="run backends in worker processes, so that a hang or a crash is a finding, not the end of "
                        "the run (default: third-party plug-ins)")
    p.add_argument("--timeout", type=float, default=120.0, metavar="S",
                   help="seconds an isolated backend may take for one VJP before it counts as hung")
    p.add_argument("--jax-cache", default=None, metavar="DIR|none",
                   help="JAX's persistent compilation cache: the second run on a machine loads the XLA programs the "
                        "first compiled (default: $XDG_CACHE_HOME/advalidate/jax, or JAX_COMPILATION_CACHE_DIR when "
                        "set; 'none' turns it off; delete the folder to clear it)")
    p.add_argument("--resume", action="store_true",
                   help="continue the interrupted campaign saved in DIR/results.json (same settings)")
    p.set_defaults(func=main, special_share=DEFAULT_SPECIAL_SHARE)
    return p


DEFAULT_SPECIAL_SHARE = 0.25  # the default run: a quarter of the examples at special points, the rest regular
CHECKPOINT_SECONDS = 30.0  # results.json: the first finding at once, then at most this often (a SIGKILL loses at most that)


def default_examples(args) -> int:
    """--max-examples, or its default: 90 (three modes share the budget of a run of about 3 minutes), or 40 with --dtype float32 or --special (every example special)."""
    return args.max_examples or (40 if args.dtype == "float32" or args.special_share == 1 else 90)


def _share(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a share in [0, 1], got {text!r}") from None
    if not 0 <= value <= 1:
        raise argparse.ArgumentTypeError(f"expected a share in [0, 1], got {value}")
    return value


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {value}")
    return value


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
    from .backends.registry import load_backends, path_targets
    from .replay import with_backend_paths
    from .campaign import Campaign, Settings
    from .compile_cache import use
    from .results import write_json

    use(args.jax_cache)  # before any JAX compilation (advalidate.compile_cache)
    if args.extension:
        from .errors import AdvalidateError
        from .extend import load

        try:
            load(args.extension)  # also named in the environment, for the worker processes
        except AdvalidateError as e:
            print(f"advalidate run: --extension: {e}", file=sys.stderr)
            return 2
    from .selection import SelectionError, resolve

    try:
        selected = resolve(args.primitive)  # after --extension: a user's op can be selected
    except SelectionError as e:
        print(f"advalidate run: {e}", file=sys.stderr)
        return 2
    if args.workers > 1:
        if args.resume:
            print("advalidate run: --resume runs one worker (the saved campaign is one process's)", file=sys.stderr)
            return 2
        from .parallel import run_parallel

        return run_parallel(args)
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
    max_examples = default_examples(args)
    out = Path(args.out)
    try:
        settings = Settings(max_examples=max_examples, seed=args.seed, dtype=args.dtype, special=args.special_share,
                            out=str(out), workers=args.workers, known_dir=args.known_dir, measure_work=args.cost,
                            database=args.database, probes=args.probes, replay_known=args.known_replay,
                            primitives=selected, modes=tuple(args.mode or MODES), max_side=args.max_side,
                            hvp_every=args.hvp_every)
    except ValueError as e:
        print(f"advalidate run: {e}", file=sys.stderr)
        return 2
    if settings.identities:
        print(f"identity mode (--max-side {settings.max_side}): the oracle is skipped; each backend's VJP and JVP are "
              "checked against each other by <v, J·w> = <Jᵀv, w>", file=sys.stderr)
    if "hvp" in settings.modes and settings.hvp_every > 1 and not settings.identities:
        print(f"second order (hvp) on the regular probes and on one example in {settings.hvp_every} (--hvp-every 1: "
              "every one)", file=sys.stderr)
    _say_unsupported_modes(backends, settings.modes)
    from .progress import Termination, progress_display

    update, stop = progress_display()
    termination = Termination()

    def progress(done, total, findings):
        update(done, total, findings)
        termination.check()

    targets = path_targets()  # backends given as module:Class: their findings replay with --backend module:Class

    def checkpoint(results):
        with_backend_paths(results["findings"], targets)
        write_json(out / "results.json", results)

    from .known import KnownFormatError

    try:
        campaign = Campaign(backends, settings, load_errors=errors, progress=progress, checkpoint=checkpoint,
                            checkpoint_every=CHECKPOINT_SECONDS)
    except KnownFormatError as e:  # a file of --known-dir (or advalidate's own) that does not parse: its line named
        stop()
        print(f"advalidate run: {e}", file=sys.stderr)
        return 2
    for name, why in campaign.load_errors.items():  # a plug-in whose shipped known behaviours do not parse
        if name not in errors:
            print(f"warning: backend {name} left out: {why}", file=sys.stderr)
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
    with_backend_paths(results["findings"], targets)
    write_json(out / "results.json", results)
    report = _write_report(results, out)
    _print_summary(results, out, report)
    if campaign.interrupted:
        print("interrupted: the results cover what was done", file=sys.stderr)
        return 130
    return 1 if results["summary"]["unexpected"] else 0


def _say_unsupported_modes(backends, modes) -> None:
    """Once, before the run: each mode asked that some backends do not provide (contract.modes_of)."""
    from .backends.contract import modes_of

    for mode in modes:
        lacking = [b.name for b in backends if mode not in modes_of(b)]
        if lacking:
            print(f"mode {mode}: not supported by {', '.join(lacking)} (no {mode} method): checked on the others",
                  file=sys.stderr)


def _print_summary(results, out: Path, report):
    from .bugreport import write_scripts
    from .known_replay import fixed_lines, summary_line

    summary = results["summary"]
    print(f"{summary['examples']} examples, {summary['findings']} findings "
          f"({summary['unexpected']} unexpected, {summary['known']} known) in {results['duration_s']:.0f} s")
    scripts = write_scripts(results, out)  # each finding's bug report, a script to paste (advalidate.bugreport)
    for f in results["findings"]:
        tag = "known" if f["known"] else "NEW"
        mode = f" ({f['mode']})" if f.get("mode", "vjp") != "vjp" else ""
        print(f"  {f['id']} [{tag}] {f['backend']}{mode}: {f['kind']} on {f['signature']}: "
              f"{f['message'].splitlines()[0]}"
              + (f" (script: {scripts[f['id']]})" if f["id"] in scripts else ""))
    print("\n".join([summary_line(results["known"])] + fixed_lines(results["known"])))
    print(f"results: {out / 'results.json'}" + (f"\nreport:  {report}" if report else ""))


def _cost_sweeps(backends):
    try:
        from .cost import scaling
    except ImportError:
        return None
    return scaling.campaign_data(backends)


def _write_report(results, out: Path):
    """The report's path, or None where it could not be written: the results are complete either way, and a
    failure is said on stderr with the command that renders them again (never a traceback that hides them)."""
    try:
        from .report import write_report
    except ImportError:
        return None
    try:
        return write_report(results, out / "index.html")
    except Exception as e:  # noqa: BLE001  the report is advalidate's own code: its failure is ours, said plainly
        print(f"the report could not be written ({type(e).__name__}: {e}); {out / 'results.json'} is complete: "
              f"`advalidate report {out / 'results.json'}` renders it again once fixed", file=sys.stderr)
        return None
