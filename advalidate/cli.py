"""The ``advalidate`` command line: ``advalidate <command> [options]``.

Each command is a module in :mod:`advalidate.commands` with ``HELP`` (one line), ``add_arguments(parser)``
and ``run(args) -> int`` (the exit status). Adding a command is adding a module and one line to ``COMMANDS``.
Usage errors exit with status 2.
"""

from __future__ import annotations

import argparse
import importlib
import sys

__all__ = ["COMMANDS", "build_parser", "main"]

COMMANDS = {
    "backends": "advalidate.commands.backends",
}


def build_parser() -> argparse.ArgumentParser:
    """The parser with one sub-parser per command (command modules are imported here)."""
    from . import __version__

    parser = argparse.ArgumentParser(prog="advalidate", description="Property-based verification of automatic "
                                     "differentiation: VJPs against a high-precision oracle, and the cost of "
                                     "reverse mode.")
    parser.add_argument("--version", action="version", version=f"advalidate {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, module_name in COMMANDS.items():
        module = importlib.import_module(module_name)
        command = sub.add_parser(name, help=module.HELP, description=module.__doc__)
        module.add_arguments(command)
        command.set_defaults(_run=module.run)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run one command; returns its exit status (argparse exits with 2 on a usage error)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_usage(sys.stderr)
        print("advalidate: error: a command is required (one of: " + ", ".join(COMMANDS) + ")", file=sys.stderr)
        return 2
    return args._run(args)


if __name__ == "__main__":
    sys.exit(main())
