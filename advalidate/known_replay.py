"""Replay of the known behaviours: each entry's minimal example through its backend, at the start of every run.

Every entry of a selected backend that has an example goes through :func:`advalidate.check.check_example` on that
backend alone (one small program each), and gets a status:

- ``present``: the example still gives a finding of the entry's kind whose signature the entry matches;
- ``fixed``: the backend passes the example (in this version: the record names the library's version);
- ``changed``: the example gives another finding (another kind, or a signature the entry does not match);
- ``cannot run``: the backend cannot take the example (a dtype or primitive it lacks, a point the oracle
  skips, a cost entry in a run that counts no work), with why;
- ``no example``: the entry has none yet (its file says why).

:func:`replay` returns one record per entry for results.json's ``known`` section; :func:`summary_line` and
:func:`fixed_lines` are what the terminal shows.
"""

from __future__ import annotations

import re

import time
import warnings
from collections import Counter

import numpy as np

from .check import check_example, finding_signature
from .known import KnownBehaviours
from .oracle import Oracle
from .results import encode_array

__all__ = ["replay", "replay_entry", "STATUSES", "summary_line", "fixed_lines"]

STATUSES = ("present", "fixed", "changed", "cannot run", "no example")


def replay(known: KnownBehaviours, backends, measure_work: bool = True, primitives=None) -> list[dict]:
    """A record per entry of ``known`` whose backend is among ``backends`` (objects following the contract), in
    the files' order. ``measure_work`` false: cost-bound entries are not run (the run counts no work).
    ``primitives`` (a focused campaign's selection, :mod:`advalidate.selection`): only the entries about one of
    them (its example uses one, or, without an example, a pattern names one)."""
    by_name = {b.name: b for b in backends}
    oracles: dict = {}
    records = []
    for entry in known.entries:
        backend = by_name.get(entry.backend)
        if backend is None or (primitives is not None and not _about(entry, primitives)):
            continue
        records.append(replay_entry(entry, backend, oracles, measure_work))
    return records


def _about(entry, primitives) -> bool:
    if entry.example is not None:
        used = set(entry.example.function.primitives_used)
    else:
        used = {name for p in entry.patterns for name in re.split(r"[+*?\[\]]+", p) if name}
    return bool(used & set(primitives))


def _base(entry, backend) -> dict:
    return {"backend": entry.backend, "kind": entry.kind, "mode": entry.mode, "pattern": entry.pattern,
            "source": entry.source,
            "version": str(getattr(backend, "version", "") or ""), "comment": entry.comment,
            "evidence": dict(entry.evidence), "example": entry.example.record() if entry.example else None,
            "status": "", "why": "", "signature": None, "found_kind": None, "message": "",
            "oracle": None, "oracle_sides": None, "library": None, "ratio": None, "point": None, "seconds": 0.0}


def replay_entry(entry, backend, oracles: dict | None = None, measure_work: bool = True) -> dict:
    """The record of one entry replayed on ``backend`` (see the module's doc)."""
    record = _base(entry, backend)
    if entry.example is None:
        record.update(status="no example", why=entry.no_example)
        return record
    if entry.kind == "cost-bound" and not measure_work:
        record.update(status="cannot run", why="this run counts no work")
        return record
    if entry.kind == "cost-bound" and not callable(getattr(backend, "work", None)):
        record.update(status="cannot run", why=f"{entry.backend} counts no work")
        return record
    from .backends.contract import modes_of

    if entry.mode not in modes_of(backend):
        record.update(status="cannot run", why=f"{entry.backend} has no {entry.mode} mode")
        return record
    ex = entry.example
    dtype = ex.function.dtype
    oracles = {} if oracles is None else oracles
    oracle = oracles.setdefault(dtype, Oracle(dtype=dtype))
    start = time.perf_counter()
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")  # the library's own overflow warnings at these points are expected
        result = check_example(ex.function, [np.array(x, copy=True) for x in ex.inputs],
                               [np.array(v, copy=True) for v in ex.cotangents], [backend], oracle,
                               measure_work=entry.kind == "cost-bound",
                               tangents=[np.array(w, copy=True) for w in ex.tangents] or None, modes=(entry.mode,))
    record["seconds"] = round(time.perf_counter() - start, 4)
    outcome = next(o for o in result.outcomes if o.mode == entry.mode)
    record["point"] = result.point
    if entry.mode == "jvp" and result.jvp_oracle is not None:
        record["oracle"] = [encode_array(t) for t in result.jvp_oracle.tangents]
    elif entry.mode == "hvp" and result.hvp_oracle is not None:
        record["oracle"] = [encode_array(h) for h in result.hvp_oracle.hvps]
    elif result.oracle is not None and result.oracle.mode == "full":
        record["oracle"] = [encode_array(g) for g in result.oracle.grads]
    if result.sides is not None:
        record["oracle_sides"] = result.sides.record()
    if outcome.grads is not None:
        record["library"] = [encode_array(g) for g in outcome.grads]
    if outcome.work is not None and outcome.work.forward:
        record["ratio"] = outcome.work.vjp / outcome.work.forward
    record["message"] = outcome.message
    if outcome.status in ("unsupported", "skipped"):
        record.update(status="cannot run", why=outcome.message or outcome.status)
    elif outcome.status == "pass":
        record["status"] = "fixed"
    else:
        signature = finding_signature(outcome, result.function)
        record.update(signature=signature, found_kind=outcome.kind)
        if entry.matches(entry.backend, outcome.kind, signature, mode=entry.mode):
            record["status"] = "present"
        else:
            record.update(status="changed", why=f"the example now gives {outcome.kind} on {signature}")
    return record


def summary_line(records) -> str:
    """``known behaviours: 41 present, 2 fixed, 1 without an example`` (the counts of the records)."""
    counts = Counter(r["status"] for r in records)
    words = {"no example": "without an example"}
    parts = [f"{counts[s]} {words.get(s, s)}" for s in STATUSES if counts[s]]
    return "known behaviours: " + (", ".join(parts) if parts else "none for these backends")


def fixed_lines(records) -> list[str]:
    """The lines under the summary: each fixed entry (with the library's version) and each changed one named;
    the entries that cannot run named too, or counted by reason when several share it (a run without cost
    counting skips every cost-bound entry)."""
    lines, unable = [], {}
    for r in records:
        what = f"{r['backend']} {r['kind']} {r['pattern']} ({r['source']})"
        if r["status"] == "fixed":
            lines.append(f"  fixed in {r['backend']} {r['version']}: {what}".rstrip())
        elif r["status"] == "changed":
            lines.append(f"  changed: {what}: {r['why']}")
        elif r["status"] == "cannot run":
            unable.setdefault(r["why"].splitlines()[0] if r["why"] else "", []).append(what)
    for why, whats in unable.items():
        lines += [f"  cannot run: {whats[0]}: {why}"] if len(whats) == 1 else [f"  {len(whats)} cannot run: {why}"]
    return lines
