"""Triage (slow tier): the special campaigns of issue 13's acceptance list, every finding printed with its verdict.

Each campaign runs through the installed command (``advalidate run ... --out <tmp>``); every finding of its
results.json is printed (backend, kind, signature, point, the oracle's value against the backend's at the worst
component, and the verdict: a listed known behaviour, or NEW), and the test fails when a finding is not a known
behaviour. A NEW finding is either a bug of a library, to be reproduced in the library's own code and listed in
``advalidate/known/<backend>.txt`` with that evidence, or an error of advalidate, to be fixed. The draws change
whenever the strategies or the catalogue change, so this is re-run after such changes:

    tox -e triage                                   # every campaign, and the evidence
    pytest -m triage tests/test_triage.py -s -k seed11
"""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

CAMPAIGNS = [
    pytest.param(["--backend", "jax", "--backend", "torch", "--special", "--max-examples", "500", "--seed", str(n)],
                 id=f"float64-seed{n}") for n in (11, 12, 13)
] + [
    pytest.param(["--backend", "jax", "--backend", "torch", "--backend", "autograd", "--special", "--dtype", "float32",
                  "--max-examples", "300", "--seed", "31"], id="float32-seed31"),
] + [  # the reference tape's own textbook rules at the same special points (seconds each)
    pytest.param(["--backend", "numpy-ref", "--special", "--max-examples", "500", "--seed", str(n)],
                 id=f"numpy-ref-float64-seed{n}") for n in (11, 12, 13)
] + [
    pytest.param(["--backend", "numpy-ref", "--special", "--dtype", "float32", "--max-examples", "300", "--seed", "31"],
                 id="numpy-ref-float32-seed31"),
]

# issue 16's: the families it added or grew most (focused: every program is built around one of their primitives),
# then the whole catalogue; the libraries and the reference tape alike (6-10 minutes each on 2 cores)
LIBRARY_BACKENDS = ["--backend", "jax", "--backend", "jax-jit", "--backend", "torch", "--backend", "autograd"]
ISSUE16_FAMILIES = [a for family in ("linalg", "scan", "indexing", "statistics", "nn") for a in ("--primitive", family)]
CAMPAIGNS += [
    pytest.param(LIBRARY_BACKENDS + ["--special", "--max-examples", "250", "--seed", "43"] + ISSUE16_FAMILIES,
                 id="issue16-families-seed43"),
    pytest.param(LIBRARY_BACKENDS + ["--special", "--max-examples", "300", "--seed", "44"], id="catalogue-seed44"),
    pytest.param(["--backend", "numpy-ref", "--special", "--max-examples", "500", "--seed", "43"] + ISSUE16_FAMILIES,
                 id="numpy-ref-issue16-families-seed43"),
    pytest.param(["--backend", "numpy-ref", "--special", "--max-examples", "500", "--seed", "44"],
                 id="numpy-ref-catalogue-seed44"),
]

# the campaigns above are reverse mode's (issues 13 and 16): pinned to it, so forward mode's draws do not change them
CAMPAIGNS = [pytest.param(p.values[0] + ["--mode", "vjp"], id=p.id) for p in CAMPAIGNS]
# issue 17's: forward mode on every backend (reverse mode's findings there are the campaigns' above)
ALL_BACKENDS = ["--backend", "numpy-ref"] + LIBRARY_BACKENDS
CAMPAIGNS += [
    pytest.param(ALL_BACKENDS + ["--mode", "jvp", "--max-examples", "100", "--seed", "5"], id="jvp-seed5"),
    pytest.param(ALL_BACKENDS + ["--mode", "jvp", "--special", "--max-examples", "60", "--seed", "6"],
                 id="jvp-special-seed6"),
    pytest.param(LIBRARY_BACKENDS + ["--mode", "jvp", "--dtype", "float32", "--special-share", "0.5", "--max-examples",
                                     "60", "--seed", "9"], id="jvp-float32-seed9"),
    pytest.param(["--max-side", "12", "--max-examples", "60", "--seed", "7", "--mode", "vjp", "--mode", "jvp"],
                 id="identities-seed7"),
    pytest.param(["--special", "--max-examples", "40", "--seed", "11", "--mode", "vjp", "--mode", "jvp"],
                 id="both-modes-special-seed11"),
    # second order at special points on every backend (its findings are the entries with mode: hvp)
    pytest.param(ALL_BACKENDS + ["--mode", "hvp", "--special", "--max-examples", "40", "--seed", "8", "--hvp-every", "1"],
                 id="hvp-special-seed8"),
]

LIBRARIES = {"jax": "jax", "jax-jit": "jax", "torch": "torch", "autograd": "autograd", "numpy-ref": "numpy"}


def _backends(args) -> list[str]:
    return [args[i + 1] for i, a in enumerate(args) if a == "--backend"]


def run_campaign(args, out, timeout=3600) -> dict:
    """``advalidate run ARGS --out OUT`` through the installed command; its results.json."""
    command = shutil.which("advalidate")
    assert command, "the advalidate command is not installed (pip install -e .)"
    done = subprocess.run([command, "run", *args, "--out", str(out)], capture_output=True, text=True, timeout=timeout)
    assert done.returncode in (0, 1), f"advalidate run {' '.join(args)} exited {done.returncode}:\n{done.stderr[-3000:]}"
    results = json.loads((out / "results.json").read_text())
    assert results["complete"], f"advalidate run {' '.join(args)} did not complete:\n{done.stderr[-3000:]}"
    return results


def _value(array, index):
    """One entry of an encoded array (nested lists; "nan"/"inf" strings), or None."""
    if array is None or index is None:
        return None
    v = array
    for i in index:
        v = v[i]
    return v


def _values(finding) -> str:
    """The oracle's value against the backend's, at the worst component (or the kink's sides)."""
    i, idx = finding.get("worst_input"), finding.get("worst")
    oracle = finding.get("oracle") or {}
    if finding["kind"] in ("cost-bound", "error"):
        return None
    if oracle.get("mode") == "jvp" and i is not None:
        name = f"y{i}" + (f"[{', '.join(str(j) for j in idx)}]" if idx else "")
        return (f"{name}: oracle J·w {_value(oracle['tangents'][i], idx)} ± {_value(oracle['errors'][i], idx)}, "
                f"backend {_value(finding['backend_grads'][i], idx)}")
    if oracle.get("mode") == "full" and i is not None:
        name = f"x{i}" + (f"[{', '.join(str(j) for j in idx)}]" if idx else "")
        return (f"{name}: oracle {_value(oracle['grads'][i], idx)} ± {_value(oracle['errors'][i], idx)}, "
                f"backend {_value(finding['backend_grads'][i], idx)}")
    if oracle.get("mode") == "projected" and idx:
        return f"<g, w{idx[0]}>: oracle {oracle['projections'][idx[0]]} (projected; backend in the message)"
    if finding.get("kink_sides"):
        return f"kink {finding.get('kink')}: {finding['message'].rsplit(': ', 1)[-1]}"
    return "-"


def describe(finding) -> str:
    verdict = f"known: {finding['known_note'][:160]}" if finding["known"] else "NEW"
    tag = f" [{finding['tag']}]" if finding.get("tag") else ""
    values = _values(finding)
    mode = f" ({finding['mode']})" if finding.get("mode", "vjp") != "vjp" else ""
    return (f"{finding['id']} {finding['backend']}{mode}: {finding['kind']} on {finding['signature']}{tag} "
            f"({finding.get('point') or '-'} point)" + (f"\n    {values}" if values else "")
            + f"\n    {finding['message'].splitlines()[0][:300]}\n    verdict: {verdict}")


@pytest.mark.slow
@pytest.mark.triage
@pytest.mark.parametrize("args", CAMPAIGNS)
def test_every_finding_of_a_special_campaign_is_a_known_behaviour(args):
    for name in _backends(args):
        pytest.importorskip(LIBRARIES[name], reason=f"the triage campaign needs {name}")
    # a directory of its own: pytest's tmp_path lives under a base that other pytest sessions of the same user
    # prune (the 3 most recent are kept), which can remove it while a campaign of several minutes writes to it
    with tempfile.TemporaryDirectory(prefix="advalidate-triage-") as out:
        results = run_campaign(args, Path(out))
    print(f"\nadvalidate run {' '.join(args)}: {results['summary']['examples']} examples, "
          f"{len(results['findings'])} findings")
    for finding in results["findings"]:
        print(describe(finding))
    new = [f for f in results["findings"] if not f["known"]]
    assert not new, (f"{len(new)} of {len(results['findings'])} findings are not known behaviours: reproduce each "
                     "in the library's own code and list it with its evidence, or fix advalidate:\n"
                     + "\n".join(describe(f) for f in new))
