"""``advalidate backends``: the backends advalidate finds, their version, dtypes and primitives, and why any failed."""

from __future__ import annotations

import argparse
import json
import sys

from . import primitives
from .backends.contract import hvp_methods_of, modes_of
from .backends.registry import DISABLE_ENV, Registry, default_registry

__all__ = ["add_parser", "main", "describe"]


def add_parser(sub) -> argparse.ArgumentParser:
    p = sub.add_parser("backends", help="list discovered backends (version, dtypes, primitives) and load failures",
                       description="List the built-in backends and those found through the 'advalidate.backends' "
                                   f"entry point ({DISABLE_ENV}=1 turns plug-in discovery off): version, dtypes, "
                                   "supported primitives; for a backend whose library is not installed, the command "
                                   "that installs it; for any other that failed to load, the reason.")
    p.add_argument("--json", action="store_true", help="print the table as JSON")
    p.add_argument("--strict", action="store_true",
                   help="exit with status 1 if any backend failed to load (one whose library is not installed, "
                        "such as jax without advalidate[jax], is listed as 'not installed' and is no failure)")
    p.set_defaults(func=main)
    return p


def describe(registry: Registry) -> list[dict]:
    """One record per known backend (loading each one; a failure is a record, not an exception)."""
    records = []
    for entry in registry.load_all():
        record = {"name": entry.name, "source": entry.source,
                  "target": entry.target if isinstance(entry.target, str) else repr(entry.target),
                  "ok": entry.ok, "status": _status(entry), "error": entry.error, "install": entry.install}
        if entry.ok:
            b = entry.backend
            supported = [p for p in primitives.CATALOGUE if p in b.primitives]
            modes = list(modes_of(b))
            table = getattr(b, "jvp_primitives", None) if "jvp" in modes else None
            table = b.primitives if table is None else table
            record.update(version=b.version, dtypes=list(b.dtypes), primitives=len(supported),
                          catalogue=len(primitives.CATALOGUE),
                          missing=[p for p in primitives.CATALOGUE if p not in b.primitives], modes=modes,
                          jvp_missing=[p for p in supported if p not in table] if "jvp" in modes else [],
                          hvp_methods=list(hvp_methods_of(b)),
                          hvp_missing=[p for p in supported if p not in (getattr(b, "hvp_primitives", None)
                                                                          or b.primitives)] if "hvp" in modes else [])
        records.append(record)
    return records


def _status(entry) -> str:
    return "ok" if entry.ok else "not installed" if entry.not_installed else "failed"


def format_table(records: list[dict], plugins_enabled: bool) -> str:
    lines = []
    width = 10
    for r in records:
        if r["ok"]:
            missing = f"  (not supported: {', '.join(r['missing'])})" if r["missing"] else ""
            modes = f"  modes {','.join(r['modes'])}" + (f" (no jvp for: {', '.join(r['jvp_missing'])})"
                                                         if r["jvp_missing"] else "")
            if r.get("hvp_methods"):
                modes += f" (hvp: {', '.join(r['hvp_methods'])}" + (
                    f"; no hvp for: {', '.join(r['hvp_missing'])})" if r["hvp_missing"] else ")")
            lines.append(f"{r['name']:<{width}} ok      {r['version']:<14} {','.join(r['dtypes']):<16} "
                         f"{r['primitives']}/{r['catalogue']} primitives{missing}{modes}  [{r['source']}]")
        elif r["install"]:
            lines.append(f"{r['name']:<{width}} not installed: {r['install']}  [{r['source']}]")
        else:
            lines.append(f"{r['name']:<{width}} FAILED  [{r['source']}: {r['target']}]\n"
                         f"{'':<{width}} reason: {r['error']}")
    if not plugins_enabled:
        lines.append(f"(plug-in discovery is off: {DISABLE_ENV} is set)")
    return "\n".join(lines)


def main(args, registry: Registry | None = None, out=None) -> int:
    registry = registry or default_registry()
    out = out or sys.stdout
    records = describe(registry)
    if args.json:
        json.dump({"plugins_enabled": registry.plugins_enabled, "backends": records}, out, indent=2)
        out.write("\n")
    else:
        out.write(format_table(records, registry.plugins_enabled) + "\n")
    return 1 if args.strict and any(r["status"] == "failed" for r in records) else 0
