"""The HTML conformance report: a pure rendering of results.json into one self-contained page.

jinja2 with autoescaping renders ``templates/report.html.j2``; CSS and the few lines of filtering script are
inlined, plots are inline SVGs (:mod:`advalidate.plots`). Every string from a backend, an exception or a
function is data and is escaped; a Content-Security-Policy allows only the page's own script (by hash), so
even an escaping mistake could not run anything.
"""

from __future__ import annotations

import base64
import hashlib
from collections import defaultdict
from pathlib import Path

import numpy as np

from . import __version__, plots, primitives
from .known import display_rows, known_counts
from .results import decode_array

__all__ = ["render_report", "write_report", "matrix", "coverage_table", "REQUIRED"]

REQUIRED = ("settings", "environment", "backends", "summary", "stats", "findings")
FINDING_DEFAULTS = {"known_note": "", "point": "", "kink": "", "oracle": None, "backend_grads": None, "ratio": None,
                    "worst": None, "worst_input": None, "tolerance": None, "errors": None, "work": None,
                    "convention": None, "agrees_with": [], "all_backends_agree": False, "message": "", "warnings": []}
STATS_DEFAULTS = {"conventions": {}, "seconds": {}, "error_ratios": {}, "cost_ratios": {}, "backends": {},
                  "cells": [], "primitives": []}
ARRAY_LIMIT = 64  # values shown in a card per array; the rest stay in results.json (and the replay)
STATUS_TEXT = {"pass": "pass", "finding": "finding", "known": "known", "unsupported": "not supported",
               "untested": "not exercised", "not-loaded": "did not load",
               "not-measured": "not measured (the backend counts no work)"}
STATUS_SHORT = {"pass": "pass", "finding": "finding", "known": "known", "unsupported": "n/s", "untested": "",
                "not-loaded": "not loaded", "not-measured": "n/m"}
STATUS_MARK = {"pass": "✓", "finding": "✗", "known": "≈", "unsupported": "–", "untested": "·", "not-loaded": "!",
               "not-measured": "○"}


def _environment():
    from jinja2 import Environment, PackageLoader, StrictUndefined

    env = Environment(loader=PackageLoader("advalidate", "templates"), autoescape=True,
                      undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    env.filters["num"] = _num
    env.filters["duration"] = _duration
    return env


def render_report(results: dict) -> str:
    """The report of ``results`` (a results.json dict) as one HTML document."""
    missing = [k for k in REQUIRED if k not in results]
    if missing:
        raise ValueError(f"not an advalidate results dict: missing {', '.join(missing)}")
    results = dict(results, stats={**STATS_DEFAULTS, **results["stats"]}, cost=results.get("cost"),
                   findings=[{**FINDING_DEFAULTS, **f} for f in results["findings"]])
    env = _environment()
    script = env.get_template("report.js").render()
    digest = base64.b64encode(hashlib.sha256(script.encode()).digest()).decode()
    return env.get_template("report.html.j2").render(
        r=results, summary=_summary(results), matrix=matrix(results), coverage=coverage_table(results),
        findings=_cards(results),
        plots=_plots(results), backends=_backends(results), version=__version__,
        known=display_rows(results.get("known")), known_counts=known_counts(results.get("known")),
        kinds=sorted({f["kind"] for f in results["findings"]}),
        finding_backends=list(dict.fromkeys(f["backend"] for f in results["findings"])),
        finding_modes=list(dict.fromkeys(f.get("mode", "vjp") for f in results["findings"])),
        status_text=STATUS_TEXT, status_short=STATUS_SHORT, status_mark=STATUS_MARK, script_hash=f"sha256-{digest}")


def write_report(results: dict, path) -> Path:
    """Render ``results`` to ``path`` (an .html file; parent folders are created). Returns the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render_report(results), encoding="utf-8")
    return path


# ---------------------------------------------------------------------- formatting

def _num(x, digits=3) -> str:
    if x is None:
        return "–"
    if isinstance(x, str):
        return x
    if isinstance(x, int) and not isinstance(x, bool):
        return str(x)
    return f"{float(x):.{digits}g}"


def _duration(seconds) -> str:
    seconds = float(seconds)
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, sec = divmod(round(seconds), 60)
    if minutes < 60:
        return f"{minutes} min {sec} s"
    return f"{minutes // 60} h {minutes % 60} min"


def _array(data, digits=None) -> str:
    """An encoded array as text: full precision (repr) by default, ``digits`` significant digits otherwise."""
    try:
        a = decode_array(data)
    except (TypeError, ValueError):
        return str(data)
    fmt = (lambda v: repr(float(v))) if digits is None else (lambda v: f"{float(v):.{digits}g}")
    if a.ndim == 0:
        return fmt(a)
    text = np.array2string(a, separator=", ", formatter={"float_kind": fmt}, threshold=ARRAY_LIMIT,
                           edgeitems=3, max_line_width=80)
    if a.size > ARRAY_LIMIT:
        text += f"\n({a.size} values, shape {list(a.shape)}: all of them are in results.json)"
    return text


def _shape(data) -> list:
    try:
        return list(decode_array(data).shape)
    except (TypeError, ValueError):
        return []


# ---------------------------------------------------------------------- the matrix

def _families_of(signature: str) -> set:
    return {primitives.CATALOGUE[p].family for p in signature.split("+") if p in primitives.CATALOGUE}


def _property_of(kind: str) -> str:
    return "cost" if kind == "cost-bound" else "value"


def matrix(results: dict) -> dict:
    """Backends × primitive families × property (value, cost): a status per cell.

    A cell is a ``finding`` when an unexpected finding of that backend, of a kind about that property
    (``cost-bound`` for cost, every other kind for value), has a primitive of that family in its signature;
    ``known`` when only known findings do; ``pass`` when examples ran there; ``unsupported`` when the backend
    lacks every primitive of the family; ``untested`` when no example used the family.
    """
    cells = {(c["backend"], c["family"], c["property"]): c.get("counts") or {} for c in results["stats"]["cells"]}
    flagged = defaultdict(set)
    for f in results["findings"]:
        name = f["backend"] if f.get("mode", "vjp") == "vjp" else f"{f['backend']} ({f['mode']})"
        for family in _families_of(f.get("signature", "")):
            flagged[(name, family, _property_of(f["kind"]))].add("known" if f.get("known") else "finding")
    families = list(primitives.FAMILIES) + sorted({c[1] for c in cells} - set(primitives.FAMILIES))
    rows = []
    checked = results["settings"].get("modes", ["vjp"])
    # a row per backend and mode checked: "torch" (reverse mode) and "torch (jvp)" (forward mode)
    entries = [(b, "vjp") for b in results["backends"]] + \
        [(b, m) for m in checked if m != "vjp" for b in results["backends"] if m in (b.get("modes") or ["vjp"])]
    for b, mode in entries:
        unsupported = set(b.get("unsupported") or []) | set(b.get(f"{mode}_unsupported") or [])
        label = b["name"] if mode == "vjp" else f"{b['name']} ({mode})"
        row = {"backend": label, "cells": []}
        for family in families:
            members = set(primitives.FAMILIES.get(family, []))
            for prop in ("value", "cost"):
                counts = cells.get((label, family, prop), {})
                marks = flagged.get((label, family, prop), set())
                ran = counts.get("pass", 0) + counts.get("finding", 0)
                if b.get("error"):
                    status = "not-loaded"
                elif prop == "cost" and mode not in b.get("work_modes", b.get("modes") or ["vjp"]):
                    status = "not-measured"  # no work method in this mode: no number, never a made-up one
                elif "finding" in marks:
                    status = "finding"
                elif "known" in marks:
                    status = "known"
                elif ran:
                    status = "pass"
                elif prop == "cost" and counts.get("not-measured"):
                    status = "not-measured"  # every example there raised NotCounted: the backend could not count it
                elif counts.get("unsupported") or (members and members <= unsupported):
                    status = "unsupported"
                else:
                    status = "untested"
                detail = ", ".join(f"{n} {s}" for s, n in sorted(counts.items())) or "no examples"
                row["cells"].append({"family": family, "property": prop, "status": status, "ran": ran,
                                     "passed": counts.get("pass", 0), "title": f"{family} {prop}: {detail}"})
        rows.append(row)
    not_measured = any(c["status"] == "not-measured" for row in rows for c in row["cells"])
    return {"families": families, "rows": rows, "not_measured": not_measured}


# ---------------------------------------------------------------------- the coverage table

def coverage_table(results: dict) -> dict:
    """Primitives × backends: examples per cell, alone (one-node programs) and inside compositions.

    A cell's status is ``finding`` / ``known`` when a finding of that backend has the primitive in its minimal
    function, ``pass`` when examples ran it, ``untested`` when none did (the summary names these), and
    ``unsupported`` when the backend lacks the primitive. Backends that did not load have no column.
    """
    from .coverage import exercised, unexercised

    cells = exercised(results)
    flagged = defaultdict(set)
    for f in results["findings"]:
        for p in (f.get("signature") or "").split("+"):
            flagged[(f["backend"], p)].add("known" if f.get("known") else "finding")
    backends = [b["name"] for b in results["backends"] if not b.get("error")]
    selected = results["settings"].get("primitives")  # a focused campaign's (advalidate.selection)
    rows = []
    for family, members in primitives.FAMILIES.items():
        for p in members:
            if selected is not None and p not in selected:
                continue
            row = {"primitive": p, "family": family, "cells": []}
            for name in backends:
                c = cells[(name, p)]
                marks = flagged.get((name, p), set())
                status = {"unsupported": "unsupported", "none": "untested"}.get(c["status"], "pass")
                if status == "pass" and marks:
                    status = "finding" if "finding" in marks else "known"
                title = (f"{p} on {name}: not supported" if status == "unsupported" else
                         f"{p} on {name}: {c['alone']} example(s) alone, {c['composed']} in compositions")
                row["cells"].append(dict(c, status=status, title=title))
            rows.append(row)
    missing = unexercised(results)
    ran = [(b, p, c) for (b, p), c in cells.items() if c["status"] == "ran"]
    return {"backends": backends, "rows": rows, "unexercised": missing,
            "complete": bool(backends) and not missing,
            "never_alone": sorted({p for _, p, c in ran if not c["alone"]}),
            "never_composed": sorted({p for _, p, c in ran if not c["composed"]})}


# ---------------------------------------------------------------------- the rest of the page

def _summary(results: dict) -> dict:
    s = results["summary"]
    if s["unexpected"]:
        verdict, tone = f"{s['unexpected']} unexpected finding{'s' if s['unexpected'] != 1 else ''}", "bad"
    elif s["findings"]:
        verdict = ("the finding is a known behaviour" if s["findings"] == 1
                   else f"all {s['findings']} findings are known behaviours")
        tone = "warn"
    else:
        verdict, tone = "no findings", "good"
    return {"verdict": verdict, "tone": tone, "points": s.get("points") or {}}


def _backends(results: dict) -> list:
    per = results["stats"].get("backends") or {}
    return [dict(b, counts=per.get(b["name"], {})) for b in results["backends"]]


_JACOBIAN = ("A full Jacobian line marked measured was counted on the library's own Jacobian (JAX: the jaxpr of "
             "jax.jacrev); one marked derived is m (or N) times the measured work of f + VJP, reverse mode's m "
             "pullbacks, so its slope is the VJP's plus one by construction, not an observation.")


def _plots(results: dict) -> list:
    stats, cost = results["stats"], results.get("cost")
    omega = results["settings"].get("omega", 5)
    made = [
        ("Error against tolerance", "How far each backend's VJP is from the oracle, in units of the error "
         "model's tolerance: everything left of the dashed line passes.",
         plots.error_ratios(stats.get("error_ratios"))),
        ("Cost against output size", "work(f + VJP) / work(f) as the output size m grows: reverse mode stays "
         "flat under ω while a full Jacobian grows with m. " + _JACOBIAN if plots.m_sweep(cost) else
         "work(f + VJP) / work(f) for every example the campaign checked, against its output size m "
         "(the cost sweeps with the full-Jacobian line did not run).",
         plots.cost_vs_m(cost, stats.get("cost_ratios"), omega)),
        ("The seed problem: O(N) against O(N²)", "Work of the seed's chain as N grows, log-log: the VJP's "
         "slope should be 1, the full Jacobian's 2. " + _JACOBIAN, plots.seed_chain(cost)),
        ("Coverage per primitive", "Examples that used each primitive, per backend and status.",
         plots.coverage(stats.get("primitives"), [b["name"] for b in results["backends"]])),
    ]
    from markupsafe import Markup

    # the SVGs are written by matplotlib from numbers; its writer escapes every text (checked in plots._svg)
    return [{"title": t, "caption": c, "svg": Markup(svg) if svg else None, "missing": why}
            for t, c, (svg, why) in made]


def _cards(results: dict) -> list:
    findings = sorted(results["findings"], key=lambda f: (bool(f.get("known")), f["id"]))
    return [_card(f) for f in findings]


def _card(f: dict) -> dict:
    fn = f.get("function") or {}
    input_shapes = fn.get("inputs") or [_shape(x) for x in f["inputs"]]
    outputs = fn.get("outputs") or [f"out{j}" for j in range(len(f["cotangents"]))]
    oracle = f.get("oracle") or None
    grads = f.get("backend_grads")
    mode = f.get("mode", "vjp")
    card = {"f": f, "mode": mode, "inputs": [], "cotangents": [], "projections": None,
            "oracle_mode": oracle and oracle.get("mode"), "oracle_error": oracle.get("max_error_rel") if oracle else None,
            "tangents": [{"name": f"x{i}", "value": _array(w)} for i, w in enumerate(f.get("tangents") or [])],
            "outputs": []}
    for j, v in enumerate(f["cotangents"]):
        card["cotangents"].append({"name": outputs[j] if j < len(outputs) else f"out{j}", "value": _array(v)})
    if mode == "jvp":  # forward mode: the oracle's and the backend's J·w per output
        for k, name in enumerate(outputs):
            row = {"name": name, "oracle": None, "oracle_error": None, "backend": None, "error": None,
                   "tolerance": None}
            if oracle is not None and k < len(oracle.get("tangents") or []):
                row["oracle"] = _array(oracle["tangents"][k])
                row["oracle_error"] = _array(oracle["errors"][k], 2)
            if grads is not None and k < len(grads):
                row["backend"] = _array(grads[k])
            if f.get("errors") and k < len(f["errors"]):
                row["error"] = _array(f["errors"][k], 3)
                row["tolerance"] = _array(f["tolerance"][k], 3)
            card["outputs"].append(row)
    full = oracle is not None and oracle.get("mode") in ("full", "hvp")  # per input: Jᵀv, or second order's H_v·u
    key = "hvps" if mode == "hvp" else "grads"
    for i, x in enumerate(f["inputs"]):
        row = {"name": f"x{i}", "shape": input_shapes[i] if i < len(input_shapes) else _shape(x), "value": _array(x),
               "oracle": None, "oracle_error": None, "backend": None, "error": None, "tolerance": None}
        if full:
            row["oracle"] = _array(oracle[key][i])
            row["oracle_error"] = _array(oracle["errors"][i], 2)
        if grads is not None and i < len(grads):
            row["backend"] = _array(grads[i])
        if full and f.get("errors") and i < len(f["errors"]):
            row["error"] = _array(f["errors"][i], 3)
            row["tolerance"] = _array(f["tolerance"][i], 3)
        card["inputs"].append(row)
    if oracle is not None and oracle.get("mode") == "projected":
        card["projections"] = _projections(f, oracle, grads)
    worst = f.get("worst")
    if worst is not None:
        letter = "y" if mode == "jvp" else "x"
        where = f"{letter}{f['worst_input']}{list(worst)}" if f.get("worst_input") is not None else \
            f"direction {worst[0]}"
        card["worst"] = where
    else:
        card["worst"] = None
    work = f.get("work")
    card["work_ratio"] = (work["vjp"] / work["forward"]) if work and work.get("forward") else None
    return card


def _projections(f, oracle, grads) -> list:
    """Projected mode: per direction u_k, the oracle's <v, J u_k> ± its error and the backend's <g, u_k>."""
    rows = []
    errors = (f.get("errors") or [[]])[0]
    tols = (f.get("tolerance") or [[]])[0]
    for k, ws in enumerate(oracle.get("directions") or []):
        backend = None
        if grads is not None:
            backend = sum(float(np.sum(decode_array(g) * decode_array(w))) for g, w in zip(grads, ws))
        rows.append({"k": k, "oracle": oracle["projections"][k], "oracle_error": oracle["projection_errors"][k],
                     "backend": backend, "error": errors[k] if k < len(errors) else None,
                     "tolerance": tols[k] if k < len(tols) else None})
    return rows
