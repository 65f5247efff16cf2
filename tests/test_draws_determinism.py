"""The suite's derandomized samples depend on their settings only, not on the modules imported before them.

Hypothesis draws now and then a constant read from the local modules imported so far; tests/conftest.py empties
that pool for the whole session (advalidate/draws.py). Checked here in processes of their own, since Hypothesis
keeps what it has read for the rest of a process: the same pytest run of :func:`test_write_the_stream`, after
importing nothing or four more of advalidate's modules first, writes the same examples.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, Phase, given, settings

from advalidate.strategies import examples

OUT = os.environ.get("ADVALIDATE_TEST_DRAWS_OUT")


@pytest.mark.skipif(not OUT, reason="run by the test below, in a process of its own")
def test_write_the_stream():
    drawn = []

    @settings(max_examples=100, database=None, derandomize=True, deadline=None, phases=[Phase.generate],
              suppress_health_check=list(HealthCheck))
    @given(examples(special=0.5, max_ops=3))
    def collect(example):
        drawn.append(repr(example))

    collect()
    Path(OUT).write_text("\n\n".join(drawn))


def test_the_derandomized_stream_does_not_depend_on_the_modules_imported_before(tmp_path):
    imports = "import advalidate.bugreport, advalidate.report, advalidate.oracle, advalidate.findings; "

    def start(name, prior, *options):
        code = (f"{prior}import sys, pytest; sys.exit(pytest.main([{__file__!r}, '-q', '-p', 'no:cacheprovider', "
                f"'-p', 'no:xdist', '-k', 'test_write_the_stream', *{list(options)!r}]))")
        env = dict(os.environ, ADVALIDATE_TEST_DRAWS_OUT=str(tmp_path / name))
        return name, subprocess.Popen([sys.executable, "-c", code], env=env, cwd=tmp_path, text=True,
                                      stdout=subprocess.PIPE, stderr=subprocess.STDOUT)

    runs = [start("plain", ""), start("imported", imports),
            # the control, without tests/conftest.py: the imports change the examples drawn
            start("plain-no-conftest", "", "--noconftest"), start("imported-no-conftest", imports, "--noconftest")]
    streams = {}
    for name, process in runs:
        out, _ = process.communicate(timeout=120)
        assert process.returncode == 0, out
        streams[name] = (tmp_path / name).read_text()
    assert streams["plain"].count("special =") == 100
    assert streams["imported"] == streams["plain"]
    # the control shows the pool at work only where advalidate's modules are local to Hypothesis (an editable
    # install, a checkout on sys.path); installed into site-packages, as tox does, they are read for no constants
    import advalidate

    try:
        from hypothesis.internal.constants_ast import is_local_module_file
    except ImportError:  # a Hypothesis without the pool (or with it elsewhere): nothing to control
        return
    if is_local_module_file(advalidate.__file__):
        assert streams["imported-no-conftest"] != streams["plain-no-conftest"], \
            "Hypothesis no longer draws local constants: is advalidate/draws.py still needed?"
