"""``advalidate report``: render a results.json into the self-contained HTML report, or several (the runs of a CI
matrix, of several machines) into one page that shows them side by side."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

__all__ = ["add_parser", "main", "RUNS_DEFAULT"]

RUNS_DEFAULT = Path("reports") / "runs.html"


def add_parser(sub) -> argparse.ArgumentParser:
    p = sub.add_parser("report", help="render results.json as a self-contained HTML page (several: one page of runs)",
                       description="Render the HTML conformance report from a results.json written by "
                                   "`advalidate run` (or the pytest plugin). Given several results files (the runs "
                                   "of a CI matrix, or of several machines), render one page with the runs side by "
                                   "side: what differs between them, the matrix and the findings run by run; each "
                                   "run's own page is written beside it, in <page name>-pages/. Exit 0 on success, 2 "
                                   "when an input is missing or is not a results file.")
    p.add_argument("results", metavar="RESULTS_JSON", nargs="+", help="the results.json to render (one or more)")
    p.add_argument("-o", "--output", default=None, metavar="HTML",
                   help="where to write the page (default: index.html next to the results file; with several "
                        f"results files, {RUNS_DEFAULT} in the current directory)")
    p.add_argument("--label", action="append", default=None, metavar="NAME",
                   help="name of a run on the page of several runs, once per results file in the same order "
                        "(default: a label made of what differs between the runs, such as 'jax 0.4.30 · float32')")
    p.set_defaults(func=main)
    return p


def _check_schema(data: dict, path) -> None:
    try:
        from jsonschema import ValidationError
    except ImportError:  # jsonschema is a test extra; render_report still checks the top-level keys
        return
    from .results import validate

    try:
        validate(data)
    except ValidationError as e:
        where = "/".join(str(p) for p in e.absolute_path) or "the top level"
        raise ValueError(f"{path} does not follow the results schema at {where}: {e.message}") from None


def _load(source: Path) -> dict:
    from .results import load

    data = load(source)
    _check_schema(data, source)
    return data


def _one(args) -> Path:
    from .report import write_report

    if args.label:
        raise ValueError("--label names the runs of a page of several results files; one was given")
    source = Path(args.results[0])
    output = Path(args.output) if args.output else source.with_name("index.html")
    return write_report(_load(source), output)


def _several(args) -> Path:
    from .report_runs import runs_from, write_runs

    if args.label is not None and len(args.label) != len(args.results):
        raise ValueError(f"{len(args.label)} --label for {len(args.results)} results files: give one per file, "
                         "in the same order")
    data = []
    for name in args.results:
        try:
            data.append(_load(Path(name)))
        except (IsADirectoryError, PermissionError) as e:
            raise ValueError(f"{name}: {e.strerror or e}") from None
    runs = runs_from(data, sources=list(args.results), labels=args.label)
    return write_runs(runs, Path(args.output) if args.output else RUNS_DEFAULT)


def main(args) -> int:
    try:
        path = _one(args) if len(args.results) == 1 else _several(args)
    except (FileNotFoundError, ValueError, IsADirectoryError, PermissionError) as e:
        print(f"advalidate report: {e}", file=sys.stderr)
        return 2
    print(f"report: {path}")
    return 0
