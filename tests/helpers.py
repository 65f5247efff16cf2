"""Small builders shared by the tests."""

import numpy as np
from advalidate import builder, primitives
from advalidate.builder import Builder


def single(name, shape=(3, 4), dtype="float64"):
    """A one-node program applying catalogue primitive ``name`` to inputs of ``shape`` (its registration's example)."""
    return builder.single(name, shape, dtype)


def well_inside(fn, rng, dtype="float64"):
    """A random point comfortably inside every domain and away from kinks (the registrations' samplers)."""
    return [x.astype(dtype) for x in primitives.fixed_point(fn, rng)]


# ---- a small, fast strategy and planted backends for testing the campaign engine itself

from dataclasses import dataclass  # noqa: E402

from hypothesis import strategies as st  # noqa: E402

from advalidate.backends.numpy_ref import VJPS, NumpyReference  # noqa: E402


@dataclass(frozen=True)
class Example:
    function: object
    inputs: list
    cotangents: list


@st.composite
def chains(draw, names=("sin", "tanh", "exp", "square", "arctan"), max_len=4, dead=()):
    """x (n) -> a chain of unary primitives; points in [-1, 1]. ``dead``: primitives applied to x first whose
    values nothing uses."""
    ops = draw(st.lists(st.sampled_from(names), min_size=1, max_size=max_len))
    n = draw(st.integers(1, 4))
    b = Builder()
    v = b.input(n)
    for name in dead:
        b.apply(name, v)
    for name in ops:
        v = b.apply(name, v)
    fn = b.build(v)
    xs = [np.array(draw(st.lists(st.floats(-1, 1), min_size=n, max_size=n)))]
    vs = [np.array(draw(st.lists(st.floats(-2, 2), min_size=n, max_size=n)))]
    return Example(fn, xs, vs)


class Mutant(NumpyReference):
    """The reference tape with some rules replaced. No second order: its HVP would differentiate the planted rule and
    show the same bug again in mode hvp (tests/hvp_mutants.py plants second-order bugs)."""

    hvp = hvp_work = None

    def __init__(self, name, **rules):
        self.name = name
        self.rules = rules
        self.primitives = dict(VJPS, **rules)

    def vjp(self, fn, inputs, cotangents):
        import advalidate.backends.numpy_ref as ref

        saved = {k: ref.VJPS[k] for k in self.rules}
        ref.VJPS.update(self.rules)
        try:
            return super().vjp(fn, inputs, cotangents)
        finally:
            ref.VJPS.update(saved)


def bad_tanh():
    return Mutant("bad-tanh", tanh=(lambda g, ans, x: g * (1 - ans),))


class Raising(NumpyReference):
    """The reference tape, but raising ``error(message)`` whenever the function uses ``primitive``."""

    def __init__(self, name, primitive, message, error=RuntimeError):
        self.name, self.primitive, self.message, self.error = name, primitive, message, error

    def vjp(self, fn, inputs, cotangents):
        if self.primitive in fn.primitives_used:
            raise self.error(self.message)
        return super().vjp(fn, inputs, cotangents)


def install_fake_distribution(root, dist: str, entry_points: dict, modules: dict):
    """Write modules and a dist-info declaring ``entry_points`` (name -> target) under ``root``: a plug-in that
    the registry discovers when ``root`` is on the path."""
    import textwrap

    from advalidate.backends.registry import GROUP

    info = root / f"{dist.replace('-', '_')}-0.1.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: 0.1\n")
    lines = "\n".join(f"{name} = {target}" for name, target in entry_points.items())
    (info / "entry_points.txt").write_text(f"[{GROUP}]\n{lines}\n")
    for module, source in modules.items():
        (root / f"{module}.py").write_text(textwrap.dedent(source))
    return root


# ---- the oracle against closed forms (tests/test_core_oracle.py, test_oracle_*.py, test_scans_indexing.py)


SMALLEST_SUBNORMAL = float(np.finfo(np.float64).smallest_subnormal)  # 5e-324


def assert_matches_closed_form(result, exact, relative_to, label=""):
    """The oracle's VJP ``result`` against the closed-form gradients ``exact`` (one array per input, of the
    gradient's shape, entries mpf or exact floats): at every entry the true error |got - exact| is within the
    oracle's error bound, and both the error and the bound are at most 1e-25 relative to the scale, compared at
    300 bits.

    ``relative_to``: ``"entry"``, each entry's own |exact| (an entry whose exact value is 0 must then be exact,
    its bound at most the smallest subnormal, what an exact zero's bound rounds up to); ``"array"``, the largest
    |exact| of that input's gradient (an entry may be a small difference of large terms)."""
    import mpmath

    assert relative_to in ("entry", "array"), relative_to
    with mpmath.workprec(300):
        tol = mpmath.mpf("1e-25")
        assert len(result.grads_mp) == len(result.errors) == len(exact), label
        for i, (got, err, want) in enumerate(zip(result.grads_mp, result.errors, exact)):
            got, want, err = np.asarray(got, dtype=object), np.asarray(want, dtype=object), np.asarray(err)
            assert got.shape == want.shape == err.shape, f"{label} input {i}: {got.shape}, {want.shape}, {err.shape}"
            got, want, err = got.reshape(-1), [mpmath.mpf(w) for w in want.reshape(-1)], err.reshape(-1)
            largest = max((abs(w) for w in want), default=0)
            for j, (g, w, e) in enumerate(zip(got, want, err)):
                scale = abs(w) if relative_to == "entry" else largest
                where = f"{label} input {i}, entry {j}: {g} vs {w}, bound {e}"
                assert abs(g - w) <= e, f"{where}: the error bound must hold"
                assert abs(g - w) <= tol * scale, f"{where}: error above 1e-25 of {scale}"
                # an exact zero's bound (upward-rounded to float) is at most the smallest subnormal
                assert e <= tol * scale or (scale == 0 and e <= SMALLEST_SUBNORMAL), f"{where}: bound above 1e-25"
