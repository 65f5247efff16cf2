"""The README's three ways to check a user's op, run as documented on ``examples/`` (through the installed entry
point, ``python -m pytest`` and a Python subprocess), and the example's own test files. The checks of the usage-table
lines are in :data:`CHECKS`, which tests/test_readme_commands.py runs with the rest of the table."""

import re
import shutil
import subprocess
import sys

import pytest

from .cli_support import ROOT, advalidate_command, environment, results


def advalidate(*args, **kwargs):  # test_readme_commands' runners (imported late: that module imports CHECKS from here)
    from .test_readme_commands import advalidate

    return advalidate(*args, **kwargs)


def pytest_pyargs(*args, **kwargs):
    from .test_readme_commands import pytest_pyargs

    return pytest_pyargs(*args, **kwargs)

EXAMPLES = ROOT / "examples"


def _examples(ctx):
    """A copy of examples/ as the working directory (the README's commands run from there)."""
    where = ctx.cwd / "examples"
    shutil.copytree(EXAMPLES, where, ignore=shutil.ignore_patterns("__pycache__"))
    ctx.cwd = where
    return where


def check_check_op(command, ctx):
    """The Python line: the careful op passes, the planted one fails with its shrunk counterexample and kind."""
    where = _examples(ctx)
    ok = command.replace('check_op("log1mexp")', 'check_op("log1mexp", backends=["torch"], max_examples=2)')
    bad = ok.replace('"log1mexp"', '"log1mexp_planted"')
    script = (f"import log1mexp_ops, log1mexp_planted\n{ok}\nprint('passed')\n"
              f"try:\n    {bad.split('; ')[1]}\nexcept AssertionError as e:\n    print(e)\n")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=ctx.env, cwd=where,
                          timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr
    out = done.stdout
    assert out.startswith("passed\nop log1mexp_planted: "), out
    assert re.search(r"torch: wrong-value on log1mexp_planted", out), out
    assert "v0 = log1mexp_planted.Log1mexpPlanted.apply(x0)" in out and "import log1mexp_planted" in out
    assert "inputs: " in out and "cotangents: " in out and "oracle VJP: " in out and "backend VJP: " in out


def check_run_extension(command, ctx):
    """The campaign with the op beside the catalogue: probed, in the coverage rows, results.json and the report."""
    where = _examples(ctx)
    out = where / "out"
    done = advalidate(command, ctx, cwd=where, backend="numpy-ref", max_examples="2", out=str(out))
    assert done.returncode == 0, done.stdout + done.stderr
    data = results(out / "results.json")
    assert data["environment"]["extensions"] == "log1mexp (log1mexp_ops)"
    rows = [r for r in data["stats"]["primitives"] if r["primitive"] == "log1mexp"]
    assert rows and rows[0]["counts"].get("pass", 0) >= 2, rows
    assert "log1mexp" in (out / "index.html").read_text()


def check_pytest_extension(command, ctx):
    """The pytest plugin's option: the op's per-primitive checks run in the shipped suite."""
    _examples(ctx)
    done = pytest_pyargs(command, ctx, "--advalidate-backend", "torch", "-k", "primitive and log1mexp")
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    passed = re.findall(r"^PASSED (\S+)", done.stdout, re.M)
    assert passed and all("log1mexp" in t for t in passed), done.stdout[-3000:]


# each starts jax or torch in a subprocess and probes (30-60 s on the shared 2-core machine): the slow tier runs them;
# tests/test_extend.py checks the same paths in-process in the default tier
CHECKS = {
    'from advalidate.extend import check_op; check_op("log1mexp")': check_check_op,
    "advalidate run --extension log1mexp_ops": check_run_extension,
    "pytest --pyargs advalidate.conformance --advalidate-extension log1mexp_ops": check_pytest_extension,
}
SLOW = set(CHECKS.values())


# ---------------------------------------------------------------- the example's own files, as a user runs them


def _pytest_examples(tmp_path, *files):
    where = tmp_path / "examples"
    shutil.copytree(EXAMPLES, where, ignore=shutil.ignore_patterns("__pycache__"))
    return subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", *files],
                          capture_output=True, text=True, env=environment(tmp_path), cwd=where, timeout=1800)


@pytest.mark.slow
def test_the_examples_test_file_passes(tmp_path):
    done = _pytest_examples(tmp_path, "test_log1mexp.py")
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    assert "1 passed" in done.stdout


@pytest.mark.slow
def test_the_planted_variant_fails_with_a_shrunk_counterexample(tmp_path):
    done = _pytest_examples(tmp_path, "test_log1mexp_planted.py")
    assert done.returncode == 1, done.stdout[-4000:] + done.stderr[-2000:]
    out = done.stdout
    assert re.search(r"(jax|torch): wrong-value on log1mexp_planted: error \S+ the tolerance", out), out[-4000:]
    # shrunk: the op alone on one scalar input, as the library's own code importing the example's module
    assert re.search(r"def f\(x0\):\nE\s+v0 = log1mexp_planted\.\w+(\.apply)?\(x0\)\nE\s+return \(v0,\)", out), out
    assert re.search(r"inputs: \[[^\[\],]+\]\n", out), out


def test_a_bad_extension_module_is_a_usage_error_naming_it(tmp_path):
    (tmp_path / "bad_ops.py").write_text("import mpmath\nfrom advalidate import extend\n"
                                         "extend.defop('sin', mp=mpmath.sin)\n")
    done = subprocess.run([*advalidate_command(), "run", "--extension", "bad_ops", "--backend", "numpy-ref"],
                          capture_output=True, text=True, env=environment(tmp_path), cwd=tmp_path, timeout=300)
    assert done.returncode == 2, done.stdout + done.stderr
    assert "--extension: extension module 'bad_ops' could not be imported: InvalidOp: op 'sin': the name is taken " \
           "by advalidate's catalogue" in done.stderr


@pytest.mark.slow
def test_an_isolated_plugin_backend_imports_the_extension_in_its_worker(tmp_path):
    """autograd (a plug-in) runs in a worker process by default: the worker imports the extension module too
    ($ADVALIDATE_EXTENSIONS) and runs the op's autograd primitive."""
    shutil.copy(EXAMPLES / "log1mexp_ops.py", tmp_path)
    done = subprocess.run([*advalidate_command(), "run", "--extension", "log1mexp_ops", "--backend", "autograd",
                           "--max-examples", "1", "--no-known-replay", "--no-cost", "--out", "out"],
                          capture_output=True, text=True, env=environment(tmp_path), cwd=tmp_path, timeout=900)
    assert done.returncode == 0, done.stdout + done.stderr
    data = results(tmp_path / "out" / "results.json")
    (row,) = [r for r in data["stats"]["primitives"] if r["primitive"] == "log1mexp"]
    assert row["backend"] == "autograd" and row["counts"].get("pass", 0) >= 2 and len(row["counts"]) == 1, row


@pytest.mark.slow
def test_parallel_workers_import_the_extension(tmp_path):
    """--workers runs shard tests under pytest-xdist: each worker imports the extension ($ADVALIDATE_EXTENSIONS) and
    probes the op."""
    shutil.copy(EXAMPLES / "log1mexp_ops.py", tmp_path)
    done = subprocess.run([*advalidate_command(), "run", "--extension", "log1mexp_ops", "--backend", "numpy-ref",
                           "--workers", "2", "--max-examples", "2", "--no-cost", "--out", "out"],
                          capture_output=True, text=True, env=environment(tmp_path), cwd=tmp_path, timeout=900)
    assert done.returncode == 0, done.stdout + done.stderr
    data = results(tmp_path / "out" / "results.json")
    assert data["environment"]["extensions"] == "log1mexp (log1mexp_ops)"
    (row,) = [r for r in data["stats"]["primitives"] if r["primitive"] == "log1mexp"]
    assert row["counts"].get("pass", 0) >= 2 and len(row["counts"]) == 1, row
