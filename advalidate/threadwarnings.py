"""Record the warnings raised by one thread, while other threads record theirs.

``warnings.catch_warnings`` is process-wide: it swaps the module's filters and ``showwarning`` for every
thread, so two backends whose VJPs run at the same time in threads of their own (``advalidate.check``) would
record each other's warnings, and the first to leave the block would restore the state under the other. Here
one hook is installed once, process-wide, and routes each warning by the thread that raised it::

    with recording() as caught:   # in a backend's thread
        backend.vjp(...)
    caught  # the warnings.WarningMessage objects that thread raised inside the block, every one

While any thread records, an ``always`` filter is in force (so a warning repeated at the same line is recorded
every time, as ``catch_warnings(record=True)`` with ``simplefilter("always")`` does); a thread that is not
recording meanwhile shows its warnings through the previous ``showwarning``, repetitions included. When the
last recording block ends the filters are as before. Warnings turned into errors by a filter (``error``)
still raise: filters are consulted before the hook.
"""

from __future__ import annotations

import contextlib
import threading
import warnings

__all__ = ["recording"]

_local = threading.local()
_lock = threading.Lock()
_state = {"active": 0, "previous": None, "filter": None}


def _show(message, category, filename, lineno, file=None, line=None):
    log = getattr(_local, "log", None)
    if log is not None:
        log.append(warnings.WarningMessage(message, category, filename, lineno, file, line))
        return
    _state["previous"](message, category, filename, lineno, file, line)


def _enter():
    with _lock:
        if _state["active"] == 0:
            _state["previous"] = warnings.showwarning
            warnings.showwarning = _show
            warnings.simplefilter("always")
            _state["filter"] = warnings.filters[0]
        _state["active"] += 1


def _leave():
    with _lock:
        _state["active"] -= 1
        if _state["active"] == 0:
            if warnings.showwarning is _show:
                warnings.showwarning = _state["previous"]
            try:
                warnings.filters.remove(_state["filter"])
            except ValueError:  # someone reset the filters meanwhile: nothing of ours is left to remove
                pass
            warnings._filters_mutated()  # noqa: SLF001  (the filters' cache, as simplefilter itself calls)


@contextlib.contextmanager
def recording():
    """The warnings this thread raises inside the block, as a list of ``warnings.WarningMessage``."""
    outer = getattr(_local, "log", None)
    log: list = []
    _enter()
    _local.log = log
    try:
        yield log
    finally:
        _local.log = outer
        _leave()
        if outer is not None:  # nested: the outer block sees them too
            outer.extend(log)
