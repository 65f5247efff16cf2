"""Second order: dual numbers, the reference tape's forward-over-reverse HVP, the oracle's HVP against closed forms,
and the judging of a backend's H_v·u (advalidate.second_order)."""

import mpmath
import numpy as np
import pytest

from advalidate import Builder, builder, primitives
from advalidate.backends import numpy_ref
from advalidate.backends.contract import HVP, Work, hvp_methods_of, modes_of
from advalidate.check import check_example
from advalidate.dual import Dual, dual_array, primal, tangents_of, values_of
from advalidate.oracle import Oracle
from advalidate.second_order import hvp_omega, hvp_slack

from .test_core_oracle import CASES

M = mpmath


# ---- dual numbers


@pytest.mark.parametrize("name, f, d", [
    ("exp", np.exp, np.exp), ("log", np.log, lambda a: 1 / a), ("sqrt", np.sqrt, lambda a: 0.5 / np.sqrt(a)),
    ("sin", np.sin, np.cos), ("cos", np.cos, lambda a: -np.sin(a)), ("tanh", np.tanh, lambda a: 1 - np.tanh(a) ** 2),
    ("log1p", np.log1p, lambda a: 1 / (1 + a)), ("expm1", np.expm1, np.exp), ("sinh", np.sinh, np.cosh),
])
def test_a_dual_carries_the_derivative_of_each_function(name, f, d):
    from advalidate import xp

    a = np.float64(0.7)
    out = getattr(xp, name)(np.array([Dual(a, np.float64(2.0))], dtype=object))[0]
    assert out.a == f(a) and out.b == pytest.approx(2 * d(a), rel=1e-15)


def test_dual_arithmetic_follows_the_product_and_quotient_rules_with_magnitudes():
    x, y = Dual(np.float64(3.0), np.float64(1.0)), Dual(np.float64(-2.0), np.float64(0.5))
    p, q = x * y, x / y
    assert (p.a, p.b) == (-6.0, 3.0 * 0.5 + 1.0 * -2.0)
    assert q.a == -1.5 and q.b == pytest.approx((1.0 * -2.0 - 3.0 * 0.5) / 4.0, rel=1e-15)
    s = x - x  # exactly 0, but its computation summed |x| twice: the magnitude says so
    assert s.a == 0 and s.A == 6.0 and s.B == 2.0
    assert (x ** 3).b == 27.0 and (2 ** Dual(np.float64(1.0), np.float64(1.0))).b == pytest.approx(2 * np.log(2))


def test_duals_compare_by_value_and_never_become_floats():
    x = Dual(np.float64(1.0), np.float64(5.0))
    assert x > 0.5 and x == 1.0 and not x < 1.0
    with pytest.raises(TypeError):
        float(x)


def test_float_duals_stay_in_their_dtype_and_mp_duals_at_their_precision():
    x = dual_array(np.array([0.1], np.float32), np.array([1.0], np.float32))
    y = x * mpmath.mpf(3) + 1
    assert isinstance(values_of(y)[0], np.float32) and isinstance(tangents_of(y)[0], np.float32)
    with M.workprec(200):
        z = dual_array(np.array([M.mpf(1) / 3], dtype=object), np.array([M.mpf(1)], dtype=object), number=M.mpf)
        assert abs(values_of(z * 3)[0] - 1) < M.mpf(2) ** -190


def test_primal_drops_every_tangent():
    x = dual_array(np.array([1.0, 2.0]), np.array([3.0, 4.0]))
    assert np.all(tangents_of(primal(x), np.float64) == 0) and np.all(values_of(primal(x), np.float64) == [1, 2])


# ---- the reference tape's HVP


def test_the_tape_provides_second_order_forward_over_reverse():
    tape = numpy_ref.NumpyReference()
    assert "hvp" in modes_of(tape) and hvp_methods_of(tape) == ("forward-over-reverse",)
    # every primitive whose VJP rule runs on duals; the rest call float-only routines (LAPACK, mpmath matrices)
    missing = set(tape.primitives) - set(tape.hvp_primitives)
    assert len(tape.hvp_primitives) >= 110 and missing <= {"eigvalsh", "mish", "qr_q", "qr_r", "sqrtm", "svdvals",
                                                           "cholesky", "slogdet", "solve", "triangular_solve"}


@pytest.mark.parametrize("name", sorted(numpy_ref.NumpyReference().hvp_primitives))
def test_the_tapes_hvp_of_each_primitive_matches_the_oracle(name):
    """Each registration's VJP rule, differentiated by the dual numbers, against the oracle's mixed differences at
    the primitive's fixed point: within 1e-11 of the largest component (the float tape rounds; the oracle is exact
    to its bound)."""
    fn = builder.single(name)
    rng = np.random.default_rng(1)
    xs = primitives.fixed_point(fn, rng)
    vs = [rng.standard_normal(s) for s in fn.output_shapes]
    us = [rng.standard_normal(s) for s in fn.inputs]
    exact = Oracle().hvp(fn, xs, vs, us).hvps
    got = numpy_ref.NumpyReference().hvp(fn, xs, vs, us).hvps
    scale = max([float(np.max(np.abs(e))) for e in exact if np.size(e)] + [1e-300])
    for g, e in zip(got, exact):
        assert g.dtype == np.float64 and g.shape == e.shape
        assert np.all(np.abs(g - e) <= 1e-11 * scale), (name, g, e)


def test_the_tapes_hvp_work_is_a_constant_times_the_forward():
    b = Builder()
    x = b.input(4)
    fn = b.build(b.sum(b.tanh(b.mul(x, x))))
    tape = numpy_ref.NumpyReference()
    work = tape.hvp_work(fn, [np.linspace(-1, 1, 4)], [np.array(1.0)], [np.ones(4)])
    assert isinstance(work, Work) and work.forward_passes == 1
    assert work.forward < work.vjp <= hvp_omega(5) * work.forward + hvp_slack(5)
    assert hvp_omega(5) == 25 and hvp_slack(5, 16) == 96


# ---- the oracle's HVP against the closed forms (exact forward-over-reverse of the closed-form rules)


@pytest.mark.parametrize("case", sorted(CASES))
def test_oracle_hvp_agrees_with_the_exact_second_order_of_the_closed_forms(case):
    """For each of the 38 closed-form cases of the VJP oracle's tests: the oracle's H_v·u (mixed second differences)
    against the registrations' closed-form VJP rules differentiated exactly (dual numbers of mpf at 2400 bits,
    :func:`numpy_ref.mp_hvp`: no step, no truncation), ≤ 1e-25 relative with the oracle's bound holding. The two are
    independent: one differences f, the other differentiates formulas (whose first order the VJP tests pin)."""
    with M.workprec(300):
        fn, xs, vs, _ = CASES[case]()
    us = [np.random.default_rng(5).normal(size=s) for s in fn.inputs]
    vs = [np.asarray(v, np.float64) for v in vs]
    result = Oracle().hvp(fn, xs, vs, us)
    exact = numpy_ref.mp_hvp(fn, xs, vs, us, 2400)  # wide: a cancelling closed form (logaddexp's σ(1 − σ)) stays exact
    with M.workprec(2400):
        floor = M.ldexp(M.mpf(float(np.finfo(np.float64).tiny)), -64)  # a zero's bound: the oracle's floor
        for i, (got, err, want) in enumerate(zip(result.hvps_mp, result.errors_mp, exact)):
            want = [M.mpf(w) for w in np.asarray(want, dtype=object).reshape(-1)]
            scale = max([abs(w) for w in want] + [floor])
            for j, (g, e, w) in enumerate(zip(np.reshape(got, -1), np.reshape(err, -1), want)):
                assert abs(g - w) <= e + M.ldexp(scale, -250), f"{case} x{i}[{j}]: {g} vs {w}, bound {e}"
                assert abs(g - w) <= max(M.mpf("1e-25") * scale, floor) and e <= max(M.mpf("1e-25") * scale, floor), \
                    f"{case} x{i}[{j}]: {g} vs {w}, bound {e}"


# ---- judging a backend's H_v·u


class _Wrong(numpy_ref.NumpyReference):
    """tanh's VJP rule right at first order, its second derivative dropped (ans treated as a constant)."""

    name = "tanh-second-order-dropped"

    def __init__(self):
        self.primitives = numpy_ref.Rules()
        self.primitives["tanh"] = (lambda g, ans, x: g * (1 - primal(ans) * primal(ans)),)


class _Reverse(numpy_ref.NumpyReference):
    name = "reverse-only"
    hvp = hvp_work = None


def _tanh_chain():
    b = Builder()
    x = b.input(3)
    return b.build(b.tanh(b.mul(x, x)))


def test_a_dropped_second_order_term_is_a_wrong_value_in_mode_hvp_only():
    fn, xs, vs, us = _tanh_chain(), [np.array([0.3, -0.7, 1.1])], [np.array([1.0, -2.0, 0.5])], [np.ones(3)]
    result = check_example(fn, xs, vs, [numpy_ref.NumpyReference(), _Wrong()], tangents=us, modes=("vjp", "hvp"))
    by = {(o.backend, o.mode): o for o in result.outcomes}
    assert by[("numpy-ref", "hvp")].status == "pass" and by[("numpy-ref", "vjp")].status == "pass"
    assert by[(_Wrong.name, "vjp")].status == "pass"  # its first order is right
    wrong = by[(_Wrong.name, "hvp")]
    assert wrong.status == "finding" and wrong.kind == "wrong-value" and "forward-over-reverse" in wrong.message
    assert result.hvp_oracle is not None and wrong.work is None


def test_a_backend_without_second_order_is_unsupported_never_an_error():
    result = check_example(_tanh_chain(), [np.array([0.3, -0.7, 1.1])], [np.ones(3)], [_Reverse()],
                           tangents=[np.ones(3)], modes=("hvp",))
    (outcome,) = result.outcomes
    assert outcome.status == "unsupported" and outcome.mode == "hvp" and "no hvp mode" in outcome.message


class _Raises(numpy_ref.NumpyReference):
    name = "hvp-raises"

    def hvp(self, fn, inputs, cotangents, directions, method):
        raise RuntimeError("second order is broken")


class _WrongShape(numpy_ref.NumpyReference):
    name = "hvp-wrong-shape"

    def hvp(self, fn, inputs, cotangents, directions, method):
        out = super().hvp(fn, inputs, cotangents, directions, method)
        return HVP(out.outputs, [h[:1] for h in out.hvps])


def test_a_raising_or_malformed_hvp_is_an_error_finding_naming_it():
    result = check_example(_tanh_chain(), [np.array([0.3, -0.7, 1.1])], [np.ones(3)], [_Raises(), _WrongShape()],
                           tangents=[np.ones(3)], modes=("hvp",))
    raised, shaped = result.outcomes
    assert raised.kind == "error" and "second order is broken" in raised.message
    assert shaped.kind == "error" and "Hessian-vector product 0 has shape (1,)" in shaped.message


class _Columns(numpy_ref.NumpyReference):
    """Right H_v·u, from the whole Hessian built column by column: one forward and reverse pass per input entry."""

    name = "hessian-by-columns"

    def hvp_work(self, fn, inputs, cotangents, directions, method):
        one = super().hvp_work(fn, inputs, cotangents, directions, method)
        n = sum(int(np.size(x)) for x in inputs)
        return Work(one.forward, one.forward + n * (one.vjp - one.forward), n)


def test_a_hessian_built_column_by_column_fails_the_second_order_cost_bound():
    fn = _tanh_chain()
    result = check_example(fn, [np.array([0.3, -0.7, 1.1])], [np.ones(3)], [numpy_ref.NumpyReference(), _Columns()],
                           tangents=[np.ones(3)], modes=("hvp",))
    ref, cols = result.outcomes
    assert ref.status == "pass" and ref.work is not None
    assert cols.kind == "cost-bound" and "second order" in cols.message and "forward ran 3 times" in cols.message


def test_no_hvp_is_judged_at_a_kink():
    b = Builder()
    fn = b.build(b.relu(b.input(2)))
    result = check_example(fn, [np.array([0.0, 1.0])], [np.ones(2)], [numpy_ref.NumpyReference()],
                           tangents=[np.ones(2)], modes=("hvp",))
    (outcome,) = result.outcomes
    assert outcome.status == "skipped" and "kink" in outcome.message


# ---- the symmetry of H_v (identity mode)


class _Asymmetric(numpy_ref.NumpyReference):
    """H_v·u plus a cyclic shift of u: not the product of any symmetric matrix."""

    name = "asymmetric-hvp"

    def hvp(self, fn, inputs, cotangents, directions, method="forward-over-reverse"):
        out = super().hvp(fn, inputs, cotangents, directions, method)
        return HVP(out.outputs, [h + 0.01 * np.roll(u, 1).astype(h.dtype) for h, u in zip(out.hvps, directions)])


def test_identity_mode_holds_each_backends_hessian_to_its_symmetry():
    from advalidate.identities import SYMMETRY, check_identities

    b = Builder()
    x, a = b.input(5), b.input(5, 5)
    fn = b.build(b.tanh(b.matmul(a, x)))
    rng = np.random.default_rng(2)
    xs = [rng.standard_normal(5), rng.standard_normal((5, 5)) / 2]
    vs, us = [rng.standard_normal(5)], [rng.standard_normal(5), rng.standard_normal((5, 5))]
    result = check_identities(fn, xs, vs, us, [numpy_ref.NumpyReference(), _Asymmetric()], Oracle(),
                              modes=("vjp", "jvp", "hvp"))
    by = {(o.backend, o.mode): o for o in result.outcomes}
    assert by[("numpy-ref", "hvp")].status == "pass"
    bad = by[("asymmetric-hvp", "hvp")]
    assert bad.kind == "wrong-value" and SYMMETRY in bad.message and "forward-over-reverse" in bad.message
    assert by[("asymmetric-hvp", "jvp")].status == "pass"  # its first order is the tape's


class _AllPrimitives(numpy_ref.NumpyReference):
    """Claims second order for every primitive (its products are zeros): stands for a library whose HVP covers a
    primitive the tape's duals cannot run."""

    name = "hvp-everywhere"

    @property
    def hvp_primitives(self):
        return self.primitives

    def hvp(self, fn, inputs, cotangents, directions, method="forward-over-reverse"):
        return HVP(self.vjp(fn, inputs, cotangents).outputs, [np.zeros_like(x) for x in inputs])


def test_a_program_the_tape_has_no_second_order_for_is_skipped_with_the_reason_not_unjudged():
    fn = builder.single("mish", (3,))
    result = check_example(fn, [np.array([0.3, -0.7, 1.1])], [np.ones(3)], [_AllPrimitives()],
                           tangents=[np.ones(3)], modes=("hvp",))
    assert result.point == "regular"
    (outcome,) = result.outcomes
    assert outcome.status == "skipped" and "reference tape has no second order for mish" in outcome.message


def test_an_underflowed_magnitude_still_bounds_the_tapes_rounding_far_out():
    """qr_r of a 1×1 [2.2e161]: the tape's rule divides by R and multiplies by R again, and 1/R² is subnormal in float64,
    so its float H_v·u leaves 1.4e-163 for an exact 0. The magnitude of that tangent underflowed with it; it takes the
    dtype's tiny (dual.underflow), and the tape passes (it was flagged precision-loss before)."""
    fn = builder.single("qr_r", (1, 1))
    result = check_example(fn, [np.array([[2.2494568972715982e+161]])], [np.array([[0.125]])],
                           [numpy_ref.NumpyReference()], tangents=[np.array([[0.125]])], modes=("hvp",))
    (outcome,) = result.outcomes
    assert outcome.status == "pass", outcome.message
