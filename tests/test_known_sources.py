"""Where known behaviours come from: advalidate's own files, the files a plug-in ships in its package, and the
folders given with ``--known-dir``, which add to them (contract: "Known behaviours")."""

from __future__ import annotations

import sys
import textwrap

import pytest

from advalidate.backends.numpy_ref import NumpyReference
from advalidate.known import KnownBehaviours, shipped_files
from advalidate.known_replay import replay

TAIL = """# the tape's tanh tail, shipped by the plug-in
precision-loss *tanh*
    function: tanh(x0)
    inputs: x0 = 36.93444131496278
    cotangents: 1.0
"""


@pytest.fixture
def plugin_package(tmp_path, monkeypatch):
    """A plug-in package, ``shipping_plugin``, on the path: a backend module and ``known/shipping.txt``."""
    package = tmp_path / "shipping_plugin"
    (package / "known").mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "backend.py").write_text(textwrap.dedent("""
        from advalidate.backends.numpy_ref import NumpyReference

        class Shipping(NumpyReference):
            name = "shipping"
    """))
    (package / "known" / "shipping.txt").write_text(TAIL)
    monkeypatch.syspath_prepend(str(tmp_path))
    yield package
    for name in [m for m in sys.modules if m.startswith("shipping_plugin")]:
        del sys.modules[name]


def test_a_plugin_ships_its_known_behaviours_in_its_package_and_a_run_replays_them(plugin_package):
    from shipping_plugin.backend import Shipping

    backend = Shipping()
    assert [label for label, _ in shipped_files(backend)] == ["shipping_plugin/known/shipping.txt"]
    known = KnownBehaviours.load([backend])
    assert [(e.pattern, e.source) for e in known.entries] == [("*tanh*", "shipping_plugin/known/shipping.txt:2")]
    (record,) = replay(known, [backend])
    assert record["status"] == "present" and record["found_kind"] == "precision-loss"


def test_a_plugins_file_is_found_from_its_registry_entry_without_importing_it(plugin_package):
    from advalidate.backends.registry import default_registry

    registry = default_registry()
    registry.register("shipping_plugin.backend:Shipping", name="shipping")
    try:
        assert [label for label, _ in shipped_files("shipping")] == ["shipping_plugin/known/shipping.txt"]
        assert "shipping_plugin.backend" not in sys.modules  # located, not run
    finally:
        registry.entries().pop("shipping")


def test_known_dir_adds_to_the_shipped_files(tmp_path):
    (tmp_path / "numpy-ref.txt").write_text(TAIL.replace("*tanh*", "*exp*").replace("tanh(x0)", "exp(x0)"))
    shipped = KnownBehaviours.load(["numpy-ref"]).entries
    both = KnownBehaviours.load([NumpyReference()], tmp_path).entries
    assert shipped and [e.source for e in both] == [e.source for e in shipped] + [f"{tmp_path / 'numpy-ref.txt'}:2"]
    assert [e.source for e in KnownBehaviours.load(["numpy-ref"], tmp_path, shipped=False).entries] == [
        f"{tmp_path / 'numpy-ref.txt'}:2"]


def test_the_autograd_plugin_ships_its_own_known_behaviours():
    pytest.importorskip("advalidate_autograd")
    from importlib import resources

    assert [label for label, _ in shipped_files("autograd")] == ["advalidate_autograd/known/autograd.txt"]
    assert not resources.files("advalidate").joinpath("known/autograd.txt").is_file()
    assert len(KnownBehaviours.load(["autograd"]).entries) > 50


def test_a_plugin_shipping_a_malformed_file_is_left_out_of_the_run_with_the_reason(plugin_package, tmp_path):
    """A plug-in's malformed known-behaviour file is that plug-in's load error (the run goes on with the others);
    a malformed file of one's own (--known-dir) still stops the run, naming its line."""
    from advalidate.campaign import Campaign, Settings
    from advalidate.known import KnownFormatError
    from shipping_plugin.backend import Shipping

    (plugin_package / "known" / "shipping.txt").write_text(TAIL + "    mode: sideways\n")
    results = Campaign([Shipping(), NumpyReference()], Settings(max_examples=3, seed=1, probes=False,
                                                                 replay_known=False, modes=("vjp",))).run()
    records = {b["name"]: b for b in results["backends"]}
    assert records["numpy-ref"]["error"] is None and results["settings"]["backends"] == ["numpy-ref"]
    assert records["shipping"]["error"].startswith("the known-behaviour file it ships is malformed: "
                                                   "shipping_plugin/known/shipping.txt:")
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "numpy-ref.txt").write_text(TAIL + "    mode: sideways\n")
    with pytest.raises(KnownFormatError, match=r"numpy-ref.txt:\d+: mode: 'sideways' is not one of"):
        Campaign([NumpyReference()], Settings(max_examples=3, known_dir=str(mine)))
