"""One page from several runs: results.json files of a CI matrix or of several machines, side by side.

Unlike the shard merge of ``--workers`` (:mod:`advalidate.merge`, which sums the parts of one run), every run here
keeps its own settings, environment, statistics and findings. The page shows

- the runs: what differs between them (highlighted, one column per run), what they share (said once), and each
  run's outcome;
- the backend × family matrix of :func:`advalidate.report.matrix`, a row per run under each backend, with the
  cells whose status changes from one run to another marked;
- the findings grouped by (backend, kind, signature): one row per finding, present or absent in each run;
- each run's own details: its settings and environment, its backends and its findings (minimal function, replay
  command), and a link to its full single-run page when one was written beside this page.

Rendering is pure (jinja2 with autoescaping, ``templates/runs.html.j2``, the single-run page's CSS); the page
has no script, and its Content-Security-Policy allows none.
"""

from __future__ import annotations

import shlex
from collections import Counter
from pathlib import Path

from . import __version__
from .report import (FINDING_DEFAULTS, REQUIRED, STATS_DEFAULTS, STATUS_MARK, STATUS_SHORT, STATUS_TEXT,
                     _environment, _summary, matrix, render_report)

__all__ = ["Run", "runs_from", "label_runs", "attributes", "compare", "run_matrix", "grouped_findings", "render_runs",
           "write_runs"]

NOT_RUN = "not-run"  # the backend was not selected in that run: a status of this page's matrix only
RUN_STATUS_TEXT = {**STATUS_TEXT, NOT_RUN: "not in this run"}
RUN_STATUS_SHORT = {**STATUS_SHORT, NOT_RUN: ""}
RUN_STATUS_MARK = {**STATUS_MARK, NOT_RUN: "–"}
MAX_LABEL_PARTS = 4


class Run:
    """One run on the page: its results, where they came from, its label (given or derived) and its anchor."""

    def __init__(self, results: dict, source: str = "", label: str | None = None):
        missing = [k for k in REQUIRED if k not in results]
        if missing:
            raise ValueError(f"{source or 'a run'}: not an advalidate results dict: missing {', '.join(missing)}")
        self.results = dict(results, stats={**STATS_DEFAULTS, **results["stats"]},
                            findings=[{**FINDING_DEFAULTS, **f} for f in results["findings"]])
        self.source = str(source)
        self.label = label
        self.anchor = ""
        self.page = None  # the run's single-run page, relative to the multi-run page, when one was written
        self.summary = _summary(self.results)
        per = self.results["stats"].get("backends") or {}
        self.backends = [dict(b, counts=per.get(b["name"], {})) for b in self.results["backends"]]
        self.cards = [{"f": f, "replay": _replay(self, f)}
                      for f in sorted(self.results["findings"], key=lambda f: (bool(f.get("known")), f["id"]))]


def runs_from(results: list[dict], sources: list[str] | None = None, labels: list[str] | None = None) -> list[Run]:
    """``Run``s of ``results`` (dicts of results.json), labelled by ``labels`` or from what differs between them."""
    sources = list(sources) if sources is not None else [""] * len(results)
    if len(sources) != len(results):
        raise ValueError(f"{len(results)} results but {len(sources)} sources")
    if labels is not None:
        labels = [str(x).strip() for x in labels]
        if len(labels) != len(results):
            raise ValueError(f"{len(labels)} label{'s' if len(labels) != 1 else ''} for {len(results)} runs: "
                             f"give one --label per results file, in the same order")
        if any(not x for x in labels):
            raise ValueError("a run label is empty")
        twice = sorted(x for x, n in Counter(labels).items() if n > 1)
        if twice:
            raise ValueError(f"run labels must differ: {', '.join(repr(x) for x in twice)} given twice")
    runs = [Run(r, s, labels[i] if labels else None) for i, (r, s) in enumerate(zip(results, sources))]
    if labels is None:
        label_runs(runs)
    _anchor(runs)
    return runs


def _anchor(runs: list[Run]) -> None:
    for i, run in enumerate(runs, 1):
        run.anchor = run.anchor or f"run{i}"


# ---------------------------------------------------------------------- what the runs are


def _text(value) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, (list, tuple)):
        return ", ".join(str(v) for v in value)
    if value is None:
        return "–"
    return str(value)


def _backend_version(b: dict) -> str:
    if b.get("error"):
        first = str(b["error"]).strip().splitlines()
        return f"did not load ({first[0] if first else 'error'})"
    return b.get("version") or "?"


def attributes(results: dict) -> dict:
    """What describes a run (not what it found), as ``{key: text}``: its settings, each backend's version and its
    environment. Keys missing from a run read as absent when the runs are compared."""
    out = {}
    for k, v in results["settings"].items():
        out[f"setting: {k}"] = _text(v)
    for b in results["backends"]:
        out[f"backend: {b['name']}"] = _backend_version(b)
    for k, v in results["environment"].items():
        out[f"environment: {k}"] = _text(v)
    shards = (results.get("progress") or {}).get("shards")
    if shards:
        out["setting: shard seeds"] = _text([s["seed"] for s in shards])
    return out


def compare(runs: list[Run]) -> dict:
    """The attributes of ``runs`` split into those that differ (a value per run, ``None`` where a run lacks it) and
    those common to all, each in the order of first appearance (settings, backends, environment)."""
    per_run = [attributes(r.results) for r in runs]
    keys = list(dict.fromkeys(k for a in per_run for k in a))
    differ, common = [], []
    for k in keys:
        values = [a.get(k) for a in per_run]
        if len(set(values)) > 1:
            differ.append({"key": k, "cells": values})
        else:
            common.append({"key": k, "value": values[0]})
    return {"differ": differ, "common": common}


_LABEL_ORDER = ("backend: ", "setting: backends", "setting: dtype", "setting: special", "setting: seed",
                "environment: platform", "environment: python", "environment: numpy", "environment: advalidate",
                "setting: max_examples")
ALWAYS = ("backend: ", "setting: dtype")  # the axes of a CI matrix: named whenever they differ


def _platform(text: str) -> str:
    """A short platform name: 'Linux x86_64' from 'Linux-6.1.0-x86_64-with-glibc2.36'."""
    parts = text.split("-")
    arch = next((p for p in parts if p in ("x86_64", "AMD64", "arm64", "aarch64", "i386", "i686", "ppc64le",
                                           "s390x")), "")
    return f"{parts[0]} {arch}".strip()


def _label_part(key: str, value) -> str:
    if value is None:  # a backend or an entry this run lacks: said by the others' labels
        return ""
    name = key.split(": ", 1)[1]
    if key.startswith("backend: "):
        return f"{name} {value}" if not value.startswith("did not load") else f"{name} did not load"
    if key == "setting: dtype":
        return value
    if key == "setting: special":
        return "special points" if value == "yes" else "regular points"
    if key == "setting: seed":
        return f"seed {value}"
    if key == "setting: max_examples":
        return f"{value} examples"
    if key == "setting: backends":
        return value.replace(", ", "+")
    if key == "environment: platform":
        return _platform(value)
    if key == "environment: python":
        return f"python {value}"
    return f"{name} {value}"


def _rank(key: str) -> int:
    for i, prefix in enumerate(_LABEL_ORDER):
        if key == prefix or (prefix.endswith(" ") and key.startswith(prefix)):
            return i
    return len(_LABEL_ORDER)


def label_runs(runs: list[Run]) -> None:
    """Give each unlabelled run a short label from what differs between the runs ("jax 0.4.30 · float32").

    A backend's version and the dtype are named whenever they differ (a backend present in some runs only is told
    by the list of backends); the other differences (backends, points, seed, platform, versions of Python, numpy,
    advalidate, budget) in that order, each only while it tells apart runs that the label does not yet; the folder
    of the results file (or "run N") when nothing differs."""
    differ = sorted(compare(runs)["differ"], key=lambda d: _rank(d["key"]))
    chosen, groups = [], [list(range(len(runs)))]
    for d in differ:
        values = d["cells"]
        if d["key"].startswith("backend: "):
            if len({v for v in values if v is not None}) < 2:
                continue  # the same version wherever the backend ran
        elif not d["key"].startswith(ALWAYS):
            if not any(len({values[i] for i in g}) > 1 for g in groups):
                continue
        chosen.append(d)
        groups = [[i for i in g if values[i] == v] for g in groups for v in dict.fromkeys(values[i] for i in g)]
    labels = []
    for i in range(len(runs)):
        parts = [p for p in dict.fromkeys(_label_part(d["key"], d["cells"][i]) for d in chosen) if p]
        labels.append(" · ".join(parts[:MAX_LABEL_PARTS]))
    if any(not x for x in labels) or len(set(labels)) < len(labels):
        folders = [Path(r.source).parent.name or Path(r.source).stem for r in runs]
        if all(folders) and len(set(folders)) == len(folders):
            labels = [f"{x} · {f}" if x else f for x, f in zip(labels, folders)]
        else:
            labels = [f"run {i} · {x}" if x else f"run {i}" for i, x in enumerate(labels, 1)]
    for run, label in zip(runs, labels):
        if run.label is None:
            run.label = label


# ---------------------------------------------------------------------- the matrix and the findings


def run_matrix(runs: list[Run]) -> dict:
    """Per backend (in order of first appearance), a row per run of the single-run matrix's cells; a cell is
    ``differs`` when its status is not the same in every run that has the backend."""
    single = [matrix(r.results) for r in runs]
    families = list(dict.fromkeys(f for m in single for f in m["families"]))
    backends = list(dict.fromkeys(row["backend"] for m in single for row in m["rows"]))
    groups = []
    for name in backends:
        rows = []
        for run, m in zip(runs, single):
            row = next((row for row in m["rows"] if row["backend"] == name), None)
            cells = {(c["family"], c["property"]): c for c in row["cells"]} if row else {}
            absent = {"status": NOT_RUN, "ran": 0, "passed": 0}
            rows.append({"run": run, "present": row is not None,
                         "cells": [dict(cells.get((f, p)) or dict(absent, family=f, property=p,
                                                                  title=f"{f} {p}: {name} not in this run"))
                                   for f in families for p in ("value", "cost")]})
        for j in range(len(families) * 2):
            seen = {row["cells"][j]["status"] for row in rows if row["present"]}
            for row in rows:
                row["cells"][j]["differs"] = len(seen) > 1 and row["present"]
        groups.append({"backend": name, "rows": rows, "differs": any(c["differs"] for r in rows for c in r["cells"])})
    return {"families": families, "groups": groups}


def finding_key(f: dict) -> tuple:
    return f["backend"], f["kind"], f.get("signature", "")


def grouped_findings(runs: list[Run]) -> list[dict]:
    """One row per (backend, kind, signature) over all runs, with each run's finding (or ``None``: absent, or the
    backend was not in that run). Rows unexpected somewhere come first, then those not present in every run."""
    rows = {}
    for i, run in enumerate(runs):
        for f in run.results["findings"]:
            row = rows.setdefault(finding_key(f), {"key": finding_key(f), "cells": [None] * len(runs)})
            if row["cells"][i] is None:  # a run holds one finding per key; a second would be the same
                row["cells"][i] = f
    out = []
    for (backend, kind, signature), row in rows.items():
        cells = []
        for run, f in zip(runs, row["cells"]):
            ran = any(b["name"] == backend and not b.get("error") for b in run.results["backends"])
            if f is not None:
                cells.append({"state": "known" if f.get("known") else "unexpected", "f": f,
                              "href": f"#{run.anchor}-{f['id']}"})
            else:
                cells.append({"state": "absent" if ran else NOT_RUN, "f": None, "href": None})
        present = sum(c["f"] is not None for c in cells)
        out.append({"backend": backend, "kind": kind, "signature": signature, "cells": cells,
                    "unexpected": any(c["state"] == "unexpected" for c in cells), "present": present,
                    "everywhere": present == len(runs)})
    out.sort(key=lambda r: (not r["unexpected"], r["everywhere"], r["backend"], r["kind"], r["signature"]))
    return out


def _replay(run: Run, f: dict) -> str:
    """The replay command of ``f``, pointed at the file this run was read from."""
    if run.source:
        return f"advalidate replay {shlex.quote(run.source)} --id {f['id']}"
    return f.get("replay") or ""


# ---------------------------------------------------------------------- rendering


def render_runs(runs: list[Run]) -> str:
    """The page of several runs as one HTML document."""
    if len(runs) < 2:
        raise ValueError("a page of several runs needs at least two; render one run with advalidate.report")
    _anchor(runs)
    if any(run.label is None for run in runs):
        label_runs(runs)
    env = _environment()
    cmp = compare(runs)
    findings = grouped_findings(runs)
    unexpected = sum(r.results["summary"]["unexpected"] for r in runs)
    title = (f"{len(runs)} runs: " + (f"{unexpected} unexpected finding{'s' if unexpected != 1 else ''}" if unexpected
                                      else "no unexpected findings"))
    return env.get_template("runs.html.j2").render(
        runs=runs, differ=cmp["differ"], common=cmp["common"], matrix=run_matrix(runs), findings=findings,
        title=title, version=__version__, status_text=RUN_STATUS_TEXT, status_short=RUN_STATUS_SHORT,
        status_mark=RUN_STATUS_MARK, in_all=sum(r["everywhere"] for r in findings))


def write_runs(runs: list[Run], path, pages: bool = True) -> Path:
    """Write the page of ``runs`` to ``path``; with ``pages``, each run's single-run page too, in the folder
    ``<page name>-pages/run<N>.html`` beside it (linked from the run's details). Returns the page's path."""
    path = Path(path)
    _anchor(runs)
    folder = path.with_name(f"{path.stem}-pages")
    # named by position, not label: rendering again (other labels, the same runs) replaces the pages
    singles = [(folder / f"{run.anchor}.html", render_report(run.results)) for run in runs if pages]
    for run, (page, _) in zip(runs, singles):
        run.page = f"{folder.name}/{page.name}"
    html = render_runs(runs)
    path.parent.mkdir(parents=True, exist_ok=True)
    if singles:
        folder.mkdir(exist_ok=True)
    for page, text in singles:
        page.write_text(text, encoding="utf-8")
    path.write_text(html, encoding="utf-8")
    return path
