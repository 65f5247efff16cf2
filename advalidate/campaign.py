"""The conformance campaign: many generated examples through every backend, findings shrunk and kept.

A campaign is a Hypothesis property over ``strategies.examples()``: for each example the oracle runs once and
every backend is checked (:func:`advalidate.check.check_example`). The property fails on a finding whose
signature (backend, kind, primitive signature) is new (not a superset of one already kept); Hypothesis shrinks it to a minimal
example, the finding is recorded, its signature joins the seen set, and the search goes on with the rest of
the budget. So each distinct finding is reported once, minimal, and the run is reproducible from its seed.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import hypothesis
import hypothesis.errors
from hypothesis import HealthCheck, Phase, given
from hypothesis import settings as hsettings

from . import primitives
from .backends.contract import MODES, hvp_methods_of, modes_of, work_modes_of
from .bugreport import script_or_fallback
from .check import OMEGA, ExampleResult, check_example, finding_signature
from .coverage import Schedule
from .draws import seed_only_draws
from .findings import MAX_PER_KIND, FindingSet, backend_source, finding_record, region
from .known import KnownBehaviours
from .known_replay import replay as replay_known
from .oracle import Oracle
from .results import build, environment
from .shards import Budget
from .stats import Stats

__all__ = ["Settings", "Campaign", "example_database", "backend_source", "environment"]


@dataclass
class Settings:
    max_examples: int = 150
    seed: int = 0
    dtype: str = "float64"
    special: float = 0.0  # the share of examples at special points (True: 1, False: 0)
    out: str = "reports"
    workers: int = 1
    known_dir: str | None = None
    measure_work: bool = True
    database: str | None = None  # Hypothesis example database: a directory or redis:// URL (None: runs reproduce)
    max_per_kind: int = MAX_PER_KIND  # distinct findings kept per (backend, kind); past it the search moves on
    replay_known: bool = True  # replay each known behaviour's example first (one shard of a parallel run does)

    def __post_init__(self):
        share = float(self.special)
        if not 0 <= share <= 1:
            raise ValueError(f"special={self.special!r}: the share of special examples must be in [0, 1]")
        self.special = share
        modes = tuple(dict.fromkeys(self.modes))
        if not modes or set(modes) - set(MODES):
            raise ValueError(f"modes={self.modes!r}: choose among {', '.join(MODES)}")
        self.modes = tuple(m for m in MODES if m in modes)
        if not isinstance(self.hvp_every, int) or self.hvp_every < 1:
            raise ValueError(f"hvp_every={self.hvp_every!r}: second order is checked on every n-th example, n >= 1")
        if self.max_side is not None and (not isinstance(self.max_side, int) or self.max_side < 1):
            raise ValueError(f"max_side={self.max_side!r}: the largest side must be a positive integer")
        if self.identities and not {"vjp", "jvp"} <= set(self.modes):
            raise ValueError(f"max_side={self.max_side} checks the identity <v, J·w> = <Jᵀv, w> without the oracle: "
                             f"it needs modes vjp and jvp, got {', '.join(self.modes)}")

    @property
    def identities(self) -> bool:
        """Identity mode: shapes past the oracle's default (a side above 4) are judged by the cross-mode identity
        alone, without the oracle (:mod:`advalidate.identities`)."""
        return self.max_side is not None and self.max_side > IDENTITY_SIDE
    probes: bool = True  # the coverage schedule: probes of every primitive (on top), then focused rounds
    primitives: tuple | None = None  # a focused campaign's primitives (advalidate.selection); None: all
    probe_share: tuple = (0, 1)  # (k, n): the k-th of n shards runs every n-th probe (advalidate.coverage)
    modes: tuple = MODES  # the modes of AD checked (each backend in those it provides: contract.modes_of)
    max_side: int | None = None  # the strategies' largest side (None: theirs, 4); past 4, identity mode (below)
    hvp_every: int = 2  # second order on every n-th example and the regular probes; 1: every example and probe


IDENTITY_SIDE = 4  # the strategies' default largest side: the oracle's workload; past it, identity mode


@dataclass(frozen=True)
class _Minimal:
    """A recorded example: the shrunk one, possibly without its dead nodes."""

    function: object
    inputs: tuple
    cotangents: tuple
    tangents: tuple = ()


class _NewFinding(Exception):
    """Raised inside the property so Hypothesis shrinks the example."""


class _BudgetSpent(BaseException):
    """Raised inside the property when no example is left to claim: like KeyboardInterrupt, Hypothesis lets
    a BaseException through at once, without shrinking (see ``hypothesis.core.failure_exceptions_to_catch``)."""


class Campaign:
    """Run ``settings.max_examples`` examples through ``backends`` (objects following the contract)."""

    def __init__(self, backends, settings: Settings | None = None, strategy=None, load_errors=None,
                 progress=None, cost_data=None, checkpoint=None, budget=None, checkpoint_every: float | None = None):
        self.backends = list(backends)
        self.settings = settings or Settings()
        self.strategy = strategy
        self.load_errors = load_errors or {}
        self.progress = progress
        self.cost_data = cost_data
        self.checkpoint = checkpoint  # called with the results so far after each finding (incremental writes)
        # None: after each finding and every 5 s; a number of seconds: at most that often (a large results.json
        # rewritten after every finding was 4% of a default run; what a kill loses is redone by --resume)
        self.checkpoint_every = checkpoint_every
        # examples are claimed from the budget one by one (shared with the other shards of a parallel run)
        self.budget = budget if budget is not None else Budget(self.settings.max_examples)
        self._peers: set = set()  # findings kept by other shards (refreshed when a finding looks new)
        malformed: dict = {}  # a plug-in shipping a malformed known-behaviour file: left out, like one that fails to load
        self.known = KnownBehaviours.load(self.backends, self.settings.known_dir, errors=malformed)
        if malformed:
            self.backends = [b for b in self.backends if b.name not in malformed]
            self.load_errors = {**self.load_errors, **malformed}
        self.known_records: list = []  # each known behaviour's example replayed (advalidate.known_replay)
        self.kept = FindingSet(self.settings.max_per_kind)
        self.stats = Stats()
        self.started = time.time()
        self.elapsed_before = 0.0  # seconds of earlier sessions of a resumed campaign
        self.rounds = 0  # Hypothesis runs done (each ends at a new finding or at the end of the budget)
        self._replayed = False  # the example database was replayed (first composition round of a fresh campaign)
        self.resumes = 0
        self.interrupted = False
        self.complete = False
        self._last_checkpoint = time.time()
        self._checkpointed = False  # a checkpoint was handed results (the first finding's is never held back)
        # the default strategy runs the coverage schedule (advalidate.coverage): probes, then focused rounds
        # (a focused campaign runs the schedule's rounds around its primitives even without the probes)
        scheduled = strategy is None and (self.settings.probes or self.settings.primitives is not None) and \
            not self.settings.identities  # the probes are the oracle's one-node programs
        self.schedule = Schedule(
            self.backends, self.settings.dtype, self.settings.special, self.settings.max_examples,
            self.settings.probe_share, focus_on=self.settings.primitives,
            with_probes=self.settings.probes) if scheduled else None

    # ------------------------------------------------------------------ the property

    def _strategy(self):
        if self.strategy is not None:
            return self.strategy
        from advalidate.strategies import examples

        knobs = {} if self.settings.max_side is None else {"max_side": self.settings.max_side}
        if self.settings.identities and self.settings.primitives is not None:  # no schedule: programs of those only
            knobs["primitives"] = list(self.settings.primitives)
        return examples(dtype=self.settings.dtype, special=self.settings.special, **knobs)

    def _check(self, fn, example, backends, oracle, measure: bool, modes) -> ExampleResult:
        """One example through ``backends``: against the oracle, or by the cross-mode identity in identity mode."""
        tangents = getattr(example, "tangents", None) or None
        if self.settings.identities:
            from .identities import check_identities

            return check_identities(fn, example.inputs, example.cotangents, tangents, backends, oracle, modes)
        return check_example(fn, example.inputs, example.cotangents, backends, oracle, measure_work=measure,
                             tangents=tangents, modes=modes)

    def _modes_now(self, probe) -> tuple:
        """The modes of the next example: every mode asked, second order on every ``hvp_every``-th example only, and
        of the probes (``probe``: the coverage phase's :class:`advalidate.coverage.Probe`, None for an example) on each
        primitive's regular one. Second order costs the most (its oracle differentiates each input entry twice, and
        the libraries compile a second-order program per function and method): a campaign may share its budget that
        way (``hvp_every`` 1: every example and probe)."""
        modes = self.settings.modes
        if "hvp" not in modes or self.settings.hvp_every == 1:
            return modes
        if probe is not None:
            keep = not probe.special
        else:
            self._hvp_turn = getattr(self, "_hvp_turn", -1) + 1
            keep = self._hvp_turn % self.settings.hvp_every == 0
        return modes if keep else tuple(m for m in modes if m != "hvp")

    def _with_modes(self, strategy):
        """``strategy``, with a tangent per input drawn after each example where forward mode or second order is
        checked (second order's direction u is the same draw)."""
        if "jvp" not in self.settings.modes and "hvp" not in self.settings.modes:
            return strategy
        from advalidate.strategies import with_tangents

        return with_tangents(strategy)

    def _signature(self, outcome, fn, inputs) -> tuple:
        """(backend, kind, signature, region), and the mode where it is not reverse mode's: the primitives of
        ``fn``'s live nodes, or the finding's tag (one ``flush-to-zero`` finding per backend, kind and region,
        whatever primitives show it), and whether the point is one a regular draw makes
        (:func:`advalidate.findings.region`)."""
        key = (outcome.backend, outcome.kind, finding_signature(outcome, fn.pruned()), region(fn.pruned(), inputs))
        return key + ((outcome.mode,) if outcome.mode != "vjp" else ())

    def _is_new(self, key) -> bool:
        """The finding set's rule (:class:`advalidate.findings.FindingSet`), counting the other shards' findings."""
        return self.kept.is_new(key, self._peers)

    @property
    def findings(self) -> list[dict]:
        return self.kept.records

    def run(self) -> dict:
        """Run the campaign; returns the results (also on Ctrl-C or SIGTERM, with ``complete`` false)."""
        try:
            if self.settings.replay_known:
                self.known_records = replay_known(self.known, self.backends, self.settings.measure_work,
                                                  self.settings.primitives)
            while True:
                # a resumed campaign draws from fresh seeds: the examples it already checked are not redone
                seed = self.settings.seed + self.rounds + 100_003 * self.resumes
                if self.schedule is None:  # one run over the whole budget, a new one after each finding
                    before = self.budget.remaining()
                    if before <= 0:
                        break
                    found = self._round(before, seed)
                    self.rounds += 1
                    # Hypothesis may end a run before its max_examples (duplicate or rejected draws): another round,
                    # from the next seed, spends the rest; a round that checked nothing ends the campaign
                    if not found and self.budget.remaining() == before:
                        break
                    continue
                step = self.schedule.next(self.budget.remaining())
                if step is None:
                    break
                before = self.stats.examples + self.stats.probes
                self._round(step.examples, seed, step)
                self.rounds += 1
                self.schedule.done(step, self.stats.examples + self.stats.probes - before)
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
        self.kept = FindingSet(self.settings.max_per_kind, previous["findings"], progress.get("seen", []))
        self.stats = Stats.from_results(previous)
        self.budget = Budget(self.settings.max_examples, done=self.stats.examples)
        if self.schedule is not None:
            self.schedule.restore(previous["stats"]["primitives"], progress.get("probes_done", 0))
        return self

    def _round(self, budget: int, seed: int, step=None) -> bool:
        """One Hypothesis run of ``budget`` examples (of ``step``'s strategy when given: a probe's examples are
        not claimed from the budget); True when it ended at a new finding."""
        state = {"target": None, "last": None}
        claims = step is None or step.claims
        oracle = Oracle(dtype=self.settings.dtype)

        # The counterexamples saved in the shared database (by other workers, machines, earlier runs) are replayed
        # first, in the first round of a fresh campaign only: a later round would replay what this campaign has
        # just kept, find it no longer new, and Hypothesis would delete it from the database shared by all.
        # A probe draws from a strategy of its own, so it keeps its counterexamples under a key of its own (its
        # primitive and point kind) and replays them at its first run in a fresh campaign.
        probe = step.probe if step is not None else None
        if probe is not None:
            replay = self.settings.database and self.resumes == 0
        else:
            replay = self.settings.database and not self._replayed and self.resumes == 0
            self._replayed = self._replayed or bool(replay)
        phases = [Phase.reuse] * bool(replay) + [Phase.generate, Phase.shrink]

        @hsettings(max_examples=budget, deadline=None, database=self._database(probe),
                   derandomize=False,
                   suppress_health_check=list(HealthCheck), phases=phases,
                   report_multiple_bugs=False, print_blob=False, verbosity=hypothesis.Verbosity.quiet)
        @hypothesis.seed(seed)
        @given(self._with_modes(self._strategy() if step is None else step.strategy))
        def prop(example):
            fn, inputs, cotangents = example.function, example.inputs, example.cotangents
            t0 = time.perf_counter()
            if state.get("t_end") is not None:
                self.stats.timings["generation"] += t0 - state["t_end"]
            shrinking = state["target"] is not None
            if not shrinking and claims and not self.budget.claim():
                raise _BudgetSpent
            # while shrinking, only the backend being shrunk runs (and counts work only for a cost finding)
            # (and in the mode of its finding only)
            backends = [b for b in self.backends if b.name == state["target"][0]] if shrinking else self.backends
            # (work is counted while shrinking a cost finding, and an error one: work counting may be what raised)
            measure = self.settings.measure_work and (not shrinking or state["target"][1] in ("cost-bound", "error"))
            modes = (state["target"][2],) if shrinking else self._modes_now(probe if not claims else None)
            result = self._check(fn, example, backends, oracle, measure, modes)
            if not shrinking:
                self._record(fn, result, time.perf_counter() - t0, probe=not claims)
            else:
                self.stats.timings["shrinking"] += time.perf_counter() - t0
            state["t_end"] = time.perf_counter()
            for outcome in result.outcomes:
                if outcome.status != "finding":
                    continue
                key = self._signature(outcome, fn, inputs)
                new = self._is_new(key)
                if new and not shrinking:  # another shard may have kept it meanwhile
                    self._peers = self.budget.peers_seen()
                    new = self._is_new(key)
                if not new:
                    continue
                target = (key[0], key[1], outcome.mode)
                if state["target"] is None or state["target"] == target:
                    state["target"] = target
                    state["last"] = (example, result, outcome)
                    raise _NewFinding(key)

        try:
            with seed_only_draws():
                prop()
        except _BudgetSpent:
            return False
        except (_NewFinding, hypothesis.errors.Flaky) as e:
            if not isinstance(e, _NewFinding) and state.get("last") is None:
                raise
            example, result, outcome = state["last"]
            if isinstance(e, _NewFinding):
                example, result, outcome = self._minimal(example, result, outcome, oracle)
            else:  # a backend that failed once and not when the same example ran again: kept as found, not shrunk
                outcome.message = (f"{outcome.message} (flaky: not seen again when the same example was run a second "
                                   "time; kept as first found, not shrunk)")
            self._add_finding(example, result, outcome)
            # the other backends that fail the same minimal example get their finding too: Hypothesis shrank
            # for one backend, and the others would otherwise have to be drawn into the same failure again
            for other in result.outcomes:
                if other is not outcome and other.status == "finding" and \
                        self._is_new(self._signature(other, example.function, example.inputs)):
                    self._add_finding(example, result, other)
            self._save(after_finding=True)
            return True
        return False

    def _minimal(self, example, result, outcome, oracle):
        """The shrunk example once more through every backend (for the cross-check in the finding), without its
        dead nodes when the finding still holds there (same backend, kind and signature): Hypothesis cannot
        always shrink away a node nothing uses. Otherwise the example stays as drawn (the dead node matters to
        that backend, which is worth seeing)."""
        key = self._signature(outcome, example.function, example.inputs)
        live = example.function.pruned()
        candidates = [live, example.function] if live != example.function else [example.function]
        tangents = tuple(getattr(example, "tangents", ()))
        for fn in candidates:
            full = self._check(fn, example, self.backends, oracle, self.settings.measure_work, self.settings.modes)
            again = next(o for o in full.outcomes if o.backend == outcome.backend and o.mode == outcome.mode)
            if again.status == "finding" and self._signature(again, fn, example.inputs) == key:
                return _Minimal(fn, example.inputs, example.cotangents, tangents), full, again
        return example, result, outcome

    def _save(self, after_finding: bool = False):
        every = self.checkpoint_every
        # the first finding is written at once (a partial results.json exists as soon as there is something to
        # keep); later ones at most every ``checkpoint_every`` seconds
        if after_finding and every is not None and self._checkpointed and time.time() - self._last_checkpoint < every:
            return
        if self.checkpoint:
            self.checkpoint(self.results())
            self._checkpointed = True
        self._last_checkpoint = time.time()

    def _database(self, probe=None):
        s = self.settings
        if probe is not None:
            return example_database(s.database, f"{s.dtype}-probe-{probe.primitive}-{probe.point}")
        kind = {0.0: "regular", 1.0: "special"}.get(s.special, f"special-share-{s.special:g}")
        return example_database(s.database, f"{s.dtype}-{kind}")

    # ------------------------------------------------------------------ bookkeeping

    def _record(self, fn, result: ExampleResult, seconds: float, probe: bool = False):
        self.stats.add(fn, result, probe)
        self.stats.timings["check"] += seconds
        if self.schedule is not None:
            self.schedule.record(fn)
        if self.progress:
            total = self.settings.max_examples + (len(self.schedule.probes) if self.schedule else 0)
            self.progress(self.stats.examples + self.stats.probes, total, len(self.findings))
        if time.time() - self._last_checkpoint > (5 if self.checkpoint_every is None else self.checkpoint_every):
            self._save()

    def _add_finding(self, example, result: ExampleResult, outcome):
        key = self._signature(outcome, example.function, example.inputs)
        self.kept.add_key(key)
        self.budget.publish(self.kept.keys)
        backend = next(b for b in self.backends if b.name == outcome.backend)
        record = finding_record(key, example, result, outcome, backend, self.known.match(*key[:4], mode=outcome.mode))
        record["id"] = self.kept.next_id()
        record["replay"] = f"advalidate replay {self.settings.out}/results.json --id {record['id']}"
        record["script"] = script_or_fallback(record, backend)  # a bug report to paste (advalidate.bugreport)
        self.kept.records.append(record)

    # ------------------------------------------------------------------ results

    def results(self) -> dict:
        backends = []
        for b in self.backends:
            supported = sorted(p for p in primitives.CATALOGUE if p in b.primitives)
            backends.append({"name": b.name, "version": str(getattr(b, "version", "")), "dtypes": list(b.dtypes),
                             "supported": supported, "modes": list(modes_of(b)),
                             "jvp_unsupported": _mode_unsupported(b, supported, "jvp"),
                             "hvp_unsupported": _mode_unsupported(b, supported, "hvp"),
                             "hvp_methods": list(hvp_methods_of(b)),
                             "work_modes": list(work_modes_of(b)),
                             "unsupported": sorted(set(primitives.CATALOGUE) - set(supported)), "error": None})
        for name, why in self.load_errors.items():
            backends.append({"name": name, "version": "", "dtypes": [], "supported": [], "unsupported": [],
                             "error": why})
        settings = {"max_examples": self.settings.max_examples, "seed": self.settings.seed,
                    "dtype": self.settings.dtype, "special": self.settings.special, "modes": list(self.settings.modes),
                    **({"max_side": self.settings.max_side, "identities": self.settings.identities}
                       if self.settings.max_side is not None else {}),
                    **({"hvp_every": self.settings.hvp_every} if "hvp" in self.settings.modes else {}),
                    "workers": self.settings.workers, "omega": OMEGA, "backends": [b.name for b in self.backends]}
        if self.settings.primitives is not None:
            settings["primitives"] = list(self.settings.primitives)
        progress = {"rounds": self.rounds, "resumes": self.resumes, "seen": [list(k) for k in sorted(self.kept.keys)],
                    "probes_done": self.schedule.probes_done if self.schedule else 0}
        return build(settings=settings, backends=backends, stats=self.stats, findings=self.findings,
                     capped=self.kept.capped(), known=self.known_records, cost=self.cost_data, progress=progress,
                     duration_s=self.elapsed_before + time.time() - self.started,
                     complete=self.complete and not self.interrupted)


def _mode_unsupported(backend, supported, mode: str) -> list:
    """The primitives ``backend`` runs in reverse mode but not in ``mode`` (``jvp_primitives``, ``hvp_primitives``)."""
    if mode not in modes_of(backend):
        return []
    table = getattr(backend, f"{mode}_primitives", None)
    return [] if table is None else sorted(p for p in supported if p not in table)


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
