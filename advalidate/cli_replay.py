"""``advalidate replay``: rerun one finding of a results.json on its backend and say whether it is still there."""

from __future__ import annotations

import argparse
import sys

import numpy as np

from .errors import AdvalidateError

__all__ = ["add_parser", "main", "STILL_FAILS", "PASSES", "USAGE"]

PASSES, STILL_FAILS, USAGE = 0, 1, 2


def add_parser(sub) -> argparse.ArgumentParser:
    p = sub.add_parser("replay", help="rerun one finding of results.json and say whether it is still present",
                       description="Rerun a finding's minimal example (its function, point and cotangent, as "
                                   "recorded in results.json) on the backend that produced it, loaded as "
                                   "`advalidate run` loads it, against a fresh oracle; print what the rerun finds "
                                   "(kind, the oracle's and the backend's values, the error against the tolerance). "
                                   f"Exit {STILL_FAILS} when the example still fails (the same kind: the finding "
                                   f"is reproduced; another kind: it changed), {PASSES} when it passes now (the "
                                   f"finding no longer reproduces), {USAGE} when the file, the id or the backend "
                                   "is missing or the example cannot be checked here.")
    p.add_argument("results", metavar="RESULTS_JSON", help="the results.json written by `advalidate run`")
    p.add_argument("--id", required=True, metavar="FINDING", help="the finding's id, e.g. F001")
    p.add_argument("--isolate", choices=["plugins", "all", "none"], default="plugins",
                   help="run the backend in a worker process, as `advalidate run` does (default: third-party "
                        "plug-ins), so that a hang or a crash is replayed as the error finding it was")
    p.add_argument("--backend", metavar="MODULE:ATTR", dest="target",
                   help="the backend as a dotted path (a class or an instance), for one that is not registered "
                        "(a backend under development, checked by run_conformance): imported and run in this "
                        "process; its name must be the finding's backend")
    p.add_argument("--timeout", type=float, default=120.0, metavar="S",
                   help="seconds an isolated backend may take for the VJP before it counts as hung")
    p.add_argument("--script", action="store_true",
                   help="print the finding's bug report instead of rerunning it: a self-contained Python script in "
                        "the library's own API (its function, point and cotangent as exact literals, the library's "
                        "VJP computed live, the oracle's value with its bound beside it); exit 0")
    p.set_defaults(func=main)
    return p


def _fail(message: str) -> int:
    print(f"advalidate replay: {message}", file=sys.stderr)
    return USAGE


def main(args) -> int:
    from .backends.registry import load_backends
    from .replay import find_finding, replay_finding
    from .results import load

    try:
        data = load(args.results)
        finding = find_finding(data, args.id, args.results)
    except (FileNotFoundError, IsADirectoryError, PermissionError, ValueError) as e:
        return _fail(str(e))
    except KeyError as e:
        return _fail(e.args[0])
    if args.script:
        return _script(finding, data, args)
    name = finding["backend"]
    if args.target:
        try:
            backend = _from_target(args.target, name)
        except AdvalidateError as e:
            return _fail(f"--backend {args.target}: {e}")
    else:
        try:
            backends, errors = load_backends([name], args.isolate, args.timeout)
        except LookupError as e:
            return _fail(f"the backend {name!r} of {args.id} is not known here: {e} (a backend that is not "
                         "registered is named by --backend MODULE:ATTR)")
        if errors:
            return _fail(f"the backend {name!r} of {args.id} did not load: {errors[name]}")
        (backend,) = backends
    try:
        outcome = replay_finding(finding, backend)
    finally:
        close = getattr(backend, "close", None)  # an isolated backend's worker process
        if close is not None:
            close()
    return _print(finding, backend, outcome)


def _from_target(target: str, name: str):
    """The backend at ``target`` ("module:attr", a class or an instance), registered by its path as ``advalidate run
    --backend module:attr`` registers it; it must be the finding's backend, ``name``."""
    from .backends.registry import BackendLoadError, default_registry

    backend = default_registry().register_path(target).backend
    if backend.name != name:
        raise BackendLoadError(f"it is the backend {backend.name!r}, the finding's is {name!r}")
    return backend


def _script(finding: dict, results: dict, args) -> int:
    """Print the finding's script: the one recorded by the run, or (a results.json from before scripts were
    recorded) one written now, with the backend when it loads here, else the fallback."""
    from .bugreport import script

    text = finding.get("script")
    if not text:
        from .backends.registry import load_backends

        version = next((b.get("version", "") for b in results.get("backends", []) if b["name"] == finding["backend"]),
                       None)
        backend = None
        try:
            if args.target:
                backend = _from_target(args.target, finding["backend"])
            else:
                loaded, _ = load_backends([finding["backend"]], "none", args.timeout)
                backend = loaded[0] if loaded else None
        except (LookupError, AdvalidateError):
            pass  # not known here: the fallback says the VJP call is the backend's to supply
        text = script(finding, backend, version)
    sys.stdout.write(text)
    return 0


def _short(a) -> str:
    return np.array2string(np.asarray(a, dtype=np.float64), precision=17, threshold=8, edgeitems=3)


def _values(outcome, ref) -> list[str]:
    """The oracle's and the backend's VJP (or JVP) where they differ most (the whole arrays when small)."""
    import mpmath

    comparison = outcome.comparison
    mode = getattr(outcome, "mode", "vjp")
    if mode in ("jvp", "hvp"):  # per output J·w, or per input H_v·u
        what, letter = ("J·w", "y") if mode == "jvp" else ("H_v·u", "x")
        lines = [f"  backend {what}: {', '.join(_short(t) for t in outcome.grads)}"] if outcome.grads is not None else []
        if ref is None or comparison is None:
            return lines
        exact = ref.tangents if mode == "jvp" else ref.hvps
        lines.insert(0, f"  oracle {what}:  {', '.join(_short(t) for t in exact)}")
        if comparison.worst is not None:
            k, idx = comparison.worst
            at = f"{letter}{k}[{', '.join(map(str, idx))}]" if idx else f"{letter}{k}"
            lines.append(f"  worst component {at}: oracle {float(exact[k][idx])!r} ± {ref.errors[k][idx]:.3g}, "
                         f"backend {float(outcome.grads[k][idx])!r}, |difference| {comparison.errors[k][idx]:.3g} "
                         f"against a tolerance of {comparison.tolerances[k][idx]:.3g}")
        return lines
    if comparison is None or ref is None or outcome.grads is None:
        return [f"  backend VJP: {', '.join(_short(g) for g in outcome.grads)}"] if outcome.grads is not None else []
    if ref.mode == "full" and comparison.worst is None:  # every component exact: nothing differs to point at
        return [f"  oracle VJP:  {', '.join(_short(g) for g in ref.grads)}",
                f"  backend VJP: {', '.join(_short(g) for g in outcome.grads)}"]
    i, idx = comparison.worst if comparison.worst else (0, ())
    if ref.mode == "full":
        at = f"x{i}[{', '.join(map(str, idx))}]" if idx else f"x{i}"
        return [f"  oracle VJP:  {', '.join(_short(g) for g in ref.grads)}",
                f"  backend VJP: {', '.join(_short(g) for g in outcome.grads)}",
                f"  worst component {at}: oracle {float(ref.grads[i][idx])!r} ± {ref.errors[i][idx]:.3g}, backend "
                f"{float(outcome.grads[i][idx])!r}, |difference| {comparison.errors[i][idx]:.3g} against a tolerance of "
                f"{comparison.tolerances[i][idx]:.3g}"]
    j = idx[0] if idx else 0
    w = ref.directions[j]
    projected = float(sum(np.sum(np.asarray(g, dtype=np.float64) * d) for g, d in zip(outcome.grads, w)))
    return [f"  backend VJP: {', '.join(_short(g) for g in outcome.grads)}",
            f"  worst projection <VJP, w{j}>: oracle {mpmath.nstr(ref.projections[j].value, 17)} ± "
            f"{float(ref.projections[j].error):.3g}, backend {projected!r}"]


def _print(finding: dict, backend, replayed) -> int:
    outcome = replayed.outcome
    ref = {"jvp": replayed.result.jvp_oracle, "hvp": replayed.result.hvp_oracle}.get(outcome.mode,
                                                                                    replayed.result.oracle)
    what = {"jvp": "JVP", "hvp": "HVP"}.get(outcome.mode, "VJP")
    print(f"{finding['id']}: recorded {finding['kind']} on {finding['signature']} by {finding['backend']}"
          f"{' (forward mode)' if outcome.mode == 'jvp' else ' (second order)' if outcome.mode == 'hvp' else ''}: "
          f"{finding['message'].splitlines()[0] if finding['message'] else ''}")
    print(f"rerun on {backend.name} {getattr(backend, 'version', '')} against the oracle "
          f"({replayed.result.point} point{', kink at ' + replayed.result.kink if replayed.result.kink else ''}):")
    if outcome.status in ("unsupported", "skipped"):
        return _fail(f"{finding['id']} cannot be checked here: {outcome.message}")
    for line in _values(outcome, ref):
        print(line)
    if outcome.convention:
        print(f"  at the kink the VJP matches: {outcome.convention}")
    if outcome.work is not None:
        w = outcome.work
        print(f"  work: f {w.forward}, f + {what} {w.vjp} (ratio {w.ratio:.2f}), forward passes {w.forward_passes}")
    for caught in outcome.warnings:  # what the library warned while computing the VJP: evidence for its report
        print(f"  the backend warned: {caught.line()}")
    if outcome.status != "finding":
        ratio = f" (error {outcome.ratio:.3g}× the tolerance)" if outcome.comparison else ""
        print(f"found: nothing, the {what} passes{ratio}")
        print(f"no longer reproduces: {finding['id']} ({finding['kind']}) is gone")
        return PASSES
    print(f"found: {outcome.kind}: {outcome.message.splitlines()[0] if outcome.message else ''}")
    for line in outcome.message.splitlines()[1:]:
        print(f"  {line}")
    if replayed.reproduced:
        print(f"still present: {finding['id']} reproduces ({finding['kind']})")
    else:
        print(f"changed: {finding['id']} was {finding['kind']}, the rerun finds {outcome.kind}")
    return STILL_FAILS
