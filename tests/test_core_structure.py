"""The package's shape: the strategies install as advalidate.strategies, the public API, one dedup rule."""

import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest

import advalidate
from advalidate.findings import FindingSet

ROOT = Path(__file__).resolve().parent.parent


def test_public_api_exports_what_users_call():
    for name in advalidate.__all__:
        assert getattr(advalidate, name) is not None, name
    from advalidate.check import check_example
    from advalidate.oracle import Oracle
    from advalidate.testing import run_conformance

    assert advalidate.Oracle is Oracle and advalidate.check_example is check_example
    assert advalidate.run_conformance is run_conformance
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        advalidate.nope


def test_importing_advalidate_stays_light():
    code = "import sys, advalidate; print(sorted(m for m in ('jax', 'torch', 'hypothesis', 'mpmath') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert "jax" not in out and "torch" not in out and "hypothesis" not in out


def test_strategies_are_advalidate_strategies():
    import advalidate.strategies as s

    assert hasattr(s, "examples") and s.__name__ == "advalidate.strategies"


@pytest.mark.slow
def test_wheel_installs_strategies_inside_advalidate(tmp_path):
    """Built as a wheel, the strategies are advalidate/strategies and no top-level package is installed."""
    subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation", str(ROOT),
                    "-w", str(tmp_path)], check=True, capture_output=True)
    wheel = next(tmp_path.glob("advalidate-*.whl"))
    names = zipfile.ZipFile(wheel).namelist()
    assert "advalidate/strategies/__init__.py" in names and "advalidate/strategies/_points.py" in names
    assert {n.split("/")[0] for n in names} == {"advalidate", wheel.name.split("-")[0] + "-" + wheel.name.split("-")[1]
                                                + ".dist-info"}
    target = tmp_path / "site"
    with zipfile.ZipFile(wheel) as z:
        z.extractall(target)
    code = "import advalidate.strategies as s, advalidate; print(s.__file__); print(advalidate.__file__)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=tmp_path,
                         env={"PYTHONPATH": str(target), "PATH": "/usr/bin:/bin"}).stdout.split()
    assert out[0].startswith(str(target / "advalidate" / "strategies")) and out[1].startswith(str(target))


def test_one_dedup_rule():
    kept = FindingSet(max_per_kind=2)
    rec = lambda b, k, s: {"backend": b, "kind": k, "signature": s, "replay": "advalidate replay r.json --id F000"}
    assert kept.add(rec("jax", "wrong-value", "tanh"))["id"] == "F001"
    assert kept.add(rec("jax", "wrong-value", "sin+tanh")) is None  # a superset of a kept one adds nothing
    assert kept.add(rec("torch", "wrong-value", "sin+tanh"))["replay"].endswith("--id F002")
    assert kept.add(rec("jax", "wrong-value", "exp"))["id"] == "F003"
    assert kept.add(rec("jax", "wrong-value", "log")) is None  # two per (backend, kind) at most
    assert kept.capped() == [["jax", "wrong-value"]]  # keys without a region (the region is the campaign's)
    assert kept.is_new(("jax", "nan-inf", "log")) and not kept.is_new(("jax", "nan-inf", "log"), [("jax", "nan-inf", "log")])


def test_a_regular_finding_is_not_swallowed_by_a_special_one_of_the_same_primitive():
    """A wrong ``div`` rule at moderate inputs and ``div`` overflowing at 1e155 are two bugs (the first was lost
    when the special probe kept the second first: a planted doubled ``div`` in autograd went unreported)."""
    kept = FindingSet(max_per_kind=2)
    rec = lambda s, r: {"backend": "jax", "kind": "wrong-value", "signature": s, "region": r,
                        "replay": "advalidate replay r.json --id F000"}
    assert kept.add(rec("div", "special"))["id"] == "F001"
    assert kept.add(rec("div", "regular"))["id"] == "F001"  # kept, in place of the special one (it explains it)
    assert kept.add(rec("div+exp", "regular")) is None and kept.add(rec("div+exp", "special")) is None
    assert kept.add(rec("exp", "regular"))["id"] == "F002"
    assert kept.add(rec("exp", "special")) is None  # a regular finding covers the tails too, not the other way


def test_a_regular_finding_supersedes_the_special_ones_it_explains():
    kept = FindingSet()
    rec = lambda s, r: {"backend": "jax", "kind": "wrong-value", "signature": s, "region": r,
                        "replay": "advalidate replay r.json --id F000"}
    kept.add(rec("sin+tanh", "special")), kept.add(rec("exp", "special"))
    assert kept.add(rec("sin", "regular"))["id"] == "F002"  # the special sin+tanh one is the same wrong sin rule
    assert [(r["id"], r["signature"], r["replay"][-3:]) for r in kept] == [("F001", "exp", "001"), ("F002", "sin", "002")]
    assert kept.add(rec("sin+tanh", "special")) is None
    assert not kept.is_new(("jax", "wrong-value", "div+sin"))  # a key without a region (older file): every region


def test_the_region_of_a_point():
    from advalidate import Builder
    from advalidate.findings import region

    b = Builder()
    x = b.input(2)
    fn = b.build(b.div(x, x))
    assert region(fn, [np.array([0.5, -1.5])]) == "regular"
    assert region(fn, [np.array([0.5, 1.2100416272066182e155])]) == "special"  # past sqrt(max)
    assert region(fn, [np.array([0.5, 2.5e-317])]) == "special"  # subnormal
    assert region(fn, [np.array([0.5, 0.0])]) == "special"  # an input exactly zero
    b = Builder()
    x = b.input(2)
    assert region(b.build(b.relu(x)), [np.array([0.5, -1.5])]) == "regular"  # a zero computed inside is regular too


def test_a_known_behaviour_in_the_tails_does_not_explain_a_regular_finding():
    from advalidate.known import parse

    (entry,) = parse("wrong-value *div*\n    function: div(x0, x0)\n    inputs: x0 = 1.2100416272066182e+155\n"
                     "    cotangents: 1.0\n", "autograd", "autograd.txt")
    assert entry.region == "special"
    assert entry.matches("autograd", "wrong-value", "div", "special")
    assert not entry.matches("autograd", "wrong-value", "div", "regular")
    assert entry.matches("autograd", "wrong-value", "div")  # no region given: the pattern alone
    (regular,) = parse("cost-bound *div*\n    function: div(x0, x1)\n    inputs: x0 = 0.5, x1 = 1.5\n"
                       "    cotangents: 1.0\n", "autograd", "autograd.txt")
    assert regular.region == "regular" and regular.matches("autograd", "cost-bound", "div", "regular")


def test_every_package_of_the_checkout_is_in_the_wheel_list():
    """pyproject lists its packages by hand (to install strategies/ as advalidate.strategies): a new subpackage
    left off the list is missing from every installed copy (advalidate.primitives was, and CI failed to import)."""
    import tomllib

    root = Path(__file__).resolve().parents[1]  # the checkout (advalidate itself may be an installed copy)
    listed = set(tomllib.loads((root / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"])
    found = {".".join(p.parent.relative_to(root).parts) for p in (root / "advalidate").rglob("__init__.py")}
    assert found - listed == set(), f"packages missing from pyproject.toml's list: {sorted(found - listed)}"
