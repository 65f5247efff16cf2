"""Known-behaviour files: check ids a backend is known to fail, each with a comment saying what and the evidence.

One entry per line, ``<check id>  # <what it is: kind, oracle value vs backend value>``; ``#`` lines are
comments. An entry without its comment is refused: a known failure must say why it is accepted.
"""

from __future__ import annotations

import pathlib

__all__ = ["KNOWN_DIR", "parse", "load_known", "known_path"]

KNOWN_DIR = pathlib.Path(__file__).with_name("known")


def parse(text: str, source: str = "<known>") -> dict[str, str]:
    """``{check id: comment}`` from the text of a known-behaviour file; ValueError naming a bad line."""
    entries = {}
    for number, line in enumerate(text.splitlines(), 1):
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        check_id, sep, comment = stripped.partition("#")
        check_id, comment = check_id.strip(), comment.strip()
        if not sep or not comment:
            raise ValueError(f"{source}:{number}: {check_id!r} needs a comment saying what it is and the evidence")
        if " " in check_id:
            raise ValueError(f"{source}:{number}: {check_id!r} is not one check id")
        entries[check_id] = comment
    return entries


def known_path(backend) -> pathlib.Path | None:
    """The backend's own file (attribute ``known_behaviour``), else advalidate's file for a built-in, else None."""
    own = getattr(backend, "known_behaviour", None)
    if own:
        return pathlib.Path(own)
    path = KNOWN_DIR / f"{backend.name}.txt"
    return path if path.exists() else None


def load_known(backend, path=None) -> dict[str, str]:
    """The known-behaviour entries for ``backend`` (from ``path`` when given)."""
    path = pathlib.Path(path) if path is not None else known_path(backend)
    if path is None:
        return {}
    return parse(path.read_text(), str(path))
