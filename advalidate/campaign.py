"""The conformance campaign: many generated examples through every backend, findings shrunk and kept.

A campaign is a Hypothesis property over ``strategies.examples()``: for each example the oracle runs once and
every backend is checked (:func:`advalidate.check.check_example`). The property fails on a finding whose
signature (backend, kind, primitive signature) is new (not a superset of one already kept); Hypothesis shrinks it to a minimal
example, the finding is recorded, its signature joins the seen set, and the search goes on with the rest of
the budget. So each distinct finding is reported once, minimal, and the run is reproducible from its seed.
"""

from __future__ import annotations

import datetime as _dt
import platform
import sys
import time
from collections import Counter, defaultdict
from dataclasses import asdict, dataclass, field

import hypothesis
import numpy as np
from hypothesis import HealthCheck, Phase, given
from hypothesis import settings as hsettings

from . import __version__, primitives
from .check import OMEGA, ExampleResult, check_example, finding_signature, primitive_signature
from .draws import seed_only_draws
from .known import KnownBehaviours
from .oracle import Oracle
from .results import SCHEMA, encode_array
from .shards import Budget
from .warnings_capture import records

__all__ = ["Settings", "Campaign"]

MAX_RATIO_SAMPLES = 2000


@dataclass
class Settings:
    max_examples: int = 150
    seed: int = 0
    dtype: str = "float64"
    special: bool = False
    out: str = "reports"
    workers: int = 1
    known_dir: str | None = None
    measure_work: bool = True
    database: str | None = None  # Hypothesis example database: a directory or redis:// URL (None: runs reproduce)
    max_per_kind: int = 6  # distinct findings kept per (backend, kind); past it the search moves on


@dataclass(frozen=True)
class _Minimal:
    """A recorded example: the shrunk one, possibly without its dead nodes."""

    function: object
    inputs: tuple
    cotangents: tuple


class _NewFinding(Exception):
    """Raised inside the property so Hypothesis shrinks the example."""


class _BudgetSpent(BaseException):
    """Raised inside the property when no example is left to claim: like KeyboardInterrupt, Hypothesis lets
    a BaseException through at once, without shrinking (see ``hypothesis.core.failure_exceptions_to_catch``)."""


@dataclass
class _Stats:
    examples: int = 0
    points: Counter = field(default_factory=Counter)
    backend: dict = field(default_factory=lambda: defaultdict(Counter))
    cells: dict = field(default_factory=lambda: defaultdict(Counter))  # (backend, family, property) -> status
    primitives: dict = field(default_factory=lambda: defaultdict(Counter))  # (backend, prim) -> status
    conventions: dict = field(default_factory=lambda: defaultdict(Counter))
    ratios: dict = field(default_factory=lambda: defaultdict(list))
    cost_ratios: dict = field(default_factory=lambda: defaultdict(list))
    timings: Counter = field(default_factory=Counter)


    @classmethod
    def from_results(cls, results: dict) -> "_Stats":
        """The statistics saved in a results.json (to resume a campaign)."""
        s, saved = cls(), results["stats"]
        s.examples = results["summary"]["examples"]
        s.points.update(results["summary"].get("points", {}))
        for name, counts in saved["backends"].items():
            s.backend[name].update(counts)
        for cell in saved["cells"]:
            s.cells[(cell["backend"], cell["family"], cell["property"])].update(cell["counts"])
        for row in saved["primitives"]:
            s.primitives[(row["backend"], row["primitive"])].update(row["counts"])
        for name, counts in saved.get("conventions", {}).items():
            s.conventions[name].update(counts)
        for name, ratios in saved["error_ratios"].items():
            s.ratios[name].extend(float(r) for r in ratios)
        for name, pairs in saved["cost_ratios"].items():
            s.cost_ratios[name].extend(pairs)
        s.timings.update(saved.get("seconds", {}))
        return s


class Campaign:
    """Run ``settings.max_examples`` examples through ``backends`` (objects following the contract)."""

    def __init__(self, backends, settings: Settings | None = None, strategy=None, load_errors=None,
                 progress=None, cost_data=None, checkpoint=None, budget=None):
        self.backends = list(backends)
        self.settings = settings or Settings()
        self.strategy = strategy
        self.load_errors = load_errors or {}
        self.progress = progress
        self.cost_data = cost_data
        self.checkpoint = checkpoint  # called with the results so far after each finding (incremental writes)
        # examples are claimed from the budget one by one (shared with the other shards of a parallel run)
        self.budget = budget if budget is not None else Budget(self.settings.max_examples)
        self._peers: set = set()  # findings kept by other shards (refreshed when a finding looks new)
        self.known = KnownBehaviours.load([b.name for b in self.backends], self.settings.known_dir)
        self.findings: list[dict] = []
        self.seen: set = set()
        self.stats = _Stats()
        self.started = time.time()
        self.elapsed_before = 0.0  # seconds of earlier sessions of a resumed campaign
        self.rounds = 0  # Hypothesis runs done (each ends at a new finding or at the end of the budget)
        self.resumes = 0
        self.interrupted = False
        self.complete = False
        self._last_checkpoint = time.time()

    # ------------------------------------------------------------------ the property

    def _strategy(self):
        if self.strategy is not None:
            return self.strategy
        from strategies import examples

        return examples(dtype=self.settings.dtype, special=self.settings.special)

    def _signature(self, outcome, fn) -> tuple:
        """(backend, kind, signature): the primitives of ``fn``'s live nodes, or the finding's tag (one
        ``flush-to-zero`` finding per backend and kind, whatever primitives show it)."""
        return (outcome.backend, outcome.kind, finding_signature(outcome, fn.pruned()))

    def _is_new(self, key) -> bool:
        """A finding is new unless one already kept for the same backend and kind used a subset of its
        primitives (``sin+tanh`` adds nothing to a ``tanh`` finding), or ``max_per_kind`` of that backend and
        kind are kept already (a bug in the tape itself shows on every primitive: a few make the point)."""
        prims = set(key[2].split("+"))
        same = [k for k in self.seen | self._peers if k[:2] == key[:2]]
        return len(same) < self.settings.max_per_kind and not any(set(k[2].split("+")) <= prims for k in same)

    def _capped(self) -> list:
        counts = Counter(k[:2] for k in self.seen)
        return [list(k) for k, n in sorted(counts.items()) if n >= self.settings.max_per_kind]

    def run(self) -> dict:
        """Run the campaign; returns the results (also on Ctrl-C or SIGTERM, with ``complete`` false)."""
        try:
            while self.budget.remaining() > 0:
                # a resumed campaign draws from fresh seeds: the examples it already checked are not redone
                seed = self.settings.seed + self.rounds + 100_003 * self.resumes
                found = self._round(self.budget.remaining(), seed)
                self.rounds += 1
                if not found:
                    break
            self.complete = True
        except KeyboardInterrupt:
            self.interrupted = True
        return self.results()

    def resume(self, previous: dict) -> "Campaign":
        """Continue the campaign saved in ``previous`` (a results.json of an interrupted run with the same
        settings): its findings, statistics and budget are taken over, and only the rest is run."""
        if previous.get("complete"):
            raise ValueError("that campaign is complete: there is nothing to resume")
        mine = {k: v for k, v in self.results()["settings"].items() if k not in ("workers",)}
        theirs = {k: v for k, v in previous["settings"].items() if k not in ("workers",)}
        if mine != theirs:
            diff = sorted(k for k in set(mine) | set(theirs) if mine.get(k) != theirs.get(k))
            raise ValueError(f"cannot resume: the settings differ ({', '.join(diff)})")
        progress = previous.get("progress", {})
        self.rounds = progress.get("rounds", 0)
        self.resumes = progress.get("resumes", 0) + 1
        self.elapsed_before = previous.get("duration_s", 0.0)
        self.findings = list(previous["findings"])
        self.seen = {tuple(k) for k in progress.get("seen", [])}
        self.stats = _Stats.from_results(previous)
        self.budget = Budget(self.settings.max_examples, done=self.stats.examples)
        for f in self.findings:
            self.known.match(f["backend"], f["kind"], f["signature"])
        return self

    def _round(self, budget: int, seed: int) -> bool:
        state = {"target": None, "last": None}
        oracle = Oracle(dtype=self.settings.dtype)

        # The counterexamples saved in the shared database (by other workers, machines, earlier runs) are replayed
        # first, in the first round of a fresh campaign only: a later round would replay what this campaign has
        # just kept, find it no longer new, and Hypothesis would delete it from the database shared by all.
        replay = self.settings.database and self.rounds == 0 and self.resumes == 0
        phases = [Phase.reuse] * bool(replay) + [Phase.generate, Phase.shrink]

        @hsettings(max_examples=budget, deadline=None, database=self._database(), derandomize=False,
                   suppress_health_check=list(HealthCheck), phases=phases,
                   report_multiple_bugs=False, print_blob=False, verbosity=hypothesis.Verbosity.quiet)
        @hypothesis.seed(seed)
        @given(self._strategy())
        def prop(example):
            fn, inputs, cotangents = example.function, example.inputs, example.cotangents
            t0 = time.perf_counter()
            if state.get("t_end") is not None:
                self.stats.timings["generation"] += t0 - state["t_end"]
            shrinking = state["target"] is not None
            if not shrinking and not self.budget.claim():
                raise _BudgetSpent
            # while shrinking, only the backend being shrunk runs (and counts work only for a cost finding)
            backends = [b for b in self.backends if b.name == state["target"][0]] if shrinking else self.backends
            measure = self.settings.measure_work and (not shrinking or state["target"][1] == "cost-bound")
            result = check_example(fn, inputs, cotangents, backends, oracle, measure_work=measure)
            if not shrinking:
                self._record(fn, result, time.perf_counter() - t0)
            else:
                self.stats.timings["shrinking"] += time.perf_counter() - t0
            state["t_end"] = time.perf_counter()
            for outcome in result.outcomes:
                if outcome.status != "finding":
                    continue
                key = self._signature(outcome, fn)
                new = self._is_new(key)
                if new and not shrinking:  # another shard may have kept it meanwhile
                    self._peers = self.budget.peers_seen()
                    new = self._is_new(key)
                if not new:
                    continue
                if state["target"] is None or state["target"] == key[:2]:
                    state["target"] = key[:2]
                    state["last"] = (example, result, outcome)
                    raise _NewFinding(key)

        try:
            with seed_only_draws():
                prop()
        except _BudgetSpent:
            return False
        except _NewFinding:
            example, result, outcome = state["last"]
            example, result, outcome = self._minimal(example, result, outcome, oracle)
            self._add_finding(example, result, outcome)
            # the other backends that fail the same minimal example get their finding too: Hypothesis shrank
            # for one backend, and the others would otherwise have to be drawn into the same failure again
            for other in result.outcomes:
                if other is not outcome and other.status == "finding" and \
                        self._is_new(self._signature(other, example.function)):
                    self._add_finding(example, result, other)
            self._save()
            return True
        return False

    def _minimal(self, example, result, outcome, oracle):
        """The shrunk example once more through every backend (for the cross-check in the finding), without its
        dead nodes when the finding still holds there (same backend, kind and signature): Hypothesis cannot
        always shrink away a node nothing uses. Otherwise the example stays as drawn (the dead node matters to
        that backend, which is worth seeing)."""
        key = self._signature(outcome, example.function)
        live = example.function.pruned()
        candidates = [live, example.function] if live != example.function else [example.function]
        for fn in candidates:
            full = check_example(fn, example.inputs, example.cotangents, self.backends, oracle,
                                 measure_work=self.settings.measure_work)
            again = next(o for o in full.outcomes if o.backend == outcome.backend)
            if again.status == "finding" and self._signature(again, fn) == key:
                return _Minimal(fn, example.inputs, example.cotangents), full, again
        return example, result, outcome

    def _save(self):
        if self.checkpoint:
            self.checkpoint(self.results())
        self._last_checkpoint = time.time()

    def _database(self):
        s = self.settings
        return example_database(s.database, f"{s.dtype}-{'special' if s.special else 'regular'}")

    # ------------------------------------------------------------------ bookkeeping

    def _record(self, fn, result: ExampleResult, seconds: float):
        s = self.stats
        s.examples += 1
        s.points[result.point] += 1
        s.timings["check"] += seconds
        s.timings.update(result.seconds)
        families = {primitives.get(p).family for p in fn.primitives_used}
        for o in result.outcomes:
            s.backend[o.backend][o.status] += 1
            if o.convention:
                s.conventions[o.backend][o.convention] += 1
            if o.comparison is not None and len(s.ratios[o.backend]) < MAX_RATIO_SAMPLES:
                s.ratios[o.backend].append(float(o.comparison.ratio))
            if o.work is not None and o.work.forward and len(s.cost_ratios[o.backend]) < MAX_RATIO_SAMPLES:
                outputs = int(sum(np.prod(shape) for shape in fn.output_shapes))
                s.cost_ratios[o.backend].append([outputs, o.work.vjp / o.work.forward])
            value_status = o.status if o.kind != "cost-bound" else "pass"
            cost_status = ("finding" if o.kind == "cost-bound" else "pass") if o.work is not None else None
            if o.status in ("unsupported", "skipped"):
                value_status = cost_status = o.status
            for fam in families:
                s.cells[(o.backend, fam, "value")][value_status] += 1
                if cost_status:
                    s.cells[(o.backend, fam, "cost")][cost_status] += 1
            for p in fn.primitives_used:
                s.primitives[(o.backend, p)][value_status] += 1
        if self.progress:
            self.progress(s.examples, self.settings.max_examples, len(self.findings))
        if time.time() - self._last_checkpoint > 5:
            self._save()

    def _add_finding(self, example, result: ExampleResult, outcome):
        fn = example.function
        key = self._signature(outcome, fn)
        self.seen.add(key)
        self.budget.publish(self.seen)
        entry = self.known.match(*key)
        backend = next(b for b in self.backends if b.name == outcome.backend)
        record = {
            "id": f"F{len(self.findings) + 1:03d}",
            "backend": outcome.backend,
            "kind": outcome.kind,
            "signature": key[2],
            "known": entry is not None,
            "known_note": entry.comment if entry else "",
            "message": outcome.message,
            "point": result.point,
            "kink": result.kink,
            "function": fn.to_dict(),
            "source": backend_source(backend, fn),
            "inputs": [encode_array(x) for x in example.inputs],
            "cotangents": [encode_array(v) for v in example.cotangents],
            "oracle": _oracle_record(result.oracle),
            "backend_grads": [encode_array(g) for g in outcome.grads] if outcome.grads is not None else None,
            "ratio": _finite_or_str(outcome.comparison.ratio) if outcome.comparison else None,
            "worst": list(outcome.comparison.worst[1]) if outcome.comparison and outcome.comparison.worst else None,
            "worst_input": outcome.comparison.worst[0] if outcome.comparison and outcome.comparison.worst else None,
            "tolerance": [encode_array(t) for t in outcome.comparison.tolerances] if outcome.comparison else None,
            "errors": [encode_array(e) for e in outcome.comparison.errors] if outcome.comparison else None,
            "work": asdict(outcome.work) if outcome.work else None,
            "convention": outcome.convention,
            "kink_sides": result.sides.record() if result.sides is not None else None,
            "tag": outcome.tag,
            "warnings": records(outcome.warnings),  # what the backend warned computing this VJP: evidence
            "primitives": primitive_signature(fn.pruned()),
            "agrees_with": sorted(outcome.agrees_with),
            "all_backends_agree": _all_agree(outcome, result),
        }
        record["replay"] = f"advalidate replay {self.settings.out}/results.json --id {record['id']}"
        self.findings.append(record)

    # ------------------------------------------------------------------ results

    def results(self) -> dict:
        s = self.stats
        backends = []
        for b in self.backends:
            supported = sorted(p for p in primitives.CATALOGUE if p in b.primitives)
            backends.append({"name": b.name, "version": str(getattr(b, "version", "")), "dtypes": list(b.dtypes),
                             "supported": supported,
                             "unsupported": sorted(set(primitives.CATALOGUE) - set(supported)), "error": None})
        for name, why in self.load_errors.items():
            backends.append({"name": name, "version": "", "dtypes": [], "supported": [], "unsupported": [],
                             "error": why})
        unexpected = [f for f in self.findings if not f["known"]]
        return {
            "schema": SCHEMA,
            "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
            "duration_s": round(self.elapsed_before + time.time() - self.started, 3),
            "complete": self.complete and not self.interrupted,
            "settings": {"max_examples": self.settings.max_examples, "seed": self.settings.seed,
                         "dtype": self.settings.dtype, "special": self.settings.special,
                         "workers": self.settings.workers, "omega": OMEGA,
                         "backends": [b.name for b in self.backends]},
            "environment": environment(),
            "backends": backends,
            "summary": {"examples": s.examples, "findings": len(self.findings), "unexpected": len(unexpected),
                        "known": len(self.findings) - len(unexpected), "points": dict(s.points),
                        "capped": self._capped()},
            "stats": {
                "backends": {k: dict(v) for k, v in s.backend.items()},
                "cells": [{"backend": b, "family": f, "property": p, "counts": dict(c)}
                          for (b, f, p), c in sorted(s.cells.items())],
                "primitives": [{"backend": b, "primitive": p, "counts": dict(c)}
                               for (b, p), c in sorted(s.primitives.items())],
                "conventions": {k: dict(v) for k, v in s.conventions.items()},
                "error_ratios": {k: [_finite_or_str(r) for r in v] for k, v in s.ratios.items()},
                "cost_ratios": {k: v for k, v in s.cost_ratios.items()},
                "seconds": {k: round(v, 3) for k, v in s.timings.items()},
            },
            "findings": self.findings,
            "known_unmatched": [{"backend": e.backend, "kind": e.kind, "pattern": e.pattern, "source": e.source}
                                for e in self.known.unmatched([b.name for b in self.backends],
                                                              () if self.settings.measure_work else ("cost-bound",))],
            "cost": self.cost_data,
            "progress": {"rounds": self.rounds, "resumes": self.resumes, "seen": [list(k) for k in sorted(self.seen)]},
        }


def example_database(spec: str | None, namespace: str = "float64-regular"):
    """Hypothesis's example database for ``spec``: None (none), a directory, or ``redis://host:port/db``.

    Shared by every worker and machine that names it, so a counterexample found anywhere replays everywhere.
    ``namespace`` keeps campaigns that draw differently apart (float32 choices replayed in a float64 campaign
    would decode to another example).
    """
    if not spec:
        return None
    if spec.startswith(("redis://", "rediss://", "unix://")):
        import redis
        from hypothesis.extra.redis import RedisExampleDatabase

        return RedisExampleDatabase(redis.Redis.from_url(spec), key_prefix=f"advalidate:{namespace}:".encode())
    from pathlib import Path

    from hypothesis.database import DirectoryBasedExampleDatabase

    return DirectoryBasedExampleDatabase(Path(spec) / namespace)


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


def _finite_or_str(x):
    x = float(x)
    return x if np.isfinite(x) else ("inf" if x > 0 else "nan" if np.isnan(x) else "-inf")


def _oracle_record(ref):
    if ref is None:
        return None
    record = {"mode": ref.mode, "outputs": [encode_array(o) for o in ref.outputs],
              "max_error_rel": _finite_or_str(ref.max_error_rel)}
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


def environment() -> dict:
    import mpmath

    env = {"python": sys.version.split()[0], "platform": platform.platform(), "advalidate": __version__,
           "numpy": np.__version__, "mpmath": mpmath.__version__, "mpmath_backend": mpmath.libmp.BACKEND,
           "hypothesis": hypothesis.__version__}
    for mod in ("jax", "torch", "autograd"):
        module = sys.modules.get(mod)
        if module is not None:
            env[mod] = getattr(module, "__version__", "?")
    return env
