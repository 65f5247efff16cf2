"""The ``advalidate`` command line: ``advalidate <command> [options]``.

Each command is a module with ``add_parser(subparsers)``, which adds its sub-parser and sets ``func`` (called
with the parsed arguments, returning the exit status). Adding a command is adding a module and one line to
``COMMANDS``. Usage errors exit with status 2.
"""

from __future__ import annotations

import argparse
import importlib
import sys

__all__ = ["COMMANDS", "build_parser", "main"]

COMMANDS = {
    "backends": "advalidate.cli_backends",
    "run": "advalidate.cli_run",
    "report": "advalidate.cli_report",
    "replay": "advalidate.cli_replay",
    "known": "advalidate.cli_known",
    "primitives": "advalidate.cli_primitives",
}


def build_parser() -> argparse.ArgumentParser:
    """The parser with one sub-parser per command (command modules are imported here, not jax or torch)."""
    from . import __version__

    parser = argparse.ArgumentParser(prog="advalidate", description="Property-based verification of automatic "
                                     "differentiation: VJPs against a high-precision oracle, and the cost of "
                                     "reverse mode.")
    parser.add_argument("--version", action="version", version=f"advalidate {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module_name in COMMANDS.values():
        importlib.import_module(module_name).add_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run one command; returns its exit status (argparse exits with 2 on a usage error)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_usage(sys.stderr)
        print("advalidate: error: a command is required (one of: " + ", ".join(COMMANDS) + ")", file=sys.stderr)
        return 2
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
