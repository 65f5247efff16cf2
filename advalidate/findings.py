"""Findings: the one dedup rule, and a finding as it is written to results.json.

A finding's **key** is ``(backend, kind, signature)``; the signature is the ``+``-joined sorted primitives of
its minimal program, or a tag such as ``flush-to-zero`` (:func:`advalidate.check.finding_signature`).
:class:`FindingSet` holds the kept findings and decides what is new; the campaign (while searching), the shard
merge (after a parallel run) and the replay of a shared database all use it, so the rule exists once.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import asdict

from .bugreport import renumber
from .results import encode_array
from .stats import finite_or_str
from .warnings_capture import records

__all__ = ["FindingSet", "finding_record", "backend_source", "MAX_PER_KIND"]

MAX_PER_KIND = 6  # distinct findings kept per (backend, kind); past it the search moves on


class FindingSet:
    """Kept findings and their keys.

    A finding is new unless one already kept for the same backend and kind used a subset of its primitives
    (``sin+tanh`` adds nothing to a ``tanh`` finding), or ``max_per_kind`` of that backend and kind are kept
    already (a bug in the tape itself shows on every primitive: a few make the point). ``peers`` are keys kept
    elsewhere (other shards of the same run), which count as kept.
    """

    def __init__(self, max_per_kind: int = MAX_PER_KIND, records=(), keys=()):
        self.max_per_kind = max_per_kind
        self.records: list[dict] = list(records)
        self.keys: set = {tuple(k) for k in keys}

    def is_new(self, key, peers=()) -> bool:
        prims = set(key[2].split("+"))
        same = [k for k in self.keys | set(peers) if k[:2] == tuple(key[:2])]
        return len(same) < self.max_per_kind and not any(set(k[2].split("+")) <= prims for k in same)

    def add_key(self, key) -> None:
        self.keys.add(tuple(key))

    def add(self, record: dict) -> dict | None:
        """Keep ``record`` (numbered F001, F002, ... in order) if its key is new; the kept record or None."""
        key = (record["backend"], record["kind"], record["signature"])
        if not self.is_new(key):
            return None
        self.add_key(key)
        old = record
        record = dict(record, id=f"F{len(self.records) + 1:03d}")
        if "replay" in record:
            record["replay"] = record["replay"].rsplit("--id", 1)[0] + f"--id {record['id']}"
        if record.get("script"):  # its header names the id and the replay command (advalidate.bugreport)
            record["script"] = renumber(record, old["id"], old.get("replay"))
        self.records.append(record)
        return record

    def next_id(self) -> str:
        return f"F{len(self.records) + 1:03d}"

    def capped(self) -> list:
        """The (backend, kind) pairs that reached ``max_per_kind``."""
        counts = Counter(k[:2] for k in self.keys)
        return [list(k) for k, n in sorted(counts.items()) if n >= self.max_per_kind]

    def __len__(self):
        return len(self.records)

    def __iter__(self):
        return iter(self.records)


def finding_record(key, example, result, outcome, backend, known_entry=None) -> dict:
    """The JSON record of a finding (``outcome`` of ``backend`` on ``example``, ``result`` its whole check);
    ``id`` and ``replay`` are the finding set's and the campaign's to fill."""
    from .check import primitive_signature

    fn = example.function
    comparison = outcome.comparison
    return {
        "id": "",
        "backend": outcome.backend,
        "kind": outcome.kind,
        "signature": key[2],
        "known": known_entry is not None,
        "known_note": known_entry.comment if known_entry else "",
        "message": outcome.message,
        "point": result.point,
        "kink": result.kink,
        "function": fn.to_dict(),
        "source": backend_source(backend, fn),
        "inputs": [encode_array(x) for x in example.inputs],
        "cotangents": [encode_array(v) for v in example.cotangents],
        "oracle": oracle_record(result.oracle),
        "backend_grads": [encode_array(g) for g in outcome.grads] if outcome.grads is not None else None,
        "ratio": finite_or_str(comparison.ratio) if comparison else None,
        "worst": list(comparison.worst[1]) if comparison and comparison.worst else None,
        "worst_input": comparison.worst[0] if comparison and comparison.worst else None,
        "tolerance": [encode_array(t) for t in comparison.tolerances] if comparison else None,
        "errors": [encode_array(e) for e in comparison.errors] if comparison else None,
        "work": asdict(outcome.work) if outcome.work else None,
        "convention": outcome.convention,
        "kink_sides": result.sides.record() if result.sides is not None else None,
        "tag": outcome.tag,
        "warnings": records(outcome.warnings),  # what the backend warned computing this VJP: evidence
        "primitives": primitive_signature(fn.pruned()),
        "agrees_with": sorted(outcome.agrees_with),
        "all_backends_agree": _all_agree(outcome, result),
    }


def backend_source(backend, fn) -> str:
    """The function as runnable Python for ``backend`` (its dialect when it has one, NumPy otherwise)."""
    from .render import render

    if callable(getattr(backend, "source", None)):
        return backend.source(fn)
    dialect = getattr(backend, "dialect", None)
    try:
        return render(fn, dialect if dialect is not None else "numpy")
    except Exception:
        return render(fn, "numpy")


def oracle_record(ref):
    if ref is None:
        return None
    record = {"mode": ref.mode, "outputs": [encode_array(o) for o in ref.outputs],
              "max_error_rel": finite_or_str(ref.max_error_rel)}
    if ref.mode == "full":
        record["grads"] = [encode_array(g) for g in ref.grads]
        record["errors"] = [encode_array(e) for e in ref.errors]
    else:
        record["directions"] = [[encode_array(w) for w in ws] for ws in ref.directions]
        record["projections"] = [float(d.value) for d in ref.projections]
        record["projection_errors"] = [float(d.error) for d in ref.projections]
    return record


def _all_agree(outcome, result) -> bool:
    """Every other backend's VJP matches this one's (a value finding then points at the shared formula)."""
    if outcome.kind not in ("wrong-value", "precision-loss", "nan-inf", "convention"):
        return False
    others = [o for o in result.outcomes if o is not outcome and o.grads is not None]
    return bool(others) and all(o.backend in outcome.agrees_with for o in others)
