"""Known behaviours: findings that are real, documented discrepancies of a library.

One plain-text file per backend, ``<name>.txt`` (in ``advalidate/known/`` or a folder given by the user),
one finding signature per line: ``<kind> <primitive signature>``, where the primitive signature is the
``+``-joined sorted primitives of the minimal function and may use shell wildcards (``*softplus*``).
``#`` starts a comment; each entry should say what the behaviour is and its evidence.

A finding explained by a library-wide behaviour carries a tag instead of a primitive signature (see
:func:`advalidate.check.finding_signature`): ``flush-to-zero`` when the library's VJP at the example equals its VJP
with the subnormal inputs replaced by signed zeros. Such findings are kept once per backend and kind, whatever
primitives show them, and an entry names the tag as its signature: ``nan-inf flush-to-zero``. A primitive pattern
(``*sqrt*``) does not match a tagged finding, nor a tag an untagged one.
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

__all__ = ["Entry", "KnownBehaviours", "KINDS"]

KINDS = ("wrong-value", "precision-loss", "nan-inf", "convention", "cost-bound", "error")


@dataclass(frozen=True)
class Entry:
    backend: str
    kind: str
    pattern: str
    comment: str
    source: str  # file:line

    def matches(self, backend: str, kind: str, signature: str) -> bool:
        return backend == self.backend and kind == self.kind and fnmatch.fnmatchcase(signature, self.pattern)


@dataclass
class KnownBehaviours:
    entries: list = field(default_factory=list)
    used: set = field(default_factory=set)

    @classmethod
    def load(cls, backends, folder: str | Path | None = None) -> "KnownBehaviours":
        """Entries for ``backends`` from ``folder`` (default: the files shipped with advalidate)."""
        known = cls()
        for name in backends:
            if folder is None:
                ref = resources.files("advalidate").joinpath(f"known/{name}.txt")
                text = ref.read_text() if ref.is_file() else ""
                label = f"advalidate/known/{name}.txt"
            else:
                path = Path(folder) / f"{name}.txt"
                text = path.read_text() if path.is_file() else ""
                label = str(path)
            known.entries.extend(parse(text, name, label))
        return known

    def match(self, backend: str, kind: str, signature: str) -> Entry | None:
        for entry in self.entries:
            if entry.matches(backend, kind, signature):
                self.used.add(entry)
                return entry
        return None

    def unmatched(self, backends=None, skipped_kinds=()) -> list[Entry]:
        """Entries that matched no finding (for the backends that ran, of the kinds that were checked: a
        ``cost-bound`` entry cannot match in a run that counted no work): worth a warning."""
        return [e for e in self.entries if e not in self.used and (backends is None or e.backend in backends)
                and e.kind not in skipped_kinds]


def parse(text: str, backend: str, label: str) -> list[Entry]:
    entries, comment = [], []
    for lineno, raw in enumerate(text.splitlines(), 1):
        line, _, trailing = raw.partition("#")
        line = line.strip()
        if not line:
            if trailing.strip():
                comment.append(trailing.strip())
            else:
                comment = []
            continue
        parts = line.split()
        if len(parts) != 2 or parts[0] not in KINDS:
            raise ValueError(f"{label}:{lineno}: expected '<kind> <primitive signature>' with kind in {KINDS}, "
                             f"got {line!r}")
        entries.append(Entry(backend, parts[0], parts[1], " ".join(comment + [trailing.strip()]).strip(),
                             f"{label}:{lineno}"))
        comment = []
    return entries
