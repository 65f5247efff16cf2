"""Run a backend in a worker process, so a backend that hangs or kills its process cannot take a run down.

:class:`Isolated` follows the backend contract itself: ``vjp`` and ``work`` are sent to a persistent worker
(started with ``spawn``: JAX and torch are not fork-safe), answered within ``timeout`` seconds or the worker
is killed and restarted. A hang raises :class:`BackendTimeout`, a dead process :class:`BackendDied`, an
exception in the backend :class:`BackendRaised` carrying its message and traceback; the campaign turns each
into an ``error`` finding and goes on. The warnings the backend raises in the worker are captured there and
handed to the caller's capture (:func:`advalidate.warnings_capture.deliver`), as if it had computed in-process.
"""

from __future__ import annotations

import json
import threading
import multiprocessing as mp
import traceback

import numpy as np

from .backends.contract import HVP, JVP, VJP, NotCounted, Work, hvp_methods_of, modes_of, work_modes_of
from .ir import Function
from .warnings_capture import capture, deliver, records

__all__ = ["Isolated", "BackendTimeout", "BackendDied", "BackendRaised"]


class BackendTimeout(RuntimeError):
    pass


class BackendDied(RuntimeError):
    pass


class BackendRaised(RuntimeError):
    pass


def _load(spec):
    """A backend from a registry name, a ``"module:attr"`` path (str) or a picklable backend object."""
    if isinstance(spec, str) and ":" in spec:
        from .backends.registry import default_registry

        return default_registry().register_path(spec).backend
    if isinstance(spec, str):
        from .backends.registry import get

        return get(spec)
    return spec() if isinstance(spec, type) else spec


def _serve(conn, spec):
    """Answer (method, function, inputs, cotangents) requests with (status, payload, warnings): the warnings the
    backend raised meanwhile, as records (:mod:`advalidate.warnings_capture`), for the caller to keep."""
    raised = []
    try:
        with capture(limit=None) as raised:  # jax and torch may warn as they are imported
            from .extend import load_from_environment

            load_from_environment()  # the users' ops the run registered (advalidate run --extension)
            backend = _load(spec)
        conn.send(("ready", {"name": backend.name, "version": str(getattr(backend, "version", "")),
                             "dtypes": tuple(backend.dtypes), "primitives": sorted(backend.primitives),
                             "dialect": getattr(backend, "dialect", None) is not None,
                             "module": type(backend).__module__,
                             "modes": modes_of(backend),
                             "work_modes": work_modes_of(backend),
                             "jvp_primitives": sorted(getattr(backend, "jvp_primitives", None) or backend.primitives)
                             if "jvp" in modes_of(backend) else [],
                             "hvp_primitives": sorted(getattr(backend, "hvp_primitives", None) or backend.primitives)
                             if "hvp" in modes_of(backend) else [],
                             "hvp_methods": list(hvp_methods_of(backend))}, records(raised)))
    except BaseException as e:
        conn.send(("raised", f"{type(e).__name__}: {e}\n{traceback.format_exc(limit=4)}", records(raised)))
        return
    while True:
        try:
            method, fn_json, inputs, cotangents = conn.recv()
        except EOFError:
            return
        raised = []
        try:
            if method == "bug_script":  # the finding record as JSON: its script, rendered where the dialect lives
                from .bugreport import script

                conn.send(("ok", script(json.loads(fn_json), backend)))
                continue
            fn = Function.from_json(fn_json)
            if method == "source":  # dialects hold lambdas, which do not pickle: render here
                from .render import render

                conn.send(("ok", render(fn, backend.dialect), []))
                continue
            given = [np.array(x, copy=True) for x in inputs]
            with capture() as raised:
                if method in ("hvp", "hvp_work"):  # (cotangents, directions, method) in one payload
                    vs, us, how = cotangents
                    result = getattr(backend, method)(fn, given, vs, us, how)
                else:
                    result = getattr(backend, method)(fn, given, cotangents)
            if method == "vjp":
                result = VJP([np.asarray(o) for o in result.outputs], [np.asarray(g) for g in result.grads])
                conn.send(("ok", (result, given), records(raised)))
            elif method == "jvp":
                result = JVP([np.asarray(o) for o in result.outputs], [np.asarray(t) for t in result.tangents])
                conn.send(("ok", (result, given), records(raised)))
            elif method == "hvp":
                result = HVP([np.asarray(o) for o in result.outputs], [np.asarray(h) for h in result.hvps])
                conn.send(("ok", (result, given), records(raised)))
            else:  # the counted run's derivatives too, for advalidate's check that they are the checked ones
                values = getattr(result, "values", None)
                values = None if values is None else [np.asarray(v) for v in values]
                conn.send(("ok", Work(int(result.forward), int(result.vjp), int(result.forward_passes), values),
                           records(raised)))
        except NotCounted as e:  # the backend cannot count this program: its cost is not measured, not a failure
            conn.send(("not-counted", str(e), records(raised)))
        except BaseException as e:
            conn.send(("raised", f"{type(e).__name__}: {e}\n{traceback.format_exc(limit=4)}", records(raised)))


class Isolated:
    """A backend living in its own process. ``spec``: a registry name, or a picklable backend (object or class)."""

    def __init__(self, spec, timeout: float = 60.0, start_timeout: float = 120.0):
        self.spec, self.timeout, self.start_timeout = spec, timeout, start_timeout
        self._proc = self._conn = None
        self._lock = threading.Lock()
        info = self._start()
        self.name, self.version, self.dtypes = info["name"], info["version"], info["dtypes"]
        self.primitives = dict.fromkeys(info["primitives"])
        self.has_dialect = info["dialect"]
        self.plugin_module = info["module"]  # whose backend it is: where its shipped known behaviours are found
        if "jvp" not in info["modes"]:  # forward mode only where the backend itself has it (contract.modes_of)
            self.jvp = self.jvp_work = None
        self.jvp_primitives = dict.fromkeys(info["jvp_primitives"])
        if "hvp" not in info["modes"]:
            self.hvp = self.hvp_work = None
        self.hvp_primitives = dict.fromkeys(info["hvp_primitives"])
        self.hvp_methods = tuple(info["hvp_methods"]) or None
        for mode, method in (("vjp", "work"), ("jvp", "jvp_work"), ("hvp", "hvp_work")):
            if mode not in info["work_modes"]:  # the backend counts no work there: its cost is "not measured"
                setattr(self, method, None)

    def _start(self) -> dict:
        ctx = mp.get_context("spawn")
        self._conn, child = ctx.Pipe()
        self._proc = ctx.Process(target=_serve, args=(child, self.spec), daemon=True)
        self._proc.start()
        child.close()
        status, payload, caught = self._receive(self.start_timeout, "starting")
        deliver(caught)
        if status != "ready":
            self.close()
            raise BackendRaised(f"the backend failed to start: {payload}")
        return payload

    def _receive(self, timeout, what):
        if not self._conn.poll(timeout):
            self.close()
            raise BackendTimeout(f"no answer within {timeout:g} s while {what}: the worker was killed")
        try:
            return self._conn.recv()
        except (EOFError, ConnectionError):
            self._proc.join(5)
            code = self._proc.exitcode
            self.close()
            raise BackendDied(f"the backend's process died while {what} (exit code {code})") from None

    def _call(self, method, fn: Function, inputs, cotangents):
        vectors = cotangents if isinstance(cotangents, tuple) else [np.asarray(v) for v in cotangents]
        # one request and its answer at a time: the campaign's jobs (a VJP's, a JVP's, an HVP's, each with its work)
        # run in threads, and two requests in flight on the one pipe would take each other's answers
        with self._lock:
            if self._proc is None or not self._proc.is_alive():
                self._start()
            self._conn.send((method, fn.to_json(), [np.asarray(x) for x in inputs], vectors))
            status, payload, caught = self._receive(self.timeout, f"computing {method}")
        deliver(caught)  # into the caller's capture (run_vjp's): what the backend warned in the worker
        if status == "raised":
            raise BackendRaised(payload)
        if status == "not-counted":
            raise NotCounted(payload)
        return payload

    def vjp(self, fn, inputs, cotangents) -> VJP:
        result, after = self._call("vjp", fn, inputs, cotangents)
        for mine, theirs in zip(inputs, after):  # mirror any in-place change the backend made to its inputs
            if isinstance(mine, np.ndarray) and mine.shape == np.shape(theirs):
                mine[...] = theirs
        return result

    def work(self, fn, inputs, cotangents) -> Work:
        return self._call("work", fn, inputs, cotangents)

    def jvp(self, fn, inputs, tangents) -> JVP:
        result, after = self._call("jvp", fn, inputs, tangents)
        for mine, theirs in zip(inputs, after):
            if isinstance(mine, np.ndarray) and mine.shape == np.shape(theirs):
                mine[...] = theirs
        return result

    def jvp_work(self, fn, inputs, tangents) -> Work:
        return self._call("jvp_work", fn, inputs, tangents)

    def hvp(self, fn, inputs, cotangents, directions, method) -> HVP:
        result, after = self._call("hvp", fn, inputs, ([np.asarray(v) for v in cotangents],
                                                      [np.asarray(u) for u in directions], method))
        for mine, theirs in zip(inputs, after):
            if isinstance(mine, np.ndarray) and mine.shape == np.shape(theirs):
                mine[...] = theirs
        return result

    def hvp_work(self, fn, inputs, cotangents, directions, method) -> Work:
        return self._call("hvp_work", fn, inputs, ([np.asarray(v) for v in cotangents],
                                                   [np.asarray(u) for u in directions], method))

    def source(self, fn) -> str:
        """``fn`` as runnable Python for the backend (rendered in the worker, with the backend's dialect)."""
        from .render import render

        return self._call("source", fn, [], []) if self.has_dialect else render(fn, "numpy")

    def bug_script(self, finding: dict) -> str:
        """The finding's bug-report script (:mod:`advalidate.bugreport`), generated in the worker."""
        with self._lock:
            if self._proc is None or not self._proc.is_alive():
                self._start()
            self._conn.send(("bug_script", json.dumps(finding), [], []))
            status, payload = self._receive(self.timeout, "writing a script")
        if status == "raised":
            raise BackendRaised(payload)
        return payload

    def close(self):
        if self._proc is not None:
            if self._proc.is_alive():
                self._proc.kill()
            self._proc.join(5)
        if self._conn is not None:
            self._conn.close()
        self._proc = self._conn = None

    def __del__(self):
        try:
            self.close()
        except Exception:
            pass
