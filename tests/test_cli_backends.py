"""`advalidate backends` and `advalidate run`: a backend whose library is not installed says so, with the command
that installs it, and is told apart from one that is installed but fails to load."""

import json
import sys
import tomllib

import pytest

from advalidate.backends import registry as reg
from advalidate.backends.registry import Registry, install_command

from .cli_support import ROOT, environment, run
from .helpers import install_fake_distribution

NEEDS_A_LIBRARY = """
import fakelib_not_there  # declared in Requires-Dist, not installed
"""


@pytest.fixture
def plugins(tmp_path):
    """A plug-in whose declared library is missing (not installed) and one whose own module is missing (broken)."""
    root = install_fake_distribution(tmp_path / "site", "fake-needs", {"fake-needs": "fakeplug_needs:Backend",
                                                                       "fake-gone": "fakeplug_gone:Backend"},
                                     {"fakeplug_needs": NEEDS_A_LIBRARY})
    metadata = next(root.glob("*.dist-info")) / "METADATA"
    metadata.write_text(metadata.read_text() + "Requires-Dist: fakelib-not-there>=1.2\n"
                        "Requires-Dist: numpy\n")
    return root


def test_backends_says_not_installed_with_the_command_and_keeps_failed_for_broken_ones(tmp_path, plugins):
    env = environment(tmp_path, plugins, blocked=("jax", "torch"))
    done = run(["backends"], env, tmp_path)
    assert done.returncode == 0, done.stderr
    lines = {line.split()[0]: line for line in done.stdout.splitlines() if line and not line.startswith(" ")}
    assert lines["numpy-ref"].split()[1] == "ok"
    for name, extra in [("jax", "jax"), ("jax-jit", "jax"), ("torch", "torch")]:
        assert f"not installed: pip install 'advalidate[{extra}]'" in lines[name], done.stdout
        assert "FAILED" not in lines[name]
    assert "not installed: pip install 'fakelib-not-there>=1.2'" in lines["fake-needs"]
    assert "FAILED" in lines["fake-gone"] and "No module named 'fakeplug_gone'" in done.stdout

    strict = run(["backends", "--json", "--strict"], env, tmp_path)
    records = {r["name"]: r for r in json.loads(strict.stdout)["backends"]}
    assert strict.returncode == 1  # fake-gone is broken; the uninstalled ones alone would not fail --strict
    assert records["jax"]["status"] == "not installed" and records["jax"]["install"] == "pip install 'advalidate[jax]'"
    assert records["fake-gone"]["status"] == "failed" and records["fake-gone"]["install"] is None
    assert records["numpy-ref"]["status"] == "ok"


def test_strict_is_not_failed_by_a_backend_that_is_only_not_installed(tmp_path):
    done = run(["backends", "--strict"], environment(tmp_path, blocked=("jax", "torch")), tmp_path)
    assert done.returncode == 0 and "not installed" in done.stdout, done.stdout + done.stderr


def test_run_with_an_uninstalled_backend_requested_says_so_with_the_command(tmp_path):
    env = environment(tmp_path, blocked=("jax", "torch"))
    alone = run(["run", "--backend", "jax", "--max-examples", "2", "--out", str(tmp_path / "a")], env, tmp_path)
    assert alone.returncode == 2
    assert "jax: not installed: no module named 'jax' (install it with: pip install 'advalidate[jax]')" in alone.stderr
    assert not (tmp_path / "a" / "results.json").exists()
    mixed = run(["run", "--backend", "numpy-ref", "--backend", "torch", "--max-examples", "2", "--no-cost",
                 "--out", str(tmp_path / "b")], env, tmp_path)
    assert mixed.returncode == 0, mixed.stderr
    assert "backend torch did not load: not installed" in mixed.stderr and "pip install 'advalidate[torch]'" in mixed.stderr
    results = json.loads((tmp_path / "b" / "results.json").read_text())
    assert [b["name"] for b in results["backends"] if b["error"] is None] == ["numpy-ref"]


def test_install_command_reads_extras_and_plain_requirements():
    requires = ['numpy>=1.24', 'jax>=0.4.30; extra == "jax"', "torch==2.13.0; extra == 'torch'",
                'advalidate[jax]; extra == "all"', "Scikit_Learn>=1"]
    assert install_command("advalidate", requires, "jax") == "pip install 'advalidate[jax]'"
    assert install_command("advalidate", requires, "torch.nn") == "pip install 'advalidate[torch]'"
    assert install_command("p", requires, "scikit.learn") is None  # a module named differently is not guessed
    assert install_command("p", requires, "scikit_learn") == "pip install 'Scikit_Learn>=1'"
    assert install_command("p", requires, "cupy") is None and install_command("p", None, "jax") is None


def test_a_missing_dependency_that_no_requirement_names_is_a_failure_not_uninstalled(tmp_path, monkeypatch):
    install_fake_distribution(tmp_path, "fake-undeclared", {"fake-undeclared": "fakeplug_undeclared:Backend"},
                              {"fakeplug_undeclared": "import fakelib_undeclared\n"})
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "fakeplug_undeclared", raising=False)
    entry = Registry(builtins={}, discover_plugins=True).load("fake-undeclared")
    assert not entry.ok and not entry.not_installed and "No module named 'fakelib_undeclared'" in entry.error


def test_the_builtin_extras_fallback_matches_pyproject():
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    for module, extra in reg.BUILTIN_EXTRAS.items():
        assert any(req.split(">")[0].split("=")[0] == module for req in extras[extra]), (module, extra)
    targets = {t.split(":")[0] for n, t in reg.BUILTINS.items() if n != "numpy-ref"}
    assert targets == {"advalidate.backends.jax_backend", "advalidate.backends.torch_backend"}


def test_a_source_checkout_without_metadata_still_names_the_extra(monkeypatch):
    import importlib.metadata

    def missing(name):
        raise importlib.metadata.PackageNotFoundError(name)

    monkeypatch.setattr(importlib.metadata, "distribution", missing)
    entry = reg.Entry("jax", reg.BUILTINS["jax"], "built-in")
    assert entry.install_hint("jax") == "pip install 'advalidate[jax]'"
    assert entry.install_hint("jaxlib") is None and entry.install_hint("advalidate") is None


def test_backends_lists_each_backends_modes_and_its_forward_mode_gaps(tmp_path):
    """Through the installed command: numpy-ref runs every mode; a backend's primitives without forward mode or second
    order are named (autograd's defjvp table lacks some its defvjp table has), and how it computes HVPs."""
    env = environment(tmp_path, ROOT / "plugins" / "advalidate-autograd")
    done = run(["backends", "--json"], env, tmp_path)
    assert done.returncode == 0, done.stderr
    records = {r["name"]: r for r in json.loads(done.stdout)["backends"]}
    assert records["numpy-ref"]["modes"] == ["vjp", "jvp", "hvp"] and records["numpy-ref"]["jvp_missing"] == []
    assert records["numpy-ref"]["hvp_methods"] == ["forward-over-reverse"]
    assert "eigvalsh" in records["numpy-ref"]["hvp_missing"]  # its rule calls LAPACK: the duals cannot run it
    done = run(["backends"], env, tmp_path)
    assert "modes vjp,jvp,hvp" in done.stdout and "hvp: forward-over-reverse; no hvp for: " in done.stdout
    if records.get("autograd", {}).get("ok"):
        assert "erf" in records["autograd"]["jvp_missing"]
        assert "no jvp for: " in done.stdout
