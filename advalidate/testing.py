"""Tools for backend authors: ``run_conformance(MyBackend)`` in one line of their own test suite.

It validates the backend against the contract (:mod:`advalidate.backends.contract`), then runs every
conformance check (:mod:`advalidate.conformance.checks`): each catalogue primitive the backend supports and a
few compositions, in each dtype it runs, against the oracle with the error model's tolerance. Failures listed
in the backend's known-behaviour file are reported as known; any other failure raises AssertionError with the
check id, the kind, the evidence and a runnable reproduction.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field

from .backends.registry import default_registry, validate
from .conformance.checks import Outcome, checks, run_check
from .conformance.known import load_known

__all__ = ["run_conformance", "ConformanceReport", "resolve_backend"]


@dataclass
class ConformanceReport:
    backend: str
    version: str
    outcomes: list[Outcome] = field(default_factory=list)
    known: dict = field(default_factory=dict)  # check id -> comment

    def by_status(self, status: str) -> list[Outcome]:
        return [o for o in self.outcomes if o.status == status]

    @property
    def failures(self) -> list[Outcome]:
        """Failures that the known-behaviour file does not list."""
        return self.by_status("fail")

    @property
    def ok(self) -> bool:
        return not self.failures

    def summary(self) -> str:
        counts = {s: len(self.by_status(s)) for s in ("pass", "fail", "known-fail", "known-pass", "not-supported")}
        head = f"{self.backend} {self.version}: " + ", ".join(f"{n} {s}" for s, n in counts.items() if n)
        lines = [head]
        for o in self.outcomes:
            if o.status in ("fail", "known-fail"):
                lines.append(f"  {o.status.upper()} {o.id} [{o.kind}] {o.detail.splitlines()[0] if o.detail else ''}")
                if o.status == "known-fail":
                    lines.append(f"      known: {self.known[o.id]}")
            elif o.status == "known-pass":
                lines.append(f"  KNOWN BUT PASSED {o.id}: the entry depends on the points, or it is stale")
        return "\n".join(lines)

    def to_dict(self) -> dict:
        return {"backend": self.backend, "version": self.version,
                "outcomes": [vars(o) for o in self.outcomes]}


def resolve_backend(backend):
    """A registered name, a class or an instance -> a validated backend instance."""
    if isinstance(backend, str):
        return default_registry().get(backend)
    return validate(backend)


def run_conformance(backend, *, dtypes=None, points: int = 3, seed: int = 0, known=None, select=None,
                    raise_on_failure: bool = True) -> ConformanceReport:
    """Check ``backend`` (a name, class or instance) against the oracle; AssertionError on an unknown failure.

    ``dtypes``: restrict to these (default: every dtype the backend runs). ``points``: random points per check.
    ``known``: a known-behaviour file (default: the backend's ``known_behaviour`` attribute, or advalidate's file
    for a built-in). ``select``: a predicate on check ids, to run a subset.
    """
    backend = resolve_backend(backend)
    known_entries = load_known(backend, known)
    report = ConformanceReport(backend.name, backend.version, known=known_entries)
    for check in checks(backend, dtypes):
        if select is not None and not select(check.id):
            continue
        outcome = run_check(backend, check, points=points, seed=seed)
        if check.id in known_entries and outcome.status in ("fail", "pass"):
            outcome.status = "known-" + outcome.status
        report.outcomes.append(outcome)
    stale = sorted(set(known_entries) - {c.id for c in checks(backend)})  # every dtype, whatever was selected
    if stale:
        warnings.warn(f"known-behaviour entries of {backend.name} match no check: {', '.join(stale)}", stacklevel=2)
    if raise_on_failure and report.failures:
        details = "\n\n".join(f"{o.id} [{o.kind}]: {o.detail}\n{o.reproduction}" for o in report.failures)
        raise AssertionError(f"{report.summary()}\n\n{details}")
    return report
