"""A known-behaviour entry drafted from a finding of results.json: its minimal example and its evidence (the oracle's
and the library's values, or the work ratio, and the library's version), in the format of :mod:`advalidate.known`,
read back and checked to match the finding before it is given. ``advalidate known`` prints or appends them.

The draft's header names the finding's kind and its exact signature (the minimal function's primitives, or its tag:
``flush-to-zero``); widening it (``*softplus*`` for every program with softplus) is the author's call, as is the
comment above it, which says in words why the library does this (the draft's default is the finding's message).
"""

from __future__ import annotations

import numpy as np

from .ir import Function
from .known import Entry, Example, format_array, format_entry, parse
from .results import decode_array

__all__ = ["draft", "DraftError"]


class DraftError(ValueError):
    pass


def _named(arrays, letter: str, dtype: str) -> str:
    return ", ".join(f"{letter}{i} = {format_array(a if isinstance(a, np.ndarray) else decode_array(a, dtype))}"
                     for i, a in enumerate(arrays))


def _evidence(finding: dict, version: str) -> list[tuple[str, str]]:
    fn_dtype = finding["function"].get("dtype", "float64")
    evidence = []
    oracle, library = finding.get("oracle") or {}, finding.get("backend_grads")
    mode = finding.get("mode", "vjp")
    exact, letter = {"vjp": (oracle.get("grads"), "x"), "jvp": (oracle.get("tangents"), "y"),
                     "hvp": (oracle.get("hvps"), "x")}[mode]
    if finding["kind"] == "cost-bound":
        work = finding.get("work") or {}
        if work.get("forward"):
            evidence.append(("ratio", f"{work['vjp'] / work['forward']:.3g}"))
    elif library is not None:  # NaN where the oracle has none (at a kink: its one-sided values are in the comment)
        exact = exact if exact is not None else [np.full(np.shape(decode_array(g, fn_dtype)), np.nan) for g in library]
        evidence += [("oracle", _named(exact, letter, fn_dtype)), ("library", _named(library, letter, fn_dtype))]
    if version:
        evidence.append(("version", version))
    return evidence


def draft(finding: dict, results: dict, comment: str | None = None, issue: str = "", pattern: str | None = None) -> str:
    """The entry for ``finding`` (a record of ``results``) as the file writes it; DraftError when its example cannot
    be written, or when the entry read back would not match the finding (a pattern that does not cover it)."""
    fn = Function.from_dict(finding["function"])
    dtype = fn.dtype
    mode = finding.get("mode", "vjp")
    example = Example(fn, tuple(decode_array(x, dtype) for x in finding["inputs"]),
                      tuple(decode_array(v, dtype) for v in finding["cotangents"]),
                      tuple(decode_array(w, dtype) for w in finding.get("tangents") or ()))
    if any(not np.all(np.isfinite(x)) for x in example.inputs):
        raise DraftError(f"{finding['id']}: its inputs are not all finite; a known entry's example cannot hold them")
    backend = finding["backend"]
    version = next((f"{backend} {b['version']}" for b in results.get("backends", [])
                    if b.get("name") == backend and b.get("version")), "")
    evidence = _evidence(finding, version)
    if issue:
        evidence.append(("issue", issue))
    header = pattern or finding["signature"]  # a tagged finding's signature is its tag (flush-to-zero)
    text = (comment if comment is not None else finding["message"].splitlines()[0]).strip()
    entry = Entry(backend, finding["kind"], tuple(header.split()), text, "draft", example, evidence=tuple(evidence),
                  mode=mode)
    written = format_entry(entry)
    (again,) = parse(written, backend, "draft")
    if not again.matches(backend, finding["kind"], finding["signature"], finding.get("region"), mode):
        raise DraftError(f"{finding['id']}: the entry '{finding['kind']} {header}' would not match the finding "
                         f"({finding['kind']} on {finding['signature']}, {finding.get('region')} "
                         f"point, mode {mode})")
    return written
