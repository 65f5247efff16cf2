"""For backend authors: check a backend against the oracle from your own test suite, in one line.

    from advalidate.testing import run_conformance
    def test_my_backend():
        run_conformance(MyBackend)

Each dtype's campaign is written as ``advalidate run`` writes one, to ``<out>/<dtype>/``: ``results.json``, the
report ``index.html`` and each finding's bug-report script under ``scripts/``. The failure message names those files
and, per finding, the ``advalidate replay`` command that reruns it (with ``--backend module:Class`` for a backend that
is not registered through an entry point).
"""

from __future__ import annotations

import tempfile
from pathlib import Path

__all__ = ["run_conformance", "format_findings"]


def format_findings(findings) -> str:
    lines = []
    for f in findings:
        lines += [f"{f['id']} {f['backend']}: {f['kind']} on {f['signature']}: {f['message'].splitlines()[0]}",
                  "  minimal function:", *("    " + line for line in f["source"].splitlines()),
                  f"  inputs: {f['inputs']}", f"  cotangents: {f['cotangents']}"]
        if f.get("oracle") and f["oracle"].get("grads") is not None:
            lines += [f"  oracle VJP:  {f['oracle']['grads']}", f"  backend VJP: {f['backend_grads']}"]
        lines.append(f"  replay: {f['replay']}")
        if f.get("script_path"):
            lines.append(f"  bug report: {f['script_path']}")
    return "\n".join(lines)


def run_conformance(backend, max_examples: int = 100, seed: int = 0, dtypes=None, special: bool = False,
                    known_dir=None, strategy=None, out=None, **settings) -> list[dict]:
    """Run the campaign on ``backend`` (an instance or a class) for each of its dtypes (or ``dtypes``).

    Each dtype's results, report and bug-report scripts are written to ``<out>/<dtype>/`` (``out``: a new temporary
    folder when None). Raises AssertionError listing every unexpected finding with its minimal reproduction, the
    files written and the command that replays it; returns the results (one per dtype) otherwise. The backend is
    validated first, with an error naming what is wrong. ``settings`` are more of :class:`advalidate.Settings`'s
    fields, as ``advalidate run``'s options set them (``probes=False``, ``modes=("vjp",)``, ``primitives=("sin",)``,
    ``replay_known=False``, ``measure_work=False``, ...).
    """
    import dataclasses

    from .backends.registry import validate
    from .campaign import Campaign, Settings

    fields = {f.name for f in dataclasses.fields(Settings)} - {"max_examples", "seed", "dtype", "special", "known_dir",
                                                                "out"}
    unknown = sorted(set(settings) - fields)
    if unknown:
        raise TypeError(f"run_conformance: unknown setting(s) {', '.join(unknown)}; the settings are "
                        f"{', '.join(sorted(fields))}")
    backend = validate(backend() if isinstance(backend, type) else backend)
    out = Path(out) if out is not None else Path(tempfile.mkdtemp(prefix=f"advalidate-{backend.name}-"))
    target = _replay_target(backend)
    results, written = [], []
    for dtype in dtypes or backend.dtypes:
        folder = out / dtype
        campaign_settings = Settings(max_examples=max_examples, seed=seed, dtype=dtype, special=special,
                                     known_dir=known_dir, out=str(folder), **settings)
        result = Campaign([backend], campaign_settings, strategy=strategy).run()
        written.append(_write(result, folder, target))
        results.append(result)
    unexpected = [f for r in results for f in r["findings"] if not f["known"]]
    if unexpected:
        files = "\n".join(f"  {line}" for line in written)
        note = "" if target is not False else (
            f"\n(replay needs the backend by import path: {type(backend).__qualname__} is defined where a new process "
            "cannot import it; define it in an importable module or register it through an entry point)")
        raise AssertionError(f"{backend.name}: {len(unexpected)} unexpected finding(s); written:\n{files}{note}\n"
                             + format_findings(unexpected))
    return results


def _replay_target(backend):
    """How ``advalidate replay`` finds ``backend`` in a new process: None when it is registered under its name (an
    entry point, a built-in), ``"module:Class"`` when its class can be imported by that path, False otherwise."""
    from .backends.registry import BackendLoadError, default_registry, load_target

    entry = default_registry().entries().get(backend.name)
    if entry is not None and entry.error is None:
        if entry.backend is backend or (isinstance(entry.target, str) and _is_class_of(entry.target, backend)):
            return None
    cls = type(backend)
    if cls.__module__ == "__main__" or "<locals>" in cls.__qualname__:
        return False
    target = f"{cls.__module__}:{cls.__qualname__}"
    try:
        return target if load_target(target) is cls else False
    except BackendLoadError:
        return False


def _is_class_of(target: str, backend) -> bool:
    from .backends.registry import BackendLoadError, load_target

    try:
        obj = load_target(target)
    except BackendLoadError:
        return False
    return obj is type(backend) or obj is backend


def _write(result: dict, folder: Path, target) -> str:
    """Write ``result`` as ``advalidate run`` does (results.json, index.html, scripts/); the replay commands name
    ``target`` when the backend is not registered. Returns a line naming what was written."""
    from .bugreport import write_scripts
    from .replay import with_backend_paths
    from .results import write_json

    folder.mkdir(parents=True, exist_ok=True)
    if target:
        with_backend_paths(result["findings"], {f["backend"]: target for f in result["findings"]})
    write_json(folder / "results.json", result)
    line = f"{folder / 'results.json'}"
    try:
        from .report import write_report

        line += f", report {write_report(result, folder / 'index.html')}"
    except Exception as e:  # noqa: BLE001  the results are complete either way; the report's failure is said
        line += f" (no report: {type(e).__name__}: {e}; `advalidate report {folder / 'results.json'}` renders it)"
    scripts = write_scripts(result, folder)
    for f in result["findings"]:
        if f["id"] in scripts:
            f["script_path"] = str(scripts[f["id"]])
    if scripts:
        line += f", bug reports in {folder / 'scripts'}"
    return line
