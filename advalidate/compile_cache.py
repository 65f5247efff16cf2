"""JAX's persistent compilation cache, on by default for ``advalidate run``.

Most of a run's time is XLA compiling: eager JAX compiles every primitive at every new shape, dtype and
parameters (about 300 programs in the default run), ``jax.jit`` every new program, each 50-150 ms of CPU. A
compiled program does not change from one run to the next (the cache key is the lowered program with the
jaxlib version, the compile options and the XLA flags), so the second run on a machine loads what the first
compiled instead of compiling it again: the backends run the same XLA executables either way, and no verdict
changes.

The cache lives in ``$XDG_CACHE_HOME/advalidate/jax`` (``~/.cache/advalidate/jax`` by default) and is cleared
by deleting the folder. It is not bounded (JAX's default): its bound evicts by scanning every entry at each write,
which costs more than it saves here; the default run writes about 400 entries, a few MB, and runs at other
seeds, shapes or versions add theirs.
``advalidate run --jax-cache DIR`` puts it elsewhere, ``--jax-cache none`` turns it off; a
``JAX_COMPILATION_CACHE_DIR`` set in the environment is used as JAX's own setting (its thresholds too).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

__all__ = ["JAX_CACHE", "default_dir", "environment", "use"]

JAX_CACHE = "JAX_COMPILATION_CACHE_DIR"
OFF = "none"


def default_dir() -> Path:
    """``$XDG_CACHE_HOME/advalidate/jax``, ``~/.cache/advalidate/jax`` when it is not set."""
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "advalidate" / "jax"


def environment(folder) -> dict:
    """The environment variables that make JAX cache every compiled program in ``folder``: thresholds at 0,
    since eager programs compile in milliseconds and JAX caches only those over 1 s by default."""
    return {JAX_CACHE: str(folder), "JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS": "0",
            "JAX_PERSISTENT_CACHE_MIN_ENTRY_SIZE_BYTES": "-1"}


def use(folder: str | None = None) -> str | None:
    """Turn the cache on for this process and the processes it starts; the folder used, or None (off).

    ``folder``: None for the default (:func:`default_dir`, unless ``JAX_COMPILATION_CACHE_DIR`` is set: then
    that one, as configured), ``"none"`` for no cache, or a path. Call it before JAX compiles anything (JAX
    decides whether to use the cache at its first compilation).
    """
    if folder == OFF:
        os.environ.pop(JAX_CACHE, None)
        _configure({JAX_CACHE: None})
        return None
    if folder is None and os.environ.get(JAX_CACHE):
        return os.environ[JAX_CACHE]
    env = environment(Path(folder) if folder is not None else default_dir())
    os.environ.update(env)
    _configure(env)
    return env[JAX_CACHE]


def _configure(env: dict) -> None:
    """The same settings in a JAX imported already (its configuration read the environment at import)."""
    if "jax" not in sys.modules:
        return
    import jax

    names = {JAX_CACHE: ("jax_compilation_cache_dir", str),
             "JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS": ("jax_persistent_cache_min_compile_time_secs", float),
             "JAX_PERSISTENT_CACHE_MIN_ENTRY_SIZE_BYTES": ("jax_persistent_cache_min_entry_size_bytes", int)}
    for key, value in env.items():
        name, kind = names[key]
        jax.config.update(name, None if value is None else kind(value))
