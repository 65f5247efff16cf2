"""The fuzz target under plain pytest: the backends it fuzzes are the ones the command line names."""

import subprocess
import sys

from .cli_support import environment, install_planted


def _fuzz(tmp_path, *args):
    planted = tmp_path / "planted"
    env = environment(tmp_path, planted if planted.exists() else install_planted(planted))
    env.pop("ADVALIDATE_BACKEND", None)
    return subprocess.run([sys.executable, "-m", "pytest", "--pyargs", "advalidate.conformance.test_fuzz", "-q",
                           "-p", "no:cacheprovider", "-p", "no:randomly", *args], capture_output=True, text=True,
                          env=env, cwd=tmp_path, timeout=600)


def test_advalidate_backend_selects_what_the_fuzz_target_checks(tmp_path):
    """With a planted wrong backend installed, --advalidate-backend numpy-ref fuzzes numpy-ref alone and passes
    (it fuzzed every installed backend, whatever the line said); naming the planted one fails with its finding."""
    clean = _fuzz(tmp_path, "--advalidate-backend", "numpy-ref")
    assert clean.returncode == 0, clean.stdout[-2000:]
    planted = _fuzz(tmp_path, "--advalidate-backend", "planted-wrong-value")
    assert planted.returncode == 1 and "planted-wrong-value: wrong-value" in planted.stdout, planted.stdout[-2000:]
