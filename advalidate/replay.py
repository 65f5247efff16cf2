"""Replay a finding from results.json: rerun the backend and the oracle on its minimal example."""

from __future__ import annotations

from dataclasses import dataclass

from .check import ExampleResult, Outcome, check_example
from .ir import Function
from .oracle import Oracle
from .results import decode_array, load

__all__ = ["Replay", "replay", "find_finding", "with_backend_paths"]


@dataclass
class Replay:
    finding: dict
    reproduced: bool  # the rerun found the recorded kind again
    kind: str | None  # what the rerun found (None: it passed)
    message: str
    result: ExampleResult | None = None  # the rerun: the oracle's VJP and the backend's outcome

    @property
    def outcome(self) -> Outcome | None:
        return self.result.outcomes[0] if self.result is not None else None


def find_finding(data: dict, finding_id: str, path="results.json") -> dict:
    """The finding ``finding_id`` of loaded results ``data``; KeyError listing the ids there are otherwise."""
    finding = next((f for f in data["findings"] if f["id"] == finding_id), None)
    if finding is None:
        ids = ", ".join(f["id"] for f in data["findings"]) or "none"
        raise KeyError(f"no finding {finding_id!r} in {path} (findings: {ids})")
    return finding


def replay_finding(finding: dict, backend) -> Replay:
    """Rerun ``finding`` (a record of results.json) on ``backend`` against a fresh oracle."""
    fn = Function.from_dict(finding["function"])
    inputs = [decode_array(x, fn.dtype) for x in finding["inputs"]]
    cotangents = [decode_array(v, fn.dtype) for v in finding["cotangents"]]
    mode = finding.get("mode", "vjp")
    tangents = [decode_array(w, fn.dtype) for w in finding.get("tangents", [])]
    result = check_example(fn, inputs, cotangents, [backend], Oracle(dtype=fn.dtype),
                           measure_work=finding["kind"] == "cost-bound", tangents=tangents or None, modes=(mode,))
    (outcome,) = result.outcomes
    kind = outcome.kind if outcome.status == "finding" else None
    return Replay(finding, kind == finding["kind"], kind, outcome.message or outcome.status, result)


def replay(path, finding_id: str, backends: dict) -> Replay:
    """Rerun finding ``finding_id`` of ``path`` on the backend named in it (``backends``: name -> object)."""
    finding = find_finding(load(path), finding_id, path)
    if finding["backend"] not in backends:
        raise KeyError(f"backend {finding['backend']!r} of {finding_id} is not installed here "
                       f"(available: {', '.join(sorted(backends))})")
    return replay_finding(finding, backends[finding["backend"]])


def with_backend_paths(findings, targets: dict) -> None:
    """Each finding of a backend given by path (``targets``: name -> ``"module:attr"``) replays with ``--backend
    <path>``, in its record and its bug-report script's header: a new process finds the backend no other way."""
    for f in findings:
        target = targets.get(f["backend"])
        if not target or not f.get("replay") or " --backend " in f["replay"]:
            continue
        old = f["replay"]
        f["replay"] = f"{old} --backend {target}"
        if f.get("script"):
            f["script"] = f["script"].replace(f"#   {old}\n", f"#   {f['replay']}\n", 1)
