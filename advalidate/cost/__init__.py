"""The cost of reverse mode: work counters for each backend and the one-pass bound.

The bound (checked by :func:`check_bound`): for one VJP,

    work(f + VJP) <= omega · work(f) + slack,   and f evaluated once.

Why omega = 5 under unit weights. Baur and Strassen (1983) showed the gradient of a rational function costs
at most 3× its non-scalar multiplications; Griewank and Walther (*Evaluating Derivatives*, 2nd ed., §4.6)
bound the temporal complexity of a reverse sweep by omega ∈ [3, 4] with weighted operation costs. Under unit
weights (every elementary op costs 1, as :mod:`advalidate.counting` counts), the worst elementary step is a
product: forward 1 op; the reverse step needs ``ā += v̄·b`` and ``b̄ += v̄·a``, two multiplications and two
additions, 4 more ops, so 5 in all. A tanh's reverse step is 3 ops (``ȳ·(1 − y²)``) for 1 forward op, so a
chain of tanh already has ratio 4 and omega = 4 would fail for rules that are correct but not optimal.

The slack: a VJP has per-call constants that no forward pays (a scalar seed, a handful of scalar fills
and divides when a reduction's cotangent is spread back); on a program of a few elements they dominate.
``SLACK = 16`` work units covers them and vanishes against omega·work(f) for any realistic size.

``io``: a VJP must read its m cotangent entries and write its n gradient entries. When the forward is pure
data movement (a broadcast, a slice, a transpose: free in the unit-cost model), omega·work(f) is 0 and
this is the whole cost of the VJP; pass ``io = n + m`` (:func:`io_size`) to allow for it. The campaign
(``check.check_example``, ``check.io_allowance``) passes ``io_size(inputs, cotangents)`` when the counted forward
work is 0, and otherwise the output sizes of the program's free fan-out moves (``broadcast_to``, ``index``), whose
adjoints sum their cotangents: 0 (strict) for a program without them.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..backends.contract import Work

__all__ = ["OMEGA", "SLACK", "Verdict", "check_bound", "io_size"]

OMEGA = 5.0
SLACK = 16


@dataclass(frozen=True)
class Verdict:
    """The bound's verdict on one VJP, with both counts (``message`` is None when ``ok``)."""

    ok: bool
    ratio: float
    forward: int
    vjp: int
    forward_passes: int
    allowed: float
    message: str | None = None
    kind: str = "cost-bound"

    def to_dict(self) -> dict:
        return {"ok": self.ok, "ratio": self.ratio, "forward": self.forward, "vjp": self.vjp,
                "forward_passes": self.forward_passes, "allowed": self.allowed, "message": self.message}


def io_size(inputs, cotangents) -> int:
    """Elements of the inputs (gradients written) and cotangents (read) of one VJP."""
    import numpy as np

    return int(sum(np.size(x) for x in inputs) + sum(np.size(v) for v in cotangents))


def check_bound(work: Work, omega: float = OMEGA, slack: float = SLACK, io: int = 0) -> Verdict:
    """Check ``work.vjp <= omega·work.forward + slack + io`` and ``work.forward_passes == 1``."""
    if omega < 1:
        raise ValueError(f"omega must be at least 1 (a VJP includes its forward), got {omega}")
    allowed = omega * work.forward + slack + io
    ratio = work.ratio
    problems = []
    if work.forward_passes != 1:
        problems.append(f"the forward ran {work.forward_passes} times during one VJP (reverse mode runs it once)")
    if work.vjp > allowed:
        problems.append(f"work(f + VJP) = {work.vjp} > {omega:g}·work(f) + {slack:g}"
                        + (f" + {io}" if io else "") + f" = {allowed:g} with work(f) = {work.forward} "
                        f"(ratio {ratio:.2f})")
    return Verdict(not problems, ratio, work.forward, work.vjp, work.forward_passes, allowed,
                   "; ".join(problems) or None)
