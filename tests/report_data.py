"""Real campaign results for the report tests: planted-bug backends (some with hostile names and messages)
and cost sweeps measured with the reference tape's work counter (the strategy is helpers.chains)."""

from __future__ import annotations

import copy

import numpy as np

from advalidate.backends.numpy_ref import NumpyReference
from advalidate.campaign import Campaign, Settings
from advalidate.results import decode_array, encode_array

from .helpers import Mutant, Raising, chains

XSS_TITLE = "<script>document.title='PWNED'</script>"
XSS_IMG = "<img src=x onerror=\"document.documentElement.setAttribute('data-pwned','1')\">"


def bad_tanh(name="bad-tanh"):
    return Mutant(name, tanh=(lambda g, ans, x: g * (1 - ans),))


def nan_exp(name):
    return Mutant(name, exp=(lambda g, ans, x: g * ans * np.where(x > 0.5, np.nan, 1.0),))


def hostile_backends():
    """numpy-ref, a wrong tanh, a NaN exp whose name is a script, and a backend whose exception is markup."""
    return [NumpyReference(), bad_tanh(), nan_exp(f"nan-exp{XSS_TITLE}"),
            Raising(f"crashy{XSS_IMG}", "sin", f"{XSS_IMG} {XSS_TITLE} boom")]


def run(backends, n=80, seed=3, strategy=None, **kw) -> dict:
    settings = Settings(max_examples=n, seed=seed, **kw)
    return Campaign(backends, settings, strategy=chains() if strategy is None else strategy).run()


# ---------------------------------------------------------------------- measured cost sweeps


def measured_cost() -> dict:
    """The ``cost`` section as ``advalidate run`` records it, measured with the reference tape."""
    from advalidate.cost.scaling import campaign_data

    return campaign_data([NumpyReference()])


def many_findings(results: dict, count: int, seed: int = 0) -> dict:
    """``results`` with ``count`` findings made by copying its real ones and perturbing their numbers
    (every tenth gets a 500-element input, to exercise the summaries of large arrays)."""
    rng = np.random.default_rng(seed)
    base = results["findings"]
    out = copy.deepcopy(results)
    out["findings"] = []
    for k in range(count):
        f = copy.deepcopy(base[k % len(base)])
        f["id"] = f"F{k + 1:03d}"
        f["replay"] = f"advalidate replay reports/results.json --id {f['id']}"
        f["inputs"] = [encode_array(decode_array(x) + rng.normal(0, 0.1, np.shape(x))) for x in f["inputs"]]
        if k % 10 == 9:
            f["inputs"] = [rng.normal(size=500).tolist()]
        f["known"] = k % 3 == 0
        f["known_note"] = "a perturbed copy, marked known" if f["known"] else ""
        out["findings"].append(f)
    known = sum(f["known"] for f in out["findings"])
    out["summary"] = dict(out["summary"], findings=count, known=known, unexpected=count - known)
    return out
