"""A campaign's statistics: what was checked, per backend, family and primitive, and what it cost.

:class:`Stats` is filled example by example (:meth:`Stats.add`), written to and read from the ``stats`` and
``summary`` parts of results.json (:meth:`Stats.to_json`, :meth:`Stats.from_results`), and summed over the
shards of one parallel run (:meth:`Stats.merge`). This module is the one place that knows the JSON form.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field

import numpy as np

from . import primitives

__all__ = ["Stats", "MAX_RATIO_SAMPLES", "finite_or_str"]

MAX_RATIO_SAMPLES = 2000  # error and cost ratios kept per backend (for the report's plots)


def label(outcome) -> str:
    """The row an outcome is counted under: its backend, and ``backend (jvp)`` for another mode than reverse."""
    mode = getattr(outcome, "mode", "vjp")
    return outcome.backend if mode == "vjp" else f"{outcome.backend} ({mode})"


def finite_or_str(x):
    """``x`` as a JSON number, or "inf", "-inf", "nan" (which JSON lacks)."""
    x = float(x)
    return x if np.isfinite(x) else ("inf" if x > 0 else "nan" if np.isnan(x) else "-inf")


@dataclass
class Stats:
    examples: int = 0  # the budget's examples (random compositions)
    probes: int = 0  # the coverage phase's one-node examples, on top of the budget (advalidate.coverage)
    points: Counter = field(default_factory=Counter)
    backend: dict = field(default_factory=lambda: defaultdict(Counter))
    cells: dict = field(default_factory=lambda: defaultdict(Counter))  # (backend, family, property) -> status
    primitives: dict = field(default_factory=lambda: defaultdict(Counter))  # (backend, prim) -> status
    alone: dict = field(default_factory=lambda: defaultdict(Counter))  # the same, one-node programs only
    conventions: dict = field(default_factory=lambda: defaultdict(Counter))
    ratios: dict = field(default_factory=lambda: defaultdict(list))
    cost_ratios: dict = field(default_factory=lambda: defaultdict(list))
    timings: Counter = field(default_factory=Counter)

    def add(self, fn, result, probe: bool = False) -> None:
        """Count one checked example (``result`` of :func:`advalidate.check.check_example` on ``fn``); ``probe``:
        one of the coverage phase's, on top of the budget."""
        if probe:
            self.probes += 1
        else:
            self.examples += 1
        self.points[result.point] += 1
        self.timings.update(result.seconds)
        families = {primitives.get(p).family for p in fn.primitives_used}
        for o in result.outcomes:
            name = label(o)
            self.backend[name][o.status] += 1
            if o.convention:
                self.conventions[name][o.convention] += 1
            if o.comparison is not None and len(self.ratios[name]) < MAX_RATIO_SAMPLES:
                self.ratios[name].append(float(o.comparison.ratio))
            if o.work is not None and o.work.forward and len(self.cost_ratios[name]) < MAX_RATIO_SAMPLES:
                outputs = int(sum(np.prod(shape) for shape in fn.output_shapes))
                self.cost_ratios[name].append([outputs, o.work.vjp / o.work.forward])
            value_status = o.status if o.kind != "cost-bound" else "pass"
            cost_status = ("finding" if o.kind == "cost-bound" else "pass") if o.work is not None else \
                "not-measured" if getattr(o, "not_counted", None) else None  # the backend's NotCounted
            if o.status in ("unsupported", "skipped"):
                value_status = cost_status = o.status
            for fam in families:
                self.cells[(name, fam, "value")][value_status] += 1
                if cost_status:
                    self.cells[(name, fam, "cost")][cost_status] += 1
            if o.mode != "vjp":  # the coverage table is reverse mode's
                continue
            for p in fn.primitives_used:
                self.primitives[(o.backend, p)][value_status] += 1
                if len(fn.nodes) == 1:
                    self.alone[(o.backend, p)][value_status] += 1

    # ------------------------------------------------------------------ JSON

    def to_json(self) -> dict:
        """The ``stats`` part of results.json."""
        return {
            "backends": {k: dict(v) for k, v in self.backend.items()},
            "cells": [{"backend": b, "family": f, "property": p, "counts": dict(c)}
                      for (b, f, p), c in sorted(self.cells.items())],
            "primitives": [{"backend": b, "primitive": p, "counts": dict(c), "alone": dict(self.alone.get((b, p), {}))}
                           for (b, p), c in sorted(self.primitives.items())],
            "conventions": {k: dict(v) for k, v in self.conventions.items()},
            "error_ratios": {k: [finite_or_str(r) for r in v] for k, v in self.ratios.items()},
            "cost_ratios": {k: list(v) for k, v in self.cost_ratios.items()},
            "seconds": {k: round(v, 3) for k, v in self.timings.items()},
        }

    @classmethod
    def from_results(cls, results: dict) -> "Stats":
        """The statistics saved in a results.json (to resume a campaign, or to merge shards)."""
        s, saved = cls(), results["stats"]
        s.examples = results["summary"]["examples"]
        s.probes = results["summary"].get("probes", 0)
        s.points.update(results["summary"].get("points", {}))
        for name, counts in saved["backends"].items():
            s.backend[name].update(counts)
        for cell in saved["cells"]:
            s.cells[(cell["backend"], cell["family"], cell["property"])].update(cell["counts"])
        for row in saved["primitives"]:
            s.primitives[(row["backend"], row["primitive"])].update(row["counts"])
            s.alone[(row["backend"], row["primitive"])].update(row.get("alone", {}))
        for name, counts in saved.get("conventions", {}).items():
            s.conventions[name].update(counts)
        for name, ratios in saved["error_ratios"].items():
            s.ratios[name].extend(float(r) for r in ratios)
        for name, pairs in saved["cost_ratios"].items():
            s.cost_ratios[name].extend(pairs)
        s.timings.update(saved.get("seconds", {}))
        return s

    @classmethod
    def merge(cls, parts) -> "Stats":
        """The sum of several :class:`Stats` (the shards of one run: their examples are disjoint)."""
        total = cls()
        for s in parts:
            total.examples += s.examples
            total.probes += s.probes
            total.points.update(s.points)
            for table, into in ((s.backend, total.backend), (s.cells, total.cells), (s.primitives, total.primitives),
                                (s.alone, total.alone), (s.conventions, total.conventions)):
                for key, counts in table.items():
                    into[key].update(counts)
            for table, into in ((s.ratios, total.ratios), (s.cost_ratios, total.cost_ratios)):
                for key, values in table.items():
                    into[key].extend(values)
            total.timings.update(s.timings)
        return total
