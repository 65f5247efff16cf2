"""Replay a finding from results.json: rerun the backend and the oracle on its minimal example."""

from __future__ import annotations

from dataclasses import dataclass

from .check import check_example
from .ir import Function
from .oracle import Oracle
from .results import decode_array, load

__all__ = ["Replay", "replay"]


@dataclass
class Replay:
    finding: dict
    reproduced: bool
    kind: str | None  # what the rerun found (None: it passed)
    message: str


def replay(path, finding_id: str, backends: dict) -> Replay:
    """Rerun finding ``finding_id`` of ``path`` on the backend named in it (``backends``: name -> object)."""
    data = load(path)
    finding = next((f for f in data["findings"] if f["id"] == finding_id), None)
    if finding is None:
        ids = ", ".join(f["id"] for f in data["findings"]) or "none"
        raise KeyError(f"no finding {finding_id!r} in {path} (findings: {ids})")
    if finding["backend"] not in backends:
        raise KeyError(f"backend {finding['backend']!r} of {finding_id} is not installed here "
                       f"(available: {', '.join(sorted(backends))})")
    fn = Function.from_dict(finding["function"])
    inputs = [decode_array(x, fn.dtype) for x in finding["inputs"]]
    cotangents = [decode_array(v, fn.dtype) for v in finding["cotangents"]]
    result = check_example(fn, inputs, cotangents, [backends[finding["backend"]]], Oracle(dtype=fn.dtype),
                           measure_work=finding["kind"] == "cost-bound")
    (outcome,) = result.outcomes
    kind = outcome.kind if outcome.status == "finding" else None
    return Replay(finding, kind == finding["kind"], kind, outcome.message or outcome.status)
