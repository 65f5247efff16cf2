"""JAX's persistent compilation cache of ``advalidate run`` (advalidate/compile_cache.py): where it lives, how it
is turned off, and that a run with the cache another run left judges every example alike."""

import os
import sys

import pytest

from advalidate import compile_cache
from advalidate.compile_cache import JAX_CACHE

from .cli_support import environment, results, run

THRESHOLDS = ("JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS", "JAX_PERSISTENT_CACHE_MIN_ENTRY_SIZE_BYTES")


@pytest.fixture
def env(monkeypatch):
    """A private os.environ and a recorder in place of the update of an imported JAX's configuration."""
    mine = {k: v for k, v in os.environ.items() if k != JAX_CACHE and k not in THRESHOLDS}
    monkeypatch.setattr(os, "environ", mine)
    configured = []
    monkeypatch.setattr(compile_cache, "_configure", configured.append)
    return mine, configured


def test_the_default_cache_is_under_xdg_cache_home_with_every_program_cached(env, tmp_path):
    environ, configured = env
    environ["XDG_CACHE_HOME"] = str(tmp_path)
    assert compile_cache.use() == str(tmp_path / "advalidate" / "jax")
    assert environ[JAX_CACHE] == str(tmp_path / "advalidate" / "jax")
    # eager programs compile in milliseconds: JAX's default threshold (1 s) would cache none of them
    assert environ["JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS"] == "0"
    assert environ["JAX_PERSISTENT_CACHE_MIN_ENTRY_SIZE_BYTES"] == "-1"
    assert configured == [compile_cache.environment(tmp_path / "advalidate" / "jax")]


def test_without_xdg_cache_home_the_cache_is_in_the_home_folder(env, tmp_path):
    environ, _ = env
    environ.pop("XDG_CACHE_HOME", None)
    environ["HOME"] = str(tmp_path)  # Path.home() reads os.environ (the private one)
    assert compile_cache.default_dir() == tmp_path / ".cache" / "advalidate" / "jax"


def test_a_folder_given_or_none(env, tmp_path):
    environ, configured = env
    assert compile_cache.use(str(tmp_path / "here")) == str(tmp_path / "here")
    assert environ[JAX_CACHE] == str(tmp_path / "here")
    assert compile_cache.use("none") is None
    assert JAX_CACHE not in environ
    assert configured[-1] == {JAX_CACHE: None}


def test_a_cache_the_user_configured_is_used_as_it_is(env, tmp_path):
    environ, configured = env
    environ[JAX_CACHE] = str(tmp_path / "mine")
    assert compile_cache.use() == str(tmp_path / "mine")
    assert not any(k in environ for k in THRESHOLDS) and configured == []  # JAX's own settings, untouched


def _run(tmp_path, name, *extra, cache_home, examples=4):
    env = dict(environment(tmp_path), XDG_CACHE_HOME=str(cache_home))
    env.pop(JAX_CACHE, None)
    out = tmp_path / name
    done = run(["run", "--backend", "jax", "--backend", "jax-jit", "--max-examples", str(examples), "--no-probes",
                "--no-known-replay", "--no-cost", "--out", str(out), *extra], env, tmp_path)
    assert done.returncode == 0, done.stderr[-2000:]
    return results(out / "results.json")


def test_advalidate_run_keeps_its_compilations_in_the_default_cache_unless_told_not_to(tmp_path):
    pytest.importorskip("jax")
    home = tmp_path / "xdg"
    _run(tmp_path, "off", "--jax-cache", "none", cache_home=home)
    assert not (home / "advalidate" / "jax").exists()
    _run(tmp_path, "on", cache_home=home)
    assert len(os.listdir(home / "advalidate" / "jax")) > 10  # every primitive at every shape, every jit program


@pytest.mark.slow
def test_a_run_with_the_cache_an_earlier_run_left_judges_every_example_alike(tmp_path):
    pytest.importorskip("jax")
    home = tmp_path / "xdg"
    first, second = (_run(tmp_path, name, cache_home=home, examples=12) for name in ("first", "second"))
    for part in ("error_ratios", "backends"):
        assert first["stats"][part] == second["stats"][part]
    assert [(f["backend"], f["kind"], f["signature"]) for f in first["findings"]] == \
        [(f["backend"], f["kind"], f["signature"]) for f in second["findings"]]


def test_the_cli_turns_the_cache_on_before_jax_compiles(monkeypatch, tmp_path):
    """``advalidate run`` sets the cache before it loads a backend: JAX decides at its first compilation."""
    import advalidate.cli_run as cli_run

    calls = []
    monkeypatch.setattr(compile_cache, "use", lambda folder=None: calls.append(("use", folder)))

    def load_backends(*args, **kwargs):
        calls.append(("load",))
        raise LookupError("stop here")

    monkeypatch.setattr("advalidate.backends.registry.load_backends", load_backends)
    from advalidate.cli import main

    assert main(["run", "--jax-cache", str(tmp_path), "--out", str(tmp_path / "out")]) == 2
    assert calls == [("use", str(tmp_path)), ("load",)]
    assert sys.modules[cli_run.__name__] is cli_run


def test_the_jax_backend_compiles_no_program_to_take_its_arrays(caplog):
    """The inputs and cotangents reach JAX by ``device_put``: ``jnp.asarray`` compiles an identity program
    (``stage``) at every new shape, a fifth of the default run's XLA compilations after the primitives'."""
    pytest.importorskip("jax")
    import logging

    import jax
    import numpy as np

    from advalidate.backends.jax_backend import JaxBackend

    from .helpers import single

    fn = single("tanh", (3, 7, 5))  # a shape no other test compiles
    with jax.log_compiles(True), caplog.at_level(logging.WARNING):
        JaxBackend().vjp(fn, [np.linspace(-1, 1, 105).reshape(3, 7, 5)], [np.ones((3, 7, 5))])
    compiled = [r.getMessage().split()[1] for r in caplog.records if r.getMessage().startswith("Compiling ")]
    assert compiled and not [name for name in compiled if "stage" in name or "convert" in name], compiled
