"""Coverage by construction: every primitive of every selected backend is checked, whatever the budget.

Random programs alone do not reach a whole catalogue: at the default 120 examples a quarter of the primitives
never appeared. So a campaign runs in two phases, both through the same Hypothesis property (a finding in either
is shrunk, deduplicated and recorded like any other):

1. **Probes**: for every primitive that a selected backend supports, in :data:`strategies.SIMPLICITY` order, two
   one-node programs: one at a regular point and one at a special point (``examples(primitives=[p],
   max_ops=1)``: random shapes, broadcasting and parameters where the primitive has them). Each probe is a
   Hypothesis run of one example. They come **on top of** ``--max-examples``: ``2 x`` the number of primitives
   (92 for today's 46).
2. **Compositions**: the ``--max-examples`` random programs, in rounds of :func:`round_size` examples. Each round's
   programs start from one *focus* primitive (``functions(focus=p)``: ``p`` then at least one more node reading
   its output; the shrinker can drop the focus), the primitive with the fewest composition examples so far (ties in
   catalogue order). The weights are fixed for the round, so Hypothesis replays and shrinks as usual; from round to
   round generation moves to what was exercised least. A budget of at least one example per primitive reaches
   every primitive inside compositions (a round's example skips its focus 1 time in 16, and the next round picks
   that primitive again).

A focused campaign (``advalidate run --primitive``, :mod:`advalidate.selection`) probes only its selected
primitives and focuses every round on one of them; the rest of the catalogue still builds around the focus.

Every run of Hypothesis tries its simplest example first (scalars at 0.25): :func:`_drawn` rejects it, so each
probe and each round's first example is a random one (its shrink target stays as simple as before but one).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from hypothesis import reject
from hypothesis import strategies as st

__all__ = ["Probe", "Step", "Schedule", "covered_primitives", "probes", "round_size", "allowed_with", "probe_strategy",
           "composition_strategy", "exercised", "unexercised", "PROBE_POINTS"]

PROBE_POINTS = ("regular", "special")


@dataclass(frozen=True)
class Probe:
    """One example of the probe phase: ``primitive`` alone, at a regular or a special point."""

    primitive: str
    special: bool

    @property
    def point(self) -> str:
        return "special" if self.special else "regular"


def _runs(backend, dtype) -> bool:
    return dtype in getattr(backend, "dtypes", ("float64", "float32"))


def covered_primitives(backends, dtype: str = "float64") -> list[str]:
    """The primitives some selected backend runs in ``dtype`` and the generator can build, simplest first."""
    from advalidate.strategies import SIMPLICITY

    names = set()
    for b in backends:
        if _runs(b, dtype):
            names |= set(b.primitives)
    return [p for p in SIMPLICITY if p in names]


def probes(backends, dtype: str = "float64") -> list[Probe]:
    """The probe phase: each covered primitive at a regular, then at a special point."""
    return [Probe(p, special) for p in covered_primitives(backends, dtype) for special in (False, True)]


def round_size(budget: int, n_primitives: int) -> int:
    """Examples per composition round: the budget spread over the primitives (at least one)."""
    return max(1, budget // max(n_primitives, 1))


def allowed_with(primitive: str, backends, dtype: str = "float64") -> list[str]:
    """The primitives a composition around ``primitive`` may use: those every selected backend that runs
    ``primitive`` runs too, so that none of them skips the composition for another primitive it lacks."""
    mine = [set(b.primitives) for b in backends if _runs(b, dtype) and primitive in b.primitives]
    common = set.intersection(*mine) if mine else {primitive}
    return [p for p in covered_primitives(backends, dtype) if p in common]


@st.composite
def _drawn(draw, inner):
    """``inner``, except Hypothesis's simplest example (which every run tries first): its leading 0 rejects it."""
    if draw(st.integers(0, 7)) == 0:
        reject()
    return draw(inner)


def probe_strategy(probe: Probe, dtype: str = "float64"):
    from advalidate.strategies import examples

    return _drawn(examples(primitives=[probe.primitive], max_ops=1, special=probe.special, dtype=dtype))


def composition_strategy(focus: str, backends, dtype: str = "float64", special: bool = False):
    from advalidate.strategies import examples

    return _drawn(examples(primitives=allowed_with(focus, backends, dtype), focus=focus, dtype=dtype,
                           special=special))


@dataclass(frozen=True)
class Step:
    """One Hypothesis run of the campaign: ``examples`` examples from ``strategy``. A probe's example is on top of
    the budget (``claims`` false); a composition round's are claimed from it."""

    strategy: object
    examples: int
    probe: Probe | None = None
    focus: str | None = None

    @property
    def claims(self) -> bool:
        return self.probe is None

    @property
    def label(self) -> str:
        return f"probe {self.probe.primitive} ({self.probe.point})" if self.probe else f"compositions around {self.focus}"


class Schedule:
    """What a campaign runs, in order: the probes, then composition rounds around the least exercised primitive.

    The campaign asks :meth:`next` for each Hypothesis run (None: nothing left), reports how it went with
    :meth:`done`, and calls :meth:`record` for every example it checks outside shrinking. ``share=(k, n)``: the
    k-th of n shards of one run takes every n-th probe (the shards together run each probe once).
    """

    def __init__(self, backends, dtype: str = "float64", special: bool = False, budget: int = 120,
                 share: tuple[int, int] = (0, 1), focus_on=None, with_probes: bool = True):
        self.backends, self.dtype, self.special = list(backends), dtype, special
        self.primitives = covered_primitives(self.backends, dtype)
        if focus_on is not None:  # a focused campaign (advalidate.selection): probes and rounds of these only
            chosen = set(focus_on)
            self.primitives = [p for p in self.primitives if p in chosen]
        k, n = share
        every = [Probe(p, special) for p in self.primitives for special in (False, True)]  # as probes() orders them
        self.probes = every[k::n] if with_probes else []
        self.round_size = round_size(budget, len(self.primitives))
        self.probes_done = 0
        self.composed: Counter = Counter()  # composition examples (two nodes or more) per primitive
        # per primitive, the primitive sets of the backends that run it (record() asks at every example)
        running = [set(b.primitives) for b in self.backends if _runs(b, dtype)]
        self._running = {p: [s for s in running if p in s] for p in self.primitives}
        self.exhausted: set = set()  # focus primitives whose round drew no example at all

    def next(self, remaining: int) -> Step | None:
        """The next run: a probe while any is left, then a round of compositions while ``remaining`` (the
        budget's examples not yet claimed) is positive."""
        if self.probes_done < len(self.probes):
            probe = self.probes[self.probes_done]
            return Step(probe_strategy(probe, self.dtype), 1, probe=probe)
        focus = self.next_focus()
        if remaining <= 0 or focus is None:
            return None
        return Step(composition_strategy(focus, self.backends, self.dtype, self.special),
                    min(self.round_size, remaining), focus=focus)

    def done(self, step: Step, checked: int) -> None:
        """``step`` ended having checked ``checked`` examples (a finding may end a round early)."""
        if step.probe is not None:
            self.probes_done += 1  # once, even when its point was rejected: the phase never loops
        elif checked == 0:
            self.exhausted.add(step.focus)

    def record(self, fn) -> None:
        """Count a composition for each primitive it exercises on every backend that runs that primitive: a
        composition with a primitive some of them lack (one focused on ``take``, which autograd lacks, around
        ``roll``) is not run there, so it does not count for ``roll``, whose own round autograd still needs."""
        if len(fn.nodes) > 1:
            used = set(fn.primitives_used)
            for p in used:
                if all(used <= s for s in self._running.get(p, ())):
                    self.composed[p] += 1

    def restore(self, stats_rows, probes_done: int) -> None:
        """The state of a saved campaign (to resume it): its probes done and, from its ``stats.primitives``
        rows, the composition examples per primitive."""
        self.probes_done = probes_done
        for row in stats_rows:
            ran = _ran(row.get("counts") or {}) - _ran(row.get("alone") or {})
            self.composed[row["primitive"]] = max(self.composed[row["primitive"]], ran)

    def next_focus(self) -> str | None:
        """The primitive with the fewest composition examples (catalogue order breaks ties); None when every
        primitive's round drew nothing."""
        order = [p for p in self.primitives if p not in self.exhausted]
        if not order:
            return None
        return min(order, key=lambda p: (self.composed[p], self.primitives.index(p)))


def _ran(counts: dict) -> int:
    return int(counts.get("pass", 0)) + int(counts.get("finding", 0))


def exercised(results: dict) -> dict:
    """(backend, primitive) -> {"alone": n, "composed": n, "status": ...} for every loaded backend and every
    catalogue primitive (a focused campaign's selected ones), from a results.json dict. ``status``: "unsupported" (the backend lacks it), "none" (no
    example ran it), "ran"."""
    from . import primitives

    rows = {(r["backend"], r["primitive"]): r for r in results["stats"].get("primitives") or []}
    selected = (results.get("settings") or {}).get("primitives")  # a focused campaign's (advalidate.selection)
    table = {}
    for b in results["backends"]:
        if b.get("error"):
            continue
        unsupported = set(b.get("unsupported") or [])
        for p in (primitives.CATALOGUE if selected is None else selected):
            row = rows.get((b["name"], p), {})
            total, alone = _ran(row.get("counts") or {}), _ran(row.get("alone") or {})
            status = "unsupported" if p in unsupported else "ran" if total else "none"
            table[(b["name"], p)] = {"alone": alone, "composed": total - alone, "status": status}
    return table


def unexercised(results: dict) -> dict:
    """backend -> the primitives it supports that no example of the run exercised (only backends with some)."""
    out: dict = {}
    for (backend, p), cell in exercised(results).items():
        if cell["status"] == "none":
            out.setdefault(backend, []).append(p)
    return out
