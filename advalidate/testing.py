"""For backend authors: check a backend against the oracle from your own test suite, in one line.

    from advalidate.testing import run_conformance
    def test_my_backend():
        run_conformance(MyBackend)
"""

from __future__ import annotations

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
    return "\n".join(lines)


def run_conformance(backend, max_examples: int = 100, seed: int = 0, dtypes=None, special: bool = False,
                    known_dir=None, strategy=None) -> list[dict]:
    """Run the campaign on ``backend`` (an instance or a class) for each of its dtypes (or ``dtypes``).

    Raises AssertionError listing every unexpected finding with its minimal reproduction; returns the
    results (one per dtype) otherwise. The backend is validated first, with an error naming what is wrong.
    """
    from .backends.registry import validate
    from .campaign import Campaign, Settings

    backend = validate(backend() if isinstance(backend, type) else backend)
    results = []
    for dtype in dtypes or backend.dtypes:
        settings = Settings(max_examples=max_examples, seed=seed, dtype=dtype, special=special, known_dir=known_dir)
        results.append(Campaign([backend], settings, strategy=strategy).run())
    unexpected = [f for r in results for f in r["findings"] if not f["known"]]
    if unexpected:
        raise AssertionError(f"{backend.name}: {len(unexpected)} unexpected finding(s)\n" + format_findings(unexpected))
    return results
