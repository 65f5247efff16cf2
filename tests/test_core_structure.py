"""The package's shape: the strategies install as advalidate.strategies, the public API, one dedup rule."""

import subprocess
import sys
import zipfile
from pathlib import Path

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
    assert kept.capped() == [["jax", "wrong-value"]]
    assert kept.is_new(("jax", "nan-inf", "log")) and not kept.is_new(("jax", "nan-inf", "log"), [("jax", "nan-inf", "log")])
