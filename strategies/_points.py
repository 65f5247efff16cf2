"""``points(function)``: inputs at which every node of a program is well defined and smooth.

Default points are *regular*: every node's operands lie inside its domain with a margin, away from kinks
and ties, every value is finite and moderate, and saturating ops (tanh, sigmoid, softplus, softmax and
friends) stay out of their flat tails, where the textbook derivative formulas lose digits. Inputs are drawn
bounded away from zero (``0.25 <= |x| <= 2``), positive or small where the program's structure needs it
(``strategies._analysis``); a drawn point is checked on the float trace and redrawn with smaller
magnitudes a few times; only then is the example rejected (counted as a Hypothesis event).

``special=True`` starts from a regular point and deliberately moves it onto the places real libraries get
wrong: exact zeros, ties, kinks (by bisection along a line), saturation tails, large logits, near-overflow
and tiny magnitudes. :func:`special_kinds` says which of these a point reaches. Each move draws where it lands
from Hypothesis, with variety: a binary exponent over its region (:data:`_REGIONS`: from where exp overflows
to the largest binade, subnormals of every size, tails and logits of many depths) and a mantissa, or a
near-tie or near-kink distance from one ulp upwards; each draw shrinks towards a canonical value.
"""

from __future__ import annotations

import math

import numpy as np
from hypothesis import event, reject
from hypothesis import strategies as st

from advalidate.evaluate import gaps, kink_tolerance, trace
from advalidate.ir import Function

from advalidate import primitives as _catalogue
from advalidate.primitives.operands import SAMPLERS

from ._analysis import analyse
from ._describe import Described, function_label

__all__ = ["points", "special_kinds", "check_point", "SPECIAL_KINDS", "margins"]

SPECIAL_KINDS = ("zero", "tie", "kink", "saturation", "large-logits", "near-overflow", "tiny")

_LOGIT_LIMIT = 10.0  # default points keep the spread of a softmax-like op's logits within this
_MAX_MAGNITUDE = 1e6
_TAIL = {"float64": 20.0, "float32": 9.0}  # special_kinds: a saturating op's operand this deep is in its tail
_RANGES = [(0.25, 2.0), (0.25, 2.0), (0.25, 2.0), (0.25, 1.0), (0.125, 0.5)]  # successive attempts: smaller magnitudes
_FEW = 8  # points with at most this many entries in all draw each entry from Hypothesis


def _special(prim: str):
    """The registration's special-point facts (``Primitive.special``)."""
    return _catalogue.get(prim).special


def _saturating(prim: str) -> bool:
    return _special(prim).saturation is not None


def _logits(prim: str) -> bool:
    return _special(prim).logits


def _limited(need) -> bool:
    """An input drawn by a sampler with a magnitude limit (special points leave it where it is)."""
    return any(SAMPLERS[flag].limit is not None for flag in need if flag in SAMPLERS)


def _positive(need) -> bool:
    return any(SAMPLERS[flag].positive for flag in need if flag in SAMPLERS)


def margins(dtype: str) -> tuple[float, float]:
    """(domain margin, relative kink margin) of default points.

    The kink margin is 1e3 x ``kink_tolerance`` in float64 (1.5e-5). In float32 1e3 x would exceed 0.3 (a
    relative gap is below 1, so it would exclude most of every ``max`` and ``relu``); there the tolerance is
    already ~3,000 ulps, and 10 x it (3.5e-3, ~30,000 ulps) is as comfortable a margin.
    """
    tol = kink_tolerance(dtype)
    return (1e-6 if dtype == "float64" else 1e-3), (1e3 if dtype == "float64" else 10) * tol


def points(function: Function, special: bool = False):
    """A strategy for inputs of ``function`` (a list of arrays of its dtype); see the module docstring."""
    if not isinstance(function, Function):
        from hypothesis.errors import InvalidArgument

        raise InvalidArgument(f"points() takes a Function, got {type(function).__name__}")
    text = f"points({function_label(function)}{', special=True' if special else ''})"
    return Described(_points(function, bool(special)), text)


@st.composite
def _points(draw, fn: Function, special: bool):
    xs = draw_point(draw, fn, special)
    if xs is None:
        event("point rejected")
        reject()
    return xs


def draw_point(draw, fn: Function, special: bool = False):
    """A regular (or special) point of ``fn`` drawn with ``draw``, or None if every attempt failed."""
    an = analyse(fn)
    needs = [an.needs[name] for name in fn.input_names]
    few = sum(math.prod(shape) for shape in fn.inputs) <= _FEW
    for attempt, (lo, hi) in enumerate(_RANGES):
        # Small points draw every entry from Hypothesis (they shrink entry by entry); larger ones, and redraws,
        # use a drawn seed: Hypothesis caps an example's number of choices (a long one is discarded as an
        # overrun, which would bias the draws towards small programs), and it likes repeating values
        # (0.25, 1.0, ...), which tie.
        rng = None if attempt == 0 and few else np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
        xs = [_draw_input(draw, shape, need, lo, hi, fn.dtype, rng) for shape, need in zip(fn.inputs, needs)]
        problem = check_point(fn, xs, kinks=not special)
        if problem is None:
            if attempt:
                event(f"point redrawn {attempt}x")
            return _specialise(draw, fn, xs, needs) if special else _shift_logits(draw, fn, xs)
    return None


# Shifting the logits of softmax or logsumexp changes nothing a stable implementation computes (x - max(x) is
# exact there), so a regular point may carry a large common offset: one past exp's overflow threshold, where
# an implementation that forgets to subtract the max overflows. (Not log_softmax: x - logsumexp(x) cancels.)
_SHIFTS = {"float64": (750.0, 1000.0), "float32": (100.0, 150.0)}


def _shiftable(fn: Function) -> list[int]:
    """Inputs consumed only by shiftable ops (softmax, logsumexp: ``Special.shiftable``), not outputs themselves."""
    consumers = {name: set() for name in fn.input_names}
    for _, node in fn.named_nodes():
        for a in node.args:
            if a in consumers:
                consumers[a].add(node.prim)
    return [i for i, name in enumerate(fn.input_names)
            if consumers[name] and all(_special(p).shiftable for p in consumers[name]) and name not in fn.outputs]


def _shifted_inputs(fn: Function, xs) -> set[str]:
    return {fn.input_names[i] for i in _shiftable(fn) if xs[i].size and np.min(np.abs(xs[i])) >= _SHIFTS[fn.dtype][0] / 2}


def _shift_logits(draw, fn: Function, xs):
    candidates = [i for i in _shiftable(fn) if xs[i].size]
    if not candidates or not draw(st.booleans()):
        return xs
    i = draw(st.sampled_from(candidates))
    lo, hi = _SHIFTS[fn.dtype]
    shift = draw(st.sampled_from([-1.0, 1.0])) * draw(st.floats(lo, hi))
    moved = list(xs)
    moved[i] = (xs[i].astype(np.float64) + shift).astype(fn.dtype)
    if check_point(fn, moved) is None:
        event("logits shifted")
        return moved
    return xs


def _draw_input(draw, shape, need, lo, hi, dtype, rng=None):
    """Entries with magnitudes in [lo, hi], each sampler of ``need`` (the properties the input must have) applied:
    a magnitude limit caps hi, a positive one takes absolute values, an offset moves them away from zero."""
    for flag in need:
        if SAMPLERS.get(flag) is not None and SAMPLERS[flag].limit is not None:
            hi = min(hi, SAMPLERS[flag].limit)
    size = math.prod(shape)
    if rng is not None:
        x = rng.uniform(-hi, hi, size)
    else:
        x = np.array([draw(st.floats(-hi, hi)) for _ in range(size)])
    x = np.sign(x + (x == 0)) * (lo + np.abs(x) * (hi - lo) / hi)  # [-hi, hi] onto lo <= |x| <= hi, one draw each
    if _positive(need):
        x = np.abs(x)
    offset = max((SAMPLERS[flag].offset for flag in need if flag in SAMPLERS), default=0.0)
    if offset:
        x = x + np.sign(x) * offset
    x = x.reshape(shape)
    for flag in need:  # a square-matrix sampler maps the drawn entries to a valid matrix (issue 16: linear algebra)
        if SAMPLERS.get(flag) is not None and SAMPLERS[flag].matrix is not None:
            x = SAMPLERS[flag].make(x)
    return x.astype(dtype)


def _trace(fn, xs):
    with np.errstate(all="ignore"):
        return trace(fn, xs)


def check_point(fn: Function, xs, values=None, kinks: bool = True) -> str | None:
    """Why ``xs`` is not a regular point of ``fn`` (None if it is one); ``kinks=False`` ignores kinks."""
    values = _trace(fn, xs) if values is None else values
    shifted = _shifted_inputs(fn, xs)
    for name, v in values.items():
        if not np.all(np.isfinite(v)):
            return f"{name} is not finite"
        if v.size and np.max(np.abs(v)) > _MAX_MAGNITUDE and name not in shifted:
            return f"{name} is larger than {_MAX_MAGNITUDE:g}"
    for name, node in fn.named_nodes():
        special = _special(node.prim)
        limit = special.saturation if special.saturation is not None else _LOGIT_LIMIT if special.logits else None
        if limit is None:
            continue
        a = values[node.args[0]]
        # softmax-like ops saturate with the spread of their logits, not with a common offset
        size = np.ptp(a) if special.logits and node.args[0] in shifted else np.max(np.abs(a)) if a.size else 0
        if a.size and size > limit:
            return f"{name} ({node.prim}) saturates: |operand| > {limit}"
    dom_margin, kink_margin = margins(fn.dtype)
    for gap in gaps(fn, values):
        if not gap.domain > dom_margin:
            return f"{gap.node} ({gap.prim}) is within {dom_margin} of its domain's edge (gap {gap.domain:.3g})"
        if kinks and not gap.kink_rel > kink_margin:
            return f"{gap.node} ({gap.prim}) is within {kink_margin} of a kink (relative gap {gap.kink_rel:.3g})"
    return None


# ------------------------------------------------------------------------------------------ special points


def special_kinds(fn: Function, xs, values=None) -> set[str]:
    """Which of :data:`SPECIAL_KINDS` the point ``xs`` reaches (measured on the float trace)."""
    values = _trace(fn, xs) if values is None else values
    fi = np.finfo(fn.dtype)
    kinds = set()
    for v in values.values():
        if not v.size:
            continue
        a = np.abs(v[np.isfinite(v)])
        if np.any(a == 0):
            kinds.add("zero")
        if np.any(a >= math.sqrt(fi.max)):
            kinds.add("near-overflow")
        if np.any((a > 0) & (a <= 1e3 * fi.tiny)):
            kinds.add("tiny")
    tail = _TAIL[fn.dtype]
    logits = 0.5 * math.log(fi.max)
    for name, node in fn.named_nodes():
        a = values[node.args[0]]
        if not a.size:
            continue
        m = np.max(np.abs(a))
        if _saturating(node.prim) and m >= tail:
            kinds.add("saturation")
        if _logits(node.prim) and m >= logits:
            kinds.add("large-logits")
    with np.errstate(all="ignore"):
        for gap in gaps(fn, values):
            if _special(gap.prim).tie and gap.kink == 0:
                kinds.add("tie")
            if gap.kink_rel <= kink_tolerance(fn.dtype):
                kinds.add("kink")
    return kinds


def _defined(fn: Function, xs) -> bool:
    """Every value is defined at ``xs``: no NaN and every domain gap positive on the float64 trace, and no
    operand beyond float64's range (so the mpmath oracle can evaluate it; outputs may overflow)."""
    f64 = fn.with_dtype("float64")
    values = _trace(f64, [np.asarray(x, np.float64) for x in xs])
    if any(np.any(np.isnan(v)) for v in values.values()):
        return False
    # an operand past float64's range is e^(huge) in mpmath: the next transcendental op would need a
    # double-exponential magnitude (mpmath raises OverflowError or hangs); outputs may still be infinite
    if any(not np.all(np.isfinite(values[a])) for node in fn.nodes for a in node.args):
        return False
    with np.errstate(all="ignore"):
        return all(g.domain > 0 for g in gaps(f64, values))


# Where each special move lands is drawn from Hypothesis as an integer binary exponent (or depth, or distance),
# then a mantissa, so that campaigns at other seeds or with more budget reach other magnitudes, and a finding
# shrinks towards the canonical exponent (the middle of what the move drew before, when one seed decided it all:
# shrinking that seed towards 0 led every campaign to the same few values) and a mantissa of 1.
# (low, high, canonical) binary exponents of each region:
_REGIONS = {
    "float64": {
        # |x| from 2^9 (exp overflows past 709.8) to 2^1023 (the largest binade); 2^512 = sqrt(max): x² overflows
        "near-overflow": (9, 1023, 512),
        # subnormals of every size (2^-1074 the smallest) up to 2^-1000, where products of two underflow
        "tiny": (-1074, -1000, -1050),
        # saturation depth: tanh rounds to 1 past 19, sigmoid's 1 - s past 36.7, exp(-x) is subnormal past 708
        "saturation": (3, 10, 5),
        # logits: 2^8..2^14; exp overflows past 709.8
        "large-logits": (8, 14, 9),
    },
    "float32": {
        "near-overflow": (6, 127, 64),  # exp overflows past 88.7; sqrt(max) = 2^64
        "tiny": (-149, -110, -136),
        "saturation": (2, 7, 3),  # tanh rounds to 1 past 9, sigmoid's 1 - s past 17
        "large-logits": (5, 11, 6),
    },
}
_BITS = {"float64": 52, "float32": 23}  # near-ties and near-kinks: relative distances 2^(d - bits), d = 0, 1, ...


def zigzag(k: int, low: int, high: int, canonical: int) -> int:
    """The ``k``-th integer of [low, high] outwards from ``canonical``: canonical, +1, -1, +2, -2, ... (one side
    continues alone once the other is exhausted). k = 0..high-low covers the range once."""
    m = min(high - canonical, canonical - low)
    if k <= 2 * m:
        return canonical + (k + 1) // 2 if k % 2 else canonical - k // 2
    return canonical + (k - m) if high - canonical > m else canonical - (k - m)


def uniform_index(draw, n: int) -> int:
    """An integer in [0, n) drawn (about) uniformly, shrinking towards 0. ``st.integers(0, n - 1)`` favours small
    values (a third of its draws in the lowest tenth at n = 1000), ``st.sampled_from`` is uniform up to 256
    choices: larger ``n`` take two digits of base 256 (the high one first, so the number shrinks as it does)."""
    if n <= 256:
        return draw(st.sampled_from(range(n)))
    high = draw(st.sampled_from(range(-(-n // 256))))
    return min(256 * high + draw(st.sampled_from(range(256))), n - 1)


def _exponent(draw, region: tuple) -> int:
    low, high, canonical = region
    return zigzag(uniform_index(draw, high - low + 1), low, high, canonical)


def _magnitude(draw, region: tuple) -> tuple[float, int]:
    """(m·2^e, e): e drawn over the region (shrinking towards its canonical exponent), m in [1, 2) (towards 1)."""
    e = _exponent(draw, region)
    return math.ldexp(draw(st.floats(1.0, 2.0, exclude_max=True)), e), e


def _around(rng, magnitude: float, e: int, region: tuple, shape, dtype) -> tuple[np.ndarray, int]:
    """(magnitudes for an array, the flat index of the one that is exactly ``magnitude``): the others within a
    few binades of it (inside the region), with their own mantissas."""
    low, high, _ = region
    exps = np.clip(e + rng.integers(-3, 4, shape), low, high)
    mags = np.minimum(np.ldexp(rng.uniform(1.0, 2.0, shape), exps), float(np.finfo(dtype).max))
    k = int(rng.integers(mags.size))
    mags.reshape(-1)[k] = magnitude
    return mags, k


def _near(draw, dtype) -> float:
    """0 (exactly on it, where shrinking goes) or a relative distance 2^(d - bits), d = 0 (one ulp) upwards."""
    if not draw(st.booleans()):
        return 0.0
    bits = _BITS[dtype]
    return math.ldexp(1.0, _exponent(draw, (0, bits - 1, 0)) - bits)


def _specialise(draw, fn: Function, xs, needs):
    """Move a regular point onto special places; fall back to ``xs`` if no move gives a defined point."""
    moves = [m for m in _MOVES if _MOVES[m][0](fn, needs)]
    for _ in range(3):
        if not moves:
            break
        name = draw(st.sampled_from(moves))
        seed = draw(st.integers(0, 2**32 - 1))
        moved = _MOVES[name][1](fn, [x.copy() for x in xs], needs, np.random.default_rng(seed), draw)
        if moved is not None and _defined(fn, moved):
            event(f"special: {name}")
            return moved
    event("special: none applied")
    return xs


def _signed_inputs(fn, needs):
    return [i for i, need in enumerate(needs) if not need and math.prod(fn.inputs[i]) > 0]


def _nonempty_inputs(fn, needs, skip_small=True):
    return [i for i, need in enumerate(needs) if math.prod(fn.inputs[i]) > 0 and not (skip_small and _limited(need))]


def _move_zero(fn, xs, needs, rng, draw=None):
    i = rng.choice(_signed_inputs(fn, needs))
    mask = rng.random(xs[i].shape) < 0.5
    mask.reshape(-1)[rng.integers(xs[i].size)] = True
    xs[i][mask] = 0
    return xs


def _move_tie(fn, xs, needs, rng, draw):
    """An exact tie, or (drawn) a near-tie: the copied value moved by a relative distance of 1 ulp upwards."""
    rel = _near(draw, fn.dtype)
    sign = 1.0 if rng.random() < 0.5 else -1.0
    same = [(i, j) for i in range(len(xs)) for j in range(len(xs)) if i != j and needs[i] <= needs[j]
            and xs[i].size and _broadcasts_to(xs[i].shape, xs[j].shape)]
    if same and rng.random() < 0.6:
        i, j = same[rng.integers(len(same))]
        xs[j] = (np.broadcast_to(xs[i], xs[j].shape) * (1 + sign * rel)).astype(fn.dtype)
        return xs
    big = [i for i, x in enumerate(xs) if x.size >= 2]
    if not big:
        return None
    i = big[rng.integers(len(big))]
    flat = xs[i].reshape(-1)
    if rng.random() < 0.5:
        a = rng.integers(flat.size)
        v = flat[a]
        flat[:] = v * (1 + sign * rel)
        flat[a] = v
    else:
        a, b = rng.choice(flat.size, 2, replace=False)
        flat[b] = flat[a] * (1 + sign * rel)
    return xs


def _broadcasts_to(src, dst):
    try:
        return np.broadcast_shapes(src, dst) == tuple(dst)
    except ValueError:
        return False


def _signed_kink(prim: str):
    return _special(prim).signed_kink


def _move_kink(fn, xs, needs, rng, draw):
    """Bisect along a random line until one entry of a kink node's signed gap changes sign: to the end (as close
    as the dtype allows), or (drawn) a near-kink, stopped once the bracket is within a relative distance of
    1 ulp upwards."""
    rel = _near(draw, fn.dtype)
    nodes = [(n, node) for n, node in fn.named_nodes() if _signed_kink(node.prim) is not None]
    name, node = nodes[rng.integers(len(nodes))]
    params = _catalogue.get(node.prim).check_params(node.kwargs)
    direction = [rng.normal(size=x.shape) * (0 if _limited(need) else 1) for x, need in zip(xs, needs)]
    base = [x.astype(np.float64) for x in xs]

    def signed(t):
        moved = [(b + t * d).astype(fn.dtype) for b, d in zip(base, direction)]
        if any(np.any((m <= 0) & _positive(need)) for m, need in zip(moved, needs)):
            return None, moved
        vals = _trace(fn, moved)
        with np.errstate(all="ignore"):
            s = np.broadcast_arrays(*[vals[a] for a in node.args])
            return _signed_kink(node.prim)(s, **params).reshape(-1), moved

    s0, _ = signed(0.0)
    if s0 is None or not s0.size:
        return None
    k = rng.integers(s0.size)
    for t in (0.05, -0.05, 0.2, -0.2, 0.6, -0.6, 1.5, -1.5):
        s1, _ = signed(t)
        if s1 is not None and np.isfinite(s1[k]) and np.sign(s1[k]) != np.sign(s0[k]):
            lo, hi = 0.0, t
            for _ in range(80):
                if rel and abs(hi - lo) <= rel * abs(hi):
                    return signed(lo if rng.random() < 0.5 else hi)[1]
                mid = 0.5 * (lo + hi)
                sm, _ = signed(mid)
                if sm is None or not np.isfinite(sm[k]):
                    return None
                if np.sign(sm[k]) == np.sign(s0[k]):
                    lo = mid
                else:
                    hi = mid
            (slo, mlo), (shi, mhi) = signed(lo), signed(hi)
            return mlo if abs(slo[k]) <= abs(shi[k]) else mhi
    return None


def _drive(fn, xs, needs, rng, prims, target):
    """Scale the inputs feeding one node whose primitive ``prims(name)`` accepts until its operand reaches magnitude
    ``target`` (the smallest scale found that reaches it, to a few percent)."""
    nodes = [(n, node) for n, node in fn.named_nodes() if prims(node.prim)]
    name, node = nodes[rng.integers(len(nodes))]
    feeding = _ancestors(fn, node.args[0])
    chosen = [i for i in feeding if not _limited(needs[i])] or None
    if chosen is None:
        return None
    base = [x.astype(np.float64) for x in xs]

    def at(scale):
        moved = [(b * scale if i in chosen else b).astype(fn.dtype) for i, b in enumerate(base)]
        a = _trace(fn, moved)[node.args[0]]
        m = np.max(np.abs(a)) if a.size else 0
        return moved if np.isfinite(m) and m >= target else None

    previous = 1.0
    for scale in np.geomspace(1, 1e6, 80):
        best = at(scale)
        if best is not None:
            lo, hi = math.log(previous), math.log(scale)
            for _ in range(8 if scale > 1 else 0):  # the first scale that reaches it may overshoot by 19%
                mid = at(math.exp(0.5 * (lo + hi)))
                lo, hi, best = (lo, 0.5 * (lo + hi), mid) if mid is not None else (0.5 * (lo + hi), hi, best)
            return best
        previous = scale
    return None


def _ancestors(fn, value) -> set[int]:
    if value.startswith("x"):
        return {int(value[1:])}
    out = set()
    for a in fn.nodes[int(value[1:])].args:
        out |= _ancestors(fn, a)
    return out


def _move_saturation(fn, xs, needs, rng, draw):
    """A saturating op's operand driven to a tail depth m·2^e, e over :data:`_REGIONS`."""
    return _drive(fn, xs, needs, rng, _saturating, _magnitude(draw, _REGIONS[fn.dtype]["saturation"])[0])


def _move_logits(fn, xs, needs, rng, draw):
    return _drive(fn, xs, needs, rng, _logits, _magnitude(draw, _REGIONS[fn.dtype]["large-logits"])[0])


def _move_overflow(fn, xs, needs, rng, draw):
    """One input's entries at magnitudes m·2^e (one exactly, the others a few binades around), e anywhere
    from where exp overflows to the largest binade."""
    i = rng.choice(_nonempty_inputs(fn, needs))
    region = _REGIONS[fn.dtype]["near-overflow"]
    magnitude, e = _magnitude(draw, region)
    mags, _ = _around(rng, magnitude, e, region, xs[i].shape, fn.dtype)
    xs[i] = (np.sign(xs[i]) * mags).astype(fn.dtype)
    return xs


def _move_tiny(fn, xs, needs, rng, draw):
    """About half of one input's entries (one at least) at tiny magnitudes m·2^e, subnormals of every size."""
    i = rng.choice(_nonempty_inputs(fn, needs, skip_small=False))
    region = _REGIONS[fn.dtype]["tiny"]
    magnitude, e = _magnitude(draw, region)
    mags, k = _around(rng, magnitude, e, region, xs[i].shape, fn.dtype)
    mask = rng.random(xs[i].shape) < 0.5
    mask.reshape(-1)[k] = True
    xs[i] = np.where(mask, np.sign(xs[i]) * mags, xs[i]).astype(fn.dtype)
    return xs


# ---- issue 16: linear algebra factorisations and solves


def _matrix_inputs(fn, needs):
    return [i for i, need in enumerate(needs) if math.prod(fn.inputs[i]) > 0
            and any(SAMPLERS.get(f) is not None and SAMPLERS[f].special is not None for f in need)]


def _move_matrix(fn, xs, needs, rng, draw=None):
    """One square-matrix input moved to its sampler's special operands (``Sampler.special``: near-singular, a zero
    pivot, repeated or nearly repeated eigenvalues)."""
    i = rng.choice(_matrix_inputs(fn, needs))
    flag = next(f for f in sorted(needs[i]) if SAMPLERS.get(f) is not None and SAMPLERS[f].special is not None)
    xs[i] = np.asarray(SAMPLERS[flag].special(np.asarray(xs[i], np.float64), rng)).astype(fn.dtype)
    return xs


def _has(fact):
    return lambda fn, needs: any(fact(n.prim) for n in fn.nodes)


_MOVES = {
    "zero": (lambda fn, needs: bool(_signed_inputs(fn, needs)), _move_zero),
    "tie": (lambda fn, needs: len(fn.inputs) > 1 or any(math.prod(s) > 1 for s in fn.inputs), _move_tie),
    "kink": (_has(lambda p: _signed_kink(p) is not None), _move_kink),
    "saturation": (_has(_saturating), _move_saturation),
    "large-logits": (_has(_logits), _move_logits),
    "near-overflow": (lambda fn, needs: bool(_nonempty_inputs(fn, needs)), _move_overflow),
    "tiny": (lambda fn, needs: bool(_nonempty_inputs(fn, needs, False)), _move_tiny),
    # ---- issue 16: linear algebra factorisations and solves
    "matrix": (lambda fn, needs: bool(_matrix_inputs(fn, needs)), _move_matrix),
}
