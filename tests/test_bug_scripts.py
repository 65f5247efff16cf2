"""A finding is a bug report you can paste: its script (advalidate/bugreport.py) runs in a fresh interpreter with only
its library (and NumPy) importable, computes the very VJP the finding recorded, bit for bit, and prints the oracle's
value the finding recorded beside it.

Each library's finding is a real known behaviour of it (advalidate/known/*.txt and the plug-ins', with the values of
tests/test_known_evidence.py), recorded by a real one-example campaign; the projected mode's is jax's hypot on a
7x7 array. The scripts of library backends run with advalidate, its plug-in, Hypothesis and the tests made
uninstalled (tests/cli_support.py's blocker): the numpy-ref script imports advalidate (the tape is advalidate's own).
"""

import ast
import math
import struct
import subprocess
import sys
from dataclasses import dataclass

import numpy as np
import pytest
from hypothesis import strategies as st

from advalidate.backends.contract import HVP, VJP, Work
from advalidate.backends.numpy_ref import NumpyReference
from advalidate.bugreport import array_literal, float_literal, script, script_path
from advalidate.builder import Builder
from advalidate.campaign import Campaign, Settings
from advalidate.results import decode_array

from .cli_support import environment, install_planted, results, run
from .helpers import Example

NOT_THE_LIBRARY = ("advalidate", "advalidate_autograd", "hypothesis", "tests")
NAMES = {"nan": math.nan, "inf": math.inf}


# ---------------------------------------------------------------- literals

SPECIAL = [0.0, -0.0, math.nan, math.inf, -math.inf, 5e-324, -5e-324, 2.2250738585072014e-308,
           2.225073858507201e-308, 1.7976931348623157e308, 0.1, 1 / 3, 1.2100416272066182e155, 1.3e-309]
SPECIAL32 = [1.5414283107572988e-44, 1e-45, 1.1754942e-38, 3.4028235e38, 0.1, -0.0, 1.561770960563902e-39, 2.5]


def _bits(x) -> bytes:
    return struct.pack("<d", float(x))


@pytest.mark.parametrize("x", SPECIAL, ids=repr)
def test_a_float_literal_gives_the_float_back_bit_for_bit(x):
    back = eval(float_literal(x), {}, NAMES)  # noqa: S307 (our own literal)
    assert math.isnan(back) if math.isnan(x) else _bits(back) == _bits(x)


def test_array_literals_give_the_array_back_bit_for_bit_in_both_dtypes():
    for dtype, values in (("float64", SPECIAL), ("float32", SPECIAL32)):
        a = np.array(values, dtype=dtype)
        for shaped in (a, a.reshape(2, -1), a[0], np.zeros((0, 3), dtype=dtype), np.tile(a, 9)):
            text = array_literal(shaped, dtype)
            back = eval(text, {"np": np}, NAMES)  # noqa: S307
            assert back.dtype == shaped.dtype and back.shape == shaped.shape, text
            assert back.tobytes() == shaped.tobytes() or np.array_equal(back, shaped, equal_nan=True) and \
                np.array_equal(np.isnan(back), np.isnan(shaped)), text
            assert np.array_equal(np.signbit(back), np.signbit(shaped)), text
            assert all(len(line) <= 110 for line in text.splitlines()), "a long array wraps"
    assert float_literal(np.float32(0.1)) == "0.10000000149011612"  # the float32 value, exact in float64


# ---------------------------------------------------------------- findings and their scripts

def finding_of(backend, fn, xs, vs, kind=None) -> dict:
    """The finding a one-example campaign records for ``backend`` on (fn, xs, vs)."""
    example = Example(fn, [np.asarray(x, fn.dtype) for x in xs], [np.asarray(v, fn.dtype) for v in vs])
    found = Campaign([backend], Settings(max_examples=1, seed=0), strategy=st.just(example)).run()["findings"]
    assert found, f"no finding for {backend.name}"
    finding = found[0]
    assert kind is None or finding["kind"] == kind, finding["message"]
    return finding


def run_script(text, tmp_path, name, allow_advalidate=False, allow=()) -> str:
    path = tmp_path / name
    path.write_text(text)
    blocked = tuple(m for m in NOT_THE_LIBRARY if not (allow_advalidate and m == "advalidate") and m not in allow)
    done = subprocess.run([sys.executable, str(path)], capture_output=True, text=True, cwd=tmp_path, timeout=300,
                          env=environment(tmp_path, blocked=blocked))
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def printed_grads(out: str, dtype: str, prefix: str = "  grad x") -> list:
    """The ``grad xi = …`` lines (or those starting with ``prefix``: ``  H_v·u of input``): the VJP the script
    computed (each float printed as its exact float64 repr)."""
    lines = []
    for line in out.splitlines():
        if line.startswith(prefix):
            lines.append(line.split(" = ", 1)[1])
        elif lines and lines[-1].count("[") > lines[-1].count("]"):  # an array's next line
            lines[-1] += line
    return [np.array(eval(text, {}, NAMES), dtype=np.float64).astype(dtype) for text in lines]  # noqa: S307


def table(out: str) -> list[list[str]]:
    """The rows after the ``component`` header: name, library value, then the oracle's values and bounds."""
    lines = out.splitlines()
    start = next(i for i, line in enumerate(lines) if line.strip().startswith("component"))
    rows = []
    for line in lines[start + 1:]:
        if not line.startswith("  ") or not line.strip():  # the table ends at a blank line
            break
        rows.append(line.split())
    return rows


def same_bits(a, b) -> bool:
    a, b = np.asarray(a), np.asarray(b)
    if a.shape != b.shape or a.dtype != b.dtype:
        return False
    nan = np.isnan(a)
    return bool(np.array_equal(nan, np.isnan(b)) and a[~nan].tobytes() == b[~nan].tobytes())


def check_script(finding, backend, tmp_path, allow_advalidate=False) -> str:
    """Run the recorded script; its live VJP is the recorded one bit for bit and its oracle values the record's."""
    text = finding["script"]
    assert text == script(finding, backend), "the recorded script is the generator's"
    compile(text, "script", "exec")
    assert "import mpmath" not in text and "from mpmath" not in text, "the script imports no oracle"
    dtype = finding["function"]["dtype"]
    out = run_script(text, tmp_path, script_path(tmp_path, finding).name, allow_advalidate)
    got = printed_grads(out, dtype)
    recorded = [decode_array(g, dtype) for g in finding["backend_grads"]]
    assert len(got) == len(recorded) and all(same_bits(g, r) for g, r in zip(got, recorded)), out
    assert "the same as advalidate recorded, bit for bit" in out
    rows = table(out)
    oracle, sides = finding["oracle"], finding["kink_sides"]
    if oracle and oracle["mode"] == "full":
        exact = np.concatenate([decode_array(g).reshape(-1) for g in oracle["grads"]])
        values = np.concatenate([r.astype(np.float64).reshape(-1) for r in recorded])
        assert len(rows) == exact.size
        for row, e, v in zip(rows, exact, values):
            assert same_bits(float(row[2]), e) and same_bits(float(row[1]), v), row
    elif oracle:
        assert len(rows) == len(oracle["projections"])
        for j, (row, e) in enumerate(zip(rows, oracle["projections"])):
            ws = [decode_array(w) for w in oracle["directions"][j]]
            mine = sum(float(np.sum(r.astype(np.float64) * w)) for r, w in zip(recorded, ws))
            assert row[0] == f"<g,w{j}>" and same_bits(float(row[2]), e) and same_bits(float(row[1]), mine), row
    else:
        assert sides is not None
        labels = list(sides["sides"])
        assert len(rows) == len(sides["names"])
        for c, row in enumerate(rows):
            assert row[0] == sides["names"][c].replace(" ", "")
            for k, label in enumerate(labels):
                assert same_bits(float(row[2 + k]), float(decode_array(sides["sides"][label])[c])), (label, row)
    return out


def _one(prim, *points, shape=(), dtype="float64", cotangent=1.0):
    b = Builder(dtype)
    xs = [b.input(*shape) for _ in points]
    fn = b.build(b.apply(prim, *xs) if prim != "hypot" else b.hypot(xs[0], xs[0]))
    return fn, [np.asarray(p, dtype) for p in points], [np.full(fn.output_shapes[0], cotangent, dtype)]


def test_numpy_ref_tanh_tail_script_reproduces_the_tapes_value(tmp_path):
    from advalidate.backends.numpy_ref import NumpyReference

    backend = NumpyReference()
    fn, xs, vs = _one("tanh", 36.93444131496278)  # 1 - tanh² with tanh rounded to 1: 0 for 3.3e-32
    finding = finding_of(backend, fn, xs, vs, "precision-loss")
    assert "from advalidate.backends.numpy_ref import NumpyReference" in finding["script"]
    out = check_script(finding, backend, tmp_path, allow_advalidate=True)
    assert "<- beyond the tolerance" in out


def test_numpy_ref_kink_script_prints_the_one_sided_derivatives(tmp_path):
    from advalidate.backends.numpy_ref import NumpyReference

    backend = NumpyReference()
    fn, xs, vs = _one("hypot", 0.0)  # the cone of hypot(x, x): NaN where the sides are ±sqrt 2
    finding = finding_of(backend, fn, xs, vs, "nan-inf")
    assert finding["point"] == "kink" and finding["oracle"] is None
    out = check_script(finding, backend, tmp_path, allow_advalidate=True)
    assert "at a kink of v0 (hypot)" in out and "<- matches no side" in out


@pytest.mark.slow
def test_jax_hypot_far_script_reproduces_jaxs_value(tmp_path):
    from advalidate.backends.jax_backend import JaxBackend

    backend = JaxBackend()
    fn, xs, vs = _one("hypot", 1.2100416272066182e155)
    finding = finding_of(backend, fn, xs, vs, "wrong-value")
    assert "jax.vjp(f, *xs)" in finding["script"] and "jax.jit" not in finding["script"]
    out = check_script(finding, backend, tmp_path)
    assert table(out)[0][1:3] == ["2.121320343559643", "1.4142135623730951"]


@pytest.mark.slow
def test_jax_jit_flush_to_zero_script_reproduces_the_jitted_value(tmp_path):
    from advalidate.backends.jax_backend import JaxJitBackend

    backend = JaxJitBackend()
    fn, xs, vs = _one("sqrt", [1.3e-309, 4.0], shape=(2,))  # XLA flushes the subnormal: 1/(2 sqrt 0) = inf
    finding = finding_of(backend, fn, xs, vs, "nan-inf")
    assert finding["tag"] == "flush-to-zero" and "jax.jit(run)" in finding["script"]
    out = check_script(finding, backend, tmp_path)
    assert table(out)[0][1] == "inf"


@pytest.mark.slow
def test_torch_arcsinh_far_script_reproduces_torchs_value(tmp_path):
    from advalidate.backends.torch_backend import TorchBackend

    backend = TorchBackend()
    fn, xs, vs = _one("arcsinh", 1.2100416272066182e155)  # 1/sqrt(1 + x²) with x² = inf: 0 for 8.26e-156
    finding = finding_of(backend, fn, xs, vs, "wrong-value")
    assert "torch.autograd.grad" in finding["script"]
    out = check_script(finding, backend, tmp_path)
    assert table(out)[0][1:3] == ["0.0", "8.264178500276066e-156"]


@pytest.mark.slow
def test_autograd_float32_prod_script_reproduces_autograds_value(tmp_path):
    from advalidate_autograd import AutogradBackend

    backend = AutogradBackend()
    fn, xs, vs = _one("prod", [1.5414283107572988e-44, 0.25], shape=(2,), dtype="float32")  # a subnormal factor
    finding = finding_of(backend, fn, xs, vs, "wrong-value")
    assert "make_vjp" in finding["script"] and "dtype=np.float32" in finding["script"]
    out = check_script(finding, backend, tmp_path)
    assert table(out)[0][1:3] == ["0.27272728085517883", "0.25"]


@pytest.mark.slow
def test_a_projected_finding_prints_the_projections_on_literal_directions(tmp_path):
    from advalidate.backends.jax_backend import JaxBackend

    backend = JaxBackend()
    fn, xs, vs = _one("hypot", np.full((7, 7), 1.2100416272066182e155), shape=(7, 7))  # 49 elements: projected
    finding = finding_of(backend, fn, xs, vs, "wrong-value")
    assert finding["oracle"]["mode"] == "projected" and "DIRECTIONS = [" in finding["script"]
    check_script(finding, backend, tmp_path)


@pytest.mark.slow
def test_a_cost_bound_script_prints_the_recorded_work(tmp_path):
    from advalidate.backends.jax_backend import JaxBackend

    backend = JaxBackend()
    fn, xs, vs = _one("erf", np.linspace(-1, 1, 32).reshape(4, 8), shape=(4, 8))  # jax's erf VJP: ratio 6 > ω
    finding = finding_of(backend, fn, xs, vs, "cost-bound")
    out = check_script(finding, backend, tmp_path)
    w = finding["work"]
    assert f"f alone: {w['forward']}, f + VJP: {w['vjp']} (ratio 6.00)" in out and finding["message"] in out
    assert "what jax runs for f and its VJP" in out and "erf" in out.split("in its own words:")[1]  # the jaxpr


def test_an_error_script_raises_the_librarys_exception_live(tmp_path):
    pytest.importorskip("advalidate_autograd")
    from advalidate_autograd import AutogradBackend

    backend = AutogradBackend()
    b = Builder()
    x, y = b.input(), b.input(3)
    fn = b.build(b.sum(b.where(y, x, y)))  # autograd's where does not sum over broadcast dimensions
    finding = finding_of(backend, fn, [0.25, [1.0, -2.0, 3.0]], [1.0], "error")
    out = run_script(finding["script"], tmp_path, "error.py")
    first = finding["message"].splitlines()[0]
    assert first.startswith("ValueError: non-broadcastable output operand")
    assert f"advalidate recorded an error: {first}" in out and "autograd" in out and "the VJP raised" in out


class _NoHook:
    """A backend with no script hook (neither its own ``vjp_script`` nor a dialect): the tape's values."""

    name, version, dtypes = "nohook", "1.0", ("float64",)

    def __init__(self):
        from advalidate.backends.numpy_ref import NumpyReference

        self._tape = NumpyReference()
        self.primitives = self._tape.primitives

    def vjp(self, fn, inputs, cotangents):
        out = self._tape.vjp(fn, inputs, cotangents)
        return type(out)(out.outputs, [2 * g for g in out.grads])


def test_without_a_hook_the_script_prints_the_recorded_value_and_says_the_call_is_the_backends(tmp_path):
    backend = _NoHook()
    fn, xs, vs = _one("sin", [0.5, 1.0], shape=(2,))
    finding = finding_of(backend, fn, xs, vs, "wrong-value")
    text = finding["script"]
    assert "vjp = None" in text and "The VJP call is nohook's to supply" in text and "np.sin(x0)" in text
    out = run_script(text, tmp_path, "nohook.py")  # runs without advalidate: nothing but NumPy
    assert "not computed here" in out
    got = printed_grads(out, "float64")
    assert all(same_bits(g, decode_array(r)) for g, r in zip(got, finding["backend_grads"]))
    exact = decode_array(finding["oracle"]["grads"][0])
    assert [float(row[2]) for row in table(out)] == list(exact)


@pytest.mark.slow
def test_an_isolated_plugin_writes_its_script_in_its_worker(tmp_path):
    from advalidate.isolation import Isolated
    from advalidate_autograd import AutogradBackend

    fn, xs, vs = _one("prod", [0.0], shape=(1,))  # autograd: grad of prod([0.0]) is NaN, exact 1
    here = finding_of(AutogradBackend(), fn, xs, vs, "nan-inf")
    isolated = Isolated("autograd")
    try:
        there = finding_of(isolated, fn, xs, vs, "nan-inf")
    finally:
        isolated.close()
    assert there["script"] == here["script"] and "make_vjp" in there["script"]


# ---------------------------------------------------------------- the command line

def test_run_writes_each_script_names_it_and_replay_prints_it(tmp_path):
    planted = install_planted(tmp_path / "planted")
    env = environment(tmp_path, planted)
    out = tmp_path / "out"
    done = run(["run", "--backend", "planted-wrong-value", "--max-examples", "3", "--seed", "3", "--no-cost",
                "--out", str(out)], env, tmp_path)
    assert done.returncode == 1, done.stdout + done.stderr
    data = results(out / "results.json")
    finding = data["findings"][0]
    path = out / "scripts" / f"{finding['id']}-planted-wrong-value.py"
    assert path.read_text() == finding["script"]
    assert f"{finding['id']} [NEW] planted-wrong-value" in done.stdout and f"(script: {path})" in done.stdout
    # the planted backend is a subclass of the tape: its script calls its own vjp, imported from tests/
    assert "from tests.planted_backends import WrongValue" in finding["script"]
    got = printed_grads(_run_with_tests(finding["script"], tmp_path, env), "float64")
    assert all(same_bits(g, decode_array(r)) for g, r in zip(got, finding["backend_grads"]))
    printed = run(["replay", str(out / "results.json"), "--id", finding["id"], "--script"], env, tmp_path)
    assert printed.returncode == 0 and printed.stdout == finding["script"], printed.stderr
    missing = run(["replay", str(out / "results.json"), "--id", "F999", "--script"], env, tmp_path)
    assert missing.returncode == 2 and "no finding 'F999'" in missing.stderr


def _run_with_tests(text, tmp_path, env) -> str:
    path = tmp_path / "planted.py"
    path.write_text(text)
    done = subprocess.run([sys.executable, str(path)], capture_output=True, text=True, cwd=tmp_path, env=env,
                          timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def test_replay_writes_a_script_for_results_recorded_without_one(tmp_path):
    """A results.json from before scripts were recorded: replay --script writes one now, with the backend."""
    from advalidate.backends.numpy_ref import NumpyReference
    from advalidate.results import write_json

    fn, xs, vs = _one("tanh", 36.93444131496278)
    example = Example(fn, xs, vs)
    data = Campaign([NumpyReference()], Settings(max_examples=1, seed=0), strategy=st.just(example)).run()
    recorded = data["findings"][0].pop("script")
    write_json(tmp_path / "results.json", data)
    done = run(["replay", str(tmp_path / "results.json"), "--id", "F001", "--script"], environment(tmp_path), tmp_path)
    assert done.returncode == 0 and done.stdout == recorded, done.stderr
    ast.parse(done.stdout)


# ---------------------------------------------------------------- the report card

def test_the_report_card_shows_the_script_with_a_copy_button(tmp_path):
    from markupsafe import escape

    from advalidate.backends.numpy_ref import NumpyReference
    from advalidate.report import write_report

    from .test_report_browser import CHROMIUM, dump_dom

    fn, xs, vs = _one("tanh", 36.93444131496278)
    data = Campaign([NumpyReference()], Settings(max_examples=1, seed=0), strategy=st.just(Example(fn, xs, vs))).run()
    finding = data["findings"][0]
    page = write_report(data, tmp_path / "index.html")
    text = page.read_text()
    assert f'<pre id="{finding["id"]}-script"' in text and str(escape(finding["script"])) in text
    assert f'<button type="button" class="copy" data-target="{finding["id"]}-script" hidden>' in text  # until JS runs
    if CHROMIUM is None:
        pytest.skip("headless Chromium not found: the button's script is not run")
    dom, console = dump_dom(tmp_path, page)
    assert f'class="copy" data-target="{finding["id"]}-script">Copy script</button>' in dom, "the script showed it"
    assert not [line for line in console if "Content Security Policy" in line or "Uncaught" in line], console


def test_a_merge_renumbering_a_finding_renumbers_its_script():
    """Shards of a parallel run number their findings each from F001; the merge numbers them again, and the script's
    header (its id, its replay command) follows."""
    from advalidate.backends.numpy_ref import NumpyReference
    from advalidate.findings import FindingSet

    fn, xs, vs = _one("tanh", 36.93444131496278)
    data = Campaign([NumpyReference()], Settings(max_examples=1, seed=0), strategy=st.just(Example(fn, xs, vs))).run()
    finding = data["findings"][0]
    shard = dict(finding, id="F007", replay=finding["replay"].replace("F001", "F007"),
                 script=finding["script"].replace("F001", "F007"))
    merged = FindingSet().add(shard)
    assert merged["id"] == "F001" and merged["script"] == finding["script"]
    assert "# advalidate finding F001: precision-loss" in merged["script"] and "--id F001\n" in merged["script"]


class WrongShapeTape(NumpyReference):
    """A tape whose gradients come back with an extra leading dimension (an error finding that does not raise)."""

    name = "wrong-shape"

    def vjp(self, fn, inputs, cotangents):
        out = super().vjp(fn, inputs, cotangents)
        return VJP(out.outputs, [g[None] for g in out.grads])


def test_an_error_script_shows_wrong_shapes_without_comparing_them(tmp_path):
    fn, xs, vs = _one("sin", [0.5, 1.0], shape=(2,))
    finding = finding_of(WrongShapeTape(), fn, xs, vs, "error")
    assert "from tests.test_bug_scripts import WrongShapeTape" in finding["script"]
    path = tmp_path / "wrong_shape.py"
    path.write_text(finding["script"])
    done = subprocess.run([sys.executable, str(path)], capture_output=True, text=True, cwd=tmp_path, timeout=120,
                          env=environment(tmp_path))
    assert done.returncode == 0, done.stdout + done.stderr
    assert "grad x0: shape (1, 2), dtype float64; x0: shape (2,), dtype float64  <- wrong" in done.stdout
    assert "component" not in done.stdout  # nothing compared component by component


# ---------------------------------------------------------------- second order: Hessian-vector products

# Each library's real finding in second order (tests/test_hvp_backends.py has the closed forms they miss): JAX's
# hypot far from zero (its second derivative overflows inside), 1 - tanh² rounded to 0 at 36.93 (precision lost by
# the tape, jax and torch alike), autograd's prod at a zero factor (NaN). The reverse-over-reverse ones run on the
# plain library, restricted to that method (``_only``): the values are the library's own.

PLANTED = ("advalidate", "tests", "hypothesis")  # what the script of a planted tape imports (its class, from here)
TANH_TAIL = 36.93444131496278
HYPOT_FAR = 1.2100416272066182e155


@dataclass
class HVPExample:
    function: object
    inputs: list
    cotangents: list
    tangents: list


def hvp_finding_of(backend, fn, xs, vs, us, kind=None, measure_work=False, mode="hvp") -> dict:
    """The finding a second-order check (``mode``: or forward mode's, us the tangents) of ``backend`` on (fn, xs, vs,
    us) records, with its id, replay command and script as the campaign sets them
    (:meth:`advalidate.campaign.Campaign._add_finding`)."""
    from advalidate.bugreport import script_or_fallback
    from advalidate.check import check_example, finding_signature
    from advalidate.findings import finding_record, region

    example = HVPExample(fn, [np.asarray(x, fn.dtype) for x in xs], [np.asarray(v, fn.dtype) for v in vs],
                         [np.asarray(u, fn.dtype) for u in us])
    result = check_example(fn, example.inputs, example.cotangents, [backend], tangents=example.tangents,
                           modes=(mode,), measure_work=measure_work)
    (outcome,) = result.outcomes
    assert outcome.status == "finding", (outcome.status, outcome.message)
    assert kind is None or outcome.kind == kind, outcome.message
    key = (outcome.backend, outcome.kind, finding_signature(outcome, fn.pruned()), region(fn.pruned(), example.inputs),
           mode)
    record = finding_record(key, example, result, outcome, backend)
    record["id"] = "F001"
    record["replay"] = "advalidate replay out/results.json --id F001"
    record["script"] = script_or_fallback(record, backend)
    return record


def check_hvp_script(finding, backend, tmp_path, reproduces=True, **allowed) -> str:
    """Run the recorded script of a second-order finding: it computes H_v·u live by the finding's method, prints it
    beside the oracle's recorded values, and (``reproduces``: the finding was recorded on this library as the script
    runs it) gives the recorded values bit for bit."""
    from advalidate.bugreport import hvp_method

    text = finding["script"]
    assert text == script(finding, backend), "the recorded script is the generator's"
    compile(text, "script", "exec")
    assert "import mpmath" not in text and "from mpmath" not in text, "the script imports no oracle"
    assert "def vjp(" not in text and "def hvp(" in text, "an HVP finding's script computes an HVP"
    method = hvp_method(finding)
    assert method in finding["message"] and f"METHOD = {method!r}" in text
    dtype = finding["function"]["dtype"]
    out = run_script(text, tmp_path, script_path(tmp_path, finding).name, **allowed)
    assert f"H_v·u of f at xs for the cotangent vs along the direction us, by {method}, computed now:" in out, out
    got = printed_grads(out, dtype, prefix="  H_v·u of input ")
    recorded = [decode_array(g, dtype) for g in finding["backend_grads"]]
    assert len(got) == len(recorded), out
    if reproduces:
        assert all(same_bits(g, r) for g, r in zip(got, recorded)), out
        assert "the same as advalidate recorded, bit for bit" in out
    rows = table(out)
    exact = np.concatenate([decode_array(h).reshape(-1) for h in finding["oracle"]["hvps"]])
    values = np.concatenate([g.astype(np.float64).reshape(-1) for g in got])
    assert len(rows) == exact.size
    for row, e, v in zip(rows, exact, values):
        assert same_bits(float(row[2]), e) and same_bits(float(row[1]), v), row
    return out


def _only(cls, method):
    """``cls`` computing H_v·u by ``method`` alone (the library's own values: nothing planted)."""
    return type(f"{cls.__name__}Only", (cls,), {"hvp_methods": (method,)})


def _library(name):
    if name == "numpy-ref":
        return NumpyReference
    if name in ("jax", "jax-jit"):
        pytest.importorskip("jax")
        from advalidate.backends.jax_backend import JaxBackend, JaxJitBackend

        return JaxBackend if name == "jax" else JaxJitBackend
    if name == "torch":
        pytest.importorskip("torch")
        from advalidate.backends.torch_backend import TorchBackend

        return TorchBackend
    pytest.importorskip("advalidate_autograd")
    from advalidate_autograd import AutogradBackend

    return AutogradBackend


def _hypot(x):
    b = Builder()
    x0 = b.input()
    return b.build(b.hypot(x0, x0)), [np.asarray(x)], [np.asarray(1.0)], [np.asarray(1.0)]


def _unary(prim, x, shape=()):
    b = Builder()
    fn = b.build(b.apply(prim, b.input(*shape)))
    return fn, [np.asarray(x, np.float64)], [np.ones(fn.output_shapes[0])], [np.ones(shape)]


HVP_CASES = [  # library, method, example, kind
    ("numpy-ref", "forward-over-reverse", lambda: _unary("tanh", TANH_TAIL), "precision-loss"),
    ("jax", "forward-over-reverse", lambda: _hypot(HYPOT_FAR), "wrong-value"),
    ("jax", "reverse-over-reverse", lambda: _hypot(HYPOT_FAR), "nan-inf"),
    ("jax-jit", "forward-over-reverse", lambda: _hypot(HYPOT_FAR), "wrong-value"),
    ("torch", "forward-over-reverse", lambda: _unary("tanh", TANH_TAIL), "precision-loss"),
    ("torch", "reverse-over-reverse", lambda: _unary("tanh", TANH_TAIL), "precision-loss"),
    ("autograd", "forward-over-reverse", lambda: _unary("prod", [0.0, 2.0], (2,)), "nan-inf"),
    ("autograd", "reverse-over-reverse", lambda: _unary("prod", [0.0, 2.0], (2,)), "nan-inf"),
]


@pytest.mark.parametrize("library, method, example, kind", HVP_CASES,
                         ids=[f"{c[0]}-{c[1].split('-')[0]}" for c in HVP_CASES])
def test_an_hvp_script_computes_the_librarys_hvp_live_by_the_findings_method(library, method, example, kind,
                                                                              tmp_path):
    cls = _library(library)
    backend = _only(cls, method)() if method not in cls.hvp_methods[:1] else cls()
    finding = hvp_finding_of(backend, *example(), kind)
    assert finding["mode"] == "hvp" and f"H_v·u ({method})" in finding["message"]
    # torch.func imports torch._dynamo, which asks importlib.util.find_spec whether Hypothesis is installed: the
    # blocker answers by raising where a real absence answers None, so Hypothesis stays importable for torch
    out = check_hvp_script(finding, backend, tmp_path, allow_advalidate=library == "numpy-ref",
                           allow=("hypothesis",) if library == "torch" else ())
    assert "<- beyond the tolerance" in out
    text = finding["script"]
    assert {"numpy-ref": "NumpyReference().hvp(f, xs, vs, us, method)", "jax": "jax.jvp(pullback",
            "jax-jit": "jax.jit(run)", "torch": "torch.autograd.grad(", "autograd": "make_jvp(pullback)"}[library] in text
    imports = [line for line in text.splitlines() if line.startswith(("import ", "from "))]
    assert library == "numpy-ref" or not [line for line in imports if "advalidate" in line], "the library alone"


class HVPOffTape(NumpyReference):
    """A tape whose H_v·u is 1e-3 off (a planted second-order finding the script reproduces: it imports this class)."""

    name = "hvp-off"

    def hvp(self, fn, inputs, cotangents, directions, method="forward-over-reverse"):
        out = super().hvp(fn, inputs, cotangents, directions, method)
        return HVP(out.outputs, [h + 1e-3 for h in out.hvps])


class HVPRaisingTape(NumpyReference):
    """A tape whose HVP raises: an error finding."""

    name = "hvp-raises"

    def hvp(self, fn, inputs, cotangents, directions, method="forward-over-reverse"):
        raise ValueError("planted: no second order here")


class HVPWrongShapeTape(NumpyReference):
    """A tape whose H_v·u comes back with an extra leading dimension: an error finding that does not raise."""

    name = "hvp-wrong-shape"

    def hvp(self, fn, inputs, cotangents, directions, method="forward-over-reverse"):
        out = super().hvp(fn, inputs, cotangents, directions, method)
        return HVP(out.outputs, [h[None] for h in out.hvps])


class HVPCostlyTape(NumpyReference):
    """A tape charged 100 times its forward for an HVP (a cost-bound finding; its values pass)."""

    name = "hvp-costly"

    def hvp_work(self, fn, inputs, cotangents, directions, method="forward-over-reverse"):
        work = super().hvp_work(fn, inputs, cotangents, directions, method)
        return Work(work.forward, 100 * work.forward, work.forward_passes)


def test_a_planted_hvp_on_the_tape_is_reproduced_and_marked(tmp_path):
    backend = HVPOffTape()
    finding = hvp_finding_of(backend, *_unary("sin", [0.5, -1.25], (2,)), "wrong-value")
    assert "from tests.test_bug_scripts import HVPOffTape" in finding["script"]
    out = check_hvp_script(finding, backend, tmp_path, allow=PLANTED)
    assert out.count("<- beyond the tolerance") == 2


def test_a_planted_hvp_on_a_library_is_computed_by_the_library_and_said_to_differ(tmp_path):
    """A subclass of torch's backend that adds 1e-3 to its reverse-over-reverse H_v·u: the script runs torch itself,
    which gets it right, and says that it is not what advalidate recorded (the plant lives in the subclass only)."""
    TorchBackend = _library("torch")

    class Planted(TorchBackend):
        name = "planted-torch"

        def hvp(self, function, inputs, cotangents, directions, method):
            out = super().hvp(function, inputs, cotangents, directions, method)
            return HVP(out.outputs, [h + 1e-3 if method == "reverse-over-reverse" else h for h in out.hvps])

    backend = Planted()
    finding = hvp_finding_of(backend, *_unary("sin", [0.5, -1.25], (2,)), "wrong-value")
    assert finding["message"].startswith("H_v·u (reverse-over-reverse)")
    out = check_hvp_script(finding, backend, tmp_path, reproduces=False, allow=("hypothesis",))  # torch.func: above
    assert "NOT what advalidate recorded (planted-torch" in out and "<- beyond the tolerance" not in out


def test_an_hvp_error_script_raises_the_exception_live(tmp_path):
    backend = HVPRaisingTape()
    finding = hvp_finding_of(backend, *_unary("sin", [0.5, -1.25], (2,)), "error")
    assert finding["message"].startswith("forward-over-reverse: ValueError: planted")
    out = run_script(finding["script"], tmp_path, "hvp_error.py", allow=PLANTED)
    assert f"advalidate recorded an error: {finding['message'].splitlines()[0]}" in out
    assert "the HVP raised (the traceback above), computed now" in out and "component" not in out


def test_an_hvp_error_script_shows_wrong_shapes_without_comparing_them(tmp_path):
    backend = HVPWrongShapeTape()
    finding = hvp_finding_of(backend, *_unary("sin", [0.5, -1.25], (2,)), "error")
    out = run_script(finding["script"], tmp_path, "hvp_shape.py", allow=PLANTED)
    assert "H_v·u of input 0: shape (1, 2), dtype float64; expected shape (2,), dtype float64  <- wrong" in out
    assert "component" not in out


def test_an_hvp_cost_bound_script_prints_the_recorded_work(tmp_path):
    backend = HVPCostlyTape()
    finding = hvp_finding_of(backend, *_unary("sin", [0.5, -1.25], (2,)), "cost-bound", measure_work=True)
    out = check_hvp_script(finding, backend, tmp_path, allow=PLANTED)
    w = finding["work"]
    assert f"f alone: {w['forward']}, f + HVP: {w['vjp']} (ratio 100.00)" in out and finding["message"] in out
    assert "<- beyond the tolerance" not in out


def test_an_hvp_cost_bound_on_one_method_records_and_reproduces_that_methods_values(tmp_path):
    """jax's work counted as 100 forwards for reverse-over-reverse only: the finding names that method, records its
    values (not forward-over-reverse's), and its script reproduces them with jax bit for bit."""
    JaxBackend = _library("jax")

    class Costly(JaxBackend):
        name = "jax-costly"

        def hvp_work(self, function, inputs, cotangents, directions, method):
            work = super().hvp_work(function, inputs, cotangents, directions, method)
            return Work(work.forward, 100 * work.forward if method == "reverse-over-reverse" else work.vjp,
                        work.forward_passes)

    backend = Costly()
    fn, xs, vs, us = _unary("tanh", [0.5, -1.25, 2.0], (3,))
    finding = hvp_finding_of(backend, fn, xs, vs, us, "cost-bound", measure_work=True)
    assert finding["message"].startswith("second order (reverse-over-reverse)")
    rr = JaxBackend().hvp(fn, xs, vs, us, "reverse-over-reverse").hvps
    assert all(same_bits(decode_array(g), h) for g, h in zip(finding["backend_grads"], rr))
    out = check_hvp_script(finding, backend, tmp_path)
    assert "f + HVP:" in out and "(ratio 100.00)" in out


class _NoHookHVP(_NoHook):
    """A backend without a script hook that has second order: the tape's H_v·u, doubled."""

    def hvp(self, fn, inputs, cotangents, directions, method):
        out = self._tape.hvp(fn, inputs, cotangents, directions)
        return HVP(out.outputs, [2 * h for h in out.hvps])


def test_without_a_hook_an_hvp_script_prints_the_recorded_value(tmp_path):
    backend = _NoHookHVP()
    finding = hvp_finding_of(backend, *_unary("sin", [0.5, 1.0], (2,)), "wrong-value")
    text = finding["script"]
    assert "hvp = None" in text and "The HVP call is nohook's to supply" in text and "np.sin(x0)" in text
    out = run_script(text, tmp_path, "nohook_hvp.py")  # nothing but NumPy
    assert "the HVP recorded by advalidate (not computed here" in out and "<- beyond the tolerance" in out
    got = printed_grads(out, "float64", prefix="  H_v·u of input ")
    assert all(same_bits(g, decode_array(r)) for g, r in zip(got, finding["backend_grads"]))
    assert [float(row[2]) for row in table(out)] == list(decode_array(finding["oracle"]["hvps"][0]))


def test_replay_prints_the_hvp_script_and_writes_one_for_results_recorded_without(tmp_path):
    from advalidate.results import SCHEMA, write_json

    finding = hvp_finding_of(NumpyReference(), *_unary("tanh", TANH_TAIL), "precision-loss")
    data = {"schema": SCHEMA, "backends": [{"name": "numpy-ref", "version": NumpyReference.version}],
            "findings": [finding]}
    write_json(tmp_path / "results.json", data)
    env = environment(tmp_path)
    done = run(["replay", str(tmp_path / "results.json"), "--id", "F001", "--script"], env, tmp_path)
    assert done.returncode == 0 and done.stdout == finding["script"], done.stderr
    write_json(tmp_path / "results.json", dict(data, findings=[dict(finding, script=None)]))
    done = run(["replay", str(tmp_path / "results.json"), "--id", "F001", "--script"], env, tmp_path)
    assert done.returncode == 0 and done.stdout == finding["script"], done.stderr  # numpy-ref loaded: the same
    assert "def hvp(f, xs, vs, us, method):" in done.stdout


def test_the_jvp_script_shares_the_generator_and_reproduces_the_tapes_jvp(tmp_path):
    """Forward mode's script comes from the same generator (data: jvp(f, xs, ws), J·w per output)."""
    backend = NumpyReference()
    finding = hvp_finding_of(backend, *_unary("tanh", TANH_TAIL), "precision-loss", mode="jvp")
    text = finding["script"]
    assert "def jvp(f, xs, ws):" in text and "def hvp(" not in text and "METHOD" not in text
    out = run_script(text, tmp_path, "jvp.py", allow_advalidate=True)
    assert "the JVP of f at xs along the tangents ws, computed now:" in out
    got = printed_grads(out, "float64", prefix="  J·w of output ")
    assert all(same_bits(g, decode_array(r)) for g, r in zip(got, finding["backend_grads"]))
    assert "the same as advalidate recorded, bit for bit" in out and "<- beyond the tolerance" in out
    assert [row[0] for row in table(out)] == ["y0"]
