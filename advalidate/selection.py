"""``--primitive``: the primitives a campaign focuses on, named by primitive, by family or by glob pattern.

A focused campaign probes only the selected primitives and starts every composition round from one of them
(:mod:`advalidate.coverage`); the programs still compose them with the rest of the catalogue, since the bugs of a
``cholesky`` show in what is built around it. Known behaviours are replayed when their example uses a selected
primitive. ``advalidate primitives`` lists the names and their families.
"""

from __future__ import annotations

import difflib
import fnmatch

__all__ = ["resolve", "SelectionError"]


class SelectionError(ValueError):
    """A ``--primitive`` that names no primitive, family or pattern of the catalogue."""


def resolve(specs, catalogue=None) -> tuple[str, ...] | None:
    """The primitives ``specs`` select (None or empty: no selection, every primitive), simplest first.

    Each spec is a primitive's name (``cholesky``), a family (``linalg``: every primitive registered with that
    ``family``) or a glob pattern over names (``'cum*'``, ``'*solve'``). A spec that selects nothing raises
    :class:`SelectionError` naming it, with the closest names."""
    if not specs:
        return None
    from advalidate import primitives
    from advalidate.strategies import simplicity

    cat = primitives.CATALOGUE if catalogue is None else catalogue
    families: dict = {}
    for name, p in cat.items():
        families.setdefault(p.family, set()).add(name)
    chosen: set = set()
    for spec in specs:
        spec = spec.strip()
        if spec in cat:
            chosen.add(spec)
        elif spec in families:
            chosen |= families[spec]
        elif any(c in spec for c in "*?["):
            hits = fnmatch.filter(cat, spec)
            if not hits:
                raise SelectionError(f"--primitive {spec!r}: the pattern matches no primitive of the catalogue "
                                     f"(advalidate primitives lists them)")
            chosen |= set(hits)
        else:
            close = difflib.get_close_matches(spec, list(cat) + sorted(families), n=4)
            hint = f" (did you mean {', '.join(close)}?)" if close else ""
            raise SelectionError(f"--primitive {spec!r}: no primitive or family of that name{hint}; families: "
                                 f"{', '.join(sorted(families))}; advalidate primitives lists the primitives")
    order = [p for p in simplicity() if p in cat]
    return tuple(p for p in order if p in chosen) + tuple(sorted(chosen - set(order)))
