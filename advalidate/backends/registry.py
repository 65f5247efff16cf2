"""Finding, loading and validating backends (the contract is in :mod:`advalidate.backends.contract`).

Built-in backends are named by dotted path (``"module:attribute"``) so that importing advalidate never
imports jax or torch; third-party backends come from the entry-point group ``advalidate.backends``
(turned off by ``ADVALIDATE_DISABLE_PLUGINS=1``). Nothing is imported until a backend is asked for.
A backend that fails to import or to validate is kept as an :class:`Entry` with its reason, and the
others load as usual.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import inspect
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from .. import primitives
from ..errors import AdvalidateError
from ..ir import DTYPES

__all__ = ["is_path", "path_targets", "BUILTINS", "GROUP", "DISABLE_ENV", "Entry", "InvalidBackend", "BackendLoadError", "Registry",
           "validate", "load_target", "default_registry", "get", "entries", "install_command", "check_names",
           "load_backends"]

GROUP = "advalidate.backends"
DISABLE_ENV = "ADVALIDATE_DISABLE_PLUGINS"
BUILTINS = {
    "numpy-ref": "advalidate.backends.numpy_ref:NumpyReference",
    "jax": "advalidate.backends.jax_backend:JaxBackend",
    "jax-jit": "advalidate.backends.jax_backend:JaxJitBackend",
    "torch": "advalidate.backends.torch_backend:TorchBackend",
}
_CALL = ("function", "inputs", "cotangents")
# the extra of advalidate that installs each built-in's library: used when advalidate's own metadata cannot be read
# (a source checkout on the path, not installed); tests check it against pyproject.toml
BUILTIN_EXTRAS = {"jax": "jax", "torch": "torch"}


class InvalidBackend(AdvalidateError, TypeError):
    """A backend that does not follow the contract; the message names every missing or malformed piece."""

    def __init__(self, label: str, problems: list[str]):
        self.label, self.problems = label, problems
        super().__init__(f"backend {label}: " + "; ".join(problems))


class BackendLoadError(AdvalidateError, LookupError):
    """A backend that is unknown, or that could not be imported or validated (the reason is in the message)."""


def load_target(target: str):
    """Import ``"package.module:attr.sub"`` and return the attribute; errors say which part failed."""
    if not isinstance(target, str) or target.count(":") != 1 or not all(target.split(":")):
        raise BackendLoadError(f"target {target!r} is not a dotted path of the form 'module:attribute'")
    module_name, attr = target.split(":")
    try:
        obj = importlib.import_module(module_name)
    except Exception as e:  # a plug-in may raise anything on import
        raise BackendLoadError(f"importing {module_name!r} raised {type(e).__name__}: {e}") from e
    for part in attr.split("."):
        try:
            obj = getattr(obj, part)
        except AttributeError:
            raise BackendLoadError(f"module {module_name!r} has no attribute {attr!r}") from None
    return obj


def _check_method(backend, name: str, arity: int = 3) -> str | None:
    method = getattr(backend, name, None)
    if method is None:
        return f"missing {name}(function, inputs, cotangents)"
    if not callable(method):
        return f"{name} is not callable (got {type(method).__name__})"
    try:
        sig = inspect.signature(method)
    except (TypeError, ValueError):
        return None  # a builtin or C callable: nothing to inspect
    try:
        sig.bind(*_CALL, *(None,) * (arity - len(_CALL)))
    except TypeError as e:
        return f"{name}{sig} cannot be called as {name}(function, inputs, cotangents): {e}"
    return None


def validate(backend, label: str | None = None):
    """Return a backend instance following the contract, or raise :class:`InvalidBackend` naming the problems.

    ``backend`` is an instance or a class with a no-argument constructor.
    """
    label = label or repr(getattr(backend, "name", backend))
    if inspect.isclass(backend):
        try:
            backend = backend()
        except Exception as e:
            raise InvalidBackend(label, [f"constructing {backend.__name__}() raised {type(e).__name__}: {e}"]) from e
    problems = []
    name = getattr(backend, "name", None)
    if not isinstance(name, str) or not name:
        problems.append(f"name must be a non-empty string, got {name!r}")
    version = getattr(backend, "version", None)
    if not isinstance(version, str):
        problems.append(f"version must be a string, got {version!r}")
    dtypes = getattr(backend, "dtypes", None)
    if not isinstance(dtypes, (tuple, list)) or not dtypes or not all(isinstance(d, str) for d in dtypes):
        problems.append(f"dtypes must be a non-empty tuple of strings, got {dtypes!r}")
    elif set(dtypes) - set(DTYPES):
        problems.append(f"dtypes {sorted(set(dtypes) - set(DTYPES))} are not among {list(DTYPES)}")
    prims = getattr(backend, "primitives", None)
    if not isinstance(prims, Mapping):
        problems.append(f"primitives must be a mapping of catalogue names to functions, got {type(prims).__name__}")
    else:
        unknown = sorted(str(k) for k in prims if k not in primitives.CATALOGUE)
        if unknown:
            problems.append(f"primitives {unknown} are not in the catalogue")
    for method in ("vjp", "work"):  # work is optional: a backend without it has its cost "not measured"
        if method == "vjp" or getattr(backend, method, None) is not None:
            problem = _check_method(backend, method)
            if problem:
                problems.append(problem)
    for method in ("jvp", "jvp_work"):  # optional (forward mode): checked only where given
        if getattr(backend, method, None) is not None:
            problem = _check_method(backend, method)
            if problem:
                problems.append(problem.replace("cotangents", "tangents"))
    for method in ("hvp", "hvp_work"):  # optional (second order)
        if getattr(backend, method, None) is not None:
            problem = _check_method(backend, method, arity=5)
            if problem:
                problems.append(problem.replace("(function, inputs, cotangents)",
                                                "(function, inputs, cotangents, directions, method)"))
    if getattr(backend, "hvp", None) is not None:
        from .contract import HVP_METHODS

        methods = getattr(backend, "hvp_methods", None)
        if methods is not None and (not isinstance(methods, (tuple, list)) or not methods
                                    or set(methods) - set(HVP_METHODS)):
            problems.append(f"hvp_methods must be a non-empty tuple of {list(HVP_METHODS)}, got {methods!r}")
    if problems:
        raise InvalidBackend(label, problems)
    return backend


def _canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def install_command(dist: str, requires, module: str) -> str | None:
    """The pip command installing the missing ``module`` that distribution ``dist`` declares in ``requires``
    (its Requires-Dist lines): ``pip install 'dist[extra]'`` for an optional extra, ``pip install 'req'`` for a
    plain requirement; None when ``dist`` declares no requirement of that name."""
    want = _canonical(module.split(".")[0])
    for line in requires or []:
        spec, _, marker = line.partition(";")
        name = re.match(r"\s*([A-Za-z0-9._-]+)", spec)
        if name is None or _canonical(name.group(1)) != want:
            continue
        extra = re.search(r"extra\s*==\s*['\"]([^'\"]+)['\"]", marker)
        return f"pip install '{dist}[{extra.group(1)}]'" if extra else f"pip install '{spec.strip()}'"
    return None


def _builtin_install_command(module: str) -> str | None:
    try:
        requires = importlib.metadata.distribution("advalidate").requires
    except importlib.metadata.PackageNotFoundError:
        extra = BUILTIN_EXTRAS.get(module.split(".")[0])
        return f"pip install 'advalidate[{extra}]'" if extra else None
    return install_command("advalidate", requires, module)


@dataclass
class Entry:
    """One known backend: where it comes from, and once loaded, the instance or the reason it failed.

    A backend whose library is simply not installed (an optional extra of advalidate, or a requirement its
    plug-in declares) is ``not_installed``, with ``install`` the command that installs it; any other failure
    (a module of the backend itself missing, an import error, a contract violation) is a load failure.
    """

    name: str
    target: str | object  # "module:attr", or the backend object itself when registered directly
    source: str  # "built-in", "entry point of <dist> <version>", or "registered"
    backend: object | None = None
    error: str | None = None
    loaded: bool = False
    dist: object | None = field(default=None, repr=False)  # the plug-in's distribution (entry points only)
    install: str | None = None  # when not installed: the command that installs what is missing

    @property
    def ok(self) -> bool:
        return self.loaded and self.error is None

    @property
    def not_installed(self) -> bool:
        return self.install is not None

    def install_hint(self, missing: str) -> str | None:
        """The command installing module ``missing``, which importing this backend needed; None when it is not
        a library the backend's distribution declares (the backend is then broken, not uninstalled)."""
        if not isinstance(self.target, str) or self.target.split(".")[0].split(":")[0] == missing.split(".")[0]:
            return None  # the backend's own package is missing: a broken installation
        if self.source == "built-in":
            return _builtin_install_command(missing)
        if self.dist is not None:
            return install_command(self.dist.name, self.dist.requires, missing)
        return None


@dataclass
class Registry:
    """The backends advalidate knows, discovered lazily and loaded on first use."""

    builtins: Mapping[str, str] = field(default_factory=lambda: dict(BUILTINS))
    discover_plugins: bool | None = None  # None: unless ADVALIDATE_DISABLE_PLUGINS is set
    _entries: dict | None = field(default=None, repr=False)

    @property
    def plugins_enabled(self) -> bool:
        if self.discover_plugins is not None:
            return self.discover_plugins
        return os.environ.get(DISABLE_ENV, "").strip().lower() in ("", "0", "false", "no")

    def entries(self) -> dict[str, Entry]:
        """Every known backend by name, in discovery order (built-ins first); nothing is imported."""
        if self._entries is None:
            self._entries = {name: Entry(name, target, "built-in") for name, target in self.builtins.items()}
            if self.plugins_enabled:
                for ep in importlib.metadata.entry_points(group=GROUP):
                    self._add_entry_point(ep)
        return self._entries

    def _add_entry_point(self, ep):
        dist = getattr(ep, "dist", None)
        source = f"entry point of {dist.name} {dist.version}" if dist is not None else "entry point"
        existing = self._entries.get(ep.name)
        if existing is not None:
            if existing.target == ep.value:
                return  # the same backend declared twice (advalidate's own metadata, say)
            # the first one keeps the name; the second is listed as failed, under a name saying where it is from
            key = f"{ep.name} ({source})"
            self._entries[key] = Entry(key, ep.value, source, error=(
                f"the name {ep.name!r} is already taken by {existing.target} ({existing.source})"), loaded=True)
            return
        self._entries[ep.name] = Entry(ep.name, ep.value, source, dist=dist)

    def register(self, backend_or_target, name: str | None = None, source: str = "registered") -> Entry:
        """Add a backend (an instance, a class, or a ``"module:attr"`` path). Objects are validated now."""
        entries = self.entries()
        if isinstance(backend_or_target, str):
            if name is None:
                raise BackendLoadError("a backend registered by dotted path needs a name")
            entry = Entry(name, backend_or_target, source)
        else:
            backend = validate(backend_or_target, repr(name) if name else None)
            if name is not None and name != backend.name:
                raise InvalidBackend(repr(name), [f"name is {backend.name!r}, registered as {name!r}"])
            entry = Entry(backend.name, backend_or_target, source, backend, None, True)
        if entry.name in entries:
            raise BackendLoadError(f"a backend named {entry.name!r} is already registered ({entries[entry.name].source})")
        entries[entry.name] = entry
        return entry

    def register_path(self, target: str) -> Entry:
        """Add the backend at ``target`` (``"module:attr"``, a class or an instance; one that is not registered: a
        backend under development) under its own name, loaded and validated now; the entry's source says the path."""
        obj = load_target(target)
        try:
            backend = validate(obj() if isinstance(obj, type) else obj, repr(target))
        except AdvalidateError:
            raise
        except Exception as e:  # constructing a backend under development may raise anything
            raise BackendLoadError(f"constructing {target!r} raised {type(e).__name__}: {e}") from e
        entries = self.entries()
        existing = entries.get(backend.name)
        if existing is not None:
            if existing.target == target:
                return existing
            raise BackendLoadError(f"{target!r} is the backend {backend.name!r}, a name already taken by "
                                   f"{existing.target if isinstance(existing.target, str) else 'an object'} "
                                   f"({existing.source})")
        entry = Entry(backend.name, target, f"path {target}", backend, None, True)
        entries[backend.name] = entry
        return entry

    def load(self, name: str) -> Entry:
        """Import and validate backend ``name`` once; the entry records the backend or the reason it failed."""
        entries = self.entries()
        if name not in entries:
            raise BackendLoadError(f"unknown backend {name!r}; known: {', '.join(entries) or 'none'}")
        entry = entries[name]
        if entry.loaded:
            return entry
        entry.loaded = True
        try:
            obj = load_target(entry.target) if isinstance(entry.target, str) else entry.target
            backend = validate(obj, repr(name))
            if backend.name != name:
                raise InvalidBackend(repr(name), [f"name is {backend.name!r} but it is registered as {name!r}"])
            entry.backend = backend
        except AdvalidateError as e:
            missing = e.__cause__
            if isinstance(missing, ModuleNotFoundError) and missing.name:
                entry.install = entry.install_hint(missing.name)
            if entry.install:
                entry.error = f"not installed: no module named {missing.name!r} (install it with: {entry.install})"
            else:
                entry.error = str(e)
        except Exception as e:  # constructing or inspecting a plug-in may raise anything
            entry.error = f"{type(e).__name__}: {e}"
        return entry

    def load_all(self) -> list[Entry]:
        """Load every known backend (a failure is recorded in its entry, never raised)."""
        return [self.load(name) for name in list(self.entries())]

    def get(self, name: str):
        """The backend instance called ``name``; :class:`BackendLoadError` with the reason if it did not load."""
        entry = self.load(name)
        if entry.error is not None:
            raise BackendLoadError(f"backend {name!r} ({entry.source}) did not load: {entry.error}")
        return entry.backend


_default: Registry | None = None


def default_registry() -> Registry:
    """The process-wide registry (built-ins plus entry points)."""
    global _default
    if _default is None:
        _default = Registry()
    return _default


def get(name: str):
    """The backend called ``name`` from the default registry."""
    return default_registry().get(name)


def entries() -> dict[str, Entry]:
    """Every backend the default registry knows (not loaded)."""
    return default_registry().entries()


def check_names(names=None) -> list[str]:
    """The backends ``names`` selects (all known ones when empty); LookupError naming the known ones for an
    unknown name. Nothing is imported."""
    known = default_registry().entries()
    unknown = [n for n in names or [] if n not in known]
    if unknown:
        raise LookupError(f"unknown backend(s) {', '.join(map(repr, unknown))}; known: {', '.join(known)}")
    return list(names or known)


def load_backends(names=None, isolate: str = "none", timeout: float = 120.0):
    """(backends, load errors by name). Unknown names raise LookupError naming the known ones.

    ``isolate``: "plugins" runs third-party backends (entry points) in a worker process, "all" every backend,
    "none" none (see :mod:`advalidate.isolation`: a hang past ``timeout`` or a crash becomes an error finding).
    """
    registry = default_registry()
    errors, selected = {}, []
    for n in names or []:  # a "module:attr" path is a backend that is not registered (one under development)
        if ":" not in n:
            selected.append(n)
            continue
        try:
            selected.append(registry.register_path(n).name)
        except AdvalidateError as e:
            errors[n] = str(e)
    if names and not selected:
        return [], errors
    entries = [registry.load(n) for n in check_names(selected)]
    errors.update({e.name: e.error for e in entries if e.error is not None})
    backends = []
    for e in entries:
        if e.error is not None:
            continue
        if isolate == "all" or (isolate == "plugins" and e.source != "built-in"):
            from ..isolation import Isolated

            try:
                spec = e.target if is_path(e) else e.name  # a worker finds a path backend by its path
                backends.append(Isolated(spec, timeout=timeout))
            except RuntimeError as problem:
                errors[e.name] = f"in a worker process: {problem}"
            continue
        backends.append(e.backend)
    return backends, errors


def is_path(entry: Entry) -> bool:
    """Whether ``entry`` was given as a ``"module:attr"`` path (``advalidate run --backend module:Class``)."""
    return entry.source.startswith("path ")


def path_targets() -> dict:
    """Backend name -> its ``"module:attr"`` path, for the backends given by path in this process."""
    return {e.name: e.target for e in default_registry().entries().values() if is_path(e)}
