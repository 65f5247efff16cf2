"""The TensorFlow plug-in's known behaviours (``advalidate_tensorflow/known/*.txt``), each reproduced in plain
TensorFlow against an exact value (mpmath, or a closed form), with no advalidate code in the computation: a
TensorFlow release that fixes one fails its test here, and the entry is then to be dropped.

    pytest plugins/advalidate-tensorflow/tests/test_known_evidence.py -s   # prints TensorFlow's values against exact
"""

from __future__ import annotations

import mpmath
import numpy as np
import pytest

tf = pytest.importorskip("tensorflow")
tnp = tf.experimental.numpy

mpmath.mp.prec = 200
ZERO = tf.UnconnectedGradients.ZERO


def _vjp(f, xs, v):
    xs = [tf.constant(np.asarray(x, dtype=np.float64)) for x in xs]
    with tf.GradientTape() as tape:
        tape.watch(xs)
        y = f(*xs)
    return [g.numpy() for g in tape.gradient(y, xs, output_gradients=tf.constant(np.asarray(v, np.float64)),
                                             unconnected_gradients=ZERO)]


def _jvp(f, xs, ws):
    xs = [tf.constant(np.asarray(x, dtype=np.float64)) for x in xs]
    ws = [tf.constant(np.asarray(w, dtype=np.float64)) for w in ws]
    with tf.autodiff.ForwardAccumulator(xs, ws) as acc:
        y = f(*xs)
    return acc.jvp(y, unconnected_gradients=ZERO).numpy()


def _gelu(x):
    x = mpmath.mpf(x)
    return 0.5 * x * (1 + mpmath.erf(x / mpmath.sqrt(2)))


def test_gelu_in_float64_rounds_one_over_sqrt2_to_float32():
    """tf.nn.gelu(approximate=False) computes erfc(-x·c) with c = cast(0.7071067811865476, float64) of a Python float,
    which TensorFlow first makes a float32 constant: c is 1/√2 to 8 digits, and gelu, its VJP and its JVP are off by
    ~1e-8 relative in float64."""
    x = np.array([1.3, -0.7, 0.25])
    got = tf.nn.gelu(tf.constant(x), approximate=False).numpy()
    exact = np.array([float(_gelu(v)) for v in x])
    rel = np.abs(got - exact) / np.abs(exact)
    print("\ngelu:", got, "exact", exact, "relative error", rel)
    assert rel.max() > 1e-9, "fixed: drop its known-behaviour entries"
    grad = _vjp(lambda x: tf.nn.gelu(x, approximate=False), [x], np.ones(3))[0]
    exact_grad = np.array([float(mpmath.diff(_gelu, v)) for v in x])
    assert np.max(np.abs(grad - exact_grad) / np.abs(exact_grad)) > 1e-9


def test_gelu_tanh_rounds_its_coefficient_to_float32():
    """tf.nn.gelu(approximate=True) casts 0.044715 from a float32 constant: 0.044714998453855515 in float64."""
    x = np.array([1.3, -0.7])

    def exact(v):
        v = mpmath.mpf(v)
        return 0.5 * v * (1 + mpmath.tanh(mpmath.sqrt(2 / mpmath.pi) * (v + mpmath.mpf("0.044715") * v ** 3)))

    got = tf.nn.gelu(tf.constant(x), approximate=True).numpy()
    want = np.array([float(exact(v)) for v in x])
    print("\ngelu_tanh:", got, "exact", want)
    assert np.max(np.abs(got - want) / np.abs(want)) > 1e-11, "fixed: drop its known-behaviour entries"


def test_leaky_relu_keeps_alpha_as_a_float32_attribute():
    """tf.nn.leaky_relu's alpha is an op attribute of type float (float32) whatever the tensor's dtype: alpha = 0.01
    is 0.009999999776482582, and the negative side, its VJP and its JVP are off by 2.2e-8 relative in float64."""
    got = tf.nn.leaky_relu(tf.constant(-0.7, tf.float64), alpha=0.01).numpy()
    grad = _vjp(lambda x: tf.nn.leaky_relu(x, alpha=0.01), [-0.7], 1.0)[0]
    print("\nleaky_relu(-0.7):", got, "exact -0.007; its derivative", grad, "exact 0.01")
    assert got == -0.7 * float(np.float32(0.01)) and grad == float(np.float32(0.01)), \
        "fixed: drop its known-behaviour entries"


def test_numpy_logaddexp_gradient_is_wrong_at_a_tie():
    """tf.experimental.numpy.logaddexp(a, b) is max(a, b) + log1p(exp(-|a - b|)): at a == b its gradient sends the
    max's part to one operand and |a - b|'s derivative is 0 there, so it is (1, 0) where logaddexp's is (1/2, 1/2)
    (logaddexp is smooth at a tie)."""
    grads = _vjp(lambda a, b: tnp.logaddexp(a, b), [0.25, 0.25], 1.0)
    print("\nlogaddexp gradient at a tie:", grads, "exact [0.5, 0.5]")
    assert grads != [0.5, 0.5] and sum(grads) == 1.0, "fixed: drop its known-behaviour entries"


def test_softsign_has_no_forward_mode():
    """ForwardAccumulator computes a JVP by differentiating the gradient op (the double-VJP trick) where an op has no
    forward rule; SoftsignGrad has no gradient, so forward mode (and forward over reverse) raises."""
    with pytest.raises(LookupError, match="SoftsignGrad"):
        _jvp(tf.nn.softsign, [np.array([0.5, -1.0])], [np.ones(2)])


def test_truncatemod_has_no_gradient():
    """tf.truncatemod (C's fmod) has no registered gradient (tf.math.floormod has one)."""
    with pytest.raises(LookupError, match="TruncateMod"):
        _vjp(tf.truncatemod, [np.array([2.5]), np.array([0.75])], np.ones(1))


def test_numpy_var_with_a_ddof_raises_without_a_dtype():
    """tf.experimental.numpy.var(x, ddof=1) casts its result to ``dtype``, which is None unless given: it raises
    TypeError for any float input (with dtype=tf.float64 it runs). Its std takes no ddof at all."""
    x = tf.constant(np.arange(6.0).reshape(2, 3))
    with pytest.raises(TypeError, match="Cannot convert"):
        tnp.var(x, axis=1, ddof=1)
    assert np.allclose(tnp.var(x, axis=1, ddof=1, dtype=tf.float64).numpy(), [1.0, 1.0])
    with pytest.raises(TypeError, match="ddof"):
        tnp.std(x, axis=1, ddof=1)


def test_qr_forward_mode_leaves_rounding_below_the_diagonal_of_r():
    """R of a QR is upper triangular, so is its JVP: TensorFlow's forward mode of tf.linalg.qr gives a tangent of R
    with rounding (1e-16) below the diagonal, where it is exactly zero."""
    a = np.array([[1.0, 0.5, -0.25], [0.75, -1.25, 0.5], [0.25, 1.0, 1.5]])
    w = np.array([[0.5, -0.25, 1.0], [1.5, 0.25, -0.75], [-0.5, 1.0, 0.25]])
    tangent = _jvp(lambda a: tf.linalg.qr(a)[1], [a], [w])
    print("\nR's tangent below the diagonal:", tangent[np.tril_indices(3, -1)])
    assert np.any(tangent[np.tril_indices(3, -1)] != 0), "fixed: drop its known-behaviour entry"


def test_norm_gradient_at_zero_is_nan():
    """tf.norm's gradient is x/‖x‖: at x = 0 it is 0/0 = NaN, where the one-sided derivatives are finite (the kink
    of a norm; JAX and PyTorch give 0 there)."""
    grad = _vjp(lambda x: tf.norm(x, ord="euclidean"), [np.zeros(2)], 1.0)[0]
    print("\nnorm gradient at 0:", grad)
    assert np.all(np.isnan(grad)), "fixed: drop its known-behaviour entry"


def test_numpy_hypot_gradient_at_zero_is_nan():
    grads = _vjp(lambda a, b: tnp.hypot(a, b), [0.0, 0.0], 1.0)
    print("\nhypot gradient at (0, 0):", grads)
    assert all(np.isnan(g) for g in grads), "fixed: drop its known-behaviour entry"


def test_subnormal_inputs_are_flushed_to_zero():
    """TensorFlow's CPU kernels run with flush-to-zero and denormals-are-zero: a subnormal input is read as 0, so
    tf.math.sqrt(4.2e-316) is 0 and its gradient at a subnormal point is the gradient at 0 (inf)."""
    x = 4.21e-316
    got = tf.math.sqrt(tf.constant(x, tf.float64)).numpy()
    print("\nsqrt(4.21e-316):", got, "exact", float(mpmath.sqrt(x)))
    assert got == 0.0, "fixed: drop its flush-to-zero entries"


def test_digamma_loses_digits_near_its_root():
    """lgamma's derivative, tf.math.digamma, near digamma's root (x ≈ 1.4616): at x = 1.453125 it is
    -0.008264331530774438 for -0.008264331530773935 (6e-14 relative), where float64 allows a few 1e-16."""
    got = tf.math.digamma(tf.constant(1.453125, tf.float64)).numpy()
    exact = float(mpmath.digamma(mpmath.mpf(1.453125)))
    print("\ndigamma(1.453125):", got, "exact", exact)
    assert abs(got - exact) > 1e-14 * abs(exact), "fixed: drop its known-behaviour entries"
    assert _vjp(tf.math.lgamma, [1.453125], 1.0)[0] == got


def test_cumprod_gradient_is_wrong_at_a_zero():
    """tf.math.cumprod's gradient divides by x (cumprod(x)/x, guarded to 0): at x = [0] the derivative of
    cumprod([x]) = x is 1, and TensorFlow gives 0."""
    grad = _vjp(lambda x: tf.math.cumprod(x, axis=-1), [np.array([0.0])], np.array([0.125]))[0]
    print("\ncumprod gradient at [0]:", grad, "exact [0.125]")
    assert grad[0] == 0.0, "fixed: drop its known-behaviour entries"
