"""Discovery, validation and reporting of backends, with fake plug-ins installed as real distributions.

A fake plug-in is a ``*.dist-info`` directory with an ``entry_points.txt`` and its modules, in a temporary
directory put on ``sys.path``: ``importlib.metadata`` finds it exactly as it finds an installed package.
"""

import io
import importlib.metadata
import os
import pathlib
import subprocess
import sys

import pytest

import advalidate
from advalidate.backends import registry as reg
from advalidate.backends.numpy_ref import NumpyReference
from advalidate.backends.registry import BackendLoadError, InvalidBackend, Registry, validate
from advalidate import cli_backends as backends_command

from .helpers import install_fake_distribution

ROOT = pathlib.Path(__file__).resolve().parents[1]
PLUGIN = ROOT / "plugins" / "advalidate-autograd"

GOOD = '''
from advalidate.backends.numpy_ref import NumpyReference

class Good(NumpyReference):
    name = "fake-good"
    primitives = {k: v for k, v in NumpyReference.primitives.items() if k != "erf"}
'''
NO_VJP = '''
class NoVjp:
    name = "fake-novjp"
    version = "1.0"
    dtypes = ("float64",)
    primitives = {}
    def work(self, function, inputs, cotangents):
        pass
'''
BAD_SIGNATURE = '''
from advalidate.backends.numpy_ref import NumpyReference

class BadSignature(NumpyReference):
    name = "fake-badsig"
    def vjp(self, function):
        pass
'''
RAISES = '''
raise RuntimeError("this plug-in is broken on purpose")
'''


FAKES = {
    "fake-good": "fakeplug_good:Good",
    "fake-novjp": "fakeplug_novjp:NoVjp",
    "fake-badsig": "fakeplug_badsig:BadSignature",
    "fake-raises": "fakeplug_raises:Backend",
    "fake-notarget": "fakeplug_good",
}
MODULES = {"fakeplug_good": GOOD, "fakeplug_novjp": NO_VJP, "fakeplug_badsig": BAD_SIGNATURE,
           "fakeplug_raises": RAISES}


@pytest.fixture
def fake_plugins(tmp_path, monkeypatch):
    root = install_fake_distribution(tmp_path, "fake-plugins", FAKES, MODULES)
    monkeypatch.syspath_prepend(str(root))
    monkeypatch.delenv(reg.DISABLE_ENV, raising=False)
    for module in MODULES:
        monkeypatch.delitem(sys.modules, module, raising=False)
    return root


# ---------------------------------------------------------------- validation


class Complete(NumpyReference):
    name = "complete"


def _problems(backend):
    with pytest.raises(InvalidBackend) as info:
        validate(backend)
    return str(info.value)


def test_a_complete_backend_validates_and_a_class_is_instantiated():
    backend = validate(Complete)
    assert isinstance(backend, Complete) and validate(backend) is backend


@pytest.mark.parametrize("attrs, message", [
    ({"vjp": None}, "missing vjp(function, inputs, cotangents)"),
    ({"vjp": 1}, "vjp is not callable (got int)"),
    ({"vjp": lambda self, function: None}, "cannot be called as vjp(function, inputs, cotangents)"),
    ({"work": lambda self: None}, "cannot be called as work(function, inputs, cotangents)"),
    ({"name": 3}, "name must be a non-empty string, got 3"),
    ({"name": ""}, "name must be a non-empty string"),
    ({"version": None}, "version must be a string"),
    ({"dtypes": ("float64", "float16")}, "dtypes ['float16'] are not among ['float64', 'float32']"),
    ({"dtypes": ()}, "dtypes must be a non-empty tuple of strings"),
    ({"dtypes": "float64"}, "dtypes must be a non-empty tuple of strings"),
    ({"primitives": ["exp", "log"]}, "primitives must be a mapping of catalogue names"),
    ({"primitives": {"exp": 1, "no_such_op": 2}}, "primitives ['no_such_op'] are not in the catalogue"),
])
def test_a_malformed_backend_is_refused_naming_the_piece(attrs, message):
    assert message in _problems(type("Malformed", (Complete,), attrs))


def test_a_backend_without_vjp_is_refused():
    class NoVjp:
        name, version, dtypes, primitives = "novjp", "1", ("float64",), {}

        def work(self, function, inputs, cotangents):
            pass

    assert "missing vjp(function, inputs, cotangents)" in _problems(NoVjp)


def test_every_problem_is_named_at_once():
    text = _problems(type("Bad", (Complete,), {"name": None, "dtypes": ("int8",), "vjp": 1}))
    assert "name must be" in text and "dtypes ['int8']" in text and "vjp is not callable" in text


def test_a_constructor_that_raises_is_reported():
    class Fails(Complete):
        def __init__(self):
            raise OSError("no device")

    assert "constructing Fails() raised OSError: no device" in _problems(Fails)


@pytest.mark.parametrize("target, message", [
    ("no_colon_here", "is not a dotted path of the form 'module:attribute'"),
    ("a:b:c", "is not a dotted path"),
    ("advalidate_no_such_module:X", "importing 'advalidate_no_such_module' raised ModuleNotFoundError"),
    ("advalidate.backends.numpy_ref:Nope", "module 'advalidate.backends.numpy_ref' has no attribute 'Nope'"),
])
def test_a_bad_target_says_which_part_failed(target, message):
    with pytest.raises(BackendLoadError) as info:
        reg.load_target(target)
    assert message in str(info.value)


# ---------------------------------------------------------------- discovery and loading


def test_builtins_are_lazy_dotted_paths():
    registry = Registry(discover_plugins=False)
    entries = registry.entries()
    assert list(entries)[:4] == ["numpy-ref", "jax", "jax-jit", "torch"]
    assert all(isinstance(e.target, str) and not e.loaded and e.source == "built-in" for e in entries.values())
    assert registry.get("numpy-ref").name == "numpy-ref"


def test_an_unknown_backend_is_named_with_the_known_ones():
    with pytest.raises(BackendLoadError, match="unknown backend 'nope'; known: numpy-ref, jax"):
        Registry(discover_plugins=False).get("nope")


def test_fake_plugins_are_found_and_broken_ones_do_not_stop_the_others(fake_plugins):
    registry = Registry(builtins={"numpy-ref": reg.BUILTINS["numpy-ref"]})
    entries = {e.name: e for e in registry.load_all()}
    assert entries["numpy-ref"].ok and entries["fake-good"].ok
    assert entries["fake-good"].source == "entry point of fake-plugins 0.1"
    assert "missing vjp(function, inputs, cotangents)" in entries["fake-novjp"].error
    assert "vjp(function) cannot be called as vjp(function, inputs, cotangents)" in entries["fake-badsig"].error
    assert "RuntimeError: this plug-in is broken on purpose" in entries["fake-raises"].error
    assert "not a dotted path" in entries["fake-notarget"].error
    with pytest.raises(BackendLoadError, match="fake-raises.*did not load.*broken on purpose"):
        registry.get("fake-raises")


def test_entry_points_are_not_imported_until_used(fake_plugins):
    registry = Registry(builtins={})
    assert "fake-raises" in registry.entries()
    assert "fakeplug_raises" not in sys.modules and "fakeplug_good" not in sys.modules
    registry.get("fake-good")
    assert "fakeplug_good" in sys.modules and "fakeplug_raises" not in sys.modules


def test_the_environment_variable_turns_plugin_discovery_off(fake_plugins, monkeypatch):
    monkeypatch.setenv(reg.DISABLE_ENV, "1")
    registry = Registry()
    assert not registry.plugins_enabled
    assert set(registry.entries()) == set(reg.BUILTINS)


def test_a_name_taken_twice_keeps_the_first(tmp_path, monkeypatch):
    install_fake_distribution(tmp_path, "impostor", {"numpy-ref": "fakeplug_good:Good"}, {"fakeplug_good": GOOD})
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delenv(reg.DISABLE_ENV, raising=False)
    entries = Registry(builtins={"numpy-ref": reg.BUILTINS["numpy-ref"]}).entries()
    assert entries["numpy-ref"].source == "built-in"
    clash = entries["numpy-ref (entry point of impostor 0.1)"]
    assert "already taken by advalidate.backends.numpy_ref:NumpyReference" in clash.error


def test_a_plugin_whose_name_differs_from_its_entry_point_is_refused(tmp_path, monkeypatch):
    install_fake_distribution(tmp_path, "misnamed", {"other": "fakeplug_good:Good"}, {"fakeplug_good": GOOD})
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "fakeplug_good", raising=False)
    entry = Registry(builtins={}, discover_plugins=True).load("other")
    assert "name is 'fake-good' but it is registered as 'other'" in entry.error


def test_register_validates_objects_immediately():
    registry = Registry(builtins={}, discover_plugins=False)
    assert registry.register(Complete).ok
    with pytest.raises(InvalidBackend, match="name must be a non-empty string"):
        registry.register(type("Nameless", (Complete,), {"name": ""}))
    with pytest.raises(BackendLoadError, match="already registered"):
        registry.register(Complete)


# ---------------------------------------------------------------- `advalidate backends`


class _Args:
    json = False
    strict = False


def test_the_backends_command_shows_failures_with_their_reason(fake_plugins):
    registry = Registry(builtins={"numpy-ref": reg.BUILTINS["numpy-ref"]})
    out = io.StringIO()
    assert backends_command.main(_Args(), registry, out) == 0
    text = out.getvalue()
    n = len(advalidate.CATALOGUE)
    assert "numpy-ref  ok" in text and f"{n}/{n} primitives" in text
    assert "fake-good  ok" in text and f"{n - 1}/{n} primitives  (not supported: erf)" in text
    for name, reason in [("fake-novjp", "missing vjp"), ("fake-badsig", "cannot be called as vjp"),
                         ("fake-raises", "broken on purpose")]:
        line = next(i for i, l in enumerate(text.splitlines()) if l.startswith(name))
        assert "FAILED" in text.splitlines()[line] and reason in text.splitlines()[line + 1], text


def test_the_backends_command_is_a_console_script_with_json_and_strict(fake_plugins):
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(fake_plugins), str(ROOT)]))
    env.pop(reg.DISABLE_ENV, None)
    cmd = [sys.executable, "-m", "advalidate.cli", "backends"]
    done = subprocess.run(cmd + ["--json", "--strict"], capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 1, done.stderr  # --strict: some backend failed
    import json

    records = {r["name"]: r for r in json.loads(done.stdout)["backends"]}
    assert records["numpy-ref"]["ok"] and records["fake-good"]["missing"] == ["erf"]
    assert "broken on purpose" in records["fake-raises"]["error"]
    usage = subprocess.run(cmd + ["--no-such-option"], capture_output=True, text=True, env=env, timeout=120)
    assert usage.returncode == 2 and "unrecognized arguments" in usage.stderr
    bare = subprocess.run(cmd[:-1], capture_output=True, text=True, env=env, timeout=120)
    assert bare.returncode == 2 and "a command is required" in bare.stderr


# ---------------------------------------------------------------- autograd: only through its entry point


def test_advalidate_itself_never_names_the_autograd_plugin():
    assert "autograd" not in reg.BUILTINS
    sources = [p for p in (ROOT / "advalidate").rglob("*.py")]
    assert sources and not [p for p in sources if "advalidate_autograd" in p.read_text()]
    assert "autograd" not in Registry(discover_plugins=False).entries()


def test_autograd_is_found_through_an_entry_point_alone(tmp_path, monkeypatch):
    pytest.importorskip("autograd")
    install_fake_distribution(tmp_path, "advalidate-autograd-copy", {"autograd": "advalidate_autograd:AutogradBackend"},
                              {})
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.syspath_prepend(str(PLUGIN))
    assert "autograd" not in Registry(discover_plugins=False).entries()
    entry = Registry(discover_plugins=True).load("autograd")
    assert entry.ok, entry.error
    assert entry.source.startswith("entry point of advalidate-autograd")


def test_the_installed_autograd_plugin_is_discovered():
    try:
        dist = importlib.metadata.distribution("advalidate-autograd")
    except importlib.metadata.PackageNotFoundError:
        pytest.skip("advalidate-autograd is not installed here (tox installs it from plugins/advalidate-autograd)")
    (ep,) = [ep for ep in dist.entry_points if ep.group == reg.GROUP]
    assert (ep.name, ep.value) == ("autograd", "advalidate_autograd:AutogradBackend")
    entry = Registry(discover_plugins=True).load("autograd")
    assert entry.ok and entry.source == f"entry point of advalidate-autograd {dist.version}"
