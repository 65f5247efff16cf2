"""Warnings raised while a backend computes are evidence about that call; no warning is printed mid-run.

A library's ``RuntimeWarning: overflow encountered in square`` raised inside its VJP rule says where its
NaN came from, so it belongs to that backend's outcome on that example (and to the finding made of it), not to
the terminal between the progress lines. Two scopes:

- :func:`capture` (used by :func:`advalidate.check.run_vjp` around a backend's ``vjp`` and ``work``) keeps the
  warnings raised *by the calling thread* while it is open, as :class:`Caught` records: deduplicated by
  (category, message, where) with a count, at most :data:`MAX_KEPT` distinct ones (the first raised). Inside
  it every warning is shown to us each time (the ``always`` action: Python's default action shows a warning once
  per code location per process, so a second example hitting the same line of a library would otherwise be
  silent), and numpy's floating-point errors warn (``divide``, ``over``, ``invalid``; not
  ``under``, which subnormal points raise everywhere), whatever the process's settings: an ``error`` filter or
  ``np.seterr(all="raise")`` would turn a library's warning into an exception and the VJP into an error finding.
- :func:`collecting` (used by ``advalidate run`` around the whole run) gathers every other warning (raised by
  Hypothesis, by jax at import, by advalidate itself, by a thread no capture is open in) into a
  :class:`Collected`, which the run summarises once at the end (:meth:`Collected.summary`).

Thread safety: ``warnings.catch_warnings`` swaps process-global state and is unsafe when threads enter and leave
it in any order. Here the global state (a ``showwarning`` hook and one ``always`` filter) is installed once,
reference-counted under a lock, and the hook sends each warning to the innermost capture open *in the thread
that raised it* (a thread-local stack): backends computing in parallel threads each keep their own. numpy's
error state (``np.errstate``) is per thread and context already. A warning raised in a library's own worker
thread (not the caller's) has no capture open there and is collected for the end-of-run summary.

Backends isolated in a worker process (:mod:`advalidate.isolation`) capture in the worker and send the records
back with the result; :func:`deliver` adds them to the caller's capture.
"""

from __future__ import annotations

import contextlib
import os
import sys
import threading
import warnings
from collections import Counter
from dataclasses import asdict, dataclass

import numpy as np

__all__ = ["Caught", "Collected", "capture", "collecting", "deliver", "records", "MAX_KEPT"]

MAX_KEPT = 10  # distinct warnings kept per call (the rest are counted): a flood says no more than its first ten


@dataclass(frozen=True)
class Caught:
    """One distinct warning: its category's name, message, the source line it points at (``where``:
    ``autograd/numpy/numpy_vjps.py:127``, relative to its ``sys.path`` entry), and how often it was raised."""

    category: str
    message: str
    where: str
    count: int = 1

    def record(self) -> dict:
        return asdict(self)

    @classmethod
    def from_record(cls, record: dict) -> "Caught":
        return cls(str(record["category"]), str(record["message"]), str(record["where"]), int(record.get("count", 1)))

    def line(self) -> str:
        times = f" (×{self.count})" if self.count > 1 else ""
        return f"{self.category}: {self.message} [{self.where}]{times}"


class _Sink:
    """Distinct warnings in the order first raised, with counts; at most ``limit`` distinct kept."""

    def __init__(self, limit: int | None = MAX_KEPT):
        self.limit = limit
        self.counts: Counter = Counter()
        self._lock = threading.Lock()

    def add(self, category: str, message: str, where: str, count: int = 1):
        key = (category, message, where)
        with self._lock:
            if key in self.counts or self.limit is None or len(self.counts) < self.limit:
                self.counts[key] += count

    def caught(self) -> list[Caught]:
        with self._lock:
            return [Caught(c, m, w, n) for (c, m, w), n in self.counts.items()]


# ---------------------------------------------------------------- the process-wide hook

_lock = threading.RLock()
_installed = 0  # open captures and collections, all threads together
_previous = None  # the showwarning replaced by the hook
_saved = None  # the catch_warnings context that restores the filters and showwarning when the last one closes
_local = threading.local()  # .stack: this thread's open sinks, innermost last
_collected: list = []  # the open Collected, innermost last (any thread's uncaptured warnings go to the last)


def _where(filename: str, lineno: int) -> str:
    """``filename:lineno`` relative to the longest ``sys.path`` entry holding it (a library's own path)."""
    path = os.path.abspath(filename) if filename and not filename.startswith("<") else filename or "?"
    best = ""
    for entry in sys.path:
        root = os.path.abspath(entry or os.curdir)
        if len(root) > len(best) and path.startswith(root + os.sep):
            best = root
    return f"{path[len(best) + 1:] if best else path}:{lineno}"


def _hook(message, category, filename, lineno, file=None, line=None):
    name = getattr(category, "__name__", str(category))
    text, where = str(message), _where(filename, lineno)
    stack = getattr(_local, "stack", None)
    if stack:
        stack[-1].add(name, text, where)
        return
    with _lock:
        target = _collected[-1] if _collected else None
    if target is not None:
        target.add(name, text, where)
    else:  # a thread without a capture while another thread has one open: shown as Python would
        _original(message, category, filename, lineno, file, line)


def _original(message, category, filename, lineno, file=None, line=None):
    (_previous or warnings._showwarning_orig)(message, category, filename, lineno, file, line)  # noqa: SLF001


def _install():
    global _installed, _saved, _previous
    with _lock:
        if _installed == 0:
            _previous = warnings.showwarning
            saved = warnings.catch_warnings()
            saved.__enter__()
            warnings.simplefilter("always")
            warnings.showwarning = _hook
            _saved = saved
        _installed += 1


def _uninstall():
    global _installed, _saved
    with _lock:
        _installed -= 1
        if _installed == 0:
            saved, _saved = _saved, None
            saved.__exit__(None, None, None)


# ---------------------------------------------------------------- per call

@contextlib.contextmanager
def capture(limit: int | None = MAX_KEPT):
    """Keep the warnings the calling thread raises inside the block (and those :func:`deliver` hands it): yields
    a list, filled with :class:`Caught` records when the block ends (normally or by an exception)."""
    sink = _Sink(limit)
    out: list = []
    _install()
    stack = _local.__dict__.setdefault("stack", [])
    stack.append(sink)
    try:
        with np.errstate(divide="warn", over="warn", invalid="warn", under="ignore"):
            yield out
    finally:
        stack.remove(sink)
        _uninstall()
        out.extend(sink.caught())


def deliver(caught) -> None:
    """Add records caught elsewhere (a worker process's capture) to the calling thread's innermost capture, or to
    the run's collection, or else show them as warnings. ``caught``: :class:`Caught` or its records."""
    items = [c if isinstance(c, Caught) else Caught.from_record(c) for c in caught or []]
    if not items:
        return
    stack = getattr(_local, "stack", None)
    with _lock:
        target = stack[-1] if stack else (_collected[-1] if _collected else None)
    if target is None:
        for c in items:
            warnings.warn(f"{c.category} at {c.where}: {c.message}" + (f" (×{c.count})" if c.count > 1 else ""),
                          RuntimeWarning, stacklevel=2)
        return
    for c in items:
        target.add(c.category, c.message, c.where, c.count)


def records(caught) -> list[dict]:
    """JSON records of :class:`Caught` items (what ``results.json`` keeps)."""
    return [c.record() for c in caught or []]


# ---------------------------------------------------------------- per run

class Collected(_Sink):
    """The warnings of a run that no capture kept: every distinct one, with counts."""

    def __init__(self):
        super().__init__(limit=None)

    def by_module(self) -> dict:
        """{module file: [Caught, ...]}, in the order first raised."""
        out: dict = {}
        for c in self.caught():
            out.setdefault(c.where.rsplit(":", 1)[0], []).append(c)
        return out

    def summary(self) -> list[str]:
        """One line per module: ``N warnings from <file> (k distinct), first: <category>: <message> [line]``."""
        lines = []
        for module, items in self.by_module().items():
            n = sum(c.count for c in items)
            first = items[0]
            distinct = f" ({len(items)} distinct)" if len(items) > 1 else ""
            lines.append(f"{n} warning{'s' if n != 1 else ''} from {module}{distinct}, first: {first.category}: "
                         f"{first.message} [line {first.where.rsplit(':', 1)[1]}]")
        return lines


@contextlib.contextmanager
def collecting():
    """Collect every warning raised in the block that no :func:`capture` keeps (any thread), instead of
    printing it: yields a :class:`Collected`, to summarise when the run is over."""
    collected = Collected()
    _install()
    with _lock:
        _collected.append(collected)
    try:
        yield collected
    finally:
        with _lock:
            _collected.remove(collected)
        _uninstall()
