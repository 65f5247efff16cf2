"""``advalidate primitives``: every registered primitive, its family, and which backends support it.

A backend supports a primitive when the primitive is among the backend's ``primitives`` (the contract's mapping,
:mod:`advalidate.backends.contract`): for a dialect backend, when its dialect has a template for it and the backend
does not declare it unsupported. That is what a campaign and the conformance checks read to skip a program as
"not supported", so the table says what a run does. Each installed backend is loaded as ``advalidate run`` loads
it (built-ins, then the ``advalidate.backends`` entry points); a backend that is not installed or failed to load
is left out of the table, with a note on stderr saying why.

``--markdown`` prints the table as Markdown between two marker comments; ``--write FILE`` replaces the block
between those markers in FILE (the README's "Primitives" section: ``advalidate primitives --write README.md``
regenerates it).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from . import primitives

__all__ = ["add_parser", "main", "table", "markdown", "text", "replace_block", "BEGIN", "END", "REGENERATE"]

REGENERATE = "advalidate primitives --write README.md"
BEGIN = f"<!-- primitives table: generated from the registrations by `{REGENERATE}`; do not edit by hand -->"
END = "<!-- end of the primitives table -->"
YES, NO = "✓", "—"


def add_parser(sub) -> argparse.ArgumentParser:
    p = sub.add_parser("primitives", help="list the registered primitives and which backends support each",
                       description="List every registered primitive with its family and, per installed backend, "
                                   "whether the backend supports it (the primitive is in the backend's "
                                   "'primitives': it has an implementation, such as a dialect template). A backend "
                                   "that is not installed or fails to load is left out, with a note on stderr.")
    p.add_argument("--markdown", action="store_true", help="print the table as Markdown, between marker comments")
    p.add_argument("--write", metavar="FILE", default=None,
                   help="replace the Markdown table between the marker comments in FILE (the README: "
                        f"`{REGENERATE}`); exit 2 when FILE has no markers")
    p.add_argument("--backend", action="append", default=None, metavar="NAME",
                   help="only these backends (repeatable; default: every known backend)")
    p.set_defaults(func=main)
    return p


def _ordered() -> list[str]:
    """Every registered primitive, by family (families in the order they were first registered), then in
    registration order."""
    return [name for names in primitives.FAMILIES.values() for name in names]


def table(names=None) -> tuple[list[str], list[tuple], dict[str, str]]:
    """(backend names, rows, notes): one row ``(primitive, family, supported by each backend...)`` per registered
    primitive; ``notes``: backend -> why it is left out (not installed, failed to load)."""
    from .backends.registry import check_names, default_registry

    registry = default_registry()
    backends, notes = [], {}
    for name in check_names(names):
        entry = registry.load(name)
        if entry.error is None:
            backends.append(entry.backend)
        else:
            notes[name] = entry.error
    rows = []
    for prim in _ordered():
        family = primitives.get(prim).family
        rows.append((prim, family, *(prim in b.primitives for b in backends)))
    return [b.name for b in backends], rows, notes


def markdown(backends: list[str], rows: list[tuple]) -> str:
    """The table in Markdown, between the :data:`BEGIN` and :data:`END` markers, with a count row at the end."""
    lines = [BEGIN, "", "| primitive | family | " + " | ".join(backends) + " |",
             "| --- | --- |" + " :---: |" * len(backends)]
    for prim, family, *supported in rows:
        lines.append(f"| `{prim}` | {family} | " + " | ".join(YES if s else NO for s in supported) + " |")
    counts = [sum(row[2 + i] for row in rows) for i in range(len(backends))]
    lines.append(f"| **{len(rows)} primitives** | | " + " | ".join(str(c) for c in counts) + " |")
    lines += ["", END]
    return "\n".join(lines) + "\n"


def text(backends: list[str], rows: list[tuple]) -> str:
    """The table as aligned plain text."""
    header = ("primitive", "family", *backends)
    cells = [header] + [(p, f, *(YES if s else NO for s in supported)) for p, f, *supported in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(header))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in cells]
    counts = [sum(row[2 + i] for row in rows) for i in range(len(backends))]
    lines.append(f"{len(rows)} primitives; supported: "
                 + ", ".join(f"{b} {c}" for b, c in zip(backends, counts)))
    return "\n".join(lines) + "\n"


def replace_block(document: str, block: str) -> str:
    """``document`` with the text from its :data:`BEGIN` marker line to its :data:`END` marker line replaced by
    ``block`` (which holds both markers); ValueError when the markers are missing or out of order."""
    start, end = document.find(BEGIN), document.find(END)
    if start < 0 or end < start:
        raise ValueError(f"no primitives table markers: the file needs a line {BEGIN!r} and, after it, {END!r}")
    return document[:start] + block.rstrip("\n") + document[end + len(END):]


def main(args, out=None, err=None) -> int:
    out, err = out or sys.stdout, err or sys.stderr
    try:
        backends, rows, notes = table(args.backend)
    except LookupError as e:
        print(f"advalidate primitives: {e}", file=err)
        return 2
    for name, why in notes.items():
        print(f"advalidate primitives: {name} left out of the table: {why}", file=err)
    if args.write:
        path = Path(args.write)
        try:
            old = path.read_text(encoding="utf-8")
            new = replace_block(old, markdown(backends, rows))
        except (OSError, ValueError) as e:
            print(f"advalidate primitives: {path}: {e}", file=err)
            return 2
        if new != old:
            path.write_text(new, encoding="utf-8")
        out.write(f"{'updated' if new != old else 'up to date'}: {path} ({len(rows)} primitives × "
                  f"{len(backends)} backends)\n")
        return 0
    out.write(markdown(backends, rows) if args.markdown else text(backends, rows))
    return 0
