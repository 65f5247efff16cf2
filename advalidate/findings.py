"""Findings: the one dedup rule, and a finding as it is written to results.json.

A finding's **key** is ``(backend, kind, signature, region)``, with its mode of AD appended where it is not reverse
mode (``(..., region, "jvp")``: forward mode's findings are kept and counted apart); the signature is the ``+``-joined sorted primitives
of its minimal program, or a tag such as ``flush-to-zero`` (:func:`advalidate.check.finding_signature`); the
region (:func:`region`) says whether its point is one a regular draw can make. A wrong ``div`` rule at moderate
inputs and ``div`` overflowing at 1e155 are two bugs: keyed apart, the first is not swallowed by the second when
the second was kept first, and a known behaviour whose example lives in the tails does not explain it.
:class:`FindingSet` holds the kept findings and decides what is new; the campaign (while searching), the shard
merge (after a parallel run) and the replay of a shared database all use it, so the rule exists once.
"""

from __future__ import annotations

from collections import Counter

from .bugreport import renumber
from .results import encode_array
from .stats import finite_or_str
from .warnings_capture import records

__all__ = ["FindingSet", "finding_record", "backend_source", "region", "MAX_PER_KIND", "key_mode"]

MAX_PER_KIND = 6  # distinct findings kept per (backend, kind); past it the search moves on


def work_record(work) -> dict:
    """A :class:`~advalidate.backends.contract.Work` as results.json keeps it: the counts (not ``values``, the counted
    run's derivatives, which only serve the check that work was counted on the checked code)."""
    return {"forward": work.forward, "vjp": work.vjp, "forward_passes": work.forward_passes}


def region(fn, inputs) -> str:
    """``special`` where the point of ``fn`` is one a regular draw never makes, ``regular`` otherwise.

    Special: a tie, a kink within rounding, a saturating op deep in its tail, large logits, a value past
    sqrt(max) or within 1e3 of the smallest normal (:func:`advalidate.strategies._points.special_kinds`), or an
    input exactly zero (regular inputs are at least 0.125 in magnitude). An exact zero computed inside (a relu
    of a negative input, ``x - x``) happens at regular points too and does not count.
    """
    import numpy as np

    from advalidate.strategies._points import special_kinds

    with np.errstate(all="ignore"):
        kinds = special_kinds(fn, [np.asarray(x) for x in inputs]) - {"zero"}
    if kinds or any(np.any(np.asarray(x) == 0) for x in inputs):
        return "special"
    return "regular"


def _group(key) -> tuple:
    """(backend, kind, mode, region) of a key; a key without a region (an older results.json) is in every region,
    one without a mode is reverse mode's."""
    return (key[0], key[1], key[4] if len(key) > 4 else "vjp", key[3] if len(key) > 3 else None)


def key_mode(key) -> str:
    """The mode of AD of a finding's key."""
    return _group(key)[2]


def _covers(kept, key) -> bool:
    """Whether the kept key's group covers ``key``'s: same backend, kind and mode, and a regular finding covers both
    regions (a rule wrong at moderate points shows in the tails too), a special one only the special region
    (it does not explain a wrong value at moderate points). A key without a region covers and is covered by all."""
    gk, gn = _group(kept), _group(key)
    return gk[:3] == gn[:3] and (gk[3] in (None, "regular") or gn[3] in (None, gk[3]))


class FindingSet:
    """Kept findings and their keys.

    A finding is new unless one already kept for the same backend and kind used a subset of its primitives
    (``sin+tanh`` adds nothing to a ``tanh`` finding) in a region that covers its own (a regular finding covers
    the special region too, not the other way round: see :func:`region`), or ``max_per_kind`` of that backend,
    kind and region are kept already (a bug in the tape itself shows on every primitive: a few make the point).
    ``peers`` are keys kept elsewhere (other shards of the same run), which count as kept.
    """

    def __init__(self, max_per_kind: int = MAX_PER_KIND, records=(), keys=()):
        self.max_per_kind = max_per_kind
        self.records: list[dict] = list(records)
        self.keys: set = {tuple(k) for k in keys}

    def is_new(self, key, peers=()) -> bool:
        prims = set(key[2].split("+"))
        kept = self.keys | {tuple(p) for p in peers}
        if sum(_group(k) == _group(key) for k in kept) >= self.max_per_kind:
            return False
        return not any(_covers(k, key) and set(k[2].split("+")) <= prims for k in kept)

    def add_key(self, key) -> None:
        key = tuple(key)
        self.keys.add(key)
        if _group(key)[3] == "regular":
            self._supersede(key)

    def _supersede(self, key) -> None:
        """Drop the special-region findings a regular one explains (same backend and kind, a subset of their
        primitives: the doubled ``sin`` rule found first at x = 0 and then at x = 0.7 is one bug, reported at the
        regular point), numbering the rest again."""
        prims = set(key[2].split("+"))

        def covered(k):
            return _group(k)[:3] == _group(key)[:3] and _group(k)[3] == "special" and prims <= set(k[2].split("+"))

        self.keys = {k for k in self.keys if not covered(k)}
        kept = [r for r in self.records if not covered(record_key(r))]
        if len(kept) < len(self.records):
            self.records = [_numbered(r, i + 1) for i, r in enumerate(kept)]

    def add(self, record: dict) -> dict | None:
        """Keep ``record`` (numbered F001, F002, ... in order) if its key is new; the kept record or None."""
        key = record_key(record)
        if not self.is_new(key):
            return None
        self.add_key(key)
        record = _numbered(record, len(self.records) + 1)
        self.records.append(record)
        return record

    def next_id(self) -> str:
        return f"F{len(self.records) + 1:03d}"

    def capped(self) -> list:
        """The (backend, kind, region) groups that reached ``max_per_kind``."""
        counts = Counter(_group(k) for k in self.keys)
        # (backend, kind, region), and the mode after them where it is not reverse mode's
        return [[p for p in (k[0], k[1], k[3]) + ((k[2],) if k[2] != "vjp" else ()) if p is not None]
                for k, n in sorted(counts.items(), key=str) if n >= self.max_per_kind]

    def __len__(self):
        return len(self.records)

    def __iter__(self):
        return iter(self.records)


def _numbered(record: dict, n: int) -> dict:
    """``record`` as finding number ``n``: its id, and the replay command and script that name it."""
    new = dict(record, id=f"F{n:03d}")
    if new["id"] == record.get("id"):
        return record
    if "replay" in new:
        new["replay"] = new["replay"].rsplit("--id", 1)[0] + f"--id {new['id']}"
    if new.get("script"):  # its header names the id and the replay command (advalidate.bugreport)
        new["script"] = renumber(new, record.get("id", ""), record.get("replay"))
    return new


def record_key(record: dict) -> tuple:
    """A finding record's key (records written before regions existed have none)."""
    key = (record["backend"], record["kind"], record["signature"])
    key = key + (record["region"],) if record.get("region") else key
    mode = record.get("mode", "vjp")
    return key + (mode,) if mode != "vjp" and len(key) > 3 else key


def finding_record(key, example, result, outcome, backend, known_entry=None) -> dict:
    """The JSON record of a finding (``outcome`` of ``backend`` on ``example``, ``result`` its whole check);
    ``id`` and ``replay`` are the finding set's and the campaign's to fill."""
    from .check import primitive_signature

    fn = example.function
    comparison = outcome.comparison
    mode = getattr(outcome, "mode", "vjp")
    jvp = mode == "jvp"
    oracle = (jvp_oracle_record(result.jvp_oracle) if jvp else
              hvp_oracle_record(getattr(result, "hvp_oracle", None)) if mode == "hvp" else oracle_record(result.oracle))
    record = {
        "id": "",
        "backend": outcome.backend,
        "mode": mode,
        "kind": outcome.kind,
        "signature": key[2],
        "region": key[3] if len(key) > 3 else region(fn, example.inputs),
        "known": known_entry is not None,
        "known_note": known_entry.comment if known_entry else "",
        "message": outcome.message,
        "point": result.point,
        "kink": result.kink,
        "function": fn.to_dict(),
        "source": backend_source(backend, fn),
        "inputs": [encode_array(x) for x in example.inputs],
        "cotangents": [encode_array(v) for v in example.cotangents],
        "oracle": oracle,
        # forward mode: the backend's output tangents J·w (one per output), compared as the VJP's per input; second
        # order: its H_v·u per input
        "backend_grads": [encode_array(g) for g in outcome.grads] if outcome.grads is not None else None,
        "ratio": finite_or_str(comparison.ratio) if comparison else None,
        "worst": list(comparison.worst[1]) if comparison and comparison.worst else None,
        "worst_input": comparison.worst[0] if comparison and comparison.worst else None,
        "tolerance": [encode_array(t) for t in comparison.tolerances] if comparison else None,
        "errors": [encode_array(e) for e in comparison.errors] if comparison else None,
        "work": work_record(outcome.work) if outcome.work else None,
        "convention": outcome.convention,
        "kink_sides": result.sides.record() if result.sides is not None else None,
        "tag": outcome.tag,
        "warnings": records(outcome.warnings),  # what the backend warned computing this VJP: evidence
        "primitives": primitive_signature(fn.pruned()),
        "agrees_with": sorted(outcome.agrees_with),
        "all_backends_agree": _all_agree(outcome, result),
    }
    if mode in ("jvp", "hvp"):  # forward mode's w; second order's direction u (the same draw)
        record["tangents"] = [encode_array(w) for w in getattr(example, "tangents", ())]
    return record


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


def jvp_oracle_record(ref):
    """The oracle's J·w in a forward-mode finding: per output, the tangent and its error bound."""
    if ref is None:
        return None
    return {"mode": "jvp", "outputs": [encode_array(o) for o in ref.outputs],
            "tangents": [encode_array(t) for t in ref.tangents], "errors": [encode_array(e) for e in ref.errors],
            "max_error_rel": finite_or_str(ref.max_error_rel)}


def hvp_oracle_record(ref):
    """The oracle's H_v·u in a second-order finding: per input, the product and its error bound."""
    if ref is None:
        return None
    return {"mode": "hvp", "outputs": [encode_array(o) for o in ref.outputs],
            "hvps": [encode_array(h) for h in ref.hvps], "errors": [encode_array(e) for e in ref.errors],
            "max_error_rel": finite_or_str(ref.max_error_rel)}


def _all_agree(outcome, result) -> bool:
    """Every other backend's VJP matches this one's (a value finding then points at the shared formula)."""
    if outcome.kind not in ("wrong-value", "precision-loss", "nan-inf", "convention"):
        return False
    others = [o for o in result.outcomes if o is not outcome and o.grads is not None
              and getattr(o, "mode", "vjp") == getattr(outcome, "mode", "vjp")]
    return bool(others) and all(o.backend in outcome.agrees_with for o in others)
