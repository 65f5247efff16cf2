"""The function IR: construction, JSON, hashing, errors that name the node, rendering."""

import json

import numpy as np
import pytest

from advalidate import CATALOGUE, Builder, Function, InvalidFunction, Node, evaluate
from advalidate.render import DIALECTS, compile_function, render

from .helpers import single


def chain():
    b = Builder()
    x, w = b.input(3, 4), b.input(4)
    y = b.tanh(b.matmul(x, w))
    return b.build(b.sum(b.mul(y, y)), y)


def test_json_round_trip_and_hash_are_stable():
    fn = chain()
    again = Function.from_json(fn.to_json())
    assert again == fn and again.hash == fn.hash
    assert json.loads(fn.to_json())["schema"] == "advalidate.function/1"
    assert fn.hash != chain().with_dtype("float32").hash


@pytest.mark.parametrize("name", sorted(CATALOGUE))
def test_every_primitive_round_trips(name):
    fn = single(name)
    assert Function.from_json(fn.to_json()) == fn


def test_shapes_are_inferred():
    fn = chain()
    assert fn.shapes == {"x0": (3, 4), "x1": (4,), "v0": (3,), "v1": (3,), "v2": (3,), "v3": (), }
    assert fn.output_shapes == [(), (3,)]


@pytest.mark.parametrize("nodes, message", [
    ([Node.make("tanhh", "x0")], "node v0: unknown primitive 'tanhh' (did you mean 'tanh'"),
    ([Node.make("add", "x0")], "node v0 (add): takes 2 arguments, got 1"),
    ([Node.make("exp", "x0", "x0")], "node v0 (exp): takes 1 argument, got 2"),
    ([Node.make("matmul", "x0", "x0")], "node v0 (matmul): contraction dimensions differ"),
    ([Node.make("add", "x0", "x1")], "node v0 (add): shapes (3, 4), (5,) do not broadcast"),
    ([Node.make("exp", "v1")], "node v0 (exp): argument 'v1' is not an input or an earlier node"),
    ([Node.make("sum", "x0", axis=2)], "node v0 (sum): axis 2 is out of range for shape (3, 4)"),
    ([Node.make("sum", "x0", axes=1)], "node v0 (sum): unknown parameter(s) ['axes']"),
    ([Node.make("reshape", "x0")], "node v0 (reshape): missing required parameter 'shape'"),
    ([Node.make("reshape", "x0", shape=[5])], "node v0 (reshape): cannot reshape (3, 4)"),
    ([Node.make("index", "x0", key=[[0, 3, 0]])], "node v0 (index): slice step must not be zero"),
    ([Node.make("index", "x0", key=[7])], "node v0 (index): index 7 is out of range"),
    ([Node.make("concatenate")], "node v0 (concatenate): takes at least 1 argument"),
    ([Node.make("softmax", "x0", axis=None)], "node v0 (softmax): axis must be an integer"),
])
def test_invalid_programs_name_the_node_and_the_problem(nodes, message):
    with pytest.raises(InvalidFunction) as info:
        Function(((3, 4), (5,)), tuple(nodes), ("v0",))
    assert message in str(info.value)


@pytest.mark.parametrize("text, message", [
    ("{", "function JSON does not parse"),
    ("[]", "function JSON must be an object"),
    ('{"schema": "other/9"}', "schema 'other/9' is not 'advalidate.function/1'"),
    ('{"schema": "advalidate.function/1", "inputs": [], "outputs": []}', "'nodes' must be a list"),
    ('{"schema": "advalidate.function/1", "inputs": [[-1]], "nodes": [], "outputs": ["x0"]}',
     "shape of x0 must be a list of non-negative integers"),
    ('{"schema": "advalidate.function/1", "inputs": [[2]], "nodes": [{"args": ["x0"]}], "outputs": ["v0"]}',
     "node v0: function JSON: a node needs 'prim'"),
    ('{"schema": "advalidate.function/1", "inputs": [[2]], "nodes": [], "outputs": ["v3"]}', "output 'v3' names no value"),
    ('{"schema": "advalidate.function/1", "dtype": "float16", "inputs": [], "nodes": [], "outputs": []}',
     "dtype 'float16' is not one of"),
])
def test_bad_json_is_refused_clearly(text, message):
    with pytest.raises(InvalidFunction) as info:
        Function.from_json(text)
    assert message in str(info.value)


def test_nodes_are_immutable():
    fn = chain()
    with pytest.raises(AttributeError):
        fn.nodes = ()
    assert hash(fn.nodes[0]) == hash(Node.make("matmul", "x0", "x1"))


def test_the_numpy_dialect_covers_the_catalogue():
    # a library's dialect may lack a primitive the library does not have (jax has no bce_with_logits, torch no
    # cbrt): "not supported" for that backend, listed in the README's primitives table (tests/test_readme_primitives.py)
    assert DIALECTS["numpy"].missing() == []
    for dialect in DIALECTS.values():
        assert set(dialect.missing()) <= set(CATALOGUE), dialect.name


@pytest.mark.parametrize("name", sorted(CATALOGUE))
def test_rendered_numpy_source_runs_and_matches_the_interpreter(name, rng):
    from .helpers import well_inside

    fn = single(name)
    xs = well_inside(fn, rng)
    f = compile_function(fn, "numpy")
    assert "def f(" in f.__source__
    for got, want in zip(f(*xs), evaluate(fn, xs)):
        np.testing.assert_allclose(got, want, rtol=1e-14, atol=1e-300)


@pytest.mark.parametrize("dialect", ["jax", "torch"])
@pytest.mark.parametrize("name", sorted(CATALOGUE))
def test_rendered_library_source_runs_and_matches(dialect, name, rng):
    from .helpers import well_inside

    lib = pytest.importorskip(dialect)
    if name in DIALECTS[dialect].missing():
        pytest.skip(f"{dialect} has no {name}: not supported")
    fn = single(name)
    xs = well_inside(fn, rng)
    f = compile_function(fn, dialect)
    if dialect == "jax":
        lib.config.update("jax_enable_x64", True)
        args = [lib.numpy.asarray(x) for x in xs]
    else:
        args = [lib.tensor(x) for x in xs]
    for got, want in zip(f(*args), evaluate(fn, xs)):
        got = np.asarray(got.detach() if dialect == "torch" else got)
        assert got.dtype == np.float64
        np.testing.assert_allclose(got, want, rtol=1e-13, atol=1e-300)


def test_repr_is_runnable_numpy():
    fn = chain()
    namespace = {}
    exec(repr(fn), namespace)
    xs = [np.ones((3, 4)), np.arange(4.0)]
    np.testing.assert_allclose(namespace["f"](*xs)[0], evaluate(fn, xs)[0])
    assert render(fn, "torch", preamble=False).startswith("def f(x0, x1):")
