"""``advalidate report``: render a results.json into the self-contained HTML report."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

__all__ = ["add_parser", "main"]


def add_parser(sub) -> argparse.ArgumentParser:
    p = sub.add_parser("report", help="render results.json as a self-contained HTML page",
                       description="Render the HTML conformance report from a results.json written by "
                                   "`advalidate run` (or the pytest plugin). Exit 0 on success, 2 when the "
                                   "input is missing or is not a results file.")
    p.add_argument("results", metavar="RESULTS_JSON", help="the results.json to render")
    p.add_argument("-o", "--output", default=None, metavar="HTML",
                   help="where to write the page (default: index.html next to the results file)")
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


def main(args) -> int:
    from .report import write_report
    from .results import load

    source = Path(args.results)
    output = Path(args.output) if args.output else source.with_name("index.html")
    try:
        data = load(source)
        _check_schema(data, source)
        path = write_report(data, output)
    except (FileNotFoundError, ValueError, IsADirectoryError, PermissionError) as e:
        print(f"advalidate report: {e}", file=sys.stderr)
        return 2
    print(f"report: {path}")
    return 0
