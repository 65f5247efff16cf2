"""``advalidate known``: draft known-behaviour entries from findings of a results.json (:mod:`advalidate.known_draft`)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

__all__ = ["add_parser", "main"]


def add_parser(sub) -> argparse.ArgumentParser:
    p = sub.add_parser("known", help="draft known-behaviour entries from findings of results.json",
                       description="Write a finding as a known-behaviour entry (advalidate/known.py's format): its "
                                   "minimal example (function, inputs, cotangents, tangents), its mode and dtype, and "
                                   "its evidence (the oracle's and the library's values, or the work ratio, and the "
                                   "library's version), read back and checked to match the finding. The header names "
                                   "the finding's exact signature and the comment defaults to its message: say in "
                                   "words why the library does this, and widen the pattern if it is broader. Exit 2 "
                                   "when the file or an id is missing or an entry cannot be drafted.")
    p.add_argument("results", metavar="RESULTS_JSON", help="the results.json written by `advalidate run`")
    which = p.add_mutually_exclusive_group(required=True)
    which.add_argument("--id", action="append", metavar="FINDING", help="a finding's id (repeatable)")
    which.add_argument("--unexpected", action="store_true", help="every finding no known behaviour explains")
    p.add_argument("--comment", metavar="TEXT", help="the evidence in words, written above the entry")
    p.add_argument("--issue", metavar="URL", help="a public report of the behaviour")
    p.add_argument("--pattern", metavar="PATTERN", help="the header's pattern instead of the exact signature "
                                                        "(e.g. '*softplus*'); it must still match the finding")
    p.add_argument("--append", metavar="DIR", type=Path,
                   help="append each entry to DIR/<backend>.txt (created if missing) instead of printing it: the "
                        "folder a plug-in ships as <package>/known/, or one for `advalidate run --known-dir DIR`")
    p.set_defaults(func=main)
    return p


def _fail(message: str) -> int:
    print(f"advalidate known: {message}", file=sys.stderr)
    return 2


def main(args) -> int:
    from .known_draft import DraftError, draft
    from .replay import find_finding
    from .results import load

    try:
        data = load(args.results)
        findings = ([find_finding(data, i, args.results) for i in args.id] if args.id else
                    [f for f in data["findings"] if not f["known"]])
    except (FileNotFoundError, IsADirectoryError, PermissionError, ValueError) as e:
        return _fail(str(e))
    except KeyError as e:
        return _fail(e.args[0])
    if not findings:
        print(f"advalidate known: no unexpected finding in {args.results}", file=sys.stderr)
        return 0
    drafts = []
    for f in findings:
        try:
            drafts.append((f, draft(f, data, args.comment, args.issue or "", args.pattern)))
        except DraftError as e:
            return _fail(str(e))
    if args.append is None:
        sys.stdout.write("\n".join(text for _, text in drafts))
        return 0
    args.append.mkdir(parents=True, exist_ok=True)
    for f, text in drafts:
        path = args.append / f"{f['backend']}.txt"
        before = path.read_text() if path.exists() else ""
        with path.open("a") as out:
            out.write(("\n" if before and not before.endswith("\n\n") else "") + text)
        print(f"{f['id']} {f['backend']}: {f['kind']} on {f['signature']} -> {path}", file=sys.stderr)
    return 0
